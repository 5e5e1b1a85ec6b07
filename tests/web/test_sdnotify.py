"""sd_notify over a real AF_UNIX datagram socket standing in for systemd."""

import os
import socket
import uuid
from typing import Iterator, Tuple

import pytest

from accelnet.agent import sdnotify


@pytest.fixture
def path_socket(tmp_path) -> Iterator[Tuple[str, socket.socket]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(2)
    try:
        yield path, sock
    finally:
        sock.close()


@pytest.fixture
def abstract_socket() -> Iterator[Tuple[str, socket.socket]]:
    name = f"accelnet-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        yield "@" + name, sock
    finally:
        sock.close()


def test_not_under_systemd_is_a_quiet_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": ""}) is False


def test_path_socket_from_the_environment(monkeypatch, path_socket):
    path, sock = path_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert sdnotify.notify("READY=1\nSTATUS=serving 2 NICs") is True
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving 2 NICs"
    assert sdnotify.notify("WATCHDOG=1") is True
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_abstract_socket(abstract_socket):
    name, sock = abstract_socket
    assert sdnotify.notify("STOPPING=1", {"NOTIFY_SOCKET": name}) is True
    assert sock.recv(4096) == b"STOPPING=1"


def test_unreachable_or_unsupported_sockets_return_false(tmp_path):
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": "@no-one-listens-" + uuid.uuid4().hex}) is False
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": "vsock:2:1234"}) is False
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": "relative/path"}) is False


def test_socket_address_forms():
    assert sdnotify.notify_socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert sdnotify.notify_socket_address("@sd-notify") == "\0sd-notify"
    assert sdnotify.notify_socket_address(None) is None


@pytest.mark.parametrize("env, expected", [
    ({}, None),
    ({"WATCHDOG_USEC": "30000000"}, 15.0),
    ({"WATCHDOG_USEC": "1000"}, 0.0005),
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "-5"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
    ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "OWN"}, 10.0),
    ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}, None),
    ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "x"}, None),
])
def test_watchdog_interval(env, expected):
    env = {k: str(os.getpid()) if v == "OWN" else v for k, v in env.items()}
    assert sdnotify.watchdog_interval(env) == expected


def test_watchdog_interval_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 2.0
    assert sdnotify.watchdog_interval(pid=os.getpid() + 1) is None
