"""`disable` offers the declared intent (issue 19): the VM tag accelnet=off, which
accelnet-check and the agent read through IMDS (AN off on purpose: healthy by design).

The tag is a step of the plan like any other: shown by --dry-run and --output json, run
under the same consent, finished by the same command after a failure; --no-intent-tag leaves
the tags alone; enable takes the declaration back.
"""

import json

import pytest

from provision_fakes import RG, key, nic, vm, world
from test_provision_cli import _in_process  # noqa: F401 (an autouse fixture)
from test_provision_scenarios import avset_world, intent_on, vmss_world

VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"


def one_vm(accelerated, tags=None):
    state = world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])],
                  nics=[nic("myNic", "myVM", accelerated=accelerated)])
    if tags:
        state["vms"][key("myVM")]["tags"] = tags
    return state


def test_disable_declares_the_intent_and_dry_run_shows_it(fake_az):
    fake_az.load(one_vm(True))
    code, script, _ = fake_az.provision("disable", "-g", RG, "--vm", "myVM", "--dry-run")
    assert code == 0 and fake_az.changes() == []
    assert "# Step 4: Declare on myVM that Accelerated Networking is off on purpose (tag " \
        "accelnet=off): accelnet-check and accelnet-agent then report it healthy by design" \
        in script
    assert " --operation Merge --tags accelnet=off --subscription " in script
    code, out, _ = fake_az.provision("disable", "-g", RG, "--vm", "myVM", "-o", "json",
                                     "--dry-run")
    steps = json.loads(out)["steps"]
    assert [s["argv"][-6:-4] for s in steps if "accelnet=off" in s["argv"]] == \
        [["--tags", "accelnet=off"]]
    code, out, err = fake_az.provision("disable", "-g", RG, "--vm", "myVM")
    assert (code, err) == (0, "")
    assert fake_az.state["vms"][key("myVM")]["tags"] == {"accelnet": "off"}
    fake_az.reset_log()
    code, out, _ = fake_az.provision("disable", "-g", RG, "--vm", "myVM")
    assert code == 0 and "nothing to do" in out and fake_az.changes() == []
    assert "myVM already carries the tag accelnet=off" in out


def test_no_intent_tag_leaves_the_tags_alone_and_is_part_of_the_resume_command(fake_az):
    fake_az.load(one_vm(True, tags={"accelnet": "on", "owner": "ops"}))
    fake_az.fail(match="vm start")
    code, _, err = fake_az.provision("disable", "-g", RG, "--vm", "myVM", "--no-intent-tag")
    assert code == 2
    lines = err.splitlines()
    resume = lines[lines.index("resume with the same command (it reads the tags and starts "
                               "what this run stopped):") + 1]
    assert resume.endswith(" --vm myVM --no-intent-tag")
    fake_az.no_fail()
    code, _, err = fake_az.provision("disable", "-g", RG, "--vm", "myVM", "--no-intent-tag")
    assert (code, err) == (0, "")
    assert not any("accelnet=" in c for c in fake_az.changes())
    assert fake_az.state["vms"][key("myVM")]["tags"] == {"accelnet": "on", "owner": "ops"}


def test_an_off_vm_only_gets_the_tag_and_another_value_is_replaced(fake_az):
    fake_az.load(one_vm(False, tags={"accelnet": "on", "owner": "ops"}))
    code, out, err = fake_az.provision("disable", "-g", RG, "--vm", "myVM")
    assert (code, err) == (0, "")
    assert fake_az.changes() == [intent_on("myVM")]
    assert "done: 1 step(s)" in out
    assert fake_az.state["vms"][key("myVM")]["tags"] == {"accelnet": "off", "owner": "ops"}


@pytest.mark.parametrize("value", ["off", "Off", " off "])
def test_enable_takes_the_declaration_back(fake_az, value):
    fake_az.load(one_vm(False, tags={"accelnet": value, "owner": "ops"}))
    code, out, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert (code, err) == (0, "")
    assert f"--operation Delete --tags accelnet={value}" in "\n".join(fake_az.changes())
    assert fake_az.state["vms"][key("myVM")]["tags"] == {"owner": "ops"}
    assert fake_az.state["nics"][key("myNic")]["accelerated"] is True


def test_in_an_availability_set_only_the_named_vm_declares_it(fake_az):
    state = avset_world()
    state["nics"][key("nic2b")]["accelerated"] = False
    fake_az.load(state)
    code, _, err = fake_az.provision("disable", "-g", RG, "--vm", "vm1", "--yes")
    assert (code, err) == (0, "")
    assert {k: v.get("tags") for k, v in fake_az.state["vms"].items()} == {
        key("vm1"): {"accelnet": "off"}, key("vm2"): None, key("vm3"): None}


def test_disable_on_a_scale_set_tags_the_scale_set(fake_az):
    state = vmss_world()
    state["vmss"][key("myvmss")]["nicConfigs"][0]["accelerated"] = True
    fake_az.load(state)
    code, _, err = fake_az.provision("disable", "-g", RG, "--vmss", "myvmss")
    assert (code, err) == (0, "")
    assert intent_on("myvmss", VMSS_TYPE) in fake_az.changes()
    assert fake_az.state["vmss"][key("myvmss")]["tags"] == {"accelnet": "off"}
