"""The journal's kernel records (journalctl --dmesg -o json) as /dev/kmsg records: only
_TRANSPORT=kernel counts (anyone can log the same text through systemd-cat or logger), the
kernel's own time, byte-array messages, and garbage skipped."""

import json

from accelnet.parsers.journal import parse_journal_kernel_records
from accelnet.parsers.kernellog import parse_kernel_log
from accelnet.parsers.kmsg import render_dmesg

LINE = "hv_netvsc 7c1e5225-55d2-7c1e-5225-55d27c1e5225 eth0: VF unregistering: enP37498s1"


def _entry(**fields):
    base = {"__REALTIME_TIMESTAMP": "1748968992000000", "__MONOTONIC_TIMESTAMP": "17141400",
            "_BOOT_ID": "0f3c6c0e2b8e4c5e9f1a2b3c4d5e6f70", "PRIORITY": "6", "SYSLOG_FACILITY": "0",
            "SYSLOG_IDENTIFIER": "kernel", "_TRANSPORT": "kernel", "_SOURCE_MONOTONIC_TIMESTAMP": "17141334",
            "MESSAGE": LINE}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})  # None: the field is absent


def test_kernel_records_become_kmsg_records_with_the_kernels_time():
    text = "\n".join([
        _entry(),
        _entry(_TRANSPORT="stdout", SYSLOG_IDENTIFIER="kernel", MESSAGE=LINE),  # systemd-cat -t kernel
        _entry(_TRANSPORT="syslog", MESSAGE=LINE),  # logger -t kernel
        _entry(MESSAGE=list(("hv_netvsc x eth0: VF registering: enP1s1 \xff").encode("latin-1")),
               _SOURCE_MONOTONIC_TIMESTAMP="18000000"),
        _entry(MESSAGE="first line\nsecond line", _SOURCE_MONOTONIC_TIMESTAMP=None, __MONOTONIC_TIMESTAMP="19000001"),
        "not json", "{broken", json.dumps(["a list"]), _entry(_SOURCE_MONOTONIC_TIMESTAMP="-5"),
        _entry(_SOURCE_MONOTONIC_TIMESTAMP=None, __MONOTONIC_TIMESTAMP=None),
    ])
    records = parse_journal_kernel_records(text)
    assert records == [(17141334, LINE), (18000000, "hv_netvsc x eth0: VF registering: enP1s1 \ufffd"),
                       (19000001, "first line")]
    dmesg = render_dmesg(records)
    assert dmesg.splitlines()[0] == "[   17.141334] " + LINE
    events = parse_kernel_log(dmesg)
    assert [(e.event, e.device, e.vf) for e in events][:1] == [("vf_unregistered", "eth0", "enP37498s1")]


def test_nothing_in_nothing_out():
    assert parse_journal_kernel_records("") == []
    assert parse_journal_kernel_records("-- No entries --\n") == []


def test_messages_as_byte_arrays_times_and_first_lines():
    lines = [
        {"_TRANSPORT": "kernel", "__MONOTONIC_TIMESTAMP": "0", "MESSAGE": [104, 105, 0xc3, 0xa9, 10, 120]},
        {"_TRANSPORT": "kernel", "_SOURCE_MONOTONIC_TIMESTAMP": "5", "MESSAGE": [0, 255]},
        {"_TRANSPORT": "kernel", "__MONOTONIC_TIMESTAMP": "6", "MESSAGE": [256]},        # not bytes: no text
        {"_TRANSPORT": "kernel", "__MONOTONIC_TIMESTAMP": "7", "MESSAGE": [-1, 1]},
        {"_TRANSPORT": "kernel", "__MONOTONIC_TIMESTAMP": "8", "MESSAGE": ["a"]},
        {"_TRANSPORT": "kernel", "__MONOTONIC_TIMESTAMP": "9", "MESSAGE": 3},
        {"_TRANSPORT": "kernel", "__MONOTONIC_TIMESTAMP": "x", "MESSAGE": "no time"},
        {"_TRANSPORT": "kernel", "__MONOTONIC_TIMESTAMP": "-1", "MESSAGE": "before boot"},
        {"_TRANSPORT": "stdout", "__MONOTONIC_TIMESTAMP": "10", "MESSAGE": "not the kernel's"},
        ["_TRANSPORT", "kernel"],
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n{not json\n"
    text += " " + json.dumps(lines[0]) + "\n"      # journalctl starts every entry at the start of its line
    assert parse_journal_kernel_records(text) == [(0, "hi\u00e9"), (5, "\x00\ufffd"), (6, ""), (7, ""), (8, ""), (9, "")]
