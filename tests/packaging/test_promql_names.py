"""The lexer that the metric-name test relies on: if it misses names, that test proves nothing."""

import pytest

from packaging_promql import counter_arguments, metric_names


@pytest.mark.parametrize(
    "expr, names",
    [
        ("accelnet_vf_present == 0", {"accelnet_vf_present"}),
        ('up{job="accelnet"} == 0', {"up"}),
        (
            'accelnet_datapath{path="synthetic"} == 1 and on (instance, interface) accelnet_vf_present == 1',
            {"accelnet_datapath", "accelnet_vf_present"},
        ),
        ('increase(accelnet_vf_events_total{event="removed"}[1h]) > 3', {"accelnet_vf_events_total"}),
        (
            '8 * rate(accelnet_vf_rx_bytes_total{instance=~"$instance", interface=~"$interface"}[$__rate_interval])',
            {"accelnet_vf_rx_bytes_total"},
        ),
        (
            'max by (instance, interface) (accelnet_datapath{path="vf"})',
            {"accelnet_datapath"},
        ),
        ('label_values(accelnet_vf_present{instance=~"$instance"}, interface)', {"accelnet_vf_present"}),
        ("label_values(accelnet_build_info, instance)", {"accelnet_build_info"}),
        ('sum without (cpu) (rate(node_cpu_seconds_total[5m] offset 1h))', {"node_cpu_seconds_total"}),
        # A label value that looks like a metric is not one; a typo in a name is kept.
        ('acelnet_vf_present{check="accelnet_vf_info"}', {"acelnet_vf_present"}),
        ("a_total / ignoring(event) group_left b_total", {"a_total", "b_total"}),
        ("accelnet_check_status >= 2 unless accelnet_vf_present", {"accelnet_check_status", "accelnet_vf_present"}),
        ("1e3 * 2", set()),
        # Digits inside a recorded name are part of it; a duration is not a name.
        ("max_over_time(instance_device:accelnet_vf_present:max1d[15m]) == 1 > 5m",
         {"instance_device:accelnet_vf_present:max1d"}),
    ],
)
def test_metric_names(expr: str, names: set) -> None:
    assert metric_names(expr) == names


def test_counter_arguments_only_inside_rate_functions() -> None:
    expr = 'rate(a_total{x="y"}[5m]) / on (instance) b_gauge + increase(c_total[1h])'
    assert counter_arguments(expr) == {"a_total", "c_total"}
