"""accelnet-check --watch on a live host: a namespace where a bridge stands in for hv_netvsc
(``--synthetic-drivers bridge``) and a veth is its VF, whose peer in a second namespace sends
traffic through it; the VF is taken away and given back while watching. Both forms: piped
(one line per interval, one per event) and a terminal (a pty: the frame redrawn in place).
Ctrl-C ends both with status 0."""

import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from typing import Iterator, List

import pytest

from accelnet.kernel import netns
from agentproc import REPO, env

SENDER = ("import socket, time\n"
          "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
          "while True:\n"
          "    s.sendto(b'x' * 200, ('10.77.0.1', 9))\n"
          "    time.sleep(0.002)\n")


@pytest.fixture
def watched_host(ns) -> Iterator[str]:
    """syn0 (bridge, 10.77.0.1) with VF vf0, whose peer in another namespace sends ~400 pps."""
    with netns.namespace() as far:
        netns.add_bridge(ns, "syn0")
        netns.ip("addr", "add", "10.77.0.1/24", "dev", "syn0", netns=ns)
        netns.ip("link", "set", "syn0", "up", netns=ns)
        netns.add_veth(ns, "vf0", "vf0peer")
        netns.ip("link", "set", "vf0peer", "netns", far, netns=ns)
        netns.set_master(ns, "vf0", "syn0")
        netns.ip("link", "set", "vf0", "up", netns=ns)
        netns.ip("addr", "add", "10.77.0.2/24", "dev", "vf0peer", netns=far)
        netns.ip("link", "set", "vf0peer", "up", netns=far)
        sender = subprocess.Popen(["ip", "netns", "exec", far, sys.executable, "-c", SENDER],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield ns
        finally:
            sender.kill()
            sender.wait()


def watch_command(ns: str, *extra: str) -> List[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-m", "accelnet.cli.check", "--watch", "0.3",
            "--synthetic-drivers", "bridge", "--no-imds", *extra]


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_piped_one_line_per_interval_and_each_vf_event(watched_host):
    ns = watched_host
    proc = subprocess.Popen(watch_command(ns), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env(), cwd=REPO, universal_newlines=True)
    lines: List[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(re.search(r" vf=vf0 path=vf vf_rx_pps=[1-9]", l) for l in lines))
        netns.set_master(ns, "vf0", None)  # the VF taken away ...
        wait_for(lambda: any("event syn0: VF vf0 removed" in l for l in lines))
        wait_for(lambda: any(" vf=- path=no_VF " in l for l in lines))
        netns.set_master(ns, "vf0", "syn0")  # ... and given back
        wait_for(lambda: any("event syn0: VF vf0 added" in l for l in lines))
        count = len(lines)
        wait_for(lambda: any(re.search(r" vf=vf0 path=vf vf_rx_pps=[1-9]", l) for l in lines[count:]))
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
        reader.join(5)
    assert code == 0 and proc.stderr.read() == ""
    events = [l.split(" event ")[1].strip() for l in lines if " event " in l]
    assert events == ["syn0: VF vf0 removed", "syn0: VF vf0 added"]
    ticks = [l for l in lines if " event " not in l]
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ syn0 vf=\S+ path=\S+ ", l) for l in ticks), ticks
    assert "\x1b" not in "".join(lines)


def test_terminal_frame_redrawn_in_place_and_ctrl_c_exits_0(watched_host):
    ns = watched_host
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
    proc = subprocess.Popen(watch_command(ns), stdin=slave, stdout=slave, stderr=slave, env=env(), cwd=REPO)
    os.close(slave)
    chunks: List[bytes] = []

    def pump() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    text = lambda: b"".join(chunks).decode("utf-8", "replace")  # noqa: E731
    try:
        wait_for(lambda: re.search(r"syn0\s+vf0\s+\S*vf\S*\s+[1-9]", re.sub(r"\x1b\[[0-9;]*m", "", text())))
        netns.delete_link(ns, "vf0")  # as Azure does: the VF goes, a new one (new name) comes
        wait_for(lambda: "syn0: VF vf0 removed" in text())
        netns.add_veth(ns, "enP1s1", "enP1s1peer")
        netns.set_master(ns, "enP1s1", "syn0")
        netns.ip("link", "set", "enP1s1", "up", netns=ns)
        wait_for(lambda: "syn0: VF enP1s1 added" in text())
        wait_for(lambda: re.search(r"syn0\s+enP1s1\s", re.sub(r"\x1b\[[0-9;]*m", "", text().rsplit("\x1b[J", 2)[-2])))
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
        reader.join(5)
        os.close(master)
    out = text()
    assert code == 0
    assert out.startswith("\x1b[?25l") and out.rstrip().endswith("\x1b[?25h")  # cursor hidden, then back
    assert re.search(r"\x1b\[\d+A", out)  # later frames go back up over the earlier one
    assert "Traceback" not in out and "UNKNOWN" not in out
    frames = [f for f in out.split("\x1b[J") if "NIC" in f]
    assert len(frames) >= 4
    for frame in frames:  # every line within the terminal's 110 columns
        for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frame).split("\n"):
            assert len(line.strip("\r")) <= 110


@pytest.mark.parametrize("extra", [(), ("--json",)])
def test_a_reader_that_stops_early_ends_the_watch_quietly(ns, extra):
    """`accelnet-check --watch | head -2`: once head has gone, the next line finds the pipe
    closed; the watch ends with status 0 and says nothing (no traceback, no UNKNOWN)."""
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "accelnet.cli.check",
                             "--watch", "0.2", "--no-imds", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env(), cwd=REPO)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away
    code = proc.wait(timeout=20)
    assert first.endswith(b"\n") and (b"no-synthetic-nic" in first or first.startswith(b"{"))
    assert (code, proc.stderr.read()) == (0, b"")
