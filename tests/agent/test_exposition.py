"""The agent's text and OpenMetrics exposition, held byte for byte to prometheus_client's
generate_latest (the oracle): every metric type, every escape, Go's float formatting, a real
registry, and the agent's own families and process metrics next to prometheus_client's."""

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
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

from accelnet.agent import selfmetrics
from accelnet.agent.exposition import (CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, RowsFamily, choose_format, go_float, utf8_text,
                                       openmetrics_format, text_format)
from accelnet.agent.metrics import CounterFamily, GaugeFamily, Registry, families_named


class Fixed:
    """A registry that collects the same families every time."""

    def __init__(self, families):
        self.families = list(families)

    def collect(self):
        return iter(self.families)


def go_exponents(text: bytes) -> bytes:
    # prometheus_client before 0.20 wrote exponents of 10 and more with a stray zero
    # ("1e+010"); Go, node_exporter and recent clients write "1e+10", as we do.
    return re.sub(rb"e\+0(\d\d)(?=[ \n])", rb"e+\1", text)


def same(families):
    registry = Fixed(families)
    ours = text_format(registry)
    assert ours == go_exponents(generate_latest(registry))
    return ours.decode()


def same_openmetrics(families):
    registry = Fixed(families)
    ours = openmetrics_format(registry)
    assert ours == go_exponents(openmetrics_latest(registry))
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


@pytest.mark.parametrize("family_type, check", [(GaugeMetricFamily, same), (CounterMetricFamily, same_openmetrics)],
                         ids=["text", "openmetrics"])
@settings(max_examples=300, deadline=None)
@given(
    help_text=label_text,
    values=st.lists(st.tuples(label_text, st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=0, max_value=2 ** 64 - 1))),
        max_size=5),
)
def test_any_help_label_value_and_value(family_type, check, help_text, values):
    family = family_type("accelnet_x", help_text, labels=["device"])
    for label, value in values:
        family.add_metric([label], value)
    check([family])


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
    """prometheus_client's OpenMetrics encoder reads the rows as samples, and writes what ours does."""
    family = RowsFamily("accelnet_ethtool_rx_bytes", "ethtool statistic rx_bytes.", ["device"])
    family.add(("eth0",), 5)
    text = same_openmetrics([family])
    assert 'accelnet_ethtool_rx_bytes{device="eth0"} 5.0\n' in text
    assert "# TYPE accelnet_ethtool_rx_bytes unknown\n" in text  # OpenMetrics has no "untyped"


def test_openmetrics_as_generate_latest_writes_it():
    counter = CounterMetricFamily("c_bytes", 'A "counter".', labels=["device"])
    counter.add_metric(["eth0"], 12)
    counter.add_metric(['e"th\\1\n'], 2 ** 64 - 1)
    gauge = GaugeMetricFamily("g", "Help with a \\ backslash\nand a newline.", labels=["a", "b"])
    gauge.add_metric(["x", "y"], -0.5)
    gauge.add_metric(["", "ü"], math.nan)
    info = InfoMetricFamily("build", "Build.", value={"version": "1.2"})
    unit = GaugeMetricFamily("temp_celsius", "With a unit.", value=21.5, unit="celsius")
    empty = GaugeMetricFamily("empty", "No samples.", labels=["x"])
    text = same_openmetrics([counter, gauge, info, unit, empty])
    assert text.endswith("# EOF\n") and "# TYPE c_bytes counter\n" in text
    assert "# HELP c_bytes A \\\"counter\\\".\n" in text
    assert same_openmetrics([]) == "# EOF\n"


@pytest.mark.parametrize("accept, content_type", [
    ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", OPENMETRICS_CONTENT_TYPE),  # Prometheus 2.x
    ("Application/OpenMetrics-Text", OPENMETRICS_CONTENT_TYPE),
    ("text/plain", CONTENT_TYPE), ("", CONTENT_TYPE), ("*/*", CONTENT_TYPE),
    ("application/openmetrics-textx", CONTENT_TYPE),
])
def test_format_negotiation(accept, content_type):
    encoder, chosen = choose_format(accept)
    assert chosen == content_type
    assert encoder is (openmetrics_format if content_type == OPENMETRICS_CONTENT_TYPE else text_format)


def test_our_families_are_prometheus_clients():
    """The agent's families (metrics.py) write what prometheus_client's write, in both formats."""
    ours = [GaugeFamily("g", "Gauge.", value=3), CounterFamily("c_total", "Counter.", labels=["device", "event"]),
            GaugeFamily("gl", "Labelled.", labels=["device"])]
    theirs = [GaugeMetricFamily("g", "Gauge.", value=3), CounterMetricFamily("c_total", "Counter.", labels=["device", "event"]),
              GaugeMetricFamily("gl", "Labelled.", labels=["device"])]
    for families in (ours, theirs):
        families[1].add_metric(["eth0", "added"], 2)
        families[2].add_metric(['e"th0'], 1.5)
    assert text_format(Fixed(ours)) == generate_latest(Fixed(theirs))
    assert openmetrics_format(Fixed(ours)) == openmetrics_latest(Fixed(theirs))
    assert [s.name for s in ours[1].samples] == ["c_total"]
    assert ours[1].name == "c"


def test_registry_and_name_filter():
    registry = Registry()
    registry.register(Fixed([GaugeFamily("a", "A.", value=1), CounterFamily("b", "B.", value=2)]))
    registry.register(Fixed([GaugeFamily("c", "C.", value=3)]))
    assert [f.name for f in registry.collect()] == ["a", "b", "c"]
    kept = list(families_named(registry.collect(), ["b_total", "c"]))
    assert [(f.name, f.type, [s.name for s in f.samples]) for f in kept] == \
        [("b", "counter", ["b_total"]), ("c", "gauge", ["c"])]


def test_self_metrics_are_prometheus_clients_collectors():
    """process_*, python_info and python_gc_*: the same series, help and types as
    prometheus_client's collectors write; the values that cannot move between two reads agree."""
    from prometheus_client.parser import text_string_to_metric_families

    theirs = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=theirs)
    PlatformCollector(registry=theirs)
    GCCollector(registry=theirs)
    ours = Registry()
    for collector in (selfmetrics.ProcessCollector(), selfmetrics.PlatformCollector(), selfmetrics.GCCollector()):
        ours.register(collector)

    def shape(text: bytes):
        return [(f.name, f.type, f.documentation, [(s.name, sorted(s.labels.items())) for s in f.samples])
                for f in text_string_to_metric_families(text.decode())]

    mine, oracle = text_format(ours), generate_latest(theirs)
    assert shape(mine) == shape(oracle)
    steady = (b"python_info", b"process_max_fds", b"process_start_time_seconds")
    assert [line for line in mine.splitlines() if line.startswith(steady)] == \
        [line for line in oracle.splitlines() if line.startswith(steady)]


def test_self_metrics_without_proc(tmp_path):
    """No /proc (like prometheus_client's collector): no process_* series, no error."""
    assert selfmetrics.ProcessCollector(proc=str(tmp_path)).collect() == []


def test_label_values_that_utf8_cannot_hold_are_written_with_their_bytes():
    """os.listdir gives an interface name that is not UTF-8 with surrogates (prometheus_client
    fails on them with UnicodeEncodeError: the whole scrape a 500)."""
    assert utf8_text("et\udcff") == "et\\xff" and utf8_text("a\ud800") == "a\\ud800"
    assert utf8_text("é\\") == "é\\"
    gauge = GaugeFamily("g", "h", labels=["device"])
    gauge.add_metric(["et\udcff"], 1)
    rows = RowsFamily("r", "h", ["device"])
    rows.add(("vq\udcfe",), 2)
    registry = Fixed([gauge, rows])
    assert b'g{device="et\\\\xff"} 1.0\n' in text_format(registry)
    assert b'r{device="vq\\\\xfe"} 2.0\n' in openmetrics_format(registry)
