"""Exact az call sequences of each accelnet-provision scenario, and idempotence.

The sequences are those of ``--max-parallel 1`` (one call after the other); that batches run
concurrently by default, with the same calls, is tested in test_provision_parallel.py.
"""

import pytest

from provision_fakes import (ACCOUNT, RG, VM_TYPE, key, nic, rid, skus, tag_off, tag_on, vm,
                             world)

W = f"--resource-group {RG} --name"
SEQ = ("--max-parallel", "1")
VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
CREATE_ARGS = ["create", "-g", RG, "-l", "centralus", "--vnet-name", "myVnet",
               "--address-prefix", "192.168.0.0/16", "--subnet-name", "mySubnet",
               "--subnet-prefix", "192.168.1.0/24", "--nsg", "myNetworkSecurityGroup",
               "--public-ip", "myPublicIp", "--nic", "myNic", "--vm", "myVM",
               "--size", "Standard_DS4_v2", "--image", "Ubuntu2204",
               "--admin-username", "azureuser"]


@pytest.fixture(autouse=True)
def _in_process(fake_az):
    """The same stand-in without a process per call (test_provision_failures.py runs it as
    a process, through PATH)."""
    fake_az.in_process()


def avset_world():
    return world(
        vms=[vm("vm1", "Standard_DS4_v2", ["nic1"], avset="myAvSet"),
             vm("vm2", "Standard_DS4_v2", ["nic2a", "nic2b"], avset="myAvSet"),
             vm("vm3", "Standard_DS4_v2", ["nic3"], avset="myAvSet")],
        nics=[nic("nic1", "vm1"), nic("nic2a", "vm2"), nic("nic2b", "vm2", accelerated=True),
              nic("nic3", "vm3")],
        avsets={"myAvSet": ["vm1", "vm2", "vm3"]})


def vmss_world(mode="Manual"):
    return world(vmss=[{"name": "myvmss", "rg": RG, "size": "Standard_DS3_v2",
                        "upgradePolicy": mode, "power": "running", "capacity": 3,
                        "nicConfigs": [{"name": "cfg0", "accelerated": False}]}])


# The last changes of the article's sequence (create): public IP, NIC, VM.
CREATE_LAST = [
    f"network public-ip create {W} myPublicIp --location centralus --sku Standard "
    "--zone 1 2 3",
    f"network nic create {W} myNic --location centralus --vnet-name myVnet "
    "--subnet mySubnet --accelerated-networking true --network-security-group "
    "myNetworkSecurityGroup --public-ip-address myPublicIp",
    f"vm create {W} myVM --location centralus --image Ubuntu2204 --size Standard_DS4_v2 "
    "--admin-username azureuser --generate-ssh-keys --nics myNic"]
AVSET_READS = [ACCOUNT, f"vm show {W} vm2", skus("Standard_DS4_v2"), f"network nic show {W} nic2a",
               f"network nic show {W} nic2b", f"vm availability-set show {W} MYAVSET",
               f"vm get-instance-view {W} VM1", f"vm get-instance-view {W} vm2",
               f"vm get-instance-view {W} VM3"]
BY = "enable --vm vm2"
AVSET_CHANGES = [tag_on("vm1", BY), tag_on("vm2", BY), tag_on("vm3", BY),
                 f"vm deallocate {W} VM1", f"vm deallocate {W} vm2", f"vm deallocate {W} VM3",
                 f"network nic update {W} nic2a --accelerated-networking true",
                 f"vm start {W} VM1", f"vm start {W} vm2", f"vm start {W} VM3",
                 tag_off("vm1", BY), tag_off("vm2", BY), tag_off("vm3", BY)]


def single_vm_changes(name, by, nic_update):
    return [tag_on(name, by), f"vm deallocate {W} {name}", nic_update,
            f"vm start {W} {name}", tag_off(name, by)]


def test_create_runs_the_article_sequence_then_nothing(fake_az):
    fake_az.load({"groups": {}})
    code, out, err = fake_az.provision(*CREATE_ARGS)
    assert (code, err) == (0, "")
    assert fake_az.commands() == [
        ACCOUNT, skus("Standard_DS4_v2"), f"group exists --name {RG}",
        f"group create --name {RG} --location centralus",
        f"network vnet create {W} myVnet --location centralus --address-prefix 192.168.0.0/16 "
        "--subnet-name mySubnet --subnet-prefix 192.168.1.0/24",
        f"network nsg create {W} myNetworkSecurityGroup --location centralus",
        f"network nsg rule create --resource-group {RG} --nsg-name myNetworkSecurityGroup "
        "--name Allow-SSH-Internet --access Allow --protocol Tcp --direction Inbound "
        "--priority 100 --source-address-prefix Internet --source-port-range * "
        "--destination-address-prefix * --destination-port-range 22",
        *CREATE_LAST,
    ]
    assert fake_az.state["nics"][key("myNic")]["accelerated"] is True
    fake_az.reset_log()
    code, out, _ = fake_az.provision(*CREATE_ARGS)
    assert code == 0 and "nothing to do" in out
    assert fake_az.changes() == []


def test_enable_single_vm(fake_az):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])], nics=[nic("myNic", "myVM")]))
    code, out, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert (code, err) == (0, "")
    assert fake_az.commands() == [
        ACCOUNT, f"vm show {W} myVM", skus("Standard_DS4_v2"), f"network nic show {W} myNic",
        f"vm get-instance-view {W} myVM"] + single_vm_changes(
            "myVM", "enable --vm myVM",
            f"network nic update {W} myNic --accelerated-networking true")
    assert "tags" not in fake_az.state["vms"][key("myVM")]
    fake_az.reset_log()
    code, out, _ = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert code == 0 and "nothing to do" in out
    assert fake_az.commands() == [ACCOUNT, f"vm show {W} myVM", skus("Standard_DS4_v2"),
                                  f"network nic show {W} myNic", f"vm get-instance-view {W} myVM"]


def test_enable_vm_in_availability_set_of_three(fake_az):
    fake_az.load(avset_world())
    code, out, err = fake_az.provision("enable", "-g", RG, "--vm", "vm2", "--yes", *SEQ)
    assert (code, err) == (0, "")
    assert fake_az.commands() == AVSET_READS + AVSET_CHANGES
    assert "NIC nic2b already has Accelerated Networking on" in out
    state = fake_az.state
    assert [state["nics"][key(n)]["accelerated"] for n in ("nic1", "nic2a", "nic3")] == \
        [False, True, False]
    assert {v["power"] for v in state["vms"].values()} == {"running"}


def test_enable_leaves_vms_that_were_deallocated_alone(fake_az):
    state = avset_world()
    state["vms"][key("vm3")]["power"] = "deallocated"
    fake_az.load(state)
    code, out, _ = fake_az.provision("enable", "-g", RG, "--vm", "vm2", "--yes", *SEQ)
    assert code == 0
    changes = fake_az.commands()[len(AVSET_READS):]
    assert changes == [tag_on("vm1", BY), tag_on("vm2", BY),
                       f"vm deallocate {W} VM1", f"vm deallocate {W} vm2",
                       f"network nic update {W} nic2a --accelerated-networking true",
                       f"vm start {W} VM1", f"vm start {W} vm2",
                       tag_off("vm1", BY), tag_off("vm2", BY)]
    assert fake_az.state["vms"][key("vm3")]["power"] == "deallocated"


def test_enable_scale_set_manual_policy(fake_az):
    fake_az.load(vmss_world())
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss")
    assert (code, err) == (0, "")
    by = "enable --vmss myvmss"
    assert fake_az.commands() == [
        ACCOUNT, f"vmss show {W} myvmss", skus("Standard_DS3_v2"),
        f"vmss get-instance-view {W} myvmss --instance-id *",
        tag_on("myvmss", by, kind=VMSS_TYPE),
        f"vmss deallocate {W} myvmss",
        f"vmss update {W} myvmss --set virtualMachineProfile.networkProfile."
        "networkInterfaceConfigurations[0].enableAcceleratedNetworking=true",
        f"vmss update-instances {W} myvmss --instance-ids *",
        f"vmss start {W} myvmss", tag_off("myvmss", by, kind=VMSS_TYPE)]
    ss = fake_az.state["vmss"][key("myvmss")]
    assert ss["nicConfigs"][0]["accelerated"] and ss["latestModel"] and ss["power"] == "running"
    assert "tags" not in ss
    fake_az.reset_log()
    code, out, _ = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss")
    assert code == 0 and "nothing to do" in out and len(fake_az.commands()) == 4


def test_enable_scale_set_setting_automatic_says_what_it_does(fake_az):
    fake_az.load(vmss_world())
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss",
                                       "--upgrade-policy", "automatic")
    assert code == 0
    assert "warning: upgradePolicy.mode=Automatic" in err and "all instances at once" in err
    by = "enable --vmss myvmss"
    assert fake_az.changes() == [
        tag_on("myvmss", by, kind=VMSS_TYPE),
        f"vmss deallocate {W} myvmss",
        f"vmss update {W} myvmss --set virtualMachineProfile.networkProfile."
        "networkInterfaceConfigurations[0].enableAcceleratedNetworking=true",
        f"vmss update {W} myvmss --set upgradePolicy.mode=Automatic",
        f"vmss start {W} myvmss", tag_off("myvmss", by, kind=VMSS_TYPE)]
    assert fake_az.state["vmss"][key("myvmss")]["upgradePolicy"] == "Automatic"


def intent_on(name, kind=VM_TYPE):
    """The step of disable that declares AN off on purpose (issue 19)."""
    return f"tag update --resource-id {rid(name, kind)} --operation Merge --tags accelnet=off"


def test_disable_single_vm(fake_az):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])],
                       nics=[nic("myNic", "myVM", accelerated=True)]))
    code, _, err = fake_az.provision("disable", "-g", RG, "--vm", "myVM")
    assert (code, err) == (0, "")
    changes = single_vm_changes(
        "myVM", "disable --vm myVM", f"network nic update {W} myNic --accelerated-networking false")
    assert fake_az.changes() == changes[:3] + [intent_on("myVM")] + changes[3:]
    assert fake_az.state["nics"][key("myNic")]["accelerated"] is False
    assert fake_az.state["vms"][key("myVM")]["tags"] == {"accelnet": "off"}


def test_resize_to_size_with_an_is_direct(fake_az):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])],
                       nics=[nic("myNic", "myVM", accelerated=True)]))
    code, _, err = fake_az.provision("resize", "-g", RG, "--vm", "myVM",
                                     "--size", "standard_d4s_v5")
    assert (code, err) == (0, "")
    assert fake_az.commands() == [
        ACCOUNT, f"vm show {W} myVM", skus("Standard_D4s_v5"), f"network nic show {W} myNic",
        f"vm get-instance-view {W} myVM", f"vm list-vm-resize-options {W} myVM",
        f"vm resize {W} myVM --size Standard_D4s_v5"]


def test_resize_to_size_without_an_switches_it_off_first(fake_az):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])],
                       nics=[nic("myNic", "myVM", accelerated=True)]))
    code, _, err = fake_az.provision("resize", "-g", RG, "--vm", "myVM",
                                     "--size", "Standard_A4_v2")
    assert code == 0 and "has no Accelerated Networking" in err
    by = "resize --vm myVM --size Standard_A4_v2"
    assert fake_az.commands() == [
        ACCOUNT, f"vm show {W} myVM", skus("Standard_A4_v2"), f"network nic show {W} myNic",
        f"vm get-instance-view {W} myVM", tag_on("myVM", by),
        f"vm deallocate {W} myVM",
        f"network nic update {W} myNic --accelerated-networking false",
        f"vm resize {W} myVM --size Standard_A4_v2",
        f"vm start {W} myVM", tag_off("myVM", by)]
    state = fake_az.state
    assert state["vms"][key("myVM")]["size"] == "Standard_A4_v2"
    assert state["vms"][key("myVM")]["power"] == "running"


def test_resize_in_availability_set_to_size_without_an_switches_it_off_set_wide(fake_az):
    """The article: in an availability set, AN goes off on the NICs of every VM of the set."""
    state = avset_world()
    state["nics"][key("nic1")]["accelerated"] = True
    state["nics"][key("nic3")]["accelerated"] = True
    fake_az.load(state)
    code, _, err = fake_az.provision("resize", "-g", RG, "--vm", "vm1", "--size", "Standard_A4_v2",
                                     "--yes", *SEQ)
    assert code == 0 and "has no Accelerated Networking" in err
    by = "resize --vm vm1 --size Standard_A4_v2"
    assert fake_az.commands() == [
        ACCOUNT, f"vm show {W} vm1", skus("Standard_A4_v2"), f"network nic show {W} nic1",
        f"vm availability-set show {W} MYAVSET", f"vm get-instance-view {W} vm1",
        f"vm get-instance-view {W} VM2", f"vm get-instance-view {W} VM3",
        f"vm show {W} VM2", f"network nic show {W} nic2a", f"network nic show {W} nic2b",
        f"vm show {W} VM3", f"network nic show {W} nic3",
        tag_on("vm1", by), tag_on("vm2", by), tag_on("vm3", by),
        f"vm deallocate {W} vm1", f"vm deallocate {W} VM2", f"vm deallocate {W} VM3",
        f"network nic update {W} nic1 --accelerated-networking false",
        f"network nic update {W} nic2b --accelerated-networking false",
        f"network nic update {W} nic3 --accelerated-networking false",
        f"vm resize {W} vm1 --size Standard_A4_v2",
        f"vm start {W} vm1", f"vm start {W} VM2", f"vm start {W} VM3",
        tag_off("vm1", by), tag_off("vm2", by), tag_off("vm3", by)]
    nics = fake_az.state["nics"]
    assert not any(nics[key(n)]["accelerated"] for n in ("nic1", "nic2a", "nic2b", "nic3"))
    assert fake_az.state["vms"][key("vm1")]["size"] == "Standard_A4_v2"
    assert fake_az.state["vms"][key("vm2")]["size"] == "Standard_DS4_v2"


def test_resize_when_size_not_offered_on_current_hardware_deallocates(fake_az):
    state = world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])], nics=[nic("myNic", "myVM")])
    state["vms"][key("myVM")]["resizeOptions"] = ["Standard_DS3_v2"]
    fake_az.load(state)
    code, _, _ = fake_az.provision("resize", "-g", RG, "--vm", "myVM", "--size", "Standard_D8s_v3")
    assert code == 0
    by = "resize --vm myVM --size Standard_D8s_v3"
    assert fake_az.changes() == [tag_on("myVM", by), f"vm deallocate {W} myVM",
                                 f"vm resize {W} myVM --size Standard_D8s_v3",
                                 f"vm start {W} myVM", tag_off("myVM", by)]


@pytest.mark.parametrize("size", ["Standard_A2_v2", "Standard_B2s", "Standard_D1_v2"])
def test_enable_refuses_size_without_an_before_any_change(fake_az, size):
    fake_az.load(world(vms=[vm("myVM", size, ["myNic"])], nics=[nic("myNic", "myVM")]))
    code, out, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert code == 1 and "refused" in err and size in err
    assert "AcceleratedNetworkingEnabled=False (source: Azure's resource SKU list" in err
    assert fake_az.commands() == [ACCOUNT, f"vm show {W} myVM", skus(size)]


def test_missing_vm_is_refused_with_a_clear_message(fake_az):
    fake_az.load(world())
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "nope")
    assert code == 1 and "VM 'nope'" in err and "not found" in err


def test_create_in_an_existing_network_adds_only_the_subnet_and_what_is_missing(fake_az):
    fake_az.load({"groups": {RG: {"location": "centralus"}},
                  "vnets": {key("myVnet"): {"name": "myVnet", "rg": RG, "subnets": ["other"]}},
                  "nsgs": {key("myNetworkSecurityGroup"): {"name": "myNetworkSecurityGroup",
                                                           "rg": RG,
                                                           "rules": ["Allow-SSH-Internet"]}}})
    code, out, err = fake_az.provision(*CREATE_ARGS)
    assert (code, err) == (0, "")
    assert fake_az.changes() == [
        f"network vnet subnet create --resource-group {RG} --vnet-name myVnet --name mySubnet "
        "--address-prefixes 192.168.1.0/24", *CREATE_LAST]
    assert "found: network security group myNetworkSecurityGroup exists already" in out
