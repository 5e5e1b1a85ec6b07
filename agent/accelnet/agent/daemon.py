"""``accelnet-agent``'s life: discovery in the background, VF events, serving, systemd.

Scrapes only read counters (one ioctl per NIC) and the last discovery; the slow work (sysfs
discovery, the checks, IMDS) runs in a background loop, woken early by VF events so that a
returning VF shows up without waiting for the next period. The same loop restarts an event
monitor that died (its counts carry over, and the links it missed are derived from a dump),
so ``accelnet_vf_events_total`` never freezes silently.

Three ways to run: serving HTTP (the default), ``--no-web`` (the loop only writes
``--textfile``) and ``--once`` (one discovery, one textfile, exit: for a systemd timer).
"""

import contextlib
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from accelnet import records
from accelnet.agent.countersource import CounterSource, LiveCounters, RecordedCounters, as_samples
from accelnet.agent.exporter import AccelnetCollector, AgentView, EthtoolExport, InterfaceState, vm_labels
from accelnet.agent.sources import BoundedSources, collector_of
from accelnet.agent.textfile import TextfileError
from accelnet.diagnosis import counters
from accelnet.diagnosis.checks import interface_datapath, run_checks
from accelnet.diagnosis.facts import Facts, Options, gather
from accelnet.diagnosis.report import vf_record
from accelnet.kernel.monitor import EventMonitor, Handover
from accelnet.parsers.kernellog import vf_event_counts
from accelnet.readers import capturenames
from accelnet.readers.host import CounterSample, Host, Produce
from accelnet.readers.netdev import HV_NETVSC
from accelnet.records import dataclass

if TYPE_CHECKING:  # imported where the agent serves, not by --once
    from accelnet.agent.metrics import Registry
    from accelnet.agent.web import Server

log = logging.getLogger("accelnet.agent")

DEFAULT_PORT = 9837
IMDS_TTL_S = 3600.0
LSPCI_TTL_S = 300.0
EVENT_SETTLE_S = 0.5
#: How often the loop looks whether an event monitor died, and the longest wait between two
#: attempts to start one that keeps failing (the wait doubles from the first to the second).
MONITOR_CHECK_S = 2.0
MONITOR_RETRY_MAX_S = 300.0
#: The live sources of one refresh (IMDS, lspci, the kernel log, ethtool -i/-P) answer
#: within this many seconds of its start, or are missing from it (their collector's
#: success 0): far inside the watchdog's margin, which a refresh must keep feeding.
REFRESH_DEADLINE_S = 20.0
#: --once has no earlier refresh to compare with: it reads the counters twice, this far apart,
#: as ``accelnet-check`` does, so the data path is known.
ONCE_SAMPLE_S = 2.0
RTNETLINK = "rtnetlink"
UDEV = "udev"


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
    web: bool = True  # False: --no-web, only --textfile is written
    once: bool = False  # --once: one refresh, one textfile, nothing served
    expect_an: Optional[str] = None  # --expect-an: as accelnet-check's (intent flags)
    ignore_nics: Sequence[str] = ()  # --ignore-nic
    refresh_deadline: float = REFRESH_DEADLINE_S


#: Makes the host the agent watches, given the agent's wrapper of a capture function.
HostFactory = Callable[[Callable[[Produce], Produce]], Host]


class _Cached:
    """A capture function whose slow captures (IMDS, lspci) are asked at most once per TTL;
    ``forget`` drops what it keeps (SIGHUP: the VM's tags, its declared intent, may have
    changed since IMDS last answered)."""

    def __init__(self, fetch: Produce, ttls: Mapping[str, float]) -> None:
        self._fetch = fetch
        self._ttls = ttls
        self._memo: Dict[str, Tuple[float, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> Optional[str]:
        ttl = self._ttls.get(name)
        if ttl is None:
            return self._fetch(name)
        with self._lock:
            hit = self._memo.get(name)
            if hit and time.monotonic() - hit[0] < ttl:
                return hit[1]
        value = self._fetch(name)
        if value is not None:  # no answer (IMDS down): ask again at the next refresh
            with self._lock:
                self._memo[name] = (time.monotonic(), value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._memo.clear()


def imds_answered(facts: Facts) -> Optional[bool]:
    """Whether IMDS answered; None where it was not asked (not Azure, --no-imds)."""
    if not facts.imds_state.asked:
        return None
    return facts.imds_state.ok


def _plus(a: Mapping[Tuple[str, str], int], b: Mapping[Tuple[str, str], int]) -> Dict[Tuple[str, str], int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in set(a) | set(b)}


def view_from_facts(facts: Facts, findings, datapaths: Mapping[str, str],
                    stalled: Sequence[str] = ()) -> AgentView:
    interfaces = []
    for pairing in facts.pairings:
        name = pairing.synthetic.name
        interfaces.append(
            InterfaceState(name=name, vf=vf_record(pairing), datapath=datapaths.get(name, counters.DATAPATH_UNKNOWN))
        )
    vm = vm_labels(facts.imds) if facts.imds is not None and facts.is_azure else None
    return AgentView(
        interfaces=interfaces,
        check_status={f.id: f.status for f in findings},
        vm=vm,
        imds_up=imds_answered(facts),
        kernel_log_up=facts.history_state.ok,
        refreshed_at=time.time(),
        stalled=tuple(sorted(set(stalled))),
        intents={p.synthetic.name: (d.expect, d.source) for p in facts.pairings
                 for d in [facts.intent.nic(p.synthetic.name)] if d.source is not None},
    )


@dataclass
class _Supervised:
    """One event monitor the agent keeps running, and what its dead predecessors counted."""

    name: str
    new: Callable[[], EventMonitor]
    monitor: Optional[EventMonitor] = None
    restarts: int = 0
    failures: int = 0  # failed starts in a row (backoff)
    retry_at: float = 0.0
    events: Dict[Tuple[str, str], int] = records.field(default_factory=dict)
    resyncs: int = 0
    died: bool = False  # a monitor of this kind ran and stopped; the next start is a restart
    handover: Optional[Handover] = None  # what the dead one left, for the next start

    @property
    def running(self) -> bool:
        return self.monitor is not None and self.monitor.running


class Agent:
    """The running agent. ``start`` returns once the first discovery is done (and serving,
    unless ``--no-web``); ``run_once`` is ``--once``."""

    def __init__(self, config: AgentConfig, open_host: Optional[HostFactory] = None) -> None:
        """``open_host`` makes the host to watch instead of the live one or ``--snapshot``
        (tests: a fixture with live captures); it is handed the agent's wrapper of a capture
        function, to bound its live captures as the live host's are."""
        self.config = config
        self._given_host = open_host
        self._sources: Optional[BoundedSources] = None
        self._stack = contextlib.ExitStack()
        self._view = AgentView()
        self._seed: Dict[Tuple[str, str], int] = {}
        self._facts: Optional[Facts] = None
        self._host: Optional[Host] = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._last_samples: Dict[str, CounterSample] = {}
        self._counters: Optional[CounterSource] = None
        self._reread = False  # --snapshot is a directory: read it again at each refresh
        self._cache: Optional[_Cached] = None
        self._monitors: Dict[str, _Supervised] = {}
        self._monitor_lock = threading.Lock()
        self.server: Optional["Server"] = None
        self.registry: Optional["Registry"] = None
        self.textfile_registry: Optional["Registry"] = None
        #: monotonic time of the last refresh that succeeded; None before the first one
        self.heartbeat: Optional[float] = None
        self._thread: Optional[threading.Thread] = None

    # -- setup -----------------------------------------------------------------------------

    def _open_host(self) -> Host:
        """The host (given, a snapshot, or this one) and where scrapes read its counters."""
        if self._given_host is not None:
            host = self._given_host(self._bounded)
        elif self.config.snapshot:
            from accelnet.readers.snapshot import open_snapshot, open_snapshot_dir

            if self._reread or os.path.isdir(self.config.snapshot):
                # Read again at every refresh, like a live host: what a test changes in the
                # directory (or where a symlink to it points) is served from the next one,
                # its counters too (a new RecordedCounters with each host).
                self._reread = True
                host = open_snapshot_dir(self.config.snapshot)
            else:
                host = self._stack.enter_context(open_snapshot(self.config.snapshot))
        else:
            from accelnet.readers.live import live_host, producer
            from accelnet.readers.platform import IMDS_DEFAULT_URL

            self._counters = LiveCounters()
            # Discovery samples through the scrapes' reader (one socket, one name cache);
            # --once reads twice, as accelnet-check does (live_host's default sampler).
            sampler = None if self.config.once else (lambda names, _interval: as_samples(self.read_counters(list(names))))
            return live_host(produce=self._bounded(producer(self.config.imds_url or IMDS_DEFAULT_URL)), sampler=sampler)
        self._counters = LiveCounters() if host.live else RecordedCounters(host)
        return host

    def _bounded(self, produce: Produce) -> Produce:
        """Every live capture through a cache (the slow ones asked at most once per TTL) and
        within the refresh's deadline (agent/sources.py)."""
        ttls = {capturenames.IMDS: IMDS_TTL_S, capturenames.LSPCI: LSPCI_TTL_S, capturenames.DMESG: LSPCI_TTL_S}
        self._cache = _Cached(produce, ttls)
        self._sources = BoundedSources(self._cache, self.config.refresh_deadline)
        return self._sources

    def build_registry(self) -> "Registry":
        """The registries: the served one (with the process and Python metrics) and the
        textfile's, ``accelnet_*`` only: node_exporter has its own process_* series and
        fails its whole scrape on a name collected twice."""
        import re

        from accelnet.agent.metrics import Registry
        from accelnet.agent.selfmetrics import GCCollector, PlatformCollector, ProcessCollector

        def pattern(text: Optional[str]):
            return re.compile(text) if text else None

        export = EthtoolExport(
            include=pattern(self.config.ethtool_include),
            exclude=pattern(self.config.ethtool_exclude),
            metrics_include=pattern(self.config.ethtool_metrics_include),
            metrics_exclude=pattern(self.config.ethtool_metrics_exclude),
        )
        collector = AccelnetCollector(self.view, self.read_counters, export, self._all_interfaces)
        registry = Registry()
        registry.register(ProcessCollector())
        registry.register(PlatformCollector())
        registry.register(GCCollector())
        registry.register(collector)
        textfile_registry = Registry()
        textfile_registry.register(collector)
        self.textfile_registry = textfile_registry
        return registry

    def start(self) -> None:
        self._host = self._open_host()
        if not self._host.live:
            self.config.events = False
        self.refresh()
        # VF events the kernel log already holds (since boot): a restart loses no flap.
        if self._host.live:
            self._seed = vf_event_counts(self._facts.history) if self._facts is not None else {}
        if self._facts is not None and not self._facts.history_state.ok:
            log.info("kernel log %s: VF events are counted from the agent's start", self._facts.history_state.text)
        if self.config.events:
            self._start_monitors()
        self.registry = self.build_registry()
        if self.config.web:
            from accelnet.agent.web import serve

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

    def run_once(self) -> None:
        """``--once``: discover, write ``--textfile``, return. Serves nothing, watches nothing.

        Raises TextfileError when the file cannot be written (the caller exits non-zero).
        """
        from accelnet.agent.textfile import write_textfile

        assert self.config.textfile, "--once needs --textfile"
        self.config.once = True
        self.config.events = False
        self._host = self._open_host()
        self.refresh()
        self.build_registry()
        write_textfile(self.config.textfile, self.textfile_registry)

    # -- event monitors ----------------------------------------------------------------------

    def _start_monitors(self) -> None:
        from accelnet.kernel.events import VfMonitor
        from accelnet.kernel.udev_events import UdevMonitor

        drivers = self.config.synthetic_drivers
        self._monitors = {
            RTNETLINK: _Supervised(RTNETLINK, lambda: VfMonitor(drivers, on_event=self._on_event)),
            # PCI add/bind/unbind of a VF changes no link, so rtnetlink alone would leave a VF
            # whose driver went away unseen until the next period.
            UDEV: _Supervised(UDEV, lambda: UdevMonitor(on_event=self._on_udev_event)),
        }
        for supervised in self._monitors.values():
            self._try_start(supervised)

    def _try_start(self, supervised: _Supervised) -> bool:
        """Start a monitor for ``supervised`` (handing it what a dead one left, so it derives
        what changed while none ran); on failure, log and schedule the next try."""
        try:
            monitor = supervised.new()
            monitor.start(previous=supervised.handover)
        except Exception as exc:  # noqa: BLE001 - events are an extra; the exporter still serves
            supervised.failures += 1
            delay = min(MONITOR_CHECK_S * 2 ** supervised.failures, MONITOR_RETRY_MAX_S)
            supervised.retry_at = time.monotonic() + delay
            level = logging.WARNING if supervised.failures == 1 else logging.DEBUG
            log.log(level, "%s event monitor not started (next try in %.0fs): %s", supervised.name, delay, exc)
            return False
        supervised.failures = 0
        supervised.monitor = monitor
        return True

    def _supervise_monitors(self) -> bool:
        """Restart each event monitor that died; True when one was (the host may have
        changed while it was down, so the caller rediscovers)."""
        restarted = False
        for supervised in self._monitors.values():
            if self._stopping.is_set():
                break
            if supervised.running or time.monotonic() < supervised.retry_at:
                continue
            dead = supervised.monitor
            if dead is not None:
                error = dead.error
                log.error("%s event monitor stopped (%s); starting it again", supervised.name,
                          f"{type(error).__name__}: {error}" if error is not None else "no error recorded")
                with self._monitor_lock:  # the dead one's counts carry over, atomically for view()
                    handover = dead.handover()
                    supervised.events = _plus(supervised.events, handover.vf_events)
                    supervised.resyncs += handover.resyncs
                    supervised.handover = handover
                    supervised.monitor = None
                    supervised.died = True
                dead.stop()
            if self._try_start(supervised):
                if supervised.died:
                    supervised.restarts += 1
                supervised.died, supervised.handover = False, None
                restarted = True
        return restarted

    def _on_event(self, event) -> None:
        log.info("VF %s: %s on %s", event.kind, event.vf, event.synthetic)
        self._wake.set()

    def _on_udev_event(self, event) -> None:
        if event.subsystem == "pci":
            log.info("PCI %s: %s (driver %s)", event.action, event.name, event.driver or "none")
            self._wake.set()

    # -- the background loop -----------------------------------------------------------------

    def _loop(self) -> None:
        due = time.monotonic() + self.config.interval
        while not self._stopping.is_set():
            timeout = max(0.0, due - time.monotonic())
            if self._monitors:
                timeout = min(timeout, MONITOR_CHECK_S)
            woke = self._wake.wait(timeout)
            if self._stopping.is_set():
                break
            if self._monitors and self._supervise_monitors():
                woke = True
            if woke:
                time.sleep(EVENT_SETTLE_S)  # let the kernel finish renaming/enslaving
                self._wake.clear()
            elif time.monotonic() < due:
                continue
            due = time.monotonic() + self.config.interval
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - keep serving the last good view
                log.exception("refresh failed; serving the previous state")
            self._write_textfile()

    def refresh(self) -> None:
        """Rediscover the host and rerun the checks.

        On the live host each refresh reads the counters once; the previous refresh's reading
        is the first sample, so the data path (and the datapath.vf check) compare two
        readings one period apart, the way ``accelnet-check --sample-seconds`` does.
        ``--once`` has no previous refresh and reads twice, ONCE_SAMPLE_S apart.

        The watchdog heartbeat moves only here, after a refresh that succeeded: a refresh
        that keeps failing stops the WATCHDOG=1 pings, and systemd restarts the agent.
        """
        assert self._host is not None
        if self._reread:
            self._host = self._open_host()
        sample = ONCE_SAMPLE_S if self.config.once and self._host.live else 0
        options = Options(sample_seconds=sample, imds=self.config.imds, synthetic_drivers=self.config.synthetic_drivers,
                          expect_an=self.config.expect_an, ignore_nics=tuple(self.config.ignore_nics))
        if self._sources is not None:
            self._sources.begin()
        facts = gather(self._host, options)
        if self._host.live and not self.config.once:
            self._pair_with_previous(facts)
        findings = run_checks(facts)
        datapaths = {p.synthetic.name: interface_datapath(facts, p) for p in facts.pairings}
        late = self._sources.late if self._sources is not None else set()
        for name in sorted(late):
            log.warning("%s: no answer within the refresh's %g s; left out of this refresh",
                        name, self.config.refresh_deadline)
        if not self._host.live:
            # No event monitor watches a snapshot: its kernel log is the count of VF events.
            self._seed = vf_event_counts(facts.history)
        self._view = view_from_facts(facts, findings, datapaths, [collector_of(n) for n in late])
        self._facts = facts
        self.heartbeat = time.monotonic()

    def _pair_with_previous(self, facts: Facts) -> None:
        latest: Dict[str, CounterSample] = {}
        for taken in (facts.samples, facts.vf_samples):  # the VFs' own counters too (their drops)
            for name, samples in taken.items():
                if not samples:
                    continue
                now = samples[-1]
                before = self._last_samples.get(name)
                if before is not None and before.stats is not None and now.stats is not None:
                    taken[name] = [before, now]
                latest[name] = now
        self._last_samples = latest

    # -- what the collector asks for ---------------------------------------------------------

    def view(self) -> AgentView:
        view = self._view
        if not self._monitors:
            return records.replace(view, events=_plus(self._seed, view.events))
        with self._monitor_lock:
            events: Dict[Tuple[str, str], int] = {}
            resyncs = 0
            up: Dict[str, bool] = {}
            restarts: Dict[str, int] = {}
            for name, supervised in self._monitors.items():
                up[name] = supervised.running
                restarts[name] = supervised.restarts
                events = _plus(events, supervised.events)
                resyncs += supervised.resyncs
                if supervised.monitor is not None:
                    events = _plus(events, supervised.monitor.vf_events)
                    resyncs += supervised.monitor.resyncs
        return records.replace(view, events=_plus(self._seed, events), resyncs=resyncs, monitors=up, monitor_restarts=restarts)

    def _all_interfaces(self) -> List[str]:
        facts = self._facts
        return [i.name for i in facts.interfaces] if facts else []

    def read_counters(self, names: List[str]) -> Dict[str, CounterSample]:
        return self._counters.read(names) if self._counters is not None else {}

    # -- outputs -----------------------------------------------------------------------------

    def _write_textfile(self) -> None:
        """Write --textfile; a failure (directory missing, disk full) is one log line, and
        the next refresh tries again."""
        if not self.config.textfile or self.textfile_registry is None:
            return
        from accelnet.agent.textfile import write_textfile

        try:
            write_textfile(self.config.textfile, self.textfile_registry)
        except TextfileError as exc:
            log.error("%s (trying again at the next refresh)", exc)

    def reload(self) -> None:
        """SIGHUP: re-read the web config (certificates rotate), forget the cached IMDS answer
        (a VM tag, the declared intent, may have changed) and rediscover now."""
        if self._cache is not None:
            self._cache.forget()
        if self.server is not None:
            try:
                self.server.reload(self.config.web_config_file)
                log.info("web configuration reloaded")
            except Exception as exc:  # noqa: BLE001 - a bad new config keeps the old one
                log.error("web configuration not reloaded, keeping the previous one: %s", exc)
        self._wake.set()

    def healthy(self, max_age: float, now: Optional[float] = None) -> bool:
        """Whether a refresh succeeded within ``max_age`` seconds (what WATCHDOG=1 vouches for)."""
        if self.heartbeat is None:
            return False
        return (time.monotonic() if now is None else now) - self.heartbeat < max_age

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self.server is not None:
            self.server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        for supervised in self._monitors.values():
            if supervised.monitor is not None:
                supervised.monitor.stop()
        if self._counters is not None:
            self._counters.close()
        self._stack.close()
