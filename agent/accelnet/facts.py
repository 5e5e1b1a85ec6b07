"""Everything the diagnosis needs, read from a host once.

``gather`` is the only step of a diagnosis that does I/O (through the Host); the checks and
the report are pure functions of the :class:`Facts` it returns, which is what makes a
snapshot's verdict identical to the live host's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from .errors import ParseError
from .host import CounterSample, Host
from .netdev import HV_NETVSC, NetInterface, Pairing, pair_interfaces, read_interfaces
from .pci import PciDevice, read_pci_devices
from .platform import Dmi, count_cpus, read_dmi, read_kernel_release, read_os_release_text


@dataclass
class Options:
    sample_seconds: float = 2.0
    imds: bool = True
    synthetic_drivers: Sequence[str] = (HV_NETVSC,)


@dataclass
class Facts:
    dmi: Dmi
    os_release: Optional[object] = None  # accelnet.osrelease.OsRelease
    os_release_error: Optional[str] = None
    kernel: Optional[str] = None
    cpus: Optional[int] = None
    imds: Optional[object] = None  # accelnet.imds.ImdsInstance
    imds_state: str = "not asked"
    pci_devices: List[PciDevice] = field(default_factory=list)
    interfaces: List[NetInterface] = field(default_factory=list)
    pairings: List[Pairing] = field(default_factory=list)
    samples: Dict[str, List[CounterSample]] = field(default_factory=dict)
    sample_interval: float = 0.0
    live: bool = False

    @property
    def is_azure(self) -> Optional[bool]:
        return self.dmi.is_azure


def gather(host: Host, options: Options) -> Facts:
    facts = Facts(dmi=read_dmi(host), live=host.live)
    _read_os(host, facts)
    facts.kernel = read_kernel_release(host)
    facts.cpus = count_cpus(host)
    if facts.is_azure and options.imds:
        _read_imds(host, facts)
    elif facts.is_azure:
        facts.imds_state = "disabled (--no-imds)"
    else:
        facts.imds_state = "not asked: not an Azure VM"
    facts.pci_devices = read_pci_devices(host)
    facts.interfaces = read_interfaces(host)
    if host.live:
        from .live import fill_virtual_drivers

        fill_virtual_drivers(facts.interfaces)
    _read_management(host, facts.interfaces, facts.pci_devices)
    facts.pairings = pair_interfaces(facts.interfaces, facts.pci_devices, options.synthetic_drivers)
    synthetic = [p.synthetic.name for p in facts.pairings]
    if host.live:
        facts.sample_interval = options.sample_seconds
    else:
        facts.sample_interval = float(host.meta.get("sample_interval_s", 0.0))  # type: ignore[arg-type]
    facts.samples = host.sample_counters(synthetic, options.sample_seconds)
    return facts


def _read_os(host: Host, facts: Facts) -> None:
    text = read_os_release_text(host)
    if text is None:
        facts.os_release_error = "no /etc/os-release"
        return
    from .osrelease import parse_os_release

    try:
        facts.os_release = parse_os_release(text)
    except ParseError as exc:
        facts.os_release_error = f"os-release unreadable: {exc}"


def _read_imds(host: Host, facts: Facts) -> None:
    text = host.capture("imds")
    if text is None:
        facts.imds_state = "unavailable" if host.live else "not captured"
        return
    from .imds import parse_imds_instance

    try:
        facts.imds = parse_imds_instance(text)
        facts.imds_state = "ok"
    except ParseError as exc:
        facts.imds_state = f"unreadable: {exc}"


def _read_management(host: Host, interfaces: List[NetInterface], pci: List[PciDevice]) -> None:
    """Whether NetworkManager/networkd will touch the VF interfaces (management.py)."""
    vf_slots = {d.slot for d in pci if d.is_an_vf}
    from .management import read_management

    for iface in interfaces:
        if iface.pci_slot in vf_slots and iface.ifindex is not None:
            iface.management = read_management(host, iface.name, iface.ifindex)
