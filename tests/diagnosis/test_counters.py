"""Data path from two samples of the hv_netvsc counters."""

from hypothesis import given
from hypothesis import strategies as st

from accelnet.diagnosis.counters import (DATAPATH_IDLE, DATAPATH_SYNTHETIC, DATAPATH_UNKNOWN, DATAPATH_VF,
                                         classify_datapath, synthetic_totals, vf_counters)

BASE = {
    "tx_scattered": 0, "vf_rx_packets": 100, "vf_rx_bytes": 1000, "vf_tx_packets": 50,
    "vf_tx_bytes": 500, "vf_tx_dropped": 0,
    "tx_queue_0_packets": 10, "tx_queue_0_bytes": 100, "rx_queue_0_packets": 20, "rx_queue_0_bytes": 200,
    "tx_queue_1_packets": 1, "tx_queue_1_bytes": 10, "rx_queue_1_packets": 2, "rx_queue_1_bytes": 20,
    "rx_queue_1_xdp_drop": 7, "cpu0_vf_rx_packets": 3,
}


def test_synthetic_totals_sum_queues_only():
    assert synthetic_totals(BASE) == {"tx_packets": 11, "tx_bytes": 110, "rx_packets": 22, "rx_bytes": 220}
    assert vf_counters(BASE)["vf_rx_packets"] == 100 and len(vf_counters(BASE)) == 5


def test_classification():
    vf_grew = dict(BASE, vf_rx_packets=150, rx_queue_0_packets=21)
    syn_grew = dict(BASE, rx_queue_1_packets=500)
    assert classify_datapath(BASE, vf_grew) == "vf"
    assert classify_datapath(BASE, syn_grew) == "synthetic"
    assert classify_datapath(BASE, dict(BASE)) == "idle"
    assert classify_datapath(None, BASE) == "unknown"
    assert classify_datapath({"foo": 1}, {"foo": 2}) == "unknown"


def test_counter_reset_counts_as_growth():
    reset = dict(BASE, vf_rx_packets=5)
    assert classify_datapath(BASE, reset) == "vf"


def test_growth_of_exactly_one_packet_is_traffic():
    one_vf = dict(BASE, vf_tx_packets=51)
    assert classify_datapath(BASE, one_vf) == "vf"
    one_syn = dict(BASE, tx_queue_1_packets=2)
    assert classify_datapath(BASE, one_syn) == "synthetic"
    # bytes alone are not packets: a byte counter moving says nothing about the path
    assert classify_datapath(BASE, dict(BASE, vf_rx_bytes=5000, rx_queue_0_bytes=999)) == "idle"


def test_growth_and_reset():
    from accelnet.diagnosis.counters import growth

    assert (growth(5, 5), growth(5, 6), growth(0, 0)) == (0, 1, 0)
    assert growth(6, 5) == 5          # went back: reset, counted from 0
    assert growth(100, 0) == 0


def test_vf_counters_without_queue_counters():
    before = {"vf_rx_packets": 10, "vf_tx_packets": 10}
    assert classify_datapath(before, {"vf_rx_packets": 11, "vf_tx_packets": 10}) == "vf"
    assert classify_datapath(before, dict(before)) == "idle"
    # queue counters without vf_* ones: only the synthetic path can be seen
    queues = {"rx_queue_0_packets": 1, "tx_queue_0_packets": 1}
    assert classify_datapath(queues, dict(queues, tx_queue_0_packets=2)) == "synthetic"
    assert classify_datapath(queues, dict(queues)) == "idle"


def test_a_counter_only_one_sample_has_is_not_compared():
    assert classify_datapath({"vf_rx_packets": 1}, {"vf_tx_packets": 9}) == "unknown"
    assert classify_datapath({}, {}) == "unknown"
    assert classify_datapath(BASE, None) == "unknown"


def test_synthetic_totals_ignore_other_queue_counters():
    stats = {"rx_queue_0_packets": 3, "rx_queue_10_packets": 4, "rx_queue_0_xdp_drop": 100,
             "tx_queue_x_packets": 100, "vf_rx_packets": 7, "rx_queue_0_bytes": 1}
    assert synthetic_totals(stats) == {"rx_packets": 7, "rx_bytes": 1}
    assert vf_counters({"vf_rx_packets": 7, "cpu0_vf_rx_packets": 2}) == {"vf_rx_packets": 7}


STAT_NAMES = st.sampled_from(
    ["vf_rx_packets", "vf_tx_packets", "vf_rx_bytes", "tx_queue_0_packets", "rx_queue_1_packets",
     "rx_queue_12_bytes", "cpu0_vf_rx_packets", "tx_scattered"]
) | st.text(max_size=30)
STATS = st.dictionaries(STAT_NAMES, st.integers(min_value=0, max_value=2**64 - 1), max_size=20)


@given(STATS, STATS)
def test_datapath_is_always_one_of_four(before, after):
    assert classify_datapath(before, after) in (DATAPATH_VF, DATAPATH_SYNTHETIC, DATAPATH_IDLE, DATAPATH_UNKNOWN)
    assert all(v >= 0 for v in synthetic_totals(after).values())
