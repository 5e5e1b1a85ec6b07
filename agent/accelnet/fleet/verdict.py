"""A VM's verdict, from the report its answer holds or from its reduced bundle diagnosed here.

Where accelnet is installed on the VM, the answer is its `accelnet-check --json` report;
elsewhere it is the reduced bundle, written back as a snapshot and diagnosed by the same code
as `accelnet-check --snapshot`. Either way the fleet keeps of the report what the table
needs: the verdict, the cause (the finding that decided it), size, distribution and kernel,
and the VF removals of the kernel log (for platform events, events.py). A report that comes
from a VM is hostile: every field is checked and bounded before it is used.
"""

import re
from accelnet.records import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from accelnet.diagnosis.facts import Options, parse_rfc3339
from accelnet.diagnosis.status import CRITICAL, OK, SKIPPED, UNKNOWN, WARNING, worst_status
from accelnet.fleet.answer import AnswerError
from accelnet.fleet.minibundle import Entry, write

STATUSES = (OK, WARNING, CRITICAL, UNKNOWN)
CHECK_STATUSES = STATUSES + (SKIPPED,)
REMOVAL_EVENTS = ("vf_unregistered", "vf_slot_removed")
#: Kernel-log lines of one removal (slot removed, data path switched, unregistering) come
#: within a second; two removals of one NIC this close together are one.
SAME_REMOVAL_S = 60.0
MAX_TEXT = 400
MAX_REMOVALS = 64
VIA_CHECK = "accelnet-check"
VIA_COLLECTOR = "accelnet-collect"


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    summary: str


@dataclass(frozen=True)
class Removal:
    device: str
    epoch: float


@dataclass
class Verdict:
    status: str
    summary: str
    cause: str
    via: str
    vm_size: Optional[str] = None
    os_id: Optional[str] = None
    os_version: Optional[str] = None
    kernel: Optional[str] = None
    hostname: Optional[str] = None
    findings: List[Finding] = field(default_factory=list)
    removals: List[Removal] = field(default_factory=list)


def _text(value: Any, limit: int = MAX_TEXT) -> Optional[str]:
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[:limit - 1] + "…"


_NUMBER = re.compile(r"(?<![\w<])\d[\d,]*(?:\.\d+)*(?![\w>])")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_MAC = re.compile(r"\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\b")
_SLOT = re.compile(r"\b[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]\b")
_VERSIONED = re.compile(r"\b\d+(?:\.\d+)+(?:-[\w.]+)*\b")


def general_cause(check: str, summary: str, names: Sequence[str]) -> str:
    """A finding as a cause shared by VMs: NIC names, times, addresses, versions and
    numbers of this VM replaced by placeholders, first clause only."""
    text = summary
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = re.sub(r"(?<![\w-])%s(?![\w-])" % re.escape(name), "<nic>", text)
    text = _TIME.sub("<time>", text)
    text = _MAC.sub("<mac>", text)
    text = _SLOT.sub("<pci>", text)
    text = _VERSIONED.sub("<version>", text)
    text = _NUMBER.sub("N", text)
    text = re.split(r"(?<=[a-z>)])[.;] ", text, maxsplit=1)[0].rstrip(".")
    if len(text) > 110:
        text = text[:109] + "…"
    return f"{check}: {text}" if check else text


def _findings(report: Mapping[str, Any]) -> List[Finding]:
    checks = report.get("checks")
    if not isinstance(checks, list):
        raise AnswerError("the report has no checks list")
    found = []
    for item in checks[:64]:
        if not isinstance(item, Mapping):
            raise AnswerError("a check of the report is not an object")
        check, status = _text(item.get("id"), 64), item.get("status")
        if check is None or status not in CHECK_STATUSES:
            raise AnswerError("a check of the report has no id or no valid status")
        found.append(Finding(check, str(status), _text(item.get("summary")) or ""))
    return found


def _nic_names(report: Mapping[str, Any]) -> List[str]:
    names: List[str] = []
    for iface in report.get("interfaces") or []:
        if isinstance(iface, Mapping):
            names.append(_text(iface.get("name"), 64) or "")
            vf = iface.get("vf")
            if isinstance(vf, Mapping):
                names.append(_text(vf.get("name"), 64) or "")
    return names


def removals(report: Mapping[str, Any]) -> List[Removal]:
    """Each VF removal of the kernel log (one per NIC and minute), with its wall-clock time."""
    history = report.get("history")
    found: List[Removal] = []
    if not isinstance(history, list):
        return found
    for row in history[-4096:]:
        if not isinstance(row, Mapping) or row.get("event") not in REMOVAL_EVENTS:
            continue
        device = _text(row.get("device"), 64)
        epoch = parse_rfc3339(row.get("time"))
        if device is None or epoch is None:
            continue
        if any(r.device == device and abs(r.epoch - epoch) < SAME_REMOVAL_S for r in found):
            continue
        found.append(Removal(device, epoch))
    return found[-MAX_REMOVALS:]


def from_report(report: Any, via: str) -> Verdict:
    """The verdict a schema-1 report gives (raises AnswerError for anything else)."""
    if not isinstance(report, Mapping) or report.get("schema") != 1:
        raise AnswerError("not an accelnet report (schema 1)")
    status = report.get("status")
    if status not in STATUSES:
        raise AnswerError(f"the report's status is {str(status)[:40]!r}")
    summary = _text(report.get("summary")) or ""
    found = report.get("host")
    host: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    findings = _findings(report)
    names = _nic_names(report)
    bad = [f for f in findings if f.status in (CRITICAL, WARNING, UNKNOWN)]
    if status == OK or not bad:
        cause = "Accelerated Networking works" if status == OK else general_cause("", summary, names)
    else:
        # The first finding of the status that decides, decided as a check decides its parts.
        deciding = worst_status(f.status for f in bad)
        worst = next(f for f in bad if f.status == deciding)
        cause = general_cause(worst.check, worst.summary, names)
    return Verdict(
        status=str(status), summary=summary, cause=cause, via=via,
        vm_size=_text(host.get("vm_size"), 64), os_id=_text(host.get("os_id"), 64),
        os_version=_text(host.get("os_version"), 64), kernel=_text(host.get("kernel"), 128),
        hostname=_text(host.get("hostname"), 128),
        findings=[f for f in findings if f.status != SKIPPED], removals=removals(report))


def diagnose_entries(entries: List[Entry], options: Options) -> Dict[str, Any]:
    """The report of a reduced bundle: written back as a snapshot directory (private,
    removed after) and diagnosed by the code of `accelnet-check --snapshot`."""
    from accelnet.diagnosis.checks import run_checks
    from accelnet.diagnosis.facts import gather
    from accelnet.diagnosis.report import build_report
    from accelnet.readers.snapshot import open_snapshot
    from accelnet.readers.tempdir import temporary_directory

    with temporary_directory(prefix="accelnet-fleet-") as workdir:
        write(entries, workdir)
        with open_snapshot(workdir) as host:
            facts = gather(host, options)
            return build_report(facts, run_checks(facts))
