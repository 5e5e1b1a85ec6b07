"""VF removals on several VMs within the same minutes: one platform event, not many faults.

Azure takes the VF away from a VM for host servicing (and network maintenance): every VM on
that host, or in that update domain, loses its VF within minutes, and the kernel log of each
says so. Seen per VM that is a warning each; seen across the fleet, removals that chain
together with no gap longer than ``GAP_S`` on at least ``MIN_VMS`` VMs are one event, and
the operator should look at the platform (Service Health, maintenance notifications), not at
each VM. Pure: removal times in, events out.
"""

from typing import Dict, List, Sequence, Tuple

#: Removals further apart than this start a new event.

from accelnet.records import dataclass
GAP_S = 180.0
#: VMs that must lose a VF together to call it a platform event.
MIN_VMS = 2


@dataclass(frozen=True)
class PlatformEvent:
    start: float
    end: float
    vms: Tuple[str, ...]  # sorted, each once
    removals: int


def platform_events(removals: Dict[str, Sequence[float]], gap: float = GAP_S,
                    min_vms: int = MIN_VMS) -> List[PlatformEvent]:
    """``removals``: VM -> epoch seconds of its VF removals. Events oldest first."""
    points = sorted((epoch, vm) for vm, times in removals.items() for epoch in times)
    events: List[PlatformEvent] = []
    cluster: List[Tuple[float, str]] = []
    for point in points + [(float("inf"), "")]:
        if cluster and point[0] - cluster[-1][0] > gap:
            vms = tuple(sorted({vm for _, vm in cluster}, key=str.lower))
            if len(vms) >= min_vms:
                events.append(PlatformEvent(cluster[0][0], cluster[-1][0], vms, len(cluster)))
            cluster = []
        cluster.append(point)
    return events
