"""Network interfaces from sysfs, and the pairing of each synthetic NIC with its VF.

The kernel tells us the pairing itself: netvsc links the VF as a lower device
(``/sys/class/net/<syn>/lower_<vf>``, ``/sys/class/net/<vf>/master``). Only where that link is
missing (the VF was not enslaved) do we fall back to the MAC, which Azure gives both sides.
VF names vary (``enP31819s1``, ``enP53091s1np0``, ``eth1``, ``eth8``), so a name never says
what an interface is.
"""

from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence

from accelnet.readers.host import Host
from accelnet.readers.pci import PciDevice
from accelnet.records import dataclass, field

if TYPE_CHECKING:
    from accelnet.readers.management import Management

CLASS_NET = "/sys/class/net"
VMBUS_DEVICES = "/sys/bus/vmbus/devices"
IFF_UP = 0x1
IFF_SLAVE = 0x800
HV_NETVSC = "hv_netvsc"
VMBUS_NETWORK_CLASS = "{f8615163-df3e-46c5-913f-f2d2f965ed0e}"


@dataclass
class NetInterface:
    name: str
    ifindex: Optional[int] = None
    mac: Optional[str] = None
    perm_mac: Optional[str] = None
    flags: Optional[int] = None
    operstate: Optional[str] = None
    driver: Optional[str] = None
    bus: Optional[str] = None  # subsystem of the backing device: "vmbus", "pci", None if virtual
    device: Optional[str] = None  # VMBus instance GUID or PCI slot
    vmbus_class_id: Optional[str] = None
    master: Optional[str] = None
    lowers: List[str] = field(default_factory=list)
    management: Optional["Management"] = None  # VFs only: who configures the interface
    mtu: Optional[int] = None

    @property
    def is_slave(self) -> bool:
        return bool(self.flags is not None and self.flags & IFF_SLAVE)

    @property
    def admin_up(self) -> Optional[bool]:
        """IFF_UP: someone (netvsc itself, for a VF) set the interface up."""
        return None if self.flags is None else bool(self.flags & IFF_UP)

    @property
    def pci_slot(self) -> Optional[str]:
        return self.device if self.bus == "pci" else None


@dataclass
class VmbusNic:
    """A synthetic NIC's VMBus device, whatever driver holds it. Bound to ``uio_hv_generic``
    it has no kernel interface: DPDK's netvsc PMD owns the NIC (and its VF) from user space."""

    guid: str
    driver: Optional[str]
    mac: Optional[str]  # from Azure's instance GUID convention (the MAC, repeated), if it holds


@dataclass
class Pairing:
    """A synthetic NIC and what the kernel (or the MAC) says is its VF."""

    synthetic: NetInterface
    vf: Optional[NetInterface] = None
    vf_pci: Optional[PciDevice] = None
    method: str = ""  # "lower", "master", "mac", or "" when there is no VF interface

    @property
    def enslaved(self) -> bool:
        return self.vf is not None and self.vf.master == self.synthetic.name


def _int(text: Optional[str], base: int = 10) -> Optional[int]:
    """A sysfs number (``ifindex``, ``mtu``; ``flags`` in hex): a few ASCII characters, or
    not a number (int() of a snapshot's 64 KiB attribute would be slow, or refused)."""
    if text is None or len(text) > 24 or any(ord(c) > 127 for c in text):
        return None
    try:
        return int(text, base)
    except ValueError:
        return None


def _mac(text: Optional[str]) -> Optional[str]:
    return text.lower() if text else None


def read_interface(host: Host, name: str) -> NetInterface:
    base = f"{CLASS_NET}/{name}"
    entries = host.list_dir(base)
    iface = NetInterface(
        name=name,
        ifindex=_int(host.read_attr(f"{base}/ifindex")),
        mac=_mac(host.read_attr(f"{base}/address")),
        flags=_int(host.read_attr(f"{base}/flags"), 16),
        operstate=host.read_attr(f"{base}/operstate"),
        mtu=_int(host.read_attr(f"{base}/mtu")),
        master=host.link_name(f"{base}/master"),
        lowers=[e[len("lower_"):] for e in entries if e.startswith("lower_")],
    )
    if "device" in entries:
        iface.device = host.link_name(f"{base}/device")
        iface.bus = host.link_name(f"{base}/device/subsystem")
        iface.driver = host.link_name(f"{base}/device/driver")
        if iface.bus == "vmbus":
            class_id = host.read_attr(f"{base}/device/class_id")
            iface.vmbus_class_id = class_id.lower() if class_id else None
    return iface


def read_interfaces(host: Host) -> List[NetInterface]:
    return [read_interface(host, name) for name in host.list_dir(CLASS_NET)]


def mac_of_netvsc_guid(guid: str) -> Optional[str]:
    """Azure names a synthetic NIC's VMBus instance after its MAC, repeated
    (``000d3af5-76bd-000d-3af5-76bd000d3af5`` is 00:0d:3a:f5:76:bd); None where the GUID does
    not follow that convention."""
    digits = guid.replace("-", "").lower()
    if len(digits) != 32 or digits[:12] != digits[12:24] or digits[24:] != digits[:8]:
        return None
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def read_vmbus_nics(host: Host) -> List[VmbusNic]:
    """Every VMBus device of the network class, with the driver bound to it."""
    nics = []
    for guid in host.list_dir(VMBUS_DEVICES):
        class_id = host.read_attr(f"{VMBUS_DEVICES}/{guid}/class_id")
        if class_id is None or class_id.lower() != VMBUS_NETWORK_CLASS:
            continue
        nics.append(VmbusNic(guid, host.link_name(f"{VMBUS_DEVICES}/{guid}/driver"), mac_of_netvsc_guid(guid)))
    return nics


def is_synthetic(iface: NetInterface, synthetic_drivers: Sequence[str] = (HV_NETVSC,)) -> bool:
    """hv_netvsc NICs (or the stand-in drivers a test names).

    A netvsc NIC whose driver link cannot be read is still recognised by its VMBus class.
    """
    if iface.driver in synthetic_drivers:
        return True
    return HV_NETVSC in synthetic_drivers and iface.vmbus_class_id == VMBUS_NETWORK_CLASS


def pair_interfaces(
    interfaces: Iterable[NetInterface],
    pci_devices: Iterable[PciDevice] = (),
    synthetic_drivers: Sequence[str] = (HV_NETVSC,),
) -> List[Pairing]:
    ifaces = list(interfaces)
    by_name = {i.name: i for i in ifaces}
    pci_by_slot = {d.slot: d for d in pci_devices}
    synthetic = [i for i in ifaces if is_synthetic(i, synthetic_drivers)]
    synthetic_names = {i.name for i in synthetic}
    claimed: set = set()
    pairings = []
    for syn in synthetic:
        vf, method = _find_vf(syn, ifaces, by_name, synthetic_names, claimed)
        if vf is not None:
            claimed.add(vf.name)
        pairing = Pairing(synthetic=syn, vf=vf, method=method)
        if vf is not None and vf.pci_slot:
            pairing.vf_pci = pci_by_slot.get(vf.pci_slot)
        pairings.append(pairing)
    return pairings


def _find_vf(syn, ifaces, by_name, synthetic_names, claimed):
    for lower in syn.lowers:
        if lower in by_name and lower not in claimed:
            return by_name[lower], "lower"
    for iface in ifaces:
        if iface.master == syn.name and iface.name not in claimed:
            return iface, "master"
    if syn.mac:
        for iface in ifaces:
            if (
                iface.name not in synthetic_names
                and iface.name not in claimed
                and iface.bus == "pci"
                and syn.mac in (iface.mac, iface.perm_mac)
            ):
                return iface, "mac"
    return None, ""


#: The kernel's own per-interface counters (/sys/class/net/<if>/statistics/) that a live view
#: shows for a VF where the synthetic NIC reports no vf_* counters (not hv_netvsc).
LINK_STATS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped")


def read_link_stats(host: Host, name: str) -> Optional[Dict[str, int]]:
    """An interface's statistics (the counters every driver keeps), None where it has none."""
    stats: Dict[str, int] = {}
    for stat in LINK_STATS:
        value = _int(host.read_attr(f"{CLASS_NET}/{name}/statistics/{stat}"))
        if value is None:
            return None
        stats[stat] = value
    return stats
