"""Kernel uevents (pyudev, kernel source) beside the rtnetlink monitor: no double counting."""

from accelnet.kernel import netns
from accelnet.kernel.events import ADDED, REMOVED, VfMonitor
from accelnet.kernel.udev_events import UdevMonitor, event_from_properties
from kernel_helpers import wait_for


def test_pci_bind_properties_become_an_event():
    # the variables the kernel puts in a PCI "bind" uevent (drivers/pci/pci-driver.c
    # pci_uevent + drivers/base/core.c dev_uevent), for the CX-5 VF of the reference sample
    props = {"ACTION": "bind", "SUBSYSTEM": "pci", "DRIVER": "mlx5_core",
             "DEVPATH": "/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/"
                        "9970f259-1a65-4a22-bce2-500aee5b8543/pci1a65:00/1a65:00:02.0",
             "PCI_CLASS": "20000", "PCI_ID": "15B3:1018", "PCI_SUBSYS_ID": "15B3:0003",
             "PCI_SLOT_NAME": "1a65:00:02.0", "SEQNUM": "4242"}
    event = event_from_properties(props, 12.5)
    assert (event.subsystem, event.action, event.name, event.driver, event.pci_id,
            event.ifindex, event.monotonic) == ("pci", "bind", "1a65:00:02.0", "mlx5_core",
                                                "15B3:1018", None, 12.5)
    unbind = event_from_properties(dict(props, ACTION="unbind", DRIVER=""), 13.0)
    assert unbind.action == "unbind" and unbind.driver is None
    assert event_from_properties(dict(props, ACTION="change"), 1.0) is None
    assert event_from_properties(dict(props, SUBSYSTEM="block"), 1.0) is None
    assert event_from_properties({}, 1.0) is None
    net = event_from_properties({"ACTION": "add", "SUBSYSTEM": "net", "INTERFACE": "eth1",
                                 "IFINDEX": "x7", "DEVPATH": "/devices/virtual/net/eth1"}, 2.0)
    assert net.name == "eth1" and net.ifindex is None


def test_udev_and_rtnetlink_see_the_same_flap_without_double_counting(ns):
    netns.add_bridge(ns, "eth0")
    vf_mon = VfMonitor(synthetic_drivers=("bridge",))
    udev_mon = UdevMonitor(source="kernel")
    with netns.entered(ns):
        vf_mon.start()
        udev_mon.start()
    try:
        netns.add_veth(ns, "eth1", "p1")
        netns.set_master(ns, "eth1", "eth0")
        netns.rename_link(ns, "eth1", "enP1s1")
        netns.delete_link(ns, "enP1s1")
        wait_for(lambda: udev_mon.counts.get(("net", "remove"), 0) == 2, what="udev removes")
        wait_for(lambda: len(vf_mon.history()) == 2, what="rtnetlink events")
        assert udev_mon.counts == {("net", "add"): 2, ("net", "move"): 1, ("net", "remove"): 2}
        moved = [e for e in udev_mon.history() if e.action == "move"]
        assert [(e.name, e.ifindex is not None) for e in moved] == [("enP1s1", True)]
        assert vf_mon.counts == {("eth0", ADDED): 1, ("eth0", REMOVED): 1}
        assert udev_mon.running and udev_mon.error is None
    finally:
        udev_mon.stop()
        vf_mon.stop()
    assert not udev_mon.running
