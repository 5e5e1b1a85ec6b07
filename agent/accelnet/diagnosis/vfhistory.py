"""A VF's history on one host: what the kernel log and the vf_* counters say happened.

Pure functions of :class:`~accelnet.diagnosis.facts.Facts` (its ``history`` is the parsed kernel log,
kernellog.py): the report's ``history`` rows with wall-clock times, the evidence that a VF
worked and was taken away, a VF removed again and again, and hv_netvsc's last word on the
data path.
"""

from typing import Dict, List, Optional

from accelnet.diagnosis import counters
from accelnet.diagnosis.facts import Facts, rfc3339
from accelnet.parsers import kernellog
from accelnet.readers.netdev import Pairing


def removal_evidence(facts: Facts, pairing: Pairing) -> Optional[Dict[str, object]]:
    """Evidence that a synthetic NIC without a VF had one that worked and was taken away, or
    None. hv_netvsc's vf_* counters only ever count traffic that went through a VF since the
    NIC came up, and the kernel log keeps the VF's removal: either proves it."""
    if pairing.vf is not None or pairing.vf_pci is not None or facts.interfaces_source != "sysfs":
        return None  # without /sys, no VF interface proves nothing
    name = pairing.synthetic.name
    samples = facts.samples.get(name) or []
    first = next((s.stats for s in samples if s.stats is not None), None)
    vf_now = counters.vf_counters(first) if first else {}
    packets = vf_now.get("vf_rx_packets", 0) + vf_now.get("vf_tx_packets", 0)
    events = [e for e in facts.history if e.device == name]
    removals = (kernellog.VF_SLOT_REMOVED, kernellog.VF_UNREGISTERED)
    last = next((e for e in reversed(events) if e.event in removals + (kernellog.VF_SLOT_ADDED, kernellog.VF_REGISTERED)), None)
    removed_in_log = last is not None and last.event in removals
    if packets <= 0 and not removed_in_log:
        return None
    evidence: Dict[str, object] = {"interface": name, "counters": vf_now}
    if events:
        evidence["kernel_log"] = [history_row(facts, e) for e in events[-4:]]
    return evidence


def history_row(facts: Facts, event: kernellog.KernelEvent) -> Dict[str, object]:
    """A kernel-log event as the report shows it: boot-relative and wall-clock time."""
    boot = facts.boot_epoch
    return {
        "boot_s": event.boot_s,
        "time": rfc3339(boot + event.boot_s) if boot is not None else None,
        "event": event.event,
        "device": event.device,
        "vf": event.vf,
        "slot": event.slot,
        "text": event.text,
    }


def history_rows(facts: Facts) -> List[Dict[str, object]]:
    return [history_row(facts, e) for e in facts.history]


#: VF removals since boot from which a NIC's VF counts as flapping. Host servicing takes the
#: VF away now and then (a few times a month); several times in one boot is not that.
FLAP_REMOVALS = 3


def frequent_removals(facts: Facts) -> Dict[str, List[Dict[str, object]]]:
    """Synthetic NICs with a VF now whose kernel log shows it removed FLAP_REMOVALS+ times."""
    result = {}
    for p in facts.pairings:
        if p.vf is None and p.vf_pci is None:
            continue
        removals = [history_row(facts, e) for e in facts.history
                    if e.device == p.synthetic.name and e.event == kernellog.VF_UNREGISTERED]
        if len(removals) >= FLAP_REMOVALS:
            result[p.synthetic.name] = removals
    return result


def logged_switch(facts: Facts, pairing: Pairing) -> Optional[kernellog.KernelEvent]:
    """hv_netvsc's own word on the current path: its last 'Data path switched to/from VF'
    for this NIC, naming the VF it has now (None without such a line)."""
    if pairing.vf is None:
        return None
    for event in reversed(facts.history):
        if event.device == pairing.synthetic.name and event.event in (kernellog.DATAPATH_VF, kernellog.DATAPATH_SYNTHETIC):
            return event if event.vf == pairing.vf.name else None
    return None
