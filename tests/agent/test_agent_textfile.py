"""--textfile for node_exporter's textfile collector: accelnet_* only, --once, --no-web, a
missing directory, and the real prometheus-node-exporter reading what the agent wrote."""

import os
import re
import socket
import subprocess
import time
import urllib.request

import pytest

import goldens
from agentproc import command, env, get, stop
from testutil import free_port, require_tool

FIXTURE = os.path.join(goldens.FIXTURES, "ubuntu2004-cx3-8nics")


def once(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(command("--once", *args), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)


def sample_names(text: str):
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_once_writes_only_accelnet_metrics_and_exits(tmp_path):
    target = tmp_path / "accelnet.prom"
    done = once("--snapshot", FIXTURE, "--textfile", str(target))
    assert done.returncode == 0, done.stderr
    text = target.read_text()
    names = sample_names(text)
    assert "accelnet_vf_present" in names and "accelnet_build_info" in names
    assert all(name.startswith("accelnet_") for name in names), sorted(names)
    for line in text.splitlines():  # HELP/TYPE lines too: no process_*/python_* family at all
        if line.startswith("#"):
            assert line.split()[2].startswith("accelnet_"), line
    assert 'accelnet_vf_present{device="eth4"} 1.0' in text
    assert os.listdir(str(tmp_path)) == ["accelnet.prom"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args,code,needle",
    [
        (["--textfile", "{tmp}/missing/accelnet.prom"], 1, "does not exist"),
        (["--textfile", "{tmp}/accelnet.txt"], 2, "must end in .prom"),
        ([], 2, "--once needs --textfile"),
        (["--textfile", "{tmp}/a.prom", "--snapshot", "/nonexistent/snap"], 2, "does not exist"),
    ],
)
def test_once_failures_are_one_line_and_non_zero(tmp_path, args, code, needle):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--snapshot" not in args:
        args += ["--snapshot", FIXTURE]
    done = once(*args)
    assert done.returncode == code, done.stderr
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stdout == ""


def test_once_on_the_live_kernel(ns, tmp_path):
    """A bridge as the synthetic NIC, a veth as its VF: one run, nothing left running."""
    from accelnet.kernel import netns

    netns.ip("link", "set", "lo", "up", netns=ns)
    netns.add_bridge(ns, "syn0")
    netns.ip("link", "set", "syn0", "up", netns=ns)
    netns.add_veth(ns, "vf0", "vf0peer")
    netns.set_master(ns, "vf0", "syn0")
    target = tmp_path / "accelnet.prom"
    done = subprocess.run(["ip", "netns", "exec", ns] + command(
        "--once", "--synthetic-drivers", "bridge", "--no-imds", "--textfile", str(target)),
        env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = target.read_text()
    assert 'accelnet_vf_present{device="syn0"} 1.0' in text
    assert 'accelnet_vf_info{device="syn0",' in text and 'vf="vf0"' in text
    assert 'accelnet_scrape_collector_success{collector="counters"} 1.0' in text
    assert "accelnet_event_monitor_up" not in text  # nothing watches events in a single run
    assert all(name.startswith("accelnet_") for name in sample_names(text))


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_no_web_keeps_the_textfile_fresh_and_serves_nothing(tmp_path):
    target = tmp_path / "accelnet.prom"
    port = free_port()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    proc = subprocess.Popen(
        command("--snapshot", FIXTURE, "--no-web", "--textfile", str(target), "--check.interval", "0.3",
                "--web.listen-address", f"127.0.0.1:{port}"),
        env=env({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
    )
    try:
        ready = notify.recv(4096).decode()
        assert ready.startswith("READY=1\n") and f"STATUS=writing {target}" in ready
        assert target.exists()  # written before READY=1
        deadline = time.monotonic() + 30
        while not target.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        first = target.stat().st_mtime_ns
        while target.stat().st_mtime_ns == first:  # rewritten at each refresh
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        assert not _listening(port)
        assert all(name.startswith("accelnet_") for name in sample_names(target.read_text()))
    finally:
        stop(proc)
        notify.close()
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr.read()


def test_a_missing_textfile_directory_does_not_stop_the_agent(tmp_path):
    """Start-up logs one error and serves; the directory appears later and the file follows."""
    directory = tmp_path / "textfile"
    target = directory / "accelnet.prom"
    port = free_port()
    proc = subprocess.Popen(
        command("--snapshot", FIXTURE, "--textfile", str(target), "--check.interval", "0.3",
                "--web.listen-address", f"127.0.0.1:{port}"),
        env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while body is None:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            try:
                body = get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            except OSError:
                time.sleep(0.05)
        assert "accelnet_vf_present" in body
        time.sleep(1.0)  # a few refreshes fail to write
        directory.mkdir()
        while not target.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "textfile never written"
            time.sleep(0.05)
    finally:
        stop(proc)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    failures = [line for line in err.splitlines() if "does not exist" in line]
    assert failures, err
    assert all("ERROR" in line and str(directory) in line for line in failures), failures


# --- the real node_exporter ----------------------------------------------------------------


def _node_exporter(directory: str, tmp_path) -> str:
    """Run prometheus-node-exporter's textfile collector (and its own process metrics, which
    is what a second process_* family collides with) on ``directory``; its /metrics page
    and its log."""
    binary = require_tool("prometheus-node-exporter", "prometheus-node-exporter")
    port = free_port()
    log = tmp_path / "node_exporter.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [binary, "--collector.disable-defaults", "--collector.textfile",
             f"--collector.textfile.directory={directory}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
    finally:
        stop(proc)
    return page, log.read_text()


def test_node_exporter_reads_the_textfile_without_errors(tmp_path):
    """Set up as the units document it: the agent writes in its own directory, node_exporter's
    textfile directory holds a symlink to the file."""
    runtime, directory = tmp_path / "run", tmp_path / "textfile"
    runtime.mkdir()
    directory.mkdir()
    done = once("--snapshot", FIXTURE, "--textfile", str(runtime / "accelnet.prom"),
                "--ethtool.device-include", "^eth0$")
    assert done.returncode == 0, done.stderr
    os.symlink(str(runtime / "accelnet.prom"), str(directory / "accelnet.prom"))
    page, log = _node_exporter(str(directory), tmp_path)
    assert re.search(r"^node_textfile_scrape_error 0$", page, re.M), page[-3000:]
    assert 'accelnet_vf_present{device="eth4"} 1' in page
    assert re.search(r'^accelnet_vf_events_total\{device="eth0",event="removed"\} 0$', page, re.M)
    assert re.search(r'^accelnet_check_status\{check="vf.present"\} 0$', page, re.M)
    assert re.search(r'^accelnet_vm_info\{.*vm_size="Standard_', page, re.M)
    assert re.search(r'^accelnet_ethtool_rx_queue_packets\{device="eth0",queue="0"\} ', page, re.M)
    assert 'node_textfile_mtime_seconds{file="' in page and "accelnet.prom" in page
    # node_exporter logs a file it cannot parse, or a series collected twice, at error level.
    assert "level=error" not in log and "collected before" not in log, log


def test_the_full_page_as_a_textfile_is_what_breaks_node_exporter(tmp_path):
    """The control: /metrics with its process_* series, written as a textfile, makes
    node_exporter fail its scrape, so the test above would catch a textfile like it."""
    from accelnet.agent.daemon import Agent, AgentConfig
    from accelnet.agent.textfile import write_textfile

    directory = tmp_path / "textfile"
    directory.mkdir()
    agent = Agent(AgentConfig(listen="127.0.0.1:0", snapshot=FIXTURE))
    agent.start()
    try:
        write_textfile(str(directory / "accelnet.prom"), agent.registry)
    finally:
        agent.stop()
    _page, log = _node_exporter(str(directory), tmp_path)
    assert re.search(r'level=error msg="error gathering metrics:.*process_\w+\\" .* was collected before '
                     r"with the same name", log), log
