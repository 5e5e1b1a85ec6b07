"""Counts in the alerting rules are exact: "more than 3 VF removals in an hour" never fires on
exactly 3, wherever the rule evaluation falls between two scrapes, and fires on the 4th.

promtool runs the shipped rules over series scraped every minute and evaluated every 15
seconds (three evaluations of four between scrapes), at every evaluation of two hours. The
same series under the old expression, ``increase(...[1h]) > 3``, do fire: increase()
extrapolates the rise to the edges of the window (3 removals read as 3.05), which is why the
rules count with ``x - min_over_time(x[1h])`` instead.
"""

import re
import subprocess
from pathlib import Path
from typing import Dict, Iterable, List

import pytest
import yaml

import packaging_sources as src
from packaging_helpers import require_tool

ALERT = "AccelnetVFFlapping"
EVAL_STEP_S = 15
HORIZON_S = 150 * 60


def _counter(removals_at: Iterable[int], minutes: int = 151, start: int = 0) -> str:
    """A removal counter scraped every minute, as promtool's values: it rises by one at each
    minute of ``removals_at`` and starts at ``start`` (the kernel log's count at agent start)."""
    values, count, at = [], start, sorted(removals_at)
    for minute in range(minutes):
        count += at.count(minute)
        values.append(str(count))
    return " ".join(values)


def _series(instance: str, values: str) -> dict:
    return {"series": 'accelnet_vf_events_total{job="accelnet", instance="%s:9837", device="eth0", event="removed"}'
                      % instance, "values": values}


def _labels(instance: str) -> dict:
    return {"severity": "warning", "job": "accelnet", "instance": instance + ":9837", "device": "eth0", "event": "removed"}


def _annotations(instance: str, count: int) -> dict:
    return {
        "summary": "The VF of eth0 on %s:9837 is flapping" % instance,
        "description": "The VF of eth0 on %s:9837 was removed %d times in the last hour; each removal moves "
                       "the traffic to the synthetic path and back." % (instance, count),
        "runbook_url": "https://accelnet.example.org/docs/runbook.md#accelnetvfflapping",
    }


def _eval_times() -> List[int]:
    return list(range(0, HORIZON_S + 1, EVAL_STEP_S))


def _duration(seconds: int) -> str:
    return "%dm%ds" % divmod(seconds, 60) if seconds % 60 else "%dm" % (seconds // 60)


def _run(tmp_path: Path, rules: Path, tests: List[dict]) -> subprocess.CompletedProcess:
    (tmp_path / "counts.test.yml").write_text(yaml.safe_dump(
        {"rule_files": [str(rules)], "evaluation_interval": "%ds" % EVAL_STEP_S, "tests": tests}, sort_keys=False))
    return subprocess.run([require_tool("promtool", "prometheus"), "test", "rules", "counts.test.yml"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=600, cwd=str(tmp_path))


def _case(name: str, series: List[dict], firing: Dict[int, List[str]]) -> dict:
    """A promtool test: at every evaluation, exactly the instances ``firing`` lists then."""
    checks = []
    for at in _eval_times():
        check: dict = {"eval_time": _duration(at), "alertname": ALERT}
        instances = firing.get(at, [])
        if instances:
            check["exp_alerts"] = [{"exp_labels": _labels(i), "exp_annotations": _annotations(i, 4)} for i in instances]
        checks.append(check)
    return {"name": name, "interval": "1m", "input_series": series, "alert_rule_test": checks}


EXACTLY_THREE = {
    "spread": _counter([5, 30, 59]),         # three removals across the hour
    "burst": _counter([40, 41, 42]),         # three in three minutes
    "seeded": _counter([20], start=2),       # the agent started with 2 from the kernel log
    "young": "_x60 " + _counter([62, 63, 64], minutes=91),  # a series born mid-run
    "rebooted": _counter([], minutes=30, start=10) + " 0 1 2 3" + " 3" * 117,  # a reboot resets, then 3
}


def test_exactly_three_removals_in_an_hour_never_fire(tmp_path: Path) -> None:
    series = [_series(name, values) for name, values in EXACTLY_THREE.items()]
    result = _run(tmp_path, src.RULES, [_case("exactly three", series, {})])
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout[-3000:]


def test_the_fourth_removal_fires_until_the_first_leaves_the_hour(tmp_path: Path) -> None:
    removals = [30, 45, 60, 75]
    # The counter's rise over the hour before t is 4 from the 4th removal's scrape until the
    # last 0 sample (a minute before the first removal) leaves the window; the window's edge
    # (inclusive or not, which changed in Prometheus 3) is kept out of the assertion.
    fires = [at for at in _eval_times() if removals[3] * 60 <= at <= (removals[0] - 1 + 60) * 60 - 60]
    quiet = [at for at in _eval_times() if at < removals[3] * 60 or at > (removals[0] + 60) * 60]
    expected = {at: ["four"] for at in fires}
    tests = _case("four removals", [_series("four", _counter(removals))], expected)
    tests["alert_rule_test"] = [c for c in tests["alert_rule_test"]
                                if _seconds(c["eval_time"]) in set(fires) | set(quiet)]
    assert len(tests["alert_rule_test"]) > 500
    result = _run(tmp_path, src.RULES, [tests])
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout[-3000:]


def _seconds(duration: str) -> int:
    """Seconds of a Go duration as promtool prints it (``1h15s``, ``59m30s``, ``0s``)."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    hours, minutes, seconds = (int(p or 0) for p in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def _old_rules(tmp_path: Path) -> Path:
    """The shipped rules with the flapping alert in its old, extrapolating form."""
    document = yaml.safe_load(src.RULES.read_text(encoding="utf-8"))
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == ALERT:
                rule["expr"] = 'increase(accelnet_vf_events_total{job="accelnet", event="removed"}[1h]) > 3'
    path = tmp_path / "old.rules.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.parametrize("name", ["spread", "burst"])
def test_increase_would_fire_on_exactly_three(tmp_path: Path, name: str) -> None:
    """Why the rules do not use increase(): on the same series it fires, between scrapes."""
    result = _run(tmp_path, _old_rules(tmp_path), [_case("exactly three", [_series(name, EXACTLY_THREE[name])], {})])
    assert result.returncode != 0, result.stdout[-2000:]
    got = result.stdout.split("got:[", 1)[1]
    assert 'alertname="%s"' % ALERT in got and 'instance="%s:9837"' % name in got


def test_the_old_form_fails_only_between_scrapes(tmp_path: Path) -> None:
    """increase() reads more than 3 only at evaluations between two scrapes: at a scrape the
    window's last sample sits on its edge and nothing is extrapolated on that side."""
    series = [_series(name, EXACTLY_THREE[name]) for name in ("spread", "burst")]
    result = _run(tmp_path, _old_rules(tmp_path), [_case("exactly three", series, {})])
    failed_at = [_seconds(line.split("time:", 1)[1].split(",", 1)[0].strip())
                 for line in result.stdout.splitlines() if "time:" in line]
    assert failed_at, result.stdout[-2000:]
    assert all(at % 60 for at in failed_at), sorted(at for at in failed_at if not at % 60)
