"""The Prometheus collector of ``accelnet-agent``.

Like prometheus_client's ``process_collector``, it yields metric families at each scrape from
a source it is given: the agent's state (discovery, check results, VF event counts, kept up to
date in the background) and a counter reader called fresh at every scrape. Slow work (IMDS,
the full diagnosis) never happens here.
"""

import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Pattern, Tuple

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, UntypedMetricFamily

from . import __version__, counters
from .checks import CHECK_IDS, SEVERITY
from .host import CounterSample

PATHS = (counters.DATAPATH_VF, counters.DATAPATH_SYNTHETIC)
EVENT_KINDS = ("added", "removed")

VF_METRICS = (
    ("vf_rx_packets", "accelnet_vf_rx_packets", "Packets received through the VF (hv_netvsc vf_rx_packets)."),
    ("vf_rx_bytes", "accelnet_vf_rx_bytes", "Bytes received through the VF (hv_netvsc vf_rx_bytes)."),
    ("vf_tx_packets", "accelnet_vf_tx_packets", "Packets sent through the VF (hv_netvsc vf_tx_packets)."),
    ("vf_tx_bytes", "accelnet_vf_tx_bytes", "Bytes sent through the VF (hv_netvsc vf_tx_bytes)."),
    ("vf_tx_dropped", "accelnet_vf_tx_dropped", "Packets hv_netvsc dropped sending to the VF (hv_netvsc vf_tx_dropped)."),
)
SYNTHETIC_METRICS = (
    ("rx_packets", "accelnet_synthetic_rx_packets", "Packets received on the synthetic (VMBus) path: sum of rx_queue_N_packets."),
    ("rx_bytes", "accelnet_synthetic_rx_bytes", "Bytes received on the synthetic (VMBus) path: sum of rx_queue_N_bytes."),
    ("tx_packets", "accelnet_synthetic_tx_packets", "Packets sent on the synthetic (VMBus) path: sum of tx_queue_N_packets."),
    ("tx_bytes", "accelnet_synthetic_tx_bytes", "Bytes sent on the synthetic (VMBus) path: sum of tx_queue_N_bytes."),
)
_INDEXED = (
    (re.compile(r"^(rx|tx)_queue_(\d+)_(.+)$"), "queue", lambda m: f"{m.group(1)}_queue_{m.group(3)}", 2),
    (re.compile(r"^cpu(\d+)_(.+)$"), "cpu", lambda m: f"cpu_{m.group(2)}", 1),
)
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


@dataclass
class InterfaceState:
    """What discovery knows about one synthetic NIC."""

    name: str
    vf: Optional[Dict[str, Optional[str]]] = None  # name, pci_slot, vendor_id, device_id, driver
    datapath: str = counters.DATAPATH_UNKNOWN


@dataclass
class AgentView:
    """A consistent picture for one scrape, replaced (never mutated) by the background."""

    interfaces: List[InterfaceState] = field(default_factory=list)
    check_status: Dict[str, str] = field(default_factory=dict)
    events: Dict[Tuple[str, str], int] = field(default_factory=dict)
    resyncs: Optional[int] = None  # None: no event monitor runs (a snapshot)


CounterReader = Callable[[List[str]], Mapping[str, CounterSample]]


@dataclass
class EthtoolExport:
    """The optional generic export: every stat of the interfaces matching ``include``."""

    include: Optional[Pattern[str]] = None
    exclude: Optional[Pattern[str]] = None
    metrics_include: Optional[Pattern[str]] = None
    metrics_exclude: Optional[Pattern[str]] = None

    def wants(self, name: str) -> bool:
        """Interfaces: none unless ``include`` matches (the export is off by default)."""
        if self.include is None or not self.include.search(name):
            return False
        return not (self.exclude is not None and self.exclude.search(name))

    def wants_stat(self, stat: str) -> bool:
        """Stats (ethtool's own names, e.g. ``rx_queue_0_packets``): all unless filtered."""
        if self.metrics_include is not None and not self.metrics_include.search(stat):
            return False
        return not (self.metrics_exclude is not None and self.metrics_exclude.search(stat))


def split_stat(name: str) -> Tuple[str, Dict[str, str]]:
    """``rx_queue_3_bytes`` → (``rx_queue_bytes``, {queue: 3}): the index is a label."""
    for pattern, label, rename, group in _INDEXED:
        match = pattern.match(name)
        if match:
            return rename(match), {label: match.group(group)}
    return name, {}


def metric_name(stat: str) -> str:
    name = _INVALID.sub("_", stat).strip("_").lower() or "unnamed"
    return f"accelnet_ethtool_{name}"


class AccelnetCollector:
    """Yields every accelnet metric; ``view`` and ``read_counters`` are the agent's."""

    def __init__(
        self,
        view: Callable[[], AgentView],
        read_counters: CounterReader,
        ethtool: Optional[EthtoolExport] = None,
        ethtool_interfaces: Callable[[], List[str]] = lambda: [],
    ) -> None:
        self._view = view
        self._read = read_counters
        self._ethtool = ethtool or EthtoolExport()
        self._ethtool_interfaces = ethtool_interfaces
        self._lock = threading.Lock()

    def describe(self) -> Iterable[Metric]:
        return []  # the metric set depends on the host; do not collect at registration

    def collect(self) -> Iterator[Metric]:
        view = self._view()
        names = [i.name for i in view.interfaces]
        generic = [n for n in self._ethtool_interfaces() if self._ethtool.wants(n)]
        wanted = list(dict.fromkeys(names + generic))
        with self._lock:  # one reader, one socket: scrapes take turns at the ioctl
            samples = dict(self._read(wanted)) if wanted else {}
        yield from self._checks(view)
        yield from self._vf(view)
        yield from self._traffic(view, samples)
        yield from self._datapath(view)
        yield from self._events(view)
        if generic:
            yield from self._generic(generic, samples, self._ethtool.wants_stat)
        build = GaugeMetricFamily("accelnet_build_info", "accelnet version, value 1.", labels=["version"])
        build.add_metric([__version__], 1)
        yield build

    @staticmethod
    def _checks(view: AgentView) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "accelnet_check_status",
            "Result of each accelnet-check check: 0 ok (or skipped), 1 warning, 2 critical, 3 unknown.",
            labels=["check"],
        )
        for check in CHECK_IDS:
            status = view.check_status.get(check, "unknown")
            family.add_metric([check], SEVERITY.get(status, 3))
        yield family

    @staticmethod
    def _vf(view: AgentView) -> Iterator[Metric]:
        present = GaugeMetricFamily(
            "accelnet_vf_present", "1 when the synthetic NIC has an Accelerated Networking VF, else 0.", labels=["interface"]
        )
        info = GaugeMetricFamily(
            "accelnet_vf_info",
            "The VF of a synthetic NIC, value 1.",
            labels=["interface", "vf", "pci_slot", "vendor_id", "device_id", "driver"],
        )
        for iface in view.interfaces:
            present.add_metric([iface.name], 1 if iface.vf else 0)
            if iface.vf:
                vf = iface.vf
                info.add_metric(
                    [iface.name] + [vf.get(k) or "" for k in ("name", "pci_slot", "vendor_id", "device_id", "driver")], 1
                )
        yield present
        yield info

    @staticmethod
    def _traffic(view: AgentView, samples: Mapping[str, CounterSample]) -> Iterator[Metric]:
        families = {}
        for stat, name, doc in VF_METRICS + SYNTHETIC_METRICS:
            families[stat] = CounterMetricFamily(name, doc, labels=["interface"])
        for iface in view.interfaces:
            sample = samples.get(iface.name)
            if sample is None or sample.stats is None:
                continue  # counters unavailable now: no sample beats a wrong zero
            for stat, value in counters.vf_counters(sample.stats).items():
                families[stat].add_metric([iface.name], value)
            for stat, value in counters.synthetic_totals(sample.stats).items():
                families[stat].add_metric([iface.name], value)
        yield from families.values()

    @staticmethod
    def _datapath(view: AgentView) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "accelnet_datapath",
            "1 on the path that carried the synthetic NIC's traffic at the last sample (vf or synthetic); "
            "0 on both when idle or unknown.",
            labels=["interface", "path"],
        )
        for iface in view.interfaces:
            for path in PATHS:
                family.add_metric([iface.name, path], 1 if iface.datapath == path else 0)
        yield family

    @staticmethod
    def _events(view: AgentView) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "accelnet_vf_events",
            "VF hot-remove/add events of the synthetic NIC since boot: those the kernel log held when the agent started, then every one it sees (not only at scrapes).",
            labels=["interface", "event"],
        )
        keys = {(i.name, kind) for i in view.interfaces for kind in EVENT_KINDS} | set(view.events)
        for interface, kind in sorted(keys):
            family.add_metric([interface, kind], view.events.get((interface, kind), 0))
        yield family
        if view.resyncs is not None:
            yield CounterMetricFamily(
                "accelnet_vf_event_resyncs",
                "Times the kernel dropped link events (ENOBUFS) and the agent re-read every link to "
                "derive what changed meanwhile.",
                value=view.resyncs,
            )

    @staticmethod
    def _generic(
        names: List[str], samples: Mapping[str, CounterSample], wants_stat: Callable[[str], bool]
    ) -> Iterator[Metric]:
        families: Dict[str, UntypedMetricFamily] = {}
        for ifname in names:
            sample = samples.get(ifname)
            if sample is None or sample.stats is None:
                continue
            for stat, value in sample.stats.items():
                if not wants_stat(stat):
                    continue
                base, labels = split_stat(stat)
                metric = metric_name(base)
                label_names = ["interface"] + sorted(labels)
                key = metric + "|" + ",".join(label_names)
                family = families.get(key)
                if family is None:
                    family = UntypedMetricFamily(
                        metric, f"ethtool statistic {base} (driver-defined).", labels=label_names
                    )
                    families[key] = family
                family.add_metric([ifname] + [labels[k] for k in sorted(labels)], value)
        seen = set()
        for key in sorted(families):
            family = families[key]
            if family.name in seen:
                continue  # one name, one label set: Prometheus rejects the rest
            seen.add(family.name)
            yield family
