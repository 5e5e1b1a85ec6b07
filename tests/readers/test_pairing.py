"""Pairing a synthetic NIC with its VF: kernel links first, then the (permanent) MAC; never names."""

from accelnet.readers.netdev import NetInterface, pair_interfaces

MAC0, MAC1 = "00:0d:3a:00:00:01", "00:0d:3a:00:00:02"


def syn(name, mac, lowers=()):
    return NetInterface(name=name, mac=mac, driver="hv_netvsc", bus="vmbus", device="guid-" + name,
                        lowers=list(lowers))


def vf(name, mac, master=None, slot="0001:00:02.0", perm=None):
    return NetInterface(name=name, mac=mac, perm_mac=perm, driver="mlx5_core", bus="pci", device=slot,
                        master=master, flags=0x1803 if master else 0x1003)


def pairs(interfaces):
    return {p.synthetic.name: (p.vf.name if p.vf else None, p.method, p.enslaved) for p in pair_interfaces(interfaces)}


def test_kernel_links_win_over_names_and_macs():
    # eth1 is a VF here (the kernel says so), whatever its name suggests.
    assert pairs([syn("eth0", MAC0, lowers=["eth1"]), vf("eth1", MAC0, master="eth0")]) == {"eth0": ("eth1", "lower", True)}
    assert pairs([syn("eth0", MAC0), vf("enP1s1", MAC1, master="eth0")]) == {"eth0": ("enP1s1", "master", True)}


def test_mac_fallback_for_an_unenslaved_vf():
    got = pairs([syn("eth0", MAC0), syn("eth1", MAC1), vf("enP2s2", MAC1, slot="0002:00:02.0"), vf("enP1s1", MAC0)])
    assert got == {"eth0": ("enP1s1", "mac", False), "eth1": ("enP2s2", "mac", False)}


def test_permanent_mac_fallback():
    # someone changed the VF's address; its permanent MAC still names its synthetic NIC
    assert pairs([syn("eth0", MAC0), vf("enP1s1", "02:00:00:00:00:09", perm=MAC0)]) == {"eth0": ("enP1s1", "mac", False)}


def test_a_virtual_interface_with_the_same_mac_is_not_a_vf():
    macvlan = NetInterface(name="macvlan0", mac=MAC0, driver=None, bus=None)
    assert pairs([syn("eth0", MAC0), macvlan]) == {"eth0": (None, "", False)}


def test_one_vf_is_claimed_once():
    got = pairs([syn("eth0", MAC0, lowers=["enP1s1"]), syn("eth1", MAC0), vf("enP1s1", MAC0, master="eth0")])
    assert got == {"eth0": ("enP1s1", "lower", True), "eth1": (None, "", False)}
