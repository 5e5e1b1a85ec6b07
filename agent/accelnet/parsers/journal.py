"""The kernel's records of the systemd journal, from ``journalctl --dmesg -o json``.

Why: a service cannot read /dev/kmsg (``PrivateDevices=``/``ProtectKernelLogs=`` hide it,
``kernel.dmesg_restrict=1`` keeps it for CAP_SYSLOG), but journald keeps every kernel record
(``_TRANSPORT=kernel``) in files the ``systemd-journal`` group may read. ``journalctl -o json``
prints one JSON object per record; ``MESSAGE`` is a string, or an array of byte values where
the text is not valid UTF-8, and ``_SOURCE_MONOTONIC_TIMESTAMP`` is the kernel's own time of the
record (microseconds since boot, the /dev/kmsg time). Only records whose ``_TRANSPORT`` is
``kernel`` are taken: a user can log anything under any identifier with ``systemd-cat`` or
``logger``, but only the kernel's records get that transport (journald sets the trusted
``_``-fields itself). Pure: text in, (usec, text) records out, as
:func:`accelnet.parsers.kmsg.parse_kmsg_record` gives them; ``live.py`` runs journalctl.
"""

import json
from typing import List, Tuple

__all__ = ["parse_journal_kernel_records"]


def _message(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", errors="replace")
    return ""


def parse_journal_kernel_records(text: str) -> List[Tuple[int, str]]:
    """(microseconds since boot, first line of the message) of every kernel record of
    ``journalctl -o json`` output, in the order given; lines that are not such a record are
    skipped."""
    records: List[Tuple[int, str]] = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("_TRANSPORT") != "kernel":
            continue
        stamp = entry.get("_SOURCE_MONOTONIC_TIMESTAMP", entry.get("__MONOTONIC_TIMESTAMP"))
        try:
            usec = int(stamp)
        except (TypeError, ValueError):
            continue
        if usec < 0:
            continue
        message = _message(entry.get("MESSAGE")).split("\n", 1)[0]
        records.append((usec, message))
    return records
