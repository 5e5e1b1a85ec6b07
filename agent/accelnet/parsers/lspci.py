"""Every form of ``lspci`` output, read into one device record per PCI function.

``lspci`` is what users, support bundles and Azure's own docs show, and a snapshot may carry
any of its forms, so the form is detected line by line (outputs can even be concatenated):

* terse (plain, ``-D``, ``-n``, ``-nn``, ``-v``): ``[dddd:]bb:dd.f <class>: <vendor+device>
  [(rev xx)] [(prog-if xx [name])]``, followed, with ``-k``/``-v``, by tab-indented lines of
  which ``Subsystem:``, ``Kernel driver in use:`` and ``Kernel modules:`` are read and the
  rest (flags, BARs, capabilities) skipped;
* machine (``-m``, ``-mm``, with ``-D``/``-n``/``-nn``): ``slot "class" "vendor" "device"
  [-rxx] [-pxx] "svendor" "sdevice"``, quotes escaped with backslashes as lspci prints them;
* verbose machine (``-vmm``, ``-vm``): ``Key:<TAB>value`` records separated by blank lines,
  the record starting with ``Slot:`` (``-vmm``) or ``Device:`` (``-vm``).

Names follow pciutils' lib/names.c: with ``-n`` only numbers; with ``-nn`` ``name [id]``;
an unknown name prints as ``Device 00ba`` / ``Vendor 1414`` / ``Class 0200`` /
``Unknown vendor 1234`` (``[....]`` with ``-nn``), and a pair with an unknown device as
``Microsoft Corporation Device 00ba`` (the MANA VF).  In the terse form vendor and device
names are printed run together; they are split only where the vendor is one of the few in
:data:`VENDOR_NAMES` (otherwise only ``description`` holds the text).  Ids and names missing
from the chosen form are filled from the small pci.ids excerpts below, so a plain ``lspci``
of an AN VM still yields ``15b3:1016``.

Blank lines, ``#`` comments and shell prompts (``$ lspci``) are skipped.  Any other line that
is not lspci output is skipped too if at least one device was read, otherwise the text is
refused with :class:`LspciParseError`.  Empty text is no devices (a container has no PCI bus).
"""

import re
from accelnet.records import dataclass
from typing import Any, Dict, List, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.parsers.lazypattern import LazyPattern

#: The keyword arguments of an LspciDevice while a device is read: a plain dict, because the
#: forms fill different fields in different orders; LspciDevice(**fields) checks the names.
_Fields = Dict[str, Any]

__all__ = [
    "LspciParseError",
    "LspciDevice",
    "parse_lspci",
    "normalize_slot",
    "CLASS_NAMES",
    "VENDOR_NAMES",
    "DEVICE_NAMES",
]

# pci.ids excerpts (https://pci-ids.ucw.cz): the classes seen on Hyper-V/Azure and network
# classes, the vendors of those devices, and the devices accelerated networking uses.
CLASS_NAMES: Dict[str, str] = {
    "0100": "SCSI storage controller", "0101": "IDE interface", "0104": "RAID bus controller",
    "0106": "SATA controller", "0107": "Serial Attached SCSI controller",
    "0108": "Non-Volatile memory controller", "0180": "Mass storage controller",
    "0200": "Ethernet controller", "0207": "Infiniband controller", "0208": "Fabric controller",
    "0280": "Network controller", "0300": "VGA compatible controller", "0302": "3D controller",
    "0380": "Display controller", "0600": "Host bridge", "0601": "ISA bridge", "0604": "PCI bridge",
    "0680": "Bridge", "0880": "System peripheral", "0c03": "USB controller",
}
VENDOR_NAMES: Dict[str, str] = {
    "15b3": "Mellanox Technologies", "1414": "Microsoft Corporation", "8086": "Intel Corporation",
    "1af4": "Red Hat, Inc.", "1d0f": "Amazon.com, Inc.", "10de": "NVIDIA Corporation",
    "1013": "Cirrus Logic",
}
DEVICE_NAMES: Dict[Tuple[str, str], str] = {
    ("15b3", "1004"): "MT27500/MT27520 Family [ConnectX-3/ConnectX-3 Pro Virtual Function]",
    ("15b3", "1014"): "MT27700 Family [ConnectX-4 Virtual Function]",
    ("15b3", "1016"): "MT27710 Family [ConnectX-4 Lx Virtual Function]",
    ("15b3", "1018"): "MT27800 Family [ConnectX-5 Virtual Function]",
    ("15b3", "101a"): "MT28800 Family [ConnectX-5 Ex Virtual Function]",
    ("15b3", "101c"): "MT28908 Family [ConnectX-6 Virtual Function]",
    ("15b3", "101e"): "ConnectX Family mlx5Gen Virtual Function",
    ("15b3", "1007"): "MT27520 Family [ConnectX-3 Pro]",
    ("1414", "5353"): "Hyper-V virtual VGA",
}
_CLASS_CODES = {name: code for code, name in CLASS_NAMES.items()}
_VENDOR_IDS = {name: vid for vid, name in VENDOR_NAMES.items()}
_DEVICE_IDS = {(vid, name): did for (vid, did), name in DEVICE_NAMES.items()}
# Longest first, so "Intel Corporation" can never shadow a longer vendor name.
_VENDOR_PREFIXES = sorted(VENDOR_NAMES.values(), key=len, reverse=True)

_HEX4 = r"[0-9a-fA-F]{4}"
_SLOT_TEXT = r"(?:[0-9a-fA-F]{1,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]"
_SLOT = LazyPattern(r"(?:([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])\Z")
_LINE_SLOT = LazyPattern(rf"({_SLOT_TEXT})(?= )")
_PROMPT = LazyPattern(r"#|\S*[$#]\s")
_TERSE_TAIL = LazyPattern(
    r"(?P<text>.*?)(?: \(rev (?P<rev>[0-9a-fA-F]{2})\))?"
    r"(?: \(prog-if (?P<pi>[0-9a-fA-F]{2})(?: \[[^\]]*\])?\))?\Z")
_MACHINE_TOKEN = LazyPattern(r'"((?:[^"\\]|\\.)*)"|-([rp])([0-9a-fA-F]{2})|(\S+)')
_VMM_LINE = LazyPattern(r"([A-Za-z][A-Za-z0-9]*):[ \t]*(.*)\Z")
_VMM_KEYS = frozenset({"Slot", "Device", "Class", "Vendor", "SVendor", "SDevice", "PhySlot", "Rev",
                       "ProgIf", "Driver", "Module", "NUMANode", "IOMMUGroup", "DTNode"})
_PAIR_NUMERIC = LazyPattern(rf"({_HEX4}):({_HEX4})\Z")
_PAIR_MIXED = LazyPattern(rf"(.*) \[({_HEX4}):({_HEX4})\]\Z")
_PAIR_UNKNOWN_BOTH = LazyPattern(rf"Device ({_HEX4}):({_HEX4})\Z")
_PAIR_UNKNOWN_DEVICE = LazyPattern(rf"(.+) Device ({_HEX4})\Z")


class LspciParseError(ParseError):
    """Text that contains no lspci device."""


@dataclass(frozen=True)
class LspciDevice:
    """One PCI function as lspci showed it; ids are lowercase 4-hex strings, or None."""

    slot: str
    class_name: Optional[str] = None
    class_code: Optional[str] = None
    vendor_name: Optional[str] = None
    device_name: Optional[str] = None
    vendor_id: Optional[str] = None
    device_id: Optional[str] = None
    subsystem_vendor_name: Optional[str] = None
    subsystem_device_name: Optional[str] = None
    subsystem_vendor_id: Optional[str] = None
    subsystem_device_id: Optional[str] = None
    revision: Optional[str] = None
    prog_if: Optional[str] = None
    driver: Optional[str] = None
    modules: Tuple[str, ...] = ()
    description: Optional[str] = None
    phy_slot: Optional[str] = None
    numa_node: Optional[int] = None
    iommu_group: Optional[str] = None

    @property
    def is_network(self) -> bool:
        """Ethernet (0200) or other network (02xx, e.g. "Network controller" 0280) class."""
        if self.class_code:
            return self.class_code.startswith("02")
        return self.class_name in ("Ethernet controller", "Network controller")


def normalize_slot(text: str) -> Optional[str]:
    """``bb:dd.f`` / ``dddd:bb:dd.f`` -> ``dddd:bb:dd.f`` lowercase (domain 0000 if absent)."""
    m = _SLOT.match(text.strip())
    if not m:
        return None
    domain = (m.group(1) or "0").lower().rjust(4, "0")
    return f"{domain}:{m.group(2).lower()}:{m.group(3).lower()}.{m.group(4)}"


# --------------------------------------------------------------------------- field readers


def _class_field(text: str) -> Tuple[Optional[str], Optional[str]]:
    """(name, code) of a class as printed in any numbering mode (``Class 0200`` when unnamed)."""
    return _single_field(text, "Class")


def _single_field(text: str, unknown: str) -> Tuple[Optional[str], Optional[str]]:
    """(name, id) of one vendor/device/subsystem name as lib/names.c format_name() prints it."""
    text = text.strip()
    if not text:
        return None, None
    if re.fullmatch(_HEX4, text):
        return None, text.lower()
    m = re.fullmatch(rf"{re.escape(unknown)} \[?({_HEX4})\]?", text)
    if m:
        return None, m.group(1).lower()
    m = re.fullmatch(rf"(.*) \[({_HEX4})\]", text)
    if m:
        return m.group(1), m.group(2).lower()
    return text, None


def _split_vendor(text: str, vendor_id: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """Split "<vendor> <device>" printed run together, where the vendor is a known one."""
    candidates = [VENDOR_NAMES[vendor_id]] if vendor_id in VENDOR_NAMES else _VENDOR_PREFIXES
    for vendor in candidates:
        if text.startswith(vendor + " "):
            return vendor, text[len(vendor) + 1:]
    return None, None


def _pair_field(text: str) -> Dict[str, Optional[str]]:
    """Vendor+device (or subsystem) pair as lib/names.c format_name_pair() prints it."""
    text = text.strip()
    out: Dict[str, Optional[str]] = {"vendor_name": None, "device_name": None, "vendor_id": None,
                                     "device_id": None, "description": None}
    m = _PAIR_NUMERIC.match(text) or _PAIR_UNKNOWN_BOTH.match(text)
    if m:
        out["vendor_id"], out["device_id"] = m.group(1).lower(), m.group(2).lower()
        return out
    m = _PAIR_MIXED.match(text)
    if m:
        text = m.group(1)
        out["vendor_id"], out["device_id"] = m.group(2).lower(), m.group(3).lower()
        if text == "Device":
            return out
        if text.endswith(" Device"):
            out["vendor_name"] = text[:-len(" Device")]
            return out
    else:
        m = _PAIR_UNKNOWN_DEVICE.match(text)
        if m:
            out["vendor_name"], out["device_id"] = m.group(1), m.group(2).lower()
            return out
    out["description"] = text or None
    out["vendor_name"], out["device_name"] = _split_vendor(text, out["vendor_id"])
    return out


# --------------------------------------------------------------------------- line forms


def _machine_line(slot: str, rest: str) -> Optional[_Fields]:
    quoted: List[str] = []
    fields: _Fields = {"slot": slot}
    for m in _MACHINE_TOKEN.finditer(rest):
        if m.group(1) is not None:
            quoted.append(re.sub(r"\\(.)", r"\1", m.group(1)))
        elif m.group(2):
            fields["revision" if m.group(2) == "r" else "prog_if"] = m.group(3).lower()
        else:
            return None
    if len(quoted) not in (3, 5):
        return None
    fields["class_name"], fields["class_code"] = _class_field(quoted[0])
    fields["vendor_name"], fields["vendor_id"] = _single_field(quoted[1], "Vendor")
    fields["device_name"], fields["device_id"] = _single_field(quoted[2], "Device")
    if len(quoted) == 5:
        sv_name, sv_id = _single_field(quoted[3], "Unknown vendor")
        sd_name, sd_id = _single_field(quoted[4], "Device")
        fields.update(subsystem_vendor_name=sv_name, subsystem_vendor_id=sv_id,
                      subsystem_device_name=sd_name, subsystem_device_id=sd_id)
    return fields


def _terse_line(slot: str, rest: str) -> Optional[_Fields]:
    class_text, sep, tail = rest.partition(": ")
    if not sep or not class_text.strip():
        return None
    m = _TERSE_TAIL.match(tail)
    if m is None or not m.group("text").strip():
        return None
    fields: _Fields = {"slot": slot}
    fields["class_name"], fields["class_code"] = _class_field(class_text)
    fields.update(_pair_field(m.group("text")))
    if m.group("rev"):
        fields["revision"] = m.group("rev").lower()
    if m.group("pi"):
        fields["prog_if"] = m.group("pi").lower()
    return fields


def _indented_line(fields: _Fields, line: str) -> None:
    """Add what a ``-k``/``-v`` continuation line says about the current device."""
    key, sep, value = line.strip().partition(": ")
    value = value.strip()
    if not sep:
        return
    if key == "Subsystem":
        pair = _pair_field(value)
        fields.update(subsystem_vendor_name=pair["vendor_name"], subsystem_vendor_id=pair["vendor_id"],
                      subsystem_device_name=pair["device_name"],
                      subsystem_device_id=pair["device_id"])
    elif key == "Kernel driver in use":
        fields["driver"] = value or None
    elif key == "Kernel modules":
        fields["modules"] = tuple(m.strip() for m in value.split(",") if m.strip())


def _vmm_value(fields: _Fields, key: str, value: str) -> None:
    if key == "Class":
        fields["class_name"], fields["class_code"] = _class_field(value)
    elif key == "Vendor":
        fields["vendor_name"], fields["vendor_id"] = _single_field(value, "Vendor")
    elif key == "Device":
        fields["device_name"], fields["device_id"] = _single_field(value, "Device")
    elif key == "SVendor":
        fields["subsystem_vendor_name"], fields["subsystem_vendor_id"] = _single_field(value, "Unknown vendor")
    elif key == "SDevice":
        fields["subsystem_device_name"], fields["subsystem_device_id"] = _single_field(value, "Device")
    elif key == "Rev" and re.fullmatch(r"[0-9a-fA-F]{2}", value):
        fields["revision"] = value.lower()
    elif key == "ProgIf" and re.fullmatch(r"[0-9a-fA-F]{2}", value):
        fields["prog_if"] = value.lower()
    elif key == "Driver":
        fields["driver"] = value or None
    elif key == "Module" and value:
        fields["modules"] = tuple(fields.get("modules", ())) + (value,)
    elif key == "NUMANode" and re.fullmatch(r"-?\d{1,9}", value):
        fields["numa_node"] = int(value)
    elif key == "IOMMUGroup":
        fields["iommu_group"] = value or None
    elif key == "PhySlot":
        fields["phy_slot"] = value or None


# --------------------------------------------------------------------------- assembly


def _fill_known(fields: _Fields) -> None:
    """Complete ids and names from the pci.ids excerpts, never overriding what lspci said."""
    if fields.get("class_code") is None and fields.get("class_name") in _CLASS_CODES:
        fields["class_code"] = _CLASS_CODES[fields["class_name"]]
    if fields.get("class_name") is None and fields.get("class_code") in CLASS_NAMES:
        fields["class_name"] = CLASS_NAMES[fields["class_code"]]
    if fields.get("vendor_id") is None and fields.get("vendor_name") in _VENDOR_IDS:
        fields["vendor_id"] = _VENDOR_IDS[fields["vendor_name"]]
    if fields.get("subsystem_vendor_id") is None and fields.get("subsystem_vendor_name") in _VENDOR_IDS:
        fields["subsystem_vendor_id"] = _VENDOR_IDS[fields["subsystem_vendor_name"]]
    if fields.get("vendor_name") is None and fields.get("vendor_id") in VENDOR_NAMES:
        fields["vendor_name"] = VENDOR_NAMES[fields["vendor_id"]]
    key: Tuple[Any, Any] = (fields.get("vendor_id"), fields.get("device_name"))
    if fields.get("device_id") is None and key in _DEVICE_IDS:
        fields["device_id"] = _DEVICE_IDS[key]
    if fields.get("device_name") is None and fields.get("description") is None:
        ids: Tuple[Any, Any] = (fields.get("vendor_id"), fields.get("device_id"))
        if ids in DEVICE_NAMES:
            fields["device_name"] = DEVICE_NAMES[ids]


def _build(fields: _Fields) -> LspciDevice:
    _fill_known(fields)
    if fields.get("description") is None and fields.get("vendor_name") and fields.get("device_name"):
        fields["description"] = f"{fields['vendor_name']} {fields['device_name']}"
    return LspciDevice(**fields)


def parse_lspci(text: str) -> List[LspciDevice]:
    """Parse lspci output of any form (see the module doc) into devices, in printed order."""
    if not isinstance(text, str):
        raise LspciParseError(f"lspci output must be text, not {type(text).__name__}")
    devices: List[LspciDevice] = []
    current: Optional[_Fields] = None   # the device being read
    in_record = False                              # current came from a -vmm record
    bad: List[str] = []

    def flush() -> None:
        nonlocal current, in_record
        if current is not None:
            devices.append(_build(current))
        current, in_record = None, False

    for raw_line in text.split("\n"):
        line = raw_line.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            if in_record:
                flush()
            continue
        if _PROMPT.match(stripped):
            continue
        if line[0] in " \t":
            if current is not None and not in_record:
                _indented_line(current, line)
            else:
                bad.append(stripped)
            continue
        m = _LINE_SLOT.match(line)
        if m:
            slot = normalize_slot(m.group(1))
            rest = line[m.end() + 1:]
            parser = _machine_line if rest.startswith('"') else _terse_line
            fields = parser(slot, rest) if slot else None
            flush()
            if fields is None:
                bad.append(stripped)
            else:
                current = fields
            continue
        m = _VMM_LINE.match(line)
        if m and m.group(1) in _VMM_KEYS:
            key, value = m.group(1), m.group(2).strip()
            as_slot = normalize_slot(value) if key in ("Slot", "Device") else None
            starts = key == "Slot" or (key == "Device" and as_slot is not None and (
                not in_record or current is None or "device_name" in current or "device_id" in current))
            if starts:
                flush()
                if as_slot is None:
                    bad.append(stripped)
                    continue
                current, in_record = {"slot": as_slot}, True
            elif in_record and current is not None:
                _vmm_value(current, key, value)
            else:
                bad.append(stripped)
            continue
        bad.append(stripped)
    flush()
    if bad and not devices:
        raise LspciParseError(f"not lspci output (first unreadable line: {bad[0][:80]!r})")
    return devices
