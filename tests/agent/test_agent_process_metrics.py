"""The agent's own process_* series, held against psutil reading the same process.

Operators alert on the exporter's memory, CPU and file descriptors (a leak of sockets under
slow clients shows there first); psutil is the independent reader of /proc/<pid> those numbers
must agree with.
"""

import re
import subprocess

import psutil

import goldens
from agentproc import command, env, get, stop, wait_ready
from testutil import free_port

FIXTURE = goldens.FIXTURES + "/ubuntu2204-cx5-2nics"


def _value(body: str, name: str) -> float:
    match = re.search(r"^%s (\S+)$" % re.escape(name), body, re.M)
    assert match, name
    return float(match.group(1))


def test_process_metrics_agree_with_psutil():
    port = free_port()
    url = "http://127.0.0.1:%d/metrics" % port
    proc = subprocess.Popen(command("--snapshot", FIXTURE, "--web.listen-address", "127.0.0.1:%d" % port),
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(url, proc)
        for _ in range(20):          # a few scrapes: the server's pools are up, RSS settles
            get(url)
        oracle = psutil.Process(proc.pid)
        body = get(url)
        rss, fds = oracle.memory_info().rss, oracle.num_fds()
        cpu = sum(oracle.cpu_times()[:2])
        assert abs(_value(body, "process_resident_memory_bytes") - rss) <= 0.2 * rss
        assert abs(_value(body, "process_open_fds") - fds) <= 3
        assert _value(body, "process_cpu_seconds_total") <= cpu + 0.05
        assert abs(_value(body, "process_start_time_seconds") - oracle.create_time()) < 1.0
    finally:
        stop(proc)
