"""Decisions of the checks that no fixture host reaches: several problems at once, the
off-Azure demotion, the overall status, and the size check's branches (IMDS known or not,
a VF present or not).  Facts are built from the parts a host reader returns."""

import pytest

from accelnet.diagnosis import checks
from accelnet.diagnosis.facts import Facts
from accelnet.diagnosis.finding import CHECK_IDS, Finding
from accelnet.diagnosis.source import NOT_ASKED, SOURCE_OK
from accelnet.parsers.imds import ImdsInstance
from accelnet.readers.host import CounterSample
from accelnet.readers.management import Management
from accelnet.readers.netdev import NetInterface, Pairing
from accelnet.readers.pci import PciDevice, vf_table
from accelnet.readers.platform import Dmi

AZURE = Dmi("Microsoft Corporation", "Virtual Machine", "7783-7084-3265-9085-8269-3286-77", "090008")
KVM = Dmi("QEMU", "Standard PC (Q35 + ICH9, 2009)", None, "1.16.2-debian-1.16.2-1")
NM_MANAGED = Management(networkmanager=True, nm_managed=True)
MAC0, MAC1 = "00:0d:3a:00:00:01", "00:0d:3a:00:00:02"
CX5 = vf_table()[("15b3", "1018")]


def instance(vm_size="Standard_DC4s_v3", resource_group="rg-prod", name="vm-db1", macs=()):
    return ImdsInstance(vm_size=vm_size, location="westeurope", name=name, os_type="Linux", publisher=None, offer=None,
                        sku=None, image_version=None, vm_scale_set_name=None, vm_id=None, macs=tuple(macs),
                        resource_group=resource_group)


IMDS = instance()


def vf_dev(slot, driver="mlx5_core", nets=("enP1s1",), source="sysfs"):
    return PciDevice(slot=slot, vendor_id="15b3", device_id="1018", driver=driver, net_names=list(nets),
                     source=source, vf_model=CX5)


def syn(name, mac):
    return NetInterface(name=name, mac=mac, driver="hv_netvsc", bus="vmbus", device="guid-" + name)


def vf_if(name, mac, master=None):
    return NetInterface(name=name, mac=mac, driver="mlx5_core", bus="pci", device="0001:00:02.0", master=master,
                        flags=0x1803 if master else 0x1003)


def facts(dmi=AZURE, imds=None, **kw):
    return Facts(dmi=dmi, imds=imds, imds_state=SOURCE_OK if imds else NOT_ASKED, **kw)


# ---- platform.vm_size ---------------------------------------------------------------------


def test_unsupported_size_is_critical_with_a_resize_remedy_naming_the_vm():
    finding = checks.check_vm_size(facts(imds=IMDS), vf_seen=False)
    assert finding.status == "critical"
    assert finding.summary.startswith("Standard_DC4s_v3 does not support Accelerated Networking: Standard_DC4s_v3 (4 vCPUs)")
    assert "az vm resize -g rg-prod -n vm-db1 --size <size>" in finding.remedy
    assert "dcsv3-series.md" in finding.evidence["source"]


@pytest.mark.parametrize("size, vf_seen, status, summary", [
    ("Standard_D4s_v5", False, "ok", "Standard_D4s_v5 supports Accelerated Networking"),
    ("Standard_Q4_v9", True, "ok", "Standard_Q4_v9 is not in the size rules, but a VF is present"),
    ("Standard_Q4_v9", False, "unknown",
     "Standard_Q4_v9 is not in the size rules: cannot tell whether it supports Accelerated Networking"),
    (None, True, "ok", "VM size unknown (IMDS ok), but a VF is present, so the size supports Accelerated Networking"),
    (None, False, "unknown", "VM size unknown: IMDS ok"),
])
def test_size_check_branches(size, vf_seen, status, summary):
    finding = checks.check_vm_size(facts(imds=instance(size, None, None)), vf_seen)
    assert (finding.status, finding.summary) == (status, summary)


def test_size_check_skipped_off_azure():
    assert checks.check_vm_size(facts(dmi=KVM, imds=IMDS), vf_seen=False).status == "skipped"


def test_remedies_use_placeholders_only_where_imds_is_silent():
    assert "az vm deallocate -g <resource-group> -n <vm-name>" in checks.enable_an_remedy(facts())
    assert "az vm deallocate -g rg-prod -n vm-db1" in checks.enable_an_remedy(facts(imds=IMDS))


# ---- vf.present / vf.driver -----------------------------------------------------------------


def test_fewer_vfs_than_synthetic_nics_is_a_warning_naming_the_nic_without():
    f = facts(pci_devices=[vf_dev("0001:00:02.0")],
              pairings=[Pairing(syn("eth0", MAC0), vf_if("enP1s1", MAC0, "eth0")), Pairing(syn("eth1", MAC1))])
    finding = checks.check_vf_present(f, f.pci_devices)
    assert finding.status == "warning"
    assert finding.summary == "1 VF(s) for 2 synthetic NICs: eth1 without a VF"
    assert finding.evidence["without_vf"] == ["eth1"]
    assert finding.remedy.startswith("Accelerated Networking is enabled per NIC: ")


def test_no_vf_on_an_unsupported_size_prescribes_a_resize():
    f = facts(imds=IMDS, interfaces=[syn("eth0", MAC0)])
    assert "az vm resize" in checks.check_vf_present(f, [], size_supported=False).remedy
    assert "az vm resize" not in checks.check_vf_present(f, [], size_supported=True).remedy


def test_two_driver_problems_at_once_all_are_named_and_the_first_remedy_given():
    unbound = vf_dev("0001:00:02.0", driver=None, nets=())
    no_net = vf_dev("0002:00:02.0", nets=())
    finding = checks.check_vf_driver(facts(), [unbound, no_net])
    assert finding.status == "critical"
    assert finding.summary == ("ConnectX-5 Virtual Function at 0001:00:02.0 has no driver bound; "
                               "ConnectX-5 Virtual Function at 0002:00:02.0 is bound to mlx5_core but has no network "
                               "interface: mlx5_core is loaded but made no network interface for 0002:00:02.0, and the "
                               "kernel log could not be read (not captured)")
    assert finding.remedy.startswith("Load the driver: sudo modprobe mlx5_core.")
    lspci_only = vf_dev("0003:00:02.0", driver=None, nets=(), source="lspci")
    only_unknown = checks.check_vf_driver(facts(), [lspci_only])
    assert (only_unknown.status, only_unknown.remedy) == ("unknown", None)


def test_a_broken_vf_is_not_hidden_by_an_unreadable_one():
    lspci_only = vf_dev("0002:00:02.0", driver=None, nets=(), source="lspci")
    unbound = vf_dev("0001:00:02.0", driver=None, nets=())
    assert checks.check_vf_driver(facts(), [lspci_only, unbound]).status == "critical"


def test_bound_to_a_driver_but_no_network_interface():
    finding = checks.check_vf_driver(facts(), [vf_dev("0001:00:02.0", nets=())])
    assert finding.status == "critical"
    assert finding.summary.startswith("ConnectX-5 Virtual Function at 0001:00:02.0 is bound to mlx5_core but has no "
                                      "network interface: mlx5_core is loaded but made no network interface")
    assert "modprobe" not in finding.remedy  # bound, so loaded
    # lspci saw it bound: no sysfs to say whether an interface exists, so that is fine.
    ok = checks.check_vf_driver(facts(), [vf_dev("0001:00:02.0", nets=(), source="lspci")])
    assert (ok.status, ok.summary) == ("ok", "0001:00:02.0 bound to mlx5_core (lspci)")


# ---- vf.bonded --------------------------------------------------------------------------------


def test_two_bonding_problems_at_once_the_critical_one_decides_and_gives_the_remedy():
    loose = vf_if("enP1s1", MAC0)                 # not enslaved
    managed = vf_if("enP2s2", MAC1, master="eth1")
    managed.management = NM_MANAGED
    f = facts(pairings=[Pairing(syn("eth0", MAC0), loose, method="mac"),
                        Pairing(syn("eth1", MAC1), managed, method="master")])
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0", nets=("enP1s1", "enP2s2"))])
    assert finding.status == "critical"
    assert finding.summary == ("enP1s1 has eth0's MAC but is not enslaved to it; "
                               "enP2s2: NetworkManager manages it (managed=true in its device state)")
    assert finding.remedy.startswith("hv_netvsc enslaves the VF itself")
    rows = {r["vf"]: r for r in finding.evidence["pairs"]}
    assert rows["enP2s2"]["management"] == NM_MANAGED.as_evidence()


def test_enslaved_with_a_different_mac():
    f = facts(pairings=[Pairing(syn("eth0", MAC0), vf_if("enP1s1", MAC1, master="eth0"), method="master")])
    finding = checks.check_vf_bonded(f, [vf_dev("0001:00:02.0")])
    assert (finding.status, finding.summary) == ("critical", "enP1s1 is enslaved to eth0 with a different MAC")


def test_a_vf_interface_paired_with_no_synthetic_nic():
    f = facts(interfaces=[vf_if("enP9s9", "02:00:00:00:00:09", master="bond0")])
    finding = checks.check_vf_bonded(f, [vf_dev("0009:00:02.0", nets=("enP9s9",))])
    assert finding.status == "critical"
    assert finding.summary == ("enP9s9 is not paired with any synthetic NIC (master: bond0, "
                               "no synthetic NIC with its MAC)")


# ---- datapath.vf --------------------------------------------------------------------------------


STATS = {"vf_rx_packets": 100, "vf_tx_packets": 50, "vf_rx_bytes": 1, "vf_tx_bytes": 1, "vf_tx_dropped": 0,
         "rx_queue_0_packets": 10, "tx_queue_0_packets": 10}


def _datapath(samples, enslaved=True):
    pairing = Pairing(syn("eth0", MAC0), vf_if("enP1s1", MAC0, master="eth0" if enslaved else None), method="mac")
    return checks.check_datapath(facts(pairings=[pairing], samples={"eth0": samples}))


def test_datapath_vf_counters_without_queue_counters():
    before = CounterSample({"vf_rx_packets": 100, "vf_tx_packets": 50}, "ok")
    after = CounterSample({"vf_rx_packets": 101, "vf_tx_packets": 50}, "ok")
    finding = _datapath([before, after])
    assert (finding.status, finding.summary) == ("ok", "eth0: traffic on the VF enP1s1")


def test_datapath_synthetic_because_not_enslaved():
    before = CounterSample(dict(STATS), "ok")
    after = CounterSample(dict(STATS, rx_queue_0_packets=11), "ok")
    finding = _datapath([before, after], enslaved=False)
    assert finding.status == "warning"
    assert finding.summary == "eth0: traffic on the synthetic path: enP1s1 is not enslaved (see vf.bonded)"
    fallback = _datapath([before, after])
    assert fallback.summary == "eth0: traffic on the synthetic path, not the VF enP1s1 (fallback)"
    assert fallback.remedy == checks.fallback_remedy("enP1s1")


def test_datapath_single_sample_and_missing_counters():
    assert _datapath([CounterSample(dict(STATS), "ok")]).summary == "eth0: vf_* counters present (not sampled twice)"
    no_vf = _datapath([CounterSample({"rx_queue_0_packets": 1}, "ok")])
    assert (no_vf.status, no_vf.summary) == ("warning", "eth0: no vf_* counters: this hv_netvsc cannot report VF traffic")
    gone = _datapath([CounterSample(None, "gone")])
    assert (gone.status, gone.summary, gone.remedy) == ("unknown", "eth0: counters gone", None)
    none = _datapath([])
    assert none.summary == "eth0: counters missing"


# ---- off Azure, and the overall status ------------------------------------------------------------


def test_off_azure_problems_are_demoted_but_os_findings_stay():
    critical = Finding("vf.present", "critical", "no VF", {}, "enable it")
    kernel = Finding("os.kernel", "critical", "old kernel", {}, "upgrade")
    ok = Finding("vf.driver", "ok", "fine")
    demoted = checks._not_applicable(critical)
    assert (demoted.id, demoted.status, demoted.summary, demoted.remedy) == ("vf.present", "skipped", "no VF", None)
    assert checks._not_applicable(kernel) == kernel
    assert checks._not_applicable(ok) == ok
    warning = Finding("datapath.vf", "warning", "fallback", {}, "wait")
    assert (checks._not_applicable(warning).status, checks._not_applicable(warning).remedy) == ("skipped", None)


def test_run_checks_off_azure_demotes_a_missing_vf():
    f = facts(dmi=KVM, interfaces=[syn("eth0", MAC0)], pairings=[Pairing(syn("eth0", MAC0))])
    by_id = {x.id: x for x in checks.run_checks(f)}
    assert by_id["vf.present"].status == "skipped"
    assert checks.overall_status(f, list(by_id.values())) == "unknown"


def _findings(**statuses):
    return [Finding(i, statuses.get(i.replace(".", "_"), "ok"), "") for i in CHECK_IDS]


@pytest.mark.parametrize("statuses, expected", [
    ({}, "ok"),
    ({"os_kernel": "critical", "datapath_vf": "warning"}, "critical"),
    ({"datapath_vf": "warning", "platform_vm_size": "unknown"}, "warning"),
    ({"platform_vm_size": "unknown"}, "ok"),            # the VF, its driver and its bond are ok
    ({"vf_bonded": "unknown"}, "unknown"),
    ({"vf_bonded": "skipped", "vf_driver": "skipped", "vf_present": "skipped"}, "ok"),
])
def test_overall_status(statuses, expected):
    assert checks.overall_status(facts(), _findings(**statuses)) == expected


def test_overall_ok_when_vf_counters_grow_whatever_else_is_unknown():
    idle = [CounterSample(dict(STATS)), CounterSample(dict(STATS))]
    growing = [CounterSample(dict(STATS)), CounterSample(dict(STATS, vf_tx_packets=51))]
    pairings = [Pairing(syn("eth0", MAC0), vf_if("enP1s1", MAC0, "eth0"), method="master"),
                Pairing(syn("eth1", MAC1), vf_if("enP2s2", MAC1, "eth1"), method="master")]
    findings = _findings(vf_bonded="unknown")
    assert checks.overall_status(facts(pairings=pairings, samples={"eth0": idle, "eth1": growing}), findings) == "ok"
    assert checks.overall_status(facts(pairings=pairings, samples={"eth0": idle, "eth1": idle}), findings) == "unknown"
    findings[5].status = "unknown"   # vf.present not ok: growing counters prove nothing about it
    assert checks.overall_status(facts(pairings=pairings, samples={"eth0": growing, "eth1": growing}), findings) == "unknown"


def test_nothing_readable_means_the_vf_is_unknown():
    finding = checks.check_vf_present(facts(), [])
    assert (finding.id, finding.status, finding.summary) == (
        "vf.present", "unknown", "neither the PCI bus nor lspci output could be read")


def test_imds_nics_that_no_synthetic_nic_has():
    f = facts(imds=instance(None, "rg", "vm", [MAC0, MAC1]), interfaces=[syn("eth0", MAC0)], pairings=[Pairing(syn("eth0", MAC0))])
    finding = checks.check_synthetic(f)
    assert (finding.id, finding.status) == ("nic.synthetic", "warning")
    assert finding.summary == f"IMDS lists NIC(s) {MAC1} that no hv_netvsc interface here has"
    assert finding.evidence["imds_macs"] == [MAC0, MAC1]


def test_interfaces_but_no_hv_netvsc_one_on_azure():
    lo = NetInterface(name="lo", mac="00:00:00:00:00:00")
    finding = checks.check_synthetic(facts(interfaces=[lo]))
    assert (finding.id, finding.status) == ("nic.synthetic", "critical")
    assert finding.summary == "no hv_netvsc interface: the Hyper-V network driver is not loaded"
    assert finding.remedy.startswith("Load the driver (sudo modprobe hv_netvsc)")
    assert checks.check_synthetic(facts(dmi=KVM, interfaces=[lo])).status == "skipped"


# ---- what the mutation run found untested (tools/mutate.py checks) ---------------------------


def test_off_azure_run_checks_demotes_a_broken_vf_driver_and_keeps_os_findings():
    unbound = vf_dev("0001:00:02.0", driver=None, nets=())
    f = facts(dmi=KVM, pci_devices=[unbound], interfaces=[syn("eth0", MAC0)], pairings=[Pairing(syn("eth0", MAC0))])
    assert checks.check_vf_driver(f, [unbound]).status == "critical"      # what it would be on Azure
    by_id = {x.id: x for x in checks.run_checks(f)}
    assert (by_id["vf.driver"].status, by_id["vf.driver"].remedy) == ("skipped", None)
    assert by_id["platform.azure"].status != "skipped"


def test_unknown_size_finding_is_the_size_check():
    finding = checks.check_vm_size(facts(imds=instance("Standard_Q4_v9", None, None)), vf_seen=False)
    assert (finding.id, finding.status) == ("platform.vm_size", "unknown")


def test_nic_named_by_its_mac_or_by_a_placeholder():
    known = checks.enable_an_remedy(facts(imds=IMDS), [MAC0])
    assert "az network nic list -g rg-prod --query \"[?macAddress=='00-0D-3A-00-00-01'].name\" -o tsv" in known
    unknown = checks.enable_an_remedy(facts(imds=IMDS), [])
    assert "az network nic update -g rg-prod -n <nic-name> --accelerated-networking true" in unknown


def test_an_unpaired_vf_that_a_manager_holds_gets_the_udev_rule():
    loose = vf_if("enP1s1", MAC1)
    plain = checks.check_vf_bonded(facts(interfaces=[syn("eth0", MAC0), loose], pairings=[Pairing(syn("eth0", MAC0))]),
                                   [vf_dev("0001:00:02.0")])
    assert plain.status == "critical" and "udev" not in plain.remedy
    loose.management = NM_MANAGED
    held = checks.check_vf_bonded(facts(interfaces=[syn("eth0", MAC0), loose], pairings=[Pairing(syn("eth0", MAC0))]),
                                  [vf_dev("0001:00:02.0")])
    assert held.status == "critical" and "68-azure-sriov-nm-unmanaged.rules" in held.remedy


# ---- declared intent: a NIC left out is not half judged -----------------------------------


def _two_nics_one_vf():
    from accelnet.readers.netdev import pair_interfaces

    a, b = "00:0d:3a:00:00:01", "00:0d:3a:00:00:02"
    interfaces = [syn("eth0", a), vf_if("enP1s1", a, master="eth0"), syn("eth1", b)]
    pci = [vf_dev("0001:00:02.0")]
    sample = [CounterSample({"vf_rx_packets": 0, "vf_tx_packets": 0})]
    f = facts(imds=IMDS, interfaces=interfaces, pci_devices=pci,
              samples={"eth0": sample, "eth1": sample}, vf_samples={"enP1s1": sample})
    f.pairings = pair_interfaces(f.interfaces, f.pci_devices)
    return f


def _declared(f, ignored):
    from accelnet.diagnosis.intent import Nic, from_flags, resolve

    nics = [Nic(p.synthetic.name, p.synthetic.mac, p.vf.name if p.vf else None) for p in f.pairings]
    f.intent = resolve([from_flags(None, ignored)], nics)
    return f


def test_a_nic_ignored_with_its_vf_leaves_the_vf_out_too():
    judged = checks.judged_facts(_declared(_two_nics_one_vf(), ["eth0"]))
    assert [p.synthetic.name for p in judged.pairings] == ["eth1"]
    assert [i.name for i in judged.interfaces] == ["eth1"]            # enP1s1 goes with eth0
    assert judged.pci_devices == [] and list(judged.samples) == ["eth1"] and judged.vf_samples == {}


def test_a_nic_ignored_without_a_vf_is_not_asked_for_one():
    f = _declared(_two_nics_one_vf(), ["eth1"])
    judged = checks.judged_facts(f)
    assert [p.synthetic.name for p in judged.pairings] == ["eth0"]
    assert [i.name for i in judged.interfaces] == ["eth0", "enP1s1"] and len(judged.pci_devices) == 1
    undeclared = {x.id: x.status for x in checks.run_checks(_two_nics_one_vf())}
    declared = {x.id: x.status for x in checks.run_checks(f)}
    assert undeclared["vf.present"] != "ok" and declared["vf.present"] == "ok"
    assert checks.judged_facts(_two_nics_one_vf()).pairings == _two_nics_one_vf().pairings   # nothing declared


def test_a_vm_with_every_nic_excused_is_judged_whole_then_excused():
    f = _declared(_two_nics_one_vf(), ["eth0", "eth1"])
    judged = checks.judged_facts(f)
    assert [p.synthetic.name for p in judged.pairings] == ["eth0", "eth1"] and len(judged.pci_devices) == 1
