"""The agent's own process, Python and garbage-collector series, as prometheus_client's
``ProcessCollector``, ``PlatformCollector`` and ``GCCollector`` write them (same names, help
texts, labels and values; the tests compare the two), without importing prometheus_client
(metrics.py says why).

Like prometheus_client's, the process part reads ``/proc/self`` and leaves out what it
cannot read (no /proc: no process_* series at all).
"""

import gc
import os
import resource
import sys
from typing import Dict, Iterator, List, Optional

from accelnet.agent.metrics import CounterFamily, GaugeFamily, MetricFamily

#: sys.implementation.name as platform.python_implementation() spells it.
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython", "jython": "Jython"}


class ProcessCollector:
    """process_* of this process (``proc`` is where /proc is mounted)."""

    def __init__(self, proc: str = "/proc") -> None:
        self._proc = proc
        self._pid = os.path.join(proc, "self")
        self._ticks = float(os.sysconf("SC_CLK_TCK"))
        self._pagesize = resource.getpagesize()
        self._btime = self._boot_time()

    def _boot_time(self) -> float:
        try:
            with open(os.path.join(self._proc, "stat"), "rb") as stat:
                for line in stat:
                    if line.startswith(b"btime "):
                        return float(line.split()[1])
        except OSError:
            pass
        return 0.0

    def collect(self) -> List[MetricFamily]:
        if not self._btime:
            return []
        result: List[MetricFamily] = []
        try:
            with open(os.path.join(self._pid, "stat"), "rb") as stat:
                parts = stat.read().split(b")")[-1].split()
            result.extend([
                GaugeFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.", value=float(parts[20])),
                GaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes.",
                            value=float(parts[21]) * self._pagesize),
                GaugeFamily("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                            value=float(parts[19]) / self._ticks + self._btime),
                CounterFamily("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                              value=float(parts[11]) / self._ticks + float(parts[12]) / self._ticks),
            ])
        except OSError:
            pass
        try:
            max_fds: Optional[float] = None
            with open(os.path.join(self._pid, "limits"), "rb") as limits:
                for line in limits:
                    if line.startswith(b"Max open file"):
                        max_fds = float(line.split()[3])
                        break
            open_fds = len(os.listdir(os.path.join(self._pid, "fd")))
            if max_fds is not None:
                result.append(GaugeFamily("process_open_fds", "Number of open file descriptors.", value=open_fds))
                result.append(GaugeFamily("process_max_fds", "Maximum number of open file descriptors.", value=max_fds))
        except OSError:
            pass
        return result


def python_info() -> Dict[str, str]:
    """python_info's labels, as prometheus_client's PlatformCollector has them."""
    version = sys.version.split()[0]
    parts = version.split(".")
    if len(parts) == 2:
        parts.append("0")
    name = sys.implementation.name
    return {"version": version, "implementation": _IMPLEMENTATIONS.get(name, name),
            "major": parts[0], "minor": parts[1], "patchlevel": parts[2]}


class PlatformCollector:
    """python_info: the interpreter, value 1."""

    def __init__(self) -> None:
        info = python_info()
        family = GaugeFamily("python_info", "Python platform information", labels=list(info))
        family.add_metric(list(info.values()), 1)
        self._families: List[MetricFamily] = [family]

    def collect(self) -> List[MetricFamily]:
        return self._families


class GCCollector:
    """python_gc_*: the collector's counts per generation (CPython only)."""

    def collect(self) -> Iterator[MetricFamily]:
        if not hasattr(gc, "get_stats") or sys.implementation.name != "cpython":
            return
        collected = CounterFamily("python_gc_objects_collected", "Objects collected during gc", labels=["generation"])
        uncollectable = CounterFamily("python_gc_objects_uncollectable", "Uncollectable objects found during GC",
                                      labels=["generation"])
        collections = CounterFamily("python_gc_collections", "Number of times this generation was collected",
                                    labels=["generation"])
        for gen, stat in enumerate(gc.get_stats()):
            generation = str(gen)
            collected.add_metric([generation], stat["collected"])
            uncollectable.add_metric([generation], stat["uncollectable"])
            collections.add_metric([generation], stat["collections"])
        yield collected
        yield uncollectable
        yield collections
