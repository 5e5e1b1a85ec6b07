"""One source for the VF drop thresholds: accelnet/diagnosis/drops.py, documented once (the
README). The check and the agent use the module; the alerting rules hold the same numbers."""

import os
import re

import yaml

from accelnet.diagnosis import drops
from agentproc import REPO

RULES = os.path.join(REPO, "packaging", "prometheus", "accelnet-alerts.rules.yml")


def _group():
    with open(RULES, encoding="utf-8") as handle:
        groups = yaml.safe_load(handle)["groups"]
    return next(g for g in groups if g["name"] == "accelnet-vf-drops")["rules"]


def _thresholds(expr):
    return {float(n) for n in re.findall(r">=\s*([0-9.]+)", expr)}


def test_the_rules_use_the_checks_thresholds():
    rules = _group()
    records = [r for r in rules if "record" in r]
    assert len(records) == len(drops.COUNTERS)
    for rule in records:
        assert _thresholds(rule["expr"]) == {drops.MIN_RATE}, rule["record"]
    alerts = {r["labels"]["severity"]: r for r in rules if "alert" in r}
    assert set(alerts) == {"warning", "critical"}
    assert _thresholds(alerts["warning"]["expr"]) == {drops.WARNING_SHARE, drops.CRITICAL_SHARE}
    assert "unless" in alerts["warning"]["expr"]  # the critical level stands the warning down
    assert _thresholds(alerts["critical"]["expr"]) == {drops.CRITICAL_SHARE}
    for alert in alerts.values():  # every recorded share is judged, at each level
        assert all(r["record"] in alert["expr"] for r in records)


def _words(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return " ".join(handle.read().split())


def test_the_thresholds_are_documented_once():
    """The README says the numbers, once; the runbook, accelnet-check(1) and the alert table
    point to it instead of saying them again (a second copy is the one that goes stale)."""
    warning, critical = f"{drops.WARNING_SHARE:.1%}", f"{drops.CRITICAL_SHARE:.0%}"
    rate = f"{drops.MIN_RATE:g} dropped packet/s"
    readme = _words("README.md")
    said = f"**warning** from **{warning}**, **critical** from **{critical}**, both only at **{rate}**"
    assert readme.count(said) == 1
    assert readme.count(warning) == 1 and readme.count(rate) == 1
    elsewhere = {
        "runbook": _words("docs", "runbook.md").split("## AccelnetVFDrops", 1)[1].split(" ## ", 1)[0],
        "accelnet-check(1)": _words("packaging", "man", "accelnet-check.1"),
        "the rules": _words("packaging", "prometheus", "accelnet-alerts.rules.yml"),
        "the alert table": readme.split("| `AccelnetVFDrops` |", 1)[1].split("\n", 1)[0].split(" | `", 1)[0],
    }
    for where, text in elsewhere.items():
        assert warning not in text and critical not in text and "packet/s" not in text, where
    assert "README.md#what-the-checks-tell-apart" in elsewhere["runbook"]
    assert "README documents" in elsewhere["accelnet-check(1)"] and "README documents" in elsewhere["the rules"]


def test_the_check_says_them_too():
    remedy = " ".join(["warns from", f"{drops.WARNING_SHARE:.1%}"])
    from accelnet.diagnosis.checks import drop_remedy

    text = drop_remedy(drops.DropRate(drops.VF_RX, ("rx_out_of_buffer",), 10, 100, 1.0), "enP1s1")
    assert remedy in text and f"critical from {drops.CRITICAL_SHARE:.0%}" in text
