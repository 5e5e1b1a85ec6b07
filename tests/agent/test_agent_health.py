"""The agent's own health, node_exporter style: per-part success and duration, partial output
when a part fails, the last refresh, IMDS, and a watchdog that vouches only for a refresh
that succeeded. Also the joins: ``device``, ``accelnet_vm_info``, skipped checks."""

import json
import logging
import os
import re
import shutil
import time
import urllib.request

import pytest

import goldens
from accelnet.agent import daemon
from accelnet.agent.daemon import Agent, AgentConfig

FIXTURE = os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-2nics")


def scrape(agent: Agent, query: str = "") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{agent.server.port}/metrics{query}", timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


def value(body: str, series: str) -> float:
    for line in body.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(series)


@pytest.fixture
def started():
    agents = []

    def start(snapshot: str = FIXTURE, before_start=None, **config) -> Agent:
        agent = Agent(AgentConfig(listen="127.0.0.1:0", snapshot=snapshot, **config))
        if before_start is not None:
            before_start(agent)
        agents.append(agent)
        agent.start()
        return agent

    yield start
    for agent in agents:
        agent.stop()


def test_every_part_reports_success_and_duration(started):
    before = time.time()
    body = scrape(started())
    for part in ("checks", "discovery", "counters", "events", "imds"):
        assert value(body, f'accelnet_scrape_collector_success{{collector="{part}"}}') == 1
        assert 0 <= value(body, f'accelnet_scrape_collector_duration_seconds{{collector="{part}"}}') < 10
    assert 'collector="ethtool"' not in body  # the generic export is off: not a part
    assert before - 5 <= value(body, "accelnet_last_refresh_timestamp_seconds") <= time.time()


def test_a_failing_part_is_reported_and_the_rest_is_served(started, caplog):
    def break_counters(agent: Agent) -> None:
        def read_counters(names):
            raise RuntimeError("ethtool ioctl exploded")
        agent.read_counters = read_counters

    agent = started(before_start=break_counters, ethtool_include="^eth0$")
    with caplog.at_level(logging.ERROR, logger="accelnet.agent.exporter"):
        body = scrape(agent)  # 200, not 500
    assert value(body, 'accelnet_scrape_collector_success{collector="counters"}') == 0
    assert value(body, 'accelnet_scrape_collector_success{collector="ethtool"}') == 0
    for part in ("checks", "discovery", "events", "imds"):
        assert value(body, f'accelnet_scrape_collector_success{{collector="{part}"}}') == 1
    assert "accelnet_vf_rx_packets_total{" not in body and "accelnet_ethtool_" not in body
    assert value(body, 'accelnet_vf_present{device="eth0"}') == 1
    assert value(body, 'accelnet_check_status{check="vf.present"}') == 0
    assert "process_resident_memory_bytes" in body
    errors = [r for r in caplog.records if r.name == "accelnet.agent.exporter"]
    assert [r.getMessage() for r in errors] == [
        "collector counters failed: RuntimeError: ethtool ioctl exploded",
        "collector ethtool failed: RuntimeError: ethtool ioctl exploded",
    ]
    assert all(r.exc_info is None for r in errors)  # one line, no traceback at error level


def test_vm_info_groups_a_fleet(started):
    body = scrape(started())
    line = next(l for l in body.splitlines() if l.startswith("accelnet_vm_info{"))
    labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
    assert labels == {
        "vm_id": "eaef268b-47cc-d225-e5b7-51ff32a0468e", "vm_name": "ubuntu2204-cx5-2nics",
        "vm_size": "Standard_D8s_v5", "location": "westus2", "zone": "", "resource_group": "accelnet-fixtures",
        "vm_scale_set_name": "",
    }
    assert line.endswith(" 1.0")
    assert value(body, "accelnet_imds_up") == 1


def test_imds_that_did_not_answer_shows_as_down(started, tmp_path):
    snapshot = tmp_path / "no-imds"
    shutil.copytree(FIXTURE, str(snapshot), symlinks=True)
    os.remove(str(snapshot / "cmd" / "imds.json"))
    body = scrape(started(str(snapshot)))
    assert value(body, "accelnet_imds_up") == 0
    assert "accelnet_vm_info" not in body
    assert value(body, 'accelnet_scrape_collector_success{collector="imds"}') == 1


def test_not_azure_has_no_vm_info_no_imds_and_no_skipped_checks(started):
    body = scrape(started(os.path.join(goldens.FIXTURES, "debian12-kvm-not-azure")))
    assert "accelnet_vm_info" not in body and "accelnet_imds_up" not in body
    assert 'collector="imds"' not in body
    checks = set(re.findall(r'^accelnet_check_status\{check="([^"]+)"\}', body, re.M))
    assert checks == {"platform.azure", "os.distribution", "os.kernel"}  # the rest are skipped


def test_no_series_uses_the_old_interface_label(started):
    body = scrape(started(ethtool_include="."))
    assert "interface=" not in body
    assert value(body, 'accelnet_ethtool_rx_queue_packets{device="eth0",queue="0"}') >= 0


def test_name_filter_returns_the_named_series(started):
    agent = started()
    body = scrape(agent, "?name[]=accelnet_vf_present&name[]=accelnet_vf_events_total&name[]=process_open_fds")
    names = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if not line.startswith("#")}
    assert names == {"accelnet_vf_present", "accelnet_vf_events_total", "process_open_fds"}
    assert body.count("# TYPE ") == 3
    assert scrape(agent, "?name[]=accelnet_no_such_metric") == ""
    assert "accelnet_build_info" in scrape(agent, "?other=1")


# --- the watchdog ----------------------------------------------------------------------------


def test_heartbeat_moves_only_after_a_refresh_that_succeeded(started, monkeypatch):
    agent = Agent(AgentConfig(listen="127.0.0.1:0", snapshot=FIXTURE))
    assert agent.heartbeat is None and not agent.healthy(max_age=1e9)  # nothing vouched for yet
    agent = started()
    good = agent.heartbeat
    assert good is not None and agent.healthy(max_age=60)

    def broken_gather(host, options):
        raise OSError("sysfs went away")

    monkeypatch.setattr(daemon, "gather", broken_gather)
    with pytest.raises(OSError):
        agent.refresh()
    assert agent.heartbeat == good
    assert not agent.healthy(max_age=60, now=good + 61)
    monkeypatch.undo()
    agent.refresh()
    assert agent.heartbeat > good and agent.healthy(max_age=60)


def test_the_loop_keeps_serving_when_refreshes_fail(started, monkeypatch, caplog):
    agent = started(interval=0.05)
    good = agent.heartbeat

    def broken_gather(host, options):
        raise OSError("sysfs went away")

    with caplog.at_level(logging.ERROR, logger="accelnet.agent"):
        monkeypatch.setattr(daemon, "gather", broken_gather)
        deadline = time.monotonic() + 10
        while not any("refresh failed" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert agent.heartbeat == good  # no WATCHDOG=1 on the strength of a failed refresh
    assert value(scrape(agent), 'accelnet_vf_present{device="eth0"}') == 1  # the last good view


# --- IMDS answers are cached, failures are not ----------------------------------------------


def test_capture_cache_keeps_answers_and_retries_failures():
    calls = []
    answers = iter([None, "doc", "newer"])

    def fetch(name):
        calls.append(name)
        return next(answers)

    capture = daemon._Cached(fetch, {"imds": 3600.0})
    assert capture("imds") is None  # IMDS down: asked again next time
    assert capture("imds") == "doc"
    assert capture("imds") == "doc"  # kept for the TTL
    assert calls == ["imds", "imds"]


def test_kernel_log_up_says_whether_the_vf_history_was_read(started, tmp_path):
    """accelnet_kernel_log_up: 1 where the kernel log could be read (here a snapshot's
    cmd/dmesg.txt), 0 where not, and the check's JSON says why (history_state)."""
    with_log = os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-vf-flapping")
    assert value(scrape(started(with_log)), "accelnet_kernel_log_up") == 1
    snapshot = tmp_path / "no-dmesg"
    shutil.copytree(with_log, str(snapshot), symlinks=True)
    os.remove(str(snapshot / "cmd" / "dmesg.txt"))
    assert value(scrape(started(str(snapshot))), "accelnet_kernel_log_up") == 0
    _, text = goldens.check_json("ubuntu2204-cx5-vf-flapping")
    assert json.loads(text)["history_state"] == "ok"
