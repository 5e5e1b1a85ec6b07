"""The Grafana dashboard: loads, is built on variables, and every query is valid PromQL."""

import subprocess
from pathlib import Path

import yaml

import packaging_sources as src
from packaging_helpers import require_tool


def _dashboard() -> dict:
    return src.load_dashboard()


def test_dashboard_loads_with_the_expected_schema() -> None:
    dashboard = _dashboard()
    assert 36 <= dashboard["schemaVersion"] <= 39
    assert dashboard["uid"] == "accelnet"
    assert "9837" in dashboard["description"]


def test_templating_selects_vm_and_nic() -> None:
    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("instance", "interface"):
        assert variables[name]["type"] == "query"
        assert variables[name]["multi"] and variables[name]["includeAll"]
    assert "$instance" in variables["interface"]["query"]["query"]


def test_every_query_uses_the_datasource_variable_and_the_selection() -> None:
    for panel in src.dashboard_panels(_dashboard()):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert "$instance" in target["expr"], (panel["title"], target["expr"])


def test_panels_cover_the_issue_and_do_not_overlap() -> None:
    panels = [p for p in src.dashboard_panels(_dashboard())]
    titles = " | ".join(p["title"] for p in panels).lower()
    for topic in ("vf present", "data path over time", "vf vs synthetic", "drops", "events"):
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


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule, with Grafana's variables filled in."""
    promtool = require_tool("promtool", "prometheus")
    substitutions = {"$__rate_interval": "5m", "$instance": ".*", "$interface": ".*"}
    rules = []
    for number, expr in enumerate(src.dashboard_exprs(_dashboard())):
        if expr.startswith("label_values("):
            expr = expr[len("label_values("):].rsplit(",", 1)[0]
        for variable, value in substitutions.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": "dashboard:query_%d" % number, "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: %d rules found" % len(rules) in result.stdout
