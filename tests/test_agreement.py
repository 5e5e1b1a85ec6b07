"""One host, one verdict: accelnet-check, the agent and the shipped alert rules agree.

Every fixture host runs, as captured, with its intent declared (the VM tag accelnet=off in its
IMDS document, or the intent file where it has no IMDS) and with it given as flags
(``--expect-an off`` to the check and to the agent); the host with a NIC without AN also with
that NIC declared off in the file and ignored by flag (``--ignore-nic eth1``), and the host
with AN off also with a declaration that cannot be read (a typo in the file), through

- ``accelnet-check --snapshot`` (its exit status and JSON report),
- the real agent serving the same snapshot over HTTP (``accelnet_check_status`` and the
  series the rules read: ``accelnet_vf_present``, ``accelnet_nic_intent``...),
- the shipped alerting rules: the agent's /metrics turned into promtool input series, two
  hours of them (the longest ``for:`` is an hour), every agent up and enrolled, the VF path's
  packet and drop counters rising at the rates the check measured between the snapshot's two
  samples,

and the three say the same thing: the agent's worst check is the exit status and each check's
value is the report's status; an OK host (exit 0) raises no alert; a WARNING or CRITICAL host
raises at least one (a host failing datapath.vf for drops: AccelnetVFDrops at the check's
level, and nothing else); an UNKNOWN host (not Azure, or a declaration that cannot be read on
a host that lost no VF) raises none (nothing is known to be wrong).
"""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Set, Tuple

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import goldens
from accelnet.agent.daemon import Agent, AgentConfig
from accelnet.cli.check import main as check_main
from accelnet.diagnosis.status import SEVERITY
from testutil import require_tool

REPO = Path(goldens.REPO)
RULES = REPO / "packaging" / "prometheus" / "accelnet-alerts.rules.yml"
HOURS = 2
#: The host with a second NIC without AN: the NIC-level declaration's case.
TWO_NICS = "ubuntu2204-2nics-one-vf"


#: The host with AN off: the case a mistyped declaration must not pass for.
AN_OFF = "centos7-an-off"
#: What the intent file says, per way of declaring through it.
_FILES = {"tag": "expect-an off\n", "eth1-off": "expect-an off eth1\n", "typo": "expect-an of\n"}


class Host(NamedTuple):
    """One run of the three: a snapshot, and the intent flags given to the check and the agent."""

    name: str
    snapshot: Path
    expect_an: Optional[str] = None
    ignore_nics: Tuple[str, ...] = ()

    @property
    def flags(self) -> List[str]:
        out = ["--expect-an", self.expect_an] if self.expect_an else []
        for nic in self.ignore_nics:
            out += ["--ignore-nic", nic]
        return out


def _declared(source: str, target: Path, how: str) -> None:
    """A copy of fixture SOURCE at TARGET, declaring its intent HOW: "tag" (accelnet=off in
    IMDS, or the file where the host has no IMDS document), "eth1-off" or "typo" (the file)."""
    shutil.copytree(source, str(target), symlinks=True)
    imds = target / "cmd" / "imds.json"
    if how == "tag" and imds.exists():
        doc = json.loads(imds.read_text())
        doc["compute"]["tagsList"] = [{"name": "accelnet", "value": "off"}]
        imds.write_text(json.dumps(doc))
        return
    conf = target / "root" / "etc" / "accelnet" / "accelnet.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(_FILES[how])


def _hosts(tmp: Path) -> List[Host]:
    hosts = []
    for name in goldens.fixture_names():
        source = Path(goldens.FIXTURES) / name
        _declared(str(source), tmp / (name + "+declared"), "tag")
        hosts += [Host(name, source), Host(name + "+declared", tmp / (name + "+declared")),
                  Host(name + "+flags", source, expect_an="off")]
    for base, how in ((TWO_NICS, "eth1-off"), (AN_OFF, "typo")):
        _declared(os.path.join(goldens.FIXTURES, base), tmp / (base + "+" + how), how)
        hosts.append(Host(base + "+" + how, tmp / (base + "+" + how)))
    hosts.append(Host(TWO_NICS + "+ignore-eth1", Path(goldens.FIXTURES) / TWO_NICS, ignore_nics=("eth1",)))
    return hosts


def _check(host: Host) -> Tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = check_main(["--snapshot", str(host.snapshot), "--json", "--sample-seconds", "0"] + host.flags)
    return code, json.loads(out.getvalue())


def _scrape(host: Host) -> str:
    agent = Agent(AgentConfig(listen="127.0.0.1:0", snapshot=str(host.snapshot),
                              expect_an=host.expect_an, ignore_nics=host.ignore_nics))
    agent.start()
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % agent.server.port, timeout=10) as response:
            return response.read().decode()
    finally:
        agent.stop()


def _samples(text: str) -> List[Tuple[str, Dict[str, str], float]]:
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("accelnet_") and not sample.name.endswith("_created"):
                out.append((sample.name, dict(sample.labels), sample.value))
    return out


def _series(name: str, labels: Dict[str, str]) -> str:
    def quote(value: str) -> str:
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "%s{%s}" % (name, ", ".join("%s=%s" % (k, quote(v)) for k, v in sorted(labels.items())))


#: The agent's counters each drop row of datapath.vf's evidence measured (diagnosis/drops.py):
#: counter -> (the drop counter, the packet counter beside it, whether that one counts the drops).
_DROP_SERIES = {
    "netvsc_tx": ("accelnet_vf_tx_dropped_total", "accelnet_vf_tx_packets_total", False),
    "vf_tx": ("accelnet_vf_driver_tx_dropped_total", "accelnet_vf_tx_packets_total", True),
    "vf_rx": ("accelnet_vf_driver_rx_dropped_total", "accelnet_vf_rx_packets_total", False),
}


def _growth(report: dict) -> Dict[Tuple[str, str], float]:
    """(series, device) -> its rise per minute: the VF path's packets and drops at the rates the
    check measured between the snapshot's two samples, so the rules see what the check saw."""
    growth: Dict[Tuple[str, str], float] = {}
    for check in report["checks"]:
        if check["id"] != "datapath.vf":
            continue
        for row in (check.get("evidence") or {}).get("interfaces", []):
            for drop in row.get("drops", []):
                dropped, packets, counted = _DROP_SERIES[drop["counter"]]
                per_minute = 60.0 / drop["seconds"]
                growth[(dropped, row["interface"])] = drop["dropped"] * per_minute
                carried = drop["carried"] if counted else drop["carried"] - drop["dropped"]
                growth[(packets, row["interface"])] = carried * per_minute
    return growth


def _input_series(instance: str, samples: List[Tuple[str, Dict[str, str], float]],
                  growth: Dict[Tuple[str, str], float]) -> List[dict]:
    """HOURS of the agent's page, scraped every minute: every value as served (the last
    refresh following the clock, the VF path's counters at the check's measured rates), and
    the target up and enrolled."""
    minutes = HOURS * 60
    target = {"job": "accelnet", "instance": instance}
    series = [{"series": _series("up", dict(target, accelnet_agent="on")), "values": "1x%d" % minutes}]
    for name, labels, value in samples:
        rise = 60.0 if name == "accelnet_last_refresh_timestamp_seconds" else growth.get((name, labels.get("device", "")))
        values = "%r+%rx%d" % (float(value), rise, minutes) if rise else "%rx%d" % (float(value), minutes)
        series.append({"series": _series(name, dict(labels, **target)), "values": values})
    return series


def _firing(tmp: Path, pages: Dict[str, str], reports: Dict[str, dict]) -> Dict[str, Set[Tuple[str, str]]]:
    """instance -> the alerts (name, severity) the shipped rules fire on it after HOURS
    (promtool lists what it got where the test expects nothing)."""
    alerts = sorted({r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r})
    series = [s for instance, page in sorted(pages.items())
              for s in _input_series(instance, _samples(page), _growth(reports[instance]))]
    test = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "alert_rule_test": [{"eval_time": "%dh" % HOURS, "alertname": a} for a in alerts]}]}
    (tmp / "agreement.test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([require_tool("promtool", "prometheus"), "test", "rules", "agreement.test.yml"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            timeout=600, cwd=str(tmp))
    assert "SUCCESS" in result.stdout or "FAILED" in result.stdout, result.stdout[-3000:]
    firing: Dict[str, Set[Tuple[str, str]]] = {instance: set() for instance in pages}
    for block in result.stdout.split("alertname: ")[1:]:
        alert = block.split(",", 1)[0]
        got = block.split("got:", 1)[1] if "got:" in block else ""
        for instance, severity in re.findall(r'instance="([^"]+)"[^}]*severity="(\w+)"', got):
            firing[instance].add((alert, severity))
    return firing


def test_check_agent_and_alerts_agree(tmp_path: Path) -> None:
    verdicts: Dict[str, Tuple[int, dict]] = {}
    pages: Dict[str, str] = {}
    for host in _hosts(tmp_path):
        verdicts[host.name] = _check(host)
        pages[host.name] = _scrape(host)
    levels = _firing(tmp_path, pages, {name: report for name, (_, report) in verdicts.items()})
    firing = {name: {alert for alert, _ in got} for name, got in levels.items()}
    table = []
    dropping: List[str] = []
    for name, (code, report) in sorted(verdicts.items()):
        served = {labels["check"]: value for metric, labels, value in _samples(pages[name])
                  if metric == "accelnet_check_status"}
        expected = {c["id"]: float(SEVERITY[c["status"]]) for c in report["checks"] if c["status"] != "skipped"}
        table.append("%-45s exit %d  agent worst %s  alerts %s" % (
            name, code, int(max(served.values())) if served else "-", sorted(firing[name]) or "-"))
        # the agent: each check as the report has it, the worst as the exit status
        assert served == expected, (name, served, expected)
        assert int(max(served.values())) == code, (name, served, code)
        present = {labels["device"]: value for metric, labels, value in _samples(pages[name])
                   if metric == "accelnet_vf_present"}
        assert present == {i["name"]: float(i["vf"] is not None) for i in report["interfaces"]}, name
        # the alerts: silent exactly where nothing is wrong
        if code in (0, 3):
            assert firing[name] == set(), (name, code, firing[name])
        else:
            assert firing[name], (name, code, report["summary"])
        # drops on the VF path: AccelnetVFDrops at datapath.vf's level, and no second alert
        datapath = {c["id"]: c for c in report["checks"]}.get("datapath.vf", {})
        rows = (datapath.get("evidence") or {}).get("interfaces", [])
        if any(d["status"] != "ok" for row in rows for d in row.get("drops", [])) and datapath["status"] != "ok":
            assert levels[name] == {("AccelnetVFDrops", datapath["status"])}, (name, levels[name])
            dropping.append(name)
    print("\n".join(table))
    assert {"ubuntu2204-cx5-vf-tx-drops", "ubuntu2204-cx5-vf-rx-drops"} <= set(dropping), dropping
    # declared intent made every Azure host OK, in all three, however it was declared
    for name, (code, report) in verdicts.items():
        if name.endswith(("+declared", "+flags", "+eth1-off", "+ignore-eth1")) and report["host"]["azure"]:
            assert code == 0 and firing[name] == set(), (name, code, report["summary"])
            assert "off by design" in json.dumps(report) or "ignored" in json.dumps(report), name
    # a declaration that cannot be read decides nothing: UNKNOWN and says where, never OK
    code, report = verdicts[AN_OFF + "+typo"]
    assert code == 3 and "accelnet.conf line 1" in report["summary"], report["summary"]


@pytest.mark.parametrize("name, how, expected", [
    (TWO_NICS, "eth1-off", [("eth1", "off", "file")]),
    (AN_OFF, "tag", [("eth0", "off", "tag")]),
    (AN_OFF, "typo", []),  # nothing declared that can be read: no intent served
])
def test_the_agent_serves_the_declared_intent(tmp_path: Path, name: str, how: str,
                                              expected: List[Tuple[str, str, str]]) -> None:
    target = tmp_path / name
    _declared(os.path.join(goldens.FIXTURES, name), target, how)
    intents = [(labels["device"], labels["expect"], labels["source"])
               for metric, labels, _ in _samples(_scrape(Host(name, target))) if metric == "accelnet_nic_intent"]
    assert intents == expected


def test_the_agent_serves_the_flags_intent() -> None:
    host = Host(TWO_NICS, Path(goldens.FIXTURES) / TWO_NICS, expect_an="on", ignore_nics=("eth1",))
    intents = [(labels["device"], labels["expect"], labels["source"])
               for metric, labels, _ in _samples(_scrape(host)) if metric == "accelnet_nic_intent"]
    assert intents == [("eth0", "on", "flags"), ("eth1", "ignore", "flags")]
