"""The alerting and recording rules: valid for Prometheus, unit-tested with promtool (hosts
healthy by design included), one job selector, contract labels only, and a runbook section
behind every alert."""

import re
import subprocess
from pathlib import Path

import pytest

import packaging_sources as src
from packaging_helpers import REPO_ROOT, require_tool
from packaging_promql import label_names, metric_names

RUNBOOK = REPO_ROOT / "docs" / "runbook.md"
JOB_SELECTOR = 'job="accelnet"'

# The alerts issue 12 item 6 asks for, one per cause.
REQUIRED_ALERTS = {
    "AccelnetVFMissing",          # a VF that was there is gone
    "AccelnetSyntheticDatapath",  # traffic on the synthetic path while the VF is present
    "AccelnetVFNotWorking",       # a VF on the bus that has no driver or was never paired
    "AccelnetVFFlapping",         # VF removals keep coming
    "AccelnetAgentDown",          # up == 0
    "AccelnetAgentStale",         # last refresh too old
    "AccelnetCollectorFailing",   # a part of the scrape fails
    "AccelnetVFDrops",            # issue 20: drops on the VF path (a warning and a critical level)
    # issue 19: one verdict from a host to the fleet
    "AccelnetCheckFailing",       # the check's verdict, where no cause-specific alert explains it
    "AccelnetVFServicingWave",    # many VMs of a region lost their VF at once: one alert
}
#: Alerts about a region of the fleet rather than one VM: they name the region.
FLEET_ALERTS = {"AccelnetVFServicingWave"}
HEALTHY_CASE = "healthy by design"


def _check_ids() -> set:
    """The check ids of CONTRACT.md (fallback: those of this writing)."""
    path = src.find_contract()
    text = path.read_text(encoding="utf-8") if path else ""
    ids = set(re.findall(r"^\| `([a-z]+\.[a-z_]+)` \|", text, re.M))
    return ids or {
        "platform.azure", "platform.vm_size", "os.distribution", "os.kernel", "nic.synthetic",
        "vf.present", "vf.driver", "vf.bonded", "datapath.vf",
    }


def _promtool(*args: str) -> subprocess.CompletedProcess:
    promtool = require_tool("promtool", "prometheus")
    return subprocess.run([promtool, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=120, cwd=str(src.PROMETHEUS_DIR))


def _runbook_sections() -> dict:
    """Heading (an alert name) -> the text of its section."""
    text = RUNBOOK.read_text(encoding="utf-8")
    parts = re.split(r"^## (\S+)\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_the_rule_files_are_the_expected_ones() -> None:
    assert [path.name for path in src.rule_files()] == ["accelnet-alerts.rules.yml", "accelnet-fleet.rules.yml"]


@pytest.mark.parametrize("path", src.rule_files(), ids=lambda path: path.name)
def test_promtool_check_rules(path: Path) -> None:
    result = _promtool("check", "rules", path.name)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: %d rules found" % len(src.load_rules(path)) in result.stdout


@pytest.mark.parametrize("path", [src.RULES_TEST, src.FLEET_RULES_TEST], ids=lambda path: path.name)
def test_promtool_test_rules(path: Path) -> None:
    result = _promtool("test", "rules", path.name)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alerts_the_issue_asks_for_exist_once_each() -> None:
    levels = [(rule["alert"], rule["labels"].get("severity")) for rule in src.alert_rules()]
    assert len(levels) == len(set(levels))  # one rule per alert and severity
    assert {name for name, _ in levels} == REQUIRED_ALERTS


@pytest.mark.parametrize("rule", src.alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_labels_and_annotations(rule: dict) -> None:
    assert rule["labels"].get("severity") in ("warning", "critical")
    annotations = rule["annotations"]
    assert annotations.get("summary") and annotations.get("description")
    assert set(annotations) == {"summary", "description", "runbook_url"}
    # The summary names where: the VM (or the region), and the NIC or the part when it has one.
    where = "{{ $labels.region }}" if rule["alert"] in FLEET_ALERTS else "{{ $labels.instance }}"
    assert where in annotations["summary"]


@pytest.mark.parametrize("rule", src.alert_rules(), ids=lambda rule: rule["alert"])
def test_runbook_url_points_at_its_section(rule: dict) -> None:
    url = rule["annotations"]["runbook_url"]
    match = re.match(r"https://[^/]+/(docs/runbook\.md)#([a-z]+)$", url)
    assert match, url
    assert (REPO_ROOT / match.group(1)).is_file()
    sections = _runbook_sections()
    assert rule["alert"] in sections, "docs/runbook.md has no section for %s" % rule["alert"]
    assert match.group(2) == rule["alert"].lower(), "the anchor of '## %s' is %s" % (rule["alert"], rule["alert"].lower())
    section = sections[rule["alert"]]
    for part in ("**Meaning.**", "**Confirm.**", "**Do.**"):
        assert part in section, (rule["alert"], part)
    assert "accelnet-check" in section or "accelnet_" in section


def test_runbook_has_a_section_per_alert_and_names_only_real_check_ids() -> None:
    sections = _runbook_sections()
    assert set(sections) == REQUIRED_ALERTS
    named = set(re.findall(r"`([a-z]+\.[a-z_]+)`", RUNBOOK.read_text(encoding="utf-8")))
    assert named, "the runbook names no check id"
    assert named <= _check_ids(), sorted(named - _check_ids())


def test_vf_alerts_tell_which_check_to_read() -> None:
    """The VF alerts' sections name the accelnet-check lines that confirm them."""
    sections = _runbook_sections()
    for alert, ids in (("AccelnetVFMissing", {"vf.present", "vf.driver", "platform.vm_size"}),
                       ("AccelnetSyntheticDatapath", {"datapath.vf", "vf.bonded"}),
                       ("AccelnetVFNotWorking", {"vf.driver", "vf.bonded"})):
        named = set(re.findall(r"`([a-z]+\.[a-z_]+)`", sections[alert]))
        assert ids <= named, (alert, sorted(ids - named))


@pytest.mark.parametrize("rule", src.load_rules(), ids=lambda rule: rule.get("alert") or rule["record"])
def test_every_selector_carries_the_job_selector(rule: dict) -> None:
    """One documented selector: every raw series a rule reads is of job="accelnet"."""
    recorded = set(src.recorded_names())
    expr = rule["expr"]
    for name in metric_names(expr) - recorded:
        occurrences = re.finditer(r"(?<![\w:])%s(?![\w:])(\s*\{[^}]*\})?" % re.escape(name), expr)
        for occurrence in occurrences:
            assert occurrence.group(1) and JOB_SELECTOR in occurrence.group(1), (name, expr)


@pytest.mark.parametrize("rule", src.load_rules(), ids=lambda rule: rule.get("alert") or rule["record"])
def test_rules_use_only_contract_labels(rule: dict) -> None:
    """No `interface` left over: every label a rule joins or groups on is the contract's."""
    allowed = src.contract_labels() | src.documented_labels() | src.target_labels() | src.PROMETHEUS_RULE_LABELS
    used = label_names(rule["expr"])
    for text in list(rule.get("annotations", {}).values()):
        used |= set(re.findall(r"\$labels\.(\w+)", text))
    assert used <= allowed, sorted(used - allowed)


@pytest.mark.parametrize("alert", sorted(REQUIRED_ALERTS))
def test_every_alert_has_a_firing_and_a_silent_case(alert: str) -> None:
    cases = [case for test in src.load_rules_tests() for case in test.get("alert_rule_test", [])
             if case["alertname"] == alert]
    assert any(case.get("exp_alerts") for case in cases), "no case where %s fires" % alert
    assert any(not case.get("exp_alerts") for case in cases), "no case where %s stays silent" % alert


def test_hosts_healthy_by_design_raise_nothing() -> None:
    """The healthy case holds the hosts the issue names, and asserts silence of every alert."""
    healthy = next(test for test in src.load_rules_tests() if test.get("name") == HEALTHY_CASE)
    series = " ".join(item["series"] for item in healthy["input_series"])
    for instance in ("two-nics", "idle", "a2v2", "servicing"):
        assert 'instance="%s:9837"' % instance in series, instance
    silent = {case["alertname"] for case in healthy["alert_rule_test"] if not case.get("exp_alerts")}
    assert silent == REQUIRED_ALERTS
    assert not any(case.get("exp_alerts") for case in healthy["alert_rule_test"])


def test_a_size_without_an_that_lost_its_vf_raises_one_alert() -> None:
    case = next(test for test in src.load_rules_tests() if test.get("name") == "resized to a size without AN")
    firing = {c["alertname"] for c in case["alert_rule_test"] if c.get("exp_alerts")}
    silent = {c["alertname"] for c in case["alert_rule_test"] if not c.get("exp_alerts")}
    assert firing == {"AccelnetVFMissing"}
    assert silent >= REQUIRED_ALERTS - firing
