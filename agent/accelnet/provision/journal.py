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

The cost: one ``az tag update`` per stopped resource before and after (run concurrently,
see runner.py), and write access to tags (the VM's own write permission is enough).
A tag is written through the Tags API (``az tag update --operation Merge``), which does not
touch the VM model, so it is safe on a running VM.
"""

import datetime
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

TAG = "accelnet-provision"
START = "start again"  # the resource was running: start it when the job is done
LEAVE = "leave deallocated"  # it was not running: only the job itself is unfinished
MAX_VALUE = 256  # Azure's limit on a tag value


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
class Journal:
    """What this run writes: which command, since when."""

    summary: str
    when: str

    @classmethod
    def for_command(cls, command: Sequence[str],
                    now: Optional[datetime.datetime] = None) -> "Journal":
        target = [f"{flag} {value}" for flag, value in zip(command, command[1:])
                  if flag in ("--vm", "--vmss")]
        summary = " ".join(list(command[:1]) + target[:1])
        when = (now or datetime.datetime.now(datetime.timezone.utc)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        return cls(summary, when)

    def value(self, start_again: bool) -> str:
        """``start again; by accelnet-provision enable …; 2026-11-28T09:03:37Z``."""
        text = f"{START if start_again else LEAVE}; by accelnet-provision {self.summary}; " \
               f"{self.when}"
        return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def find(tags: Mapping[str, str], resource_id: str, name: str) -> Optional[Entry]:
    for key, value in tags.items():
        if key.lower() == TAG:
            return Entry(resource_id, name, value)
    return None


def write_args(resource_id: str, value: str) -> List[str]:
    return ["tag", "update", "--resource-id", resource_id, "--operation", "Merge",
            "--tags", f"{TAG}={value}"]


def remove_args(entry: Entry) -> List[str]:
    return ["tag", "update", "--resource-id", entry.resource_id, "--operation", "Delete",
            "--tags", f"{TAG}={entry.value}"]
