"""Plans for a VM (and its availability set): AN on or off, and resize.

Ordering follows Azure's constraints (the 2018 article, section "Enable Accelerated
Networking on existing VMs"): AN can only be switched on a deallocated VM, and for a VM in an
availability set only once every VM of the set is deallocated; a VM with AN can only be
resized to a size without AN after AN is switched off.
"""

from typing import List, Optional, Set, Tuple

from accelnet.provision.errors import Refused
from accelnet.provision.group import (VmGroup, check_also_start, finish_group, read_group,
                                      set_reason, start_group, stop_group)
from accelnet.provision.journal import Journal
from accelnet.provision.plan import (Options, Plan, check_size, declare_intent, offered_size,
                                     where)
from accelnet.provision.reader import Reader
from accelnet.provision.state import Ref


def plan_vm_accelerated(reader: Reader, command: List[str], vm_ref: Ref, enable: bool,
                        options: Options = Options(),
                        journal: Optional[Journal] = None) -> Plan:
    """enable/disable --vm: switch AN on (off) on every NIC of the VM."""
    plan = Plan(command)
    journal = journal or Journal.for_command(command)
    vm = reader.vm(vm_ref)
    if enable:
        check_size(reader, plan, vm.size, vm.location, options,
                   f"enable Accelerated Networking on {vm.ref.name}", new=False)
    nics = [reader.nic(ref) for ref in vm.nics]
    group = read_group(reader, vm.ref, vm.availability_set, plan, journal)
    restart = check_also_start(options.also_start, group.members,
                               "this VM or a VM of its availability set")
    todo = [nic for nic in nics if nic.accelerated != enable]
    word = "on" if enable else "off"
    for nic in nics:
        if nic not in todo:
            plan.notes.append(f"NIC {nic.ref.name} already has Accelerated Networking {word}")
    stopped: Set[Tuple[str, str]] = set()
    if todo:
        stopped = stop_group(plan, group, journal, set_reason(group))
        for nic in todo:
            plan.add(["network", "nic", "update", *where(nic.ref),
                      "--accelerated-networking", "true" if enable else "false"],
                     f"Switch Accelerated Networking {word} for NIC {nic.ref.name} of "
                     f"{vm.ref.name}")
    if options.intent_tag:
        status = group.status[vm.ref.key()]
        declare_intent(plan, status.resource_id, vm.ref.name, status.tags, enable)
    start_group(plan, group, restart, stopped)
    finish_group(plan, group)
    plan.before = reader.state()
    return plan


def plan_resize(reader: Reader, command: List[str], vm_ref: Ref, size: str,
                options: Options = Options(), journal: Optional[Journal] = None) -> Plan:
    """resize --vm --size: directly to a size with AN, else switch AN off first."""
    plan = Plan(command)
    journal = journal or Journal.for_command(command)
    vm = reader.vm(vm_ref)
    verdict = offered_size(reader, plan, size, vm.location, f"resize {vm.ref.name} to {size}",
                           new=True)
    if verdict.status == "unknown" and not options.allow_unknown_size:
        raise Refused(f"cannot resize {vm.ref.name}: {verdict.reason}; pass "
                      "--allow-unknown-size to resize anyway")
    nics = [reader.nic(ref) for ref in vm.nics]
    group = read_group(reader, vm.ref, vm.availability_set, plan, journal)
    restart = check_also_start(options.also_start, group.members,
                               "this VM or a VM of its availability set")
    plan.before = reader.state()
    if vm.size.lower() == size.lower():
        plan.notes.append(f"{vm.ref.name} already has size {vm.size}")
        _end(plan, group, restart, set())
        return plan
    resize = (["vm", "resize", *where(vm.ref), "--size", size],
              f"Resize {vm.ref.name} from {vm.size} to {size}")
    accelerated = [nic for nic in nics if nic.accelerated]
    if verdict.status == "unsupported" and group.in_set:
        # The article: in an availability set, AN must be off on the NICs of every VM of the
        # set before any of them moves to a size without it.
        for member in group.members:
            if member.key() != vm.ref.key():
                accelerated += [n for n in (reader.nic(r) for r in reader.vm(member).nics)
                                if n.accelerated]
        plan.before = reader.state()
    if verdict.status == "unsupported" and accelerated:
        plan.warnings.append(f"{size} has no Accelerated Networking: it is switched off on "
                             + ", ".join(n.ref.name for n in accelerated))
        stopped = stop_group(plan, group, journal, set_reason(group))
        for nic in accelerated:
            plan.add(["network", "nic", "update", *where(nic.ref),
                      "--accelerated-networking", "false"],
                     f"Switch Accelerated Networking off for NIC {nic.ref.name}: " + (
                         f"every VM of availability set {group.in_set.name} must have it off "
                         f"before {vm.ref.name} moves to {size}, which has none" if group.in_set
                         else f"a VM with it cannot be resized to {size}, which has none"))
        plan.add(*resize)
        _end(plan, group, restart, stopped)
        return plan
    offered_here = {name.lower() for name in reader.resize_options(vm.ref)}
    if size.lower() in offered_here or group.state(vm.ref) == "deallocated":
        plan.add(*resize)
        _end(plan, group, restart, set())
        return plan
    stopped = stop_group(plan, group, journal,
                         f"{size} is not offered on the hardware the VM runs on now "
                         "(az vm list-vm-resize-options); a deallocated VM can move to any "
                         "hardware")
    plan.add(*resize)
    _end(plan, group, restart, stopped)
    return plan


def _end(plan: Plan, group: VmGroup, restart: List[Ref], stopped: Set[Tuple[str, str]]) -> None:
    start_group(plan, group, restart, stopped)
    finish_group(plan, group)
