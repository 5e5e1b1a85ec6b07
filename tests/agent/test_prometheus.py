"""The real Prometheus toolchain against the agent: promtool lints, Prometheus scrapes."""

import json
import os
import subprocess
import time
import urllib.parse

import pytest

import goldens
from agentproc import command, env, get, stop, wait_ready
from testutil import free_port, require_tool

NAMES = goldens.fixture_names()


@pytest.mark.parametrize("name", NAMES)
def test_promtool_check_metrics_finds_nothing(name):
    promtool = require_tool("promtool", "prometheus")
    body = goldens.agent_metrics(name)
    proc = subprocess.run([promtool, "check", "metrics"], input=body.encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)
    assert proc.returncode == 0 and proc.stdout.decode().strip() == "", proc.stdout.decode()


def test_prometheus_scrapes_the_agent(tmp_path):
    prometheus = require_tool("prometheus", "prometheus")
    fixture = os.path.join(goldens.FIXTURES, "ubuntu2004-cx3-8nics")
    agent_port, prom_port = free_port(), free_port()
    agent = subprocess.Popen(
        command("--snapshot", fixture, "--web.listen-address", f"127.0.0.1:{agent_port}"),
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: accelnet\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{agent_port}']\n"
    )
    prom = None
    try:
        wait_ready(f"http://127.0.0.1:{agent_port}/-/ready", agent)
        prom = subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        query = urllib.parse.quote("accelnet_vf_present")
        url = f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}"
        result = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(result) < 8:
            try:
                result = json.loads(get(url))["data"]["result"]
            except (OSError, ValueError, KeyError):
                result = []
            time.sleep(0.5)
        interfaces = sorted(r["metric"]["device"] for r in result)
        assert interfaces == [f"eth{i}" for i in range(8)]
        assert all(r["value"][1] == "1" and r["metric"]["job"] == "accelnet" for r in result)
    finally:
        if prom is not None:
            prom.terminate()
            prom.wait(timeout=10)
        stop(agent)
