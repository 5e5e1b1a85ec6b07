"""The report of a diagnosis: the JSON document of CONTRACT.md and its human rendering."""

import os
from typing import Dict, List, Optional, TextIO

from . import __version__, counters
from .checks import CRITICAL, OK, SEVERITY, SKIPPED, UNKNOWN, WARNING, Finding, interface_datapath, overall_status
from .facts import Facts
from .netdev import Pairing
from .vfhistory import history_rows

SCHEMA = 1


def _host_section(facts: Facts) -> Dict[str, object]:
    osr = facts.os_release
    return {
        "azure": bool(facts.is_azure),
        "vm_size": getattr(facts.imds, "vm_size", None),
        "os_id": getattr(osr, "id", None),
        "os_version": getattr(osr, "version_id", None),
        "kernel": facts.kernel,
        "hostname": facts.hostname,
        "vm_id": getattr(facts.imds, "vm_id", None),
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
        azure = next(f for f in findings if f.id == "platform.azure")
        if facts.is_azure is None:
            return f"{azure.summary[0].upper()}{azure.summary[1:]}; Accelerated Networking only exists on Azure VMs."
        text = azure.summary[0].upper() + azure.summary[1:]
        return f"{text}; Accelerated Networking only exists on Azure VMs."
    bad = [f for f in findings if f.status in (CRITICAL, WARNING)]
    if status == OK:
        names = [
            f"{p.synthetic.name} via {p.vf.name if p.vf is not None else 'its VF'}"
            for p in facts.pairings
            if p.vf is not None or interface_datapath(facts, p) == counters.DATAPATH_VF
        ]
        owned = [
            f"{p.synthetic.name}'s VF {p.vf_pci.slot} is owned by user space ({p.vf_pci.driver})"
            for p in facts.pairings
            if p.vf is None and p.vf_pci is not None
        ]
        if not names and owned:
            return f"Accelerated Networking is enabled: {'; '.join(owned)}."
        return f"Accelerated Networking is working: {', '.join(names + owned)}."
    if bad:
        worst = max(bad, key=lambda f: (f.status == CRITICAL, -findings.index(f)))
        more = f" (and {len(bad) - 1} more finding{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
        return f"{worst.id}: {worst.summary}{more}."
    unknown = [f.id for f in findings if f.status == UNKNOWN]
    return f"Could not determine {', '.join(unknown)}."


def build_report(facts: Facts, findings: List[Finding]) -> Dict[str, object]:
    status = overall_status(facts, findings)
    return {
        "schema": SCHEMA,
        "status": status,
        "summary": summary_sentence(facts, status, findings),
        "host": _host_section(facts),
        "checks": [f.as_dict() for f in findings],
        "interfaces": [_interface(facts, p) for p in facts.pairings],
        "history": history_rows(facts),
        "history_state": facts.history_state,
    }


_COLOURS = {OK: "32", WARNING: "33", CRITICAL: "31", UNKNOWN: "35", SKIPPED: "2"}


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render_text(report: Dict[str, object], colour: bool = False) -> str:
    def paint(status: str, text: str) -> str:
        if not colour:
            return text
        return f"\033[{_COLOURS.get(status, '0')}m{text}\033[0m"

    checks = report["checks"]
    width = max(len(c["id"]) for c in checks)  # type: ignore[union-attr, index]
    lines = []
    for check in checks:  # type: ignore[union-attr]
        status = check["status"]
        label = paint(status, f"{status.upper():<8}")
        lines.append(f"{label} {check['id']:<{width}}  {check['summary']}")
        if check.get("remedy"):
            lines.append(f"{'':<8} {'':<{width}}  fix: {check['remedy']}")
    host = report["host"]
    facts_line = ", ".join(
        f"{k}={v}" for k, v in host.items() if v not in (None, "")  # type: ignore[union-attr]
    )
    status = str(report["status"])
    lines.append("")
    lines.append(f"host: {facts_line}")
    for iface in report["interfaces"]:  # type: ignore[union-attr]
        vf = iface["vf"]
        vf_text = f"{vf['name']} ({vf['model'] or vf['vendor_id']}, {vf['pci_slot']})" if vf else "no VF"
        lines.append(f"  {iface['name']}: {vf_text}, data path {iface['datapath']}")
    lines.append(paint(status, f"{status.upper()}: {report['summary']}"))
    return "\n".join(lines) + "\n"


def exit_code(report: Dict[str, object]) -> int:
    return SEVERITY.get(str(report["status"]), 3)

