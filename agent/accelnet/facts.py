"""Everything the diagnosis needs, read from a host once.

``gather`` is the only step of a diagnosis that does I/O (through the Host); the checks and
the report are pure functions of the :class:`Facts` it returns, which is what makes a
snapshot's verdict identical to the live host's.
"""

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
    #: "sysfs", or "captures" for a bundle without /sys whose NICs are known only from
    #: their ethtool captures (a bundle made by hand from the article's commands).
    interfaces_source: str = "sysfs"

    @property
    def is_azure(self) -> Optional[bool]:
        """DMI's answer; where DMI could not be read, a captured IMDS document proves Azure."""
        if self.dmi.is_azure is None and self.imds is not None:
            return True
        return self.dmi.is_azure


def gather(host: Host, options: Options) -> Facts:
    facts = Facts(dmi=read_dmi(host))
    _read_os(host, facts)
    facts.kernel = read_kernel_release(host)
    facts.cpus = count_cpus(host)
    _read_imds_if_azure(host, facts, options)
    facts.pci_devices = read_pci_devices(host)
    facts.interfaces = read_interfaces(host)
    _fill_virtual_drivers(host, facts.interfaces)
    if host.live:
        from .live import fill_permanent_macs

        fill_permanent_macs(facts.interfaces)
        facts.sample_interval = options.sample_seconds
    else:
        facts.sample_interval = float(host.meta.get("sample_interval_s", 0.0))  # type: ignore[arg-type]
        if not facts.interfaces:
            _interfaces_from_captures(host, facts)
        else:
            _netvsc_by_counters(host, facts, [i for i in facts.interfaces if i.driver is None and i.bus is None])
    _read_management(host, facts.interfaces, facts.pci_devices)
    facts.pairings = pair_interfaces(facts.interfaces, facts.pci_devices, options.synthetic_drivers)
    synthetic = [p.synthetic.name for p in facts.pairings]
    missing = [n for n in synthetic if n not in facts.samples]
    if missing:
        facts.samples.update(host.sample_counters(missing, options.sample_seconds))
    facts.samples = {n: facts.samples[n] for n in synthetic}
    return facts


def _read_imds_if_azure(host: Host, facts: Facts, options: Options) -> None:
    """IMDS is asked only when DMI says Azure; a snapshot's captured document is only read,
    and where DMI cannot tell, that document is what tells."""
    if facts.dmi.is_azure is None and not host.live:
        _read_imds(host, facts)
        if facts.imds is None:
            facts.imds_state = "not asked: DMI cannot tell whether this is Azure"
    elif facts.is_azure and options.imds:
        _read_imds(host, facts)
    elif facts.is_azure:
        facts.imds_state = "disabled (--no-imds)"
    else:
        facts.imds_state = "not asked: not an Azure VM"


def _fill_virtual_drivers(host: Host, interfaces: List[NetInterface]) -> None:
    """Interfaces with no backing device (a bridge standing in for hv_netvsc in tests, veth)
    have no driver link in sysfs: ``ethtool -i`` names their driver."""
    from .ethtool_text import parse_ethtool_info

    for iface in interfaces:
        if iface.driver is not None or iface.bus is not None:
            continue
        text = host.capture(f"ethtool-i.{iface.name}")
        if text is None:
            continue
        try:
            iface.driver = parse_ethtool_info(text)["driver"]
        except ParseError:
            continue


def _interfaces_from_captures(host: Host, facts: Facts) -> None:
    """No /sys in the bundle: its ``ethtool -S`` captures name the NICs."""
    names = sorted({c.split(".", 1)[1].rsplit(".", 1)[0] for c in host.capture_names()
                    if c.startswith("ethtool-S.") and c.count(".") >= 2})
    facts.interfaces = [NetInterface(name=name) for name in names]
    facts.interfaces_source = "captures"
    _netvsc_by_counters(host, facts, facts.interfaces)


def _netvsc_by_counters(host: Host, facts: Facts, unknown: List[NetInterface]) -> None:
    """A snapshot interface whose driver sysfs does not name: only hv_netvsc reports the five
    vf_* counters, so an ``ethtool -S`` capture holding them marks a synthetic NIC."""
    from .counters import VF_COUNTERS

    if not unknown:
        return
    samples = host.sample_counters([i.name for i in unknown], facts.sample_interval)
    for iface in unknown:
        readings = samples.get(iface.name) or []
        first = readings[0] if readings else None
        if first is not None and first.stats is not None and all(k in first.stats for k in VF_COUNTERS):
            iface.driver = HV_NETVSC
            facts.samples[iface.name] = readings


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
