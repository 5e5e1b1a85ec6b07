"""The generic ethtool export: chosen interfaces and stats, queue/CPU index as a label."""

import os
import urllib.request

import goldens
from accelnet.daemon import Agent, AgentConfig
from accelnet.exporter import metric_name, split_stat

FIXTURE = os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-2nics")


def scrape(**config) -> str:
    agent = Agent(AgentConfig(listen="127.0.0.1:0", snapshot=FIXTURE, **config))
    agent.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{agent.server.port}/metrics", timeout=10) as resp:
            return resp.read().decode()
    finally:
        agent.stop()


def test_index_becomes_a_label():
    assert split_stat("rx_queue_3_bytes") == ("rx_queue_bytes", {"queue": "3"})
    assert split_stat("cpu12_vf_rx_packets") == ("cpu_vf_rx_packets", {"cpu": "12"})
    assert split_stat("vf_tx_dropped") == ("vf_tx_dropped", {})
    assert metric_name("rx-csum.ok") == "accelnet_ethtool_rx_csum_ok"


def test_off_by_default():
    assert "accelnet_ethtool_" not in scrape()


def test_chosen_interfaces_and_stats():
    body = scrape(ethtool_include="^eth", ethtool_exclude="^eth1$", ethtool_metrics_include="queue_|^vf_")
    lines = [l for l in body.splitlines() if l.startswith("accelnet_ethtool_")]
    assert lines and all('device="eth0"' in l for l in lines)
    assert any(l.startswith('accelnet_ethtool_rx_queue_packets{device="eth0",queue="0"}') for l in lines)
    assert any(l.startswith("accelnet_ethtool_vf_rx_packets{") for l in lines)
    assert not any(l.startswith(("accelnet_ethtool_tx_scattered", "accelnet_ethtool_cpu_")) for l in lines)


def test_vf_interfaces_of_a_snapshot_are_exported_too():
    body = scrape(ethtool_include="^enP", ethtool_metrics_exclude="^$")
    assert 'device="enP37498s1"' in body and 'device="enP6757s2"' in body
