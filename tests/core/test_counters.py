"""Data path from two samples of the hv_netvsc counters."""

from accelnet.diagnosis.counters import classify_datapath, synthetic_totals, vf_counters

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
