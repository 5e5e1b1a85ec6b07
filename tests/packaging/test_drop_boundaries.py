"""The VF drop thresholds at their exact boundaries: accelnet-check's datapath.vf (through
diagnosis/drops.py) and the alerting rules (through the real promtool, over the series the
agent exports) give the same level for the same counters. A share of exactly 0.1% or 1% at
exactly 1 drop/s, one packet on either side of it, zero traffic, a VF whose counter restarted:
the rules' quotient of extrapolated rates must not land an ulp below what the check calls a
warning."""

import subprocess
from typing import Dict, List, Tuple

import pytest
import yaml

import packaging_sources as src
from accelnet.agent import exporter
from accelnet.diagnosis import drops
from accelnet.diagnosis.status import OK
from packaging_helpers import require_tool

STEP = 15  # seconds between scrapes
STEPS = 160  # 40 minutes: 5 of rate, 10 of for, and some
NAMES = {stat: name + "_total" for stat, name, _ in exporter.VF_METRICS}
DRIVER = {direction: name + "_total" for direction, name, _ in exporter.VF_DRIVER_DROP_METRICS}

#: name -> ({counter: growth per scrape}, the VF driver's own {direction: growth per scrape}).
#: Per scrape of 15 s, so 15 drops a scrape is exactly drops.MIN_RATE.
CASES: Dict[str, Tuple[Dict[str, int], Dict[str, int]]] = {
    "netvsc-tx-exactly-warning": ({"vf_tx_dropped": 15, "vf_tx_packets": 14985, "vf_rx_packets": 100}, {}),
    "netvsc-tx-just-below-warning": ({"vf_tx_dropped": 15, "vf_tx_packets": 14986, "vf_rx_packets": 100}, {}),
    "netvsc-tx-exactly-critical": ({"vf_tx_dropped": 15, "vf_tx_packets": 1485, "vf_rx_packets": 100}, {}),
    "netvsc-tx-just-below-critical": ({"vf_tx_dropped": 15, "vf_tx_packets": 1486, "vf_rx_packets": 100}, {}),
    "netvsc-tx-nothing-sent": ({"vf_tx_dropped": 15, "vf_tx_packets": 0, "vf_rx_packets": 100}, {}),
    "netvsc-tx-under-the-rate": ({"vf_tx_dropped": 14, "vf_tx_packets": 0, "vf_rx_packets": 100}, {}),
    "vf-tx-exactly-warning": ({"vf_tx_dropped": 0, "vf_tx_packets": 15000, "vf_rx_packets": 100}, {"tx": 15, "rx": 0}),
    "vf-tx-exactly-critical": ({"vf_tx_dropped": 0, "vf_tx_packets": 1500, "vf_rx_packets": 100}, {"tx": 15, "rx": 0}),
    "vf-rx-exactly-warning": ({"vf_tx_dropped": 0, "vf_tx_packets": 100, "vf_rx_packets": 14985}, {"tx": 0, "rx": 15}),
    "vf-rx-just-below-warning": ({"vf_tx_dropped": 0, "vf_tx_packets": 100, "vf_rx_packets": 14986}, {"tx": 0, "rx": 15}),
    "vf-rx-exactly-critical": ({"vf_tx_dropped": 0, "vf_tx_packets": 100, "vf_rx_packets": 1485}, {"tx": 0, "rx": 15}),
    "vf-rx-all-dropped": ({"vf_tx_dropped": 0, "vf_tx_packets": 100, "vf_rx_packets": 0}, {"tx": 0, "rx": 15}),
}
#: The mlx5 statistics behind each direction of the VF driver's counters.
MLX5 = {"rx": "rx_out_of_buffer", "tx": "tx_queue_dropped"}


def check_level(growth: Dict[str, int], own: Dict[str, int]) -> str:
    """datapath.vf's level for two samples STEPS scrapes apart (the worst of its counters)."""
    after = {name: per * STEPS for name, per in growth.items()}
    before = {name: 0 for name in growth}
    vf_before = {MLX5[d]: 0 for d in own} if own else None
    vf_after = {MLX5[d]: per * STEPS for d, per in own.items()} if own else None
    rates = drops.drop_rates(before, after, STEP * STEPS, "mlx5_core", vf_before, vf_after)
    levels = [r.status for r in rates if r.status != OK]
    return "critical" if "critical" in levels else levels[0] if levels else OK


def series(case: str, growth: Dict[str, int], own: Dict[str, int]) -> List[Dict[str, str]]:
    labels = '{job="accelnet", instance="%s:9837", device="eth0"}' % case
    rows = [{"series": NAMES[stat] + labels, "values": "0+%dx%d" % (per, STEPS)} for stat, per in growth.items()]
    rows += [{"series": DRIVER[d] + labels, "values": "0+%dx%d" % (per, STEPS)} for d, per in own.items()]
    return rows


def test_the_check_and_the_alerts_agree_at_the_boundaries(tmp_path):
    promtool = require_tool("promtool", "prometheus")
    expected = {case: check_level(*CASES[case]) for case in CASES}
    # the cases are what their names say, on the check's side
    assert {c: lvl for c, lvl in expected.items()} == {
        c: ("warning" if c.endswith("exactly-warning") or c.endswith("below-critical")
            else "critical" if c.endswith("exactly-critical") or c.endswith("nothing-sent") or c.endswith("all-dropped")
            else OK) for c in CASES}
    firing = [{"labels": 'ALERTS{alertname="AccelnetVFDrops", alertstate="firing", severity="%s", job="accelnet", '
                         'instance="%s:9837", device="eth0"}' % (level, case), "value": 1}
              for case, level in sorted(expected.items()) if level != OK]
    test = {
        "rule_files": [str(src.PROMETHEUS_DIR / "accelnet-alerts.rules.yml")],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "%ds" % STEP,
            "input_series": [row for case in sorted(CASES) for row in series(case, *CASES[case])],
            "promql_expr_test": [{"expr": 'ALERTS{alertname="AccelnetVFDrops", alertstate="firing"}',
                                  "eval_time": "35m", "exp_samples": firing}],
        }],
    }
    path = tmp_path / "boundaries.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("before, after, dropped", [
    (9000, 0, 0),  # a new VF: its counter starts over from 0
    (9000, 30, 30),  # ... and has dropped since
    (2 ** 64 - 1, 2 ** 64 - 1, 0),  # huge and unchanged
])
def test_a_restarted_counter_counts_from_zero_as_rate_does(before, after, dropped):
    rates = drops.drop_rates({"vf_rx_packets": 0, "vf_tx_packets": 0}, {"vf_rx_packets": 1000, "vf_tx_packets": 0},
                             10.0, "mlx5_core", {"rx_out_of_buffer": before}, {"rx_out_of_buffer": after})
    assert [(r.counter, r.dropped) for r in rates] == [(drops.VF_RX, dropped)]
