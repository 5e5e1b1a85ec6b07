"""The HTTP server over real loopback sockets: endpoints, negotiation, errors, auth, TLS,
bounds and shutdown."""

import base64
import gzip
import http.client
import logging
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import bcrypt
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics import exposition as openmetrics_exposition

from accelnet.agent import web
from accelnet.agent.webconfig import parse_web_config

from webhelpers import BrokenCollector, FixedCollector, get, read_to_close


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def raw(srv: web.Server, data: bytes, read_timeout: float = 5.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


# --- endpoints and negotiation ---------------------------------------------------------------


def test_plain_metrics(start, registry):
    srv = start(registry)
    status, headers, body = get(srv, "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "content-encoding" not in headers
    assert body == generate_latest(registry)
    assert b'accelnet_vf_present{interface="eth0"} 1.0\n' in body
    assert b'accelnet_vf_rx_packets_total{interface="eth0"} 992956.0\n' in body


def test_gzip_when_accepted_only(start, registry):
    srv = start(registry)
    status, headers, body = get(srv, "/metrics", {"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == generate_latest(registry)
    assert int(headers["content-length"]) == len(body)
    for refused in ("gzip;q=0", "deflate", "identity", ""):
        _, headers, body = get(srv, "/metrics", {"Accept-Encoding": refused})
        assert "content-encoding" not in headers, refused
        assert body == generate_latest(registry)


def test_openmetrics_negotiation_like_prometheus(start, registry):
    srv = start(registry)
    # the Accept header Prometheus 2.x sends
    accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
              "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
    status, headers, body = get(srv, "/metrics", {"Accept": accept})
    assert status == 200
    # OpenMetrics 1.0.0 whatever prometheus_client is installed (0.17.1 would say 0.0.1):
    # the agent writes it itself, the same bytes as prometheus_client's encoder
    assert headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert body == openmetrics_exposition.generate_latest(registry)
    assert body.endswith(b"# EOF\n")
    assert b"# TYPE accelnet_vf_rx_packets counter\n" in body
    _, headers, _ = get(srv, "/metrics", {"Accept": "text/plain"})
    assert headers["content-type"].startswith("text/plain; version=0.0.4")


def test_name_filter():
    """prometheus_client's ?name[]= filter; it needs collectors it can describe."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(FixedCollector())
    srv = web.serve("127.0.0.1:0", registry)
    try:
        _, _, body = get(srv, "/metrics?name[]=accelnet_vf_present")
    finally:
        srv.shutdown()
    assert b"accelnet_vf_present" in body and b"accelnet_vf_rx_packets" not in body


def test_landing_page_links_the_telemetry_path(start, registry):
    srv = start(registry, telemetry_path="/custom/metrics")
    status, headers, body = get(srv, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<a href="/custom/metrics">Metrics</a>' in body
    assert get(srv, "/custom/metrics")[0] == 200
    assert get(srv, "/metrics")[0] == 404


def test_health_and_readiness(start, registry):
    state = {"ready": False}
    srv = start(registry, ready=lambda: state["ready"])
    assert get(srv, "/-/healthy")[:1] == (200,)
    assert get(srv, "/-/healthy")[2] == b"OK\n"
    status, headers, _ = get(srv, "/-/ready")
    assert status == 503 and headers["retry-after"] == "1"
    state["ready"] = True
    assert get(srv, "/-/ready")[0] == 200


def test_a_raising_readiness_check_means_not_ready(start, registry, caplog):
    def ready() -> bool:
        raise OSError("netlink gone")

    srv = start(registry, ready=ready)
    with caplog.at_level(logging.WARNING, logger="accelnet.agent.web"):
        assert get(srv, "/-/ready")[0] == 503
    assert "readiness check failed: OSError: netlink gone" in caplog.text


def test_head_has_headers_and_no_body(start, registry):
    srv = start(registry)
    status, headers, body = get(srv, "/metrics", method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["content-length"]) == len(generate_latest(registry))


def test_keep_alive_serves_several_requests_on_one_connection(start, registry):
    srv = start(registry)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        for path in ("/metrics", "/-/healthy", "/nope", "/metrics"):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.getheader("Connection") is None  # not closed between requests
        assert resp.status == 200
    finally:
        conn.close()


def test_pipelined_requests_are_all_answered(start, registry):
    srv = start(registry)
    answer = raw(srv, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 ") == 2
    assert answer.index(b"200 OK") < answer.index(b"404 Not Found")


def test_empty_lines_before_a_request_arriving_on_their_own_are_skipped(start, registry):
    srv = start(registry)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n\r\n")  # a CRLF too many
        time.sleep(0.3)  # the server sees it alone before the next request
        s.sendall(b"GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = read_to_close(s)
    assert answer.count(b"HTTP/1.1 200 OK") == 2 and b"400" not in answer


def test_an_http_1_0_keep_alive_is_answered_as_one(start, registry):
    srv = start(registry)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        for _ in range(2):
            s.sendall(b"GET /-/healthy HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            answer = b""
            while not answer.endswith(b"\r\n\r\nOK\n"):
                chunk = s.recv(65536)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 OK") and b"\r\nConnection: keep-alive\r\n" in answer
    assert b"\r\nConnection: close\r\n" in raw(srv, b"GET /-/healthy HTTP/1.0\r\n\r\n")


# --- bad requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", [b"http://[::1/metrics", b"http://[/metrics"])
def test_an_absolute_form_target_urlsplit_refuses_is_a_400(start, registry, target, caplog):
    """Every Python's urlsplit raises ValueError on these (3.11.4+ also on "[zz]"): once an
    "unexpected error" with a traceback, and the connection dropped without an answer."""
    srv = start(registry)
    with caplog.at_level(logging.ERROR, logger="accelnet.agent.web"):
        answer = raw(srv, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") and b"\r\nConnection: close\r\n" in answer
    assert not caplog.records  # no "unexpected error", no traceback
    assert get(srv, "/metrics")[0] == 200


def test_a_bare_cr_in_a_header_cannot_hide_a_content_length(start, registry):
    srv = start(registry)
    answer = raw(srv, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nX: y\rContent-Length: 26\r\n\r\n"
                      b"GET /nope HTTP/1.1\r\nX: y\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.count(b"HTTP/1.1 ") == 1


def test_a_get_with_a_body_closes_instead_of_misreading_the_body(start, registry):
    srv = start(registry)
    answer = raw(srv, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 27\r\n\r\n"
                      b"GET /nope HTTP/1.1\r\nX: y\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.count(b"HTTP/1.1 ") == 1
    assert b"\r\nConnection: close\r\n" in answer


def test_unknown_path_and_methods(start, registry):
    srv = start(registry)
    assert get(srv, "/metricsx")[0] == 404
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        status, headers, _ = get(srv, "/metrics", method=method)
        assert status == 405 and headers["allow"] == "GET, HEAD", method
        assert headers["connection"] == "close"
    assert raw(srv, b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 501")


@pytest.mark.parametrize("request_bytes, status", [
    (b"GARBAGE\r\n\r\n", b"400"),
    (b"GET /metrics HTTP/9.9\r\n\r\n", b"505"),
    (b"GET /metrics HTTP/1.1 extra words\r\n\r\n", b"400"),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
    (b"GET /metrics HTTP/1.1\r\n" + b"X-Big: " + b"b" * 70000 + b"\r\n\r\n", b"431"),
    (b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n", b"431"),
    (b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000) for i in range(90))
     + b"\r\n", b"431"),
], ids=["garbage", "version", "extra-words", "long-line", "long-header", "many-headers", "big-head"])
def test_malformed_requests_are_answered_and_the_server_lives_on(start, registry, request_bytes, status):
    srv = start(registry)
    answer = raw(srv, request_bytes)
    assert answer.split(b" ", 2)[1] == status, answer[:200]
    assert get(srv, "/metrics")[0] == 200


def test_client_that_vanishes_mid_request_does_no_harm(start, registry):
    srv = start(registry)
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /metr")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST
    assert get(srv, "/metrics")[0] == 200


def test_collector_exception_gives_500_and_a_log_line(start, caplog):
    reg = CollectorRegistry()
    broken = BrokenCollector()
    reg.register(broken)
    srv = start(reg, max_workers=2)
    with caplog.at_level(logging.ERROR, logger="accelnet.agent.web"):
        for _ in range(10):  # more failures than workers: none of them is lost
            status, _, body = get(srv, "/metrics")
            assert status == 500
            assert b"RuntimeError: ethtool ioctl exploded" in body
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 10
    assert errors[0].getMessage() == "scrape of /metrics failed: RuntimeError: ethtool ioctl exploded"
    broken.broken = False
    status, _, body = get(srv, "/metrics")
    assert status == 200 and b"accelnet_ok 1.0" in body


# --- web config: headers, basic auth, rate limit, reload ----------------------------------------


def _users_config(**extra_yaml: str) -> str:
    alice = bcrypt.hashpw(b"secret", bcrypt.gensalt(4)).decode()
    bob = "$2y$" + bcrypt.hashpw(b"hunter2", bcrypt.gensalt(4)).decode()[4:]  # htpasswd's prefix
    return f"basic_auth_users:\n  alice: {alice}\n  bob: {bob}\n" + "".join(extra_yaml.values())


def test_custom_headers_on_every_answer(start, registry):
    cfg = parse_web_config("http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
                           "    Content-Security-Policy: default-src 'none'\n" + _users_config())
    srv = start(registry, web_config=cfg)
    for path, hdrs, status in (("/metrics", basic("alice", "secret"), 200),
                               ("/nope", basic("alice", "secret"), 404),
                               ("/metrics", {}, 401)):
        got, headers, _ = get(srv, path, hdrs)
        assert got == status
        assert headers["x-frame-options"] == "deny"
        assert headers["content-security-policy"] == "default-src 'none'"
    answer = raw(srv, b"GARBAGE\r\n\r\n")
    assert b"X-Frame-Options: deny\r\n" in answer


def test_basic_auth(start, registry):
    srv = start(registry, web_config=parse_web_config(_users_config()))
    assert get(srv, "/metrics", basic("alice", "secret"))[0] == 200
    assert get(srv, "/metrics", basic("bob", "hunter2"))[0] == 200
    for hdrs in (basic("alice", "wrong"), basic("mallory", "secret"), basic("", ""), {},
                 {"Authorization": "Basic !!!notbase64"}, {"Authorization": "Bearer abc"},
                 {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}):
        status, headers, _ = get(srv, "/metrics", hdrs)
        assert status == 401, hdrs
        assert headers["www-authenticate"] == "Basic"
    assert get(srv, "/-/healthy")[0] == 401, "like exporter-toolkit, every path is protected"


def test_successful_checks_are_cached_failures_never(start, registry, monkeypatch):
    calls = []
    real = bcrypt.checkpw

    def spy(password, hashed):
        calls.append(password)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    srv = start(registry, web_config=parse_web_config(_users_config()))
    for _ in range(5):
        assert get(srv, "/metrics", basic("alice", "secret"))[0] == 200
    assert calls == [b"secret"], "one bcrypt run for five scrapes"
    for _ in range(3):
        assert get(srv, "/metrics", basic("alice", "nope"))[0] == 401
        assert get(srv, "/metrics", basic("nobody", "secret"))[0] == 401
    assert len(calls) == 1 + 6, "every failure pays bcrypt, unknown users included"
    # a cached success is tied to the hash: after a reload with a new hash the old password fails
    new_hash = bcrypt.hashpw(b"rotated", bcrypt.gensalt(4)).decode()
    srv.reload(parse_web_config(f"basic_auth_users:\n  alice: {new_hash}\n"))
    assert get(srv, "/metrics", basic("alice", "secret"))[0] == 401
    assert get(srv, "/metrics", basic("alice", "rotated"))[0] == 200


def test_unknown_users_are_checked_against_a_hash_of_the_highest_cost(registry):
    h4 = bcrypt.hashpw(b"a", bcrypt.gensalt(4)).decode()
    h6 = bcrypt.hashpw(b"b", bcrypt.gensalt(6)).decode()
    auth = web.BasicAuth({"a": h4, "b": h6})
    assert auth._dummy.startswith(b"$2b$06$")
    assert auth.check("Basic " + base64.b64encode(b"a:a").decode())
    assert not auth.check("Basic " + base64.b64encode(b"zz:a").decode())


def test_rate_limit_answers_429(start, registry):
    srv = start(registry, web_config=parse_web_config("rate_limit:\n  interval: 1h\n  burst: 2\n"))
    assert [get(srv, "/-/healthy")[0] for _ in range(4)] == [200, 200, 429, 429]


def test_reload_takes_effect_and_a_bad_reload_keeps_the_old_settings(start, registry, tmp_path):
    srv = start(registry)
    assert get(srv, "/metrics")[0] == 200
    path = tmp_path / "web.yml"
    path.write_text(_users_config())
    srv.reload(str(path))
    assert get(srv, "/metrics")[0] == 401
    path.write_text("basic_auth_users: [broken]\n")
    with pytest.raises(Exception, match="basic_auth_users: expected a mapping"):
        srv.reload(str(path))
    assert get(srv, "/metrics")[0] == 401
    assert get(srv, "/metrics", basic("alice", "secret"))[0] == 200


# --- TLS ------------------------------------------------------------------------------------


def _tls_config(pki, extra: str = "") -> str:
    return (f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
            + extra)


def test_tls(start, registry, pki):
    srv = start(registry, web_config=parse_web_config(_tls_config(pki)))
    assert srv.url.startswith("https://127.0.0.1:")
    status, _, body = get(srv, "/metrics", context=pki.client_context())
    assert status == 200 and body == generate_latest(registry)
    # a plain-HTTP client gets no metrics, and the server keeps serving TLS
    answer = raw(srv, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"accelnet_vf_present" not in answer
    assert get(srv, "/metrics", context=pki.client_context())[0] == 200


def test_tls_min_version_is_enforced(start, registry, pki):
    srv = start(registry, web_config=parse_web_config(_tls_config(pki, "  min_version: TLS13\n")))
    with pytest.raises(ssl.SSLError):
        get(srv, "/metrics", context=pki.client_context(maximum="TLS12"))
    assert get(srv, "/metrics", context=pki.client_context())[0] == 200


def test_tls_with_basic_auth(start, registry, pki):
    srv = start(registry, web_config=parse_web_config(_tls_config(pki) + _users_config()))
    ctx = pki.client_context()
    assert get(srv, "/metrics", context=ctx)[0] == 401
    assert get(srv, "/metrics", basic("alice", "secret"), context=ctx)[0] == 200


def _handshake_refused(srv, ctx) -> bool:
    """True when the server refuses the client (at the handshake or right after it: in
    TLS 1.3 the client learns of a rejected certificate only when it reads)."""
    try:
        status, _, _ = get(srv, "/metrics", context=ctx)
    except (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected, OSError):
        return True
    return False


def test_client_certificates(start, registry, pki, caplog):
    cfg = parse_web_config(_tls_config(pki, f"  client_auth_type: RequireAndVerifyClientCert\n"
                                            f"  client_ca_file: {pki.ca_cert}\n"))
    srv = start(registry, web_config=cfg)
    assert get(srv, "/metrics", context=pki.client_context(pki.client_cert, pki.client_key))[0] == 200
    with caplog.at_level(logging.INFO, logger="accelnet.agent.web"):
        assert _handshake_refused(srv, pki.client_context())
        deadline = time.monotonic() + 5
        while "TLS handshake failed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)  # the worker logs after the client has given up
    # the reason is OpenSSL's name for it (PEER_DID_NOT_RETURN_A_CERTIFICATE); Python 3.6's ssl
    # module names OpenSSL 3's reason codes from an older table, so only the line is asserted
    assert "127.0.0.1: TLS handshake failed: " in caplog.text
    assert _handshake_refused(srv, pki.client_context(pki.rogue_cert, pki.rogue_key))
    assert get(srv, "/metrics", context=pki.client_context(pki.other_cert, pki.other_key))[0] == 200


def test_client_allowed_sans(start, registry, pki):
    cfg = parse_web_config(_tls_config(pki, f"  client_auth_type: RequireAndVerifyClientCert\n"
                                            f"  client_ca_file: {pki.ca_cert}\n"
                                            "  client_allowed_sans: [scraper.example]\n"))
    srv = start(registry, web_config=cfg)
    assert get(srv, "/metrics", context=pki.client_context(pki.client_cert, pki.client_key))[0] == 200
    assert _handshake_refused(srv, pki.client_context(pki.other_cert, pki.other_key))


def test_verify_if_given(start, registry, pki):
    cfg = parse_web_config(_tls_config(pki, f"  client_auth_type: VerifyClientCertIfGiven\n"
                                            f"  client_ca_file: {pki.ca_cert}\n"))
    srv = start(registry, web_config=cfg)
    assert get(srv, "/metrics", context=pki.client_context())[0] == 200
    assert get(srv, "/metrics", context=pki.client_context(pki.client_cert, pki.client_key))[0] == 200
    assert _handshake_refused(srv, pki.client_context(pki.rogue_cert, pki.rogue_key))


def test_slow_tls_handshake_does_not_block_other_clients(start, registry, pki):
    srv = start(registry, web_config=parse_web_config(_tls_config(pki)))
    idle = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(3)]  # never say hello
    try:
        assert get(srv, "/metrics", context=pki.client_context())[0] == 200
    finally:
        for s in idle:
            s.close()


# --- listen addresses -----------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    (":9100", ("", 9100)), ("0.0.0.0:9100", ("0.0.0.0", 9100)), ("127.0.0.1:0", ("127.0.0.1", 0)),
    ("[::1]:9100", ("::1", 9100)), ("[::]:80", ("::", 80)), ("localhost:65535", ("localhost", 65535)),
])
def test_listen_addresses(text, expected):
    assert web.parse_listen_address(text) == expected


@pytest.mark.parametrize("text, message", [
    ("9100", "missing port"), ("::1:9100", "needs brackets"), ("[::1]9100", r"expected \[ipv6\]:port"),
    ("[::1", r"expected \[ipv6\]:port"), (":http", "port must be a number"), (":70000", "0-65535"),
    ("host:", "port must be a number"),
])
def test_bad_listen_addresses(text, message):
    with pytest.raises(web.ListenAddressError, match=message):
        web.parse_listen_address(text)


def test_all_addresses_and_ipv6(start, registry):
    srv = start(registry, listen=":0")
    assert get(srv, "/-/healthy", host="127.0.0.1")[0] == 200
    assert get(srv, "/-/healthy", host="::1")[0] == 200
    srv6 = start(registry, listen="[::1]:0")
    assert srv6.url == f"http://[::1]:{srv6.port}"
    assert get(srv6, "/-/healthy", host="::1")[0] == 200


def test_start_errors_are_clear(start, registry):
    srv = start(registry)
    with pytest.raises(web.ServeError, match=rf"cannot listen on 127.0.0.1:{srv.port}: Address already in use"):
        web.serve(f"127.0.0.1:{srv.port}", registry)
    with pytest.raises(web.ServeError, match="telemetry path"):
        web.serve("127.0.0.1:0", registry, telemetry_path="metrics")
    with pytest.raises(web.ServeError, match="cannot listen on no-such-host.invalid:0"):
        web.serve("no-such-host.invalid:0", registry)


# --- bounds, shutdown, cold start -------------------------------------------------------------


class _Gated:
    """A collector that blocks its scrape until ``gate`` is set: a worker held for real."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def collect(self):
        self.gate.wait(30)
        yield GaugeMetricFamily("accelnet_ok", "Released.", value=1)


def test_bounded_pool_refuses_instead_of_spawning(start):
    gated = _Gated()
    reg = CollectorRegistry()
    reg.register(gated)
    srv = start(reg, max_workers=2, max_queue=2, io_timeout=30)
    threads_before = threading.active_count()
    # 2 whole requests occupy both workers (their scrape blocks), 2 more queue
    busy = []
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        busy.append(s)
        time.sleep(0.2)  # let a worker take it before the next one arrives
    try:
        answer = raw(srv, b"GET /-/healthy HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable")
        assert srv.rejected >= 1
        assert threading.active_count() - threads_before <= 2
    finally:
        gated.gate.set()
        for s in busy:
            s.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if get(srv, "/-/healthy")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)
    assert get(srv, "/-/healthy")[0] == 200


def test_every_connection_gets_a_worker_while_workers_remain(start, registry):
    """Connections arriving back to back each get a worker while fewer than max_workers are
    busy: none waits in the queue behind a client that is stuck (regression: a worker
    counted idle while it had already taken a connection)."""
    srv = start(registry, max_workers=8, io_timeout=30)
    for round_ in range(5):
        stuck = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(6)]
        try:
            for s in stuck:
                s.sendall(b"GET /metrics HTTP/1.1\r\n")  # headers never finish
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=3)
            conn.request("GET", "/-/healthy")
            assert conn.getresponse().status == 200, round_
            conn.close()
        finally:
            for s in stuck:
                s.close()


def test_idle_keep_alive_connections_yield_to_waiting_ones(start, registry):
    srv = start(registry, max_workers=1, max_queue=4, keepalive_timeout=60)
    first = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    first.request("GET", "/-/healthy")
    assert first.getresponse().read() == b"OK\n"
    # first stays open and idle; a second client must not wait for the 60 s keep-alive
    t0 = time.monotonic()
    assert get(srv, "/-/healthy")[0] == 200
    assert time.monotonic() - t0 < 5
    first.close()


def test_shutdown_within_a_second_with_busy_and_idle_clients(registry):
    srv = web.serve("127.0.0.1:0", registry, io_timeout=30, keepalive_timeout=60)
    idle = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    idle.request("GET", "/metrics")
    idle.getresponse().read()
    slow = socket.create_connection(("127.0.0.1", srv.port))
    slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
    time.sleep(0.2)
    t0 = time.monotonic()
    srv.shutdown()
    elapsed = time.monotonic() - t0
    try:
        assert elapsed < 1.0, f"shutdown took {elapsed:.3f}s"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
    finally:
        idle.close()
        slow.close()


def test_import_is_cold_start_friendly():
    code = ("import sys, accelnet.agent.web, accelnet.agent.webconfig, accelnet.agent.sdnotify, accelnet.agent.textfile;"
            "print(' '.join(m for m in ('yaml', 'bcrypt', 'cryptography') if m in sys.modules))")
    agent_dir = os.path.dirname(os.path.dirname(os.path.dirname(web.__file__)))
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True,
                         env={**os.environ, "PYTHONPATH": agent_dir})
    assert out.stdout.strip() == "", f"imported at start: {out.stdout.strip()}"


# --- automatic reload of a web-config file and its certificates -------------------------------


def test_changed_config_file_is_picked_up_and_a_broken_one_ignored(start, registry, tmp_path,
                                                                   monkeypatch, caplog):
    monkeypatch.setattr(web, "RELOAD_CHECK_INTERVAL", 0.0)
    path = tmp_path / "web.yml"
    path.write_text("http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
    srv = start(registry, web_config=str(path))
    assert get(srv, "/metrics")[0] == 200
    path.write_text(_users_config())
    assert get(srv, "/metrics")[0] == 401
    with caplog.at_level(logging.ERROR, logger="accelnet.agent.web"):
        path.write_text("basic_auth_users: [oops]\n")
        assert get(srv, "/metrics")[0] == 401, "the old settings stay"
        assert get(srv, "/metrics", basic("alice", "secret"))[0] == 200
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "a broken file is reported once, not per request"
    assert "keeping the previous web config" in errors[0] and "basic_auth_users" in errors[0]


def test_renewed_certificate_is_served_without_restart(start, registry, pki, tmp_path, monkeypatch):
    monkeypatch.setattr(web, "RELOAD_CHECK_INTERVAL", 0.0)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(open(pki.server_cert, "rb").read())
    key.write_bytes(open(pki.server_key, "rb").read())
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n")
    srv = start(registry, web_config=str(path))

    def served_cert() -> bytes:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            with ctx.wrap_socket(s) as tls:
                return tls.getpeercert(binary_form=True)

    assert served_cert() == ssl.PEM_cert_to_DER_cert(open(pki.server_cert).read())
    tmp_cert = tmp_path / "tls.crt.new"
    tmp_key = tmp_path / "tls.key.new"
    tmp_cert.write_bytes(open(pki.other_cert, "rb").read())
    tmp_key.write_bytes(open(pki.other_key, "rb").read())
    os.replace(tmp_key, key)
    os.replace(tmp_cert, cert)
    assert served_cert() == ssl.PEM_cert_to_DER_cert(open(pki.other_cert).read())
