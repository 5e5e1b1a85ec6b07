"""Metric families and the registry the agent serves, in the shape prometheus_client's have.

Why not prometheus_client's own: ``import prometheus_client`` runs its package ``__init__``,
which imports its HTTP server, push gateway and WSGI code, and through them ``ssl``,
``http.server``, ``urllib.request`` and ``email``: about 9 MiB of an agent that sits on every
VM, for classes of a few lines. The agent writes its own exposition (exposition.py); these
are the families it writes. They have prometheus_client's attributes (``name``,
``documentation``, ``type``, ``unit``, ``samples`` of ``Sample(name, labels, value,
timestamp)``), so either library's encoder reads either's families, and the tests hold the
output to prometheus_client's ``generate_latest`` byte for byte.
"""

import threading
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence


class Sample(NamedTuple):
    name: str
    labels: Dict[str, str]
    value: float
    timestamp: Optional[float] = None
    exemplar: None = None
    native_histogram: None = None


class MetricFamily:
    """A metric family: its samples, each with the family's label names."""

    #: Types as OpenMetrics names them (prometheus_client's ``Metric`` turns "untyped" into
    #: "unknown" the same way).
    type = "unknown"
    unit = ""

    def __init__(self, name: str, documentation: str, labels: Optional[Sequence[str]] = None) -> None:
        self.name = name
        self.documentation = documentation
        self._labels = list(labels or [])
        self.samples: List[Sample] = []

    def _sample(self, name: str, labels: Sequence[str], value: float) -> None:
        self.samples.append(Sample(name, dict(zip(self._labels, labels)), value))


class GaugeFamily(MetricFamily):
    """A gauge: ``GaugeFamily(name, help, value=v)`` for one series, or ``labels=[...]`` and
    :meth:`add_metric` per series (prometheus_client's ``GaugeMetricFamily``)."""

    type = "gauge"

    def __init__(self, name: str, documentation: str, value: Optional[float] = None,
                 labels: Optional[Sequence[str]] = None) -> None:
        super().__init__(name, documentation, labels)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float) -> None:
        self._sample(self.name, labels, value)


class CounterFamily(MetricFamily):
    """A counter: the family is named without ``_total``, its samples with it
    (prometheus_client's ``CounterMetricFamily``)."""

    type = "counter"

    def __init__(self, name: str, documentation: str, value: Optional[float] = None,
                 labels: Optional[Sequence[str]] = None) -> None:
        if name.endswith("_total"):
            name = name[:-6]
        super().__init__(name, documentation, labels)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float) -> None:
        self._sample(self.name + "_total", labels, value)


class Registry:
    """Collectors (anything with ``collect()`` yielding families), collected in the order
    they were registered."""

    def __init__(self) -> None:
        self._collectors: List[Any] = []
        self._lock = threading.Lock()

    def register(self, collector: Any) -> None:
        with self._lock:
            self._collectors.append(collector)

    def collect(self) -> Iterator[Any]:
        with self._lock:
            collectors = list(self._collectors)
        for collector in collectors:
            yield from collector.collect()


def families_named(families: Iterable[Any], names: Iterable[str]) -> Iterator[MetricFamily]:
    """Of ``families``, only the samples named in ``names`` (``?name[]=``), families without
    any left out."""
    wanted = frozenset(names)
    for family in families:
        samples = [s for s in family.samples if s.name in wanted]
        if samples:
            kept = MetricFamily(family.name, family.documentation)
            kept.type = family.type
            kept.unit = family.unit
            kept.samples = samples
            yield kept
