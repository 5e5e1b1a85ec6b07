"""The agent's text exposition, held byte for byte to prometheus_client's generate_latest (the
oracle): every metric type, every escape, Go's float formatting, and a real registry."""

import math
import re
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily, InfoMetricFamily, StateSetMetricFamily,
                                    SummaryMetricFamily, UntypedMetricFamily)
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric

from accelnet.agent.exposition import RowsFamily, go_float, text_format


class Fixed:
    """A registry that collects the same families every time."""

    def __init__(self, families):
        self.families = list(families)

    def collect(self):
        return iter(self.families)


def same(families):
    registry = Fixed(families)
    ours = text_format(registry)
    # prometheus_client before 0.20 wrote exponents of 10 and more with a stray zero
    # ("1e+010"); Go, node_exporter and recent clients write "1e+10", as we do.
    assert ours == re.sub(rb"e\+0(\d\d)(?=[ \n])", rb"e+\1", generate_latest(registry))
    return ours.decode()


def test_every_type_as_generate_latest_writes_it():
    counter = CounterMetricFamily("c_bytes", "A counter.", labels=["device"])
    counter.add_metric(["eth0"], 12, created=1700000000.5)
    counter.add_metric(["eth1"], 2 ** 64 - 1)
    gauge = GaugeMetricFamily("g", "Help with a \\ backslash\nand a newline.", labels=["a", "b"])
    gauge.add_metric(["x", "y"], -0.5, timestamp=1700000000.25)
    gauge.add_metric(["", "ü \" \\ \n"], math.nan)
    untyped = UntypedMetricFamily("accelnet_ethtool_rx_queue_bytes", "u", labels=["device", "queue"])
    untyped.add_metric(["v0a", "3"], 1234567)
    untyped.add_metric(["v0a", "12"], math.inf)
    info = InfoMetricFamily("build", "Build.", value={"version": "1.2"})
    stateset = StateSetMetricFamily("s", "State.", value={"on": True, "off": False})
    summary = SummaryMetricFamily("lat_seconds", "Latency.", count_value=3, sum_value=0.25)
    histogram = HistogramMetricFamily("h", "H.", buckets=[("0.1", 1), ("+Inf", 4)], sum_value=2.5)
    gaugehistogram = GaugeHistogramMetricFamily("gh", "GH.", buckets=[("1", 2), ("+Inf", 5)], gsum_value=7)
    unknown = Metric("unk", "Unknown type.", "unknown")
    unknown.add_sample("unk", {}, -math.inf)
    text = same([counter, gauge, untyped, info, stateset, summary, histogram, gaugehistogram, unknown])
    assert "# TYPE c_bytes_total counter\n" in text and "# TYPE c_bytes_created gauge\n" in text
    assert 'g{a="",b="ü \\" \\\\ \\n"} NaN\n' in text
    assert 'c_bytes_total{device="eth1"} 1.8446744073709552e+19\n' in text
    assert 'accelnet_ethtool_rx_queue_bytes{device="v0a",queue="3"} 1.234567e+06\n' in text


def test_an_empty_registry_and_a_family_without_samples():
    assert same([]) == ""
    assert same([GaugeMetricFamily("empty", "No samples.", labels=["x"])]) == \
        "# HELP empty No samples.\n# TYPE empty gauge\n"


def test_a_real_registry_with_process_and_python_metrics():
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    same(list(registry.collect()))


@pytest.mark.parametrize("name, label", [("bad-name", "device"), ("ok", "bad-label"), ("ok", "1st")])
def test_an_invalid_name_is_refused_not_written(name, label):
    # Not a prometheus_client family: recent versions accept any UTF-8 name, older ones none.
    sample = SimpleNamespace(name=name, labels={label: "v"}, value=1, timestamp=None)
    family = SimpleNamespace(name=name, type="gauge", documentation="x", samples=[sample])
    with pytest.raises(ValueError, match="invalid (metric|label) name"):
        text_format(Fixed([family]))


@pytest.mark.parametrize("value, text", [
    (0, "0.0"), (1, "1.0"), (-2.5, "-2.5"), (123456, "123456.0"), (1234567, "1.234567e+06"),
    (120000000, "1.2e+08"), (2 ** 53 - 1, "9.007199254740991e+15"), (2 ** 53 + 1, "9.007199254740992e+15"),
    (-3, "-3.0"), (True, "1.0"), (0.1, "0.1"), (12345678.5, "1.23456785e+07"),
    (1e10, "1e+10"), (1e22, "1e+22"), (2 ** 64 - 1, "1.8446744073709552e+19"), (math.inf, "+Inf"), (-math.inf, "-Inf"),
    (math.nan, "NaN"), (1e-7, "1e-07"),
])
def test_go_floats(value, text):
    assert go_float(value) == text


label_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    help_text=label_text,
    values=st.lists(st.tuples(label_text, st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=0, max_value=2 ** 64 - 1))),
        max_size=5),
)
def test_any_help_label_value_and_value(help_text, values):
    family = GaugeMetricFamily("accelnet_x", help_text, labels=["device"])
    for label, value in values:
        family.add_metric([label], value)
    same([family])


def test_rows_are_written_as_their_samples_would_be():
    queues = RowsFamily("accelnet_ethtool_cpu_vf_rx_packets", "ethtool statistic cpu_vf_rx_packets.",
                        ["device", "cpu"])  # written sorted: cpu before device
    queues.add(("eth0", "3"), 12)
    queues.add(('e"th\\1\n', "12"), 2 ** 64 - 1)
    plain = RowsFamily("accelnet_x", "No labels.", [])
    plain.add((), math.nan)
    empty = RowsFamily("accelnet_empty", "No rows.", ["device"])
    text = same([queues, plain, empty])
    assert 'accelnet_ethtool_cpu_vf_rx_packets{cpu="3",device="eth0"} 12.0\n' in text
    assert "accelnet_x NaN\n" in text
    assert [s.labels for s in queues.samples] == [{"device": "eth0", "cpu": "3"},
                                                 {"device": 'e"th\\1\n', "cpu": "12"}]


def test_rows_for_the_other_encoders():
    """OpenMetrics (prometheus_client's encoder) reads the rows as samples."""
    from prometheus_client.openmetrics.exposition import generate_latest as openmetrics

    family = RowsFamily("accelnet_ethtool_rx_bytes", "ethtool statistic rx_bytes.", ["device"])
    family.add(("eth0",), 5)
    assert b'accelnet_ethtool_rx_bytes{device="eth0"} 5' in openmetrics(Fixed([family]))
