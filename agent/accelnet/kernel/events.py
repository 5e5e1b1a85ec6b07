"""VF events from rtnetlink: every VF removal and return, as it happens.

A link is *synthetic* when its driver (ethtool GDRVINFO, cached per ifindex) is one of
``synthetic_drivers``; a *VF* is any link whose IFLA_MASTER is a synthetic link. Events are
derived from state, not from message types: for each link the monitor keeps its last known
Link and compares the synthetic master before and after each message, so a rename is only a
rename, a bridge's AF_BRIDGE "DELLINK" of a port is ignored, and replaying a state we already
hold is a no-op.

ENOBUFS (the kernel dropped events because our receive queue was full): the socket is closed,
a new one subscribed, and a link dump requested *on that same socket*. Dump replies and
multicast events then arrive in the one order the kernel queued them, so each message is
applied in true order against the state before it; links the dump and the events never
mention again were deleted in the blind window and count as removed. Limit, by construction:
a change that is undone within the blind window (between the overflow and the new socket's
subscription) on the same ifindex leaves no trace in any state and cannot be counted; a link
created and deleted within it is likewise invisible. Deletion and creation of a VF (what
Azure does) always gives a new ifindex, so a VF that lived across a dump is never missed.

The monitor watches the network namespace of the thread that calls ``start()``.
"""

import errno
import logging
import select
import threading
import time
from collections import deque
from typing import Callable, Deque, Dict, Iterable, List, Optional, Set, Tuple

from accelnet.kernel.ethtool import EthtoolError, EthtoolReader, NoSuchInterface, Unsupported
from accelnet.kernel.monitor import Handover, VfEventCounts
from accelnet.kernel.netlink import RTMGRP_LINK, Link, RtnlParseError, RtnlSocket
from accelnet.kernel.wakeup import WakePipe
from accelnet.parsers import rtnl
from accelnet.records import dataclass

log = logging.getLogger(__name__)

ADDED = "added"
REMOVED = "removed"
_HISTORY = 4096


@dataclass(frozen=True)
class VfEvent:
    synthetic: str
    vf: str
    kind: str  # "added" | "removed"
    monotonic: float
    ifindex: int


class VfMonitor:
    def __init__(self, synthetic_drivers: Iterable[str] = ("hv_netvsc",),
                 on_event: Optional[Callable[[VfEvent], None]] = None,
                 rcvbuf: Optional[int] = None) -> None:
        self.synthetic_drivers = frozenset(synthetic_drivers)
        self.on_event = on_event
        self.rcvbuf = rcvbuf
        self._lock = threading.Lock()
        self._links: Dict[int, Link] = {}
        self._drivers: Dict[int, Optional[str]] = {}
        self._counts: Dict[Tuple[str, str], int] = {}
        self._history: Deque[VfEvent] = deque(maxlen=_HISTORY)
        self._enobufs = 0
        self._sock: Optional[RtnlSocket] = None
        self._reader: Optional[EthtoolReader] = None
        self._thread: Optional[threading.Thread] = None
        self._wake: Optional[WakePipe] = None
        self._stopping = False
        self._pending: List[VfEvent] = []
        self.error: Optional[BaseException] = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self, previous: Optional[Handover] = None) -> None:
        """Subscribe, dump the current links (no events for what already exists), then
        follow events in a background thread (which inherits the caller's namespace).

        ``previous``: what a monitor that died handed over; the dump is then compared with
        the links it knew, as after ENOBUFS, so the VFs that came and went while no monitor
        ran are counted."""
        if self._thread is not None:
            raise RuntimeError("VfMonitor already started")
        self._reader = EthtoolReader()
        self._stopping = False
        self._wake = WakePipe()
        known = previous.links if previous is not None else {}
        if known:
            with self._lock:
                self._links = dict(known)
        try:
            self._sync(initial=not known)
        except BaseException:
            self._close_fds()
            raise
        self._thread = threading.Thread(target=self._run, name="accelnet-vf-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Wake the thread and join it (well within a second)."""
        self._stopping = True
        if self._wake is not None:
            self._wake.wake()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None
        self._close_fds()

    def __enter__(self) -> "VfMonitor":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- snapshots (thread-safe) ----------------------------------------------------
    @property
    def counts(self) -> Dict[Tuple[str, str], int]:
        """(synthetic, kind) -> events seen since start (a copy)."""
        with self._lock:
            return dict(self._counts)

    @property
    def enobufs(self) -> int:
        """How many times the kernel reported dropped events (each one a resync)."""
        with self._lock:
            return self._enobufs

    # -- what the agent asks of every event monitor (kernel/monitor.py) ----------------
    @property
    def vf_events(self) -> VfEventCounts:
        return self.counts

    @property
    def resyncs(self) -> int:
        return self.enobufs

    def handover(self) -> Handover:
        with self._lock:
            return Handover(dict(self._counts), self._enobufs, dict(self._links))

    def history(self) -> List[VfEvent]:
        """The most recent events, oldest first (bounded)."""
        with self._lock:
            return list(self._history)

    def links(self) -> Dict[int, Link]:
        """The monitor's view of every link, keyed by ifindex."""
        with self._lock:
            return dict(self._links)

    def pairs(self) -> Dict[str, Optional[str]]:
        """Synthetic name -> current VF name, or None while it has no VF."""
        with self._lock:
            out: Dict[str, Optional[str]] = {
                link.name: None for idx, link in self._links.items() if self._is_synthetic(idx)
            }
            for link in sorted(self._links.values(), key=lambda l: l.index):
                syn = self._synthetic_master(link)
                if syn is not None and out.get(self._links[syn].name) is None:
                    out[self._links[syn].name] = link.name
            return out

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- synthetic / VF classification (lock held) -----------------------------------
    def _is_synthetic(self, ifindex: int) -> bool:
        if ifindex not in self._drivers:
            link = self._links.get(ifindex)
            if link is None or self._reader is None:
                return False
            try:
                try:
                    info = self._reader.driver_info(link.name)
                except NoSuchInterface:
                    # renamed since the message we hold: ask by index for today's name
                    info = self._reader.driver_info(self._reader.ifname(ifindex))
                self._drivers[ifindex] = info.driver
            except Unsupported:
                self._drivers[ifindex] = None
            except NoSuchInterface:
                return False  # gone; do not cache
            except EthtoolError as exc:
                log.debug("driver of %s unknown for now: %s", link.name, exc)
                return False
        return self._drivers[ifindex] in self.synthetic_drivers

    def _synthetic_master(self, link: Optional[Link]) -> Optional[int]:
        if link is None or link.master is None or link.master not in self._links:
            return None
        return link.master if self._is_synthetic(link.master) else None

    # -- state transitions (lock held) -----------------------------------------------
    def _apply(self, index: int, new: Optional[Link], emit: bool = True) -> None:
        old = self._links.get(index)
        before = self._synthetic_master(old)
        before_name = self._links[before].name if before is not None else None
        if new is None:
            self._links.pop(index, None)
        else:
            self._links[index] = new
        after = self._synthetic_master(new)
        if emit and before != after:
            now = time.monotonic()
            if before is not None and old is not None:
                self._record(VfEvent(before_name or "", old.name, REMOVED, now, index))
            if after is not None and new is not None:
                self._record(VfEvent(self._links[after].name, new.name, ADDED, now, index))
        if new is None:
            self._drivers.pop(index, None)

    def _record(self, event: VfEvent) -> None:
        key = (event.synthetic, event.kind)
        self._counts[key] = self._counts.get(key, 0) + 1
        self._history.append(event)
        self._pending.append(event)

    def _handle(self, msg: rtnl.NlMessage, emit: bool = True) -> Optional[int]:
        """Apply one RTM_NEWLINK/RTM_DELLINK; returns the ifindex it was about."""
        if msg.type not in (rtnl.RTM_NEWLINK, rtnl.RTM_DELLINK):
            return None
        try:
            if rtnl.link_family(msg.payload) != rtnl.AF_UNSPEC:
                return None
            link = rtnl.parse_link(msg.payload)
        except RtnlParseError as exc:  # one unreadable message must not stop the monitor
            log.warning("skipping an unreadable link message: %s", exc)
            return None
        self._apply(link.index, link if msg.type == rtnl.RTM_NEWLINK else None, emit)
        return link.index

    # -- socket work (monitor thread, or start()) ------------------------------------
    def _open(self) -> RtnlSocket:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._sock = RtnlSocket(groups=RTMGRP_LINK, rcvbuf=self.rcvbuf)
        return self._sock

    def _sync(self, initial: bool = False) -> None:
        """(Re)subscribe and dump on the same socket; see the module docstring.

        Restarts on ENOBUFS or an interrupted dump until one dump completes cleanly.
        """
        while not self._stopping:
            sock = self._open()
            seq = sock.request_link_dump()
            with self._lock:
                stale: Set[int] = set(self._links)
            seen: Set[int] = set()
            interrupted = False
            try:
                done = False
                while not done:
                    for msg in sock.recv_messages():
                        if msg.seq == seq and msg.type == rtnl.NLMSG_DONE:
                            done = True
                            continue
                        if msg.seq == seq and msg.type == rtnl.NLMSG_ERROR:
                            raise OSError(rtnl.error_code(msg.payload), "link dump refused")
                        interrupted |= bool(msg.seq == seq and msg.flags & rtnl.NLM_F_DUMP_INTR)
                        with self._lock:
                            index = self._handle(msg, emit=not initial)
                        if index is not None:
                            seen.add(index)
                    self._flush()
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                with self._lock:
                    self._enobufs += 1
                continue
            except RtnlParseError as exc:
                log.warning("unreadable rtnetlink datagram during resync, starting over: %s", exc)
                continue
            with self._lock:
                for index in stale - seen:
                    self._apply(index, None, emit=not initial)
            self._flush()
            if not interrupted:
                return

    def _flush(self) -> None:
        """Deliver recorded events to on_event, outside the lock."""
        with self._lock:
            pending, self._pending = self._pending, []
        if self.on_event is None:
            return
        for event in pending:
            try:
                self.on_event(event)
            except Exception:  # a broken callback must not stop the monitor
                log.exception("on_event callback failed for %s", event)

    def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        try:
            while not self._stopping:
                sock = self._sock
                assert sock is not None
                ready, _w, _x = select.select([sock, wake.fd], [], [])
                if wake.fd in ready or self._stopping:
                    return
                try:
                    messages = sock.recv_messages()
                except OSError as exc:
                    if exc.errno != errno.ENOBUFS:
                        raise
                    with self._lock:
                        self._enobufs += 1
                    self._sync()
                    continue
                except RtnlParseError as exc:
                    # what the datagram said is lost, exactly as with ENOBUFS: resync
                    log.warning("unreadable rtnetlink datagram, resynchronising: %s", exc)
                    self._sync()
                    continue
                with self._lock:
                    for msg in messages:
                        self._handle(msg)
                self._flush()
        except BaseException as exc:  # surfaced through .error / .running
            self.error = exc
            log.error("VF monitor stopped: %s", exc)

    def _close_fds(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._wake is not None:
            self._wake.close()
            self._wake = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
