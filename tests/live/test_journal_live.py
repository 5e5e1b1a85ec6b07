"""The kernel log through the journal, read by the real journalctl from a real journal.

systemd-journal-remote writes journal files from the export format, trusted fields included,
so the journal here holds what a VM's does: kernel records (_TRANSPORT=kernel) by the ten
thousand (a firewall's LOG rule writes one per dropped packet), a message that is not UTF-8
(journalctl prints it as an array of bytes), one above 4 KiB (journalctl prints null), a VF
line a user logged as "kernel" through stdout, and the newest VF event last. The service
reads this when /dev/kmsg is hidden (the packaged agent always): journalctl is asked for the
newest records only, so the work is bounded however chatty the kernel was since boot (all
of them took 10.7 s and 340 MB RSS for 300,000 records, and were cut at the 10 s timeout:
no history at all on exactly the hosts that log most)."""

import os
import struct
import subprocess

import pytest

from accelnet.parsers.kernellog import parse_kernel_log
from accelnet.readers import live
from testutil import require, require_tool

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT = "0f3c6c0e2b8e4c5e9f1a2b3c4d5e6f70"
NEWEST = "hv_netvsc 7c1e5225-55d2-7c1e-5225-55d27c1e5225 eth0: VF unregistering: enP37498s1"
NOISE = 12000


def _export_entry(number: int, message, transport: str = "kernel") -> bytes:
    usec = 1000000 + number * 10
    fields = "".join("%s=%s\n" % pair for pair in (
        ("__CURSOR", "s=0;i=%x" % number), ("__REALTIME_TIMESTAMP", 1748968992000000 + number),
        ("__MONOTONIC_TIMESTAMP", usec), ("_BOOT_ID", BOOT), ("_TRANSPORT", transport), ("PRIORITY", 6),
        ("SYSLOG_IDENTIFIER", "kernel"), ("_SOURCE_MONOTONIC_TIMESTAMP", usec)))
    if isinstance(message, bytes):  # the export format's binary field
        return fields.encode() + b"MESSAGE\n" + struct.pack("<Q", len(message)) + message + b"\n\n"
    return fields.encode() + ("MESSAGE=%s\n\n" % message).encode()


@pytest.fixture(scope="module")
def journal_dir(tmp_path_factory):
    require(os.path.exists(JOURNAL_REMOTE), "needs systemd-journal-remote (Debian package systemd-journal-remote)")
    require_tool("journalctl", "systemd")
    where = tmp_path_factory.mktemp("journal")
    entries = [_export_entry(n, "IN=eth0 OUT= SRC=10.0.0.%d DST=10.0.0.4 PROTO=TCP DPT=22" % (n % 250))
               for n in range(NOISE)]
    entries += [
        _export_entry(NOISE, b"hv_netvsc x eth1: VF registering: enP1s1 \xff\xfe"),
        _export_entry(NOISE + 1, "x" * 10000),
        _export_entry(NOISE + 2, "hv_netvsc 7c1e5225 eth0: VF unregistering: enP9s9", transport="stdout"),
        _export_entry(NOISE + 3, NEWEST),
    ]
    export = where / "export"
    export.write_bytes(b"".join(entries))
    out = where / "dir"
    out.mkdir()
    done = subprocess.run([JOURNAL_REMOTE, "--output=%s" % (out / "k.journal"), str(export)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert done.returncode == 0, done.stdout
    return str(out)


def test_the_newest_kernel_records_only_and_hostile_ones_survive(journal_dir):
    text = live.journal_kernel_log(live.JOURNALCTL_ARGS + ("--directory=" + journal_dir,))
    lines = text.splitlines()
    assert len(lines) == live.JOURNAL_LINES < NOISE  # the newest records, never the whole boot
    assert lines[-1].endswith(NEWEST)
    assert "VF registering: enP1s1 \ufffd\ufffd" in text  # bytes, decoded with replacement
    assert "enP9s9" not in text  # logged as "kernel" through stdout: not the kernel's
    events = parse_kernel_log(text)
    assert [(e.event, e.device, e.vf) for e in events][-1] == ("vf_unregistered", "eth0", "enP37498s1")


def test_no_journalctl_is_a_reason_not_an_error():
    with pytest.raises(live.CaptureUnavailable, match="no-such-journalctl is not installed"):
        live.journal_kernel_log(("no-such-journalctl",) + live.JOURNALCTL_ARGS[1:])
