"""Plans: the ordered `az` calls that bring resources to the state a subcommand asks for.

This module holds what every plan is made of (steps, options, the size and journal checks,
the declared intent); plan_vm.py, plan_vmss.py and plan_create.py build the plans of each
target, group.py handles the VMs a plan stops and starts together.

A plan is built from state read first (see reader.py), so it holds only the changes still
needed.

Every VM a plan deallocates while it runs is first noted in its journal tag (journal.py),
and the tag goes only after the VM is started again: a plan read after an interrupted run
starts what that run stopped, so the same command finishes the job. Only entries checked to
be this job's own are acted on (journal.py); the steps they add are marked ``resumed``, so
the command can ask before starting a VM nobody named, as it asks before stopping one.
Steps that may run together share a ``batch`` (deallocating and starting the VMs of a set,
writing and removing their tags): the set is down for about the time of one VM, not of all
of them in a row.
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from accelnet.provision import intent as intents
from accelnet.provision import journal as journals
from accelnet.provision.errors import Refused
from accelnet.provision.journal import Entry, Journal
from accelnet.provision.reader import Reader
from accelnet.provision.skus import SOURCE_AZURE, SizeDecision, decide
from accelnet.provision.state import Ref
from accelnet.records import dataclass, field


@dataclass(frozen=True)
class Poll:
    """A read-only step that prints a count (a JMESPath length()), asked again and again
    until the count is ``until``: a bounded wait, with progress (runner.py), rendered in
    --dry-run as a shell loop with the same bound."""

    until: int  # the count that means done
    limit: float  # seconds at most
    what: str  # what is awaited while the count is not ``until``: "{} instance(s) of x …"


@dataclass(frozen=True)
class Step:
    """One `az` call (arguments after 'az', without --subscription/--output) and why."""

    args: Tuple[str, ...]
    why: str
    deallocates: Optional[str] = None  # VM or scale set name this step deallocates
    starts: Optional[str] = None  # VM or scale set name this step starts
    batch: Optional[str] = None  # consecutive steps of one batch may run concurrently
    resumed: bool = False  # done because an earlier run's journal says so, not this command
    poll: Optional[Poll] = None  # a wait: asked until it answers poll.until


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
    upgrade_timeout: float = 3600.0  # scale sets: how long to wait for latestModelApplied


def where(ref: Ref) -> List[str]:
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


def checked_entry(plan: Plan, journal: Journal, tags: Mapping[str, str], resource_id: str,
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


def declare_intent(plan: Plan, resource_id: str, name: str, tags: Mapping[str, str],
                   enable: bool, batch: Optional[str] = None) -> None:
    """disable declares that AN is off on purpose (the tag accelnet=off, which accelnet-check
    and the agent read through IMDS: the VM is then healthy by design, not broken); enable
    takes that declaration back. Nothing is planned when the tag already says so."""
    found = {k: v for k, v in tags.items() if k.lower() == intents.TAG}
    if enable:
        for key, value in found.items():
            if value.strip().lower() == intents.OFF:
                plan.add(intents.remove_args(resource_id, key, value),
                         f"Remove the tag {key}={value} from {name}: it declares Accelerated "
                         "Networking off on purpose, and it is on now", batch=batch)
        return
    if any(v == intents.OFF for v in found.values()):
        plan.notes.append(f"{name} already carries the tag {intents.TAG}={intents.OFF}")
        return
    was = "".join(f" (was {k}={v!r})" for k, v in found.items())
    plan.add(intents.set_args(resource_id),
             f"Declare on {name} that Accelerated Networking is off on purpose (tag "
             f"{intents.TAG}={intents.OFF}{was}): accelnet-check and accelnet-agent then "
             "report it healthy by design; --no-intent-tag leaves the tags alone", batch=batch)


