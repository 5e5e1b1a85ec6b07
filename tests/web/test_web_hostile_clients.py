"""Hostile clients in-process: slow request heads and idle connections cost no worker, one
deadline covers the whole head, and request framing is strict (RFC 9112)."""

import socket
import ssl
import threading
import time

import pytest

from accelnet.agent import web
from accelnet.agent.webconfig import parse_web_config

from webhelpers import get


def _raw(srv, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.mark.parametrize("headers", [
    b"Content-Length: 0\r\nContent-Length: 0\r\n",
    b"Content-Length: 0\r\nContent-Length: 5\r\n",
    b"Content-Length: 0, 5\r\n",
    b"Content-Length: -1\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
], ids=["duplicate", "conflicting", "list", "negative", "cl-then-te", "te-then-cl"])
def test_ambiguous_framing_is_refused_with_400(start, registry, headers):
    srv = start(registry)
    answer = _raw(srv, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\nhello")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:100]
    assert answer.count(b"HTTP/1.1 ") == 1  # nothing smuggled after it is answered
    assert get(srv, "/metrics")[0] == 200


def test_framing_problem_is_pure():
    assert web.framing_problem([], []) is None
    assert web.framing_problem(["12"], []) is None
    assert web.framing_problem([], ["chunked"]) is None
    assert web.framing_problem(["1", "1"], []) == "duplicate Content-Length headers"
    assert web.framing_problem(["1"], ["chunked"]) == "both Content-Length and Transfer-Encoding"


def test_head_complete():
    assert not web.head_complete(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    assert web.head_complete(b"GET /metrics HTTP/1.1\r\n\r\n")
    assert web.head_complete(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert web.head_complete(b"GET /metrics HTTP/1.1\nHost: x\n\n")
    assert web.head_complete(b"GARBAGE\r\n")


def _slow_clients(port: int, count: int, stop: threading.Event, context=None):
    """``count`` clients that each send one header line every second, forever."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if context is not None:
            s = context.wrap_socket(s, server_hostname="localhost")
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        socks.append(s)

    def drip():
        i = 0
        while not stop.wait(1.0):
            i += 1
            for s in socks:
                try:
                    s.sendall(b"X-%d: y\r\n" % i)
                except OSError:
                    pass

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    return socks, t


def test_slow_heads_take_no_worker_and_get_one_deadline(start, registry):
    srv = start(registry, max_workers=2, io_timeout=3)
    stop = threading.Event()
    socks, dripper = _slow_clients(srv.port, 16, stop)
    try:
        for _ in range(3):
            assert get(srv, "/-/healthy")[0] == 200
        # one header line a second never extends the head's deadline: closed after ~3 s
        time.sleep(5)
        closed = 0
        for s in socks:
            s.settimeout(0.5)
            try:
                closed += s.recv(1) == b""
            except (socket.timeout, OSError):
                pass
        assert closed == len(socks)
    finally:
        stop.set()
        dripper.join()
        for s in socks:
            s.close()


def test_idle_tcp_connections_do_not_starve_tls(start, registry, pki):
    config = parse_web_config(f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n")
    srv = start(registry, web_config=config, max_workers=2)
    idle = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(64)]  # never say hello
    try:
        for _ in range(3):
            assert get(srv, "/metrics", context=pki.client_context())[0] == 200
    finally:
        for s in idle:
            s.close()


def test_reception_is_bounded_and_drops_the_oldest(start, registry, monkeypatch):
    monkeypatch.setattr(web, "MAX_RECEIVING", 8)
    srv = start(registry, io_timeout=60)
    idle = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(20)]
    try:
        assert get(srv, "/-/healthy")[0] == 200
        time.sleep(0.3)
        dropped = 0
        for s in idle[:8]:
            s.settimeout(1)
            try:
                dropped += s.recv(1) == b""
            except (socket.timeout, OSError):
                pass
        assert dropped == 8
    finally:
        for s in idle:
            s.close()


def test_unfinished_heads_are_bounded_in_memory(start, registry, monkeypatch):
    monkeypatch.setattr(web, "MAX_RECEPTION_BYTES", 100_000)
    srv = start(registry, io_timeout=60)
    big = []
    for _ in range(4):  # 4 x 40 KB of a never-ending head: more than the budget
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"p" * 40_000)
        big.append(s)
        time.sleep(0.2)
    try:
        assert get(srv, "/-/healthy")[0] == 200
        dropped = 0
        for s in big:
            s.settimeout(1)
            try:
                dropped += s.recv(1) == b""
            except (socket.timeout, OSError):
                pass
        assert dropped >= 1
    finally:
        for s in big:
            s.close()
