"""PCI devices of a host, and which of them are Accelerated Networking virtual functions.

sysfs (``/sys/bus/pci/devices``) is the source of truth: it exists on every kernel and needs
no tool. ``lspci`` output is used to name devices and, where a capture has no sysfs PCI tree
(a bundle made by hand), to find the devices at all.
"""

import json
import os
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.parsers.numbers import decimal
from accelnet.readers import capturenames
from accelnet.readers.host import Host
from accelnet.records import dataclass, field

PCI_DEVICES = "/sys/bus/pci/devices"
#: PCI class 0x0200, Ethernet controller. The same ConnectX VF ids also come as InfiniBand
#: controllers (class 0x0207) on Azure's HPC sizes: those VFs carry IPoIB/RDMA, are never
#: paired with hv_netvsc, and are not Accelerated Networking.
ETHERNET_CLASS = "0200"


@dataclass(frozen=True)
class VfModel:
    vendor_id: str
    device_id: str
    model: str
    family: str
    drivers: Tuple[str, ...]


@dataclass
class PciDevice:
    slot: str
    vendor_id: Optional[str] = None
    device_id: Optional[str] = None
    subsystem_vendor_id: Optional[str] = None
    subsystem_device_id: Optional[str] = None
    class_code: Optional[str] = None
    driver: Optional[str] = None
    net_names: List[str] = field(default_factory=list)
    name: Optional[str] = None  # "Vendor Device" as lspci names it
    source: str = "sysfs"  # or "lspci" where only lspci saw the device
    vf_model: Optional[VfModel] = None

    @property
    def is_an_vf(self) -> bool:
        return self.vf_model is not None

    @property
    def model(self) -> Optional[str]:
        if self.vf_model is not None:
            return self.vf_model.model
        return self.name


@lru_cache(maxsize=1)
def vf_table() -> Dict[Tuple[str, str], VfModel]:
    """The known AN VF ids (rules/vf_ids.json), keyed by (vendor, device)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rules", "vf_ids.json")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    table = {}
    for row in data["virtual_functions"]:
        model = VfModel(
            vendor_id=row["vendor_id"],
            device_id=row["device_id"],
            model=row["model"],
            family=row["family"],
            drivers=tuple(row["drivers"]),
        )
        table[(model.vendor_id, model.device_id)] = model
    return table


def known_vf(
    vendor_id: Optional[str], device_id: Optional[str], class_code: Optional[str] = None
) -> Optional[VfModel]:
    """The AN VF model of these ids; None for other devices, and for a known id whose class
    (where known) is not Ethernet."""
    if not vendor_id or not device_id:
        return None
    if class_code and not class_code.startswith(ETHERNET_CLASS):
        return None
    return vf_table().get((vendor_id.lower(), device_id.lower()))


def parse_hex_id(text: Optional[str], width: int = 4) -> Optional[str]:
    """sysfs ids read ``0x15b3``; we keep ``15b3``. Anything else is no id."""
    if text is None:
        return None
    text = text.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if not text or len(text) > width or any(c not in "0123456789abcdef" for c in text):
        return None
    return text.rjust(width, "0")


def read_sysfs_device(host: Host, slot: str) -> PciDevice:
    base = f"{PCI_DEVICES}/{slot}"
    device = PciDevice(
        slot=slot,
        vendor_id=parse_hex_id(host.read_attr(f"{base}/vendor")),
        device_id=parse_hex_id(host.read_attr(f"{base}/device")),
        subsystem_vendor_id=parse_hex_id(host.read_attr(f"{base}/subsystem_vendor")),
        subsystem_device_id=parse_hex_id(host.read_attr(f"{base}/subsystem_device")),
        class_code=parse_hex_id(host.read_attr(f"{base}/class"), width=6),
        driver=host.link_name(f"{base}/driver"),
        net_names=host.list_dir(f"{base}/net"),
    )
    device.vf_model = known_vf(device.vendor_id, device.device_id, device.class_code)
    return device


def read_pci_devices(host: Host) -> List[PciDevice]:
    """Every PCI device of the host, from sysfs, named and completed by lspci where captured."""
    devices = {slot: read_sysfs_device(host, slot) for slot in host.list_dir(PCI_DEVICES)}
    for seen in lspci_devices(host):
        device = devices.get(seen.slot)
        if device is None:
            device = PciDevice(
                slot=seen.slot,
                vendor_id=seen.vendor_id,
                device_id=seen.device_id,
                driver=seen.driver,
                source="lspci",
            )
            if seen.class_code:
                device.class_code = seen.class_code
            devices[seen.slot] = device
        if device.name is None:
            device.name = " ".join(n for n in (seen.vendor_name, seen.device_name) if n) or None
        if device.vf_model is None and device.source == "lspci":
            device.vf_model = known_vf(device.vendor_id, device.device_id, device.class_code) or _vf_by_name(seen)
    return [devices[slot] for slot in sorted(devices)]


def lspci_devices(host: Host) -> list:
    """Devices from the captured ``lspci`` output; none when absent or unreadable."""
    text = host.capture(capturenames.LSPCI)
    if not text:
        return []
    from accelnet.parsers.lspci import parse_lspci

    try:
        return parse_lspci(text)
    except ParseError:
        return []


def _vf_by_name(seen) -> Optional[VfModel]:
    """Plain ``lspci`` prints names, not ids: match the VF models by name then."""
    if seen.vendor_id and seen.device_id:
        return None
    if seen.class_name and seen.class_name != "Ethernet controller":
        return None
    text = f"{seen.vendor_name or ''} {seen.device_name or ''}"
    if "Virtual Function" not in text:
        if "Microsoft" in text and (seen.device_name or "").strip().lower() in ("device 00ba", "00ba"):
            return known_vf("1414", "00ba")
        return None
    best: Optional[VfModel] = None
    best_length = 0
    for model in vf_table().values():
        generation = model.model.replace(" Virtual Function", "")
        if generation in text and len(generation) > best_length:
            best, best_length = model, len(generation)
    return best



PCI_SLOTS = "/sys/bus/pci/slots"


def read_pci_slots(host: Host) -> Dict[int, str]:
    """Physical slot number -> ``domain:bus:device`` (``/sys/bus/pci/slots/<n>/address``).

    hv_pci registers each VF's slot under the serial the host gave it, the number hv_netvsc
    logs as ``VF slot <n> added``: this is how the kernel pairs a VF with its synthetic NIC.
    """
    slots = {}
    for name in host.list_dir(PCI_SLOTS):
        address = host.read_attr(f"{PCI_SLOTS}/{name}/address")
        serial = decimal(name, max_digits=10)
        if serial is not None and address:
            slots[serial] = address.lower()
    return slots


VMBUS_DEVICES = "/sys/bus/vmbus/devices"
#: VMBus class of a PCI pass-through device (include/linux/hyperv.h HV_PCIE_GUID): the host's
#: offer of a PCI function, a VF, which pci-hyperv (driver hv_pci) turns into a PCI bus.
HV_PCI_CLASS = "{44c4f61d-4444-4400-9d52-802e27ede19f}"


@dataclass
class HvPciBridge:
    """A VMBus PCI pass-through device: vmbus creates it for every offer, whatever the guest
    has; ``driver`` is hv_pci once pci-hyperv took it, and ``slots`` the PCI functions it put
    on its bus (``<guid>/pci<domain>:00/<slot>``)."""

    guid: str
    driver: Optional[str]
    slots: List[str] = field(default_factory=list)


def read_hv_pci_bridges(host: Host) -> List[HvPciBridge]:
    bridges = []
    for guid in host.list_dir(VMBUS_DEVICES):
        base = f"{VMBUS_DEVICES}/{guid}"
        class_id = host.read_attr(f"{base}/class_id")
        if class_id is None or class_id.lower() != HV_PCI_CLASS:
            continue
        slots = [slot for bus in host.list_dir(base) if bus.startswith("pci")
                 for slot in host.list_dir(f"{base}/{bus}") if ":" in slot]
        bridges.append(HvPciBridge(guid, host.link_name(f"{base}/driver"), sorted(slots)))
    return bridges
