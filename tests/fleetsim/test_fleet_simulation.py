"""A fleet of 100 VMs, simulated end to end on loopback, pages exactly when it should.

100 real ``accelnet-agent`` processes, each serving a snapshot directory whose state the test
changes over time (fleet_hosts.py), each on its own loopback address (127.77.R.N:9837, as
Azure gives each VM its private IP and the agent its port). A real Prometheus discovers
them through file_sd with the labels Azure discovery would give them (``__meta_azure_*``,
which file_sd passes through as azure_sd does), runs them through the shipped relabelling
(docs/fleet/prometheus-azure-sd.yml), recording and alerting rules (packaging/prometheus/)
and sends alerts to a real Alertmanager with the shipped route and inhibit rule
(docs/fleet/alertmanager.yml), which posts to a webhook receiver here.

Time is compressed: one minute of the rules is SECONDS_PER_MINUTE seconds. The test scales
every duration of the shipped files by that factor (scrape and evaluation intervals, `for:`,
rule group intervals, range selectors, Alertmanager's group timers) and changes nothing
else in them but where they send. The scenario, in rule minutes:

- t=0: 80 VMs enrolled (tag accelnet-agent=on) with their agent running; 20 more listed by
  discovery, not enrolled, no agent yet (rollout). vm-w00 has AN off by design (tag
  accelnet=off); vm-w03 has AN off and declares nothing.
- t=5: vm-e65 deallocated (agent stops); t=18 it leaves discovery (the NIC cache's lag).
- t=10: rollout: the 20 agents start; t=12 they are tagged accelnet-agent=on.
- t=15: accelnet-provision tags vm-e60..e64 (an availability set), t=16 deallocates them,
  t=46 starts them, t=48 removes its tag.
- t=20-22: servicing wave: 30 VMs of eastus2 lose their VF; t=30 they get it back.
- t=25, 29, 33, 37, 41: vm-w01's VF is removed and comes back (5 flaps).
- t=45: vm-w02's agent is killed (SIGKILL).

Exactly these notifications arrive, no more: the servicing wave (firing, then resolved; the
30 AccelnetVFMissing it explains are firing in Prometheus and held back by Alertmanager),
AccelnetVFFlapping for vm-w01 at its 4th removal, AccelnetCheckFailing for vm-w03 an hour
after its agent started, AccelnetAgentDown for vm-w02 20 minutes after the kill. Nothing
for the rollout, the deallocated VM, the provisioning run, or the VM with AN off by design.

The run's cost is printed (and written as JSON to $ACCELNET_FLEETSIM_REPORT when set):
Prometheus's CPU and peak memory, the agents' total RSS and PSS, series per VM, samples/s,
remote_write bytes per sample (a loopback sink behind the shipped remote_write filter), how
long the agents took to answer scrapes (median and 99th percentile of every scrape of the
run, as Prometheus timed them) and the size of one agent's page, plain and gzipped.
"""

import gzip
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import yaml

import fleet_hosts as fh
from promstack import Alertmanager, Prometheus, RemoteWriteSink, Webhook, process_usage, self_metrics
from testutil import require

REPO = Path(fh.REPO)
FLEET_DOCS = REPO / "docs" / "fleet"
RULES_DIR = REPO / "packaging" / "prometheus"
SECONDS_PER_MINUTE = float(os.environ.get("ACCELNET_FLEETSIM_SECONDS_PER_MINUTE", "4"))
FACTOR = SECONDS_PER_MINUTE / 60.0  # real seconds per second of the rules
AGENT_PORT = 9837
AGENT_INTERVAL_S = 10  # --check.interval: state changes arrive by SIGHUP, as events wake the agent
SUBSCRIPTION = "8d7a0d7f-9c2b-4f5e-a0d4-1c3e5b7a9f21"
LATE = 5  # rule minutes a notification may arrive after the earliest the rules allow

# --- compressing time ------------------------------------------------------------------------

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


def seconds(duration: str) -> float:
    parts = _DURATION.findall(duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * _UNITS[u] for n, u in parts)


def scaled(duration: str) -> str:
    """DURATION of the rules as real time: 5m -> 20s at 4 s per minute."""
    millis = int(round(seconds(duration) * FACTOR * 1000))
    return "%ds" % (millis // 1000) if millis % 1000 == 0 else "%dms" % millis


def scale_expr(expr: str) -> str:
    """Range selectors, subqueries and offsets of a PromQL expression (not in its strings)."""
    def code(text: str) -> str:
        text = re.sub(r"\[(\w+)(:(\w*))?\]", lambda m: "[%s%s]" % (
            scaled(m.group(1)), (":" + scaled(m.group(3)) if m.group(3) else ":") if m.group(2) else ""), text)
        return re.sub(r"\boffset\s+(\w+)", lambda m: "offset " + scaled(m.group(1)), text)

    parts = re.split(r'("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`)', expr)
    return "".join(part if index % 2 else code(part) for index, part in enumerate(parts))


def scale_rules(document: dict) -> dict:
    for group in document["groups"]:
        if "interval" in group:
            group["interval"] = scaled(group["interval"])
        for rule in group["rules"]:
            rule["expr"] = scale_expr(rule["expr"])
            if "for" in rule:
                rule["for"] = scaled(rule["for"])
    return document


def test_time_compression_scales_every_duration() -> None:
    global FACTOR
    saved, FACTOR = FACTOR, 4 / 60.0
    try:
        assert scaled("5m") == "20s" and scaled("30s") == "2s" and scaled("1d") == "5760s" and scaled("15s") == "1s"
        assert scale_expr('max_over_time(x[1d]) - min_over_time(y{a="[5m]"}[15m]) offset 1h') == \
            'max_over_time(x[5760s]) - min_over_time(y{a="[5m]"}[60s]) offset 240s'
        assert scale_expr("max_over_time(rate(x[5m])[1h:1m])") == "max_over_time(rate(x[20s])[240s:4s])"
    finally:
        FACTOR = saved


# --- the fleet -------------------------------------------------------------------------------

EAST, WEST = "eastus2", "westus2"
ENROLLED = [("accelnet-agent", "on")]
WAVE = ["vm-e%02d" % i for i in range(30)]
PROVISIONED = ["vm-e%02d" % i for i in range(60, 65)]
DEALLOCATED = "vm-e65"
ROLLOUT = ["vm-w%02d" % i for i in range(10, 30)]
BY_DESIGN, FLAPPING, KILLED, UNDECLARED = "vm-w00", "vm-w01", "vm-w02", "vm-w03"


def _layout() -> Dict[str, list]:
    east = [("vm-e%02d" % i, ENROLLED) for i in range(70)]
    west = []
    for i in range(30):
        name = "vm-w%02d" % i
        tags = [] if name in ROLLOUT else list(ENROLLED)
        if name == BY_DESIGN:
            tags.append(("accelnet", "off"))
        west.append((name, tags))
    return {EAST: east, WEST: west}


class AgentProcess:
    """The real accelnet-agent serving one VM's ``current`` snapshot on its own address."""

    def __init__(self, vm: fh.SimulatedVm, address: str, logdir: Path) -> None:
        self.vm = vm
        self.address = address
        self.log = logdir / ("%s.log" % vm.name)
        self.proc: Optional[subprocess.Popen] = None
        self.started_at: Optional[float] = None

    def start(self) -> None:
        with open(str(self.log), "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "accelnet.cli.agent", "--snapshot", self.vm.current,
                 "--web.listen-address", self.address, "--check.interval", str(AGENT_INTERVAL_S),
                 "--log.level", "warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(REPO))
        self.started_at = time.monotonic()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen("http://%s/-/ready" % self.address, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def hup(self) -> None:
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGHUP)

    def send(self, sig: int) -> None:
        """Send SIG without waiting: a set of VMs stops at once, as a deallocation does."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _wait_ready(agents: List[AgentProcess], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(agents)
    while waiting:
        waiting = [a for a in waiting if not a.ready()]
        for agent in waiting:
            if not agent.running:
                raise RuntimeError("agent %s exited: %s" % (agent.vm.name, agent.log.read_text()[-2000:]))
        if waiting and time.monotonic() > deadline:
            raise RuntimeError("agents not ready: %s" % [a.vm.name for a in waiting])
        time.sleep(0.2)


class Discovery:
    """The file_sd file: what Azure discovery would list, as its ``__meta_azure_*`` labels."""

    def __init__(self, path: Path, agents: Dict[str, AgentProcess]) -> None:
        self.path = path
        self.agents = agents
        self.listed = set(agents)
        self.tags: Dict[str, Dict[str, str]] = {name: dict(a.vm.tags) for name, a in agents.items()}

    def write(self) -> None:
        groups = []
        for name in sorted(self.listed):
            agent = self.agents[name]
            labels = {
                "__meta_azure_subscription_id": SUBSCRIPTION,
                "__meta_azure_tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "__meta_azure_machine_id": "/subscriptions/%s/resourceGroups/rg-fleet/providers/"
                                           "Microsoft.Compute/virtualMachines/%s" % (SUBSCRIPTION, name),
                "__meta_azure_machine_name": name, "__meta_azure_machine_computer_name": name,
                "__meta_azure_machine_os_type": "Linux", "__meta_azure_machine_location": agent.vm.region,
                "__meta_azure_machine_resource_group": "rg-fleet",
                "__meta_azure_machine_private_ip": agent.address.split(":")[0],
                "__meta_azure_machine_size": "Standard_D4s_v6",
            }
            for tag, value in self.tags[name].items():
                labels["__meta_azure_machine_tag_" + re.sub(r"[^a-zA-Z0-9_]", "_", tag)] = value
            groups.append({"targets": [agent.address], "labels": labels})
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(groups, indent=1))
        os.replace(str(tmp), str(self.path))

    def tag(self, names: List[str], tag: str, value: Optional[str]) -> None:
        for name in names:
            if value is None:
                self.tags[name].pop(tag, None)
            else:
                self.tags[name][tag] = value
        self.write()

    def drop(self, name: str) -> None:
        self.listed.discard(name)
        self.write()


def _shipped_scrape_config() -> dict:
    return yaml.safe_load((FLEET_DOCS / "prometheus-azure-sd.yml").read_text(encoding="utf-8"))


def _prometheus_config(workdir: Path, targets: Path, alertmanager: str, sink: str) -> dict:
    shipped = _shipped_scrape_config()
    job = shipped["scrape_configs"][0]
    job.pop("azure_sd_configs")
    job["file_sd_configs"] = [{"files": [str(targets)]}]
    config = {
        "global": {
            "scrape_interval": scaled(shipped["global"]["scrape_interval"]),
            "scrape_timeout": scaled(shipped["global"]["scrape_interval"]),
            "evaluation_interval": scaled(shipped["global"]["evaluation_interval"]),
            "external_labels": shipped["global"]["external_labels"],
        },
        "rule_files": [],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [job],
    }
    (workdir / "rules").mkdir(parents=True)
    for path in shipped["rule_files"]:
        source = RULES_DIR / Path(path).name
        document = scale_rules(yaml.safe_load(source.read_text(encoding="utf-8")))
        (workdir / path).write_text(yaml.safe_dump(document, sort_keys=False))
        config["rule_files"].append(path)
    remote = yaml.safe_load((FLEET_DOCS / "remote-write-thanos.yml").read_text(encoding="utf-8"))["remote_write"]
    remote[0]["url"] = sink
    config["remote_write"] = remote
    return config


def _alertmanager_config(webhook: str) -> dict:
    config = yaml.safe_load((FLEET_DOCS / "alertmanager.yml").read_text(encoding="utf-8"))
    route = config["route"]
    for key in ("group_wait", "group_interval", "repeat_interval"):
        route[key] = scaled(route[key])
    (receiver,) = config["receivers"]
    receiver["webhook_configs"][0]["url"] = webhook
    return config


def _notifications(webhook: Webhook, t0: float) -> List[Tuple[float, str, str, Tuple]]:
    """(rule minute it arrived, status, alertname, ((instance or region, alert status), ...))."""
    out = []
    for item in webhook.received():
        body = item["body"]
        alerts = tuple(sorted((a["labels"].get("vm") or a["labels"].get("region"), a["status"])
                              for a in body["alerts"]))
        out.append(((item["at"] - t0) / SECONDS_PER_MINUTE, body["status"], body["groupLabels"]["alertname"], alerts))
    return out


def _addresses(names: List[str]) -> Dict[str, str]:
    """127.77.R.N:9837 per VM, R the region, N its number (every 127/8 address is loopback)."""
    out = {}
    for name in names:
        region = 1 if name.startswith("vm-e") else 2
        out[name] = "127.77.%d.%d:%d" % (region, int(name[4:]) + 1, AGENT_PORT)
    return out


def _ports_free(addresses: List[str]) -> bool:
    import socket

    for address in addresses:
        host, port = address.split(":")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, int(port)))
            except OSError:
                return False
    return True


def _page_size(address: str) -> Dict[str, int]:
    """One agent's /metrics as it is and as Prometheus fetches it (gzip)."""
    request = urllib.request.Request("http://%s/metrics" % address, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        assert response.headers.get("Content-Encoding") == "gzip", response.headers
    return {"bytes": len(gzip.decompress(body)), "gzip_bytes": len(body)}


def _rss(agents: List[AgentProcess]) -> Dict[str, float]:
    total = {"rss": 0.0, "pss": 0.0, "count": 0}
    for agent in agents:
        if agent.running:
            try:
                usage = process_usage(agent.proc.pid)  # type: ignore[union-attr]
            except OSError:
                continue
            total["rss"] += usage["rss"]
            total["pss"] += usage["pss"]
            total["count"] += 1
    return total


def test_simulated_fleet(tmp_path: Path) -> None:
    require(sys.platform.startswith("linux"), "needs Linux loopback addresses and /proc")
    library = fh.HostLibrary(str(tmp_path))
    vms = {vm.name: vm for vm in fh.fleet(library, str(tmp_path), _layout())}
    addresses = _addresses(sorted(vms))
    require(_ports_free(list(addresses.values())), "127.77.0.0/16 port 9837 is in use")
    logdir = tmp_path / "logs"
    logdir.mkdir()
    for vm in vms.values():
        vm.switch(fh.AN_OFF if vm.name in (BY_DESIGN, UNDECLARED) else fh.HEALTHY)
    for name in WAVE:  # the states the scenario switches to, made before it starts
        vms[name].prepare(fh.REMOVED)
        vms[name].prepare(fh.RETURNED)
    for flap in range(1, fh.FLAPS + 1):
        vms[FLAPPING].prepare(fh.flapped(flap))
    agents = {name: AgentProcess(vm, addresses[name], logdir) for name, vm in vms.items()}
    discovery = Discovery(tmp_path / "targets.json", agents)
    discovery.write()
    report: Dict[str, object] = {"seconds_per_rule_minute": SECONDS_PER_MINUTE, "vms": len(vms)}
    events: List[Tuple[float, str]] = []
    try:
        with Webhook() as webhook, RemoteWriteSink() as sink, \
                Alertmanager(tmp_path / "alertmanager", _alertmanager_config(webhook.url)) as alertmanager:
            config = _prometheus_config(tmp_path / "prometheus", discovery.path,
                                        "127.0.0.1:%d" % alertmanager.port, sink.url)
            first = [a for n, a in agents.items() if n not in ROLLOUT and n != UNDECLARED]
            for agent in first:
                agent.start()
            _wait_ready(first)
            with Prometheus(tmp_path / "prometheus", config) as prometheus:
                _run_scenario(prometheus, alertmanager, webhook, sink, agents, discovery, report, events)
    finally:
        for agent in agents.values():
            agent.stop(signal.SIGKILL)
        print(json.dumps(report, indent=2, sort_keys=True))
        print("\n".join("t=%5.1f %s" % event for event in events))
        if os.environ.get("ACCELNET_FLEETSIM_REPORT"):
            Path(os.environ["ACCELNET_FLEETSIM_REPORT"]).write_text(json.dumps(report, indent=2, sort_keys=True))


def _run_scenario(prometheus: Prometheus, alertmanager: Alertmanager, webhook: Webhook, sink: RemoteWriteSink,
                  agents: Dict[str, AgentProcess], discovery: Discovery, report: Dict[str, object],
                  events: List[Tuple[float, str]]) -> None:
    # Wait until Prometheus has scraped every running agent once: t=0 starts with the fleet up.
    deadline = time.monotonic() + 120
    while len(prometheus.query('up{job="accelnet"} == 1')) < len(agents) - len(ROLLOUT) - 1:
        assert time.monotonic() < deadline, prometheus.targets()
        time.sleep(0.5)
    t0 = time.monotonic()
    report["load_average_1m_start"] = round(os.getloadavg()[0], 1)
    cpu0 = process_usage(prometheus.pid)["cpu_s"]
    agents_cpu0 = {n: process_usage(a.proc.pid)["cpu_s"] for n, a in agents.items() if a.running}  # type: ignore[union-attr]
    sink0 = sink.counts()
    remote0 = self_metrics(prometheus.url)
    peak = {"rss": 0.0, "pss": 0.0, "count": 0}
    probes: Dict[str, object] = {}
    slip = [0.0]  # how late, in rule minutes, the latest step of the scenario ran

    def run(minute: float, what: str, action: Callable[[], None]) -> None:
        delay = t0 + minute * SECONDS_PER_MINUTE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        action()
        events.append(((time.monotonic() - t0) / SECONDS_PER_MINUTE, what))
        slip[0] = max(slip[0], events[-1][0] - minute)
        usage = _rss(list(agents.values()))
        if usage["rss"] > peak["rss"]:
            peak.update(usage)

    def switch(names: List[str], state: str) -> Callable[[], None]:
        def action() -> None:
            for name in names:
                agents[name].vm.switch(state)
                agents[name].hup()
        return action

    def start(names: List[str]) -> Callable[[], None]:
        def action() -> None:
            for name in names:
                agents[name].start()
        return action

    def stop(names: List[str], sig: int = signal.SIGTERM) -> Callable[[], None]:
        def action() -> None:
            for name in names:
                agents[name].send(sig)
            for name in names:
                agents[name].stop(sig)
        return action

    def probe_wave() -> None:
        firing = prometheus.query('ALERTS{alertname="AccelnetVFMissing", alertstate="firing"}')
        held = [a for a in alertmanager.alerts() if a["labels"]["alertname"] == "AccelnetVFMissing"]
        probes["vf_missing_firing"] = sorted(a["metric"]["vm"] for a in firing)
        probes["vf_missing_in_alertmanager"] = sorted(a["labels"]["vm"] for a in held)
        probes["vf_missing_inhibited"] = sorted(a["labels"]["vm"] for a in held if a["status"]["inhibitedBy"])

    scenario = [
        (0.5, "vm-w03 (AN off, nothing declared): agent starts", start([UNDECLARED])),
        (5, "vm-e65 deallocated", stop([DEALLOCATED])),
        (10, "rollout: 20 agents start", start(ROLLOUT)),
        (12, "rollout: tagged accelnet-agent=on", lambda: discovery.tag(ROLLOUT, "accelnet-agent", "on")),
        (15, "provision: tag accelnet-provision", lambda: discovery.tag(
            PROVISIONED, "accelnet-provision", "start again; by accelnet-provision enable --vm vm-e60; 2025-06-03T17:43:12Z")),
        (16, "provision: deallocate 5", stop(PROVISIONED)),
        (18, "vm-e65 leaves discovery", lambda: discovery.drop(DEALLOCATED)),
        (28, "probe: the wave's per-VM alerts", probe_wave),
        (30, "wave: VFs back", switch(WAVE, fh.RETURNED)),
        (45, "vm-w02's agent killed", stop([KILLED], signal.SIGKILL)),
        (46, "provision: start 5", start(PROVISIONED)),
        (48, "provision: untag", lambda: discovery.tag(PROVISIONED, "accelnet-provision", None)),
        (76, "end", lambda: None),
    ]
    scenario += [(20 + 2.0 * i / len(WAVE), "wave: %s loses its VF" % name, switch([name], fh.REMOVED))
                 for i, name in enumerate(WAVE)]
    scenario += [(minute, "vm-w01 flap %d" % n, switch([FLAPPING], fh.flapped(n)))
                 for n, minute in enumerate((25, 29, 33, 37, 41), 1)]
    for minute, what, action in sorted(scenario, key=lambda step: step[0]):
        run(minute, what, action)

    elapsed = time.monotonic() - t0
    usage = process_usage(prometheus.pid)
    # CPU of the agents that ran from t=0 to the end (the others started or stopped meanwhile)
    steady = [n for n, a in agents.items() if a.running and n in agents_cpu0 and a.started_at is not None
              and a.started_at < t0]
    agents_cpu = sum(process_usage(agents[n].proc.pid)["cpu_s"] - agents_cpu0[n] for n in steady)  # type: ignore[union-attr]
    metrics = self_metrics(prometheus.url)
    sent = sink.counts()
    samples = _remote_samples(metrics) - _remote_samples(remote0)
    per_vm = prometheus.query('count by (vm) ({job="accelnet", vm=~"vm-e1[0-9]"})')
    recorded = prometheus.query('count by (vm) ({__name__=~".+:.+", vm=~"vm-e1[0-9]"})')
    written = prometheus.query('count by (vm) ({job="accelnet", __name__=~"accelnet_.*|up", vm=~"vm-e1[0-9]"})')
    kinds = {kind: prometheus.query('max(count by (vm) ({job="accelnet", vm=~"vm-e1[0-9]", __name__=~"%s"}))' % regex)
             for kind, regex in (("accelnet", "accelnet_.*"), ("client", "(process|python)_.*"),
                                 ("prometheus", "up|scrape_.*"))}
    # how long the agents took to answer: every scrape of the run, as Prometheus timed it
    durations = sorted(float(value) for series in prometheus.query(
        'scrape_duration_seconds{job="accelnet"}[%ds]' % int(elapsed)) for _, value in series["values"])
    page = _page_size(agents["vm-e10"].address)
    report.update({
        "run_s": round(elapsed, 1),
        "scenario_slip_rule_min": round(slip[0], 1),
        "load_average_1m_end": round(os.getloadavg()[0], 1),
        "prometheus_cpu_s": round(usage["cpu_s"] - cpu0, 1),
        "prometheus_cpu_share": round((usage["cpu_s"] - cpu0) / elapsed, 3),
        "prometheus_peak_rss_mib": round(usage["peak_rss"] / 2 ** 20, 1),
        "prometheus_head_series": metrics.get("prometheus_tsdb_head_series"),
        "samples_appended_per_s": round((_appended(metrics) - _appended(remote0)) / elapsed),
        "agents_total_rss_mib": round(peak["rss"] / 2 ** 20, 1),
        "agents_total_pss_mib": round(peak["pss"] / 2 ** 20, 1),
        "agents_counted": peak["count"],
        "agents_cpu_share_each": round(agents_cpu / len(steady) / elapsed, 4) if steady else None,
        "series_per_vm_scraped": max(int(r["value"][1]) for r in per_vm),
        "series_per_vm_scraped_by_kind": {kind: int(r[0]["value"][1]) for kind, r in kinds.items()},
        "series_per_vm_recorded": max(int(r["value"][1]) for r in recorded) if recorded else 0,
        "series_per_vm_remote_written": max(int(r["value"][1]) for r in written),
        "scrapes_timed": len(durations),
        "scrape_duration_p50_ms": round(_rank(durations, 0.5) * 1000, 1),
        "scrape_duration_p99_ms": round(_rank(durations, 0.99) * 1000, 1),
        "scrape_page_bytes": page["bytes"],
        "scrape_page_gzip_bytes": page["gzip_bytes"],
        "remote_write_bytes": sent["bytes"] - sink0["bytes"],
        "remote_write_samples": samples,
        "remote_write_bytes_per_s": round((sent["bytes"] - sink0["bytes"]) / elapsed),
        "remote_write_bytes_per_sample": round((sent["bytes"] - sink0["bytes"]) / samples, 2) if samples else None,
        "probes": probes,
    })

    probes["prometheus_alerts_at_end"] = sorted(
        (a["labels"]["alertname"], a["labels"].get("vm") or a["labels"].get("region"), a["state"])
        for a in prometheus.alerts())
    probes["alertmanager_alerts_at_end"] = sorted(
        (a["labels"]["alertname"], a["labels"].get("vm") or a["labels"].get("region"), a["status"]["state"])
        for a in alertmanager.alerts())
    got = _notifications(webhook, t0)
    report["notifications"] = got
    timeout_ms = seconds(scaled(_shipped_scrape_config()["global"]["scrape_interval"])) * 1000
    if report["scrape_duration_p99_ms"] >= timeout_ms or slip[0] > 1:  # type: ignore[operator]
        # Scrapes that time out read as agents down, and a scenario run late is another
        # scenario: say so before the notifications differ.
        print("the machine was too loaded for %g s per rule minute: scrapes took %s ms (median) and %s ms "
              "(99th percentile) against a timeout of %d ms, a step of the scenario ran %.1f rule minutes "
              "late, load average %s to %s; set ACCELNET_FLEETSIM_SECONDS_PER_MINUTE higher" % (
                  SECONDS_PER_MINUTE, report["scrape_duration_p50_ms"], report["scrape_duration_p99_ms"], timeout_ms,
                  slip[0], report["load_average_1m_start"], report["load_average_1m_end"]))
    keyed = sorted((status, name, alerts) for _, status, name, alerts in got)
    assert keyed == sorted([
        ("firing", "AccelnetVFServicingWave", ((EAST, "firing"),)),
        ("resolved", "AccelnetVFServicingWave", ((EAST, "resolved"),)),
        ("firing", "AccelnetVFFlapping", ((FLAPPING, "firing"),)),
        ("firing", "AccelnetCheckFailing", ((UNDECLARED, "firing"),)),
        ("firing", "AccelnetAgentDown", ((KILLED, "firing"),)),
    ]), got
    when = {(status, name): minute for minute, status, name, _ in got}
    # Never before the rules allow; late by LATE rule minutes at most (a loaded machine delays
    # scrapes, evaluations and Alertmanager's timers by seconds, which are minutes here).
    assert 20 <= when[("firing", "AccelnetVFServicingWave")] < 25  # before any AccelnetVFMissing could
    # The wave ends when fewer than a tenth of the ~100 agents (< 10 VMs) removed a VF within 15
    # minutes: 15 minutes after the 21st removal, less one scrape interval (min_over_time's
    # window holds the last sample before a removal, up to one scrape older), at the earliest.
    scrape_minutes = seconds(_shipped_scrape_config()["global"]["scrape_interval"]) / 60
    earliest_end = 20 + 2.0 * (len(WAVE) - 10) / len(WAVE) + 15 - scrape_minutes
    assert earliest_end <= when[("resolved", "AccelnetVFServicingWave")] < 42 + LATE  # + group_interval
    assert 37 <= when[("firing", "AccelnetVFFlapping")] < 41  # at the 4th removal, before the 5th
    assert 60.5 <= when[("firing", "AccelnetCheckFailing")] < 61 + LATE
    assert 65 <= when[("firing", "AccelnetAgentDown")] < 65 + LATE
    # The wave's 30 per-VM alerts did fire in Prometheus; Alertmanager held every one back.
    assert probes["vf_missing_firing"] == sorted(WAVE), probes
    assert probes["vf_missing_inhibited"] == probes["vf_missing_in_alertmanager"] == sorted(WAVE), probes


def _rank(ordered: List[float], q: float) -> float:
    """The Q-quantile of ORDERED by nearest rank (a value that was measured, not interpolated)."""
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _appended(metrics: Dict[str, float]) -> float:
    """Samples Prometheus appended to its head (scraped and recorded; one series before 2.44,
    one per sample type since)."""
    return sum(value for name, value in metrics.items()
               if re.match(r"prometheus_tsdb_head_samples_appended_total(\{|$)", name))


def _remote_samples(metrics: Dict[str, float]) -> float:
    """Samples Prometheus sent by remote_write (the name changed across 2.x releases)."""
    for name, value in metrics.items():
        if re.match(r"prometheus_remote_storage_(succeeded_)?samples_total\{", name):
            return value
    raise KeyError("no prometheus_remote_storage_samples_total in %s" % sorted(
        n for n in metrics if "remote_storage" in n)[:20])
