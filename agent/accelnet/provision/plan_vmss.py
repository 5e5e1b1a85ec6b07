"""Plans for a scale set: AN on or off in its model, and on its instances.

Uniform (instances are scale set VMs): deallocate them, change the model, apply it (an
upgrade policy of Manual needs `az vmss update-instances`; Rolling and Automatic apply it
themselves), start them. Flexible (instances are ordinary VMs with their own NICs, and the
per-instance vmss calls of Uniform do not apply): the model for new instances, plus each
instance VM and its NICs, handled as the VMs of an availability set (group.py).
"""

from typing import List, Optional

from accelnet.provision import journal as journals
from accelnet.provision.errors import Refused
from accelnet.provision.journal import Journal
from accelnet.provision.plan import Options, Plan, check_size, checked_entry, declare_intent, where
from accelnet.provision.reader import Reader
from accelnet.provision.state import RUNNING_STATES, Ref

AUTOMATIC_WARNING = (
    "upgradePolicy.mode=Automatic: from now on Azure applies every change of the scale set "
    "model to all instances at once, restarting them together without asking")


def plan_vmss_accelerated(reader: Reader, command: List[str], ref: Ref, enable: bool,
                          options: Options = Options(),
                          journal: Optional[Journal] = None) -> Plan:
    """enable/disable --vmss: deallocate, set the NIC configurations, apply, start.

    The scale set carries the journal tag while its model changes: it says whether the
    instances ran before (start them at the end) and that the model may not be applied to
    every instance yet (`az vmss list-instances` tells, and update-instances is idempotent).
    """
    plan = Plan(command)
    journal = journal or Journal.for_command(command)
    vmss = reader.vmss(ref)
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
    entry = checked_entry(plan, journal, vmss.tags, vmss.resource_id, f"scale set {ref.name}",
                           vmss.unique_id, "running" if running else "not running")
    earlier = entry is not None
    path = "virtualMachineProfile.networkProfile.networkInterfaceConfigurations[{}]" \
           ".enableAcceleratedNetworking={}"
    value = "true" if enable else "false"
    todo = [i for i, c in enumerate(vmss.nic_configs) if c.accelerated != enable]
    word = "on" if enable else "off"
    for i, config in enumerate(vmss.nic_configs):
        if i not in todo:
            plan.notes.append(f"NIC configuration {config.name or i} already has Accelerated "
                              f"Networking {word}")
    mode = vmss.upgrade_mode
    set_automatic = options.upgrade_policy == "automatic" and mode.lower() != "automatic"
    if set_automatic:
        plan.warnings.append(AUTOMATIC_WARNING)
    final_mode = "Automatic" if set_automatic else mode
    apply = bool(todo)
    if not todo and entry is not None and final_mode.lower() == "manual":
        apply = not all(reader.vmss_latest(ref))
    stop = bool(todo) and any(p != "deallocated" for p in powers)
    if todo and entry is None:
        entry = journal.entry(vmss.resource_id, ref.name, running, vmss.unique_id)
        plan.add(journals.write_args(entry.resource_id, entry.value),
                 f"Note on {ref.name} (tag {journals.TAG}) that its model is changing"
                 + (" and its instances were running" if running else "")
                 + ": if this run stops halfway, the same command finishes the job")
    if stop:
        plan.add(["vmss", "deallocate", *where(ref)],
                 f"Deallocate every instance of {ref.name}: Accelerated Networking can "
                 "only be switched while they are deallocated", deallocates=ref.name)
    if todo:
        plan.add(["vmss", "update", *where(ref), "--set",
                  *[path.format(i, value) for i in todo]],
                 f"Switch Accelerated Networking {word} in the scale set model of {ref.name}")
    if set_automatic:
        plan.add(["vmss", "update", *where(ref), "--set", "upgradePolicy.mode=Automatic"],
                 f"Set the upgrade policy of {ref.name} to Automatic (was {mode}), as asked "
                 f"by --upgrade-policy automatic: {AUTOMATIC_WARNING}")
    if apply and final_mode.lower() == "manual":
        plan.add(["vmss", "update-instances", *where(ref), "--instance-ids", "*"],
                 f"Apply the new model to every instance: the upgrade policy of {ref.name} is "
                 "Manual, so instances keep the old model until updated"
                 + ("" if todo else " (an earlier, unfinished run of this command changed "
                    "the model; its journal tag is checked)"), resumed=not todo)
    start_again = (entry is not None and entry.start_again) or bool(also_start)
    if start_again and (stop or not all(p in RUNNING_STATES for p in powers)):
        resumed = earlier and not stop and not also_start
        plan.add(["vmss", "start", *where(ref)],
                 f"Start the instances of {ref.name} again" + (
                     " (an earlier, unfinished run of this command stopped them; its journal "
                     "tag is checked)" if resumed else ""), starts=ref.name, resumed=resumed)
    if options.intent_tag:
        declare_intent(plan, vmss.resource_id, f"scale set {ref.name}", vmss.tags, enable)
    if entry is not None:
        plan.add(journals.remove_args(entry),
                 f"Remove the note (tag {journals.TAG}) from {ref.name}: done")
    if not plan.steps and not also_start:
        plan.notes.append(f"scale set {ref.name}: nothing to change")
    plan.before = reader.state()
    return plan
