"""Where a scrape reads the counters: the live host's ethtool ioctls, or a snapshot's samples.

The agent picks one when it opens its host; a scrape only calls ``read``.
"""

import threading
import time
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

from accelnet.compat import Protocol
from accelnet.readers.host import CounterSample, Host, SampleState

if TYPE_CHECKING:
    from accelnet.kernel.ethtool import EthtoolReader


class CounterSource(Protocol):
    def read(self, names: Sequence[str]) -> Dict[str, CounterSample]:
        """One reading of each interface's counters (interfaces with none left out)."""

    def close(self) -> None:
        """Release what reading holds (a socket)."""


class LiveCounters:
    """One ethtool reader for every scrape: one socket, one cache of stat names."""

    def __init__(self) -> None:
        self._reader: Optional["EthtoolReader"] = None
        self._lock = threading.Lock()

    def read(self, names: Sequence[str]) -> Dict[str, CounterSample]:
        from accelnet.kernel.ethtool import EthtoolReader
        from accelnet.readers.live import failed_sample

        with self._lock:
            if self._reader is None:
                self._reader = EthtoolReader()
            stamp = time.monotonic()
            return {name: CounterSample(read, SampleState.OK, "", stamp) if isinstance(read, dict)
                    else failed_sample(read, stamp) for name, read in self._reader.stats_of(names).items()}

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


class RecordedCounters:
    """A snapshot's counters: its last sample of each interface (read once, then kept)."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._recorded: Dict[str, Optional[CounterSample]] = {}

    def read(self, names: Sequence[str]) -> Dict[str, CounterSample]:
        missing = [n for n in names if n not in self._recorded]
        if missing:
            for name, samples in self._host.sample_counters(missing, 0).items():
                self._recorded[name] = samples[-1] if samples else None
        found: Dict[str, CounterSample] = {}
        for name in names:
            sample = self._recorded.get(name)
            if sample is not None:
                found[name] = sample
        return found

    def close(self) -> None:
        pass


def as_samples(readings: Dict[str, CounterSample]) -> Dict[str, List[CounterSample]]:
    """One reading per interface in the form a Host's sampler returns."""
    return {name: [sample] for name, sample in readings.items()}
