"""The generic ethtool export: chosen interfaces and stats, queue/CPU index as a label."""

import os
import urllib.request

import goldens
from accelnet.agent.daemon import Agent, AgentConfig
from accelnet.agent.exporter import metric_name, split_stat

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


def test_names_that_collide_after_sanitising_keep_the_first_and_log_once(caplog):
    """rx-errors and rx_errors are both accelnet_ethtool_rx_errors: a second sample of one
    series would make Prometheus (and node_exporter's textfile collector) reject the page."""
    import logging
    import re

    from prometheus_client import CollectorRegistry, generate_latest

    from accelnet.agent.exporter import AccelnetCollector, AgentView, EthtoolExport
    from accelnet.readers.host import CounterSample

    stats = {"rx-errors": 7, "rx_errors": 9, "rx.errors": 11, "tx_queue_0_packets": 1, "rx_queue_0_packets": 2}
    collector = AccelnetCollector(
        AgentView, lambda names: {n: CounterSample(dict(stats)) for n in names},
        EthtoolExport(include=re.compile("^eth0$")), lambda: ["eth0"],
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    with caplog.at_level(logging.WARNING, logger="accelnet.agent.exporter"):
        first = generate_latest(registry).decode()
        second = generate_latest(registry).decode()
    samples = [[l for l in page.splitlines() if l.startswith("accelnet_ethtool_")] for page in (first, second)]
    assert samples[0] == samples[1] == [
        'accelnet_ethtool_rx_errors{device="eth0"} 7.0',
        'accelnet_ethtool_rx_queue_packets{device="eth0",queue="0"} 2.0',
        'accelnet_ethtool_tx_queue_packets{device="eth0",queue="0"} 1.0',
    ]
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [  # once per exported name, not for each duplicate nor at every scrape
        "ethtool stats 'rx-errors' and 'rx_errors' of eth0 both export as accelnet_ethtool_rx_errors: "
        "dropping 'rx_errors'"
    ]
    assert 'collector="ethtool"} 1.0' in first


def test_series_come_interface_by_interface_in_each_drivers_stat_order():
    """Interfaces of two drivers, interleaved, each with queues: every family holds its series
    interface by interface, each interface's in its driver's stat order, with the help text
    of the first stat that made it (what a loop over interfaces and their stats gives), and
    a stat layout that changes between scrapes is followed."""
    import re

    from accelnet.agent.exporter import AccelnetCollector, AgentView, EthtoolExport, metric_name
    from accelnet.agent.exposition import RowsFamily
    from accelnet.readers.host import CounterSample

    netvsc = ["tx_queue_1_packets", "tx_queue_0_packets", "rx-errors", "vf_rx_bytes"]
    mlx5 = ["rx_errors", "tx_queue_0_packets", "rx_out_of_buffer"]
    layouts = {"eth0": netvsc, "enP1": mlx5, "eth1": netvsc, "eth2": netvsc, "enP2": mlx5}
    values = iter(range(1, 10 ** 6))

    def read(names):
        return {n: CounterSample({stat: next(values) for stat in layouts[n]}) for n in names}

    collector = AccelnetCollector(AgentView, read, EthtoolExport(include=re.compile(".")), lambda: list(layouts))

    def expected(readings):
        families = {}
        for device, sample in readings.items():
            for stat, value in sample.stats.items():
                base, labels = split_stat(stat)
                key = (metric_name(base), tuple(sorted(labels)))
                families.setdefault(key, [f"ethtool statistic {base} (driver-defined).", []])[1].append(
                    (dict(labels, device=device), value))
        return [(name, doc, rows) for (name, _), (doc, rows) in sorted(families.items())]

    for _ in range(2):
        seen = {}
        got = [f for f in collector._generic(seen) if isinstance(f, RowsFamily)]
        assert [(f.name, f.documentation, [(s.labels, s.value) for s in f.samples]) for f in got] == expected(seen)
        layouts["eth1"] = mlx5  # its driver changed: a run of its own, then netvsc again
