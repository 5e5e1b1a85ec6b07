"""The report of a diagnosis: the JSON document (docs/schema/report.schema.json documents every
field) and its rendering as a monitoring plugin's text."""

import json
import os
from typing import Any, Dict, List, Optional, Set, TextIO, Tuple

from accelnet import __version__
from accelnet.diagnosis import counters
from accelnet.diagnosis.checks import interface_datapath, overall_status
from accelnet.diagnosis.facts import Facts
from accelnet.diagnosis.finding import CHECK_IDS, CheckId, Finding
from accelnet.diagnosis.safetext import safe_label, safe_text
from accelnet.diagnosis.status import CRITICAL, OK, SEVERITY, SKIPPED, UNKNOWN, WARNING
from accelnet.diagnosis.vfhistory import history_rows
from accelnet.parsers.intent import OFF
from accelnet.readers.netdev import Pairing

SCHEMA = 1
#: The JSON report (schema 1): a JSON document, as json.loads would give it back. Its shape is
#: docs/schema/report.schema.json, which tests/test_schemas.py holds every report to.
Report = Dict[str, Any]


def _host_section(facts: Facts) -> Dict[str, object]:
    osr, imds = facts.os_release, facts.imds
    return {
        "azure": bool(facts.is_azure),
        "vm_size": imds.vm_size if imds else None,
        "os_id": osr.id if osr else None,
        "os_version": osr.version_id if osr else None,
        "kernel": facts.kernel,
        "hostname": facts.hostname,
        "vm_id": imds.vm_id if imds else None,
        "time": facts.time,
        "tool_version": __version__,
    }


def vf_record(pairing: Pairing) -> Optional[Dict[str, Optional[str]]]:
    """The VF of a synthetic NIC as the report and the metrics name it (None: no VF)."""
    if pairing.vf is None:
        return None
    pci = pairing.vf_pci
    return {
        "name": pairing.vf.name,
        "pci_slot": pairing.vf.pci_slot,
        "vendor_id": pci.vendor_id if pci else None,
        "device_id": pci.device_id if pci else None,
        "model": pci.model if pci else None,
        "driver": pairing.vf.driver,
    }


def _interface(facts: Facts, pairing: Pairing) -> Dict[str, object]:
    syn = pairing.synthetic
    vf = vf_record(pairing)
    samples = facts.samples.get(syn.name) or []
    first = samples[0].stats if samples and samples[0].stats else {}
    return {
        "name": syn.name,
        "driver": syn.driver,
        "mac": syn.mac,
        "vf": vf,
        "datapath": interface_datapath(facts, pairing),
        "counters": counters.vf_counters(first),
    }


def summary_sentence(facts: Facts, status: str, findings: List[Finding]) -> str:
    if not facts.is_azure:
        azure = next(f for f in findings if f.id == CheckId.PLATFORM_AZURE)
        if facts.is_azure is None:
            return f"{azure.summary[0].upper()}{azure.summary[1:]}; Accelerated Networking only exists on Azure VMs."
        text = azure.summary[0].upper() + azure.summary[1:]
        return f"{text}; Accelerated Networking only exists on Azure VMs."
    bad = [f for f in findings if f.status in (CRITICAL, WARNING)]
    if facts.intent.error is not None:
        return f"Cannot tell what is intended: {facts.intent.error}."
    if status == OK:
        return _healthy_sentence(facts)
    if bad:
        worst = max(bad, key=lambda f: (f.status == CRITICAL, -findings.index(f)))
        more = f" (and {len(bad) - 1} more finding{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
        return f"{worst.id}: {worst.summary}{more}."
    unknown = [f.id for f in findings if f.status == UNKNOWN]
    return f"Could not determine {', '.join(unknown)}."


def _working(facts: Facts, pairings: List[Pairing]) -> List[str]:
    """``eth0 via enP1s1`` for each pairing whose VF is there or carries the traffic."""
    return [
        f"{p.synthetic.name} via {p.vf.name if p.vf is not None else 'its VF'}"
        for p in pairings
        if p.vf is not None or interface_datapath(facts, p) == counters.DATAPATH_VF
    ]


def _healthy_sentence(facts: Facts) -> str:
    """What works, and what is off by design (with where it was declared)."""
    intent = facts.intent
    off, notes = intent.vm_off(), intent.notes()
    judged = [p for p in facts.pairings if p.synthetic.name not in intent.excused]
    names = _working(facts, judged)
    # Declared off yet working: a stale tag or file, or AN enabled since; the operator
    # should hear it, not read "off" about a VF that carries traffic.
    declared_off = [p for p in facts.pairings if intent.nic(p.synthetic.name).expect == OFF]
    anyway = _working(facts, declared_off)
    if anyway:
        notes = "; ".join(filter(None, [notes, f"declared off but working: {', '.join(anyway)}"]))
        off = f"{off}; declared off but working: {', '.join(anyway)}" if off is not None else None
    owned = [
        f"{p.synthetic.name}'s VF {p.vf_pci.slot} is owned by user space ({p.vf_pci.driver})"
        for p in judged
        if p.vf is None and p.vf_pci is not None
    ]
    if off is not None and not names:
        return f"Accelerated Networking is off by design: {off}."
    also = f"; {notes}" if notes and off is None else ""
    if not names and owned:
        return f"Accelerated Networking is enabled: {'; '.join(owned)}{also}."
    return f"Accelerated Networking is working: {', '.join(names + owned)}{also}."


def build_report(facts: Facts, findings: List[Finding]) -> Report:
    status = overall_status(facts, findings)
    report: Report = {
        "schema": SCHEMA,
        "status": status,
        "summary": summary_sentence(facts, status, findings),
        "host": _host_section(facts),
        "checks": [f.as_dict() for f in findings],
        "interfaces": [_interface(facts, p) for p in facts.pairings],
        "history": history_rows(facts),
        "history_state": facts.history_state.text,
    }
    if facts.intent.worth_reporting:
        report["intent"] = facts.intent.as_dict()
    return report


_COLOURS = {OK: "32", WARNING: "33", CRITICAL: "31", UNKNOWN: "35", SKIPPED: "2"}
#: History lines the text report shows (the newest); the JSON report has them all.
HISTORY_LINES = 10


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def synthetic_packets(facts: Facts) -> Dict[str, Dict[str, int]]:
    """Synthetic-path packet totals per NIC from the first sample, for the perfdata (the JSON
    report has only the vf_* counters)."""
    out: Dict[str, Dict[str, int]] = {}
    for name, samples in facts.samples.items():
        if samples and samples[0].stats:
            totals = counters.synthetic_totals(samples[0].stats)
            out[name] = {k: v for k, v in totals.items() if k.endswith("_packets")}
    return out


def _perf(label: str, value: int, uom: str = "", minimum: str = "", maximum: str = "") -> str:
    """One value in the monitoring-plugins format: 'label'=value[UOM];warn;crit;min;max."""
    return f"'{safe_label(label)}'={int(value)}{uom};;;{minimum};{maximum}".rstrip(";")


def perfdata_by_nic(report: Report, synthetic: Optional[Dict[str, Dict[str, int]]] = None) -> List[Tuple[str, str]]:
    """Per synthetic NIC, in report order, its perfdata: VF present (0/1), the data path (1 on
    the path that carries the traffic; left out where it is unknown), and the VF and synthetic
    packet counters (``c``)."""
    groups: List[Tuple[str, str]] = []
    for iface in report.get("interfaces") or []:
        nic = str(iface.get("name"))
        values = [_perf(f"{nic}_vf_present", 1 if iface.get("vf") else 0, "", "0", "1")]
        path = iface.get("datapath")
        if path in (counters.DATAPATH_VF, counters.DATAPATH_SYNTHETIC, counters.DATAPATH_IDLE):
            values.append(_perf(f"{nic}_datapath_vf", path == counters.DATAPATH_VF, "", "0", "1"))
            values.append(_perf(f"{nic}_datapath_synthetic", path == counters.DATAPATH_SYNTHETIC, "", "0", "1"))
        found = iface.get("counters") or {}
        for name in ("vf_rx_packets", "vf_tx_packets"):
            if isinstance(found.get(name), int):
                values.append(_perf(f"{nic}_{name}", found[name], "c", "0"))
        for name, value in sorted(((synthetic or {}).get(nic) or {}).items()):
            values.append(_perf(f"{nic}_synthetic_{name}", value, "c", "0"))
        groups.append((nic, " ".join(values)))
    return groups


def perfdata(report: Report, synthetic: Optional[Dict[str, Dict[str, int]]] = None) -> str:
    """Every NIC's perfdata (:func:`perfdata_by_nic`) as one string."""
    return " ".join(values for _, values in perfdata_by_nic(report, synthetic))


def _names_in(value: object) -> Set[str]:
    """Every string a finding's evidence holds, at any depth (names of NICs and VFs among them)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_names_in(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_names_in(v) for v in value)) if value else set()
    return set()


def nics_at_fault(report: Report) -> List[str]:
    """The synthetic NICs in the order their perfdata goes first: those whose own record shows
    the trouble (no VF, or traffic on the synthetic path or on an unknown one) while the host is
    not OK, then those the evidence of a warning, critical or unknown check names (the NIC or
    its VF), then the rest, each group in report order."""
    interfaces = [i for i in report.get("interfaces") or [] if isinstance(i, dict)]
    named: Set[str] = set()
    for check in report.get("checks") or []:
        if isinstance(check, dict) and check.get("status") in (WARNING, CRITICAL, UNKNOWN):
            named |= _names_in(check.get("evidence"))
    healthy = report.get("status") == OK

    def rank(iface: Dict[str, Any]) -> int:
        found = iface.get("vf")
        vf: Dict[str, Any] = found if isinstance(found, dict) else {}
        if not healthy and (not vf or iface.get("datapath") in (counters.DATAPATH_SYNTHETIC, counters.DATAPATH_UNKNOWN)):
            return 0
        if {str(iface.get("name")), str(vf.get("name"))} & named:
            return 1
        return 2

    ranked = sorted(enumerate(interfaces), key=lambda pair: (rank(pair[1]), pair[0]))
    return [str(iface.get("name")) for _, iface in ranked]


#: NRPE 2 answers with one 1,024-byte buffer that ends in a NUL: the first line and its newline
#: (1,023 bytes) arrive whole within it, whatever the host.
FIRST_LINE_BYTES = 1022
#: The summary's share of the first line; the rest is for the perfdata of the NICs at fault.
SUMMARY_BYTES = 600
ELLIPSIS = "..."


def _width(text: str) -> int:
    """Bytes ``text`` takes on stdout in any encoding the plugin may meet: its ASCII form with
    backslash escapes (what an ASCII locale writes, see cli.check._write) is never shorter
    than its UTF-8 or Latin-1 form."""
    return len(text.encode("ascii", "backslashreplace"))


def _fit(text: object, limit: int, keep_pipes: bool = False) -> str:
    """:func:`safe_text` of ``text``, cut at a character (never inside an escape) so that it
    takes at most ``limit`` bytes, with ``...`` where it was cut."""
    whole = safe_text(text, keep_pipes=keep_pipes)
    if _width(whole) <= limit:
        return whole
    out: List[str] = []
    used = _width(ELLIPSIS)
    for char in str(text):
        piece = safe_text(char, keep_pipes=keep_pipes)
        if used + _width(piece) > limit:
            break
        out.append(piece)
        used += _width(piece)
    return "".join(out) + ELLIPSIS


def status_line(status: str, summary: str, perf: str = "", colour: bool = False, keep_pipes: bool = False,
                summary_bytes: int = FIRST_LINE_BYTES) -> str:
    """The plugin's first line, ``STATUS: summary | perfdata``, safe for any terminal and
    within :data:`FIRST_LINE_BYTES` without colour: the summary is cut at ``summary_bytes`` or
    where the line ends, and ``perf`` is left out if it does not fit after it
    (:func:`split_perfdata` chooses a ``perf`` that fits)."""
    word = status.upper()
    room = FIRST_LINE_BYTES - _width(word) - 2
    text = _fit(summary, min(summary_bytes, room), keep_pipes)
    if perf and _width(text) + 3 + _width(perf) > room:
        perf = ""
    if colour:
        word = f"\033[{_COLOURS.get(status, '0')}m{word}\033[0m"
    line = f"{word}: {text}"
    return f"{line} | {perf}" if perf else line


def split_perfdata(status: str, summary: str, groups: List[Tuple[str, str]], order: List[str],
                   keep_pipes: bool = False) -> Tuple[str, str]:
    """The perfdata of the first line and of the long output: whole NIC groups in ``order``
    (the NICs at fault first) while they fit in the first line after the summary (cut at
    :data:`SUMMARY_BYTES`), the rest for the long output's last line, so that a monitoring
    system reading the whole output (NRPE 3+) gets every value and NRPE 2 the first line whole."""
    by_nic = dict(groups)
    room = FIRST_LINE_BYTES - _width(status.upper()) - 2 - _width(_fit(summary, SUMMARY_BYTES, keep_pipes)) - 3
    first: List[str] = []
    rest: List[str] = []
    for nic in order + [n for n, _ in groups if n not in order]:
        values = by_nic.pop(nic, None)
        if not values:
            continue
        needed = _width(values) + (1 if first else 0)
        if not rest and needed <= room:
            first.append(values)
            room -= needed
        else:
            rest.append(values)
    return " ".join(first), " ".join(rest)


def render_text(
    report: Report,
    colour: bool = False,
    synthetic: Optional[Dict[str, Dict[str, int]]] = None,
    terminal: bool = False,
    verbose: int = 0,
) -> str:
    """A monitoring plugin's output: the verdict line (worst finding first, within
    :data:`FIRST_LINE_BYTES`) with the perfdata of the NICs at fault, one line per check (and
    its fix), the host, the NICs, the newest VF history (all of it and each check's evidence
    with ``verbose``), and last the perfdata that did not fit the first line, after a ``|``
    (Nagios' long-output perfdata). Every piece of host text goes through :func:`safe_text`;
    a ``|`` in text stays itself only for a ``terminal``: a monitoring system would read what
    follows it as perfdata."""

    def safe(text: object) -> str:
        return safe_text(text, keep_pipes=terminal)

    def paint(status: str, text: str) -> str:
        if not colour:
            return text
        return f"\033[{_COLOURS.get(status, '0')}m{text}\033[0m"

    status = str(report["status"])
    summary = str(report["summary"])
    first_perf, rest_perf = split_perfdata(status, summary, perfdata_by_nic(report, synthetic), nics_at_fault(report),
                                           terminal)
    lines = [status_line(status, summary, first_perf, colour, terminal, SUMMARY_BYTES)]
    checks = report["checks"]
    width = max([len(safe(c["id"])) for c in checks] or [0])
    for check in checks:
        check_status = str(check["status"])
        label = paint(check_status, f"{check_status.upper():<8}")
        lines.append(f"{label} {safe(check['id']):<{width}}  {safe(check['summary'])}")
        if check.get("remedy"):
            lines.append(f"{'':<8} {'':<{width}}  fix: {safe(check['remedy'])}")
        if verbose and check.get("evidence"):
            lines.append(f"{'':<8} {'':<{width}}  evidence: {safe(json.dumps(check['evidence'], sort_keys=True))}")
    host = report.get("host") or {}
    facts_line = ", ".join(
        f"{safe(k)}={safe(v)}" for k, v in host.items() if v not in (None, "")
    )
    if facts_line:
        lines.append(f"host: {facts_line}")
    for iface in report.get("interfaces") or []:
        vf = iface["vf"]
        vf_text = f"{vf['name']} ({vf['model'] or vf['vendor_id']}, {vf['pci_slot']})" if vf else "no VF"
        lines.append(safe(f"  {iface['name']}: {vf_text}, data path {iface['datapath']}"))
    if verbose and report.get("history_state"):
        lines.append(safe(f"history: {report['history_state']}"))
    lines.extend(safe(line) for line in _history_lines(report.get("history"), None if verbose else HISTORY_LINES))
    if rest_perf:
        lines.append(f"| {rest_perf}")
    return "\n".join(lines) + "\n"


def _history_lines(history: object, newest: Optional[int] = HISTORY_LINES) -> List[str]:
    """The newest VF events of the kernel log (all of them for ``newest`` None), oldest first,
    one line each (raw: the caller makes them safe)."""
    if not isinstance(history, list) or not history:
        return []
    shown = history[-newest:] if newest else history
    more = f", the newest {len(shown)} of {len(history)}" if len(history) > len(shown) else ""
    lines = [f"VF history (kernel log{more}):"]
    for entry in shown:
        if not isinstance(entry, dict):
            continue
        boot = entry.get("boot_s")
        stamp = f"[{boot:12.6f}]" if isinstance(boot, (int, float)) else "[" + " " * 12 + "]"
        parts = [entry.get("time"), entry.get("device"), entry.get("event"), entry.get("vf"), entry.get("slot")]
        words = " ".join(str(p) for p in parts if p not in (None, ""))
        text = entry.get("text")
        line = f"  {stamp} {words}" + (f": {text}" if text and not words else "")
        lines.append(line)
    return lines


def unknown_report(message: str) -> Report:
    """The report of a run that could not diagnose at all (bad arguments, an unreadable
    snapshot, a timeout): status unknown, every check id present and unknown."""
    return {
        "schema": SCHEMA,
        "status": UNKNOWN,
        "summary": message,
        "host": {"azure": None, "vm_size": None, "os_id": None, "os_version": None, "kernel": None},
        "checks": [
            {"id": check_id, "status": UNKNOWN, "summary": f"not checked: {message}", "evidence": {}, "remedy": None}
            for check_id in CHECK_IDS
        ],
        "interfaces": [],
    }


def exit_code(report: Report) -> int:
    return SEVERITY.get(str(report["status"]), 3)
