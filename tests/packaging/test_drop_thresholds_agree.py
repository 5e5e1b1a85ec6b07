"""One source for the VF drop thresholds: accelnet/diagnosis/drops.py. The alerting rules, the
README and the runbook must say the same numbers (the check and the agent use the module)."""

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


def test_the_docs_say_the_same_numbers():
    warning, critical = f"{drops.WARNING_SHARE:.1%}", f"{drops.CRITICAL_SHARE:.0%}"
    rate = f"{drops.MIN_RATE:g} dropped packet/s"
    for doc in ("README.md", os.path.join("docs", "runbook.md")):
        with open(os.path.join(REPO, doc), encoding="utf-8") as handle:
            text = " ".join(handle.read().split())
        for number in (warning, critical, rate):
            assert number in text, (doc, number)


def test_the_check_says_them_too():
    remedy = " ".join(["warns from", f"{drops.WARNING_SHARE:.1%}"])
    from accelnet.diagnosis.checks import drop_remedy

    text = drop_remedy(drops.DropRate(drops.VF_RX, ("rx_out_of_buffer",), 10, 100, 1.0), "enP1s1")
    assert remedy in text and f"critical from {drops.CRITICAL_SHARE:.0%}" in text
