"""The Prometheus collector of ``accelnet-agent``.

Like prometheus_client's ``process_collector``, it yields metric families at each scrape from
a source it is given: the agent's state (discovery, check results, VF event counts, kept up to
date in the background) and a counter reader called fresh at every scrape. Slow work (IMDS,
the full diagnosis) never happens here.
"""

import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Pattern, Set, Tuple, Union


from accelnet import __version__
from accelnet.agent.exposition import Row, RowsFamily, render_row
from accelnet.agent.metrics import CounterFamily, GaugeFamily, MetricFamily
from accelnet.diagnosis import counters, drops
from accelnet.diagnosis.finding import CHECK_IDS
from accelnet.diagnosis.status import SEVERITY, SKIPPED, UNKNOWN
from accelnet.readers.host import CounterSample
from accelnet.records import dataclass, field

if TYPE_CHECKING:
    from accelnet.parsers.imds import ImdsInstance

log = logging.getLogger("accelnet.agent.exporter")

PATHS = (counters.DATAPATH_VF, counters.DATAPATH_SYNTHETIC)
EVENT_KINDS = ("added", "removed")

VF_METRICS = (
    ("vf_rx_packets", "accelnet_vf_rx_packets", "Packets received through the VF (hv_netvsc vf_rx_packets)."),
    ("vf_rx_bytes", "accelnet_vf_rx_bytes", "Bytes received through the VF (hv_netvsc vf_rx_bytes)."),
    ("vf_tx_packets", "accelnet_vf_tx_packets", "Packets sent through the VF (hv_netvsc vf_tx_packets)."),
    ("vf_tx_bytes", "accelnet_vf_tx_bytes", "Bytes sent through the VF (hv_netvsc vf_tx_bytes)."),
    ("vf_tx_dropped", "accelnet_vf_tx_dropped", "Packets hv_netvsc dropped sending to the VF (hv_netvsc vf_tx_dropped)."),
)
#: The VF interface's own drop counters (diagnosis/drops.py VF_DRIVER_DROPS), labelled with the
#: synthetic NIC like every VF series: with accelnet_vf_*_packets_total they give the shares the
#: alerting rules judge. They restart from 0 with each new VF (a counter reset to Prometheus).
VF_DRIVER_DROP_METRICS = (
    ("rx", "accelnet_vf_driver_rx_dropped",
     "Packets the VF dropped on receive, before hv_netvsc saw them (its driver's own counters: mlx4_en rx_dropped, "
     "mlx5 rx_out_of_buffer, mana hc_rx_discards_no_wqe and hc_rx_err_vport_disabled)."),
    ("tx", "accelnet_vf_driver_tx_dropped",
     "Packets the VF's driver dropped after accepting them to send (mlx4_en tx_dropped, mlx5 tx_queue_dropped, "
     "mana hc_tx_err_*)."),
)
SYNTHETIC_METRICS = (
    ("rx_packets", "accelnet_synthetic_rx_packets", "Packets received on the synthetic (VMBus) path: sum of rx_queue_N_packets."),
    ("rx_bytes", "accelnet_synthetic_rx_bytes", "Bytes received on the synthetic (VMBus) path: sum of rx_queue_N_bytes."),
    ("tx_packets", "accelnet_synthetic_tx_packets", "Packets sent on the synthetic (VMBus) path: sum of tx_queue_N_packets."),
    ("tx_bytes", "accelnet_synthetic_tx_bytes", "Bytes sent on the synthetic (VMBus) path: sum of tx_queue_N_bytes."),
)
#: accelnet_vm_info's labels, from the IMDS compute document: what groups and joins a fleet.
#: No subscription id: like the support bundle (docs/bundle.md), the metrics keep only what
#: the diagnosis and fleet grouping need (azure_sd_configs adds the subscription where wanted).
VM_INFO_LABELS = (
    "vm_id", "vm_name", "vm_size", "location", "zone", "resource_group", "vm_scale_set_name",
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
    vm: Optional[Dict[str, str]] = None  # accelnet_vm_info's labels; None off Azure or without IMDS
    imds_up: Optional[bool] = None  # None: IMDS not asked (not Azure, --no-imds)
    #: Whether the kernel log's VF history could be read (/dev/kmsg or the journal's kernel
    #: records; a snapshot's cmd/dmesg.txt); None before the first refresh.
    kernel_log_up: Optional[bool] = None
    refreshed_at: Optional[float] = None  # Unix time of the refresh this view comes from
    monitors: Dict[str, bool] = field(default_factory=dict)  # event monitor -> running now
    monitor_restarts: Dict[str, int] = field(default_factory=dict)
    #: parts of the scrape whose source did not answer by the refresh's deadline: served
    #: as they are, with success 0
    stalled: Tuple[str, ...] = ()
    #: synthetic NIC -> (expect, source) where an intent is declared (on, off, ignore; flags,
    #: file, tag): the alert rules leave NICs off by design alone
    intents: Dict[str, Tuple[str, str]] = field(default_factory=dict)


CounterReader = Callable[[List[str]], Mapping[str, CounterSample]]
#: What a scrape yields: metric families, and the ethtool export's rows.
Family = Union[MetricFamily, RowsFamily]


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


def vm_labels(imds: "ImdsInstance") -> Dict[str, str]:
    """accelnet_vm_info's labels from the IMDS document ("" where IMDS has none)."""
    values = {
        "vm_id": imds.vm_id, "vm_name": imds.name, "vm_size": imds.vm_size, "location": imds.location,
        "zone": imds.zone, "resource_group": imds.resource_group,
        "vm_scale_set_name": imds.vm_scale_set_name,
    }
    return {k: values[k] or "" for k in VM_INFO_LABELS}


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


#: What an ethtool stat name exports as: (base name, metric name, label names, the label values
#: after ``device``), or () when filtered out.
_Shape = Union[Tuple[str, str, Tuple[str, ...], Tuple[str, ...]], Tuple[()]]
#: Stat names remembered per collector: drivers have a few hundred (mlx5 with many queues a few
#: thousand); a device that made up names at every read would not grow the agent past this.
_MAX_SHAPES = 65536
#: Interfaces whose layout (stat names → series) is remembered; more are worked out per scrape.
_MAX_LAYOUTS = 4096


def _stat_shape(stat: str, wants_stat: Callable[[str], bool]) -> _Shape:
    if not wants_stat(stat):
        return ()
    base, labels = split_stat(stat)
    keys = sorted(labels)
    return base, metric_name(base), ("device",) + tuple(keys), tuple(labels[k] for k in keys)


class AccelnetCollector:
    """Yields every accelnet metric; ``view`` and ``read_counters`` are the agent's.

    A scrape is made of parts (node_exporter's collectors): each runs on its own, is timed,
    and reports ``accelnet_scrape_collector_success``/``_duration_seconds{collector}``. A
    part that raises contributes none of its families, and the others are still served: one
    broken ioctl must not turn the whole scrape into an HTTP 500.
    """

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
        self._collisions = _OncePerName()
        #: each stat name's export (or () when filtered out), worked out once: drivers name
        #: the same stats at every scrape (a dict assignment is atomic: scrapes may share it)
        self._shapes: Dict[str, _Shape] = {}
        #: interface -> where its stats go, as last worked out
        self._layouts: Dict[str, _Layout] = {}

    def describe(self) -> Iterable[MetricFamily]:
        return []  # the metric set depends on the host; do not collect at registration

    def collect(self) -> Iterator[Family]:
        view = self._view()
        samples: Dict[str, CounterSample] = {}
        parts: List[Tuple[str, Callable[[], Iterable[Family]]]] = [
            ("checks", lambda: self._checks(view)),
            ("discovery", lambda: self._discovery(view)),
            ("counters", lambda: self._counters(view, samples)),
            ("events", lambda: self._events(view)),
        ]
        if view.imds_up is not None:
            parts.append(("imds", lambda: self._imds(view)))
        if self._ethtool.include is not None:
            parts.append(("ethtool", lambda: self._generic(samples)))
        success = GaugeFamily(
            "accelnet_scrape_collector_success",
            "1 when this part of the scrape succeeded, 0 when it failed (its metrics are then missing).",
            labels=["collector"],
        )
        duration = GaugeFamily(
            "accelnet_scrape_collector_duration_seconds",
            "How long this part of the scrape took.",
            labels=["collector"],
        )
        for name, part in parts:
            started = time.perf_counter()
            try:
                families = list(part())  # whole or nothing: no half-built part is served
                ok = 0 if name in view.stalled else 1
            except Exception as exc:  # noqa: BLE001 - reported as a metric and one log line
                log.error("collector %s failed: %s: %s", name, type(exc).__name__, " ".join(str(exc).split()))
                log.debug("collector %s failure detail", name, exc_info=True)
                families, ok = [], 0
            duration.add_metric([name], time.perf_counter() - started)
            success.add_metric([name], ok)
            yield from families
        yield success
        yield duration
        if view.refreshed_at is not None:
            yield GaugeFamily(
                "accelnet_last_refresh_timestamp_seconds",
                "Unix time of the last successful background refresh (discovery, checks, IMDS).",
                value=view.refreshed_at,
            )
        build = GaugeFamily("accelnet_build_info", "accelnet version, value 1.", labels=["version"])
        build.add_metric([__version__], 1)
        yield build

    def _read_counters(self, names: List[str], samples: Dict[str, CounterSample]) -> None:
        """Read what ``samples`` lacks of ``names`` (the counters and ethtool parts share it)."""
        wanted = [n for n in dict.fromkeys(names) if n not in samples]
        if wanted:
            with self._lock:  # one reader, one socket: scrapes take turns at the ioctl
                samples.update(self._read(wanted))

    @staticmethod
    def _checks(view: AgentView) -> Iterator[MetricFamily]:
        family = GaugeFamily(
            "accelnet_check_status",
            "Result of each accelnet-check check: 0 ok, 1 warning, 2 critical, 3 unknown; "
            "no series for a check skipped on this host.",
            labels=["check"],
        )
        for check in CHECK_IDS:
            status = view.check_status.get(check, UNKNOWN)
            if status == SKIPPED:
                continue  # 0 would read as "ok" on a host where the check does not apply
            family.add_metric([check], SEVERITY.get(status, 3))
        yield family
        if view.intents:  # no family at all where nothing is declared
            intent = GaugeFamily(
                "accelnet_nic_intent",
                "1 per synthetic NIC with a declared intent: expect on, off (AN off on purpose) or ignore "
                "(left out of the checks); source flags, file (/etc/accelnet/accelnet.conf) or tag (the VM tag accelnet).",
                labels=["device", "expect", "source"],
            )
            for device, (expect, source) in sorted(view.intents.items()):
                intent.add_metric([device, expect, source], 1)
            yield intent

    @staticmethod
    def _discovery(view: AgentView) -> Iterator[MetricFamily]:
        present = GaugeFamily(
            "accelnet_vf_present", "1 when the synthetic NIC has an Accelerated Networking VF, else 0.", labels=["device"]
        )
        info = GaugeFamily(
            "accelnet_vf_info",
            "The VF of a synthetic NIC, value 1.",
            labels=["device", "vf", "pci_slot", "vendor_id", "device_id", "driver"],
        )
        datapath = GaugeFamily(
            "accelnet_datapath",
            "1 on the path that carried the synthetic NIC's traffic at the last sample (vf or synthetic); "
            "0 on both when idle or unknown.",
            labels=["device", "path"],
        )
        for iface in view.interfaces:
            present.add_metric([iface.name], 1 if iface.vf else 0)
            if iface.vf:
                vf = iface.vf
                info.add_metric(
                    [iface.name] + [vf.get(k) or "" for k in ("name", "pci_slot", "vendor_id", "device_id", "driver")], 1
                )
            for path in PATHS:
                datapath.add_metric([iface.name, path], 1 if iface.datapath == path else 0)
        yield present
        yield info
        yield datapath

    def _counters(self, view: AgentView, samples: Dict[str, CounterSample]) -> Iterator[MetricFamily]:
        # The VF interface of each synthetic NIC that has one: its own drop counters are read too.
        vfs: Dict[str, Tuple[str, Optional[str]]] = {}
        for iface in view.interfaces:
            vf_name = iface.vf.get("name") if iface.vf else None
            if iface.vf and vf_name:
                vfs[iface.name] = (vf_name, iface.vf.get("driver"))
        self._read_counters([i.name for i in view.interfaces] + [name for name, _ in vfs.values()], samples)
        families = {}
        for stat, name, doc in VF_METRICS + SYNTHETIC_METRICS + VF_DRIVER_DROP_METRICS:
            families[stat] = CounterFamily(name, doc, labels=["device"])
        for iface in view.interfaces:
            sample = samples.get(iface.name)
            if sample is None or sample.stats is None:
                continue  # counters unavailable now: no sample beats a wrong zero
            for stat, value in counters.vf_counters(sample.stats).items():
                families[stat].add_metric([iface.name], value)
            for stat, value in counters.synthetic_totals(sample.stats).items():
                families[stat].add_metric([iface.name], value)
            vf_name, vf_driver = vfs.get(iface.name, ("", None))
            own = samples.get(vf_name) if vf_name else None
            if own is not None and own.stats is not None:
                for direction, value in drops.driver_dropped(vf_driver, own.stats).items():
                    families[direction].add_metric([iface.name], value)
        yield from families.values()

    @staticmethod
    def _events(view: AgentView) -> Iterator[MetricFamily]:
        family = CounterFamily(
            "accelnet_vf_events",
            "VF hot-remove/add events of the synthetic NIC since boot: those the kernel log held when the agent started, then every one it sees (not only at scrapes).",
            labels=["device", "event"],
        )
        keys = {(i.name, kind) for i in view.interfaces for kind in EVENT_KINDS} | set(view.events)
        for device, kind in sorted(keys):
            family.add_metric([device, kind], view.events.get((device, kind), 0))
        yield family
        if view.kernel_log_up is not None:
            yield GaugeFamily(
                "accelnet_kernel_log_up",
                "1 when the kernel log's VF history could be read at the last refresh (/dev/kmsg, or the "
                "journal's kernel records), 0 when not: vf_events_total then counts from the agent's start "
                "only; accelnet-check --json says why (history_state).",
                value=1 if view.kernel_log_up else 0,
            )
        if view.resyncs is not None:
            yield CounterFamily(
                "accelnet_vf_event_resyncs",
                "Times the kernel dropped link events (ENOBUFS) and the agent re-read every link to "
                "derive what changed meanwhile.",
                value=view.resyncs,
            )
        if view.monitors:
            up = GaugeFamily(
                "accelnet_event_monitor_up",
                "1 while the event monitor runs, 0 while it is down (the agent starts it again within seconds).",
                labels=["monitor"],
            )
            restarts = CounterFamily(
                "accelnet_event_monitor_restarts",
                "Times the event monitor stopped and was started again.",
                labels=["monitor"],
            )
            for monitor in sorted(view.monitors):
                up.add_metric([monitor], 1 if view.monitors[monitor] else 0)
                restarts.add_metric([monitor], view.monitor_restarts.get(monitor, 0))
            yield up
            yield restarts

    @staticmethod
    def _imds(view: AgentView) -> Iterator[MetricFamily]:
        yield GaugeFamily(
            "accelnet_imds_up",
            "1 when the Instance Metadata Service answered at the last refresh (or its answer is "
            "still cached), 0 when it did not.",
            value=1 if view.imds_up else 0,
        )
        if view.vm is not None:
            info = GaugeFamily(
                "accelnet_vm_info",
                "The Azure VM, from the Instance Metadata Service, value 1: join on instance to group a fleet.",
                labels=list(VM_INFO_LABELS),
            )
            info.add_metric([view.vm.get(k) or "" for k in VM_INFO_LABELS], 1)
            yield info

    def _layout(self, ifname: str, stats: Tuple[str, ...]) -> "_Layout":
        """Where an interface's stats go, worked out when its stat names are new: they stay
        the same from one scrape to the next, so a scrape only pairs series with values."""
        cached = self._layouts.get(ifname)
        if cached is not None and cached.stats == stats:
            return cached
        wants_stat = self._ethtool.wants_stat
        shapes = self._shapes
        rows: List[Optional[Row]] = []
        families: Dict[str, Tuple[str, str, str, Tuple[str, ...], List[int]]] = {}
        series: Dict[Tuple[str, Tuple[str, ...]], str] = {}
        for position, stat in enumerate(stats):
            shape = shapes.get(stat)
            if shape is None:
                shape = _stat_shape(stat, wants_stat)
                if len(shapes) < _MAX_SHAPES:
                    shapes[stat] = shape
            if not shape:
                rows.append(None)
                continue
            base, metric, label_names, indices = shape
            label_values = (ifname,) + indices
            first = series.setdefault((metric, label_values), stat)
            if first != stat:
                # rx-errors and rx_errors both become accelnet_ethtool_rx_errors: keep the
                # first, as a second sample of one series makes Prometheus reject the scrape.
                self._collisions.log(
                    metric, "ethtool stats %r and %r of %s both export as %s: dropping %r",
                    first, stat, ifname, metric, stat,
                )
                rows.append(None)
                continue
            rows.append(render_row(metric, label_names, label_values))
            key = metric + "|" + ",".join(label_names)
            if key not in families:
                families[key] = (key, metric, f"ethtool statistic {base} (driver-defined).", label_names, [])
            families[key][4].append(position)
        layout = _Layout(stats, rows, [(key, metric, doc, label_names, tuple(positions))
                                       for key, metric, doc, label_names, positions in families.values()])
        if len(self._layouts) < _MAX_LAYOUTS or ifname in self._layouts:
            self._layouts[ifname] = layout
        return layout

    def _generic(self, samples: Dict[str, CounterSample]) -> Iterator[RowsFamily]:
        """The ethtool families. Interfaces in a row with the same stat names (one driver's)
        share where each stat goes: their values are paired with their series a family at a
        time, in the order the interfaces and their stats come (a per-stat loop was half
        of a scrape's CPU)."""
        names = [n for n in self._ethtool_interfaces() if self._ethtool.wants(n)]
        self._read_counters(names, samples)
        families: Dict[str, RowsFamily] = {}
        run: List[Tuple[List[Optional[Row]], List[float]]] = []
        run_layout: Optional[_Layout] = None
        for ifname in names:
            sample = samples.get(ifname)
            if sample is None or sample.stats is None:
                continue
            stats = sample.stats
            layout = self._layout(ifname, tuple(stats))
            if run_layout is None or layout.stats != run_layout.stats:
                if run_layout is not None:
                    _pair_run(run_layout, run, families)
                run_layout, run = layout, []
            run.append((layout.rows, list(stats.values())))
        if run_layout is not None:
            _pair_run(run_layout, run, families)
        seen = set()
        for key in sorted(families):
            family = families[key]
            if family.name in seen:
                continue  # one name, one label set: Prometheus rejects the rest
            seen.add(family.name)
            yield family


class _Layout:
    """Where the stats of one interface go: its stat names, the series of each (None: left
    out, filtered or a second stat of one series), and each family they make (key, metric
    name, help text, label names, the stats' positions)."""

    __slots__ = ("stats", "rows", "families")

    def __init__(self, stats: Tuple[str, ...], rows: List[Optional[Row]],
                 families: List[Tuple[str, str, str, Tuple[str, ...], Tuple[int, ...]]]) -> None:
        self.stats = stats
        self.rows = rows
        self.families = families


def _pair_run(layout: _Layout, run: List[Tuple[List[Optional[Row]], List[float]]],
              families: Dict[str, RowsFamily]) -> None:
    """Add the series of interfaces with ``layout``'s stat names (their rows, their values)
    to ``families``: interface by interface, each in its stats' order."""
    for key, metric, doc, label_names, positions in layout.families:
        family = families.get(key)
        if family is None:
            family = families[key] = RowsFamily(metric, doc, label_names)
        family.rows.extend([(rows[p], values[p]) for rows, values in run for p in positions])  # type: ignore[misc]  # positions hold rows


class _OncePerName:
    """Logs a warning the first time a name comes up, then stays quiet about it (node_exporter
    logs its dropped duplicate ethtool names the same way: not at every scrape)."""

    def __init__(self) -> None:
        self._seen: Set[str] = set()
        self._lock = threading.Lock()

    def log(self, name: str, message: str, *args: object) -> None:
        with self._lock:
            if name in self._seen:
                return
            self._seen.add(name)
        log.warning(message, *args)
