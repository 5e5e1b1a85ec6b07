"""Odd names Azure allows go through every subcommand as they are (they are also what the
real Azure CLI parses in test_real_az.py): parentheses, dots and underscores in a resource
group of the longest legal length, one-character and 64-character VM names, a subscription
given by a name with spaces and parentheses, a key file whose path has spaces, image URNs,
sizes and locations in another case (written canonically)."""

import pytest

from provision_fakes import SUBSCRIPTION
from test_provision_cli import _in_process  # noqa: F401 (an autouse fixture)

RG = "(a)" + "r_g-" * 21 + "(z)"  # 90 characters, not ending in '.'
SUB_NAME = "Visual Studio Enterprise (MSDN) 1"
LONG_VM = "V" + "m.-_" * 15 + "xyz"  # 64 characters
ODD_VMS = ["0", LONG_VM, "a_b.c-d_"]


def _key(name):
    return f"{RG.lower()}/{name.lower()}"


def _world(vm_name, accelerated, avset=None, others=()):
    members = [vm_name, *others]
    vms = {_key(n): {"name": n, "rg": RG, "size": "Standard_DS4_v2", "nics": [f"{n}.nic_0"],
                     "power": "running", "availabilitySet": avset} for n in members}
    nics = {_key(f"{n}.nic_0"): {"name": f"{n}.nic_0", "rg": RG, "vm": n,
                                 "accelerated": accelerated} for n in members}
    avsets = {_key(avset): {"name": avset, "rg": RG, "vms": members}} if avset else {}
    return {"groups": {RG: {"location": "centralus"}}, "vms": vms, "nics": nics,
            "avsets": avsets, "vmss": {}, "subscription_names": [SUB_NAME]}


def test_the_names_are_legal_lengths():
    assert len(RG) == 90 and len(LONG_VM) == 64


@pytest.mark.parametrize("vm_name", ODD_VMS)
@pytest.mark.parametrize("action", ["enable", "disable", "resize"])
def test_enable_disable_resize_with_odd_names(fake_az, vm_name, action):
    fake_az.load(_world(vm_name, action != "enable", avset="set.(1)_",
                        others=["x" if vm_name != "x" else "y"]))
    args = [action, "--resource-group", RG, "--vm", vm_name, "--subscription", SUB_NAME,
            "--yes"]
    if action == "resize":
        args += ["--size", "standard_a4_v2"]
    code, out, err = fake_az.provision(*args)
    assert (code, err.startswith("accelnet-provision: warning") or err == "") == (0, True), err
    assert all(call[-4:] == ["--subscription", SUBSCRIPTION, "--output", "json"]
               for call in fake_az.calls()[1:])
    assert any(vm_name in call for call in fake_az.calls() if call[:2] == ["vm", "deallocate"])
    if action == "resize":
        assert ["vm", "resize", "--resource-group", RG, "--name", vm_name, "--size",
                "Standard_A4_v2"] == [c for c in fake_az.calls() if c[:2] == ["vm", "resize"]][0][:8]


def test_create_with_odd_names(fake_az):
    fake_az.load({"groups": {}, "subscription_names": [SUB_NAME]})
    args = ["create", "-g", RG, "-l", "CentralUS", "--vnet-name", "v.1_-x",
            "--address-prefix", "10.0.0.0/8", "--subnet-name", "s", "--subnet-prefix",
            "10.1.0.0/16", "--nsg", "N-s.g_", "--nic", "n_1", "--vm", LONG_VM,
            "--size", "standard_ds4_v2", "--image",
            "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest",
            "--admin-username", "a_b-c", "--public-ip", "p.p", "--ssh-key-value",
            "my keys/id (rsa).pub", "--subscription", SUB_NAME]
    code, out, err = fake_az.provision(*args)
    assert (code, err) == (0, ""), err
    create = [c for c in fake_az.calls() if c[:2] == ["vm", "create"]][0]
    assert create[create.index("--size") + 1] == "Standard_DS4_v2"
    assert create[create.index("--location") + 1] == "centralus"
    assert create[create.index("--ssh-key-values") + 1] == "my keys/id (rsa).pub"
