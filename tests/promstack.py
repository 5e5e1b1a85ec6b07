"""The real Prometheus and Alertmanager on loopback, and a webhook receiver, for tests.

Each runs as a child process on a free 127.0.0.1 port with its data in a directory the test
owns, and is stopped (SIGTERM, then SIGKILL) whatever happens. Nothing listens beyond
loopback: Alertmanager's cluster port is switched off.
"""

import http.server
import json
import os
import signal
import socketserver
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from testutil import free_port, require_tool


class _Process:
    """A server child process with a readiness URL; ``log`` holds its stderr and stdout."""

    def __init__(self, argv: List[str], ready_url: str, log: Path) -> None:
        self.argv = argv
        self.ready_url = ready_url
        self.log_path = log
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 60.0) -> None:
        handle = open(str(self.log_path), "ab")
        try:
            self.proc = subprocess.Popen(self.argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            handle.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited (%s): %s" % (self.argv[0], self.proc.returncode, self.log()[-3000:]))
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("%s not ready after %.0f s: %s" % (self.argv[0], timeout, self.log()[-3000:]))
            time.sleep(0.2)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _get_json(url: str, timeout: float = 10.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


class _Daemon:
    """A Prometheus-family server: ``tool`` (Debian package ``package``) run with CONFIG
    written as ``<name>.yml`` in ``workdir``, its data and log there, on a free loopback port."""

    name = ""
    tool = ""
    package = ""
    flags: Tuple[str, ...] = ()  # its own, "{data}" standing for its data directory

    def __init__(self, workdir: Path, config: dict) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / ("%s.yml" % self.name)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [require_tool(self.tool, self.package), "--config.file=%s" % self.config_path,
                "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=info"]
        argv += [flag.format(data=workdir / "data") for flag in self.flags]
        self.process = _Process(argv, self.url + "/-/ready", workdir / ("%s.log" % self.name))

    def __enter__(self):
        self.process.start()
        return self

    def __exit__(self, *exc) -> None:
        self.process.stop()

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid


class Prometheus(_Daemon):
    """``prometheus``; rule files named in CONFIG are paths relative to ``workdir``."""

    name, tool, package = "prometheus", "prometheus", "prometheus"
    flags = ("--storage.tsdb.path={data}", "--web.enable-lifecycle")

    def query(self, expr: str) -> List[dict]:
        data = _get_json(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert data["status"] == "success", data
        return data["data"]["result"]

    def targets(self) -> dict:
        return _get_json(self.url + "/api/v1/targets?state=any")["data"]

    def alerts(self) -> List[dict]:
        return _get_json(self.url + "/api/v1/alerts")["data"]["alerts"]


class Alertmanager(_Daemon):
    """``prometheus-alertmanager`` (Debian's name), clustering off."""

    name, tool, package = "alertmanager", "prometheus-alertmanager", "prometheus-alertmanager"
    flags = ("--storage.path={data}", "--cluster.listen-address=")

    def alerts(self) -> List[dict]:
        return _get_json(self.url + "/api/v2/alerts")


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class _Receiver:
    """A loopback HTTP server that hands each POST's body to ``take`` and answers ``status``."""

    path = "/"
    status = 200

    def __init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.take(body)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d%s" % (self._server.server_address[1], self.path)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def take(self, body: bytes) -> None:
        """Keep what a POST brought (called under the lock)."""

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class Webhook(_Receiver):
    """Alertmanager's webhook receiver: keeps every notification with the monotonic time it
    arrived."""

    path = "/hook"

    def __init__(self) -> None:
        self.notifications: List[Dict[str, object]] = []
        super().__init__()

    def take(self, body: bytes) -> None:
        self.notifications.append({"at": time.monotonic(), "body": json.loads(body.decode("utf-8"))})

    def received(self) -> List[Dict[str, object]]:
        with self._lock:
            return list(self.notifications)


class RemoteWriteSink(_Receiver):
    """A remote_write endpoint: accepts every push and counts requests and bytes (the
    snappy-compressed protobuf bodies, as they would cross the network)."""

    path = "/api/v1/receive"
    status = 204

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        super().__init__()

    def take(self, body: bytes) -> None:
        self.requests += 1
        self.bytes += len(body)

    def counts(self) -> Dict[str, int]:
        with self._lock:
            return {"requests": self.requests, "bytes": self.bytes}


def self_metrics(url: str) -> Dict[str, float]:
    """A server's own /metrics (Prometheus, Alertmanager): series -> value."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode("utf-8")
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                continue
    return values


def process_usage(pid: int) -> Dict[str, float]:
    """CPU seconds (user + system, the process and its waited-for children) and the resident
    and proportional set sizes in bytes, from /proc."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
    usage = {"cpu_s": cpu, "rss": 0.0, "pss": 0.0, "peak_rss": 0.0}
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                usage["rss"] = float(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                usage["peak_rss"] = float(line.split()[1]) * 1024
    try:
        with open("/proc/%d/smaps_rollup" % pid) as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    usage["pss"] = float(line.split()[1]) * 1024
    except OSError:
        usage["pss"] = usage["rss"]
    return usage
