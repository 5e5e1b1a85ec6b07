"""The systemd unit: verifies cleanly, scores <= 2.0 in `systemd-analyze security`, keeps the
hardening the agent can live with, and Python really runs under MemoryDenyWriteExecute.
"""

import configparser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import textwrap
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from packaging_helpers import REPO_ROOT, require, require_tool
from testutil import parse_unit

UNIT = REPO_ROOT / "systemd" / "accelnet-agent.service"
DEFAULT_FILE = REPO_ROOT / "systemd" / "accelnet-agent.default"
MAX_EXPOSURE = 2.0


def service_settings() -> Dict[str, List[str]]:
    settings: Dict[str, List[str]] = {}
    for section, key, value in parse_unit(UNIT.read_text(encoding="utf-8")):
        if section == "Service":
            settings.setdefault(key, []).append(value)
    return settings


def unit_with_existing_binary(tmp_path: Path) -> Path:
    """A copy of the unit whose ExecStart names an executable that exists here.

    `systemd-analyze verify` fails on a missing ExecStart binary, and /usr/bin/accelnet-agent
    exists only once the package is installed (test_build checks the installed unit as is).
    Everything else of the unit is unchanged, so the verdict applies to the real one.
    """
    true = shutil.which("true")
    assert true
    text = UNIT.read_text(encoding="utf-8")
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("ExecStart=/usr/bin/accelnet-agent ", "ExecStart=%s " % true))
    assert "ExecStart=%s $ACCELNET_AGENT_ARGS" % true in copy.read_text()
    return copy


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", "systemd")
    require_tool("man", "man-db")
    unit = unit_with_existing_binary(tmp_path)
    # verify runs `man` for each Documentation=man:… page: point it at the pages the packages
    # install (packaging/man), so the unit's references are checked against the real ones.
    man1 = tmp_path / "man" / "man1"
    man1.mkdir(parents=True)
    for page in (REPO_ROOT / "packaging" / "man").glob("*.1"):
        shutil.copy(page, man1 / page.name)
    env = dict(os.environ, MANPATH=str(tmp_path / "man"))
    result = subprocess.run([analyze, "verify", str(unit)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            timeout=120, cwd=str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    # Warnings (unknown keys, bad values) go to stderr without failing: none allowed.
    assert UNIT.name not in result.stderr, result.stderr


def test_security_exposure_at_most_two(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze", "systemd")
    unit = unit_with_existing_binary(tmp_path)
    result = subprocess.run([analyze, "security", "--offline=true", "--no-pager", str(unit)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, cwd=str(tmp_path))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    print("systemd-analyze security exposure of %s: %.1f (limit %.1f)" % (UNIT.name, exposure, MAX_EXPOSURE))
    assert exposure <= MAX_EXPOSURE
    assert result.returncode == 0, result.stderr


def test_unit_runs_the_agent_as_the_contract_says() -> None:
    s = service_settings()
    assert s["Type"] == ["notify"]
    assert s["ExecStart"] == ["/usr/bin/accelnet-agent $ACCELNET_AGENT_ARGS"]
    assert s["ExecReload"] == ['/bin/sh -c "kill -HUP $MAINPID"']  # no procps needed
    assert "-/etc/default/accelnet-agent" in s["EnvironmentFile"]
    assert re.fullmatch(r"\d+s?", s["WatchdogSec"][0])
    # The command the unit runs is a console script of the Python package.
    cfg = configparser.ConfigParser()
    cfg.read(REPO_ROOT / "setup.cfg")
    scripts = cfg["options.entry_points"]["console_scripts"]
    assert re.search(r"^\s*accelnet-agent\s*=\s*accelnet\.cli\.agent:main\s*$", scripts, re.M)


def test_unit_keeps_no_privilege_and_what_the_agent_needs() -> None:
    s = service_settings()
    assert s["DynamicUser"] == ["yes"]
    assert s["CapabilityBoundingSet"] == [""]
    assert s["AmbientCapabilities"] == [""]
    assert s["ProtectSystem"] == ["strict"]
    assert s["MemoryDenyWriteExecute"] == ["yes"]
    assert sorted(s["RestrictAddressFamilies"][0].split()) == ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"]
    assert s["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    # ProcSubset=pid would hide /proc/sys/kernel/osrelease, /proc/cpuinfo and /proc/stat.
    assert "ProcSubset" not in s
    # An address allow list would block scrapes from the (site-specific) Prometheus server.
    assert "IPAddressDeny" not in s and "IPAddressAllow" not in s
    # /sys must stay visible: no TemporaryFileSystem or InaccessiblePaths over it.
    for key in ("InaccessiblePaths", "TemporaryFileSystem"):
        assert not any("/sys" in value or "/proc" in value for value in s.get(key, []))


def test_default_file_is_a_plain_assignment() -> None:
    """systemd's EnvironmentFile= and sh read the file the same way: no quoting surprises."""
    result = subprocess.run(["sh", "-c", '. "$1" && printf "[%s]" "$ACCELNET_AGENT_ARGS"', "sh", str(DEFAULT_FILE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env={"PATH": os.defpath}, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]"
    assert "9837" in DEFAULT_FILE.read_text(encoding="utf-8")


# The child sets the kernel's own MDWE (prctl PR_SET_MDWE, Linux >= 6.3), which refuses the
# same thing systemd's MemoryDenyWriteExecute= seccomp filter refuses: writable+executable
# mappings and making memory executable later. Then it does what the agent does at start.
MDWE_CHILD = textwrap.dedent(
    """
    import ctypes, importlib, importlib.util, json, mmap, sys
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:      # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
        print(json.dumps({"unsupported": ctypes.get_errno()}))
        sys.exit(0)
    out = {}
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        out["wx_refused"] = False
    except OSError:
        out["wx_refused"] = True
    importlib.reload(ctypes)                  # ctypes makes a libffi closure when imported
    out["callback"] = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)(41)
    import bcrypt, pyudev, yaml
    from accelnet.agent.exposition import text_format
    from accelnet.agent.metrics import Registry
    from accelnet.agent.selfmetrics import ProcessCollector
    from accelnet.kernel import netlink
    out["bcrypt"] = bcrypt.checkpw(b"pw", bcrypt.hashpw(b"pw", bcrypt.gensalt(4)))
    out["udev_net"] = len(list(pyudev.Context().list_devices(subsystem="net")))
    out["links"] = len(netlink.dump_links())
    registry = Registry()
    registry.register(ProcessCollector())
    page = text_format(registry)
    out["metrics"] = b"process_resident_memory_bytes" in page
    out["rss"] = [float(line.split()[1]) for line in page.splitlines()
                  if line.startswith(b"process_resident_memory_bytes ")][0] > 0
    out["yaml"] = yaml.safe_load("a: 1") == {"a": 1}
    import accelnet
    out["agent"] = None
    if importlib.util.find_spec("accelnet.cli.agent") is not None:
        importlib.import_module("accelnet.cli.agent")
        out["agent"] = "imported"
    print(json.dumps(out))
    """
)


def test_python_and_the_agent_dependencies_run_under_mdwe() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT / "agent"), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-c", MDWE_CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if "unsupported" in out:
        pytest.skip("kernel without PR_SET_MDWE (Linux < 6.3): errno %s" % out["unsupported"])
    print("under MDWE:", out)
    assert out["wx_refused"], "MDWE was not in effect: the test would prove nothing"
    assert out["callback"] == 42
    assert out["bcrypt"] and out["metrics"] and out["rss"] and out["yaml"]
    assert out["links"] >= 1 and out["udev_net"] >= 1
    if importlib.util.find_spec("accelnet.cli.agent") is not None:
        assert out["agent"] == "imported"


# What the unit gives the agent, short of systemd itself: an unprivileged uid (DynamicUser=),
# no capability in any set (CapabilityBoundingSet=, AmbientCapabilities=), no_new_privs,
# UMask=0077, MDWE, a writable directory of its own (RuntimeDirectory=), cwd /.
SANDBOXED_AGENT = textwrap.dedent(
    """
    import ctypes, os, runpy, sys
    if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
        sys.exit("PR_SET_MDWE failed: errno %d" % ctypes.get_errno())
    os.umask(0o077)
    sys.argv = ["accelnet-agent"] + sys.argv[1:]
    runpy.run_module("accelnet.cli.agent", run_name="__main__")
    """
)


def _python_for_uid(setpriv: str, uid: int) -> str:
    """An interpreter ``uid`` can run: ours, or the distribution's when ours lives under a home
    directory that uid cannot enter (pyenv's under /root); the unit's privileges are the
    question here, not the interpreter's version."""
    switch = [setpriv, "--reuid", str(uid), "--regid", str(uid), "--clear-groups"]
    for python in (sys.executable, "/usr/bin/python3"):
        argv = switch + [python, "-c", "import yaml, bcrypt"]
        if subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/").returncode == 0:
            return python
    pytest.fail("no python3 that uid %d can run (neither %s nor /usr/bin/python3)" % (uid, sys.executable))


def test_live_agent_serves_with_the_units_privileges() -> None:
    """The real agent on this host's live interfaces, as uid 65534 with no capabilities."""
    setpriv = require_tool("setpriv", "util-linux")
    require(os.geteuid() == 0, "switching to an unprivileged uid needs root")
    runtime = Path(tempfile.mkdtemp(prefix="accelnet-runtime-", dir="/tmp"))
    log = runtime / "agent.log"
    agent = None
    try:
        os.chmod(str(runtime), 0o777)
        textfile = runtime / "accelnet.prom"
        env = {"PATH": os.defpath, "LANG": "C.UTF-8",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT / "agent"), os.environ.get("PYTHONPATH")]))}
        with log.open("w") as out:
            agent = subprocess.Popen(
                [setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all",
                 "--ambient-caps=-all", "--bounding-set=-all", "--no-new-privs",
                 _python_for_uid(setpriv, 65534), "-c", SANDBOXED_AGENT,
                 "--web.listen-address", "127.0.0.1:0", "--no-imds", "--textfile", str(textfile)],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd="/")
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            match = re.search(r"http://127\.0\.0\.1:\d+", log.read_text())
            if match:
                url = match.group(0) + "/metrics"
            else:
                assert agent.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.05)
        with urllib.request.urlopen(url, timeout=30) as response:
            page = response.read().decode("utf-8")
        for name in ("accelnet_build_info", "accelnet_check_status", "process_resident_memory_bytes",
                     "process_start_time_seconds"):
            assert re.search(r"^%s[{ ]" % name, page, re.M), name
        while not textfile.exists():
            assert time.monotonic() < deadline, "no textfile written: " + log.read_text()[-3000:]
            time.sleep(0.05)
        # UMask=0077 must not hide the textfile from node_exporter.
        assert textfile.stat().st_mode & 0o777 == 0o644
        assert textfile.stat().st_uid == 65534
    finally:
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        text = log.read_text() if log.exists() else ""
        shutil.rmtree(str(runtime), ignore_errors=True)
    print(text[-2000:])
    assert agent.returncode == 0, text[-3000:]
    assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
