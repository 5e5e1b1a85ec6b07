"""accelnet-check --watch's arithmetic and text: rates between two readings, the terminal frame,
the pipe's lines, and the view of a snapshot (its two samples, its kernel log's VF events)."""

import json
import re
import subprocess
import sys

from accelnet.diagnosis import watchview
from accelnet.diagnosis.rates import NETVSC, NO_VF, VF_LINK, Reading, rates
from agentproc import REPO, env

NETVSC_BEFORE = {"vf_rx_packets": 100, "vf_rx_bytes": 10000, "vf_tx_packets": 50, "vf_tx_bytes": 5000,
                 "vf_tx_dropped": 1, "tx_queue_0_packets": 10, "rx_queue_0_packets": 20,
                 "tx_queue_1_packets": 10, "rx_queue_1_bytes": 400, "tx_queue_0_bytes": 1000}
NETVSC_AFTER = dict(NETVSC_BEFORE, vf_rx_packets=300, vf_rx_bytes=30000, vf_tx_dropped=5, tx_queue_1_packets=14)


def test_rates_from_netvsc_counters():
    found = rates(Reading("eth0", "enP1s1", 10.0, NETVSC_BEFORE), Reading("eth0", "enP1s1", 12.0, NETVSC_AFTER))
    assert (found.datapath, found.source, found.seconds) == ("vf", NETVSC, 2.0)
    assert (found.vf_path.rx_pps, found.vf_path.rx_bps, found.vf_path.tx_pps) == (100.0, 10000.0, 0.0)
    assert (found.synthetic.tx_pps, found.synthetic.rx_pps, found.drops) == (2.0, 0.0, 2.0)


def test_counter_reset_counts_from_zero_and_synthetic_only_traffic_is_a_fallback():
    after = dict(NETVSC_BEFORE, vf_rx_packets=3, rx_queue_0_packets=80)
    found = rates(Reading("eth0", "enP1s1", 0.0, NETVSC_BEFORE), Reading("eth0", "enP1s1", 1.0, after))
    assert found.vf_path.rx_pps == 3.0  # the driver reloaded: from zero, never negative
    before = dict(NETVSC_BEFORE)
    after = dict(NETVSC_BEFORE, rx_queue_0_packets=80)
    assert rates(Reading("eth0", "enP1s1", 0.0, before), Reading("eth0", "enP1s1", 1.0, after)).datapath == "synthetic"
    assert rates(Reading("eth0", None, 0.0, before), Reading("eth0", None, 1.0, before)).datapath == NO_VF


def test_without_netvsc_counters_the_vf_interface_speaks():
    link = {"rx_packets": 10, "tx_packets": 0, "rx_bytes": 1000, "tx_bytes": 0, "rx_dropped": 0, "tx_dropped": 0}
    later = dict(link, rx_packets=30, rx_bytes=3000, rx_dropped=2)
    found = rates(Reading("syn0", "vf0", 0.0, None, link), Reading("syn0", "vf0", 0.5, None, later))
    assert (found.datapath, found.source, found.vf_path.rx_pps, found.drops) == ("vf", VF_LINK, 40.0, 4.0)
    assert found.synthetic.rx_pps is None
    renamed = rates(Reading("syn0", "vf0", 0.0, None, link), Reading("syn0", "vf1", 0.5, None, later))
    assert renamed.source is None and renamed.datapath == "unknown"
    assert rates(Reading("syn0", "vf0", 1.0, None, link), Reading("syn0", "vf0", 1.0, None, later)).seconds == 0.0


def test_frame_cuts_lines_to_the_width_and_escapes_host_text():
    found = [rates(Reading("eth0\x1b[2J", "enP1s1", 0.0, NETVSC_BEFORE), Reading("eth0\x1b[2J", "enP1s1", 2.0, NETVSC_AFTER))]
    events = [watchview.Event(1750000000.0 + i, "eth0", "enP1s1", "removed" if i % 2 else "added") for i in range(12)]
    lines = watchview.frame(found, events, watchview.title(1), 1750000100.0, 40, colour=True)
    assert all(len(re.sub(r"\033\[[0-9;]*m", "", line)) <= 39 for line in lines)
    assert not any("\x1b[2J" in line for line in lines) and any("\\x1b[2J" in line for line in lines)
    assert sum(1 for line in lines if "VF enP1s1" in line) == watchview.EVENTS_SHOWN
    wide = watchview.frame(found, events, watchview.title(1), 1750000100.0, 300)
    assert any(line.startswith("eth0") and " vf " in line and "100 pkt 10.0kB" in line for line in wide)


def test_pipe_line_and_json_line():
    found = [rates(Reading("eth0", "enP1s1", 0.0, NETVSC_BEFORE), Reading("eth0", "enP1s1", 2.0, NETVSC_AFTER)),
             rates(Reading("eth1", None, 0.0, None), Reading("eth1", None, 2.0, None))]
    text = watchview.line(found, 1750000000.0)
    assert text.startswith("2025-06-15T15:06:40Z eth0 vf=enP1s1 path=vf vf_rx_pps=100 vf_rx_Bps=10000 ")
    assert " ; eth1 vf=- path=no_VF vf_rx_pps=- " in text and "\n" not in text
    doc = json.loads(watchview.json_rates(found, 1750000000.0))
    assert doc["interfaces"][0]["vf_path"]["rx_packets_per_s"] == 100.0
    event = watchview.Event(1750000000.0, "eth0", "enP1s1", "removed")
    assert watchview.event_line(event) == "2025-06-15T15:06:40Z event eth0: VF enP1s1 removed"


def check(*args):
    return subprocess.run([sys.executable, "-m", "accelnet.cli.check", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env(), cwd=REPO, timeout=60)


def test_watch_of_a_snapshot_shows_its_interval_and_kernel_log_once():
    proc = check("--snapshot", "fixtures/hosts/ubuntu2204-cx5-vf-flapping", "--watch")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and proc.stderr == ""
    assert [l.split(" event ")[1] for l in lines[:-1]] == [
        "eth0: VF enP35854s1 added (kernel log)"] + ["eth0: VF enP35854s1 removed (kernel log)",
                                                     "eth0: VF enP35854s1 added (kernel log)"] * 4
    assert lines[-1].startswith("2025-06-03T17:43:12Z eth0 vf=enP35854s1 path=vf vf_rx_pps=4210 ")
    fallback = check("--snapshot", "fixtures/hosts/ubuntu2204-cx5-fallback", "--watch", "--json").stdout
    doc = json.loads(fallback.splitlines()[-1])
    assert [(i["name"], i["datapath"]) for i in doc["interfaces"]] == [("eth0", "synthetic"), ("eth1", "vf")]


def test_watch_refuses_collect_and_bad_intervals():
    proc = check("--watch", "--collect", "/tmp/never.tar.gz")
    assert proc.returncode == 3 and proc.stdout.startswith("UNKNOWN: ") and "exclude" in proc.stdout
    proc = check("--watch", "0")
    assert proc.returncode == 3 and "between 0.1 and 3600" in proc.stdout
