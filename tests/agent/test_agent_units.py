"""systemd/accelnet-agent-textfile.service and .timer: `accelnet-agent --once` every minute,
held to what the main unit is held to (tests/packaging/test_unit.py): it verifies cleanly,
scores <= 2.0 in `systemd-analyze security`, and keeps every hardening setting of the main
unit."""

import os
import re
import shlex
import shutil
import subprocess
from typing import List

from agentproc import REPO
from testutil import require_tool, unit_sections as sections

SYSTEMD = os.path.join(REPO, "systemd")
MAIN = os.path.join(SYSTEMD, "accelnet-agent.service")
SERVICE = os.path.join(SYSTEMD, "accelnet-agent-textfile.service")
TIMER = os.path.join(SYSTEMD, "accelnet-agent-textfile.timer")
#: What differs between a daemon and a oneshot run; everything else must be the same.
LIFECYCLE = {"Type", "NotifyAccess", "WatchdogSec", "ExecStart", "ExecStartPost", "ExecReload", "Environment", "Restart", "RestartSec",
             "TimeoutStopSec", "TimeoutStartSec", "RuntimeDirectory", "RuntimeDirectoryPreserve"}


def copies_with_existing_binary(tmp_path) -> List[str]:
    """The units, ExecStart= and ExecStartPost= pointing at an executable that exists here
    (verify checks it)."""
    true = shutil.which("true")
    paths = []
    for source in (SERVICE, TIMER):
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
        for prefix in ("=", "=+"):  # ExecStart=, and ExecStartPost=+ (run as root)
            text = text.replace(f"{prefix}/usr/bin/accelnet-agent ", f"{prefix}{true} ")
        target = tmp_path / os.path.basename(source)
        target.write_text(text)
        paths.append(str(target))
    return paths


def test_units_verify_cleanly(tmp_path):
    analyze = require_tool("systemd-analyze", "systemd")
    require_tool("man", "man-db")
    units = copies_with_existing_binary(tmp_path)
    man1 = tmp_path / "man" / "man1"
    man1.mkdir(parents=True)
    for page in os.listdir(os.path.join(REPO, "packaging", "man")):
        if page.endswith(".1"):
            shutil.copy(os.path.join(REPO, "packaging", "man", page), str(man1 / page))
    result = subprocess.run([analyze, "verify"] + units, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=120, cwd=str(tmp_path),
                            env=dict(os.environ, MANPATH=str(tmp_path / "man")))
    assert result.returncode == 0, result.stderr
    assert "accelnet-agent-textfile" not in result.stderr, result.stderr


def test_security_exposure_at_most_two(tmp_path):
    analyze = require_tool("systemd-analyze", "systemd")
    service = copies_with_existing_binary(tmp_path)[0]
    result = subprocess.run([analyze, "security", "--offline=true", "--no-pager", service],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120,
                            cwd=str(tmp_path))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    print(f"systemd-analyze security exposure of accelnet-agent-textfile.service: {match.group(1)}")
    assert float(match.group(1)) <= 2.0


def test_hardened_exactly_like_the_main_unit():
    main = sections(MAIN)["Service"]
    once = sections(SERVICE)["Service"]
    hardening = {k: v for k, v in main.items() if k not in LIFECYCLE}
    assert {k: v for k, v in once.items() if k not in LIFECYCLE} == hardening
    assert "DynamicUser" in hardening and "SystemCallFilter" in hardening  # the comparison compares something


def test_the_service_runs_once_and_publishes_into_node_exporters_directory():
    service = sections(SERVICE)
    s = service["Service"]
    assert s["Type"] == ["oneshot"]
    argv = shlex.split(s["ExecStart"][0])
    assert argv[:2] == ["/usr/bin/accelnet-agent", "--once"]
    textfile = next(a.split("=", 1)[1] for a in argv if a.startswith("--textfile="))
    assert textfile == f"/run/{s['RuntimeDirectory'][0]}/accelnet.prom"
    # The run's directory goes when it ends (nothing stays in /run): first the agent, as root
    # (+), publishes the file into node_exporter's directory (tests/agent/test_textfile_publish.py
    # runs this command line against planted links).
    assert "RuntimeDirectoryPreserve" not in s
    assert s["Environment"] == ["ACCELNET_TEXTFILE_DIR=/var/lib/prometheus/node-exporter"]
    assert [shlex.split(c) for c in s["ExecStartPost"]] == [
        ["+/usr/bin/accelnet-agent", "--publish=" + textfile, "--textfile=${ACCELNET_TEXTFILE_DIR}/accelnet.prom"]]
    assert "$ACCELNET_AGENT_TEXTFILE_ARGS" in argv
    assert "WatchdogSec" not in s and "ExecReload" not in s


def test_the_timer_starts_it_every_minute():
    timer = sections(TIMER)
    assert timer["Timer"]["OnUnitActiveSec"] == ["60s"]
    assert "OnBootSec" in timer["Timer"]
    assert "Unit" not in timer["Timer"]  # the service of the same name
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    assert "Install" not in sections(SERVICE)  # the timer is what gets enabled


def test_default_file_sets_both_variables_empty():
    result = subprocess.run(
        ["sh", "-c", '. "$1" && printf "[%s][%s]" "$ACCELNET_AGENT_ARGS" "$ACCELNET_AGENT_TEXTFILE_ARGS"', "sh",
         os.path.join(SYSTEMD, "accelnet-agent.default")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env={"PATH": os.defpath}, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[][]"
