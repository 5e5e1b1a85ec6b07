"""An interrupted accelnet-fleet (Ctrl-C on a terminal, SIGTERM, SIGHUP of a closed ssh session)
waits for none of its Run Command calls and leaves no az process behind: it ends those in
flight, marks their VMs and those not asked yet as interrupted, prints what it found and
exits 3. Run as an operator runs it: its own process, one stand-in az process per call, each
Run Command taking ten minutes."""

import json
import os
import signal
import subprocess
import sys
import time
from typing import List

import pytest

from fleet_fakes import RG, vm, world


def _children(pid: int) -> List[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], stdout=subprocess.PIPE, universal_newlines=True)
    return [int(p) for p in found.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig, whole_group", [("SIGINT", True), ("SIGTERM", False), ("SIGHUP", False)])
def test_an_interrupt_ends_the_calls_in_flight_and_says_what_it_found(fleet_az, sig, whole_group):
    fleet_az.load(world([vm(f"vm-{i}", "centos7-an-off") for i in range(6)]))
    fleet_az.set_env("FAKE_AZ_RUN_DELAY", 600)
    proc = subprocess.Popen([sys.executable, "-m", "accelnet.cli.fleet", "-g", RG, "--json", "--max-parallel", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            start_new_session=True)  # its own group: whole_group is a terminal's Ctrl-C
    try:
        deadline = time.monotonic() + 120
        while sum("run-command" in " ".join(c) for c in fleet_az.calls()) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        time.sleep(0.5)
        azs = _children(proc.pid)
        assert len(azs) == 3
        sent = time.monotonic()
        if whole_group:
            os.killpg(proc.pid, getattr(signal, sig))
        else:
            proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=300)
        waited = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in azs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in azs if _alive(p)] == []
    assert proc.returncode == 3 and waited < 120, (proc.returncode, waited, err)  # not the 600 s runs
    doc = json.loads(out)
    assert (doc["status"], doc["exit_status"]) == ("unknown", 3)
    reasons = [(v["reason"] or {}).get("kind") for v in doc["vms"]]
    assert reasons == ["interrupted"] * 6, doc["vms"]
    asked = [v["reason"]["message"] for v in doc["vms"] if "Run Command" in v["reason"]["message"]]
    assert len(asked) == 3 and all("may still run there" in m for m in asked)
    assert "interrupted" in err and "Traceback" not in err
    assert sum("run-command" in " ".join(c) for c in fleet_az.calls()) == 3  # none started after


def test_utf8_from_a_vm_under_the_c_locale(fleet_az):
    """az prints JSON as UTF-8 (knack: ensure_ascii off), a VM's banner included; Python 3.6 under
    LANG=C (cron, a minimal ssh session) would decode it as ASCII: it must read it as UTF-8."""
    fleet_az.load(world([vm("a", "centos7-an-off", behaviour="motd-utf8"), vm("b", "ubuntu2204-cx5-2nics")]))
    env = dict(os.environ, LANG="C", LC_ALL="C", PYTHONIOENCODING="", PYTHONUTF8="0")
    proc = subprocess.run([sys.executable, "-m", "accelnet.cli.fleet", "-g", RG, "--json"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=300)
    doc = json.loads(proc.stdout)
    assert [(v["name"], v["verdict"]) for v in doc["vms"]] == [("a", "critical"), ("b", "ok")], proc.stderr
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("form", [[], ["--json"], ["--csv"]])
def test_a_reader_that_went_away_is_no_internal_error(fleet_az, form):
    """`accelnet-fleet | head`: the reader closes the pipe before the table is written. The
    fleet ends with the fleet's status, no error on stderr (it was an internal error)."""
    fleet_az.load(world([vm(f"vm-{i}", "centos7-an-off") for i in range(3)]))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    try:
        proc = subprocess.Popen([sys.executable, "-m", "accelnet.cli.fleet", "-g", RG] + form,
                                stdout=write_end, stderr=subprocess.PIPE, universal_newlines=True)
    finally:
        os.close(write_end)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err  # AN off on every VM: critical, as with a reader
    assert "internal error" not in err and "Traceback" not in err and "Broken pipe" not in err, err
