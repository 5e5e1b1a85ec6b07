"""Failure halfway, resume, dry-run scripts, refusals before any call, az errors."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from accelnet.provision.azcli import AzCli
from accelnet.provision.errors import AzTimeout
from provision_fakes import FAKE_AZ_DIR, RG, clone, key, nic, vm, world
from test_provision_scenarios import (AVSET_CHANGES, AVSET_READS, CREATE_ARGS, avset_world,
                                      vmss_world)

ENABLE_AVSET = ("enable", "-g", RG, "--vm", "vm2")


def _resume_argv(err: str):
    lines = err.splitlines()
    command = shlex.split(lines[lines.index("resume with:") + 1])
    assert command[0] == "accelnet-provision"
    return command[1:]


@pytest.mark.parametrize("failing", range(1, len(AVSET_CHANGES) + 1))
def test_failure_at_each_step_of_enable_reports_and_resumes(fake_az, failing):
    fake_az.load(avset_world())
    fake_az.fail(at=len(AVSET_READS) + failing)
    code, out, err = fake_az.provision(*ENABLE_AVSET)
    assert code == 2
    total = len(AVSET_CHANGES)
    assert f"step {failing} of {total} failed: ERROR: (InternalError) injected failure" in err
    assert "failed: az " + AVSET_CHANGES[failing - 1] in err.replace(shlex.quote(RG), RG)
    done = [line for line in err.splitlines() if line.startswith("  ") and ". az " in line]
    assert len(done) == total - 1  # every step but the failed one: done or not run
    deallocated_so_far = ["VM1", "vm2", "VM3"][:min(3, failing - 1)]
    started = ["VM1", "vm2", "VM3"][:max(0, failing - 5)]
    left = [n for n in ["VM1", "vm2", "VM3"] if n in deallocated_so_far and n not in started]
    if left:
        assert "state left: deallocated by this run and not started again: " + \
            ", ".join(left) in err
    else:
        assert "state left: nothing was deallocated by this run" in err
    state = fake_az.state
    for name in left:
        assert state["vms"][key(name)]["power"] == "deallocated"
    fake_az.no_fail()
    resume = _resume_argv(err)
    assert resume[:5] == ["enable", "--resource-group", RG, "--vm", "vm2"]
    code, out, err = fake_az.provision(*resume)
    assert (code, err) == (0, "")
    state = fake_az.state
    assert {v["power"] for v in state["vms"].values()} == {"running"}
    assert state["nics"][key("nic2a")]["accelerated"] is True
    fake_az.reset_log()
    code, out, _ = fake_az.provision(*ENABLE_AVSET)
    assert code == 0 and "nothing to do" in out


def test_transient_errors_are_retried(fake_az):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])], nics=[nic("myNic", "myVM")]))
    fake_az.fail(match="vm deallocate", kind="transient", times=2)
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert (code, err) == (0, "")
    assert sum(c.startswith("vm deallocate") for c in fake_az.commands()) == 3


def test_not_logged_in_is_a_clear_refusal(fake_az):
    fake_az.load(world())
    fake_az.fail(at=1, kind="login")
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert code == 1 and "not logged in to Azure: run 'az login'" in err


def test_missing_az_is_a_clear_refusal(fake_az, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert code == 1 and "'az') is not on PATH" in err


def test_timeout_is_reported(tmp_path):
    slow = tmp_path / "az"
    slow.write_text("#!/bin/sh\nexec sleep 5\n")
    slow.chmod(0o755)
    cli = AzCli(executable=str(slow), timeout=0.2, retries=1, backoff=0, sleep=lambda s: None)
    with pytest.raises(AzTimeout, match="did not finish within 0.2 s"):
        cli.run(["vm", "show"])
    assert len(cli.calls) == 2  # one retry


BAD_VALUES = ["x; rm -rf /", "$(id)", "a" * 200, "`id`", "a b", "-g", "x\ny", ""]


@pytest.mark.parametrize("bad", BAD_VALUES)
@pytest.mark.parametrize("where", ["-g", "--vm", "--size", "-l", "--nic", "--vnet-name"])
def test_bad_names_are_refused_before_any_call(fake_az, bad, where):
    fake_az.load(world())
    args = list(CREATE_ARGS)
    args[args.index(where) + 1] = bad
    code, out, err = fake_az.provision(*args)
    assert code == 1 and "refused" in err
    assert fake_az.calls() == []


@pytest.mark.parametrize("args", [("enable", "-g", RG, "--vm", "$(id)"),
                                  ("enable", "-g", RG, "--vmss", "x; rm -rf /"),
                                  ("resize", "-g", RG, "--vm", "v", "--size", "Standard_D4;id"),
                                  ("enable", "-g", RG, "--vm", "v", "--also-start", "a,$(id)"),
                                  ("enable", "-g", RG),
                                  ("frobnicate",)])
def test_bad_arguments_are_refused_before_any_call(fake_az, args):
    fake_az.load(world())
    code, _, err = fake_az.provision(*args)
    assert code == 1 and "refused" in err
    assert fake_az.calls() == []


def _dry_run_matches_direct(fake_az, tmp_path, initial, args):
    """The script passes sh -n and, run by sh, ends where the direct run ends."""
    fake_az.load(clone(initial))
    code, script, err = fake_az.provision(*args, "--dry-run")
    assert code == 0, err
    assert script.startswith("#!/bin/sh\n") and "\nset -eu\n" in script
    assert all(line.startswith("# ") or not line for line in
               script.split("set -eu\n", 1)[0].splitlines()[1:])
    assert fake_az.state == initial  # the dry run changed nothing
    path = tmp_path / "plan.sh"
    path.write_text(script)
    subprocess.run(["sh", "-n", str(path)], check=True)
    subprocess.run(["sh", str(path)], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ))
    by_script = fake_az.state
    fake_az.load(clone(initial))
    code, _, err = fake_az.provision(*args)
    assert code == 0, err
    assert fake_az.state == by_script
    return script


@pytest.mark.parametrize("scenario", ["create", "enable-avset", "vmss", "resize-non-an"])
def test_dry_run_script_gives_the_same_end_state(fake_az, tmp_path, scenario):
    one_vm = world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])],
                   nics=[nic("myNic", "myVM", accelerated=True)])
    initial, args = {
        "create": ({"groups": {}}, CREATE_ARGS),
        "enable-avset": (avset_world(), list(ENABLE_AVSET)),
        "vmss": (vmss_world(), ["enable", "-g", RG, "--vmss", "myvmss"]),
        "resize-non-an": (one_vm, ["resize", "-g", RG, "--vm", "myVM", "--size",
                                   "Standard_A4_v2"]),
    }[scenario]
    script = _dry_run_matches_direct(fake_az, tmp_path, initial, args)
    commands = [line for line in script.splitlines() if line.startswith("az ")]
    assert commands and all(f" {shlex.quote(RG)} " in line for line in commands)
    assert not any(f" {RG} " in line for line in commands)
    if scenario == "enable-avset":
        assert "# Step 1: Deallocate VM1: every VM of availability set" in script


def test_dry_run_with_nothing_to_do_is_a_valid_script(fake_az, tmp_path):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])],
                       nics=[nic("myNic", "myVM", accelerated=True)]))
    code, script, _ = fake_az.provision("enable", "-g", RG, "--vm", "myVM", "--dry-run")
    assert code == 0 and "Nothing to do" in script
    path = tmp_path / "plan.sh"
    path.write_text(script)
    subprocess.run(["sh", "-n", str(path)], check=True)


def test_module_help_and_entry_point(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "agent"))
    proc = subprocess.run([sys.executable, "-m", "accelnet.cli.provision", "--help"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env)
    assert proc.returncode == 0 and "create,enable,disable,resize" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "accelnet.cli.provision", "enable", "-g",
                           "rg", "--vm", "v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=dict(env, PATH=str(tmp_path)))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert FAKE_AZ_DIR.is_dir()
