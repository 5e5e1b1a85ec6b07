"""udev's per-device database files, ``/run/udev/data/<id>`` (``n<ifindex>`` for a netdev).

On a VM with udevd these files hold what the rules decided about a device: for an AN VF the
Azure rules' ``NM_UNMANAGED=1`` / ``ID_NET_MANAGED_BY``, the naming properties, the
``systemd`` tag.  Reading the file directly works from a snapshot, where libudev cannot help.

The format is systemd's (src/libsystemd/sd-device/device-private.c, device_update_db() and
device_read_db_internal_filename()): one ``<letter>:<value>`` entry per line:

==== ==============================================================================
 E   ``KEY=VALUE`` property; an empty value unsets the key
 G   tag (every tag the device ever had: "any tag")
 Q   current tag (database version >= 1)
 S   devlink, relative to ``/dev/`` (kept here as the absolute path)
 L   devlink priority (int)
 I   usec the device was initialised (CLOCK_MONOTONIC, unsigned)
 V   database version (unsigned)
 W   watch handle (deprecated, ignored)
==== ==============================================================================

Like systemd, a line whose second character is not ``:``, an unknown letter, an ``E`` entry
without ``=`` and a number that does not parse are ignored, one entry at a time.  Unlike
systemd, an unterminated last line is used (udev writes the file atomically, so such a line
only comes from hand-made text, where it is meant).  Text in which no entry is usable at all
is refused, because it is not a udev database.
"""

from typing import Dict, List, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.records import dataclass, field

__all__ = ["UdevDbError", "UdevRecord", "parse_udev_db"]

_KNOWN = "EGQSLIVW"


class UdevDbError(ParseError):
    """Text that is not a udev database entry."""


@dataclass(frozen=True)
class UdevRecord:
    properties: Dict[str, str] = field(default_factory=dict)
    tags: Tuple[str, ...] = ()
    current_tags: Tuple[str, ...] = ()
    devlinks: Tuple[str, ...] = ()
    devlink_priority: Optional[int] = None
    usec_initialized: Optional[int] = None
    database_version: Optional[int] = None


def _int(value: str, signed: bool, bits: int) -> Optional[int]:
    text = value.strip()
    body = text[1:] if signed and text[:1] in "+-" else text
    if not body or not all(ord(ch) < 128 for ch in body) or not body.isdigit() or len(body.lstrip("0")) > 20:
        return None
    number = int(text)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return number if low <= number <= high else None


def _add_unique(items: List[str], value: str) -> None:
    if value and value not in items:
        items.append(value)


def parse_udev_db(text: str) -> UdevRecord:
    """Parse the contents of one ``/run/udev/data/`` file."""
    if not isinstance(text, str):
        raise UdevDbError(f"udev database must be text, not {type(text).__name__}")
    properties: Dict[str, str] = {}
    tags: List[str] = []
    current: List[str] = []
    devlinks: List[str] = []
    numbers: Dict[str, Optional[int]] = {"L": None, "I": None, "V": None}
    used = 0
    content = False
    for line in text.split("\n"):
        if not line.strip():
            continue
        content = True
        if len(line) < 2 or line[1] != ":" or line[0] not in _KNOWN:
            continue
        key, value = line[0], line[2:]
        if key == "E":
            name, eq, prop = value.partition("=")
            if not eq or not name:
                continue
            if prop:
                properties[name] = prop
            else:
                properties.pop(name, None)
        elif key == "G":
            _add_unique(tags, value)
        elif key == "Q":
            _add_unique(current, value)
            _add_unique(tags, value)  # a current tag is also one of "all tags"
        elif key == "S":
            _add_unique(devlinks, "/dev/" + value)
        elif key in numbers:
            number = _int(value, signed=(key == "L"), bits=(32 if key in "LV" else 64))
            if number is None:
                continue
            numbers[key] = number
        used += 1
    if content and not used:
        raise UdevDbError("no usable '<letter>:<value>' entry in udev database text")
    return UdevRecord(
        properties=properties,
        tags=tuple(tags),
        current_tags=tuple(current),
        devlinks=tuple(devlinks),
        devlink_priority=numbers["L"],
        usec_initialized=numbers["I"],
        database_version=numbers["V"],
    )
