"""Consent before stopping VMs nobody named, --version, --subscription, --output json,
and set-wide steps run together."""

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from accelnet import __version__
from provision_fakes import RG, SUBSCRIPTION, key, nic, vm, world
from test_provision_scenarios import AVSET_CHANGES, AVSET_READS, avset_world

ENABLE = ("enable", "-g", RG, "--vm", "vm2")


@pytest.fixture(autouse=True)
def _in_process(fake_az):
    fake_az.in_process()


class Terminal(io.StringIO):
    """A stdin that is a terminal, with the answer already typed."""

    def isatty(self) -> bool:
        return True


def test_without_a_terminal_stopping_other_vms_needs_yes(fake_az):
    fake_az.load(avset_world())
    code, out, err = fake_az.provision(*ENABLE)
    assert code == 1
    assert "refused before any change: the plan also deallocates VM1, VM3, which you did " \
        "not name; without a terminal to ask on, pass --yes to go ahead" in err
    assert fake_az.changes() == []
    assert {v["power"] for v in fake_az.state["vms"].values()} == {"running"}


@pytest.mark.parametrize("answer, code", [("n\n", 1), ("\n", 1), ("", 1), ("y\n", 0),
                                          ("yes\n", 0)])
def test_on_a_terminal_the_plan_asks(fake_az, answer, code):
    fake_az.load(avset_world())
    got, out, err = fake_az.provision(*ENABLE, stdin=Terminal(answer))
    assert got == code, err
    assert "also deallocates 2 VM(s) you did not name (every VM of the availability set " \
        "must be down): VM1, VM3.\nContinue? [y/N] " in err
    assert (fake_az.changes() != []) == (code == 0)
    assert ("refused before any change: the plan also deallocates VM1, VM3, which you did "
            "not name; not confirmed" in err) == (code == 1)


def test_a_plan_that_stops_only_the_named_vm_asks_nothing(fake_az):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])], nics=[nic("myNic", "myVM")]))
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM", stdin=Terminal(""))
    assert (code, err) == (0, "")


def test_version():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "agent"))
    proc = subprocess.run([sys.executable, "-m", "accelnet.cli.provision", "--version"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env)
    assert (proc.returncode, proc.stdout) == (0, f"accelnet-provision (accelnet) {__version__}\n")


def test_subscription_named_is_checked_then_on_every_call(fake_az):
    fake_az.load(avset_world())
    code, _, err = fake_az.provision(*ENABLE, "--yes", "--subscription", "fake subscription")
    assert (code, err) == (0, "")
    calls = fake_az.calls()
    assert calls[0] == ["account", "show", "--subscription", "fake subscription",
                        "--output", "json"]
    # the name is resolved once to the id, which every later call names (commands() checks)
    assert len(fake_az.commands()) == len(AVSET_READS) + len(AVSET_CHANGES)


def test_unknown_subscription_is_refused_before_any_change(fake_az):
    fake_az.load(avset_world())
    code, _, err = fake_az.provision(*ENABLE, "--yes", "--subscription", "other")
    assert code == 1 and "refused before any change" in err and "not found" in err
    assert len(fake_az.calls()) == 1


def test_output_json_done_then_nothing_to_do(fake_az):
    fake_az.load(avset_world())
    code, out, err = fake_az.provision(*ENABLE, "--yes", "--output", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["schema"], doc["result"], doc["exit_status"]) == (1, "done", 0)
    assert doc["subscription"] == SUBSCRIPTION
    assert [s["status"] for s in doc["steps"]] == ["done"] * len(AVSET_CHANGES)
    assert doc["steps"][6]["argv"] == [
        "az", "network", "nic", "update", "--resource-group", RG, "--name", "nic2a",
        "--accelerated-networking", "true", "--subscription", SUBSCRIPTION, "--output", "json"]
    before = {v["name"].lower(): v for v in doc["state_before"]["vms"]}
    after = {v["name"].lower(): v for v in doc["state_after"]["vms"]}
    assert {v["power"] for v in before.values()} == {"running"}
    assert {v["power"] for v in after.values()} == {"running"}
    nics_before = {n["name"]: n["accelerated"] for n in doc["state_before"]["nics"]}
    nics_after = {n["name"]: n["accelerated"] for n in doc["state_after"]["nics"]}
    assert (nics_before["nic2a"], nics_after["nic2a"]) == (False, True)
    assert "[1/13]" in err  # progress goes to stderr, the document alone to stdout
    code, out, _ = fake_az.provision(*ENABLE, "--yes", "--output", "json")
    doc = json.loads(out)
    assert (code, doc["result"], doc["steps"]) == (0, "nothing-to-do", [])


def test_output_json_failed_and_refused(fake_az):
    fake_az.load(avset_world())
    fake_az.fail(match="network nic update")
    code, out, _ = fake_az.provision(*ENABLE, "--yes", "-o", "json", "--max-parallel", "1")
    doc = json.loads(out)
    assert (code, doc["result"], doc["exit_status"]) == (2, "failed", 2)
    assert [s["status"] for s in doc["steps"]] == ["done"] * 6 + ["failed"] + ["not-run"] * 6
    assert "injected failure" in doc["steps"][6]["error"]
    assert doc["left_deallocated"] == ["VM1", "vm2", "VM3"]
    assert {v["power"] for v in doc["state_after"]["vms"]} == {"deallocated"}
    assert all(v["journal"].startswith("start again") for v in doc["state_after"]["vms"])
    fake_az.no_fail()
    code, out, _ = fake_az.provision("enable", "-g", "-x", "--output", "json")
    doc = json.loads(out)
    assert (code, doc["result"], doc["steps"]) == (1, "refused", [])
    assert "expected one argument" in doc["message"]


def test_output_json_dry_run_lists_the_planned_argv(fake_az):
    fake_az.load(avset_world())
    code, out, _ = fake_az.provision(*ENABLE, "--dry-run", "--output", "json")
    doc = json.loads(out)
    assert (code, doc["result"]) == (0, "planned")
    assert [s["status"] for s in doc["steps"]] == ["planned"] * len(AVSET_CHANGES)
    assert fake_az.changes() == []


def test_the_vms_of_a_set_are_stopped_and_started_together(fake_az, monkeypatch):
    """Parallel by default: the calls of a batch overlap (each waits until all of its batch
    have begun), and batches still follow each other in plan order."""
    fake_az.load(avset_world())
    import accelnet.provision.azcli as azcli
    inner = azcli.spawn_subprocess
    barrier = threading.Barrier(3, timeout=10)

    def spawn(path, argv, env, timeout):
        if argv[:2] in (["vm", "deallocate"], ["vm", "start"]):
            barrier.wait()  # breaks (and the test fails) unless all three run at once
        return inner(path, argv, env, timeout)

    monkeypatch.setattr(azcli, "spawn_subprocess", spawn)
    code, _, err = fake_az.provision(*ENABLE, "--yes")
    assert (code, err) == (0, "")
    changes = fake_az.changes()
    batches = [changes[0:3], changes[3:6], changes[6:7], changes[7:10], changes[10:13]]
    expected = [AVSET_CHANGES[0:3], AVSET_CHANGES[3:6], AVSET_CHANGES[6:7],
                AVSET_CHANGES[7:10], AVSET_CHANGES[10:13]]
    assert [sorted(b) for b in batches] == [sorted(b) for b in expected]
    assert fake_az.state["nics"][key("nic2a")]["accelerated"] is True


def test_ctrl_c_halfway_is_a_failure_with_the_report(fake_az, monkeypatch):
    """Interrupted between two steps, the run is not 'done': exit 2, the report, and the
    same command finishes the job."""
    fake_az.load(avset_world())
    import accelnet.provision.azcli as azcli
    inner = azcli.spawn_subprocess

    def spawn(path, argv, env, timeout):
        if argv[:3] == ["network", "nic", "update"]:
            raise KeyboardInterrupt
        return inner(path, argv, env, timeout)

    monkeypatch.setattr(azcli, "spawn_subprocess", spawn)
    code, _, err = fake_az.provision(*ENABLE, "--yes")
    assert code == 2
    assert err.startswith("accelnet-provision: interrupted (Ctrl-C)\n")
    assert "step 7 of 13 failed: interrupted (Ctrl-C) while this step ran" in err
    monkeypatch.setattr(azcli, "spawn_subprocess", inner)
    code, out, err = fake_az.provision(*ENABLE, "--yes")
    assert (code, err) == (0, "") and "resuming" in out
    assert {v["power"] for v in fake_az.state["vms"].values()} == {"running"}
