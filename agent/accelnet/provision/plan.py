"""Plans: the ordered `az` calls that bring resources to the state a subcommand asks for.

A plan is built from state read first (see reader.py), so it holds only the changes still
needed. Ordering follows Azure's constraints (the 2018 article, section "Enable Accelerated
Networking on existing VMs"): AN can only be switched on a deallocated VM, and for a VM in an
availability set only once every VM of the set is deallocated; a VM with AN can only be
resized to a size without AN after AN is switched off.

Every VM a plan deallocates while it runs is first noted in its journal tag (journal.py),
and the tag goes only after the VM is started again: a plan read after an interrupted run
starts what that run stopped, so the same command finishes the job. Only entries checked to
be this job's own are acted on (journal.py); the steps they add are marked ``resumed``, so
the command can ask before starting a VM nobody named, as it asks before stopping one.
Steps that may run together share a ``batch`` (deallocating and starting the VMs of a set,
writing and removing their tags): the set is down for about the time of one VM, not of all
of them in a row.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from accelnet.provision import intent as intents
from accelnet.provision import journal as journals
from accelnet.provision.errors import Refused
from accelnet.provision.journal import Entry, Journal
from accelnet.provision.reader import Reader
from accelnet.provision.skus import SOURCE_AZURE, SizeDecision, decide
from accelnet.provision.state import RUNNING_STATES, Ref, VmStatus

AUTOMATIC_WARNING = (
    "upgradePolicy.mode=Automatic: from now on Azure applies every change of the scale set "
    "model to all instances at once, restarting them together without asking")


@dataclass(frozen=True)
class Step:
    """One `az` call (arguments after 'az', without --subscription/--output) and why."""

    args: Tuple[str, ...]
    why: str
    deallocates: Optional[str] = None  # VM or scale set name this step deallocates
    starts: Optional[str] = None  # VM or scale set name this step starts
    batch: Optional[str] = None  # consecutive steps of one batch may run concurrently
    resumed: bool = False  # done because an earlier run's journal says so, not this command


@dataclass
class Plan:
    command: List[str]  # accelnet-provision arguments that build this plan again
    steps: List[Step] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)  # what was found and left alone
    warnings: List[str] = field(default_factory=list)  # said before any change
    resumed: List[str] = field(default_factory=list)  # journal tags of an unfinished run
    ignored: List[str] = field(default_factory=list)  # journal tags not acted on, and why
    before: Dict[str, Any] = field(default_factory=dict)  # the state read (Reader.state)

    def add(self, args: Sequence[str], why: str, **kw: Any) -> None:
        self.steps.append(Step(tuple(args), why, **kw))

    def deallocated(self) -> List[str]:
        """Names of what the plan deallocates, in order."""
        return [s.deallocates for s in self.steps if s.deallocates]

    def resumed_starts(self) -> List[str]:
        """Names the plan starts only because an earlier run's journal says so."""
        return [s.starts for s in self.steps if s.starts and s.resumed]


@dataclass(frozen=True)
class Options:
    """What the command line asks beyond the target and the action."""

    also_start: Tuple[str, ...] = ()  # also start these at the end
    allow_unknown_size: bool = False  # go ahead with a size nothing can place
    intent_tag: bool = True  # disable declares AN off on purpose (tag accelnet=off)
    upgrade_policy: str = "keep"  # scale sets: "automatic" sets upgradePolicy.mode


def _where(ref: Ref) -> List[str]:
    return ["--resource-group", ref.resource_group, "--name", ref.name]


def offered_size(reader: Reader, plan: Plan, size: str, location: str, purpose: str,
                 new: bool) -> SizeDecision:
    """The size's decision, refused only where the size cannot be had: restricted here for
    this subscription, or (``new``: the plan creates or resizes to it) not offered here."""
    decision = decide(size, location, reader.sku(size, location))
    plan.warnings += [w for w in decision.warnings if w not in plan.warnings]
    if not decision.offered and (new or decision.source == SOURCE_AZURE):
        raise Refused(f"cannot {purpose}: {decision.reason}" if decision.source == SOURCE_AZURE
                      else f"cannot {purpose}: {size} is not offered in {location} (az vm "
                      "list-skus lists no such size there)")
    return decision


def check_size(reader: Reader, plan: Plan, size: str, location: str, options: Options,
               purpose: str, new: bool) -> SizeDecision:
    """Azure's word on the size where it can be had (skus.py), else the bundled table's;
    what they disagree on is a warning of the plan. Refused: a size without AN, one Azure
    restricts here, one Azure does not offer here when the plan would create or resize to
    it (``new``), and one nothing can place, unless --allow-unknown-size."""
    decision = offered_size(reader, plan, size, location, purpose, new)
    if decision.status == "unsupported":
        raise Refused(f"cannot {purpose}: {decision.reason} (source: {decision.source})")
    if decision.status == "unknown" and not options.allow_unknown_size:
        raise Refused(f"cannot {purpose}: {decision.reason}; pass --allow-unknown-size "
                      "if `az vm list-skus` shows AcceleratedNetworkingEnabled=True for it")
    return decision


# --- VMs and availability sets -------------------------------------------------------------

@dataclass
class _VmGroup:
    """The VM and, when it is in an availability set, every VM of the set: power and
    journal of each."""

    members: List[Ref]
    status: Dict[Tuple[str, str], VmStatus]
    in_set: Optional[Ref]
    entries: Dict[Tuple[str, str], Entry] = field(default_factory=dict)  # this job's
    earlier: Set[Tuple[str, str]] = field(default_factory=set)  # of those, an earlier run's

    def state(self, ref: Ref) -> str:
        return self.status[ref.key()].power


def _same_group_spelling(ref: Ref, like: Ref) -> Ref:
    if ref.resource_group.lower() == like.resource_group.lower():
        return Ref(like.resource_group, ref.name)
    return ref


def _read_group(reader: Reader, vm_ref: Ref, avset: Optional[Ref], plan: "Plan",
                journal: Journal) -> _VmGroup:
    if avset:
        avset = _same_group_spelling(avset, vm_ref)
    members = reader.availability_set(avset) if avset else [vm_ref]
    # Azure hands out availability set ids upper-cased: keep the VM's own spelling where
    # it names the same thing (names are case-insensitive, but people read the plan).
    members = [vm_ref if m.key() == vm_ref.key() else _same_group_spelling(m, vm_ref)
               for m in members]
    if not any(m.key() == vm_ref.key() for m in members):
        members.insert(0, vm_ref)
    group = _VmGroup(members, {m.key(): s for m, s in zip(members, reader.statuses(members))},
                     avset)
    for member in members:
        status = group.status[member.key()]
        entry = _checked_entry(plan, journal, status.tags, status.resource_id, member.name,
                               status.unique_id, group.state(member))
        if entry is not None:
            group.entries[member.key()] = entry
            group.earlier.add(member.key())
    return group


def _checked_entry(plan: Plan, journal: Journal, tags: Mapping[str, str], resource_id: str,
                   name: str, unique_id: str, power: str) -> Optional[Entry]:
    """The journal entry on a resource of this command's target if it is this job's own
    (journal.py says how that is checked), else None; either way the plan says what it
    found and what it does about it."""
    entry = journals.find(tags, resource_id, name)
    if entry is None:
        return None
    check = journal.check(entry, unique_id)
    if not check.ours:
        plan.ignored.append(f"{name} ({power}) carries the tag {journals.TAG}="
                            f"{entry.value!r}; not acted on: {check.reason}")
        return None
    then = "it was running before: this run starts it again" if entry.start_again else \
        "it was not running: this run leaves it as it is"
    plan.resumed.append(f"{name} ({power}): an unfinished run of `accelnet-provision "
                        f"{journal.summary}` left the tag {journals.TAG}={entry.value!r} "
                        f"(checked: this job, this resource); {then}")
    return entry


def _check_also_start(names: Sequence[str], members: Sequence[Ref], where: str) -> List[Ref]:
    by_name = {m.name.lower(): m for m in members}
    refs = []
    for name in names:
        if name.lower() not in by_name:
            raise Refused(f"--also-start {name!r} is not {where}")
        refs.append(by_name[name.lower()])
    return refs


def _stop_group(plan: Plan, group: _VmGroup, journal: Journal, reason: str) -> None:
    """Note every running member in its journal tag, then deallocate every member not
    deallocated yet (both batches run concurrently)."""
    for member in group.members:
        if group.state(member) in RUNNING_STATES and member.key() not in group.entries:
            status = group.status[member.key()]
            entry = journal.entry(status.resource_id, member.name, True, status.unique_id)
            plan.add(journals.write_args(entry.resource_id, entry.value),
                     f"Note on {member.name} (tag {journals.TAG}) that it was running: if this "
                     "run stops halfway, the same command starts it again",
                     batch="journal")
            group.entries[member.key()] = entry
    for member in group.members:
        if group.state(member) != "deallocated":
            plan.add(["vm", "deallocate", *_where(member)],
                     f"Deallocate {member.name}: {reason}", deallocates=member.name,
                     batch="deallocate")


def _start_group(plan: Plan, group: _VmGroup, also_start: Sequence[Ref],
                 stopped_now: bool) -> None:
    """Start what ran before (per the journal, or what --also-start names), then remove the
    journal tags: the last steps, so a run stopped before them is finished by the next."""
    wanted = {k for k, e in group.entries.items() if e.start_again}
    wanted |= {m.key() for m in also_start}
    named = {m.key() for m in also_start}
    for member in group.members:
        if member.key() not in wanted:
            continue
        if not stopped_now and group.state(member) in RUNNING_STATES:
            continue
        resumed = member.key() in group.earlier and member.key() not in named
        plan.add(["vm", "start", *_where(member)],
                 f"Start {member.name} again: it was running before the change" + (
                     " (an earlier, unfinished run of this command stopped it; its "
                     "journal tag is checked)" if resumed else ""),
                 starts=member.name, batch="start", resumed=resumed)
    for member in group.members:
        entry = group.entries.get(member.key())
        if entry is not None:
            plan.add(journals.remove_args(entry),
                     f"Remove the note (tag {journals.TAG}) from {member.name}: done",
                     batch="unjournal")
    left = [m.name for m in group.members
            if m.key() not in wanted and group.state(m) != "deallocated" and stopped_now]
    if left:
        plan.notes.append("left deallocated (they were not running before): " + ", ".join(left))


def _declare_intent(plan: Plan, resource_id: str, name: str, tags: Mapping[str, str],
                    enable: bool) -> None:
    """disable declares that AN is off on purpose (the tag accelnet=off, which accelnet-check
    and the agent read through IMDS: the VM is then healthy by design, not broken); enable
    takes that declaration back. Nothing is planned when the tag already says so."""
    found = {k: v for k, v in tags.items() if k.lower() == intents.TAG}
    if enable:
        for key, value in found.items():
            if value.strip().lower() == intents.OFF:
                plan.add(intents.remove_args(resource_id, key, value),
                         f"Remove the tag {key}={value} from {name}: it declares Accelerated "
                         "Networking off on purpose, and it is on now")
        return
    if any(v == intents.OFF for v in found.values()):
        plan.notes.append(f"{name} already carries the tag {intents.TAG}={intents.OFF}")
        return
    was = "".join(f" (was {k}={v!r})" for k, v in found.items())
    plan.add(intents.set_args(resource_id),
             f"Declare on {name} that Accelerated Networking is off on purpose (tag "
             f"{intents.TAG}={intents.OFF}{was}): accelnet-check and accelnet-agent then "
             "report it healthy by design; --no-intent-tag leaves the tags alone")


def _set_reason(group: _VmGroup) -> str:
    if group.in_set:
        return (f"every VM of availability set {group.in_set.name} must be deallocated before "
                "Accelerated Networking can be switched on any NIC in it")
    return "Accelerated Networking can only be switched while the VM is deallocated"


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
    group = _read_group(reader, vm.ref, vm.availability_set, plan, journal)
    restart = _check_also_start(options.also_start, group.members,
                                "this VM or a VM of its availability set")
    todo = [nic for nic in nics if nic.accelerated != enable]
    word = "on" if enable else "off"
    for nic in nics:
        if nic not in todo:
            plan.notes.append(f"NIC {nic.ref.name} already has Accelerated Networking {word}")
    if todo:
        _stop_group(plan, group, journal, _set_reason(group))
        for nic in todo:
            plan.add(["network", "nic", "update", *_where(nic.ref),
                      "--accelerated-networking", "true" if enable else "false"],
                     f"Switch Accelerated Networking {word} for NIC {nic.ref.name} of "
                     f"{vm.ref.name}")
    if options.intent_tag:
        status = group.status[vm.ref.key()]
        _declare_intent(plan, status.resource_id, vm.ref.name, status.tags, enable)
    _start_group(plan, group, restart, bool(todo))
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
    group = _read_group(reader, vm.ref, vm.availability_set, plan, journal)
    restart = _check_also_start(options.also_start, group.members,
                                "this VM or a VM of its availability set")
    plan.before = reader.state()
    if vm.size.lower() == size.lower():
        plan.notes.append(f"{vm.ref.name} already has size {vm.size}")
        _start_group(plan, group, restart, False)
        return plan
    resize = (["vm", "resize", *_where(vm.ref), "--size", size],
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
        _stop_group(plan, group, journal, _set_reason(group))
        for nic in accelerated:
            plan.add(["network", "nic", "update", *_where(nic.ref),
                      "--accelerated-networking", "false"],
                     f"Switch Accelerated Networking off for NIC {nic.ref.name}: " + (
                         f"every VM of availability set {group.in_set.name} must have it off "
                         f"before {vm.ref.name} moves to {size}, which has none" if group.in_set
                         else f"a VM with it cannot be resized to {size}, which has none"))
        plan.add(*resize)
        _start_group(plan, group, restart, True)
        return plan
    options = {name.lower() for name in reader.resize_options(vm.ref)}
    if size.lower() in options or group.state(vm.ref) == "deallocated":
        plan.add(*resize)
        _start_group(plan, group, restart, False)
        return plan
    _stop_group(plan, group, journal,
                f"{size} is not offered on the hardware the VM runs on now "
                "(az vm list-vm-resize-options); a deallocated VM can move to any hardware")
    plan.add(*resize)
    _start_group(plan, group, restart, True)
    return plan


# --- scale sets -----------------------------------------------------------------------------

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
    entry = _checked_entry(plan, journal, vmss.tags, vmss.resource_id, f"scale set {ref.name}",
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
        plan.add(["vmss", "deallocate", *_where(ref)],
                 f"Deallocate every instance of {ref.name}: Accelerated Networking can "
                 "only be switched while they are deallocated", deallocates=ref.name)
    if todo:
        plan.add(["vmss", "update", *_where(ref), "--set",
                  *[path.format(i, value) for i in todo]],
                 f"Switch Accelerated Networking {word} in the scale set model of {ref.name}")
    if set_automatic:
        plan.add(["vmss", "update", *_where(ref), "--set", "upgradePolicy.mode=Automatic"],
                 f"Set the upgrade policy of {ref.name} to Automatic (was {mode}), as asked "
                 f"by --upgrade-policy automatic: {AUTOMATIC_WARNING}")
    if apply and final_mode.lower() == "manual":
        plan.add(["vmss", "update-instances", *_where(ref), "--instance-ids", "*"],
                 f"Apply the new model to every instance: the upgrade policy of {ref.name} is "
                 "Manual, so instances keep the old model until updated"
                 + ("" if todo else " (an earlier, unfinished run of this command changed "
                    "the model; its journal tag is checked)"), resumed=not todo)
    start_again = (entry is not None and entry.start_again) or bool(also_start)
    if start_again and (stop or not all(p in RUNNING_STATES for p in powers)):
        resumed = earlier and not stop and not also_start
        plan.add(["vmss", "start", *_where(ref)],
                 f"Start the instances of {ref.name} again" + (
                     " (an earlier, unfinished run of this command stopped them; its journal "
                     "tag is checked)" if resumed else ""), starts=ref.name, resumed=resumed)
    if options.intent_tag:
        _declare_intent(plan, vmss.resource_id, f"scale set {ref.name}", vmss.tags, enable)
    if entry is not None:
        plan.add(journals.remove_args(entry),
                 f"Remove the note (tag {journals.TAG}) from {ref.name}: done")
    if not plan.steps and not also_start:
        plan.notes.append(f"scale set {ref.name}: nothing to change")
    plan.before = reader.state()
    return plan


# --- a new VM with AN -----------------------------------------------------------------------

@dataclass(frozen=True)
class CreateSpec:
    resource_group: str
    location: str
    vnet: str
    address_prefix: str
    subnet: str
    subnet_prefix: str
    nsg: str
    nic: str
    vm: str
    size: str
    image: str
    admin_username: str
    public_ip: Optional[str] = None
    ssh_key_value: Optional[str] = None  # a public key file; None = --generate-ssh-keys


def plan_create(reader: Reader, command: List[str], spec: CreateSpec,
                options: Options = Options()) -> Plan:
    """The article's sequence, skipping what already exists."""
    plan = Plan(command)
    size = check_size(reader, plan, spec.size, spec.location, options,
                      f"create {spec.vm} with Accelerated Networking", new=True)
    rg = spec.resource_group
    group_exists = reader.group_exists(rg)

    def missing(show: List[str], what: str) -> bool:
        if group_exists and reader.exists(show, what):
            plan.notes.append(f"{what} exists already")
            return False
        return True

    if not group_exists:
        plan.add(["group", "create", "--name", rg, "--location", spec.location],
                 f"Create resource group {rg} to hold everything below")
    in_rg = ["--resource-group", rg]
    if missing(["network", "vnet", "show", *in_rg, "--name", spec.vnet],
               f"virtual network {spec.vnet}"):
        plan.add(["network", "vnet", "create", *in_rg, "--name", spec.vnet,
                  "--location", spec.location, "--address-prefix", spec.address_prefix,
                  "--subnet-name", spec.subnet, "--subnet-prefix", spec.subnet_prefix],
                 f"Create virtual network {spec.vnet} with subnet {spec.subnet} for the NIC")
    elif missing(["network", "vnet", "subnet", "show", *in_rg, "--vnet-name", spec.vnet,
                  "--name", spec.subnet], f"subnet {spec.subnet}"):
        plan.add(["network", "vnet", "subnet", "create", *in_rg, "--vnet-name", spec.vnet,
                  "--name", spec.subnet, "--address-prefixes", spec.subnet_prefix],
                 f"Create subnet {spec.subnet} in {spec.vnet} for the NIC")
    if missing(["network", "nsg", "show", *in_rg, "--name", spec.nsg],
               f"network security group {spec.nsg}"):
        plan.add(["network", "nsg", "create", *in_rg, "--name", spec.nsg,
                  "--location", spec.location],
                 f"Create network security group {spec.nsg}: its default rules deny inbound "
                 "traffic from the internet")
    if missing(["network", "nsg", "rule", "show", *in_rg, "--nsg-name", spec.nsg,
                "--name", "Allow-SSH-Internet"], "rule Allow-SSH-Internet"):
        plan.add(["network", "nsg", "rule", "create", *in_rg, "--nsg-name", spec.nsg,
                  "--name", "Allow-SSH-Internet", "--access", "Allow", "--protocol", "Tcp",
                  "--direction", "Inbound", "--priority", "100",
                  "--source-address-prefix", "Internet", "--source-port-range", "*",
                  "--destination-address-prefix", "*", "--destination-port-range", "22"],
                 "Open TCP port 22 from the internet so the VM can be reached with SSH")
    if spec.public_ip and missing(["network", "public-ip", "show", *in_rg,
                                   "--name", spec.public_ip], f"public IP {spec.public_ip}"):
        zones = ["--zone", *size.zones] if size.zones else []
        plan.add(["network", "public-ip", "create", *in_rg, "--name", spec.public_ip,
                  "--location", spec.location, "--sku", "Standard", *zones],
                 f"Create public IP {spec.public_ip} to reach the VM from the internet "
                 "(Standard" + (f", zone-redundant across zones {', '.join(size.zones)} of "
                                f"{spec.location}" if zones else ", no zones: Azure lists "
                                "none for the size here") + ")")
    nic = reader.optional_nic(Ref(rg, spec.nic)) if group_exists else None
    if nic is not None and not nic.accelerated:
        raise Refused(f"NIC {spec.nic} exists without Accelerated Networking; run "
                      f"'accelnet-provision enable' on its VM, or choose another --nic name")
    if nic is not None:
        plan.notes.append(f"NIC {spec.nic} exists already with Accelerated Networking")
    else:
        args = ["network", "nic", "create", *in_rg, "--name", spec.nic,
                "--location", spec.location, "--vnet-name", spec.vnet, "--subnet", spec.subnet,
                "--accelerated-networking", "true", "--network-security-group", spec.nsg]
        if spec.public_ip:
            args += ["--public-ip-address", spec.public_ip]
        plan.add(args, f"Create NIC {spec.nic} with Accelerated Networking on")
    if missing(["vm", "show", *in_rg, "--name", spec.vm], f"VM {spec.vm}"):
        keys = (["--ssh-key-values", spec.ssh_key_value] if spec.ssh_key_value
                else ["--generate-ssh-keys"])
        plan.add(["vm", "create", *in_rg, "--name", spec.vm, "--location", spec.location,
                  "--image", spec.image, "--size", spec.size,
                  "--admin-username", spec.admin_username, *keys, "--nics", spec.nic],
                 f"Create VM {spec.vm} ({spec.size}, a size with Accelerated Networking) "
                 f"with NIC {spec.nic}")
    plan.before = reader.state()
    return plan
