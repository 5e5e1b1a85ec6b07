"""The live kernel log: /dev/kmsg read without blocking, rendered as dmesg prints it, and the
diagnosis of the live host says the history's state."""

import os

from accelnet.diagnosis.facts import Options, gather
from accelnet.parsers.kernellog import split_record
from accelnet.readers import live
from testutil import require


def test_kmsg_reads_to_the_end_and_renders_dmesg_lines():
    require(os.geteuid() == 0, "/dev/kmsg needs root where kernel.dmesg_restrict=1")
    text = live.kernel_log_text()
    assert text
    lines = text.splitlines()
    assert all(split_record(line) is not None for line in lines)
    # a second read starts again from the oldest record: nothing is consumed
    again = live.kernel_log_text()
    assert again.splitlines()[0] == lines[0] or len(again.splitlines()) >= len(lines) // 2


def test_live_diagnosis_reads_the_log_through_the_host():
    require(os.geteuid() == 0, "/dev/kmsg needs root where kernel.dmesg_restrict=1")
    host = live.live_host()
    assert host.capture("dmesg")  # the same text --collect writes as cmd/dmesg.txt
    facts = gather(host, Options(sample_seconds=0, imds=False))
    assert facts.history_state.ok
    assert facts.time and facts.uptime and facts.uptime > 0 and facts.hostname
