"""The VF's history, from the kernel log: a pure parser (text in, events out).

hv_netvsc logs every step of a VF's life on the synthetic NIC (drivers/net/hyperv/):

* ``VF slot <serial> added|removed`` (netvsc.c ``netvsc_send_vf``): the host offered or
  withdrew a VF for this NIC; the serial is the ``/sys/bus/pci/slots/<serial>`` of the VF;
* ``VF registering: <vf>`` / ``VF unregistering: <vf>`` (netvsc_drv.c
  ``netvsc_register_vf``/``netvsc_unregister_vf``): the VF interface was enslaved/released;
* ``Data path switched to VF: <vf>`` / ``Data path switched from VF: <vf>``
  (``netvsc_vf_changed``/``netvsc_switch_datapath``): traffic moved to the VF or back.

``netdev_info`` prefixes each with the driver, the VMBus device and the NIC name
(``hv_netvsc 7c1e5225-55d2-7c1e-5225-55d27c1e5225 eth0: ...``). The VF registers under its
probe name (``eth2``) and is renamed right after by udev (``mlx5_core 927a:00:02.0
enP37498s1: renamed from eth2``, from net/core/dev.c): events carry the final name.

Two input forms are accepted, line by line: ``dmesg`` output (``[    5.123456] message``, or
``[    5.123456] [  T123] message`` where the kernel records the caller)
and raw ``/dev/kmsg`` records (``6,1234,5123456,-;message``, continuation lines starting
with a space ignored). Anything else (syslog lines without boot time, ``dmesg -T``) is
skipped: an event needs its boot-relative time.
"""

from typing import Dict, Iterator, List, Optional, Tuple

from accelnet.parsers.lazypattern import LazyPattern
from accelnet.records import dataclass

VF_REGISTERED = "vf_registered"
VF_UNREGISTERED = "vf_unregistered"
DATAPATH_VF = "datapath_vf"
DATAPATH_SYNTHETIC = "datapath_synthetic"
VF_SLOT_ADDED = "vf_slot_added"
VF_SLOT_REMOVED = "vf_slot_removed"
EVENTS = (VF_REGISTERED, VF_UNREGISTERED, DATAPATH_VF, DATAPATH_SYNTHETIC, VF_SLOT_ADDED, VF_SLOT_REMOVED)

#: Digit runs are bounded: a hostile log must not make int() slow (or refuse, Python >= 3.11).
_DMESG = LazyPattern(r"^\[\s*(\d{1,12})\.(\d{1,9})\]\s?(.*)$")
_KMSG = LazyPattern(r"^(\d{1,10}),(\d{1,20}),(\d{1,18}),[^;]*;(.*)$")
#: util-linux dmesg (2.37 on) prints a CONFIG_PRINTK_CALLER record's caller (thread or CPU)
#: between the time and the message: ``[    5.123456] [  T123] message``.
_CALLER = LazyPattern(r"^\[\s*[TC]\d{1,10}\]\s?")
#: netdev_info's prefix for hv_netvsc: driver, VMBus device (GUID or vmbus_N_M), NIC name.
_NETVSC = LazyPattern(r"^hv_netvsc(?:\s+\S+)?\s+([^\s:]+):\s+(.*?)\s*$")
_SLOT = LazyPattern(r"^VF slot (\d{1,10}) (added|removed)$")
_MESSAGES = (
    (LazyPattern(r"^VF registering: (\S+)$"), VF_REGISTERED),
    (LazyPattern(r"^VF unregistering: (\S+)$"), VF_UNREGISTERED),
    (LazyPattern(r"^Data path switched to VF: (\S+)$"), DATAPATH_VF),
    (LazyPattern(r"^Data path switched from VF: (\S+)$"), DATAPATH_SYNTHETIC),
)
#: A VF driver's rename line (net/core/dev.c): "<driver> <pci slot> <new>: renamed from <old>".
_RENAME = LazyPattern(r"^(?:mlx4_en|mlx4_core|mlx5_core|mana)[:]?\s+\S+\s+([^\s:]+):\s+renamed from (\S+?)(?:\s.*)?$")


@dataclass
class KernelEvent:
    boot_s: float
    event: str
    device: Optional[str]  # the synthetic NIC
    vf: Optional[str]
    slot: Optional[int]
    text: str  # the log message, without its timestamp


def split_record(line: str) -> Optional[Tuple[float, str]]:
    """(seconds since boot, message) of one dmesg line or /dev/kmsg record; None otherwise."""
    match = _DMESG.match(line)
    if match:
        whole, frac, message = match.groups()
        return int(whole) + int(frac) / (10 ** len(frac)), _CALLER.sub("", message, count=1)
    match = _KMSG.match(line)
    if match:
        return int(match.group(3)) / 1e6, match.group(4)
    return None


def parse_message(boot_s: float, message: str) -> Optional[KernelEvent]:
    """The VF event one hv_netvsc message reports, or None for any other message."""
    match = _NETVSC.match(message)
    if not match:
        return None
    device, body = match.groups()
    text = message.rstrip()
    slot = _SLOT.match(body)
    if slot:
        kind = VF_SLOT_ADDED if slot.group(2) == "added" else VF_SLOT_REMOVED
        return KernelEvent(boot_s, kind, device, None, int(slot.group(1)), text)
    for pattern, kind in _MESSAGES:
        found = pattern.match(body)
        if found:
            return KernelEvent(boot_s, kind, device, found.group(1), None, text)
    return None


def records(text: str) -> Iterator[Tuple[float, str]]:
    """(seconds since boot, message) of every record of a kernel log, in its order."""
    for line in text.splitlines():
        if not line or line[0].isspace() and not line.lstrip().startswith("["):
            continue  # kmsg continuation lines (" SUBSYSTEM=...") carry no message
        record = split_record(line.strip())
        if record is not None:
            yield record


def parse_kernel_log(text: str) -> List[KernelEvent]:
    """Every VF event of a kernel log, oldest first, VF names as udev renamed them."""
    events: List[KernelEvent] = []
    for boot_s, message in records(text):
        rename = _RENAME.match(message.rstrip())
        if rename:
            _apply_rename(events, old=rename.group(2), new=rename.group(1))
            continue
        event = parse_message(boot_s, message)
        if event is not None:
            events.append(event)
    return events


#: How far back a rename looks for the registration it renames: udev renames a VF within a
#: second of it, and a log of renames that name nothing must not cost n² (a 1 MiB log).
_RENAME_WINDOW = 64


def _apply_rename(events: List[KernelEvent], old: str, new: str) -> None:
    """udev renames a VF right after it registered under its probe name: the registration
    (the latest one naming ``old``) is about the renamed interface."""
    for event in reversed(events[-_RENAME_WINDOW:]):
        if event.vf == old:
            if event.event == VF_REGISTERED:
                event.vf = new
            return


def vf_event_counts(events: List[KernelEvent]) -> Dict[Tuple[str, str], int]:
    """(synthetic NIC, "added"|"removed") -> how often the log shows the VF enslaved or
    released: the same events the agent's rtnetlink monitor counts from its start."""
    counts: Dict[Tuple[str, str], int] = {}
    for event in events:
        if event.device is None:
            continue
        kind = {VF_REGISTERED: "added", VF_UNREGISTERED: "removed"}.get(event.event)
        if kind is not None:
            key = (event.device, kind)
            counts[key] = counts.get(key, 0) + 1
    return counts
