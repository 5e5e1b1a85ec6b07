"""Fleet set-ups of docs/fleet/: the Azure-SD scrape config and the remote_write examples pass
`promtool check config` with our rule files, the relabelling does what its comments say, and
the cloud-init snippet is valid YAML whose script, paths and unit are the packages' own."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml

import packaging_sources as src
from packaging_helpers import REPO_ROOT, require_tool

FLEET = REPO_ROOT / "docs" / "fleet"
SCRAPE_CONFIG = FLEET / "prometheus-azure-sd.yml"
REMOTE_WRITES = sorted(FLEET.glob("remote-write-*.yml"))
CLOUD_INIT = FLEET / "cloud-init.yaml"
UNIT = REPO_ROOT / "systemd" / "accelnet-agent.service"
# What Prometheus (2.45+) accepts under remote_write.azuread (managed identity form).
AZUREAD_CLOUDS = {"AzurePublic", "AzureChina", "AzureGovernment"}


def _version() -> str:
    text = (REPO_ROOT / "agent" / "accelnet" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def _promtool() -> str:
    return require_tool("promtool", "prometheus")


def _promtool_version(promtool: str) -> tuple:
    out = subprocess.run([promtool, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=60).stdout
    return tuple(int(part) for part in re.search(r"version (\d+)\.(\d+)", out).groups())


def _check_config(config: dict, where: Path) -> str:
    """promtool check config on CONFIG laid out as /etc/prometheus is: rules/ beside it."""
    (where / "rules").mkdir(exist_ok=True)
    for path in src.rule_files():
        shutil.copy(str(path), str(where / "rules" / path.name))
    target = where / "prometheus.yml"
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    result = subprocess.run([_promtool(), "check", "config", str(target)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: %d rule files found" % len(src.rule_files()) in result.stdout, result.stdout
    for path in src.rule_files():
        assert "SUCCESS: %d rules found" % len(src.load_rules(path)) in result.stdout, result.stdout
    return result.stdout


def _scrape_config() -> dict:
    return yaml.safe_load(SCRAPE_CONFIG.read_text(encoding="utf-8"))


def test_scrape_config_passes_promtool(tmp_path: Path) -> None:
    _check_config(_scrape_config(), tmp_path)


def test_scrape_config_for_one_resource_group_passes_promtool(tmp_path: Path) -> None:
    text = SCRAPE_CONFIG.read_text(encoding="utf-8")
    assert "# resource_group:" in text
    config = yaml.safe_load(text.replace("# resource_group:", "resource_group:"))
    assert config["scrape_configs"][0]["azure_sd_configs"][0]["resource_group"]
    _check_config(config, tmp_path)


def test_scrape_config_matches_the_rules_and_the_agent() -> None:
    config = _scrape_config()
    assert sorted(Path(p).name for p in config["rule_files"]) == [p.name for p in src.rule_files()]
    job = config["scrape_configs"][0]
    assert job["job_name"] == "accelnet"
    for rule in src.load_rules():
        if "alert" in rule and "up{" in rule["expr"]:
            assert 'up{job="%s"' % job["job_name"] in rule["expr"]
    daemon = (REPO_ROOT / "agent" / "accelnet" / "agent" / "daemon.py").read_text(encoding="utf-8")
    default_port = int(re.search(r"^DEFAULT_PORT = (\d+)$", daemon, re.M).group(1))
    assert job["azure_sd_configs"][0]["port"] == default_port


@pytest.mark.parametrize("path", REMOTE_WRITES, ids=lambda path: path.name)
def test_remote_write_example_passes_promtool(path: Path, tmp_path: Path) -> None:
    fragment = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(fragment) == ["remote_write"]
    config = _scrape_config()
    config.update(fragment)
    if _promtool_version(_promtool()) < (2, 45):
        # This promtool predates remote_write.azuread: check the rest, and the block by hand.
        for target in config["remote_write"]:
            azuread = target.pop("azuread", None)
            if azuread is not None:
                assert set(azuread) == {"cloud", "managed_identity"}
                assert azuread["cloud"] in AZUREAD_CLOUDS
                assert set(azuread["managed_identity"]) == {"client_id"}
                assert re.match(r"^[0-9a-f-]{36}$", azuread["managed_identity"]["client_id"])
    _check_config(config, tmp_path)


def test_the_three_stores_are_covered() -> None:
    urls = {path.name: yaml.safe_load(path.read_text())["remote_write"][0]["url"] for path in REMOTE_WRITES}
    assert re.search(r"\.metrics\.ingest\.monitor\.azure\.com/dataCollectionRules/[^/]+/streams/"
                     r"Microsoft-PrometheusMetrics/api/v1/write\?api-version=", urls["remote-write-azure-monitor.yml"])
    assert urls["remote-write-thanos.yml"].endswith("/api/v1/receive")
    assert urls["remote-write-mimir.yml"].endswith("/api/v1/push")


# --- Relabelling, by the real Prometheus ----------------------------------------------------
# file_sd carries the __meta_azure_* labels Azure discovery would give each VM (Prometheus
# accepts any label in a file_sd group), and the shipped relabel_configs run on them as they
# do on azure_sd's: the targets API shows what each VM becomes, and which are dropped.

def _meta(address: str, **extra: str) -> Dict[str, str]:
    labels = {
        "__address__": address, "__meta_azure_machine_os_type": "Linux",
        "__meta_azure_machine_name": "web-1", "__meta_azure_machine_resource_group": "rg-prod",
        "__meta_azure_subscription_id": "00000000-0000-0000-0000-000000000000",
        "__meta_azure_machine_location": "eastus", "__meta_azure_machine_tag_env": "prod",
        "__meta_azure_machine_tag_team": "network", "__meta_azure_machine_tag_costcenter": "42",
        "__meta_azure_machine_size": "Standard_D4s_v5",
    }
    labels.update(extra)
    return labels


def _relabelled(tmp_path: Path, vms: List[Dict[str, str]]) -> Dict[str, Optional[Dict[str, str]]]:
    """address -> the target labels Prometheus gives the VM, or None when it is dropped."""
    from promstack import Prometheus

    config = _scrape_config()
    job = config["scrape_configs"][0]
    job.pop("azure_sd_configs")
    job["file_sd_configs"] = [{"files": [str(tmp_path / "vms.json")]}]
    job["scrape_interval"] = "1h"  # nothing to scrape: the targets are what is checked
    config.pop("rule_files")
    groups = [{"targets": [vm["__address__"]], "labels": {k: v for k, v in vm.items() if k != "__address__"}}
              for vm in vms]
    (tmp_path / "vms.json").write_text(json.dumps(groups))
    with Prometheus(tmp_path / "prometheus", config) as prometheus:
        deadline = time.monotonic() + 60
        while True:
            data = prometheus.targets()
            if len(data["activeTargets"]) + len(data["droppedTargets"]) == len(vms) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    result: Dict[str, Optional[Dict[str, str]]] = {}
    for target in data["activeTargets"]:
        result[target["discoveredLabels"]["__address__"]] = target["labels"]
    for target in data["droppedTargets"]:
        result[target["discoveredLabels"]["__address__"]] = None
    assert len(result) == len(vms), data
    return result


def test_relabelling_by_prometheus(tmp_path: Path) -> None:
    vms = {
        "plain": _meta("10.0.0.1:9837"),
        "windows": _meta("10.0.0.2:9837", __meta_azure_machine_os_type="Windows"),
        "scale-set": _meta("10.0.0.3:9837", __meta_azure_machine_scale_set="vmss-web"),
        "an-off": _meta("10.0.0.4:9837", __meta_azure_machine_tag_accelnet="off"),
        "enrolled": _meta("10.0.0.5:9837", __meta_azure_machine_tag_accelnet_agent="on"),
        "enrolled-true": _meta("10.0.0.6:9837", __meta_azure_machine_tag_accelnet_agent="True"),
        "not-enrolled": _meta("10.0.0.7:9837", __meta_azure_machine_tag_accelnet_agent="off"),
        "provisioning": _meta("10.0.0.8:9837", __meta_azure_machine_tag_accelnet_agent="on",
                              __meta_azure_machine_tag_accelnet_provision="start again; by accelnet-provision enable"
                                                                          " --vm web-1; 2025-06-03T17:43:12Z"),
    }
    got = _relabelled(tmp_path, list(vms.values()))
    by_name = {name: got[labels["__address__"]] for name, labels in vms.items()}
    base = {"job": "accelnet", "vm": "web-1", "resource_group": "rg-prod", "region": "eastus",
            "subscription_id": "00000000-0000-0000-0000-000000000000", "tag_env": "prod", "tag_team": "network"}
    assert by_name["plain"] == dict(base, instance="10.0.0.1:9837")
    assert by_name["windows"] is None
    assert by_name["scale-set"] == dict(base, instance="10.0.0.3:9837", scale_set="vmss-web")
    # AN off on purpose is the agent's to report (ok, and why): the VM stays a target.
    assert by_name["an-off"] == dict(base, instance="10.0.0.4:9837")
    assert by_name["enrolled"] == dict(base, instance="10.0.0.5:9837", accelnet_agent="on")
    assert by_name["enrolled-true"] == dict(base, instance="10.0.0.6:9837", accelnet_agent="on")
    assert by_name["not-enrolled"] == dict(base, instance="10.0.0.7:9837")
    assert by_name["provisioning"] == dict(base, instance="10.0.0.8:9837", accelnet_agent="on",
                                           accelnet_provision="running")
    # Neither the VM's size nor `location`: those come from accelnet_vm_info, unrenamed.
    assert not any({"location", "vm_size"} & set(labels or {}) for labels in by_name.values())


def test_the_rules_read_the_target_labels_the_relabelling_makes() -> None:
    """AccelnetAgentDown's matchers and the wave's grouping name labels the relabelling sets."""
    made = {c["target_label"] for c in _scrape_config()["scrape_configs"][0]["relabel_configs"] if "target_label" in c}
    assert {"region", "accelnet_agent", "accelnet_provision"} <= made
    rules = {rule.get("alert") or rule["record"]: rule["expr"] for rule in src.load_rules()}
    assert 'accelnet_agent="on"' in rules["AccelnetAgentDown"] and 'accelnet_provision=""' in rules["AccelnetAgentDown"]
    assert "by (job, region)" in rules["region:accelnet_vms_vf_removed:count15m"]


# --- Alertmanager ---------------------------------------------------------------------------

ALERTMANAGER = FLEET / "alertmanager.yml"


def test_alertmanager_config_passes_amtool() -> None:
    amtool = require_tool("amtool", "prometheus-alertmanager")
    result = subprocess.run([amtool, "check-config", str(ALERTMANAGER)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout
    assert "1 inhibit rules" in result.stdout


def test_the_inhibit_rule_names_real_alerts_and_labels() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    alerts = {rule["alert"]: rule for rule in src.alert_rules()}
    (rule,) = config["inhibit_rules"]
    (source,) = rule["source_matchers"]
    (target,) = rule["target_matchers"]
    assert source == 'alertname="AccelnetVFServicingWave"'
    inhibited = set(re.match(r'^alertname=~"(.*)"$', target).group(1).split("|"))
    assert inhibited <= set(alerts) and "AccelnetVFMissing" in inhibited
    # Never the fleet alert itself, nor what a wave does not explain (an agent that is down).
    assert not inhibited & {"AccelnetVFServicingWave", "AccelnetAgentDown", "AccelnetAgentStale"}
    assert rule["equal"] == ["job", "region"]
    assert set(config["route"]["group_by"]) >= {"alertname", "region"}
# --- cloud-init ---------------------------------------------------------------------------

def _cloud_init() -> dict:
    return yaml.safe_load(CLOUD_INIT.read_text(encoding="utf-8"))


def _files() -> Dict[str, dict]:
    return {item["path"]: item for item in _cloud_init()["write_files"]}


def test_cloud_init_is_a_cloud_config_with_known_modules() -> None:
    assert CLOUD_INIT.read_text(encoding="utf-8").startswith("#cloud-config\n")
    document = _cloud_init()
    assert set(document) <= {"write_files", "runcmd", "packages", "package_update"}
    for item in document["write_files"]:
        assert item["path"].startswith("/") and item["content"]
        assert re.match(r"^0[0-7]{3}$", item["permissions"])
    for command in document["runcmd"]:
        assert isinstance(command, list) and all(isinstance(arg, str) for arg in command)


def test_cloud_init_drop_in_extends_the_units_environment() -> None:
    files = _files()
    unit_text = UNIT.read_text(encoding="utf-8")
    drop_in = next(path for path in files if path.endswith(".conf"))
    assert drop_in == "/etc/systemd/system/%s.d/50-cloud-init.conf" % UNIT.name
    env_file = re.search(r"^EnvironmentFile=-(\S+)$", files[drop_in]["content"], re.M).group(1)
    assert env_file in files
    # The variable it sets is the one ExecStart expands, and its flags are the agent's.
    variable, value = re.match(r'^(\w+)="([^"]*)"$', files[env_file]["content"].strip()).groups()
    assert "$%s" % variable in re.search(r"^ExecStart=(.*)$", unit_text, re.M).group(1)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "agent"))
    help_text = subprocess.run([sys.executable, "-m", "accelnet.cli.agent", "--help"], stdout=subprocess.PIPE,
                               universal_newlines=True, timeout=60, env=env, cwd=str(REPO_ROOT)).stdout
    flags = re.findall(r"(--[\w.-]+)=", value)
    assert flags
    for flag in flags:
        assert flag in help_text, flag
    # The package's own files stay where the unit reads them first.
    assert "EnvironmentFile=-/etc/default/accelnet-agent" in unit_text
    assert "EnvironmentFile=-/etc/sysconfig/accelnet-agent" in unit_text


def test_cloud_init_script_parses_and_names_what_the_builds_make(tmp_path: Path) -> None:
    files = _files()
    command = _cloud_init()["runcmd"][0]
    assert command[0] == "sh" and command[1] in files
    script = files[command[1]]["content"]
    assert script.startswith("#!/bin/sh\n")
    path = tmp_path / "install-agent.sh"
    path.write_text(script)
    for shell in ("sh", "dash", "bash"):
        if shutil.which(shell):
            result = subprocess.run([shell, "-n", str(path)], stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
            assert result.returncode == 0, (shell, result.stderr)
    version = re.search(r"^version=(\S+)$", script, re.M).group(1)
    assert version == _version()
    # The names packaging/build-deb.sh and build-rpm.sh give their outputs (test_build checks those).
    assert 'deb="accelnet_${version}_all.deb"' in script
    assert 'rpm="accelnet-${version}-1.noarch.rpm"' in script
    assert "systemctl enable %s" % UNIT.name in script and "systemctl restart %s" % UNIT.name in script


def _fake_tools(where: Path, tools: List[str], log: Path) -> Path:
    """A bin directory whose TOOLS log their arguments; curl also writes its -o file."""
    fake = where / "bin"
    fake.mkdir()
    for tool in tools:
        body = 'echo "%s $*" >> "%s"\n' % (tool, log)
        if tool == "curl":
            body += 'while [ $# -gt 0 ]; do [ "$1" = -o ] && : > "$2"; shift; done\n'
        if tool == "rpm":
            body += 'echo 9\n'
        (fake / tool).write_text("#!/bin/sh\n" + body)
        (fake / tool).chmod(0o755)
    # What the script needs besides the package tools: a shell and coreutils, nothing else.
    for tool in ("sh", "mktemp", "rm"):
        (fake / tool).symlink_to(shutil.which(tool))
    return fake


@pytest.mark.parametrize("manager, tools, expected", [
    ("apt", ["apt-get", "curl", "systemctl"],
     ["curl -fsSL --retry 5 -o {tmp}/accelnet_{v}_all.deb https://mirror.example/accelnet/accelnet_{v}_all.deb",
      "apt-get update", "apt-get install -y {tmp}/accelnet_{v}_all.deb"]),
    ("dnf", ["dnf", "rpm", "curl", "systemctl"],
     ["dnf install -y epel-release",
      "curl -fsSL --retry 5 -o {tmp}/accelnet-{v}-1.noarch.rpm https://mirror.example/accelnet/accelnet-{v}-1.noarch.rpm",
      "dnf install -y {tmp}/accelnet-{v}-1.noarch.rpm"]),
    ("zypper", ["zypper", "curl", "systemctl"],
     ["curl -fsSL --retry 5 -o {tmp}/accelnet-{v}-1.noarch.rpm https://mirror.example/accelnet/accelnet-{v}-1.noarch.rpm",
      "zypper --non-interactive install --allow-unsigned-rpm {tmp}/accelnet-{v}-1.noarch.rpm"]),
])
def test_cloud_init_script_installs_with_each_package_manager(manager: str, tools: List[str], expected: List[str],
                                                               tmp_path: Path) -> None:
    """The script run with stand-ins for the package tools: the package of the distribution,
    then the agent enabled and (re)started."""
    files = _files()
    script = tmp_path / "install-agent.sh"
    script.write_text(files[_cloud_init()["runcmd"][0][1]]["content"])
    log = tmp_path / "calls.log"
    fake = _fake_tools(tmp_path, tools, log)
    env = {"PATH": str(fake), "ACCELNET_PKG_URL": "https://mirror.example/accelnet", "TMPDIR": str(tmp_path)}
    result = subprocess.run([str(fake / "sh"), str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    workdir = re.search(r" -o (\S+)/accelnet", next(c for c in calls if c.startswith("curl"))).group(1)
    wanted = [line.format(tmp=workdir, v=_version()) for line in expected]
    assert [c for c in calls if not c.startswith(("systemctl", "rpm "))] == wanted
    assert calls[-3:] == ["systemctl daemon-reload", "systemctl enable %s" % UNIT.name, "systemctl restart %s" % UNIT.name]
    assert not Path(workdir).exists(), "the download directory is left behind"
