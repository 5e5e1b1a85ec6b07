"""What the hv_netvsc counters say: VF traffic, synthetic traffic, and the data path.

hv_netvsc keeps two sets on the synthetic NIC (drivers/net/hyperv/netvsc_drv.c): ``vf_*``,
the traffic that went through the VF, and ``tx_queue_N_*`` / ``rx_queue_N_*``, the traffic of
the VMBus channels, i.e. the synthetic path. Comparing two samples tells which path carries
traffic now. Pure functions: samples in, values out.
"""

import re
from typing import Dict, Mapping, Optional

VF_COUNTERS = ("vf_rx_packets", "vf_rx_bytes", "vf_tx_packets", "vf_tx_bytes", "vf_tx_dropped")
_QUEUE = re.compile(r"^(tx|rx)_queue_(\d+)_(packets|bytes)$")

DATAPATH_VF = "vf"
DATAPATH_SYNTHETIC = "synthetic"
DATAPATH_IDLE = "idle"
DATAPATH_UNKNOWN = "unknown"


def vf_counters(stats: Mapping[str, int]) -> Dict[str, int]:
    """The five vf_* counters that the driver reports (none where it has no VF support)."""
    return {name: stats[name] for name in VF_COUNTERS if name in stats}


def synthetic_totals(stats: Mapping[str, int]) -> Dict[str, int]:
    """Synthetic-path traffic: the per-channel queue counters summed (rx/tx packets/bytes)."""
    totals: Dict[str, int] = {}
    for name, value in stats.items():
        match = _QUEUE.match(name)
        if match:
            key = f"{match.group(1)}_{match.group(3)}"
            totals[key] = totals.get(key, 0) + value
    return totals


def growth(before: int, after: int) -> int:
    """Counter growth; a counter that went back was reset (driver reload), so count from 0."""
    return after - before if after >= before else after


def _grew(before: Mapping[str, int], after: Mapping[str, int], names) -> Optional[bool]:
    seen = [n for n in names if n in before and n in after]
    if not seen:
        return None
    return any(growth(before[n], after[n]) > 0 for n in seen)


def classify_datapath(
    before: Optional[Mapping[str, int]], after: Optional[Mapping[str, int]]
) -> str:
    """``vf`` when VF packets grew, ``synthetic`` when only the channels' packets grew (a
    fallback), ``idle`` when neither did, ``unknown`` without two comparable samples."""
    if before is None or after is None:
        return DATAPATH_UNKNOWN
    vf = _grew(before, after, ("vf_rx_packets", "vf_tx_packets"))
    syn = _grew(synthetic_totals(before), synthetic_totals(after), ("rx_packets", "tx_packets"))
    if vf:
        return DATAPATH_VF
    if syn:
        return DATAPATH_SYNTHETIC
    if vf is None and syn is None:
        return DATAPATH_UNKNOWN
    return DATAPATH_IDLE
