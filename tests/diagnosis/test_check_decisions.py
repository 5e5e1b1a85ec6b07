"""Behaviours a full mutation run of diagnosis/checks.py showed untested (issue 21): which of
several problems decides a check when a milder one comes first, every pairing row looked at
after one that is skipped, a VF interface that only looks like DPDK's, and the branches no
fixture reaches (an on-premises Hyper-V VM, no readable /sys/class/net, only DPDK-owned NICs,
a bundle made of captures only). Each test names the check id, its status, summary and remedy.
"""

import shutil

import pytest

import goldens
from accelnet.diagnosis import checks, vfbinding
from accelnet.diagnosis.facts import Facts, Options, gather
from accelnet.diagnosis.source import SOURCE_OK
from accelnet.diagnosis.report import build_report
from accelnet.parsers.imds import ImdsInstance
from accelnet.readers.host import CounterSample
from accelnet.readers.management import Management, udev_rule_remedy
from accelnet.readers.netdev import NetInterface, Pairing, VmbusNic
from accelnet.readers.pci import PciDevice, vf_table
from accelnet.readers.platform import Dmi
from accelnet.readers.snapshot import open_snapshot

AZURE = Dmi("Microsoft Corporation", "Virtual Machine", "7783-7084-3265-9085-8269-3286-77", "090008")
MAC0, MAC1, MAC2 = "00:0d:3a:00:00:01", "00:0d:3a:00:00:02", "00:0d:3a:00:00:03"
CX5 = vf_table()[("15b3", "1018")]
IMDS = ImdsInstance(vm_size="Standard_D4s_v5", location="westeurope", name="vm-db1", os_type="Linux",
                    publisher=None, offer=None, sku=None, image_version=None, vm_scale_set_name=None,
                    vm_id=None, macs=(), resource_group="rg-prod")
DPDK_GUID = "000d3a00-0003-000d-3a00-0003000d3a00"   # Azure's convention: the MAC, repeated
NM = Management(networkmanager=True, nm_managed=True)
VF_TRAFFIC = {"vf_rx_packets": 100, "vf_tx_packets": 50, "vf_rx_bytes": 9000, "vf_tx_bytes": 4000, "vf_tx_dropped": 0,
              "rx_queue_0_packets": 10, "tx_queue_0_packets": 10}


def syn(name, mac):
    return NetInterface(name=name, mac=mac, driver="hv_netvsc", bus="vmbus", device="guid-" + name, mtu=1500)


def vf_if(name, mac, master=None, management=None):
    return NetInterface(name=name, mac=mac, driver="mlx5_core", bus="pci", device="0001:00:02.0", master=master,
                        flags=0x1803 if master else 0x1003, operstate="up", mtu=1500, management=management)


def vf_dev(slot, driver="mlx5_core", nets=(), source="sysfs"):
    return PciDevice(slot=slot, vendor_id="15b3", device_id="1018", driver=driver, net_names=list(nets),
                     source=source, vf_model=CX5)


def facts(**kw):
    return Facts(dmi=kw.pop("dmi", AZURE), imds=IMDS, imds_state=SOURCE_OK, **kw)


def outcome(finding):
    return finding.id, finding.status, finding.summary, finding.remedy


# ---- several problems: the worst decides, whatever comes first ------------------------------------


def test_vf_bonded_a_critical_pair_after_a_warning_one_decides_and_gives_its_remedy():
    managed = vf_if("enP1s1", MAC0, master="eth0", management=NM)
    loose = vf_if("enP2s2", MAC1)
    f = facts(pairings=[Pairing(syn("eth0", MAC0), managed, method="master"),
                        Pairing(syn("eth1", MAC1), loose, method="mac")])
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0", nets=("enP1s1", "enP2s2"))])
    assert outcome(finding) == (
        "vf.bonded", "critical",
        "enP1s1: NetworkManager manages it (managed=true in its device state); "
        "enP2s2 has eth1's MAC but is not enslaved to it",
        checks._bond_remedy(f, False, "enP2s2"))
    assert "enP2s2" in finding.remedy and udev_rule_remedy() not in finding.remedy


def test_vf_present_no_vf_for_one_nic_after_a_removed_one_is_critical():
    gone = syn("eth0", MAC0)
    never = syn("eth1", MAC1)
    f = facts(interfaces=[gone, never], pairings=[Pairing(gone), Pairing(never)],
              samples={"eth0": [CounterSample(dict(VF_TRAFFIC))], "eth1": [CounterSample({"vf_rx_packets": 0})]})
    finding = checks.check_vf_present(f, [])
    assert outcome(finding) == (
        "vf.present", "critical",
        "eth0 has no VF now, but its vf_* counters show 150 packets through a VF since boot: the VF was removed "
        "(host servicing or hot-remove); no Accelerated Networking VF (Mellanox ConnectX or MANA) on the PCI bus: "
        "Accelerated Networking is off for eth1",
        checks.enable_an_remedy(f, [MAC1]))
    assert "00-0D-3A-00-00-02" in finding.remedy and "00-0D-3A-00-00-01" not in finding.remedy


def test_vf_driver_an_unbound_vf_after_one_seen_only_by_lspci_is_critical():
    lspci_only = vf_dev("0002:00:02.0", driver=None, source="lspci")
    unbound = vf_dev("0001:00:02.0", driver=None)
    finding = checks.check_vf_driver(facts(), [lspci_only, unbound])
    assert outcome(finding) == (
        "vf.driver", "critical",
        "0002:00:02.0: seen only by lspci, driver unknown; "
        "ConnectX-5 Virtual Function at 0001:00:02.0 has no driver bound",
        checks._driver_remedy(unbound))


def _two_nics(first, second):
    pairings = [Pairing(syn("eth0", MAC0), vf_if("enP1s1", MAC0, master="eth0"), method="master"),
                Pairing(syn("eth1", MAC1), vf_if("enP2s2", MAC1, master="eth1"), method="master")]
    return checks.check_datapath(facts(pairings=pairings, samples={"eth0": first, "eth1": second}))


VF_GROWING = [CounterSample(dict(VF_TRAFFIC)), CounterSample(dict(VF_TRAFFIC, vf_rx_packets=200))]
SYNTHETIC_GROWING = [CounterSample(dict(VF_TRAFFIC)), CounterSample(dict(VF_TRAFFIC, rx_queue_0_packets=99))]
UNAVAILABLE = [CounterSample(None, "unavailable", "ENODEV")]


def test_datapath_one_nic_unreadable_after_a_working_one_is_unknown():
    assert outcome(_two_nics(VF_GROWING, UNAVAILABLE)) == (
        "datapath.vf", "unknown", "eth0: traffic on the VF enP1s1; eth1: counters unavailable", None)


def test_datapath_a_fallback_after_an_unreadable_nic_is_a_warning_with_its_remedy():
    assert outcome(_two_nics(UNAVAILABLE, SYNTHETIC_GROWING)) == (
        "datapath.vf", "warning",
        "eth0: counters unavailable; eth1: traffic on the synthetic path, not the VF enP2s2 (fallback)",
        checks.fallback_remedy("enP2s2"))


# ---- every pairing looked at, also after one that is skipped ------------------------------------


def test_vf_bonded_a_loose_vf_after_a_nic_without_vf_is_still_checked():
    loose = vf_if("enP2s2", MAC1)
    f = facts(pairings=[Pairing(syn("eth0", MAC0)), Pairing(syn("eth1", MAC1), loose, method="mac")])
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0", nets=("enP2s2",))])
    assert outcome(finding) == ("vf.bonded", "critical", "enP2s2 has eth1's MAC but is not enslaved to it",
                                checks._bond_remedy(f, False, "enP2s2"))
    assert [(r["synthetic"], r["vf"]) for r in finding.evidence["pairs"]] == [("eth1", "enP2s2")]


def _dpdk(mac=MAC2, guid=DPDK_GUID):
    return VmbusNic(guid, "uio_hv_generic", mac)


DPDK_NOTE = (f"enP1s1 belongs to VMBus NIC {DPDK_GUID}, which DPDK's netvsc PMD owns (uio_hv_generic): "
             "DPDK drives the pair from user space, so the kernel does not enslave it (expected)")


def test_vf_bonded_an_unpaired_vf_after_a_dpdk_owned_one_is_critical():
    owned = vf_if("enP1s1", MAC2)
    foreign = vf_if("enP2s2", "02:00:00:00:00:09")
    f = facts(interfaces=[owned, foreign], vmbus_nics=[_dpdk()])
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0", nets=("enP1s1", "enP2s2"))])
    assert outcome(finding) == (
        "vf.bonded", "critical",
        "enP2s2 is not paired with any synthetic NIC (master: none, no synthetic NIC with its MAC); " + DPDK_NOTE,
        checks._bond_remedy(f, False, "enP2s2"))


# ---- a VF interface is DPDK's only when the NIC's MAC says so ------------------------------------------


def test_a_vf_with_another_mac_is_not_the_dpdk_nics():
    foreign = vf_if("enP2s2", "02:00:00:00:00:09")
    f = facts(interfaces=[foreign], vmbus_nics=[_dpdk()])
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0", nets=("enP2s2",))])
    assert outcome(finding) == (
        "vf.bonded", "critical",
        "enP2s2 is not paired with any synthetic NIC (master: none, no synthetic NIC with its MAC)",
        checks._bond_remedy(f, False, "enP2s2"))
    assert finding.evidence["pairs"][0]["owner"] is None


def test_a_vf_with_the_dpdk_nics_permanent_mac_is_its():
    owned = vf_if("enP1s1", "02:00:00:00:00:09")
    owned.perm_mac = MAC2
    finding = checks.check_vf_bonded(facts(interfaces=[owned], vmbus_nics=[_dpdk()]),
                                     [vf_dev("0001:00:02.0", nets=("enP1s1",))])
    assert outcome(finding) == ("vf.bonded", "ok", DPDK_NOTE, None)
    assert finding.evidence["pairs"][0]["owner"] == f"uio_hv_generic {DPDK_GUID}"


def test_two_dpdk_nics_whose_guids_hide_their_macs_own_no_vf_by_guesswork():
    owned = vf_if("enP1s1", MAC2)
    nics = [_dpdk(None, "f8615163-0000-0000-0000-000000000001"), _dpdk(None, "f8615163-0000-0000-0000-000000000002")]
    f = facts(interfaces=[owned], vmbus_nics=nics)
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0", nets=("enP1s1",))])
    assert outcome(finding) == (
        "vf.bonded", "critical",
        "enP1s1 is not paired with any synthetic NIC (master: none, no synthetic NIC with its MAC)",
        checks._bond_remedy(f, False, "enP1s1"))


def test_a_vf_the_pci_bus_names_but_no_interface_shows_is_unpaired_even_beside_dpdk():
    f = facts(interfaces=[], vmbus_nics=[_dpdk()])
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0", nets=("enP9s9",))])
    assert outcome(finding) == (
        "vf.bonded", "critical",
        "enP9s9 is not paired with any synthetic NIC (master: none, no synthetic NIC with its MAC)",
        checks._bond_remedy(f, False, "enP9s9"))


# ---- the branches no fixture host reaches ---------------------------------------------------------


def by_id(findings):
    return {f.id: f for f in findings}


def test_an_on_premises_hyper_v_vm_is_not_azure():
    hyperv = Dmi("Microsoft Corporation", "Virtual Machine", "4187-6583-2214-6370-0434-2157-93", "Hyper-V UEFI Release v4.1")
    f = Facts(dmi=hyperv, interfaces=[syn("eth0", MAC0)], pairings=[Pairing(syn("eth0", MAC0))])
    findings = checks.run_checks(f)
    summary = "Hyper-V VM but not Azure (DMI asset tag is not Azure's): Accelerated Networking is an Azure feature"
    assert outcome(by_id(findings)["platform.azure"]) == ("platform.azure", "unknown", summary, None)
    assert outcome(by_id(findings)["vf.present"]) == (
        "vf.present", "skipped", "not an Azure VM: no Accelerated Networking VF expected", None)
    report = build_report(f, findings)
    assert (report["status"], report["summary"]) == ("unknown", summary[0].upper() + summary[1:]
                                                     + "; Accelerated Networking only exists on Azure VMs.")


@pytest.mark.parametrize("imds, status, summary", [
    (None, "unknown", "cannot tell whether this is Azure: a Hyper-V VM without a DMI asset tag"),
    (IMDS, "ok", "Azure VM: a Hyper-V VM without a DMI asset tag, but the IMDS document was captured"),
])
def test_a_hyper_v_vm_without_an_asset_tag(imds, status, summary):
    untagged = Dmi("Microsoft Corporation", "Virtual Machine", None, "Hyper-V UEFI Release v4.1")
    finding = checks.check_azure(Facts(dmi=untagged, imds=imds))
    assert outcome(finding) == ("platform.azure", status, summary, None)


def test_only_dpdk_owned_nics_is_no_missing_synthetic_nic():
    f = facts(vmbus_nics=[_dpdk()])
    findings = by_id(checks.run_checks(f))
    owned = f"VMBus NIC {DPDK_GUID} ({MAC2}) is bound to uio_hv_generic: DPDK's netvsc PMD owns it"
    assert outcome(findings["nic.synthetic"]) == ("nic.synthetic", "ok", "no kernel synthetic NIC: " + owned, None)
    assert findings["nic.synthetic"].evidence["user_space"] == [
        {"vmbus_device": DPDK_GUID, "driver": "uio_hv_generic", "mac": MAC2}]
    assert outcome(findings["datapath.vf"]) == ("datapath.vf", "skipped", "no synthetic NIC", None)


def test_dpdk_owned_nics_beside_a_kernel_one_are_named_after_it():
    f = facts(interfaces=[syn("eth0", MAC0)], pairings=[Pairing(syn("eth0", MAC0))], vmbus_nics=[_dpdk()])
    finding = checks.check_synthetic(f)
    assert outcome(finding) == (
        "nic.synthetic", "ok",
        f"synthetic NIC(s): eth0; VMBus NIC {DPDK_GUID} ({MAC2}) is bound to uio_hv_generic: DPDK's netvsc PMD owns it",
        None)


def _bundle(tmp_path, remove):
    """ubuntu2204-cx5-2nics (two CX-5 VFs, traffic on both) with parts of the bundle left out."""
    snap = tmp_path / "bundle"
    shutil.copytree(goldens.FIXTURES + "/ubuntu2204-cx5-2nics", str(snap), symlinks=True)
    for pattern in remove:
        for path in sorted(snap.glob(pattern)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(str(path))
            else:
                path.unlink()
    with open_snapshot(str(snap)) as host:
        f = gather(host, Options())
    return f, checks.run_checks(f)


NO_SYS_DEVICES = ("root/sys/class/net", "root/sys/bus", "root/sys/devices/pci*")


def test_a_bundle_of_captures_only_names_its_nics_from_the_ethtool_captures(tmp_path):
    f, findings = _bundle(tmp_path, NO_SYS_DEVICES)
    assert f.interfaces_source == "captures"
    found = by_id(findings)
    assert outcome(found["nic.synthetic"]) == (
        "nic.synthetic", "ok", "synthetic NIC(s): eth0, eth1 (known from their ethtool -S captures: the bundle has no /sys)",
        None)
    assert outcome(found["vf.driver"]) == (
        "vf.driver", "unknown",
        "1a65:00:02.0: seen only by lspci, driver unknown; 927a:00:02.0: seen only by lspci, driver unknown", None)
    assert outcome(found["vf.bonded"]) == (
        "vf.bonded", "unknown", "the bundle has no /sys/class/net: the VF's pairing cannot be checked", None)
    assert outcome(found["datapath.vf"]) == (
        "datapath.vf", "ok", "eth0: traffic on its VF; eth1: traffic on its VF", None)
    assert [r["datapath"] for r in found["datapath.vf"].evidence["interfaces"]] == ["vf", "vf"]
    report = build_report(f, findings)
    # the growing vf_* counters prove the VFs work, whatever the bundle could not tell
    assert (report["status"], report["summary"]) == (
        "ok", "Accelerated Networking is working: eth0 via its VF, eth1 via its VF.")


def test_a_bundle_of_captures_only_with_one_sample_cannot_tell_the_path(tmp_path):
    f, findings = _bundle(tmp_path, NO_SYS_DEVICES + ("cmd/ethtool-S.*.1.txt",))
    found = by_id(findings)
    assert outcome(found["datapath.vf"]) == (
        "datapath.vf", "ok", "eth0: vf_* counters present (not sampled twice); "
        "eth1: vf_* counters present (not sampled twice)", None)
    report = build_report(f, findings)
    assert (report["status"], report["summary"]) == ("unknown", "Could not determine vf.driver, vf.bonded.")


def test_a_bundle_of_captures_only_without_a_vf_has_no_data_path_to_check(tmp_path):
    f, findings = _bundle(tmp_path, NO_SYS_DEVICES + ("cmd/lspci.txt",))
    found = by_id(findings)
    assert outcome(found["datapath.vf"]) == ("datapath.vf", "skipped", "no VF interface to carry traffic", None)
    assert found["vf.present"].status == "critical"
    assert outcome(found["vf.bonded"]) == ("vf.bonded", "skipped", "no VF network interface", None)


def test_a_bundle_without_a_readable_sys_class_net_says_so(tmp_path):
    f, findings = _bundle(tmp_path, ("root/sys/class/net", "cmd/ethtool-S.*"))
    assert f.interfaces == [] and f.interfaces_source == "captures"
    found = by_id(findings)
    assert outcome(found["nic.synthetic"]) == (
        "nic.synthetic", "unknown", "no network interfaces could be read (/sys/class/net)", None)
    assert outcome(found["vf.present"]) == (
        "vf.present", "ok",
        "ConnectX-5 Virtual Function at 1a65:00:02.0; ConnectX-5 Virtual Function at 927a:00:02.0", None)
    assert outcome(found["datapath.vf"]) == ("datapath.vf", "skipped", "no VF interface to carry traffic", None)
    report = build_report(f, findings)
    assert (report["status"], report["summary"]) == ("unknown", "Could not determine nic.synthetic, vf.bonded.")


# ---- the words and remedies of single findings ------------------------------------------------------


@pytest.mark.parametrize("dmi, summary", [
    (Dmi("QEMU", None, None, None), "not an Azure VM (DMI says QEMU)"),
    (Dmi(None, None, "asset-0001", None), "not an Azure VM (DMI says unknown vendor)"),
    (Dmi("QEMU", "Standard PC (Q35 + ICH9, 2009)", None, None), "not an Azure VM (DMI says QEMU Standard PC (Q35 + ICH9, 2009))"),
])
def test_not_azure_names_what_dmi_says(dmi, summary):
    assert outcome(checks.check_azure(Facts(dmi=dmi))) == ("platform.azure", "unknown", summary, None)


def test_the_servicing_remedy_names_the_nic_that_lost_its_vf():
    gone, kept = syn("eth0", MAC0), syn("eth1", MAC1)
    f = facts(interfaces=[gone, kept], pci_devices=[vf_dev("0001:00:02.0", nets=("enP2s2",))],
              pairings=[Pairing(gone), Pairing(kept, vf_if("enP2s2", MAC1, master="eth1"), method="master")],
              samples={"eth0": [CounterSample(dict(VF_TRAFFIC))]})
    finding = checks.check_vf_present(f, f.pci_devices)
    assert (finding.id, finding.status) == ("vf.present", "warning")
    assert "az network nic show -g rg-prod -n $(az network nic list -g rg-prod --query " \
           "\"[?macAddress=='00-0D-3A-00-00-01'].name\" -o tsv) --query enableAcceleratedNetworking" in finding.remedy
    assert finding.remedy == checks.servicing_remedy(f, ["eth0"])


def test_a_removal_the_log_alone_proves_says_nothing_of_counters():
    from accelnet.parsers.kernellog import parse_kernel_log

    gone = syn("eth0", MAC0)
    f = facts(interfaces=[gone], pairings=[Pairing(gone)],
              history=parse_kernel_log("[  900.001846] hv_netvsc guid-eth0 eth0: VF unregistering: enP1s1\n"))
    finding = checks.check_vf_present(f, [])
    assert outcome(finding) == (
        "vf.present", "warning",
        "eth0 has no VF now, but the kernel logged 'VF unregistering: enP1s1' at 900 s after boot: "
        "the VF was removed (host servicing or hot-remove)",
        checks.servicing_remedy(f, ["eth0"]))
    assert finding.evidence["removed"] == [{"interface": "eth0", "counters": {}, "kernel_log": [
        {"boot_s": 900.001846, "time": None, "event": "vf_unregistered", "device": "eth0", "vf": "enP1s1", "slot": None,
         "text": "hv_netvsc guid-eth0 eth0: VF unregistering: enP1s1"}]}]


def test_traffic_on_the_synthetic_path_because_the_vf_link_is_down():
    down = vf_if("enP1s1", MAC0, master="eth0")
    down.operstate = "lowerlayerdown"
    pairing = Pairing(syn("eth0", MAC0), down, method="master")
    finding = checks.check_datapath(facts(pairings=[pairing], samples={"eth0": SYNTHETIC_GROWING}))
    assert outcome(finding) == (
        "datapath.vf", "warning", "eth0: traffic on the synthetic path: enP1s1 is down (see vf.bonded)",
        "Fix vf.bonded first: hv_netvsc moves traffic to the VF as soon as it is up")


def test_a_nic_without_vf_on_a_size_that_supports_it_is_told_to_enable_it():
    lone = syn("eth0", MAC0)
    f = facts(interfaces=[lone], pairings=[Pairing(lone)], samples={"eth0": [CounterSample({"vf_rx_packets": 0})]})
    assert outcome(checks.check_datapath(f)) == (
        "datapath.vf", "warning", "eth0: no VF: all traffic on the synthetic path", checks.enable_an_remedy(f, [MAC0]))
    assert checks.check_datapath(f, size_supported=False).remedy == checks.resize_remedy(f)


def test_a_vf_enslaved_with_another_mac_that_a_manager_holds_gets_the_udev_rule_too():
    held = vf_if("enP1s1", MAC1, master="eth0", management=NM)
    f = facts(pairings=[Pairing(syn("eth0", MAC0), held, method="master")])
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0", nets=("enP1s1",))])
    assert (finding.id, finding.status) == ("vf.bonded", "critical")
    assert finding.summary.startswith("enP1s1 is enslaved to eth0 with a different MAC; ")
    assert finding.remedy == checks._bond_remedy(f, True, "enP1s1") and udev_rule_remedy() in finding.remedy


def test_a_nic_without_vf_beside_vfs_without_interfaces_names_the_first_of_them():
    lone = syn("eth0", MAC0)
    cx3 = PciDevice(slot="0002:00:02.0", vendor_id="15b3", device_id="1004", driver="mlx4_core", net_names=[],
                    source="sysfs", vf_model=vf_table()[("15b3", "1004")])
    idle = [vf_dev("0001:00:02.0"), cx3]
    f = facts(interfaces=[lone], pairings=[Pairing(lone)], pci_devices=idle,
              samples={"eth0": [CounterSample({"vf_rx_packets": 0})]})
    assert outcome(checks.check_datapath(f)) == (
        "datapath.vf", "warning",
        "eth0: traffic on the synthetic path: the VF 0001:00:02.0 has no network interface (see vf.driver)",
        vfbinding.unbound_cause(f, idle[0], checks._vm_ref(f)).remedy)
    # bound to mlx5_core, so loaded: never told to load it
    assert checks.check_datapath(f).remedy.startswith("mlx5_core is there: nothing to load.")
