"""The reduced bundle a VM without accelnet sends back, and how it becomes a snapshot again.

A bundle of accelnet-collect is 15-100 KB of gzip, and Run Command returns 4,096 bytes. The
payload (payload.sh) keeps of the bundle what the diagnosis reads: every directory and
symlink (pairing follows sysfs links), the sysfs attributes in ``SYS_ATTRS``, the kernel
log's lines matching ``DMESG_PATTERN``, the counters of synthetic NICs matching
``ETHTOOL_PATTERN`` (hv_netvsc's vf_* and per-queue packets and bytes), the VF drivers' drop
counters of a VF's ``ethtool -S`` (``VF_ETHTOOL_PATTERN``, from diagnosis/drops.py), the ``processor``
lines of cpuinfo, and every other file as it is. Nothing else of the diagnosis changes: the
VM's snapshot is written back as a directory and diagnosed by the same code as any bundle
(tests/fleet holds every fixture host's report from the reduced bundle equal to the full
one, and checks that every sysfs attribute the diagnosis reads is in ``SYS_ATTRS``).

The format is text (tar's 512-byte headers would eat the budget): one line per entry, then
the files' bytes one after the other, in the order of their F lines (the payload gets sizes
and bytes from one `wc` and one `cat`, not a process per file)::

    ACCELNET-MINIBUNDLE 1
    D <path>
    L <path> <target>
    F <path> <size>
    DATA
    <the bytes of every F entry, concatenated>

It comes from a VM and is treated as hostile: paths and link targets are limited to the
characters sysfs and the collector use, paths are relative with no ``.``/``..`` component
and must start with ``root/`` or ``cmd/`` (or be ``snapshot.json``); the count of entries and
the bytes are bounded; files are written with ``O_EXCL|O_NOFOLLOW`` below directories
opened ``O_NOFOLLOW`` one component at a time, so no link (the bundle's own included) is
ever followed while writing. Links are written as they are: the snapshot reader resolves
them inside the snapshot root only.
"""

import os
import re
from typing import List

from accelnet.diagnosis.drops import VF_DRIVER_DROPS
from accelnet.errors import ParseError
from accelnet.records import dataclass

MAGIC = b"ACCELNET-MINIBUNDLE 1\n"
#: Attribute files of /sys that the readers read (readers/netdev.py, pci.py, platform.py).
SYS_ATTRS = frozenset({
    "address", "flags", "ifindex", "mtu", "operstate", "carrier", "type", "iflink",
    "class_id", "device_id", "class", "device", "vendor", "subsystem_vendor", "subsystem_device",
    "sys_vendor", "product_name", "product_version", "chassis_asset_tag", "chassis_vendor",
    "bios_vendor", "bios_version", "board_vendor", "board_name",
})
#: Kernel-log lines kept: hv_netvsc's VF lines, the VF drivers' and hv_pci's, the renames.
DMESG_PATTERN = r"hv_netvsc|hv_pci|hv_vmbus|mlx[45]_|mana|renamed from|Hyper-V|DMI:"
#: Counter lines kept of a synthetic NIC's `ethtool -S` (counters.py reads no others).
ETHTOOL_PATTERN = r"^NIC statistics|^ *(vf_[a-z_]+|[rt]x_queue_[0-9]+_(packets|bytes)):"


def _vf_drops_pattern() -> str:
    """The lines of a VF's `ethtool -S` that the drop check reads: its driver's drop counters
    (a name ending in ``_`` is a prefix), whatever the driver, so the VM need not know it."""
    names = sorted({name for directions in VF_DRIVER_DROPS.values() for names in directions.values() for name in names})
    return r"^NIC statistics|^ *(" + "|".join(n + "[a-z0-9_]*" if n.endswith("_") else n for n in names) + "):"


#: Counter lines kept of a VF's `ethtool -S` (those are thousands of lines on mlx5).
VF_ETHTOOL_PATTERN = _vf_drops_pattern()

MAX_ENTRIES = 20000
MAX_BYTES = 8 << 20
MAX_PATH = 1024
_SAFE = re.compile(rb"[A-Za-z0-9._:@+,=/-]+\Z")
_SIZE = re.compile(rb"[0-9]{1,9}\Z")
_TOP = (b"root/", b"cmd/")


class MiniBundleError(ParseError):
    """Not a reduced bundle we can read (the message says where it went wrong)."""


@dataclass(frozen=True)
class Entry:
    kind: str  # "D", "L" or "F"
    path: str
    target: str = ""  # L: the link's target
    data: bytes = b""  # F: the file's bytes


def _path(raw: bytes, where: str, directory: bool = False) -> str:
    if len(raw) > MAX_PATH or not _SAFE.match(raw):
        raise MiniBundleError(f"{where}: unusable path {raw[:80]!r}")
    parts = raw.split(b"/")
    if any(p in (b"", b".", b"..") for p in parts):
        raise MiniBundleError(f"{where}: path {raw[:80]!r} is not relative and plain")
    if not raw.startswith(_TOP) and raw != b"snapshot.json" and not (directory and raw in (b"root", b"cmd")):
        raise MiniBundleError(f"{where}: {raw[:80]!r} is outside root/ and cmd/")
    return raw.decode("ascii")


def parse(blob: bytes) -> List[Entry]:
    """The entries of a reduced bundle (pure; raises MiniBundleError)."""
    if not blob.startswith(MAGIC):
        raise MiniBundleError("not a reduced accelnet bundle (no ACCELNET-MINIBUNDLE 1 header)")
    if len(blob) > MAX_BYTES:
        raise MiniBundleError(f"larger than {MAX_BYTES} bytes")
    entries: List[Entry] = []
    sizes: List[int] = []
    pos = len(MAGIC)
    while True:
        end = blob.find(b"\n", pos, pos + 2 * MAX_PATH + 16)
        if end < 0:
            raise MiniBundleError(f"line {len(entries) + 2}: no end of line (or no DATA line)")
        words = blob[pos:end].split(b" ")
        pos = end + 1
        if words == [b"DATA"]:
            break
        if len(entries) >= MAX_ENTRIES:
            raise MiniBundleError(f"more than {MAX_ENTRIES} entries")
        where = f"entry {len(entries) + 1}"
        if words[0] == b"D" and len(words) == 2:
            entries.append(Entry("D", _path(words[1], where, directory=True)))
        elif words[0] == b"L" and len(words) == 3:
            target = words[2]
            if len(target) > MAX_PATH or not _SAFE.match(target):
                raise MiniBundleError(f"{where}: unusable link target {target[:80]!r}")
            entries.append(Entry("L", _path(words[1], where), target.decode("ascii")))
        elif words[0] == b"F" and len(words) == 3 and _SIZE.match(words[2]):
            entries.append(Entry("F", _path(words[1], where)))
            sizes.append(int(words[2]))
        else:
            raise MiniBundleError(f"{where}: unreadable line {blob[pos - 1 - (end - pos + 1):end][:80]!r}")
    if pos + sum(sizes) != len(blob):
        raise MiniBundleError(f"{sum(sizes)} bytes of files announced, {len(blob) - pos} follow")
    filled: List[Entry] = []
    sizes.reverse()
    for entry in entries:
        if entry.kind == "F":
            size = sizes.pop()
            entry = Entry("F", entry.path, data=blob[pos:pos + size])
            pos += size
        filled.append(entry)
    return filled


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open_dir(top_fd: int, parts: List[str]) -> int:
    """A descriptor of the directory ``parts`` below ``top_fd``, made as needed, never
    through a symlink (O_NOFOLLOW at each step). The caller closes it."""
    fd = os.dup(top_fd)
    try:
        for part in parts:
            try:
                os.mkdir(part, 0o700, dir_fd=fd)
            except FileExistsError:
                pass
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except OSError:
        os.close(fd)
        raise
    return fd


def write(entries: List[Entry], top: str) -> None:
    """Write ``entries`` into the (new, empty) directory ``top`` as a snapshot directory.
    Raises MiniBundleError for an entry that cannot be written where it says (a file where a
    directory is, a path through one of its links, a name given twice)."""
    top_fd = os.open(top, _DIR_FLAGS)
    try:
        for entry in entries:
            parts = entry.path.split("/")
            try:
                parent = _open_dir(top_fd, parts[:-1] if entry.kind != "D" else parts)
            except OSError as exc:
                raise MiniBundleError(f"{entry.path}: cannot be written ({exc.strerror})") from None
            try:
                if entry.kind == "L":
                    os.symlink(entry.target, parts[-1], dir_fd=parent)
                elif entry.kind == "F":
                    fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                 | getattr(os, "O_CLOEXEC", 0), 0o600, dir_fd=parent)
                    with os.fdopen(fd, "wb") as out:
                        out.write(entry.data)
            except OSError as exc:
                raise MiniBundleError(f"{entry.path}: cannot be written ({exc.strerror})") from None
            finally:
                os.close(parent)
    finally:
        os.close(top_fd)
