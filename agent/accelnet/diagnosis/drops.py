"""Packets dropped on the VF path between two counter samples, and when that is a problem.

Three counters, none of which the others contain (so each is judged against the packets on
its own side of the drop):

* ``netvsc_tx``: hv_netvsc's ``vf_tx_dropped`` (netvsc_drv.c ``netvsc_vf_xmit``): packets
  netvsc handed to the VF whose ``dev_queue_xmit`` failed. Those are not in ``vf_tx_packets``,
  so the share is dropped / (vf_tx_packets + dropped).
* ``vf_tx``: what the VF's own driver dropped after accepting a packet (in ``vf_tx_packets``):
  share dropped / vf_tx_packets.
* ``vf_rx``: what the VF dropped on receive, before netvsc saw it (not in ``vf_rx_packets``):
  share dropped / (vf_rx_packets + dropped).

hv_netvsc has no ``vf_rx_dropped``: its VF stats are the five ``vf_*`` of CONTRACT.md. The VF's
own counters are read from its ``ethtool -S`` (VF_DRIVER_DROPS, by driver).

**The thresholds are this module's, and only this module's**: ``accelnet-check``'s
datapath.vf, the agent (through the same check) and the alerting rules
(packaging/prometheus/accelnet-alerts.rules.yml, group accelnet-vf-drops; a test holds the
numbers there equal to these) all follow WARNING_SHARE, CRITICAL_SHARE and MIN_RATE.
"""

from typing import Dict, List, Mapping, Optional, Tuple

from accelnet.diagnosis.counters import growth
from accelnet.diagnosis.status import CRITICAL, OK, WARNING
from accelnet.records import dataclass

#: Share of a counter's packets dropped from which datapath.vf warns: a TCP flow slows down
#: visibly from a fraction of a percent of loss.
WARNING_SHARE = 0.001
#: ... and is critical: from 1% loss, throughput collapses and retransmissions dominate.
CRITICAL_SHARE = 0.01
#: Below this many drops per second any share is noise (a few drops in a quiet sample).
MIN_RATE = 1.0

NETVSC_TX, VF_TX, VF_RX = "netvsc_tx", "vf_tx", "vf_rx"
COUNTERS = (NETVSC_TX, VF_TX, VF_RX)

#: The VF drivers' own drop counters in ``ethtool -S``, by the VF's PCI driver: names, or
#: prefixes ending in ``_``. mlx4_en: ``rx_dropped``/``tx_dropped`` (en_ethtool.c
#: main_strings); mlx5e: ``rx_out_of_buffer`` (the VF's queue counter: no receive buffer
#: posted), ``tx_queue_dropped`` (en_stats.c); mana: ``hc_rx_discards_no_wqe``,
#: ``hc_rx_err_vport_disabled`` and the ``hc_tx_err_*`` the hardware refused (mana_ethtool.c).
VF_DRIVER_DROPS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "mlx4_core": {"rx": ("rx_dropped",), "tx": ("tx_dropped",)},
    "mlx5_core": {"rx": ("rx_out_of_buffer",), "tx": ("tx_queue_dropped",)},
    "mana": {"rx": ("hc_rx_discards_no_wqe", "hc_rx_err_vport_disabled"), "tx": ("hc_tx_err_",)},
}

@dataclass
class DropRate:
    counter: str  # NETVSC_TX, VF_TX or VF_RX
    names: Tuple[str, ...]  # the ethtool stats summed
    dropped: int  # growth between the samples
    carried: int  # the packets the share is taken of (see the module docstring)
    seconds: float

    @property
    def per_second(self) -> float:
        return self.dropped / self.seconds if self.seconds > 0 else 0.0

    @property
    def share(self) -> float:
        return self.dropped / self.carried if self.carried > 0 else (1.0 if self.dropped else 0.0)

    @property
    def status(self) -> str:
        return drop_status(self.per_second, self.share)

    def as_evidence(self) -> Dict[str, object]:
        return {"counter": self.counter, "stats": list(self.names), "dropped": self.dropped,
                "carried": self.carried, "seconds": round(self.seconds, 3),
                "per_second": round(self.per_second, 3), "share": round(self.share, 6), "status": self.status}


def drop_status(per_second: float, share: float) -> str:
    """ok, warning or critical for a drop rate and share (the thresholds above)."""
    if per_second < MIN_RATE:
        return OK
    if share >= CRITICAL_SHARE:
        return CRITICAL
    if share >= WARNING_SHARE:
        return WARNING
    return OK


def driver_dropped(driver: Optional[str], stats: Mapping[str, int]) -> Dict[str, int]:
    """rx and tx: the sums of a VF driver's own drop counters (none for a driver we do not know,
    or whose counters this kernel does not print)."""
    sums: Dict[str, int] = {}
    for direction in ("rx", "tx"):
        names = _matching(driver, stats, direction)
        if names:
            sums[direction] = sum(stats[n] for n in names)
    return sums


def _matching(driver: Optional[str], stats: Mapping[str, int], direction: str) -> Tuple[str, ...]:
    """The stats of ``stats`` that are the driver's drop counters for ``direction``."""
    wanted = VF_DRIVER_DROPS.get(driver or "", {}).get(direction, ())
    return tuple(n for n in stats if n in wanted or any(w.endswith("_") and n.startswith(w) for w in wanted))


def drop_rates(
    syn_before: Mapping[str, int], syn_after: Mapping[str, int], seconds: float,
    vf_driver: Optional[str] = None,
    vf_before: Optional[Mapping[str, int]] = None, vf_after: Optional[Mapping[str, int]] = None,
) -> List[DropRate]:
    """Every drop counter that can be judged between two samples of a synthetic NIC (and of
    its VF interface, where sampled at the same times)."""
    def grew(before: Mapping[str, int], after: Mapping[str, int], name: str) -> Optional[int]:
        if name not in before or name not in after:
            return None
        return growth(before[name], after[name])

    rates: List[DropRate] = []
    tx_packets = grew(syn_before, syn_after, "vf_tx_packets")
    rx_packets = grew(syn_before, syn_after, "vf_rx_packets")
    netvsc = grew(syn_before, syn_after, "vf_tx_dropped")
    if netvsc is not None and tx_packets is not None:
        rates.append(DropRate(NETVSC_TX, ("vf_tx_dropped",), netvsc, tx_packets + netvsc, seconds))
    if vf_before is None or vf_after is None:
        return rates
    for direction, counter, packets in (("tx", VF_TX, tx_packets), ("rx", VF_RX, rx_packets)):
        names = _matching(vf_driver, vf_before, direction)
        if not names or packets is None or any(n not in vf_after for n in names):
            continue
        dropped = sum(growth(vf_before[n], vf_after[n]) for n in names)
        carried = packets if counter == VF_TX else packets + dropped
        rates.append(DropRate(counter, names, dropped, carried, seconds))
    return rates
