"""What the serving agent keeps in memory: it runs on every VM, so the modules it loads are
held to a list (issue 21: RSS after 200 scrapes <= 24 MiB; bench/bench_vs_node_exporter.py
measures it). prometheus_client is the tests' oracle, not the agent's: importing it loads its
HTTP server, push gateway and WSGI code and through them ssl, http.server, urllib.request
and email (about 9 MiB)."""

import os
import subprocess
import sys

import goldens

FIXTURE = os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-2nics")

#: Modules the agent must not load to serve plain HTTP (TLS loads ssl, and only then).
HEAVY = ("prometheus_client", "ssl", "http.server", "http.client", "email", "urllib.request", "wsgiref")

SERVE_AND_SCRAPE = r"""
import socket, sys
from accelnet.agent.daemon import Agent, AgentConfig
agent = Agent(AgentConfig(listen="127.0.0.1:0", snapshot=sys.argv[1], events=False, imds=False,
                          ethtool_include="."))
agent.start()
try:
    for accept in (b"text/plain", b"application/openmetrics-text; version=1.0.0", b"*/*"):
        with socket.create_connection(("127.0.0.1", agent.server.port), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: " + accept + b"\r\nConnection: close\r\n\r\n")
            with s.makefile("rb") as answers:
                answer = answers.read()
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:100]
        assert b"accelnet_vf_present" in answer
finally:
    agent.stop()
print(" ".join(m for m in sys.argv[2:] if m in sys.modules))
"""


def test_serving_loads_no_prometheus_client_tls_or_stdlib_http():
    out = subprocess.run([sys.executable, "-c", SERVE_AND_SCRAPE, FIXTURE] + list(HEAVY),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         env={**os.environ, "PYTHONPATH": os.path.join(goldens.REPO, "agent")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"loaded while serving: {out.stdout.strip()}"
