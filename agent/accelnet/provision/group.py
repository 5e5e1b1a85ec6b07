"""The VMs a plan stops and starts together: a VM with the rest of its availability set, or
the instances of a Flexible scale set. Each running member is noted in its journal tag
before it is deallocated (journal.py), all are deallocated together, and at the end what
ran before is started again and the tags removed: a run stopped halfway is finished by the
same command, whose plan reads the tags back (only those checked to be its own).
"""

from typing import Dict, List, Optional, Sequence, Set, Tuple

from accelnet.provision import journal as journals
from accelnet.provision.errors import Refused
from accelnet.provision.journal import Entry, Journal
from accelnet.provision.plan import Plan, checked_entry, where
from accelnet.provision.reader import Reader
from accelnet.provision.state import RUNNING_STATES, Ref, VmStatus
from accelnet.records import dataclass, field


@dataclass
class VmGroup:
    """The VM and, when it is in an availability set, every VM of the set: power and
    journal of each."""

    members: List[Ref]
    status: Dict[Tuple[str, str], VmStatus]
    in_set: Optional[Ref]
    entries: Dict[Tuple[str, str], Entry] = field(default_factory=dict)  # this job's
    earlier: Set[Tuple[str, str]] = field(default_factory=set)  # of those, an earlier run's

    def state(self, ref: Ref) -> str:
        return self.status[ref.key()].power


def same_group_spelling(ref: Ref, like: Ref) -> Ref:
    if ref.resource_group.lower() == like.resource_group.lower():
        return Ref(like.resource_group, ref.name)
    return ref


def read_group(reader: Reader, vm_ref: Ref, avset: Optional[Ref], plan: Plan,
                journal: Journal) -> VmGroup:
    if avset:
        avset = same_group_spelling(avset, vm_ref)
    members = reader.availability_set(avset) if avset else [vm_ref]
    # Azure hands out availability set ids upper-cased: keep the VM's own spelling where
    # it names the same thing (names are case-insensitive, but people read the plan).
    members = [vm_ref if m.key() == vm_ref.key() else same_group_spelling(m, vm_ref)
               for m in members]
    if not any(m.key() == vm_ref.key() for m in members):
        members.insert(0, vm_ref)
    return group_of(reader, members, avset, plan, journal)


def group_of(reader: Reader, members: List[Ref], in_set: Optional[Ref], plan: Plan,
             journal: Journal) -> VmGroup:
    """Power, tags and id of each member (read together), and the journal entries among
    them that are this job's own."""
    group = VmGroup(members, {m.key(): s for m, s in zip(members, reader.statuses(members))},
                    in_set)
    for member in members:
        status = group.status[member.key()]
        entry = checked_entry(plan, journal, status.tags, status.resource_id, member.name,
                              status.unique_id, group.state(member))
        if entry is not None:
            group.entries[member.key()] = entry
            group.earlier.add(member.key())
    return group


def check_also_start(names: Sequence[str], members: Sequence[Ref], what: str) -> List[Ref]:
    by_name = {m.name.lower(): m for m in members}
    refs = []
    for name in names:
        if name.lower() not in by_name:
            raise Refused(f"--also-start {name!r} is not {what}")
        refs.append(by_name[name.lower()])
    return refs


def stop_group(plan: Plan, group: VmGroup, journal: Journal, reason: str,
               only: Optional[Sequence[Ref]] = None) -> Set[Tuple[str, str]]:
    """Note every running member (of ``only``, when given) in its journal tag, then
    deallocate every such member not deallocated yet (both batches run concurrently).
    Returns the members it stops."""
    chosen = [m for m in group.members
              if only is None or m.key() in {o.key() for o in only}]
    for member in chosen:
        if group.state(member) in RUNNING_STATES and member.key() not in group.entries:
            status = group.status[member.key()]
            entry = journal.entry(status.resource_id, member.name, True, status.unique_id)
            plan.add(journals.write_args(entry.resource_id, entry.value),
                     f"Note on {member.name} (tag {journals.TAG}) that it was running: if this "
                     "run stops halfway, the same command starts it again",
                     batch="journal")
            group.entries[member.key()] = entry
    for member in chosen:
        if group.state(member) != "deallocated":
            plan.add(["vm", "deallocate", *where(member)],
                     f"Deallocate {member.name}: {reason}", deallocates=member.name,
                     batch="deallocate")
    return {m.key() for m in chosen}


def start_group(plan: Plan, group: VmGroup, also_start: Sequence[Ref],
                stopped: Set[Tuple[str, str]]) -> None:
    """Start what ran before (per the journal, or what --also-start names) and is not
    running: what this run stopped, or an earlier run did."""
    wanted = {k for k, e in group.entries.items() if e.start_again}
    wanted |= {m.key() for m in also_start}
    named = {m.key() for m in also_start}
    for member in group.members:
        if member.key() not in wanted:
            continue
        if member.key() not in stopped and group.state(member) in RUNNING_STATES:
            continue
        resumed = member.key() in group.earlier and member.key() not in named
        plan.add(["vm", "start", *where(member)],
                 f"Start {member.name} again: it was running before the change" + (
                     " (an earlier, unfinished run of this command stopped it; its "
                     "journal tag is checked)" if resumed else ""),
                 starts=member.name, batch="start", resumed=resumed)
    left = [m.name for m in group.members if m.key() in stopped and m.key() not in wanted
            and group.state(m) != "deallocated"]
    if left:
        plan.notes.append("left deallocated (they were not running before): " + ", ".join(left))


def running_at_end(plan: Plan, group: VmGroup, stopped: Set[Tuple[str, str]]) -> bool:
    """Will any member run once the plan's start steps are done?"""
    starts = {s.starts.lower() for s in plan.steps if s.starts}
    return any(m.name.lower() in starts or (m.key() not in stopped
                                            and group.state(m) in RUNNING_STATES)
               for m in group.members)


def finish_group(plan: Plan, group: VmGroup) -> None:
    """Remove the journal tags: the last steps, so a run stopped before them is finished by
    the next."""
    for member in group.members:
        entry = group.entries.get(member.key())
        if entry is not None:
            plan.add(journals.remove_args(entry),
                     f"Remove the note (tag {journals.TAG}) from {member.name}: done",
                     batch="unjournal")


def set_reason(group: VmGroup) -> str:
    if group.in_set:
        return (f"every VM of availability set {group.in_set.name} must be deallocated before "
                "Accelerated Networking can be switched on any NIC in it")
    return "Accelerated Networking can only be switched while the VM is deallocated"


