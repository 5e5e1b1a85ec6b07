"""The agent's live sources (IMDS, lspci, the kernel log, ``ethtool -i/-P``), each given no
more than what is left of its refresh's deadline.

A refresh feeds the systemd watchdog; a source that hangs (an IMDS that drips a byte a
second, a stuck command, a DNS lookup for ``--imds-url``) must not hang the refresh with it,
or systemd restarts an agent that works. So each capture runs off the refresh's thread and
is waited for only until the refresh's deadline: one still running then reads as missing
for this refresh (CaptureUnavailable, with the reason), and is named in ``late`` (the exporter reports its
collector's ``accelnet_scrape_collector_success`` as 0). It is not started again while it
runs; the refresh after it ends takes its answer.
"""

import threading
import time
from typing import Callable, Dict, Optional, Set

from accelnet.readers.host import CaptureUnavailable

#: A source asked after the deadline passed (the refresh waited for a hung one before it)
#: still gets this long to answer, as long as the refresh stays within LATE_GRACE_S of its
#: deadline: one hung source must not make every quick one after it late.
ASK_GRACE_S = 0.5
LATE_GRACE_S = 5.0
#: Which part of a scrape (``accelnet_scrape_collector_success{collector}``) a late source
#: leaves incomplete; every capture not named here feeds discovery.
SOURCE_COLLECTORS = {"imds": "imds", "dmesg": "events"}


def collector_of(source: str) -> str:
    return SOURCE_COLLECTORS.get(source, "discovery")


class _Job:
    """One capture running in its own thread."""

    def __init__(self, fetch: Callable[[str], Optional[str]], name: str) -> None:
        self.done = threading.Event()
        self.result: Optional[str] = None
        self.error: Optional[Exception] = None
        thread = threading.Thread(target=self._run, args=(fetch, name), name=f"accelnet-source-{name}",
                                  daemon=True)
        thread.start()

    def _run(self, fetch: Callable[[str], Optional[str]], name: str) -> None:
        try:
            self.result = fetch(name)
        except Exception as exc:  # noqa: BLE001 - handed to the refresh that waits for it
            self.error = exc
        finally:
            self.done.set()


class BoundedSources:
    """A capture function (what ``LiveCaptures`` is given) whose calls end by the current
    refresh's deadline (and, for those asked after it, within LATE_GRACE_S of it).

    ``begin()`` starts a refresh (its deadline ``deadline_s`` from now); ``late`` holds the
    sources that did not answer by it. A late source raises CaptureUnavailable with the
    reason, so it is missing with its reason as any capture is.
    """

    def __init__(self, fetch: Callable[[str], Optional[str]], deadline_s: float) -> None:
        self._fetch = fetch
        self.deadline_s = deadline_s
        self._deadline = time.monotonic() + deadline_s
        self._lock = threading.Lock()
        self._running: Dict[str, _Job] = {}
        self.late: Set[str] = set()

    def begin(self) -> None:
        self._deadline = time.monotonic() + self.deadline_s
        self.late = set()

    def __call__(self, name: str) -> Optional[str]:
        with self._lock:
            job = self._running.get(name)
            if job is None:
                job = self._running[name] = _Job(self._fetch, name)
        now = time.monotonic()
        grace = min(ASK_GRACE_S, self._deadline + LATE_GRACE_S - now)
        if not job.done.wait(max(0.0, self._deadline - now, grace)):
            self.late.add(name)
            raise CaptureUnavailable(f"no answer within the refresh's {self.deadline_s:g} s (still waiting)")
        with self._lock:
            if self._running.get(name) is job:
                del self._running[name]
        if job.error is not None:
            raise job.error
        return job.result

    def running(self) -> int:
        """Captures still running (hung ones included): at most one per source."""
        with self._lock:
            return sum(1 for job in self._running.values() if not job.done.is_set())
