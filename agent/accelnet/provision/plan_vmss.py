"""Plans for a scale set: AN on or off in its model, and on its instances.

Uniform (instances are scale set VMs): deallocate them, change the model, apply it (an
upgrade policy of Manual needs `az vmss update-instances`; Rolling and Automatic apply it
themselves), start them. Flexible (instances are ordinary VMs with their own NICs, and the
per-instance vmss calls of Uniform do not apply): the model for new instances, plus each
instance VM and its NICs, handled as the VMs of an availability set (group.py).

Azure's side, as Microsoft documents it:
- Flexible instances are standard VMs: deallocate, start and instance view are the single-VM
  calls, and the scale set batch operations (update-instances, deallocate, start, the
  instances' instance view) are Uniform's ("Orchestration modes API comparison",
  https://learn.microsoft.com/azure/virtual-machine-scale-sets/orchestration-modes-api-comparison).
  `az vm list --vmss` lists a Flexible set's VMs (azure-cli filters on
  virtualMachineScaleSet/id: https://learn.microsoft.com/cli/azure/vm#az-vm-list).
- Upgrade policies: under Manual nothing happens to existing instances when the model changes;
  Automatic and Rolling bring them to the latest model themselves, NIC updates in place
  ("Upgrade policy modes for Virtual Machine Scale Sets",
  https://learn.microsoft.com/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-upgrade-policy;
  for Flexible scale sets in preview).
- Whether an instance has the latest model is its latestModelApplied, reported by the scale set
  VM list (`az vmss list-instances`; REST "Virtual Machine Scale Set VMs - List", filterable on
  properties/latestModelApplied), which lists the VMs of Flexible scale sets too; a plain VM's
  own model (`az vm show`) has no such property, so the wait asks the scale set, and counts
  only instances that say false.
"""

from typing import List, Optional, Sequence, Set, Tuple

from accelnet.provision import journal as journals
from accelnet.provision.errors import Refused
from accelnet.provision.group import (VmGroup, check_also_start, finish_group, group_of,
                                      running_at_end, start_group, stop_group)
from accelnet.provision.journal import Journal
from accelnet.provision.plan import (Options, Plan, Poll, check_size, checked_entry,
                                     declare_intent, where)
from accelnet.provision.reader import Reader
from accelnet.provision.state import RUNNING_STATES, NicState, Ref, VmssState, VmState

NIC_PATH = "virtualMachineProfile.networkProfile.networkInterfaceConfigurations[{}]" \
    ".enableAcceleratedNetworking={}"
# JMESPath over `az vmss list-instances`: how many instances say they are not on the latest
# model (an instance that does not report it is not waited for).
NOT_LATEST = "length([?latestModelApplied==`false`])"
SELF_APPLYING = ("automatic", "rolling")  # upgrade policies that apply the model themselves
AUTOMATIC_WARNING = (
    "upgradePolicy.mode=Automatic: from now on Azure applies every change of the scale set "
    "model to all instances at once, restarting them together without asking")


def plan_vmss_accelerated(reader: Reader, command: List[str], ref: Ref, enable: bool,
                          options: Options = Options(),
                          journal: Optional[Journal] = None) -> Plan:
    """enable/disable --vmss, as the orchestration mode Azure reports (orchestrationMode)."""
    plan = Plan(command)
    journal = journal or Journal.for_command(command)
    vmss = reader.vmss(ref)
    if vmss.orchestration == "Flexible":
        _plan_flexible(reader, plan, journal, vmss, enable, options)
    else:
        _plan_uniform(reader, plan, journal, vmss, enable, options)
    if not plan.steps and not options.also_start:
        plan.notes.append(f"scale set {vmss.ref.name}: nothing to change")
    plan.before = reader.state()
    return plan


class _Model:
    """The scale set model's part of a plan: which NIC configurations to switch, the upgrade
    policy it ends with, and the set's own journal entry (its model is changing)."""

    def __init__(self, plan: Plan, journal: Journal, vmss: VmssState, enable: bool,
                 options: Options, power: str) -> None:
        self.vmss, self.enable = vmss, enable
        self.todo = [i for i, c in enumerate(vmss.nic_configs) if c.accelerated != enable]
        word = "on" if enable else "off"
        for i, config in enumerate(vmss.nic_configs):
            if i not in self.todo:
                plan.notes.append(f"NIC configuration {config.name or i} of {vmss.ref.name} "
                                  f"already has Accelerated Networking {word}")
        self.mode = vmss.upgrade_mode
        self.set_automatic = options.upgrade_policy == "automatic" and \
            self.mode.lower() != "automatic"
        if self.set_automatic:
            plan.warnings.append(AUTOMATIC_WARNING)
        self.final_mode = "Automatic" if self.set_automatic else self.mode
        self.entry = checked_entry(plan, journal, vmss.tags, vmss.resource_id,
                                   f"scale set {vmss.ref.name}", vmss.unique_id, power)
        self.earlier = self.entry is not None

    @property
    def self_applying(self) -> bool:
        return self.final_mode.lower() in SELF_APPLYING

    def note(self, plan: Plan, journal: Journal, start_again: bool) -> None:
        """The set's journal entry, before its model changes: a run stopped after the
        change is still finished (the model applied, waited for) by the same command."""
        if self.todo and self.entry is None:
            self.entry = journal.entry(self.vmss.resource_id, self.vmss.ref.name, start_again,
                                       self.vmss.unique_id)
            plan.add(journals.write_args(self.entry.resource_id, self.entry.value),
                     f"Note on {self.vmss.ref.name} (tag {journals.TAG}) that its model is "
                     "changing" + (" and its instances were running" if start_again else "")
                     + ": if this run stops halfway, the same command finishes the job")

    def change(self, plan: Plan, what: str) -> None:
        ref = self.vmss.ref
        value = "true" if self.enable else "false"
        if self.todo:
            plan.add(["vmss", "update", *where(ref), "--set",
                      *[NIC_PATH.format(i, value) for i in self.todo]],
                     f"Switch Accelerated Networking {'on' if self.enable else 'off'} in the "
                     f"scale set model of {ref.name}{what}")
        if self.set_automatic:
            plan.add(["vmss", "update", *where(ref), "--set", "upgradePolicy.mode=Automatic"],
                     f"Set the upgrade policy of {ref.name} to Automatic (was {self.mode}), as "
                     f"asked by --upgrade-policy automatic: {AUTOMATIC_WARNING}")

    def wait(self, reader: Reader, plan: Plan, options: Options, running: bool) -> None:
        """Rolling and Automatic policies apply the new model themselves, in their own time:
        wait (bounded, with progress) until the instances report latestModelApplied. Asked
        again on a resume of this job, where Azure may still be rolling it out. Instances
        that stay deallocated get the model when they start: nothing to wait for."""
        ref = self.vmss.ref
        if not self.self_applying or not (self.todo or self.earlier):
            return
        if not running:
            plan.notes.append(f"the instances of {ref.name} stay deallocated: Azure applies the "
                              f"new model when they start (upgrade policy {self.final_mode})")
            return
        resumed = not self.todo
        if resumed and all(reader.vmss_latest(ref)):
            return
        limit = options.upgrade_timeout
        plan.add(["vmss", "list-instances", *where(ref), "--query", NOT_LATEST],
                 f"Wait (at most {limit:g} s) until every instance of {ref.name} reports "
                 f"latestModelApplied: its upgrade policy {self.final_mode} applies the new "
                 "model itself" + (" (an earlier, unfinished run of this command changed the "
                                   "model; its journal tag is checked)" if resumed else ""),
                 poll=Poll(0, limit, f"{{}} instance(s) of {ref.name} not on the latest "
                           "model yet"), resumed=resumed)

    def finish(self, plan: Plan) -> None:
        if self.entry is not None:
            plan.add(journals.remove_args(self.entry),
                     f"Remove the note (tag {journals.TAG}) from {self.vmss.ref.name}: done")


def _plan_uniform(reader: Reader, plan: Plan, journal: Journal, vmss: VmssState, enable: bool,
                  options: Options) -> None:
    """Deallocate, set the NIC configurations, apply, start.

    The scale set carries the journal tag while its model changes: it says whether the
    instances ran before (start them at the end) and that the model may not be applied to
    every instance yet (`az vmss list-instances` tells, and update-instances is idempotent).
    """
    ref = vmss.ref
    if enable:
        check_size(reader, plan, vmss.size, vmss.location, options,
                   f"enable Accelerated Networking on {ref.name}", new=False)
    also_start = options.also_start
    for name in also_start:
        if name.lower() != ref.name.lower():
            raise Refused(f"--also-start {name!r} is not scale set {ref.name}")
    powers = reader.vmss_power(ref)
    running = any(p in RUNNING_STATES for p in powers)
    model = _Model(plan, journal, vmss, enable, options,
                   "running" if running else "not running")
    todo = model.todo
    apply = bool(todo)
    if not todo and model.entry is not None and model.final_mode.lower() == "manual":
        apply = not all(reader.vmss_latest(ref))
    stop = bool(todo) and any(p != "deallocated" for p in powers)
    model.note(plan, journal, running)
    if stop:
        plan.add(["vmss", "deallocate", *where(ref)],
                 f"Deallocate every instance of {ref.name}: Accelerated Networking can "
                 "only be switched while they are deallocated", deallocates=ref.name)
    model.change(plan, "")
    if apply and model.final_mode.lower() == "manual":
        plan.add(["vmss", "update-instances", *where(ref), "--instance-ids", "*"],
                 f"Apply the new model to every instance: the upgrade policy of {ref.name} is "
                 "Manual, so instances keep the old model until updated"
                 + ("" if todo else " (an earlier, unfinished run of this command changed "
                    "the model; its journal tag is checked)"), resumed=not todo)
    entry = model.entry
    start_again = (entry is not None and entry.start_again) or bool(also_start)
    started = False
    if start_again and (stop or not all(p in RUNNING_STATES for p in powers)):
        resumed = model.earlier and not stop and not also_start
        plan.add(["vmss", "start", *where(ref)],
                 f"Start the instances of {ref.name} again" + (
                     " (an earlier, unfinished run of this command stopped them; its journal "
                     "tag is checked)" if resumed else ""), starts=ref.name, resumed=resumed)
        started = True
    model.wait(reader, plan, options, started or (running and not stop))
    if options.intent_tag:
        declare_intent(plan, vmss.resource_id, f"scale set {ref.name}", vmss.tags, enable)
    model.finish(plan)


def _plan_flexible(reader: Reader, plan: Plan, journal: Journal, vmss: VmssState, enable: bool,
                   options: Options) -> None:
    """The model (for instances made from now on) and each instance VM with its own NICs.

    The instances are ordinary VMs: each whose NICs change is noted in its journal tag,
    deallocated, switched and started again, all of them together, as the VMs of an
    availability set (group.py); instances with nothing to change keep running. The
    per-instance calls of Uniform scale sets (get-instance-view --instance-id,
    update-instances) do not apply to Flexible ones and are never planned."""
    ref = vmss.ref
    if options.upgrade_policy == "automatic" and vmss.upgrade_mode.lower() != "automatic":
        raise Refused(f"--upgrade-policy automatic: {ref.name} is a Flexible scale set, whose "
                      "instances this command switches VM by VM; Microsoft documents the "
                      "Automatic upgrade policy for Uniform scale sets only")
    instances = reader.flexible_instances(ref)
    word = "on" if enable else "off"
    if enable:
        sizes = ([vmss.size] if vmss.nic_configs and vmss.size else []) + \
            [vm.size for vm in instances]
        locations = {vm.size.lower(): vm.location for vm in instances}
        for size in dict.fromkeys(s.lower() for s in sizes):
            named = next(s for s in sizes if s.lower() == size)
            check_size(reader, plan, named, locations.get(size, vmss.location), options,
                       f"enable Accelerated Networking on scale set {ref.name} (size {named})",
                       new=False)
    nics = {vm.ref.key(): [reader.nic(r) for r in vm.nics] for vm in instances}
    group = group_of(reader, [vm.ref for vm in instances], ref, plan, journal)
    restart = _flexible_also_start(options.also_start, group, ref)
    changing: List[Tuple[VmState, List[NicState]]] = []
    for vm in instances:
        todo = [nic for nic in nics[vm.ref.key()] if nic.accelerated != enable]
        for nic in nics[vm.ref.key()]:
            if nic not in todo:
                plan.notes.append(f"NIC {nic.ref.name} of instance {vm.ref.name} already has "
                                  f"Accelerated Networking {word}")
        if todo:
            changing.append((vm, todo))
    running = any(group.state(m) in RUNNING_STATES for m in group.members)
    model = _Model(plan, journal, vmss, enable, options,
                   "instances running" if running else "no instance running")
    model.note(plan, journal, False)
    stopped: Set[Tuple[str, str]] = set()
    if changing:
        stopped = stop_group(plan, group, journal,
                             f"it is an instance of Flexible scale set {ref.name} whose NICs "
                             "change, and Accelerated Networking can only be switched while "
                             "its VM is deallocated", only=[vm.ref for vm, _ in changing])
    for vm, todo in changing:
        for nic in todo:
            plan.add(["network", "nic", "update", *where(nic.ref), "--accelerated-networking",
                      "true" if enable else "false"],
                     f"Switch Accelerated Networking {word} for NIC {nic.ref.name} of instance "
                     f"{vm.ref.name}")
    model.change(plan, ", for the instances it makes from now on")
    start_group(plan, group, restart, stopped)
    model.wait(reader, plan, options, running_at_end(plan, group, stopped))
    if options.intent_tag:
        declare_intent(plan, vmss.resource_id, f"scale set {ref.name}", vmss.tags, enable)
        for member in group.members:
            status = group.status[member.key()]
            declare_intent(plan, status.resource_id, f"instance {member.name}", status.tags,
                           enable, batch="intent")
    finish_group(plan, group)
    model.finish(plan)


def _flexible_also_start(names: Sequence[str], group: VmGroup, ref: Ref) -> List[Ref]:
    """--also-start names instances, or the scale set itself for all of them."""
    if any(name.lower() == ref.name.lower() for name in names):
        return list(group.members)
    return check_also_start(names, group.members, f"an instance of scale set {ref.name}")
