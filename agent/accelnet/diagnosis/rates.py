"""Traffic per second on each path of a synthetic NIC, between two readings (accelnet-check
--watch). Pure: readings in, rates out.

hv_netvsc's counters say it all: ``vf_*`` is what went through the VF, the per-queue
counters what took the synthetic path, ``vf_tx_dropped`` what the VF path dropped, and which
of them grew is the data path (counters.py). A synthetic NIC that keeps no such counters (a
stand-in master in tests, a driver without ethtool stats) still shows its VF's traffic from
the VF interface's own statistics, and says so (``source``).
"""

from typing import Dict, Mapping, Optional

from accelnet.diagnosis import counters
from accelnet.records import dataclass

NETVSC, VF_LINK = "hv_netvsc counters", "VF interface statistics"
NO_VF = "no VF"


@dataclass(frozen=True)
class Reading:
    """One reading of a synthetic NIC: its ethtool stats and its VF's link statistics."""

    nic: str
    vf: Optional[str]
    monotonic: float
    netvsc: Optional[Mapping[str, int]] = None
    vf_link: Optional[Mapping[str, int]] = None


@dataclass(frozen=True)
class Path:
    """Packets and bytes per second, received and sent (None: not known)."""

    rx_pps: Optional[float] = None
    rx_bps: Optional[float] = None  # bytes per second
    tx_pps: Optional[float] = None
    tx_bps: Optional[float] = None


@dataclass(frozen=True)
class NicRates:
    nic: str
    vf: Optional[str]
    datapath: str  # vf, synthetic, idle, unknown, or "no VF"
    vf_path: Path
    synthetic: Path
    drops: Optional[float]  # per second, on the VF path
    source: Optional[str]  # where the numbers come from (NETVSC, VF_LINK), None: nowhere
    seconds: float


def _per_second(before: Mapping[str, int], after: Mapping[str, int], names: Dict[str, str],
                seconds: float) -> Path:
    values = {}
    for field, name in names.items():
        if name in before and name in after:
            values[field] = counters.growth(before[name], after[name]) / seconds
    return Path(**values)


def rates(before: Reading, after: Reading) -> NicRates:
    """What flowed between the two readings of one NIC."""
    seconds = after.monotonic - before.monotonic
    empty = Path()
    if seconds <= 0:
        path = NO_VF if after.vf is None else counters.DATAPATH_UNKNOWN
        return NicRates(after.nic, after.vf, path, empty, empty, None, None, 0.0)
    if before.netvsc is not None and after.netvsc is not None:
        vf_path = _per_second(before.netvsc, after.netvsc,
                              {"rx_pps": "vf_rx_packets", "rx_bps": "vf_rx_bytes",
                               "tx_pps": "vf_tx_packets", "tx_bps": "vf_tx_bytes"}, seconds)
        synthetic = _per_second(counters.synthetic_totals(before.netvsc), counters.synthetic_totals(after.netvsc),
                                {"rx_pps": "rx_packets", "rx_bps": "rx_bytes",
                                 "tx_pps": "tx_packets", "tx_bps": "tx_bytes"}, seconds)
        dropped = _per_second(before.netvsc, after.netvsc, {"tx_pps": "vf_tx_dropped"}, seconds).tx_pps
        path = counters.classify_datapath(before.netvsc, after.netvsc)
        if after.vf is None and path in (counters.DATAPATH_IDLE, counters.DATAPATH_UNKNOWN):
            path = NO_VF
        return NicRates(after.nic, after.vf, path, vf_path, synthetic, dropped, NETVSC, seconds)
    if after.vf is not None and before.vf == after.vf and before.vf_link is not None and after.vf_link is not None:
        vf_path = _per_second(before.vf_link, after.vf_link,
                              {"rx_pps": "rx_packets", "rx_bps": "rx_bytes",
                               "tx_pps": "tx_packets", "tx_bps": "tx_bytes"}, seconds)
        lost = [_per_second(before.vf_link, after.vf_link, {"rx_pps": n}, seconds).rx_pps
                for n in ("rx_dropped", "tx_dropped")]
        dropped = sum(x for x in lost if x is not None) if any(x is not None for x in lost) else None
        moved = (vf_path.rx_pps or 0) + (vf_path.tx_pps or 0)
        path = counters.DATAPATH_VF if moved > 0 else counters.DATAPATH_UNKNOWN  # the synthetic side unseen
        return NicRates(after.nic, after.vf, path, vf_path, empty, dropped, VF_LINK, seconds)
    path = NO_VF if after.vf is None else counters.DATAPATH_UNKNOWN
    return NicRates(after.nic, after.vf, path, empty, empty, None, None, seconds)
