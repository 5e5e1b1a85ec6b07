"""PCI- and net-level device events from the kernel's uevents (pyudev), as a second witness.

Why alongside the rtnetlink monitor: when Azure services the host, the VF's PCI function is
hot-removed and re-added (``VF slot N removed|added``), and its driver unbinds and binds;
rtnetlink only sees the resulting network interface. Those PCI-level steps tell "the host
took the VF away" from "the driver failed to bind it". They are counted here under their own
(subsystem, action) keys and are never turned into VfEvents: rtnetlink stays the only source
of VF added/removed, so nothing is counted twice.

Source: with udevd running (``/run/udev/control``) the ``udev`` source adds the rule-set
properties; without it, the ``kernel`` source (root) still receives the kernel's own uevents.
Net-device uevents are delivered in the network namespace of the device, so the monitor
follows the namespace of the thread that calls ``start()``.
"""

import logging
import os
import select
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple

from accelnet.kernel.monitor import Handover, VfEventCounts
from accelnet.kernel.wakeup import WakePipe
from accelnet.records import dataclass

log = logging.getLogger(__name__)

SUBSYSTEMS = ("pci", "net")
ACTIONS = frozenset({"add", "remove", "bind", "unbind", "move"})
_HISTORY = 1024


@dataclass(frozen=True)
class UdevEvent:
    subsystem: str
    action: str
    name: str  # PCI slot ("1a65:00:02.0") or interface name
    devpath: str
    driver: Optional[str]
    pci_id: Optional[str]  # "15B3:1018" as the kernel writes PCI_ID
    ifindex: Optional[int]
    monotonic: float


def event_from_properties(props: Mapping[str, str], monotonic: float) -> Optional[UdevEvent]:
    """A uevent's properties as an UdevEvent; None for subsystems/actions we do not follow."""
    subsystem = props.get("SUBSYSTEM", "")
    action = props.get("ACTION", "")
    if subsystem not in SUBSYSTEMS or action not in ACTIONS:
        return None
    devpath = props.get("DEVPATH", "")
    if subsystem == "net":
        name = props.get("INTERFACE") or devpath.rsplit("/", 1)[-1]
    else:
        name = props.get("PCI_SLOT_NAME") or devpath.rsplit("/", 1)[-1]
    ifindex_text = props.get("IFINDEX", "")
    return UdevEvent(
        subsystem=subsystem,
        action=action,
        name=name,
        devpath=devpath,
        driver=props.get("DRIVER") or None,
        pci_id=props.get("PCI_ID") or None,
        ifindex=int(ifindex_text) if ifindex_text.isdigit() else None,
        monotonic=monotonic,
    )


def default_source() -> str:
    return "udev" if os.path.exists("/run/udev/control") else "kernel"


class UdevMonitor:
    """Background uevent listener for the ``pci`` and ``net`` subsystems."""

    def __init__(self, on_event: Optional[Callable[[UdevEvent], None]] = None,
                 source: Optional[str] = None) -> None:
        self.on_event = on_event
        self.source = source or default_source()
        self._lock = threading.Lock()
        self._counts: Dict[Tuple[str, str], int] = {}
        self._history: Deque[UdevEvent] = deque(maxlen=_HISTORY)
        self._monitor: Any = None
        self._thread: Optional[threading.Thread] = None
        self._wake: Optional[WakePipe] = None
        self._stopping = False
        self.error: Optional[BaseException] = None

    def start(self, previous: Optional[Handover] = None) -> None:
        """Open the uevent socket in the caller's namespace and listen in a thread.

        Raises OSError/ImportError where uevents cannot be received (no pyudev, no libudev,
        not root for the kernel source): callers treat that as "udev events unavailable".
        ``previous`` (a dead predecessor's handover) holds nothing a udev monitor resumes.
        """
        import pyudev

        context = pyudev.Context()
        monitor = pyudev.Monitor.from_netlink(context, source=self.source)
        for subsystem in SUBSYSTEMS:
            monitor.filter_by(subsystem)
        monitor.start()
        self._monitor = monitor
        self._stopping = False
        self._wake = WakePipe()
        self._thread = threading.Thread(target=self._run, name="accelnet-udev-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.wake()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None
        if self._wake is not None:
            self._wake.close()
            self._wake = None
        self._monitor = None  # pyudev closes the socket when the monitor is collected

    def __enter__(self) -> "UdevMonitor":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def counts(self) -> Dict[Tuple[str, str], int]:
        """(subsystem, action) -> events since start (a copy)."""
        with self._lock:
            return dict(self._counts)

    def history(self) -> List[UdevEvent]:
        with self._lock:
            return list(self._history)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- what the agent asks of every event monitor (kernel/monitor.py) ----------------
    @property
    def vf_events(self) -> VfEventCounts:
        """None: udev sees PCI functions come and go, not which synthetic NIC lost a VF."""
        return {}

    @property
    def resyncs(self) -> int:
        return 0

    def handover(self) -> Handover:
        return Handover()

    def _run(self) -> None:
        monitor = self._monitor
        wake = self._wake
        assert wake is not None
        try:
            while not self._stopping:
                ready, _w, _x = select.select([monitor.fileno(), wake.fd], [], [])
                if wake.fd in ready or self._stopping:
                    return
                device = monitor.poll(timeout=0)
                if device is None:
                    continue
                event = event_from_properties(dict(device.properties), time.monotonic())
                if event is None:
                    continue
                with self._lock:
                    key = (event.subsystem, event.action)
                    self._counts[key] = self._counts.get(key, 0) + 1
                    self._history.append(event)
                if self.on_event is not None:
                    try:
                        self.on_event(event)
                    except Exception:
                        log.exception("udev on_event callback failed for %s", event)
        except BaseException as exc:  # surfaced through .error / .running
            self.error = exc
            log.error("udev monitor stopped: %s", exc)
