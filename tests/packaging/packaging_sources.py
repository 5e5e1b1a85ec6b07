"""Where the packaging tests read their inputs: the rules, the dashboard, and the metric names
the agent serves.

`served_metric_names` is the one switch for the last: today it reads the metric table of
CONTRACT.md (the agent is being written); point it at the agent's real /metrics output once
the agent serves fixture hosts, and every test that uses it follows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import yaml
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

REPO_ROOT = Path(__file__).resolve().parents[2]
RULES = REPO_ROOT / "packaging" / "prometheus" / "accelnet-rules.yml"
RULES_TEST = REPO_ROOT / "packaging" / "prometheus" / "accelnet-rules.test.yml"
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
    "accelnet_build_info": "gauge",
}

# Series Prometheus itself writes for every scrape target (not served by the agent).
PROMETHEUS_TARGET_SERIES = {
    "up": "gauge",
    "scrape_duration_seconds": "gauge",
    "scrape_samples_scraped": "gauge",
    "scrape_samples_post_metric_relabeling": "gauge",
    "scrape_series_added": "gauge",
}


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


def served_from_contract() -> Dict[str, str]:
    served = contract_metrics()
    served.update(client_default_metrics())
    return served


# The switch (see the module docstring).
served_metric_names = served_from_contract


def load_rules() -> List[dict]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def load_rules_tests() -> List[dict]:
    return yaml.safe_load(RULES_TEST.read_text(encoding="utf-8"))["tests"]


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
