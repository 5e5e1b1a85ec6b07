"""The field classes of issue 20 on facts built in memory: a VF the host offers that the guest
cannot take (each missing piece and its remedy), a failed probe (the remedy from the error,
never 'modprobe' for a loaded module), and drops on the VF path (rates, shares, thresholds)."""

import pytest

from accelnet.diagnosis import checks, drops
from accelnet.diagnosis.facts import Facts
from accelnet.diagnosis.source import SOURCE_OK
from accelnet.parsers.driverlog import parse_driver_failures
from accelnet.parsers.kernellog import parse_kernel_log
from accelnet.parsers.osrelease import parse_os_release
from accelnet.readers.host import CounterSample, SampleState
from accelnet.readers.modules import ModuleState
from accelnet.readers.netdev import NetInterface, pair_interfaces
from accelnet.readers.pci import HvPciBridge, PciDevice, known_vf
from accelnet.readers.platform import Dmi

AZURE = Dmi("Microsoft Corporation", "Virtual Machine", "7783-7084-3265-9085-8269-3286-77", "090008")
GUIDS = {"eth0": "000d3af5-76bd-000d-3af5-76bd000d3af5", "eth1": "000d3af5-7701-000d-3af5-7701000d3af5"}
MACS = {"eth0": "00:0d:3a:f5:76:bd", "eth1": "00:0d:3a:f5:77:01"}
BRIDGE = "46afe45a-5f12-4b00-b86b-908faa315b45"
ENABLE_AN = ("--accelerated-networking", "az network nic update", "deallocate")


def syn(name="eth0"):
    return NetInterface(name=name, mac=MACS[name], driver="hv_netvsc", bus="vmbus", device=GUIDS[name], ifindex=2)


def cx5(slot="5f12:00:02.0", driver=None, nets=()):
    return PciDevice(slot=slot, vendor_id="15b3", device_id="1018", class_code="020000", driver=driver,
                     net_names=list(nets), vf_model=known_vf("15b3", "1018"))


def cx3(slot="0001:00:02.0", driver="mlx4_core"):
    return PciDevice(slot=slot, vendor_id="15b3", device_id="1004", class_code="020000", driver=driver,
                     net_names=[], vf_model=known_vf("15b3", "1004"))


def offered(name="eth0", slot=1):
    return f"[    4.913270] hv_netvsc {GUIDS[name]} {name}: VF slot {slot} added\n"


def modules(**states):
    """Every AN module unknown unless given: name=(loaded, builtin, file)."""
    names = ("hv_netvsc", "pci_hyperv", "pci_hyperv_intf", "mlx4_core", "mlx4_en", "mlx5_core", "mana")
    return {n: ModuleState(n, *states.get(n, (None, None, None))) for n in names}


def facts_for(interfaces, pci=(), log="", bridges=(), mods=None):
    facts = Facts(dmi=AZURE, interfaces=list(interfaces), pci_devices=list(pci), hv_pci_bridges=list(bridges),
                  modules=mods or modules())
    facts.pairings = pair_interfaces(facts.interfaces, facts.pci_devices)
    facts.samples = {p.synthetic.name: [CounterSample({"vf_rx_packets": 0, "vf_tx_packets": 0, "vf_tx_dropped": 0,
                                                      "rx_queue_0_packets": 10, "tx_queue_0_packets": 5})]
                     for p in facts.pairings}
    facts.history = parse_kernel_log(log)
    facts.driver_failures = parse_driver_failures(log)
    facts.history_state = SOURCE_OK
    return facts


def finding(facts, check_id):
    return next(f for f in checks.run_checks(facts) if f.id == check_id)


def never_enable_an(facts):
    for f in checks.run_checks(facts):
        assert not any(word in (f.remedy or "") for word in ENABLE_AN), (f.id, f.remedy)


# -- 1. the host offers a VF the guest cannot take ---------------------------------------------

def test_pci_hyperv_installed_but_not_loaded():
    mods = modules(pci_hyperv=(False, False, "kernel/drivers/pci/controller/pci-hyperv.ko.zst"))
    facts = facts_for([syn()], log=offered(), bridges=[HvPciBridge(BRIDGE, None)], mods=mods)
    present = finding(facts, "vf.present")
    assert present.status == "critical"
    assert "pci-hyperv is installed (kernel/drivers/pci/controller/pci-hyperv.ko.zst) but not loaded" in present.summary
    assert present.remedy.startswith("Load it (sudo modprobe pci-hyperv)")
    assert finding(facts, "datapath.vf").remedy == present.remedy
    never_enable_an(facts)


def test_modules_unknown_still_names_pci_hyperv():
    facts = facts_for([syn()], log=offered(), bridges=[HvPciBridge(BRIDGE, None)])
    present = finding(facts, "vf.present")
    assert present.status == "critical" and "pci-hyperv is missing or not loaded" in present.summary
    assert "sudo modprobe pci-hyperv" in present.remedy
    never_enable_an(facts)


def test_the_bridge_alone_proves_the_offer_and_the_log_alone_too():
    # no kernel log: one waiting pass-through device for one NIC without a VF
    facts = facts_for([syn()], bridges=[HvPciBridge(BRIDGE, None)])
    assert "a VMBus PCI pass-through device is there" in finding(facts, "vf.present").summary
    # the log alone (a bundle without VMBus sysfs)
    facts = facts_for([syn()], log=offered())
    present = finding(facts, "vf.present")
    assert "'VF slot 1 added'" in present.summary and "does not show the VMBus PCI" in present.summary
    never_enable_an(facts)


def test_hv_pci_took_the_offer_and_failed():
    log = offered() + f"[    5.101478] hv_pci {BRIDGE}: PCI Pass-through VSP failed D0 Entry with status c0000184\n"
    facts = facts_for([syn()], log=log, bridges=[HvPciBridge(BRIDGE, "hv_pci")])
    present = finding(facts, "vf.present")
    assert present.status == "critical" and "hv_pci is loaded but failed to probe" in present.summary
    assert "PCI Pass-through VSP failed D0 Entry" in present.summary and "modprobe" not in present.remedy


@pytest.mark.parametrize("state, how", [
    ((True, False, "kernel/drivers/pci/controller/pci-hyperv.ko"), "loaded"),
    ((False, True, ""), "built in"),  # a built-in module has no /sys/module/<name>/initstate
])
def test_pci_hyperv_running_is_never_told_to_load(state, how):
    """pci-hyperv there and the pass-through device still unbound, with no line of hv_pci:
    its probe returned -ENODEV/-ENXIO (debug level only); loading it again changes nothing."""
    facts = facts_for([syn()], log=offered(), bridges=[HvPciBridge(BRIDGE, None)], mods=modules(pci_hyperv=state))
    present = finding(facts, "vf.present")
    assert present.status == "critical"
    assert f"pci-hyperv is {how} but did not take the VMBus PCI pass-through device {BRIDGE}" in present.summary
    assert "modprobe" not in present.remedy and "az vm redeploy" in present.remedy
    never_enable_an(facts)


def test_hv_pci_failed_and_left_the_device_unbound():
    """A failed probe leaves the VMBus device without a driver: its lines still name the cause
    (here the MMIO shortage, whose -ENXIO the driver core does not log)."""
    log = offered() + (f"[    5.101478] hv_pci {BRIDGE}: Need 0x8000000 of low MMIO space. Consider reconfiguring "
                       "the VM.\n")
    for mods in (modules(), modules(pci_hyperv=(True, False, "p.ko"))):
        facts = facts_for([syn()], log=log, bridges=[HvPciBridge(BRIDGE, None)], mods=mods)
        present = finding(facts, "vf.present")
        assert "hv_pci is loaded but failed to probe" in present.summary and "low MMIO space" in present.summary
        assert "modprobe" not in present.remedy
        never_enable_an(facts)


def test_two_nics_one_offered_one_off():
    facts = facts_for([syn("eth0"), syn("eth1")], log=offered("eth0"), bridges=[HvPciBridge(BRIDGE, None)])
    present = finding(facts, "vf.present")
    assert present.status == "critical"
    assert present.evidence["offered"]["interfaces"] == ["eth0"]
    # eth1 has no trace of an offer: that one is AN off, remedied on its own MAC
    assert "eth1" in present.summary and "Accelerated Networking is off for eth1" in present.summary


def test_a_slot_removed_since_is_no_offer():
    log = offered() + f"[  900.000000] hv_netvsc {GUIDS['eth0']} eth0: VF slot 1 removed\n"
    present = finding(facts_for([syn()], log=log), "vf.present")
    assert "removed" in present.summary and "cannot take" not in present.summary


# -- 2. the VF is on the bus: its driver is missing, not loaded, or failed --------------------------

def test_loaded_driver_that_did_not_bind_without_a_log_line():
    facts = facts_for([syn()], pci=[cx5()], mods=modules(mlx5_core=(True, False, "kernel/x/mlx5_core.ko")))
    driver = finding(facts, "vf.driver")
    assert "mlx5_core is loaded but did not bind 5f12:00:02.0" in driver.summary
    assert "-ENODEV or -ENXIO is logged at debug level only" in driver.summary
    assert "echo 5f12:00:02.0 | sudo tee /sys/bus/pci/drivers/mlx5_core/bind" in driver.remedy
    assert "modprobe" not in driver.remedy


def test_a_module_missing_on_an_image_based_system_is_no_package_to_install():
    """Fedora CoreOS: ID=fedora, but dnf cannot add a kernel package to the booted image."""
    fcos = parse_os_release("ID=fedora\nVERSION_ID=40\nVARIANT_ID=coreos\n")
    facts = facts_for([syn()], pci=[cx5()], mods=modules(mlx5_core=(False, False, "")))
    facts.os_release = fcos
    driver = finding(facts, "vf.driver")
    assert "dnf" not in driver.remedy and "this OS is image based" in driver.remedy
    assert "update the image (sudo rpm-ostree upgrade && sudo systemctl reboot)" in driver.remedy
    facts.os_release = parse_os_release("ID=fedora\nVERSION_ID=40\nVARIANT_ID=cloud\n")
    assert "sudo dnf install -y kernel-modules-$(uname -r)" in finding(facts, "vf.driver").remedy


def test_mlx4_core_bound_but_mlx4_en_missing():
    facts = facts_for([syn()], pci=[cx3()], mods=modules(mlx4_core=(True, False, "a/mlx4_core.ko"),
                                                         mlx4_en=(False, False, "")))
    driver = finding(facts, "vf.driver")
    assert "bound to mlx4_core but has no network interface: mlx4_en is not installed" in driver.summary


@pytest.mark.parametrize("device, mods, module", [
    # mlx4_core bound, mlx4_en loaded or built in, and still no interface
    (cx3(), modules(mlx4_core=(True, False, "a/mlx4_core.ko"), mlx4_en=(True, False, "a/mlx4_en.ko")), "mlx4_en"),
    (cx3(), modules(mlx4_core=(False, True, ""), mlx4_en=(False, True, "")), "mlx4_en"),
    # mlx5_core bound (so loaded) without an interface: a kernel without CONFIG_MLX5_CORE_EN
    (cx5(driver="mlx5_core"), modules(), "mlx5_core"),
    (cx5(driver="mlx5_core"), modules(mlx5_core=(True, False, "m.ko")), "mlx5_core"),
], ids=["mlx4_en-loaded", "mlx4_en-built-in", "mlx5-modules-unknown", "mlx5-loaded"])
def test_a_bound_vf_without_an_interface_is_never_told_to_load_a_loaded_driver(device, mods, module):
    facts = facts_for([syn()], pci=[device], mods=mods)
    driver = finding(facts, "vf.driver")
    assert driver.status == "critical"
    assert f"{module} is " in driver.summary and f"but made no network interface for {device.slot}" in driver.summary
    assert "modprobe" not in driver.remedy and f"{module} is there: nothing to load" in driver.remedy
    # only a driver that makes the interface itself can lack its Ethernet part and still bind
    assert ("CONFIG_MLX5_CORE_EN=y" in driver.remedy) == (module == "mlx5_core")


def test_the_withdrawn_device_race_asks_for_a_kernel_update():
    slot = "468b:00:02.0"
    log = (f"[   63.161610] mlx5_core {slot}: firmware version: 65535.65535.65535\n"
           f"[  183.178629] mlx5_core {slot}: mlx5_function_setup:1130:(pid 17): Firmware over 120000 MS in "
           "pre-initializing state, aborting\n"
           f"[  183.192623] mlx5_core: probe of {slot} failed with error -16\n")
    facts = facts_for([syn()], pci=[cx5(slot)], log=log, mods=modules(mlx5_core=(True, False, "m.ko")))
    driver = finding(facts, "vf.driver")
    assert "withdrew the VF while the driver probed it" in driver.summary and "(error -16, EBUSY)" in driver.summary
    assert "PCI: hv: Add a per-bus mutex state_lock" in driver.remedy and "update the kernel" in driver.remedy
    assert driver.evidence["virtual_functions"][0]["cause"]["kind"] == "device_gone"


def test_a_refused_protocol_version_and_an_unknown_error():
    slot = "7870:00:00.0"
    mana = PciDevice(slot=slot, vendor_id="1414", device_id="00ba", class_code="020000", vf_model=known_vf("1414", "00ba"))
    refused = f"[    5.0] mana {slot}: VfVerifyVersionOutput: 0, status=0x1\n[    5.1] mana: probe of {slot} failed with error -71\n"
    driver = finding(facts_for([syn()], pci=[mana], log=refused), "vf.driver")
    assert "the host refused the driver's protocol version" in driver.summary and "(error -71, EPROTO)" in driver.summary
    assert "older than the host's VF needs" in driver.remedy
    other = f"[    5.1] mana {slot}: gdma probe failed: err = -12\n"
    driver = finding(facts_for([syn()], pci=[mana], log=other), "vf.driver")
    assert "mana is loaded but failed to probe" in driver.summary and "(error -12, ENOMEM)" in driver.summary
    assert "modprobe" not in driver.remedy


def test_a_failure_of_another_slot_explains_nothing():
    log = "[  183.192623] mlx5_core: probe of 0002:00:02.0 failed with error -16\n"
    driver = finding(facts_for([syn()], pci=[cx5()], log=log), "vf.driver")
    assert driver.summary.endswith("has no driver bound") and "sudo modprobe mlx5_core" in driver.remedy


# -- 3. drops on the VF path ---------------------------------------------------------------------

def stats(tx=0, rx=0, tx_dropped=0):
    return {"vf_rx_packets": rx, "vf_tx_packets": tx, "vf_tx_dropped": tx_dropped}


@pytest.mark.parametrize("dropped, sent, status", [
    (2, 1998, "warning"),     # 0.1% of 2,000 attempts at 1/s: the warning threshold itself
    (1, 1998, "ok"),          # 0.05%, and 0.5/s: below both
    (20, 1980, "critical"),   # 1%
    (1, 0, "ok"),             # 100% of one packet in 2 s: 0.5/s is noise
    (4, 0, "critical"),       # nothing got through: every attempt dropped
])
def test_thresholds(dropped, sent, status):
    (rate,) = drops.drop_rates(stats(), stats(tx=sent, tx_dropped=dropped), 2.0)
    assert (rate.counter, rate.status) == (drops.NETVSC_TX, status)
    assert rate.carried == sent + dropped


def test_vf_driver_counters_by_driver_and_their_denominators():
    before = {"rx_out_of_buffer": 10, "tx_queue_dropped": 5, "rx_packets": 0}
    after = {"rx_out_of_buffer": 30, "tx_queue_dropped": 5}
    rates = {r.counter: r for r in drops.drop_rates(stats(), stats(tx=4000, rx=9980), 10.0, "mlx5_core", before, after)}
    assert (rates[drops.VF_RX].dropped, rates[drops.VF_RX].carried, rates[drops.VF_RX].status) == (20, 10000, "warning")
    assert (rates[drops.VF_TX].dropped, rates[drops.VF_TX].carried) == (0, 4000)
    mana = {"hc_rx_discards_no_wqe": 1, "hc_rx_err_vport_disabled": 1, "hc_tx_err_gdma": 0, "hc_tx_err_mtu_violation": 7,
            "hc_tx_bytes": 999}
    assert drops.driver_dropped("mana", mana) == {"rx": 2, "tx": 7}
    assert drops.driver_dropped("mlx4_core", {"rx_dropped": 3, "tx_dropped": 4}) == {"rx": 3, "tx": 4}
    assert drops.driver_dropped("ixgbevf", {"rx_dropped": 3}) == {} == drops.driver_dropped(None, mana)


def test_a_counter_that_went_back_counts_from_zero():
    (rate,) = drops.drop_rates(stats(tx=10**9, tx_dropped=10**6), stats(tx=1000, tx_dropped=500), 2.0)
    assert (rate.dropped, rate.carried, rate.status) == (500, 1500, "critical")


def test_datapath_judges_drops_only_with_two_samples_of_each_side():
    facts = facts_for([syn(), NetInterface(name="enP1s1", mac=MACS["eth0"], driver="mlx5_core", bus="pci",
                                           device="0001:00:02.0", master="eth0", flags=0x1803, operstate="up",
                                           ifindex=3)],
                      pci=[cx5("0001:00:02.0", "mlx5_core", ("enP1s1",))])
    before, after = stats(tx=1000, rx=1000), stats(tx=5000, rx=5000, tx_dropped=40)
    facts.samples = {"eth0": [CounterSample(before, monotonic=1.0), CounterSample(after, monotonic=3.0)]}
    datapath = finding(facts, "datapath.vf")
    assert datapath.status == "warning" and "refused 0.99% of the packets hv_netvsc sent it" in datapath.summary
    assert "(vf_tx_dropped: 20.0/s)" in datapath.summary
    facts.vf_samples = {"enP1s1": [CounterSample({"rx_out_of_buffer": 0}), CounterSample({"rx_out_of_buffer": 400})]}
    datapath = finding(facts, "datapath.vf")
    assert datapath.status == "critical" and "dropped 9.09% of the packets it received" in datapath.summary
    facts.samples["eth0"] = facts.samples["eth0"][:1]
    assert finding(facts, "datapath.vf").status == "ok"


def test_datapath_names_the_remedy_of_a_vf_driver_drop():
    facts = facts_for([syn(), NetInterface(name="enP1s1", mac=MACS["eth0"], driver="mlx5_core", bus="pci",
                                           device="0001:00:02.0", master="eth0", flags=0x1803, operstate="up",
                                           ifindex=3)],
                      pci=[cx5("0001:00:02.0", "mlx5_core", ("enP1s1",))])
    before, after = stats(tx=1000, rx=1000), stats(tx=5000, rx=5000)
    facts.samples = {"eth0": [CounterSample(before, monotonic=1.0), CounterSample(after, monotonic=3.0)]}
    facts.vf_samples = {"enP1s1": [CounterSample({"tx_queue_dropped": 0}), CounterSample({"tx_queue_dropped": 400})]}
    datapath = finding(facts, "datapath.vf")
    assert datapath.status == "critical"
    assert datapath.remedy.startswith("enP1s1's driver dropped packets it had accepted: see which counter grows")


def _enslaved_cx5_facts():
    return facts_for([syn(), NetInterface(name="enP1s1", mac=MACS["eth0"], driver="mlx5_core", bus="pci",
                                          device="0001:00:02.0", master="eth0", flags=0x1803, operstate="up",
                                          ifindex=3)],
                     pci=[cx5("0001:00:02.0", "mlx5_core", ("enP1s1",))])


def test_samples_without_times_are_judged_over_the_recorded_interval():
    """A bundle's samples may carry no monotonic time: the interval it recorded stands in."""
    facts = _enslaved_cx5_facts()
    facts.samples = {"eth0": [CounterSample(stats(tx=1000, rx=1000)), CounterSample(stats(tx=5000, rx=5000, tx_dropped=40))]}
    facts.sample_interval = 2.0
    datapath = finding(facts, "datapath.vf")
    assert datapath.status == "warning" and "(vf_tx_dropped: 20.0/s)" in datapath.summary
    (row,) = datapath.evidence["interfaces"]
    assert [(d["counter"], d["seconds"]) for d in row["drops"]] == [("netvsc_tx", 2.0)]


def test_a_vf_sampled_once_is_not_judged_and_not_shown():
    """The VF's own counters count only from two samples: one sample is no growth, and its
    counters appear in no verdict and no evidence."""
    facts = _enslaved_cx5_facts()
    facts.samples = {"eth0": [CounterSample(stats(tx=1000, rx=1000), monotonic=1.0),
                              CounterSample(stats(tx=5000, rx=5000, tx_dropped=40), monotonic=3.0)]}
    facts.vf_samples = {"enP1s1": [CounterSample({"rx_out_of_buffer": 400, "tx_queue_dropped": 9})]}
    datapath = finding(facts, "datapath.vf")
    (row,) = datapath.evidence["interfaces"]
    assert [d["counter"] for d in row["drops"]] == ["netvsc_tx"]
    assert datapath.status == "warning" and "enP1s1 dropped" not in datapath.summary


def test_an_unreadable_sample_says_what_could_not_be_read():
    facts = _enslaved_cx5_facts()
    facts.samples = {"eth0": [CounterSample(None, SampleState.UNPARSABLE, "line 3: value of 'vf_rx_bytes' is not a counter")]}
    datapath = finding(facts, "datapath.vf")
    assert datapath.status == "unknown"
    assert "eth0: counters unparsable (line 3: value of 'vf_rx_bytes' is not a counter)" in datapath.summary
    facts.samples = {"eth0": [CounterSample(None, SampleState.GONE, "ignored for this state")]}
    assert "eth0: counters gone" in finding(facts, "datapath.vf").summary
    assert "ignored" not in finding(facts, "datapath.vf").summary


def test_an_offer_waiting_for_one_nic_is_not_shared_with_a_nic_that_has_its_vf():
    """One VMBus PCI device put no VF on the bus, eth0 has no VF and eth1 has one: the device is
    eth0's offer (the NICs counted are those without a VF), not a reason to enable AN, whether
    or not the PCI device of eth1's VF could be read."""
    eth1_vf = NetInterface(name="enP2s1", mac=MACS["eth1"], driver="mlx5_core", bus="pci", device="0002:00:02.0",
                           master="eth1", flags=0x1803, operstate="up", ifindex=4)
    for pci in ([cx5("0002:00:02.0", "mlx5_core", ("enP2s1",))], []):
        facts = facts_for([syn("eth0"), syn("eth1"), eth1_vf], pci=pci, bridges=[HvPciBridge(BRIDGE, None)])
        datapath = finding(facts, "datapath.vf")
        assert "eth0: traffic on the synthetic path: the host offers a VF the guest cannot take" in datapath.summary
        assert not any(word in (datapath.remedy or "") for word in ENABLE_AN)


def test_of_two_vfs_without_an_interface_the_one_named_gets_the_remedy():
    mods = modules(mlx4_core=(False, False, None),
                   mlx5_core=(True, False, "kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko"))
    facts = facts_for([syn()], pci=[cx3(driver=None), cx5(driver=None)], mods=mods)
    datapath = finding(facts, "datapath.vf")
    assert "the VF 0001:00:02.0 has no network interface" in datapath.summary
    assert "modprobe mlx4_en" in datapath.remedy and "5f12:00:02.0" not in datapath.remedy
