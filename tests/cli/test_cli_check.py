"""accelnet-check as users run it: exit codes, bad input, this (non-Azure) machine, IMDS,
--collect."""

import http.server
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading

import socketserver

import pytest

import goldens
from accelnet.cli.check import main
from accelnet.diagnosis.facts import Options, gather
from accelnet.readers import live
from accelnet.readers.host import Host

REPO = goldens.REPO


def run_cli(*args, env=None):
    full_env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "agent"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "accelnet.cli.check", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=full_env, timeout=120)


@pytest.mark.parametrize("args", [
    ["--sample-seconds", "-1"],
    ["--sample-seconds", "nan"],
    ["--bogus"],
    ["--snapshot", "/nonexistent/bundle.tar.gz"],
    ["--snapshot", __file__],
    ["--snapshot", "x", "--collect", "y.tar.gz"],
])
def test_bad_input_is_unknown_with_one_line(args):
    proc = run_cli(*args)
    err = proc.stderr.decode()
    assert proc.returncode == 3
    assert "Traceback" not in err
    out = proc.stdout.decode().splitlines()
    assert len(out) == 1 and out[0].startswith("UNKNOWN: accelnet-check: "), out
    as_json = run_cli(*args, "--json")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 3 and report["status"] == "unknown"
    assert report["summary"] == out[0][len("UNKNOWN: "):]
    assert len(as_json.stderr.decode().strip().splitlines()) <= 8 and "Traceback" not in as_json.stderr.decode()


def test_garbage_archive(tmp_path):
    bad = tmp_path / "bundle.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    proc = run_cli("--snapshot", str(bad))
    assert proc.returncode == 3 and b"Traceback" not in proc.stderr
    assert proc.stdout.startswith(b"UNKNOWN: ")


def test_version_and_help_exit_unknown_as_the_plugin_guidelines_say():
    """monitoring-plugins' guidelines reserve -V/--version and -h/--help, and a plugin exits
    UNKNOWN (3) after either: it diagnosed nothing."""
    from accelnet import __version__

    for flag in ("-V", "--version"):
        proc = run_cli(flag)
        assert proc.returncode == 3 and proc.stdout.decode() == "accelnet-check %s\n" % __version__, flag
    for flag in ("-h", "--help"):
        proc = run_cli(flag)
        assert proc.returncode == 3 and proc.stdout.decode().startswith("usage: accelnet-check"), flag
        assert "-v, --verbose" in proc.stdout.decode() and "-V, --version" in proc.stdout.decode()


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """http.server.ThreadingHTTPServer of Python 3.7+, for Python 3.6."""

    daemon_threads = True


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests = []
    body = b"{}"

    def do_GET(self):  # noqa: N802 - stdlib name
        type(self).requests.append((self.path, self.headers.get("Metadata")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args):
        pass


@pytest.fixture
def imds_server():
    _Recorder.requests = []
    with open(os.path.join(REPO, "fixtures/hosts/ubuntu1604-cx3-healthy/cmd/imds.json"), "rb") as handle:
        _Recorder.body = handle.read()
    server = _ThreadingServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metadata/instance?api-version=2021-02-01"
    server.shutdown()


def _host_with_live_captures(fixture: str, imds_url: str) -> Host:
    """A fixture's files with the live host's capture path (IMDS over HTTP)."""
    root = os.path.join(goldens.FIXTURES, fixture, "root")
    return Host(root=root, live=False, captures=live.LiveCaptures(live.producer(imds_url)))


def test_imds_asked_on_azure_with_metadata_header_and_no_proxy(imds_server, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9/")  # a proxy would make this fail
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9/")
    facts = gather(_host_with_live_captures("ubuntu1604-cx3-healthy", imds_server), Options(sample_seconds=0))
    assert facts.imds_state.ok and facts.imds.vm_size == "Standard_DS4_v2"
    assert _Recorder.requests == [("/metadata/instance?api-version=2021-02-01", "true")]


def test_imds_never_asked_off_azure_or_when_disabled(imds_server):
    gather(_host_with_live_captures("debian12-kvm-not-azure", imds_server), Options(sample_seconds=0))
    facts = gather(_host_with_live_captures("ubuntu1604-cx3-healthy", imds_server), Options(sample_seconds=0, imds=False))
    assert _Recorder.requests == []
    assert facts.imds_state.text == "disabled (--no-imds)" and not facts.imds_state.asked


def test_this_machine_is_unknown_and_talks_to_nobody(monkeypatch, capsys):
    """Not Azure here: exit 3, says why, and no connection leaves loopback."""
    attempts = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        attempts.append(address)
        host = address[0] if isinstance(address, tuple) else ""
        if self.family in (socket.AF_INET, socket.AF_INET6) and not host.startswith(("127.", "::1", "localhost")):
            raise AssertionError(f"connection attempt to {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    code = main(["--json", "--sample-seconds", "0"])
    report = json.loads(capsys.readouterr().out)
    assert code == 3 and report["status"] == "unknown"
    assert "Azure" in report["summary"]
    assert not [a for a in attempts if isinstance(a, tuple)]


def test_collect_writes_a_snapshot_that_diagnoses_the_same(tmp_path, capsys):
    bundle = tmp_path / "bundle.tar.gz"
    code = main(["--collect", str(bundle), "--json", "--sample-seconds", "0"])
    collected = json.loads(capsys.readouterr().out)
    assert bundle.exists() and code == 3
    code_live = main(["--json", "--sample-seconds", "0"])
    live_report = json.loads(capsys.readouterr().out)
    assert code_live == code
    assert collected["checks"] == live_report["checks"]
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        members = {m.name: m for m in tar.getmembers()}
    assert "snapshot/snapshot.json" in names
    assert "snapshot/root/proc/sys/kernel/osrelease" in names
    net = [n for n in names if n.startswith("snapshot/root/sys/class/net/")]
    assert net and all(members[n].issym() and not members[n].linkname.startswith("/") for n in net)
