"""Every metric the alerting rules and the dashboard name is one that is actually served.

A rule on a name the agent does not serve never fires and a panel on one stays empty, both
silently: this is the test that catches a renamed metric.
"""

import importlib.util
import re
import time

import pytest

import packaging_sources as src
from packaging_promql import all_metric_names, counter_arguments, label_names


def _rule_exprs() -> list:
    return [rule["expr"] for rule in src.load_rules()]


def _dashboard_exprs() -> list:
    return src.dashboard_exprs(src.load_dashboard())


def _known() -> dict:
    """What an expression may read: the contract's metrics and prometheus_client's, the series
    Prometheus writes per target and for alerts (ALERTS), and what our own recording rules write."""
    known = dict(src.served_metric_names())
    known.update(src.PROMETHEUS_TARGET_SERIES)
    known.update(src.PROMETHEUS_RULE_SERIES)
    known.update(src.recorded_names())
    return known


def test_contract_table_parses_to_the_metrics_it_lists() -> None:
    path = src.find_contract()
    if path is None:
        pytest.skip("shared/CONTRACT.md is not beside the checkout; the fallback list is used")
    metrics = src.parse_contract_metrics(path.read_text(encoding="utf-8"))
    # Every name in the contract's table follows the Prometheus conventions the rules rely on.
    assert "accelnet_vf_present" in metrics and "accelnet_vf_events_total" in metrics
    for name, kind in metrics.items():
        assert name.startswith("accelnet_"), name
        assert kind in ("gauge", "counter"), (name, kind)
        assert name.endswith("_total") == (kind == "counter"), (name, kind)


def test_contract_parser_rejects_a_document_without_the_table() -> None:
    with pytest.raises(ValueError):
        src.parse_contract_metrics("# accelnet\n## Commands\n| a | b |\n")


def test_client_default_metrics_are_the_process_and_python_ones() -> None:
    names = src.client_default_metrics()
    assert "process_resident_memory_bytes" in names
    assert "python_info" in names
    assert all(name.startswith(("process_", "python_")) for name in names), sorted(names)


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_referenced_metric_is_served(source: str) -> None:
    exprs = _rule_exprs() if source == "rules" else _dashboard_exprs()
    names = all_metric_names(exprs)
    assert names, "no metric names found in the %s: the lexer or the file is broken" % source
    unknown = sorted(names - set(_known()))
    print("%s reference %d metrics: %s" % (source, len(names), ", ".join(sorted(names))))
    assert unknown == [], "%s name metrics nobody serves: %s" % (source, unknown)


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_rate_and_increase_only_on_counters(source: str) -> None:
    exprs = _rule_exprs() if source == "rules" else _dashboard_exprs()
    known = _known()
    used = set()
    for expr in exprs:
        used |= counter_arguments(expr)
    not_counters = sorted(name for name in used if known.get(name) != "counter")
    assert not_counters == [], "rate()/increase() over non-counters: %s" % not_counters


def test_the_dashboard_shows_the_core_metrics() -> None:
    names = all_metric_names(_dashboard_exprs())
    core = {
        "accelnet_vf_present", "accelnet_datapath", "accelnet_vf_events_total",
        "accelnet_vf_tx_dropped_total", "accelnet_vf_rx_bytes_total", "accelnet_synthetic_rx_bytes_total",
    }
    assert core <= names, sorted(core - names)


@pytest.fixture(scope="module")
def agent_pages() -> list:
    """/metrics of the real agent on every fixture host (its own HTTP endpoint)."""
    snapshots = src.fixture_snapshots()
    if importlib.util.find_spec("accelnet.cli.agent") is None or not snapshots:
        pytest.skip("no accelnet-agent or no fixture hosts in this tree")
    started = time.monotonic()
    pages = [src.scrape_agent(snapshot) for snapshot in snapshots]
    print("scraped the agent on %d fixture hosts in %.1f s" % (len(snapshots), time.monotonic() - started))
    return pages


@pytest.fixture(scope="module")
def agent_served(agent_pages: list) -> dict:
    """What the real agent serves across every fixture host."""
    return src.served_in_pages(agent_pages)


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_referenced_label_is_served_by_the_running_agent(source: str, agent_pages: list) -> None:
    """Labels the rules or the dashboard join, group or match on: served by the real agent, or
    in CONTRACT.md's table (the `interface` -> `device` rename reaches the agent on its own
    branch). What is not served yet is printed."""
    exprs = _rule_exprs() if source == "rules" else _dashboard_exprs()
    used = set()
    for expr in exprs:
        used |= label_names(expr)
    used -= src.target_labels() | src.PROMETHEUS_RULE_LABELS
    not_served = used - src.labels_in_pages(agent_pages)
    print("%s: labels in the contract, not served by this agent yet: %s" % (source, sorted(not_served)))
    unknown = sorted(not_served - src.contract_labels() - src.documented_labels())
    assert unknown == [], "%s use labels neither the agent nor the contract has: %s" % (source, unknown)


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_referenced_metric_is_served_by_the_running_agent(source: str, agent_served: dict) -> None:
    """Served by the real agent, or at least in CONTRACT.md's table: a metric the contract
    names reaches the agent on its own branch (issue 12 adds accelnet_vm_info,
    accelnet_scrape_collector_*, accelnet_last_refresh_timestamp_seconds), and the rules are
    written against the contract. What is not served yet is printed."""
    exprs = _rule_exprs() if source == "rules" else _dashboard_exprs()
    names = (all_metric_names(exprs) - set(src.PROMETHEUS_TARGET_SERIES) - set(src.PROMETHEUS_RULE_SERIES)
             - set(src.recorded_names()))
    not_served = names - set(agent_served)
    print("%s: in the contract, not served by this agent yet: %s" % (source, sorted(not_served)))
    unknown = sorted(not_served - set(src.contract_metrics()) - set(src.DOCUMENTED_METRICS))
    assert unknown == [], "%s name metrics neither the agent nor the contract has: %s" % (source, unknown)
    for name in counter_arguments(" ".join(exprs)):
        kind = agent_served.get(name) or src.served_from_contract()[name]
        assert kind == "counter", name


def test_exposition_parser_keeps_families_without_samples() -> None:
    text = (
        "# HELP accelnet_vf_events_total VF events.\n# TYPE accelnet_vf_events_total counter\n"
        "# HELP accelnet_vf_present VF there.\n# TYPE accelnet_vf_present gauge\n"
        'accelnet_vf_present{interface="eth0"} 1.0\n'
    )
    assert src.parse_exposition(text) == {
        "accelnet_vf_events": "counter", "accelnet_vf_events_total": "counter", "accelnet_vf_present": "gauge",
    }


def test_the_man_page_documents_at_least_the_contracts_metrics() -> None:
    """The repository's own contract (accelnet-agent(1)) says at least what CONTRACT.md says,
    and what it adds is served by the agent, with the type its name promises."""
    documented = src.documented_metrics()
    assert set(src.contract_metrics()) <= set(documented)
    assert src.documented_metrics(".SH METRICS\n.TP\n.B accelnet_a_total, accelnet_b\n.SH SIGNALS\n") == {
        "accelnet_a_total": "counter", "accelnet_b": "gauge"}
    served = src.served_from_agent(src.fixture_snapshots()[:1])
    for name in ("accelnet_vf_driver_rx_dropped_total", "accelnet_vf_driver_tx_dropped_total"):
        assert documented[name] == served[name] == "counter", name


def test_metrics_beyond_the_contract_are_documented_with_their_labels() -> None:
    """What the rules may read beyond CONTRACT.md's table is in accelnet-agent(1), labels too
    (tests/test_agreement.py checks the agent serves it where an intent is declared)."""
    page = src.AGENT_MAN.read_text(encoding="utf-8")
    for name, (_, labels) in src.DOCUMENTED_METRICS.items():
        section = page.split(".B %s\n" % name, 1)
        assert len(section) == 2, name
        text = section[1].split(".TP", 1)[0]
        for label in labels:
            assert re.search(r"\b%s\b" % label, text), (name, label)
