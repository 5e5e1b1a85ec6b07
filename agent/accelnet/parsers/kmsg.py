"""The kernel log as ``dmesg`` prints it, from ``/dev/kmsg`` records.

Why not run ``dmesg``: it may be missing (minimal images) and its flags differ between
util-linux and busybox; the records of /dev/kmsg are a stable kernel ABI
(Documentation/ABI/testing/dev-kmsg): ``<prio>,<seq>,<usec since boot>,<flags>[,…];<text>``
followed by continuation lines `` KEY=value`` (device dictionary). The text is already
escaped by the kernel (bytes outside printable ASCII, and ``\\``, as ``\\xNN``), so one record
is one line. :func:`render_dmesg` prints what plain ``dmesg`` prints:
``[%5lu.%06lu] text``. Pure: bytes in, text out; the reading is in ``live.py``.
"""

from typing import Iterable, List, Optional, Tuple

__all__ = ["parse_kmsg_record", "render_dmesg"]


def parse_kmsg_record(record: bytes) -> Optional[Tuple[int, str]]:
    """(microseconds since boot, text) of one /dev/kmsg record; None when it is not one."""
    head, sep, rest = record.partition(b";")
    if not sep:
        return None
    fields = head.split(b",")
    if len(fields) < 4:
        return None
    try:
        usec = int(fields[2])
        int(fields[0])
    except ValueError:
        return None
    if usec < 0:
        return None
    text = rest.split(b"\n", 1)[0]  # dictionary lines (" KEY=value") follow the text
    return usec, text.decode("utf-8", errors="replace")


def render_dmesg(records: Iterable[Tuple[int, str]]) -> str:
    """``dmesg`` output: one ``[seconds.micro] text`` line per record."""
    lines: List[str] = []
    for usec, text in records:
        lines.append("[%5d.%06d] %s\n" % (usec // 1000000, usec % 1000000, text))
    return "".join(lines)
