"""Where the packaging tests read their inputs: the rules, the dashboard, and the metric names
the agent serves.

`served_metric_names` is the one switch for the last: it reads the metric table of
CONTRACT.md, the metrics the repository documents beyond it (its own contract: the METRICS
section of accelnet-agent(1)) and prometheus_client's own collectors. `served_from_agent` reads the real
agent's /metrics on every fixture host; test_metric_names checks the rules and the dashboard
against both, so a name must be in the contract *and* served.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set

import yaml
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.parser import text_string_to_metric_families

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_HOSTS = REPO_ROOT / "fixtures" / "hosts"
PROMETHEUS_DIR = REPO_ROOT / "packaging" / "prometheus"
RULES = PROMETHEUS_DIR / "accelnet-alerts.rules.yml"
RULES_TEST = PROMETHEUS_DIR / "accelnet-alerts.rules.test.yml"
FLEET_RULES = PROMETHEUS_DIR / "accelnet-fleet.rules.yml"
FLEET_RULES_TEST = PROMETHEUS_DIR / "accelnet-fleet.rules.test.yml"
DASHBOARD = REPO_ROOT / "packaging" / "grafana" / "accelnet.json"

# CONTRACT.md lives in shared/, beside the clone: /work/shared next to /work/main for a
# developer, ../shared next to CI's fresh clone. Same relative place in both.
CONTRACT_CANDIDATES = [REPO_ROOT.parent / "shared" / "CONTRACT.md", REPO_ROOT / "shared" / "CONTRACT.md"]

# The contract's metric table as of this writing, for a checkout without shared/ beside it.
FALLBACK_CONTRACT_METRICS = {
    "accelnet_check_status": "gauge",
    "accelnet_vf_present": "gauge",
    "accelnet_vf_info": "gauge",
    "accelnet_vf_rx_packets_total": "counter",
    "accelnet_vf_rx_bytes_total": "counter",
    "accelnet_vf_tx_packets_total": "counter",
    "accelnet_vf_tx_bytes_total": "counter",
    "accelnet_vf_tx_dropped_total": "counter",
    "accelnet_synthetic_rx_packets_total": "counter",
    "accelnet_synthetic_rx_bytes_total": "counter",
    "accelnet_synthetic_tx_packets_total": "counter",
    "accelnet_synthetic_tx_bytes_total": "counter",
    "accelnet_datapath": "gauge",
    "accelnet_vf_events_total": "counter",
    "accelnet_vm_info": "gauge",
    "accelnet_scrape_collector_success": "gauge",
    "accelnet_scrape_collector_duration_seconds": "gauge",
    "accelnet_last_refresh_timestamp_seconds": "gauge",
    "accelnet_build_info": "gauge",
    "accelnet_kernel_log_up": "gauge",
}

# Series Prometheus itself writes for every scrape target (not served by the agent).
PROMETHEUS_TARGET_SERIES = {
    "up": "gauge",
    "scrape_duration_seconds": "gauge",
    "scrape_samples_scraped": "gauge",
    "scrape_samples_post_metric_relabeling": "gauge",
    "scrape_series_added": "gauge",
}
#: Series Prometheus writes for its alerting rules (a rule may stand down for another's alert).
PROMETHEUS_RULE_SERIES = {"ALERTS": "gauge"}
PROMETHEUS_RULE_LABELS = {"alertname", "alertstate"}


def find_contract() -> Optional[Path]:
    for path in CONTRACT_CANDIDATES:
        if path.is_file():
            return path
    return None


def parse_contract_metrics(text: str) -> Dict[str, str]:
    """name -> type ("gauge", "counter") from the table under "## Prometheus metrics"."""
    section = re.search(r"^## Prometheus metrics.*?$(.*?)(?=^## |\Z)", text, re.S | re.M)
    if section is None:
        raise ValueError("CONTRACT.md has no '## Prometheus metrics' section")
    metrics = {}
    for line in section.group(1).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        kind = cells[1].split(":")[0].split()[0] if cells[1] else ""
        for name in re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[0]):
            metrics[name] = kind
    if not metrics:
        raise ValueError("the metric table of CONTRACT.md is empty")
    return metrics


def parse_contract_labels(text: str) -> Set[str]:
    """Label names of the metric table's third column ("`device`, `path` (`vf`, `synthetic`)":
    device and path; what stands in parentheses are values, not labels)."""
    section = re.search(r"^## Prometheus metrics.*?$(.*?)(?=^## |\Z)", text, re.S | re.M)
    if section is None:
        raise ValueError("CONTRACT.md has no '## Prometheus metrics' section")
    labels = set()
    for line in section.group(1).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            labels |= set(re.findall(r"`([a-zA-Z_][a-zA-Z0-9_]*)`", re.sub(r"\([^)]*\)", "", cells[2])))
    return labels


# The labels of the contract's table as of this writing, for a checkout without shared/.
FALLBACK_CONTRACT_LABELS = {
    "check", "device", "vf", "pci_slot", "vendor_id", "device_id", "driver", "path", "event",
    "vm_size", "location", "vm_id", "collector", "version",
}
# Labels Prometheus attaches to every scraped series.
TARGET_LABELS = {"job", "instance"}
FLEET_SCRAPE_CONFIG = REPO_ROOT / "docs" / "fleet" / "prometheus-azure-sd.yml"

# Metrics the agent serves beyond CONTRACT.md's table ("at least"), documented in
# accelnet-agent(1) and the README: name -> (type, labels). test_metric_names checks that the
# man page documents each and that the agent serves it.
DOCUMENTED_METRICS = {
    "accelnet_nic_intent": ("gauge", {"device", "expect", "source"}),
}


def target_labels() -> Set[str]:
    """job and instance, and every label the shipped relabelling gives a target (region,
    accelnet_agent, ...): the rules may match on those."""
    config = yaml.safe_load(FLEET_SCRAPE_CONFIG.read_text(encoding="utf-8"))
    made = {c["target_label"] for job in config["scrape_configs"] for c in job.get("relabel_configs", [])
            if c.get("target_label") and not c["target_label"].startswith("__")}
    return TARGET_LABELS | made


def documented_labels() -> Set[str]:
    return {label for _, labels in DOCUMENTED_METRICS.values() for label in labels}


def contract_labels() -> Set[str]:
    path = find_contract()
    if path is None:
        return set(FALLBACK_CONTRACT_LABELS)
    return parse_contract_labels(path.read_text(encoding="utf-8"))


def contract_metrics() -> Dict[str, str]:
    path = find_contract()
    if path is None:
        return dict(FALLBACK_CONTRACT_METRICS)
    return parse_contract_metrics(path.read_text(encoding="utf-8"))


def client_default_metrics() -> Dict[str, str]:
    """Sample names of prometheus_client's process, platform and GC collectors, as served."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    names = {}
    for family in registry.collect():
        for sample in family.samples:
            names[sample.name] = family.type
    return names


AGENT_MAN = REPO_ROOT / "packaging" / "man" / "accelnet-agent.1"


def documented_metrics(text: Optional[str] = None) -> Dict[str, str]:
    """The accelnet_* names of accelnet-agent(1)'s METRICS section (term lines ``.B a, b``
    after ``.TP``/``.TQ``), typed by the naming the contract follows: ``_total`` is a counter."""
    if text is None:
        text = AGENT_MAN.read_text(encoding="utf-8")
    section = re.search(r"^\.SH METRICS\n(.*?)(?=^\.SH )", text, re.S | re.M)
    metrics: Dict[str, str] = {}
    lines = section.group(1).splitlines() if section else []
    for previous, line in zip([""] + lines, lines):
        if previous in (".TP", ".TQ") and line.startswith(".B accelnet_"):
            for name in re.findall(r"accelnet_[a-z0-9_]+", line):
                metrics[name] = "counter" if name.endswith("_total") else "gauge"
    return metrics


def served_from_contract() -> Dict[str, str]:
    served = contract_metrics()
    served.update(documented_metrics())
    served.update({name: kind for name, (kind, _) in DOCUMENTED_METRICS.items()})
    served.update(client_default_metrics())
    return served


def parse_exposition(text: str) -> Dict[str, str]:
    """Sample name -> family type of a /metrics page, families without samples included."""
    names = {}
    for family in text_string_to_metric_families(text):
        names[family.name] = family.type
        for sample in family.samples:
            names[sample.name] = family.type
        if family.type == "counter":
            names[family.name + "_total"] = "counter"
    return names


def scrape_agent(snapshot: Path, timeout: float = 30.0) -> str:
    """/metrics of `accelnet-agent --snapshot SNAPSHOT` on a free loopback port.

    The agent is the real one (python -m accelnet.cli.agent from the tree); it is stopped
    with SIGTERM, and killed if it does not go, whatever happens here.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT / "agent"), env.get("PYTHONPATH")]))
    with tempfile.TemporaryFile(mode="w+") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "accelnet.cli.agent", "--snapshot", str(snapshot),
             "--web.listen-address", "127.0.0.1:0"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO_ROOT))
        try:
            deadline = time.monotonic() + timeout
            url = None
            while url is None:
                log.seek(0)
                match = re.search(r"http://127\.0\.0\.1:\d+", log.read())
                if match:
                    url = match.group(0) + "/metrics"
                elif agent.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("accelnet-agent did not start on %s: %s" % (snapshot, log.read()[-2000:]))
                else:
                    time.sleep(0.05)
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.read().decode("utf-8")
        finally:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()


def served_from_agent(snapshots: Iterable[Path]) -> Dict[str, str]:
    """Union of what the real agent serves for each snapshot (some series exist only in some
    states: a host without a VF has no accelnet_vf_info sample)."""
    return served_in_pages([scrape_agent(snapshot) for snapshot in snapshots])


def served_in_pages(pages: Iterable[str]) -> Dict[str, str]:
    served: Dict[str, str] = {}
    for page in pages:
        served.update(parse_exposition(page))
    return served


def labels_in_pages(pages: Iterable[str]) -> Set[str]:
    """Label names of the accelnet_* samples of /metrics pages."""
    labels: Set[str] = set()
    for page in pages:
        for family in text_string_to_metric_families(page):
            if family.name.startswith("accelnet_"):
                for sample in family.samples:
                    labels |= set(sample.labels)
    return labels


def fixture_snapshots() -> List[Path]:
    if not FIXTURE_HOSTS.is_dir():
        return []
    return sorted(path for path in FIXTURE_HOSTS.iterdir() if (path / "snapshot.json").is_file())


# The switch (see the module docstring).
served_metric_names = served_from_contract


def rule_files() -> List[Path]:
    """Every rule file shipped (alerting and recording): packaging/prometheus/*.rules.yml."""
    return sorted(PROMETHEUS_DIR.glob("*.rules.yml"))


def load_rules(path: Optional[Path] = None) -> List[dict]:
    """The rules of one file, or of every rule file when none is named."""
    rules = []
    for one in [path] if path else rule_files():
        document = yaml.safe_load(one.read_text(encoding="utf-8"))
        rules += [rule for group in document["groups"] for rule in group["rules"]]
    return rules


def alert_rules() -> List[dict]:
    return [rule for rule in load_rules() if "alert" in rule]


def recorded_names() -> Dict[str, str]:
    """Series the recording rules write (all gauges: counts, 0/1 states, rates)."""
    return {rule["record"]: "gauge" for rule in load_rules() if "record" in rule}


def load_rules_tests(path: Path = RULES_TEST) -> List[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]


def load_dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_panels(dashboard: dict) -> Iterator[dict]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs(dashboard: dict) -> List[str]:
    """Every PromQL text of the dashboard: panel targets, variables, annotations."""
    exprs = [t["expr"] for p in dashboard_panels(dashboard) for t in p.get("targets", []) if t.get("expr")]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            exprs.append(query["query"] if isinstance(query, dict) else query)
    exprs += [a["expr"] for a in dashboard.get("annotations", {}).get("list", []) if a.get("expr")]
    return exprs
