"""The Grafana dashboard: loads, is built on variables (datasource, job, instance, device),
has a fleet row, every query is valid PromQL, and the data path queries, run by promtool on
series of a VF, a synthetic and an idle NIC, never draw idle as synthetic."""

import re
import subprocess
from pathlib import Path
from typing import Dict, List

import yaml

import packaging_sources as src
from packaging_helpers import require_tool
from packaging_promql import label_names

SUBSTITUTIONS = {"$__rate_interval": "5m", "$job": ".*", "$instance": ".*", "$device": ".*"}


def _dashboard() -> dict:
    return src.load_dashboard()


def _query_panels() -> List[dict]:
    return [p for p in src.dashboard_panels(_dashboard()) if p["type"] != "row"]


def _panel(title: str) -> dict:
    return next(p for p in src.dashboard_panels(_dashboard()) if p["title"] == title)


def _concrete(expr: str) -> str:
    """A dashboard query with Grafana's variables filled in as "All" would."""
    for variable, value in SUBSTITUTIONS.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, expr
    return expr


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    promtool = require_tool("promtool", "prometheus")
    return subprocess.run([promtool, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=120, cwd=str(cwd))


def test_dashboard_loads_with_the_expected_schema() -> None:
    dashboard = _dashboard()
    assert 36 <= dashboard["schemaVersion"] <= 39
    assert dashboard["uid"] == "accelnet"
    assert "9837" in dashboard["description"]


def test_templating_selects_datasource_job_vm_and_nic() -> None:
    variables = _dashboard()["templating"]["list"]
    assert [v["name"] for v in variables] == ["datasource", "job", "instance", "device"]
    by_name = {v["name"]: v for v in variables}
    assert by_name["datasource"]["type"] == "datasource"
    assert by_name["datasource"]["query"] == "prometheus"
    for name in ("job", "instance", "device"):
        assert by_name[name]["type"] == "query"
        assert by_name[name]["datasource"]["uid"] == "${datasource}"
        assert by_name[name]["multi"] and by_name[name]["includeAll"]
        assert by_name[name]["query"]["query"].endswith(", %s)" % name)
    # Each narrows the next: the VMs of the job, the NICs of the VMs.
    assert '"$job"' in by_name["instance"]["query"]["query"]
    assert '"$job"' in by_name["device"]["query"]["query"] and '"$instance"' in by_name["device"]["query"]["query"]


def test_every_query_uses_the_datasource_variable_and_the_selection() -> None:
    for panel in _query_panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            for selector in re.findall(r"\b(accelnet_\w+|up)\{([^}]*)\}", target["expr"]):
                assert 'job=~"$job"' in selector[1] and 'instance=~"$instance"' in selector[1], (panel["title"], target["expr"])
            assert "$instance" in target["expr"], (panel["title"], target["expr"])


def test_panels_cover_the_issue_and_do_not_overlap() -> None:
    panels = list(src.dashboard_panels(_dashboard()))
    titles = " | ".join(p["title"] for p in panels).lower()
    for topic in ("vf present", "data path over time", "vf vs synthetic", "drops", "events",
                  "vms by data path", "nics by data path", "by size and region", "last refresh", "collector"):
        assert topic in titles, topic
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells = {}
    for panel in panels:
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, "%s overlaps %s" % (panel["title"], cells[(x, y)])
                cells[(x, y)] = panel["title"]


def test_fleet_row_groups_by_data_path_size_and_region() -> None:
    panels = _dashboard()["panels"]
    assert panels[0]["type"] == "row" and panels[0]["title"] == "Fleet"
    fleet = []
    for panel in panels[1:]:
        if panel["type"] == "row":
            break
        fleet.append(panel)
    exprs = " ".join(t["expr"] for p in fleet for t in p["targets"])
    assert "accelnet_vm_info" in exprs
    assert "by (vm_size, location, path)" in exprs and "by (vm_size, location)" in exprs
    assert {"VMs by data path", "NICs by data path"} <= {p["title"] for p in fleet}


def test_queries_and_legends_use_contract_labels_only() -> None:
    """`device`, not `interface`: a legend or a join on a label no series has shows nothing."""
    allowed = src.contract_labels() | src.TARGET_LABELS
    dashboard = _dashboard()
    used = set()
    for expr in src.dashboard_exprs(dashboard):
        used |= label_names(expr)
    legends = [t.get("legendFormat", "") for p in src.dashboard_panels(dashboard) for t in p.get("targets", [])]
    legends += [a.get(k, "") for a in dashboard["annotations"]["list"] for k in ("titleFormat", "textFormat")]
    for legend in legends:
        used |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
    assert used <= allowed, sorted(used - allowed)


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule, with Grafana's variables filled in."""
    rules = []
    for number, expr in enumerate(src.dashboard_exprs(_dashboard())):
        if expr.startswith("label_values("):
            expr = expr[len("label_values("):].rsplit(",", 1)[0]
        rules.append({"record": "dashboard:query_%d" % number, "expr": _concrete(expr)})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = _promtool("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: %d rules found" % len(rules) in result.stdout


# Two VMs: vm1 (D4s_v5, eastus) with eth0 on its VF and eth1 on the synthetic path (AN off),
# vm2 (D2s_v5, westeurope) with eth0 idle: its VF is there, no traffic on either path.
FLEET_SERIES = [
    ('accelnet_vm_info{job="accelnet", instance="vm1:9837", vm_size="Standard_D4s_v5", location="eastus", vm_id="1"}', "1x10"),
    ('accelnet_vm_info{job="accelnet", instance="vm2:9837", vm_size="Standard_D2s_v5", location="westeurope", vm_id="2"}', "1x10"),
    ('accelnet_datapath{job="accelnet", instance="vm1:9837", device="eth0", path="vf"}', "1x10"),
    ('accelnet_datapath{job="accelnet", instance="vm1:9837", device="eth0", path="synthetic"}', "0x10"),
    ('accelnet_datapath{job="accelnet", instance="vm1:9837", device="eth1", path="vf"}', "0x10"),
    ('accelnet_datapath{job="accelnet", instance="vm1:9837", device="eth1", path="synthetic"}', "1x10"),
    ('accelnet_datapath{job="accelnet", instance="vm2:9837", device="eth0", path="vf"}', "0x10"),
    ('accelnet_datapath{job="accelnet", instance="vm2:9837", device="eth0", path="synthetic"}', "0x10"),
]
# (panel title, refId) -> what the query gives on FLEET_SERIES: the idle NIC is never synthetic.
EXPECTED: Dict[tuple, List[tuple]] = {
    ("Data path", "A"): [('{job="accelnet", instance="vm1:9837", device="eth0"}', 2),
                         ('{job="accelnet", instance="vm1:9837", device="eth1"}', 1),
                         ('{job="accelnet", instance="vm2:9837", device="eth0"}', 0)],
    ("NICs by data path", "A"): [('{path="vf"}', 1), ('{path="synthetic"}', 1)],
    ("NICs by data path", "B"): [("{}", 1)],
    ("VMs by data path", "A"): [('{path="vf"}', 1), ('{path="synthetic"}', 1)],
    ("VMs by data path", "B"): [("{}", 1)],
    ("VMs by size and region", "A"): [('{vm_size="Standard_D4s_v5", location="eastus"}', 1),
                                      ('{vm_size="Standard_D2s_v5", location="westeurope"}', 1)],
    ("NICs by data path, size and region", "A"): [('{vm_size="Standard_D4s_v5", location="eastus", path="vf"}', 1),
                                                  ('{vm_size="Standard_D4s_v5", location="eastus", path="synthetic"}', 1)],
    ("NICs by data path, size and region", "B"): [('{vm_size="Standard_D2s_v5", location="westeurope"}', 1)],
    ("VMs by data path, size and region", "A"): [('{vm_size="Standard_D4s_v5", location="eastus", path="vf"}', 1),
                                                 ('{vm_size="Standard_D4s_v5", location="eastus", path="synthetic"}', 1)],
    ("VMs by data path, size and region", "B"): [('{vm_size="Standard_D2s_v5", location="westeurope"}', 1)],
}


def test_data_path_queries_on_a_vf_a_synthetic_and_an_idle_nic(tmp_path: Path) -> None:
    """The dashboard's own queries, evaluated by promtool: idle counts as idle, not synthetic."""
    tests = []
    for (title, ref), samples in EXPECTED.items():
        target = next(t for t in _panel(title)["targets"] if t["refId"] == ref)
        tests.append({"expr": _concrete(target["expr"]), "eval_time": "5m",
                      "exp_samples": [{"labels": labels, "value": value} for labels, value in samples]})
        if any(labels == "{}" for labels, _ in samples):
            assert "idle" in target["legendFormat"], (title, ref)
    (tmp_path / "empty.rules.yml").write_text("groups: []\n")
    document = {"rule_files": ["empty.rules.yml"], "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in FLEET_SERIES],
                           "promql_expr_test": tests}]}
    (tmp_path / "dashboard.test.yml").write_text(yaml.safe_dump(document))
    result = _promtool("test", "rules", "dashboard.test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_data_path_values_are_named_with_idle_apart_from_synthetic() -> None:
    for title in ("Data path", "Data path over time"):
        options = _panel(title)["fieldConfig"]["defaults"]["mappings"][0]["options"]
        assert options["2"]["text"] == "VF"
        assert options["1"]["text"] == "synthetic"
        assert "idle" in options["0"]["text"] and "synthetic" not in options["0"]["text"]
        assert options["0"]["color"] not in (options["1"]["color"], options["2"]["color"])
