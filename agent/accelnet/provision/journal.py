"""The journal of a run: a tag on every resource the run stops, removed when the job is done.

A run that deallocates VMs and then fails (a step, the network, a Ctrl-C, a lost laptop) must
leave behind enough for the next run to finish the job. Everything but one fact can be read
again from Azure: whether a NIC has Accelerated Networking, a VM's size, a scale set's model.
The one fact that cannot is "this VM is deallocated because *we* stopped it, and it was
running before": a re-read sees a deallocated VM, the same as one an operator keeps down on
purpose. So before deallocating a running VM (or changing a scale set), the run writes that
fact as the tag ``accelnet-provision`` on the resource itself, and the last steps of the
run start the VM and delete the tag.

Why a tag and not a local state file:

- the tag lives with the VM, so any operator on any machine (a colleague, a new CI container,
  the portal, ``az vm list --query "[?tags.\"accelnet-provision\"]"``) sees that the VM is
  down because of an unfinished run, and the same command run from anywhere finishes it;
  a state file stays on the machine that crashed, or in a CI workspace that is gone;
- it is read by the calls the plan makes anyway (``az vm get-instance-view`` and
  ``az vmss show`` return the tags), so a resume costs no extra read;
- it cannot go stale against the resource: deleting the VM deletes the tag, and an operator
  who wants the VM to stay down deletes the tag (nothing else to clean up).

A tag is a claim, not proof: anyone with tag write access (the Tag Contributor role, which
gives no access to the VMs themselves) can write one. So an entry is acted on only when it
is checked to be this command's own (``Journal.check``):

- it names this command's job: the same action and target (and size, for a resize); the
  entry of another job is reported and left alone, for that job's own command to finish;
- it sits on this command's target: the plan looks for entries only on the resources the
  target covers (the VM and the rest of its availability set, the scale set and its
  instances), by the ids Azure returns, so a tag on a resource elsewhere is never read;
- its proof matches: a digest of the intent, the job, the resource group, the time and the
  resource's own unique id (``vmId`` of a VM, ``uniqueId`` of a scale set), which Azure
  assigns and which a tag writer without read access to the resource cannot see; an entry
  copied from another VM, or kept from a VM deleted and created again under the same name,
  does not match;
- it is recent (at most ``MAX_AGE`` old, not dated in the future): a run is resumed within
  days, and an old entry replayed later must not restart a VM that was stopped since.

Someone who can read the VM and write its tags could still forge an entry; what such an
entry can make a run do is bounded the same way any change is: a resumed action is a step of
the plan like any other (shown by ``--dry-run``, said in the output), and starting a VM the
command did not name needs the same consent as deallocating one (``--yes``, or a question on
a terminal).

The cost: one ``az tag update`` per stopped resource before and after (run concurrently,
see runner.py), and write access to tags (the VM's own write permission is enough).
A tag is written through the Tags API (``az tag update --operation Merge``), which does not
touch the VM model, so it is safe on a running VM.
"""

import datetime
import hashlib
import re
import shlex
from typing import List, Mapping, Optional, Sequence

from accelnet.provision.errors import Refused
from accelnet.provision.names import check_name, check_size_word
from accelnet.provision.tags import update_args
from accelnet.records import dataclass

TAG = "accelnet-provision"
START = "start again"  # the resource was running: start it when the job is done
LEAVE = "leave deallocated"  # it was not running: only the job itself is unfinished
MAX_VALUE = 256  # Azure's limit on a tag value
MAX_AGE = datetime.timedelta(hours=72)  # a weekend between a failure and its resume
CLOCK_SKEW = datetime.timedelta(minutes=10)  # another operator's clock may run ahead
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_VALUE_RE = re.compile(r"(?P<intent>start again|leave deallocated); by accelnet-provision "
                       r"(?P<job>[^;]+); (?P<when>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ); "
                       r"proof (?P<proof>[0-9a-f]{16})")
_TARGET_FLAGS = {"--vm": "vm", "--vmss": "vmss"}


@dataclass(frozen=True)
class Job:
    """What a run does, as its journal names it: the action on one target (and the size of a
    resize). Names compare case-insensitively, as Azure's do."""

    action: str  # enable | disable | resize
    kind: str  # vm | vmss
    target: str
    size: Optional[str] = None

    @classmethod
    def from_command(cls, command: Sequence[str]) -> "Job":
        """The job of accelnet-provision arguments (the canonical ones of a run)."""
        values = _flag_values(command)
        kind = next((k for flag, k in _TARGET_FLAGS.items() if flag in values), "vm")
        flag = "--vmss" if kind == "vmss" else "--vm"
        return cls(command[0] if command else "", kind, values.get(flag, ""),
                   values.get("--size") if command[:1] == ["resize"] else None)

    @classmethod
    def parse(cls, text: str) -> Optional["Job"]:
        """The job of an entry's text (``enable --vm vm1``), None if it names none. Anyone
        with tag write access wrote that text, and the job is shown as the command that
        finishes it: a target or size that is not a name Azure allows is no job."""
        words = text.split(" ")
        if len(words) not in (3, 5) or words[0] not in ("enable", "disable", "resize") or \
                words[1] not in _TARGET_FLAGS:
            return None
        size = None
        if len(words) == 5:
            if words[0] != "resize" or words[3] != "--size":
                return None
            size = words[4]
        kind = _TARGET_FLAGS[words[1]]
        try:
            check_name(kind, words[2])
            if size is not None:
                check_size_word(size)
        except Refused:
            return None
        return cls(words[0], kind, words[2], size)

    @property
    def text(self) -> str:
        words = [self.action, "--vmss" if self.kind == "vmss" else "--vm", self.target]
        if self.size:
            words += ["--size", self.size]
        return " ".join(words)

    def same(self, other: "Job") -> bool:
        return self.text.lower() == other.text.lower()


@dataclass(frozen=True)
class Entry:
    """One resource's journal tag."""

    resource_id: str
    name: str
    value: str

    @property
    def start_again(self) -> bool:
        return self.value.startswith(START)


@dataclass(frozen=True)
class Check:
    """Whether an entry is this command's own; ``reason`` says why not."""

    ours: bool
    reason: str = ""
    job: Optional[Job] = None  # the job the entry names, if it names one


def _flag_values(command: Sequence[str]) -> Mapping[str, str]:
    """``--flag value`` pairs of accelnet-provision arguments (names never start with '-')."""
    return {flag: value for flag, value in zip(command[1:], command[2:])
            if flag.startswith("--")}


def proof(intent: str, job: Job, resource_group: str, when: str, unique_id: str) -> str:
    text = "\n".join(["accelnet-provision journal 1", intent, job.text.lower(),
                      resource_group.lower(), when, unique_id.lower()])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Journal:
    """What this run writes, and the judge of what earlier runs wrote."""

    job: Job
    resource_group: str
    now: datetime.datetime

    @classmethod
    def for_command(cls, command: Sequence[str],
                    now: Optional[datetime.datetime] = None) -> "Journal":
        values = _flag_values(command)
        return cls(Job.from_command(command), values.get("--resource-group", ""),
                   (now or datetime.datetime.now(datetime.timezone.utc)).replace(
                       microsecond=0))

    @property
    def when(self) -> str:
        return self.now.strftime(TIME_FORMAT)

    @property
    def summary(self) -> str:
        return self.job.text

    def value(self, start_again: bool, unique_id: str) -> str:
        """``start again; by accelnet-provision enable --vm vm1; 2026-11-28T09:03:37Z;
        proof 0123456789abcdef``: at most 235 characters with the longest legal names."""
        intent = START if start_again else LEAVE
        return (f"{intent}; by accelnet-provision {self.job.text}; {self.when}; proof "
                f"{proof(intent, self.job, self.resource_group, self.when, unique_id)}")

    def entry(self, resource_id: str, name: str, start_again: bool,
              unique_id: str) -> Entry:
        return Entry(resource_id, name, self.value(start_again, unique_id))

    def check(self, entry: Entry, unique_id: str) -> Check:
        """Is ``entry`` (read from the resource whose Azure unique id is ``unique_id``) the
        journal of an earlier run of this very job on this very resource?"""
        match = _VALUE_RE.fullmatch(entry.value)
        if match is None:
            return Check(False, "no accelnet-provision run wrote it (it does not name a job, "
                         "a time and a proof)")
        job = Job.parse(match.group("job"))
        if job is None:
            return Check(False, f"it names no job this tool runs ({match.group('job')!r})")
        if not job.same(self.job):
            words = job.text.split(" ")
            again = " ".join(shlex.quote(w) for w in [words[0], "--resource-group", self.resource_group,
                                                      *words[1:]])
            return Check(False, f"it belongs to another job, which `accelnet-provision {again}` "
                         "finishes", job)
        try:
            when = datetime.datetime.strptime(match.group("when"), TIME_FORMAT).replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            return Check(False, f"its time {match.group('when')} is not a date", job)
        if when > self.now + CLOCK_SKEW:
            return Check(False, f"it is dated {match.group('when')}, in the future", job)
        if when < self.now - MAX_AGE:
            return Check(False, f"it was written {match.group('when')}, more than "
                         f"{int(MAX_AGE.total_seconds() // 3600)} h ago: check why the "
                         "resource is down, then start it yourself (--also-start) or "
                         "remove the tag", job)
        if not unique_id:
            return Check(False, "Azure reported no unique id for the resource to check it "
                         "against", job)
        expected = proof(match.group("intent"), job, self.resource_group, match.group("when"),
                         unique_id)
        if expected != match.group("proof"):
            return Check(False, "its proof does not match this resource (copied from "
                         "another resource, or not written by accelnet-provision)", job)
        return Check(True, "", job)


def find(tags: Mapping[str, str], resource_id: str, name: str) -> Optional[Entry]:
    for key, value in tags.items():
        if key.lower() == TAG:
            return Entry(resource_id, name, value)
    return None


def write_args(resource_id: str, value: str) -> List[str]:
    return update_args(resource_id, "Merge", TAG, value)


def remove_args(entry: Entry) -> List[str]:
    return update_args(entry.resource_id, "Delete", TAG, entry.value)
