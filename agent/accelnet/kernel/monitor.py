"""What the agent asks of an event monitor, whichever it is (rtnetlink's VfMonitor, the udev
one): start it, stop it, whether it runs and why it stopped, what it has counted, and what
it hands the monitor started after it died, so that nothing it counted is lost."""

from typing import TYPE_CHECKING, Dict, Optional, Tuple

from accelnet.compat import Protocol
from accelnet.records import dataclass, field

if TYPE_CHECKING:
    from accelnet.kernel.netlink import Link

#: (synthetic NIC, "added" or "removed") -> VF events counted
VfEventCounts = Dict[Tuple[str, str], int]


@dataclass(frozen=True)
class Handover:
    """What a stopped monitor leaves its successor."""

    #: the VF events it counted (they carry over into the successor's totals)
    vf_events: VfEventCounts = field(default_factory=dict)
    #: how often it had to resynchronise (events the kernel dropped)
    resyncs: int = 0
    #: rtnetlink: every link it knew, which the successor's first dump is compared with, so
    #: the VFs that came and went while no monitor ran are counted too
    links: "Dict[int, Link]" = field(default_factory=dict)


class EventMonitor(Protocol):
    #: why the monitor's thread stopped (None while it runs, or when stopped on purpose)
    error: Optional[BaseException]

    @property
    def running(self) -> bool:
        """Whether its thread is alive."""

    @property
    def vf_events(self) -> VfEventCounts:
        """VF events counted since it started (a copy)."""

    @property
    def resyncs(self) -> int:
        """Resynchronisations since it started."""

    def start(self, previous: Optional[Handover] = None) -> None:
        """Start listening; ``previous`` is what a dead predecessor handed over."""

    def stop(self) -> None:
        """Stop listening (well within a second)."""

    def handover(self) -> Handover:
        """What a successor needs from this monitor."""
