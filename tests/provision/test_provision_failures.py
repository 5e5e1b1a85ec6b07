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
from test_provision_scenarios import CREATE_ARGS, avset_world, vmss_world

ENABLE_AVSET = ("enable", "-g", RG, "--vm", "vm2", "--yes")


# The issue's own scenario through real az processes (the whole matrix, in-process, is in
# test_provision_faults.py): before the journal, a rerun after a failure at any of these
# steps exited 0 and left VMs deallocated.
@pytest.mark.parametrize("failing", [f"vm deallocate --resource-group {RG} --name VM3",
                                     f"network nic update --resource-group {RG} --name nic2a "
                                     "--accelerated-networking true",
                                     f"vm start --resource-group {RG} --name VM1"])
def test_failure_halfway_then_the_same_command_finishes(fake_az, failing):
    fake_az.load(avset_world())
    fake_az.fail(cmd=failing)
    code, out, err = fake_az.provision(*ENABLE_AVSET)
    assert code == 2
    assert "failed: ERROR: (InternalError) injected failure" in err
    assert "failed: az " + failing in err.replace(shlex.quote(RG), RG)
    assert "state left: deallocated by this run and not started again" in err
    down = [v["name"] for v in fake_az.state["vms"].values() if v["power"] == "deallocated"]
    assert down and all(fake_az.state["vms"][key(n)]["tags"] for n in down)
    lines = err.splitlines()
    resume = lines[lines.index("resume with the same command (it reads the tags and starts "
                               "what this run stopped):") + 1]
    assert shlex.split(resume) == ["accelnet-provision", "enable", "--resource-group", RG,
                                   "--vm", "vm2", "--yes"]
    fake_az.no_fail()
    code, out, err = fake_az.provision(*ENABLE_AVSET)
    assert (code, err) == (0, "")
    assert "resuming what an earlier run left unfinished" in out
    state = fake_az.state
    assert {v["power"] for v in state["vms"].values()} == {"running"}
    assert not any(v.get("tags") for v in state["vms"].values())
    assert state["nics"][key("nic2a")]["accelerated"] is True
    fake_az.reset_log()
    code, out, _ = fake_az.provision(*ENABLE_AVSET)
    assert code == 0 and "nothing to do" in out


def test_non_json_at_a_changing_step_is_a_failure_halfway(fake_az):
    """Item 10 of issue 9: not "refused before any change" (exit 1): changes were made."""
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])], nics=[nic("myNic", "myVM")]))
    fake_az.fail(match="vm deallocate", kind="garbage")
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert code == 2 and "refused" not in err and "Traceback" not in err
    assert "step 2 of 5 failed: az printed something that is not JSON" in err
    assert "state left: deallocated by this run and not started again (each carries the tag " \
        "accelnet-provision): myVM" in err


def test_transient_errors_are_retried(fake_az):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])], nics=[nic("myNic", "myVM")]))
    fake_az.fail(match="vm deallocate", kind="transient", times=2)
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert (code, err) == (0, "")
    assert sum(c.startswith("vm deallocate") for c in fake_az.commands()) == 3


def test_not_logged_in_is_a_clear_refusal(fake_az):
    fake_az.load(world())
    fake_az.fail(at=1, kind="login")  # az account show, the first call
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


BAD_VALUES = ["x; rm -rf /", "$(id)", "a" * 200, "`id`", "a b", "-g", "x\ny", "", "rg\n",
              "myVM\n", "-x", "--help", "caf\u00e9", "x\r"]


# File names may hold these (they are quoted in the script: see test_provision_hostile.py).
LEGAL_PATHS = {"x; rm -rf /", "$(id)", "a" * 200, "`id`", "a b", "caf\u00e9"}


@pytest.mark.parametrize("where, bad", [
    (where, bad) for where in ("-g", "--vm", "--size", "-l", "--nic", "--vnet-name",
                               "--ssh-key-value", "--subscription")
    for bad in BAD_VALUES if not (where == "--ssh-key-value" and bad in LEGAL_PATHS)
    and not (where == "--subscription" and bad == "a b")])  # "Visual Studio Enterprise"
def test_bad_names_are_refused_before_any_call(fake_az, bad, where):
    fake_az.load(world())
    args = list(CREATE_ARGS) + ["--ssh-key-value", "key.pub", "--subscription", "sub"]
    index = args.index(where)
    args[index:index + 2] = [f"{where}={bad}"]  # the = form: argparse takes "-x" as a value
    code, out, err = fake_az.provision(*args)
    assert code == 1 and "refused" in err
    assert fake_az.calls() == []


@pytest.mark.parametrize("args", [("enable", "-g", RG, "--vm", "$(id)"),
                                  ("enable", "-g", RG, "--vmss", "x; rm -rf /"),
                                  ("resize", "-g", RG, "--vm", "v", "--size", "Standard_D4;id"),
                                  ("enable", "-g", RG, "--vm", "v", "--also-start", "a,$(id)"),
                                  ("enable", "-g", RG, "--vm=-v"),
                                  ("enable", "--resource-group=-rg", "--vm", "v"),
                                  ("enable", "-g", RG, "--vm", "v\n"),
                                  ("resize", "-g", RG, "--vm", "v", "--size=-Standard_D4s_v5"),
                                  ("enable", "-g", RG, "--vm", "v", "--max-parallel", "0"),
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
    assert all(line.startswith("# ") for line in
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


@pytest.mark.parametrize("scenario", ["create", "enable-avset", "vmss", "resize-non-an",
                                      "disable-vm"])
def test_dry_run_script_gives_the_same_end_state(fake_az, tmp_path, scenario):
    one_vm = world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])],
                   nics=[nic("myNic", "myVM", accelerated=True)])
    initial, args = {
        "create": ({"groups": {}}, CREATE_ARGS),
        "enable-avset": (avset_world(), list(ENABLE_AVSET)),
        "disable-vm": (one_vm, ["disable", "-g", RG, "--vm", "myVM"]),
        "vmss": (vmss_world(), ["enable", "-g", RG, "--vmss", "myvmss"]),
        "resize-non-an": (one_vm, ["resize", "-g", RG, "--vm", "myVM", "--size",
                                   "Standard_A4_v2"]),
    }[scenario]
    script = _dry_run_matches_direct(fake_az, tmp_path, initial, args)
    commands = [line for line in script.splitlines() if line.startswith("az ")]
    assert commands and all(RG in shlex.split(line) or any(
        f"/resourceGroups/{RG}/" in word for word in shlex.split(line)) for line in commands)
    assert not any(f" {RG} " in line for line in commands)
    if scenario == "enable-avset":
        assert "# Step 4: Deallocate VM1: every VM of availability set" in script
        assert "--subscription 00000000-0000-0000-0000-000000000000 --output json\n" in script


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
