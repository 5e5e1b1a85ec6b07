"""Everything the diagnosis needs, read from a host once.

``gather`` is the only step of a diagnosis that does I/O (through the Host); the checks and
the report are pure functions of the :class:`Facts` it returns, which is what makes a
snapshot's verdict identical to the live host's.
"""

import datetime
import re
import time
from typing import TYPE_CHECKING, Dict, List, Optional

from accelnet.diagnosis.intent import FILE, Intent, Nic, Source, from_flags, from_tag, resolve
from accelnet.diagnosis.source import NOT_ASKED, NOT_CAPTURED, SOURCE_OK, UNAVAILABLE, SourceKind, SourceState
from accelnet.errors import ParseError
from accelnet.parsers.intent import CONF_PATH, IntentError, parse_intent_file
from accelnet.parsers.ipaddr import Address
from accelnet.parsers.driverlog import DriverFailure
from accelnet.parsers.kernellog import KernelEvent
from accelnet.readers import capturenames
from accelnet.readers.host import CounterSample, Host
from accelnet.readers.options import Options
from accelnet.readers.netdev import HV_NETVSC, NetInterface, Pairing, VmbusNic, pair_interfaces, read_interfaces, read_vmbus_nics
from accelnet.readers.modules import ModuleState, read_modules
from accelnet.readers.pci import HvPciBridge, PciDevice, read_hv_pci_bridges, read_pci_devices, read_pci_slots
from accelnet.readers.platform import Dmi, count_cpus, read_dmi, read_kernel_release, read_os_release_text
from accelnet.records import dataclass, field

if TYPE_CHECKING:  # the parsers are imported where a host is read, not by importing this
    from accelnet.parsers.imds import ImdsInstance
    from accelnet.parsers.osrelease import OsRelease


#: Where the interfaces of the facts come from (Facts.interfaces_source).
SYSFS, CAPTURES = "sysfs", "captures"


@dataclass
class Facts:
    dmi: Dmi
    os_release: Optional["OsRelease"] = None
    os_release_error: Optional[str] = None
    kernel: Optional[str] = None
    cpus: Optional[int] = None
    imds: Optional["ImdsInstance"] = None
    imds_state: SourceState = NOT_ASKED
    pci_devices: List[PciDevice] = field(default_factory=list)
    interfaces: List[NetInterface] = field(default_factory=list)
    pairings: List[Pairing] = field(default_factory=list)
    samples: Dict[str, List[CounterSample]] = field(default_factory=dict)
    sample_interval: float = 0.0
    #: SYSFS, or CAPTURES for a bundle without /sys whose NICs are known only from
    #: their ethtool captures (a bundle made by hand from the article's commands).
    interfaces_source: str = SYSFS
    #: Synthetic NICs' VMBus devices, also those no kernel interface shows (uio_hv_generic).
    vmbus_nics: List[VmbusNic] = field(default_factory=list)
    #: ``ip -o addr show``; None where it was not captured.
    addresses: Optional[List[Address]] = None
    hostname: Optional[str] = None
    #: When the facts were read (live) or captured (bundle), RFC 3339 UTC, and as epoch s.
    time: Optional[str] = None
    epoch: Optional[float] = None
    uptime: Optional[float] = None
    #: The VF events of the kernel log, oldest first, and whether it could be read.
    history: List[KernelEvent] = field(default_factory=list)
    history_state: SourceState = NOT_CAPTURED
    #: /sys/bus/pci/slots: slot serial -> "domain:bus:device".
    pci_slots: Dict[int, str] = field(default_factory=dict)
    #: VMBus PCI pass-through devices: the VFs the host offers, taken by pci-hyperv or not.
    hv_pci_bridges: List[HvPciBridge] = field(default_factory=list)
    #: The AN modules: loaded, installed, built in (readers/modules.py).
    modules: Dict[str, ModuleState] = field(default_factory=dict)
    #: What the VF drivers and hv_pci logged when they failed, oldest first.
    driver_failures: List[DriverFailure] = field(default_factory=list)
    #: The VF interfaces' own ethtool samples, taken with the synthetic NICs' (by VF name).
    vf_samples: Dict[str, List[CounterSample]] = field(default_factory=dict)
    #: What the operator declared the VM and each synthetic NIC to be (flags, file, tag).
    intent: Intent = field(default_factory=Intent)

    @property
    def boot_epoch(self) -> Optional[float]:
        """When the kernel booted: wall-clock time of the facts minus the uptime then."""
        if self.epoch is None or self.uptime is None:
            return None
        return self.epoch - self.uptime

    @property
    def captures_only(self) -> bool:
        """A bundle without /sys: its NICs are known from their ethtool captures alone."""
        return self.interfaces_source == CAPTURES

    @property
    def is_azure(self) -> Optional[bool]:
        """DMI's answer; where DMI could not be read, a captured IMDS document proves Azure."""
        if self.dmi.is_azure is None and self.imds is not None:
            return True
        return self.dmi.is_azure


def gather(host: Host, options: Options) -> Facts:
    facts = Facts(dmi=read_dmi(host))
    _read_clock(host, facts)
    _read_os(host, facts)
    facts.kernel = read_kernel_release(host)
    facts.hostname = host.read_attr("/proc/sys/kernel/hostname")
    facts.cpus = count_cpus(host)
    _read_imds_if_azure(host, facts, options)
    facts.pci_devices = read_pci_devices(host)
    facts.interfaces = read_interfaces(host)
    facts.vmbus_nics = read_vmbus_nics(host)
    _fill_virtual_drivers(host, facts.interfaces)
    _read_history(host, facts)
    _read_addresses(host, facts)
    _read_permanent_macs(host, facts.interfaces, facts.pci_devices)
    if host.live:
        facts.sample_interval = options.sample_seconds
    else:
        interval = host.meta.get("sample_interval_s")  # snapshot.json's, a number (read_meta)
        facts.sample_interval = float(interval) if isinstance(interval, (int, float)) else 0.0
        if not facts.interfaces:
            _interfaces_from_captures(host, facts)
        else:
            _netvsc_by_counters(host, facts, [i for i in facts.interfaces if i.driver is None and i.bus is None])
    _read_management(host, facts.interfaces, facts.pci_devices)
    facts.pairings = pair_interfaces(facts.interfaces, facts.pci_devices, options.synthetic_drivers)
    facts.pci_slots = read_pci_slots(host)
    facts.hv_pci_bridges = read_hv_pci_bridges(host)
    facts.modules = read_modules(host)
    _pair_user_space_vfs(facts)
    synthetic = [p.synthetic.name for p in facts.pairings]
    vfs = [p.vf.name for p in facts.pairings if p.vf is not None and p.vf.name not in synthetic]
    # One sampling of both sides: a VF's own drops are judged against the synthetic NIC's
    # vf_* counters of the same moments.
    missing = [n for n in synthetic + vfs if n not in facts.samples]
    if missing:
        facts.samples.update(host.sample_counters(missing, options.sample_seconds))
    facts.vf_samples = {n: facts.samples[n] for n in vfs if n in facts.samples}
    facts.samples = {n: facts.samples[n] for n in synthetic}
    facts.intent = _read_intent(host, facts, options)
    return facts


#: The intent file is a few lines; anything larger is not one.
MAX_INTENT_BYTES = 65536


def _read_intent(host: Host, facts: Facts, options: Options) -> Intent:
    """The declared intent: the flags, the file (read through the Host, so a bundle has it),
    the VM tag from IMDS. One that cannot be read is the intent's error, never a guess."""
    nics = [Nic(p.synthetic.name, p.synthetic.mac, p.vf.name if p.vf is not None else None) for p in facts.pairings]
    try:
        sources = [from_flags(options.expect_an, options.ignore_nics), from_tag(facts.imds.tags if facts.imds else ())]
        foreign = host.writable_by_others(CONF_PATH) if host.exists(CONF_PATH) else None
        if foreign is not None:  # anyone could silence the checks: not a declaration
            raise IntentError(f"{CONF_PATH} is not trusted: {foreign}; it must be root's and writable by root only")
        text = host.read_text(CONF_PATH, limit=MAX_INTENT_BYTES)
        if text is not None:
            sources.append(Source(FILE, parse_intent_file(text, CONF_PATH)))
        elif host.exists(CONF_PATH):
            raise IntentError(f"{CONF_PATH} cannot be read (not a regular file, not readable, or larger "
                              f"than {MAX_INTENT_BYTES} bytes)")
        return resolve(sources, nics)
    except IntentError as exc:
        return Intent(error=str(exc))


#: Drivers that hand a PCI function to user space (DPDK, a nested VM): the kernel has no
#: network interface for a VF bound to one.
USER_SPACE_DRIVERS = ("vfio-pci", "uio_pci_generic", "igb_uio")


def current_slot(history: List[KernelEvent], device: str) -> Optional[int]:
    """The VF slot serial the host last offered this synthetic NIC (None: none, or withdrawn)."""
    from accelnet.parsers.kernellog import VF_SLOT_ADDED, VF_SLOT_REMOVED

    slot = None
    for event in history:
        if event.device == device and event.event in (VF_SLOT_ADDED, VF_SLOT_REMOVED):
            slot = event.slot if event.event == VF_SLOT_ADDED else None
    return slot


def _pair_user_space_vfs(facts: Facts) -> None:
    """A VF bound to vfio-pci has no interface to pair by; the kernel log's ``VF slot <n>
    added`` and /sys/bus/pci/slots/<n> name its synthetic NIC, as hv_netvsc itself pairs."""
    by_prefix = {d.slot.rsplit(".", 1)[0]: d for d in facts.pci_devices if d.is_an_vf}
    for pairing in facts.pairings:
        if pairing.vf is not None or pairing.vf_pci is not None:
            continue
        serial = current_slot(facts.history, pairing.synthetic.name)
        address = facts.pci_slots.get(serial) if serial is not None else None
        device = by_prefix.get(address) if address else None
        if device is not None and device.driver in USER_SPACE_DRIVERS:
            pairing.vf_pci = device
            pairing.method = "slot"


def _read_clock(host: Host, facts: Facts) -> None:
    """When: a bundle's captured_at, or now; and the uptime then, to date kernel-log lines."""
    if host.live:
        facts.epoch = time.time()
    else:
        facts.epoch = parse_rfc3339(host.meta.get("captured_at"))
    if facts.epoch is not None:
        facts.time = rfc3339(facts.epoch)
    words = (host.read_text("/proc/uptime", limit=4096) or "").split()
    try:
        uptime = float(words[0]) if words else None
    except ValueError:
        uptime = None
    # Finite and under ~300 years: anything else is not an uptime (and would overflow dates).
    facts.uptime = uptime if uptime is not None and 0 <= uptime < 1e10 else None


def rfc3339(epoch: float) -> Optional[str]:
    """``2025-06-03T17:43:12Z`` (microseconds where there are any); None out of range."""
    try:
        stamp = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (".%06dZ" % stamp.microsecond if stamp.microsecond else "Z")


#: What RFC 3339 allows (and ``date --rfc-3339``'s space): date, time, a fraction of any length
#: (``date --rfc-3339=ns`` and Go's RFC3339Nano write nine digits; microseconds are kept), Z or
#: an offset whose minutes are 00-59.
_RFC3339 = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[Tt ]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
                      r"(?:\.([0-9]+))?(?:[Zz]|([+-])([0-9]{2}):?([0-5][0-9]))\Z")


def parse_rfc3339(text: object) -> Optional[float]:
    """Epoch seconds of an RFC 3339 time (``2025-06-03T17:43:12Z``, ``…+00:00``, fractions);
    None for anything else. By hand: Python 3.6 has no fromisoformat, and strptime imports
    ``_strptime``, ``calendar`` and ``locale`` for one date per run."""
    if not isinstance(text, str):
        return None
    m = _RFC3339.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(part) for part in m.group(1, 2, 3, 4, 5, 6))
    fraction = int((m.group(7) or "0")[:6].ljust(6, "0"))
    offset = datetime.timedelta(hours=int(m.group(9) or 0), minutes=int(m.group(10) or 0))
    try:
        zone = datetime.timezone(-offset if m.group(8) == "-" else offset)
        return datetime.datetime(year, month, day, hour, minute, second, fraction, zone).timestamp()
    except (ValueError, OverflowError):
        return None


def _read_history(host: Host, facts: Facts) -> None:
    """The VF events of the kernel log (``dmesg`` capture; /dev/kmsg on the live host)."""
    text = host.capture(capturenames.DMESG)
    if text is None:
        error = host.capture_problem(capturenames.DMESG)
        facts.history_state = SourceState(SourceKind.UNREADABLE, error) if error else _missing(host)
        return
    from accelnet.parsers.driverlog import parse_driver_failures
    from accelnet.parsers.kernellog import parse_kernel_log

    facts.history = parse_kernel_log(text)
    facts.driver_failures = parse_driver_failures(text)
    facts.history_state = SOURCE_OK


def _missing(host: Host) -> SourceState:
    """A capture that is not there: the live host could not make it, a bundle does not hold it."""
    return UNAVAILABLE if host.live else NOT_CAPTURED


def _read_addresses(host: Host, facts: Facts) -> None:
    text = host.capture(capturenames.IP_ADDR)
    if text is None:
        return
    from accelnet.parsers.ipaddr import parse_ip_addr

    facts.addresses = parse_ip_addr(text)


def _read_permanent_macs(host: Host, interfaces: List[NetInterface], pci: List[PciDevice]) -> None:
    """The permanent MAC (``ethtool -P``) of the VF interfaces: netvsc pairs a VF by it, so the
    check's MAC fallback uses it too. Read through the Host, so a bundle holds it as well."""
    from accelnet.parsers.ethtool_text import parse_ethtool_permaddr

    vf_slots = {d.slot for d in pci if d.is_an_vf}
    for iface in interfaces:
        if iface.pci_slot not in vf_slots:
            continue
        text = host.capture(capturenames.of_interface(capturenames.ETHTOOL_PERMADDR, iface.name))
        if text is None:
            continue
        try:
            iface.perm_mac = parse_ethtool_permaddr(text)
        except ParseError:
            iface.perm_mac = None


def _read_imds_if_azure(host: Host, facts: Facts, options: Options) -> None:
    """IMDS is asked only when DMI says Azure; a snapshot's captured document is only read,
    and where DMI cannot tell, that document is what tells."""
    if facts.dmi.is_azure is None and not host.live:
        _read_imds(host, facts)
        if facts.imds is None:
            facts.imds_state = SourceState(SourceKind.NOT_ASKED, "DMI cannot tell whether this is Azure")
    elif facts.is_azure and options.imds:
        _read_imds(host, facts)
    elif facts.is_azure:
        facts.imds_state = SourceState(SourceKind.DISABLED, "--no-imds")
    else:
        facts.imds_state = SourceState(SourceKind.NOT_ASKED, "not an Azure VM")


def _fill_virtual_drivers(host: Host, interfaces: List[NetInterface]) -> None:
    """Interfaces with no backing device (a bridge standing in for hv_netvsc in tests, veth)
    have no driver link in sysfs: ``ethtool -i`` names their driver."""
    from accelnet.parsers.ethtool_text import parse_ethtool_info

    for iface in interfaces:
        if iface.driver is not None or iface.bus is not None:
            continue
        text = host.capture(capturenames.of_interface(capturenames.ETHTOOL_INFO, iface.name))
        if text is None:
            continue
        try:
            iface.driver = parse_ethtool_info(text)["driver"]
        except ParseError:
            continue


def _interfaces_from_captures(host: Host, facts: Facts) -> None:
    """No /sys in the bundle: its ``ethtool -S`` captures name the NICs."""
    names = capturenames.sampled_interfaces(host.capture_names())
    facts.interfaces = [NetInterface(name=name) for name in names]
    facts.interfaces_source = CAPTURES
    _netvsc_by_counters(host, facts, facts.interfaces)


def _netvsc_by_counters(host: Host, facts: Facts, unknown: List[NetInterface]) -> None:
    """A snapshot interface whose driver sysfs does not name: only hv_netvsc reports the five
    vf_* counters, so an ``ethtool -S`` capture holding them marks a synthetic NIC."""
    from accelnet.diagnosis.counters import VF_COUNTERS

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
    from accelnet.parsers.osrelease import parse_os_release

    try:
        facts.os_release = parse_os_release(text)
    except ParseError as exc:
        facts.os_release_error = f"os-release unreadable: {exc}"


def _read_imds(host: Host, facts: Facts) -> None:
    text = host.capture(capturenames.IMDS)
    if text is None:
        facts.imds_state = _missing(host)
        return
    from accelnet.parsers.imds import parse_imds_instance

    try:
        facts.imds = parse_imds_instance(text)
        facts.imds_state = SOURCE_OK
    except ParseError as exc:
        facts.imds_state = SourceState(SourceKind.UNREADABLE, str(exc))


def _read_management(host: Host, interfaces: List[NetInterface], pci: List[PciDevice]) -> None:
    """Whether NetworkManager/networkd will touch the VF interfaces (management.py)."""
    vf_slots = {d.slot for d in pci if d.is_an_vf}
    from accelnet.readers.management import read_management

    for iface in interfaces:
        if iface.pci_slot in vf_slots and iface.ifindex is not None:
            iface.management = read_management(host, iface.name, iface.ifindex)
