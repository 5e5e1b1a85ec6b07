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
from accelnet.records import dataclass, field


@dataclass(frozen=True)
class LoggedEvent:
    """A kernel-log VF event as the report shows it: boot-relative and wall-clock time."""

    boot_s: float
    time: Optional[str]
    event: str
    device: Optional[str]
    vf: Optional[str]
    slot: Optional[int]
    text: str

    @property
    def when(self) -> str:
        """The wall-clock time, or the seconds after boot where the boot time is unknown."""
        return self.time or f"{self.boot_s:.0f} s after boot"

    def as_dict(self) -> Dict[str, object]:
        return {"boot_s": self.boot_s, "time": self.time, "event": self.event, "device": self.device,
                "vf": self.vf, "slot": self.slot, "text": self.text}


@dataclass(frozen=True)
class Removal:
    """Evidence that a synthetic NIC had a VF that worked and was taken away."""

    interface: str
    counters: Dict[str, int]
    #: the NIC's newest kernel-log events (at most four)
    kernel_log: List[LoggedEvent] = field(default_factory=list)

    @property
    def packets(self) -> int:
        """Packets the vf_* counters saw go through a VF since the NIC came up."""
        return self.counters.get("vf_rx_packets", 0) + self.counters.get("vf_tx_packets", 0)

    @property
    def last_removal(self) -> Optional[LoggedEvent]:
        return next((e for e in reversed(self.kernel_log) if e.event in _REMOVALS), None)

    def as_evidence(self) -> Dict[str, object]:
        evidence: Dict[str, object] = {"interface": self.interface, "counters": self.counters}
        if self.kernel_log:
            evidence["kernel_log"] = [e.as_dict() for e in self.kernel_log]
        return evidence


_REMOVALS = (kernellog.VF_SLOT_REMOVED, kernellog.VF_UNREGISTERED)


def removal_evidence(facts: Facts, pairing: Pairing) -> Optional[Removal]:
    """Evidence that a synthetic NIC without a VF had one that worked and was taken away, or
    None. hv_netvsc's vf_* counters only ever count traffic that went through a VF since the
    NIC came up, and the kernel log keeps the VF's removal: either proves it."""
    if pairing.vf is not None or pairing.vf_pci is not None or facts.captures_only:
        return None  # without /sys, no VF interface proves nothing
    name = pairing.synthetic.name
    samples = facts.samples.get(name) or []
    first = next((s.stats for s in samples if s.stats is not None), None)
    vf_now = counters.vf_counters(first) if first else {}
    events = [e for e in facts.history if e.device == name]
    removal = Removal(name, vf_now, [logged(facts, e) for e in events[-4:]])
    last = next((e for e in reversed(events) if e.event in _REMOVALS + (kernellog.VF_SLOT_ADDED, kernellog.VF_REGISTERED)), None)
    removed_in_log = last is not None and last.event in _REMOVALS
    if removal.packets <= 0 and not removed_in_log:
        return None
    return removal


def logged(facts: Facts, event: kernellog.KernelEvent) -> LoggedEvent:
    """A kernel-log event with its wall-clock time, where the boot time is known."""
    boot = facts.boot_epoch
    return LoggedEvent(event.boot_s, rfc3339(boot + event.boot_s) if boot is not None else None,
                       event.event, event.device, event.vf, event.slot, event.text)


def history_rows(facts: Facts) -> List[Dict[str, object]]:
    """The report's ``history``: every VF event of the kernel log, oldest first."""
    return [logged(facts, e).as_dict() for e in facts.history]


#: VF removals since boot from which a NIC's VF counts as flapping. Host servicing takes the
#: VF away now and then (a few times a month); several times in one boot is not that.
FLAP_REMOVALS = 3


def frequent_removals(facts: Facts) -> Dict[str, List[LoggedEvent]]:
    """Synthetic NICs with a VF now whose kernel log shows it removed FLAP_REMOVALS+ times."""
    result = {}
    for p in facts.pairings:
        if p.vf is None and p.vf_pci is None:
            continue
        removals = [logged(facts, e) for e in facts.history
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
