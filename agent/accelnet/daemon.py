"""``accelnet-agent``'s life: discovery in the background, VF events, serving, systemd.

Scrapes only read counters (one ioctl per NIC) and the last discovery; the slow work (sysfs
discovery, the checks, IMDS) runs in a background loop, woken early by VF events so that a
returning VF shows up without waiting for the next period.
"""

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from . import counters
from .checks import interface_datapath, run_checks
from .exporter import AccelnetCollector, AgentView, EthtoolExport, InterfaceState
from .facts import Facts, Options, gather
from .host import CounterSample, Host
from .kernellog import vf_event_counts
from .netdev import HV_NETVSC
from .report import vf_record

log = logging.getLogger("accelnet.agent")

DEFAULT_PORT = 9837
IMDS_TTL_S = 3600.0
LSPCI_TTL_S = 300.0
EVENT_SETTLE_S = 0.5


@dataclass
class AgentConfig:
    listen: str = f":{DEFAULT_PORT}"
    telemetry_path: str = "/metrics"
    web_config_file: Optional[str] = None
    snapshot: Optional[str] = None
    synthetic_drivers: Sequence[str] = (HV_NETVSC,)
    textfile: Optional[str] = None
    ethtool_include: Optional[str] = None
    ethtool_exclude: Optional[str] = None
    ethtool_metrics_include: Optional[str] = None
    ethtool_metrics_exclude: Optional[str] = None
    interval: float = 30.0
    imds: bool = True
    imds_url: Optional[str] = None
    events: bool = True


def _cached(fetch, ttls: Mapping[str, float]):
    """Wrap a capture function so slow captures (IMDS, lspci) are asked at most once per TTL."""
    memo: Dict[str, tuple] = {}
    lock = threading.Lock()

    def capture(name: str):
        ttl = ttls.get(name)
        if ttl is None:
            return fetch(name)
        with lock:
            hit = memo.get(name)
            if hit and time.monotonic() - hit[0] < ttl:
                return hit[1]
        value = fetch(name)
        with lock:
            memo[name] = (time.monotonic(), value)
        return value

    return capture


def _plus(a: Mapping[Tuple[str, str], int], b: Mapping[Tuple[str, str], int]) -> Dict[Tuple[str, str], int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in set(a) | set(b)}


def view_from_facts(facts: Facts, findings, datapaths: Mapping[str, str]) -> AgentView:
    interfaces = []
    for pairing in facts.pairings:
        name = pairing.synthetic.name
        interfaces.append(
            InterfaceState(name=name, vf=vf_record(pairing), datapath=datapaths.get(name, counters.DATAPATH_UNKNOWN))
        )
    return AgentView(interfaces=interfaces, check_status={f.id: f.status for f in findings})


class Agent:
    """The running agent. ``start`` returns once the first discovery is done and serving."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self._stack = contextlib.ExitStack()
        self._view = AgentView()
        self._seed: Dict[Tuple[str, str], int] = {}
        self._facts: Optional[Facts] = None
        self._host: Optional[Host] = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._last_samples: Dict[str, CounterSample] = {}
        self._recorded: Dict[str, Optional[CounterSample]] = {}
        self._reader = None
        self._reader_lock = threading.Lock()
        self.monitor = None
        self.udev_monitor = None
        self.server = None
        self.registry = None
        self.heartbeat = time.monotonic()
        self._thread: Optional[threading.Thread] = None

    # -- setup -----------------------------------------------------------------------------

    def _open_host(self) -> Host:
        if self.config.snapshot:
            from .snapshot import open_snapshot

            return self._stack.enter_context(open_snapshot(self.config.snapshot))
        from .live import live_host
        from .platform import IMDS_DEFAULT_URL

        host = live_host(self.config.imds_url or IMDS_DEFAULT_URL)
        host.run_capture = _cached(host.run_capture, {"imds": IMDS_TTL_S, "lspci": LSPCI_TTL_S, "dmesg": LSPCI_TTL_S})
        # Discovery samples through the scrapes' reader: one socket, one name cache.
        host.sampler = lambda names, _interval: {n: [s] for n, s in self.read_counters(list(names)).items()}
        return host

    def build_registry(self):
        import re

        from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

        registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        def pattern(text: Optional[str]):
            return re.compile(text) if text else None

        export = EthtoolExport(
            include=pattern(self.config.ethtool_include),
            exclude=pattern(self.config.ethtool_exclude),
            metrics_include=pattern(self.config.ethtool_metrics_include),
            metrics_exclude=pattern(self.config.ethtool_metrics_exclude),
        )
        registry.register(
            AccelnetCollector(self.view, self.read_counters, export, self._all_interfaces)
        )
        return registry

    def start(self) -> None:
        self._host = self._open_host()
        if not self._host.live:
            self.config.events = False
        self.refresh()
        # VF events the kernel log already holds (since boot): a restart loses no flap.
        self._seed = vf_event_counts(self._facts.history) if self._facts is not None else {}
        if self._facts is not None and self._facts.history_state != "ok":
            log.info("kernel log %s: VF events are counted from the agent's start", self._facts.history_state)
        if self.config.events:
            self._start_monitor()
        self.registry = self.build_registry()
        from .web import serve

        self.server = serve(
            self.config.listen,
            self.registry,
            telemetry_path=self.config.telemetry_path,
            web_config=self.config.web_config_file,
            ready=lambda: self._facts is not None,
        )
        self._write_textfile()
        self._thread = threading.Thread(target=self._loop, name="accelnet-refresh", daemon=True)
        self._thread.start()

    def _start_monitor(self) -> None:
        try:
            from .events import VfMonitor

            self.monitor = VfMonitor(self.config.synthetic_drivers, on_event=self._on_event)
            self.monitor.start()
        except Exception as exc:  # noqa: BLE001 - events are an extra; the exporter still serves
            log.warning("VF event monitor not started: %s", exc)
            self.monitor = None

        try:
            from .udev_events import UdevMonitor

            # PCI add/bind/unbind of a VF changes no link, so rtnetlink alone would leave a VF
            # whose driver went away unseen until the next period.
            self.udev_monitor = UdevMonitor(on_event=self._on_udev_event)
            self.udev_monitor.start()
        except Exception as exc:  # noqa: BLE001 - no pyudev/libudev, or no uevent socket
            log.info("udev event monitor not started: %s", exc)
            self.udev_monitor = None

    def _on_event(self, event) -> None:
        log.info("VF %s: %s on %s", event.kind, event.vf, event.synthetic)
        self._wake.set()

    def _on_udev_event(self, event) -> None:
        if event.subsystem == "pci":
            log.info("PCI %s: %s (driver %s)", event.action, event.name, event.driver or "none")
            self._wake.set()

    # -- the background loop -----------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.heartbeat = time.monotonic()
            woke = self._wake.wait(self.config.interval)
            if self._stopping.is_set():
                break
            if woke:
                time.sleep(EVENT_SETTLE_S)  # let the kernel finish renaming/enslaving
                self._wake.clear()
            try:
                self.refresh()
                self._write_textfile()
            except Exception:  # noqa: BLE001 - keep serving the last good view
                log.exception("refresh failed; serving the previous state")

    def refresh(self) -> None:
        """Rediscover the host and rerun the checks.

        On the live host each refresh reads the counters once; the previous refresh's reading
        is the first sample, so the data path (and the datapath.vf check) compare two
        readings one period apart, the way ``accelnet-check --sample-seconds`` does.
        """
        assert self._host is not None
        options = Options(sample_seconds=0, imds=self.config.imds, synthetic_drivers=self.config.synthetic_drivers)
        facts = gather(self._host, options)
        if self._host.live:
            self._pair_with_previous(facts)
        findings = run_checks(facts)
        datapaths = {p.synthetic.name: interface_datapath(facts, p) for p in facts.pairings}
        self._view = view_from_facts(facts, findings, datapaths)
        self._facts = facts
        self.heartbeat = time.monotonic()

    def _pair_with_previous(self, facts: Facts) -> None:
        latest: Dict[str, CounterSample] = {}
        for name, samples in facts.samples.items():
            if not samples:
                continue
            now = samples[-1]
            before = self._last_samples.get(name)
            if before is not None and before.stats is not None and now.stats is not None:
                facts.samples[name] = [before, now]
            latest[name] = now
        self._last_samples = latest

    # -- what the collector asks for ---------------------------------------------------------

    def view(self) -> AgentView:
        view = self._view
        if self.monitor is not None:
            return AgentView(view.interfaces, view.check_status, _plus(self._seed, self.monitor.counts), self.monitor.enobufs)
        return AgentView(view.interfaces, view.check_status, _plus(self._seed, view.events), view.resyncs)

    def _all_interfaces(self) -> List[str]:
        facts = self._facts
        return [i.name for i in facts.interfaces] if facts else []

    def read_counters(self, names: List[str]) -> Dict[str, CounterSample]:
        if self._host is None:
            return {}
        if not self._host.live:
            return self._recorded_counters(names)
        from .ethtool import EthtoolReader
        from .live import read_sample

        with self._reader_lock:
            if self._reader is None:
                self._reader = EthtoolReader()
            return {name: read_sample(self._reader, name) for name in names}

    def _recorded_counters(self, names: List[str]) -> Dict[str, CounterSample]:
        """A snapshot's counters: its last sample of each interface (read once, then kept)."""
        assert self._host is not None
        missing = [n for n in names if n not in self._recorded]
        if missing:
            for name, samples in self._host.sample_counters(missing, 0).items():
                self._recorded[name] = samples[-1] if samples else None
        return {n: self._recorded[n] for n in names if self._recorded.get(n) is not None}

    # -- outputs -----------------------------------------------------------------------------

    def _write_textfile(self) -> None:
        if not self.config.textfile or self.registry is None:
            return
        from .textfile import write_textfile

        try:
            write_textfile(self.config.textfile, self.registry)
        except OSError as exc:
            log.error("cannot write textfile %s: %s", self.config.textfile, exc)

    def reload(self) -> None:
        """SIGHUP: re-read the web config (certificates rotate) and rediscover now."""
        if self.server is not None:
            try:
                self.server.reload(self.config.web_config_file)
                log.info("web configuration reloaded")
            except Exception as exc:  # noqa: BLE001 - a bad new config keeps the old one
                log.error("web configuration not reloaded, keeping the previous one: %s", exc)
        self._wake.set()

    def healthy(self, max_age: float) -> bool:
        return time.monotonic() - self.heartbeat < max_age

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self.server is not None:
            self.server.shutdown()
        for monitor in (self.monitor, self.udev_monitor):
            if monitor is not None:
                monitor.stop()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        self._stack.close()

