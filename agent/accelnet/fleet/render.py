"""The fleet's answer: the table, the VMs grouped by cause, platform events; JSON and CSV.

Everything shown came from Azure or from a VM: text goes through safe_text (control, bidi
and separator characters escaped) before a terminal sees it, and CSV cells that a
spreadsheet would run as a formula are quoted as text.
"""

import csv
import datetime
import io
from typing import Dict, List, Optional, Sequence, Tuple

from accelnet.diagnosis.status import CRITICAL, OK, SEVERITY, UNKNOWN, WARNING, worst_status
from accelnet.diagnosis.safetext import safe_text
from accelnet.fleet.ask import INTERRUPTED, VmResult
from accelnet.fleet.events import PlatformEvent, platform_events
from accelnet.fleet.verdict import general_cause
from accelnet.records import dataclass

SCHEMA = 1
READ_ONLY = ("read-only: it lists VMs, reads what Azure says of them and runs a diagnosis "
             "script through Run Command; it starts, stops or changes nothing in Azure")
NO_VERDICT = "no verdict"
_ORDER = {CRITICAL: 0, WARNING: 1, UNKNOWN: 2, NO_VERDICT: 3, OK: 4, "by design": 5}


@dataclass(frozen=True)
class Group:
    status: str  # a verdict, "no verdict" (a failure) or "by design" (not running, Windows)
    cause: str
    vms: Tuple[str, ...]


def fleet_status(results: Sequence[VmResult]) -> str:
    """The worst verdict (critical, warning, unknown, ok); a VM that could not be diagnosed
    counts as unknown, one not asked by design (not running, Windows) does not; unknown when
    no VM gave a verdict, and when the run was interrupted (it did not ask every VM)."""
    if not any(r.verdict for r in results) or any(r.reason and r.reason.kind == INTERRUPTED for r in results):
        return UNKNOWN
    statuses = [r.verdict.status for r in results if r.verdict]
    statuses += [UNKNOWN for r in results if r.reason and r.reason.counts]
    return worst_status(statuses)


def exit_status(results: Sequence[VmResult]) -> int:
    return SEVERITY[fleet_status(results)]


def _status_of(result: VmResult) -> str:
    if result.verdict:
        return result.verdict.status
    return NO_VERDICT if result.reason is None or result.reason.counts else "by design"


def _cause_of(result: VmResult) -> str:
    if result.verdict:
        return result.verdict.cause
    return general_cause("", result.reason.message if result.reason else "", [result.target.name])


def groups(results: Sequence[VmResult]) -> List[Group]:
    """VMs by (status, cause), worst first, then the biggest group."""
    found: Dict[Tuple[str, str], List[str]] = {}
    for result in results:
        found.setdefault((_status_of(result), _cause_of(result)), []).append(result.target.name)
    ordered = sorted(found.items(), key=lambda kv: (_ORDER.get(kv[0][0], 9), -len(kv[1]), kv[0][1]))
    return [Group(status, cause, tuple(vms)) for (status, cause), vms in ordered]


def events(results: Sequence[VmResult]) -> List[PlatformEvent]:
    return platform_events({r.target.name: [x.epoch for x in r.verdict.removals]
                            for r in results if r.verdict and r.verdict.removals})


def _utc(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _system(result: VmResult) -> str:
    verdict, view = result.verdict, result.view
    if verdict and (verdict.os_id or verdict.kernel):
        return " ".join(x for x in (verdict.os_id, verdict.os_version, verdict.kernel) if x)
    if view and (view.os_name or view.os_version):
        return " ".join(x for x in (view.os_name, view.os_version) if x)
    return "-"


def _size(result: VmResult) -> str:
    if result.verdict and result.verdict.vm_size:
        return result.verdict.vm_size
    return (result.view.size if result.view and result.view.size else None) or "-"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(1, width - 1)] + "…"


def _names(vms: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(safe_text(v) for v in vms[:limit])
    return shown + (f", … (+{len(vms) - limit})" if len(vms) > limit else "")


def text(results: Sequence[VmResult]) -> str:
    rows = []
    for r in results:
        verdict = r.verdict.status.upper() if r.verdict else "-"
        cause = r.verdict.summary if r.verdict and r.verdict.status != OK else _cause_of(r)
        if r.reason:
            cause = r.reason.message
        rows.append([safe_text(r.target.name), safe_text(_size(r)), safe_text(_system(r)), verdict,
                     safe_text(cause)])
    header = ["VM", "SIZE", "DISTRIBUTION AND KERNEL", "VERDICT", "CAUSE"]
    limits = [40, 24, 44, 8]
    widths = [min(limit, max([len(header[i])] + [len(row[i]) for row in rows]))
              for i, limit in enumerate(limits)]
    lines = []
    for row in [header] + rows:
        cells = [_clip(row[i], widths[i]).ljust(widths[i]) for i in range(4)]
        lines.append("  ".join(cells + [_clip(row[4], 200)]).rstrip())
    lines.append("")
    lines.append("By cause:")
    for group in groups(results):
        label = group.status.upper() if group.status in SEVERITY else group.status
        lines.append(f"  {len(group.vms):4d}  {label:<10}  {safe_text(group.cause)}")
        lines.append(f"        {'':<10}  {_names(group.vms)}")
    found = events(results)
    if found:
        lines.append("")
        lines.append("Platform events (VF removals on several VMs within minutes):")
        for event in found:
            minutes = max(1, round((event.end - event.start) / 60))
            lines.append(f"  VF removed on {len(event.vms)} VMs within {minutes} min "
                         f"({_utc(event.start)} to {_utc(event.end)}): likely one platform event "
                         f"(host servicing or maintenance), not {len(event.vms)} separate faults; "
                         "see Azure Service Health")
            lines.append(f"    {_names(event.vms)}")
    lines.append("")
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"


def summary_line(results: Sequence[VmResult]) -> str:
    counts: Dict[str, int] = {}
    for r in results:
        if r.verdict:
            counts[r.verdict.status] = counts.get(r.verdict.status, 0) + 1
    verdicts = ", ".join(f"{counts[s]} {s.upper()}" for s in (OK, WARNING, CRITICAL, UNKNOWN) if s in counts)
    missing: Dict[str, int] = {}
    for r in results:
        if r.reason:
            missing[r.reason.kind] = missing.get(r.reason.kind, 0) + 1
    without = sum(missing.values())
    detail = ", ".join(f"{n} {k}" for k, n in sorted(missing.items(), key=lambda kv: -kv[1]))
    line = f"{len(results)} VMs: {verdicts or 'no verdict'}"
    if without:
        line += f"; {without} without a verdict ({detail})"
    return line + f". Fleet status: {fleet_status(results).upper()}."


def _vm_doc(r: VmResult) -> Dict[str, object]:
    verdict, view = r.verdict, r.view
    return {
        "name": r.target.name,
        "resource_group": r.target.resource_group,
        "kind": r.target.kind,
        "scale_set": r.target.scale_set,
        "instance_id": r.target.instance_id,
        "size": _size(r) if _size(r) != "-" else None,
        "power": view.power if view else None,
        "agent": view.agent if view else None,
        "os_id": verdict.os_id if verdict else (view.os_name if view else None),
        "os_version": verdict.os_version if verdict else (view.os_version if view else None),
        "kernel": verdict.kernel if verdict else None,
        "verdict": verdict.status if verdict else None,
        "summary": verdict.summary if verdict else None,
        "cause": _cause_of(r),
        "reason": {"kind": r.reason.kind, "message": r.reason.message} if r.reason else None,
        "via": verdict.via if verdict else None,
        "findings": [{"check": f.check, "status": f.status, "summary": f.summary}
                     for f in (verdict.findings if verdict else [])],
        "vf_removals": [{"device": x.device, "time": _utc(x.epoch)} for x in (verdict.removals if verdict else [])],
        "run_command_calls": r.calls,
        "seconds": round(r.seconds, 3),
    }


def document(results: Sequence[VmResult], resource_group: str, scale_set: Optional[str],
             subscription: Optional[str]) -> Dict[str, object]:
    return {
        "schema": SCHEMA,
        "read_only": True,
        "note": READ_ONLY,
        "subscription": subscription,
        "resource_group": resource_group,
        "scale_set": scale_set,
        "status": fleet_status(results),
        "exit_status": exit_status(results),
        "vms": [_vm_doc(r) for r in results],
        "causes": [{"status": g.status, "cause": g.cause, "count": len(g.vms), "vms": list(g.vms)}
                   for g in groups(results)],
        "platform_events": [{"start": _utc(e.start), "end": _utc(e.end), "vms": list(e.vms),
                             "removals": e.removals} for e in events(results)],
    }


CSV_FIELDS = ("vm", "resource_group", "kind", "instance_id", "size", "distribution", "kernel",
              "verdict", "cause", "reason", "via", "run_command_calls", "seconds")


def _cell(value: object) -> str:
    """A CSV cell: text escaped as for a terminal, and a leading = + - @ (a formula to a
    spreadsheet) made text with a quote."""
    text = "" if value is None else safe_text(value, keep_pipes=True)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_text(results: Sequence[VmResult]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for r in results:
        doc = _vm_doc(r)
        distribution = " ".join(str(doc[k]) for k in ("os_id", "os_version") if doc[k])
        writer.writerow([_cell(v) for v in (
            doc["name"], doc["resource_group"], doc["kind"], doc["instance_id"], doc["size"],
            distribution, doc["kernel"], doc["verdict"], doc["cause"],
            r.reason.message if r.reason else None, doc["via"], doc["run_command_calls"], doc["seconds"])])
    return out.getvalue()
