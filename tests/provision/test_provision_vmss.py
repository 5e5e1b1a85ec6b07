"""Scale sets as Azure has them today (issue 20, items 4 and 6): Flexible orchestration (the
default for new scale sets) planned as its model plus each instance VM and its own NICs,
and Rolling and Automatic upgrade policies waited for (bounded, with progress), on a
resume too."""

import datetime
import io
import json
import os
import subprocess
import sys

import pytest

from accelnet.provision.azcli import AzCli
from accelnet.provision.journal import Journal
from accelnet.provision.plan import Plan, Poll
from accelnet.provision.runner import execute
from provision_fakes import RG, clone, is_read, key, nic, tag_off, tag_on, vm, world
from test_provision_cli import _in_process  # noqa: F401 (an autouse fixture)
from test_provision_scenarios import VMSS_TYPE, W, vmss_world

FLEX = "flex"
NOT_LATEST = "length([?latestModelApplied==`false`])"
WAIT = f"vmss list-instances {W} myvmss --query {NOT_LATEST}"


def flex_world(policy="Manual", model=True):
    """flex_1 running (its NIC to switch), flex_2 running (nothing to switch), flex_3
    deallocated (its NIC to switch), each an instance VM with its own NIC."""
    vms = [vm("flex_1", "Standard_DS4_v2", ["flex_1-nic"]),
           vm("flex_2", "Standard_D4s_v5", ["flex_2-nic"]),
           vm("flex_3", "Standard_DS4_v2", ["flex_3-nic"], power="deallocated")]
    for item in vms:
        item["vmss"] = FLEX
    state = world(vms=vms + [vm("other", "Standard_DS4_v2", ["other-nic"])],
                  nics=[nic("flex_1-nic", "flex_1"), nic("flex_2-nic", "flex_2", True),
                        nic("flex_3-nic", "flex_3"), nic("other-nic", "other")],
                  vmss=[{"name": FLEX, "rg": RG, "size": "Standard_DS3_v2",
                         "upgradePolicy": policy, "power": "running", "capacity": 3,
                         "orchestrationMode": "Flexible", "noModel": not model,
                         "nicConfigs": [{"name": "cfg0", "accelerated": False}]}])
    return state


def acted(fake_az):
    """The changes, and the waits (reads, but steps of the plan)."""
    return [c for c in fake_az.commands() if not is_read(c) or " --query " in c]


def _ss(fake_az, name=FLEX):
    return fake_az.state["vmss"][key(name)]


def _vms(fake_az):
    return {v["name"]: (v["power"], fake_az.state["nics"][key(v["nics"][0])]["accelerated"])
            for v in fake_az.state["vms"].values()}


# --- Flexible ----------------------------------------------------------------------------

def test_flexible_is_its_model_and_each_instance_vm_with_its_nics(fake_az):
    fake_az.load(flex_world())
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", FLEX)
    assert (code, err) == (0, ""), out
    by = f"enable --vmss {FLEX}"
    assert fake_az.changes() == [
        tag_on(FLEX, by, "leave deallocated", kind=VMSS_TYPE), tag_on("flex_1", by),
        f"vm deallocate {W} flex_1",
        f"network nic update {W} flex_1-nic --accelerated-networking true",
        f"network nic update {W} flex_3-nic --accelerated-networking true",
        f"vmss update {W} {FLEX} --set virtualMachineProfile.networkProfile."
        "networkInterfaceConfigurations[0].enableAcceleratedNetworking=true",
        f"vm start {W} flex_1", tag_off("flex_1", by),
        tag_off(FLEX, by, "leave deallocated", kind=VMSS_TYPE)]
    reads = [c for c in fake_az.commands() if c not in fake_az.changes()]
    assert f"vm list --resource-group {RG} --vmss {FLEX}" in reads
    assert not any(c.startswith(("vmss get-instance-view", "vmss update-instances",
                                 "vmss deallocate", "vmss start")) for c in fake_az.commands())
    assert _vms(fake_az) == {"flex_1": ("running", True), "flex_2": ("running", True),
                             "flex_3": ("deallocated", True), "other": ("running", False)}
    assert _ss(fake_az)["nicConfigs"][0]["accelerated"] is True
    assert "NIC flex_2-nic of instance flex_2 already has Accelerated Networking on" in out
    fake_az.reset_log()
    code, out, _ = fake_az.provision("enable", "-g", RG, "--vmss", FLEX)
    assert code == 0 and "nothing to do" in out and fake_az.changes() == []


def test_flexible_without_a_model_has_only_its_instances(fake_az):
    fake_az.load(flex_world(model=False))
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", FLEX)
    assert (code, err) == (0, "")
    assert not any(c.startswith("vmss update") or FLEX + " --operation" in c
                   for c in fake_az.changes())
    assert _vms(fake_az)["flex_1"] == ("running", True)


def test_flexible_refuses_an_instance_size_without_an(fake_az):
    state = flex_world()
    state["vms"][key("flex_2")]["size"] = "Standard_A2_v2"
    fake_az.load(state)
    code, _, err = fake_az.provision("enable", "-g", RG, "--vmss", FLEX)
    assert code == 1 and fake_az.changes() == []
    assert "size Standard_A2_v2" in err and "AcceleratedNetworkingEnabled=False" in err


def test_flexible_disable_declares_the_intent_on_the_set_and_every_instance(fake_az):
    state = flex_world()
    for name in ("flex_1-nic", "flex_3-nic"):
        state["nics"][key(name)]["accelerated"] = True
    state["vmss"][key(FLEX)]["nicConfigs"][0]["accelerated"] = True
    fake_az.load(state)
    code, _, err = fake_az.provision("disable", "-g", RG, "--vmss", FLEX)
    assert (code, err) == (0, "")
    tagged = {k for kind in ("vms", "vmss") for k, v in fake_az.state[kind].items()
              if (v.get("tags") or {}).get("accelnet") == "off"}
    assert tagged == {key(FLEX), key("flex_1"), key("flex_2"), key("flex_3")}
    assert not any(v[1] for n, v in _vms(fake_az).items() if n != "other")


def test_a_planted_tag_on_a_flexible_instance_starts_nothing_a_real_one_does(fake_az):
    state = flex_world()
    for name in ("flex_1-nic", "flex_3-nic"):
        state["nics"][key(name)]["accelerated"] = True
    state["vmss"][key(FLEX)]["nicConfigs"][0]["accelerated"] = True
    state["vms"][key("flex_3")]["tags"] = {"accelnet-provision": "start again"}
    fake_az.load(clone(state))
    code, out, _ = fake_az.provision("enable", "-g", RG, "--vmss", FLEX)
    assert code == 0 and fake_az.changes() == [] and "not resumed: flex_3" in out
    state["vms"][key("flex_3")]["uniqueId"] = "33333333-cccc-4ccc-8ccc-000000000003"
    command = ["enable", "--resource-group", RG, "--vmss", FLEX]
    state["vms"][key("flex_3")]["tags"] = {"accelnet-provision": Journal.for_command(
        command, datetime.datetime.now(datetime.timezone.utc)).value(
            True, "33333333-cccc-4ccc-8ccc-000000000003")}
    fake_az.load(state)
    fake_az.reset_log()
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", FLEX)
    assert (code, err) == (0, "")  # an instance of the scale set named: no question
    assert "resuming what an earlier run left unfinished" in out
    assert _vms(fake_az)["flex_3"] == ("running", True)


# --- upgrade policies ------------------------------------------------------------------

@pytest.mark.parametrize("policy, polls", [("Rolling", 2), ("Automatic", 1)])
def test_a_self_applying_policy_is_waited_for_with_progress(fake_az, policy, polls):
    state = vmss_world(policy)
    state["rolling_polls"] = 2
    fake_az.load(state)
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss")
    assert (code, err) == (0, ""), out
    by = "enable --vmss myvmss"
    changes = acted(fake_az)
    assert changes[:-1] == [
        tag_on("myvmss", by, kind=VMSS_TYPE), f"vmss deallocate {W} myvmss",
        f"vmss update {W} myvmss --set virtualMachineProfile.networkProfile."
        "networkInterfaceConfigurations[0].enableAcceleratedNetworking=true",
        f"vmss start {W} myvmss"] + [WAIT] * polls
    assert changes[-1] == tag_off("myvmss", by, kind=VMSS_TYPE)
    assert "until every instance of myvmss reports latestModelApplied: its upgrade policy " \
        f"{policy} applies the new model itself" in out
    assert out.count("waiting: 3 instance(s) of myvmss not on the latest model yet") == \
        polls - 1
    assert _ss(fake_az, "myvmss")["latestModel"] is True


def test_a_wait_that_runs_out_fails_halfway_and_the_same_command_waits_again(fake_az):
    state = vmss_world("Rolling")
    state["rolling_polls"] = 4
    fake_az.load(state)
    args = ("enable", "-g", RG, "--vmss", "myvmss", "--upgrade-timeout", "0")
    code, out, err = fake_az.provision(*args)
    assert code == 2
    assert "failed: 3 instance(s) of myvmss not on the latest model yet after 0 s, the most " \
        "this run waits (0 s); Azure may still be at it: the same command waits again" in err
    assert "resume with the same command" in err and "--upgrade-timeout 0" in err
    assert "accelnet-provision" in _ss(fake_az, "myvmss")["tags"]  # the journal stays
    fake_az.reset_log()
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss")
    assert (code, err) == (0, ""), out
    assert "resuming what an earlier run left unfinished" in out
    assert [c for c in acted(fake_az) if not c.startswith("tag ")] == [WAIT, WAIT]
    assert _ss(fake_az, "myvmss").get("tags") is None
    assert _ss(fake_az, "myvmss")["latestModel"] is True


def test_deallocated_instances_are_not_waited_for(fake_az):
    state = vmss_world("Rolling")
    state["vmss"][key("myvmss")]["power"] = "deallocated"
    fake_az.load(state)
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss")
    assert (code, err) == (0, "")
    assert WAIT not in acted(fake_az)
    assert "the instances of myvmss stay deallocated: Azure applies the new model when they " \
        "start (upgrade policy Rolling)" in out


def test_flexible_with_a_rolling_policy_waits_after_its_instances_start(fake_az):
    fake_az.load(flex_world("Rolling"))
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", FLEX)
    assert (code, err) == (0, "")
    changes = acted(fake_az)
    wait = f"vmss list-instances {W} {FLEX} --query {NOT_LATEST}"
    assert changes.index(f"vm start {W} flex_1") < changes.index(wait)
    assert _ss(fake_az)["latestModel"] is True


def test_the_dry_run_waits_as_the_direct_run_does(fake_az, tmp_path):
    state = vmss_world("Rolling")
    state["rolling_polls"] = 2
    fake_az.load(clone(state))
    code, script, _ = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss", "--dry-run")
    assert code == 0 and acted(fake_az) == []
    assert "\ntries=0\nuntil [ \"$(az vmss list-instances " in script
    assert "accelnet-provision: still waiting after 3600 s" in script
    path = tmp_path / "plan.sh"
    path.write_text(script)
    subprocess.run(["sh", "-n", str(path)], check=True)
    subprocess.run(["sh", str(path)], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ))
    assert acted(fake_az).count(WAIT) == 2
    by_script = fake_az.state
    fake_az.load(clone(state))
    code, _, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss")
    assert code == 0, err
    assert fake_az.state == by_script


@pytest.mark.parametrize("bad", ["-1", "nan", "inf", "x", "86401"])
def test_the_upgrade_timeout_is_checked(fake_az, bad):
    fake_az.load(vmss_world("Rolling"))
    code, _, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss",
                                     "--upgrade-timeout", bad)
    assert code == 1 and "--upgrade-timeout" in err and fake_az.calls() == []


# --- the wait itself (runner.py), with a clock of its own: no wall time ---------------

def _wait_run(answers, limit, interval=30.0):
    """A plan of one wait step run against ``answers`` (az's stdout, in turn); the clock
    moves only when the run sleeps."""
    now = [0.0]
    slept = []
    argvs = []

    def spawn(path, argv, env, timeout):
        argvs.append(argv)
        return 0, answers[min(len(argvs), len(answers)) - 1], ""

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    plan = Plan(["enable", "--resource-group", RG, "--vmss", "myvmss"])
    plan.add(["vmss", "list-instances", "--resource-group", RG, "--name", "myvmss",
              "--query", NOT_LATEST], "Wait",
             poll=Poll(0, limit, "{} instance(s) of myvmss not on the latest model yet"))
    out = io.StringIO()
    cli = AzCli(executable=sys.executable, sleep=sleep, poll=interval, spawn=spawn)
    outcome = execute(plan, cli, out, clock=lambda: now[0])
    return outcome, out.getvalue(), slept, len(argvs)


def test_a_wait_asks_until_done_and_says_how_many_are_left():
    outcome, out, slept, calls = _wait_run(["3\n", "1\n", "0\n"], 3600)
    assert outcome.ok and calls == 3 and slept == [30.0, 30.0]
    assert "waiting: 3 instance(s) of myvmss not on the latest model yet (0 s of at most " \
        "3600 s)" in out
    assert "waiting: 1 instance(s) of myvmss not on the latest model yet (30 s of" in out


def test_a_wait_stops_before_its_next_try_would_pass_the_bound():
    outcome, _, slept, calls = _wait_run(["2\n"], 100)
    assert not outcome.ok
    # tries at 0, 30, 60 and 90 s; the next would come at 120 s, past 100 s
    assert calls == 4 and slept == [30.0, 30.0, 30.0]
    assert outcome.errors[0] == (
        "2 instance(s) of myvmss not on the latest model yet after 90 s, the most this run "
        "waits (100 s); Azure may still be at it: the same command waits again")


@pytest.mark.parametrize("answer", ["false\n", "true\n", '"0"\n', "-1\n", "[0]\n", "null\n",
                                    "1.5\n"])
def test_a_wait_takes_only_a_count(answer):
    outcome, _, slept, calls = _wait_run([answer], 3600)
    assert not outcome.ok and calls == 1 and slept == []
    assert "expected a count" in outcome.errors[0]


def test_flexible_refuses_to_set_the_automatic_policy_before_any_change(fake_az):
    fake_az.load(flex_world())
    code, _, err = fake_az.provision("enable", "-g", RG, "--vmss", FLEX,
                                     "--upgrade-policy", "automatic")
    assert code == 1 and fake_az.changes() == []
    assert "Flexible scale set" in err and "Uniform scale sets only" in err


def test_the_json_plan_marks_the_wait(fake_az):
    fake_az.load(vmss_world("Rolling"))
    code, out, _ = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss", "--dry-run",
                                     "--output", "json", "--upgrade-timeout", "600")
    assert code == 0
    steps = json.loads(out)["steps"]
    waits = [s for s in steps if s["wait"] is not None]
    assert [s["argv"][1:3] for s in waits] == [["vmss", "list-instances"]]
    assert waits[0]["wait"] == {"until": 0, "at_most_seconds": 600.0}
    assert waits[0]["argv"][-6:-4] == ["--query", NOT_LATEST]
