"""A directory snapshot is read again at every refresh, as a live host is: change the files
(or point a symlink at another snapshot) and the next refresh (the period, or a SIGHUP's
wake) serves the new state: VF presence, the checks, counters and the kernel log's VF events.
The simulated fleet (tests/fleetsim) changes its hosts this way."""

import os
import shutil
import time
import urllib.request

import pytest

import goldens
from accelnet.agent.daemon import Agent, AgentConfig
from accelnet.errors import SnapshotError

HEALTHY = os.path.join(goldens.FIXTURES, "ubuntu2204-mana-healthy")
REMOVED = os.path.join(goldens.FIXTURES, "ubuntu2204-mana-vf-removed")


def _scrape(agent: Agent) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{agent.server.port}/metrics", timeout=10) as response:
        body = response.read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
            if line.startswith("accelnet_") and "_duration_seconds" not in line}


def _point(link: str, target: str) -> None:
    """Replace the symlink atomically, as a test switching a VM's state does."""
    tmp = link + ".new"
    os.symlink(target, tmp)
    os.replace(tmp, link)


@pytest.fixture
def agent(tmp_path):
    link = str(tmp_path / "current")
    os.symlink(HEALTHY, link)
    running = Agent(AgentConfig(listen="127.0.0.1:0", snapshot=link, interval=3600))
    running.start()
    yield running, link
    running.stop()


def test_a_refresh_serves_what_the_snapshot_now_holds(agent):
    running, link = agent
    before = _scrape(running)
    assert before['accelnet_vf_present{device="eth0"}'] == 1
    assert before['accelnet_vf_events_total{device="eth0",event="removed"}'] == 0
    assert before['accelnet_check_status{check="vf.present"}'] == 0
    _point(link, REMOVED)
    assert _scrape(running) == before  # nothing is read until the next refresh
    running.refresh()
    after = _scrape(running)
    assert after['accelnet_vf_present{device="eth0"}'] == 0
    assert after['accelnet_vf_events_total{device="eth0",event="removed"}'] == 1
    assert after['accelnet_check_status{check="vf.present"}'] == 1  # removed: warning
    assert after['accelnet_vf_rx_packets_total{device="eth0"}'] != before['accelnet_vf_rx_packets_total{device="eth0"}']


def test_sighup_wakes_a_refresh(agent):
    running, link = agent
    _point(link, REMOVED)
    running.reload()  # what SIGHUP calls
    deadline = time.monotonic() + 20
    while _scrape(running)['accelnet_vf_present{device="eth0"}'] != 0:
        assert time.monotonic() < deadline, "the wake did not refresh"
        time.sleep(0.1)


def test_a_kernel_log_that_grows_is_counted(agent, tmp_path):
    running, link = agent
    copy = tmp_path / "copy"
    shutil.copytree(HEALTHY, str(copy), symlinks=True)
    with open(str(copy / "cmd" / "dmesg.txt"), "a") as log:
        log.write("[263322.010444] hv_netvsc 6045bda3-7e10-6045-bda3-7e106045bda3 eth0: VF unregistering: enP30832s1\n")
        log.write("[263360.237458] hv_netvsc 6045bda3-7e10-6045-bda3-7e106045bda3 eth0: VF registering: enP30832s1\n")
    _point(link, str(copy))
    running.refresh()
    now = _scrape(running)
    assert now['accelnet_vf_events_total{device="eth0",event="removed"}'] == 1
    assert now['accelnet_vf_events_total{device="eth0",event="added"}'] == 2


def test_a_vanished_snapshot_keeps_the_last_state(agent, tmp_path):
    running, link = agent
    before = _scrape(running)
    _point(link, str(tmp_path / "nowhere"))
    with pytest.raises(SnapshotError):
        running.refresh()
    assert _scrape(running)['accelnet_vf_present{device="eth0"}'] == before['accelnet_vf_present{device="eth0"}']
