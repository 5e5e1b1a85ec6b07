"""The request-head parser on its own (agent/httphead.py): strict RFC 9112 framing, the
stdlib parser's limits, and the statuses each bad head gets."""

import pytest

from accelnet.agent.httphead import MAX_HEADERS, HeadError, head_complete, parse_head


def test_a_request_its_headers_and_what_it_took():
    buf = b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept:  text/plain \r\nX-A: 1\r\nx-a: 2\r\n\r\nGET / HTTP/1.1\r\n"
    request, used = parse_head(buf)
    assert (request.method, request.target, request.version) == ("GET", "/metrics?x=1", (1, 1))
    assert request.headers.get("accept") == "text/plain" and request.headers.get_all("X-A") == ["1", "2"]
    assert request.headers.get("Missing", "0") == "0" and "HOST" in request.headers
    assert buf[used:] == b"GET / HTTP/1.1\r\n"
    assert request.line == "GET /metrics?x=1 HTTP/1.1"


def test_bare_line_feeds_and_leading_empty_lines():
    request, used = parse_head(b"\r\n\nGET / HTTP/1.0\nHost: a\n\n")
    assert request.version == (1, 0) and request.headers.get("host") == "a" and used == 27


@pytest.mark.parametrize("head, keep_alive", [
    (b"GET / HTTP/1.1\r\n\r\n", True),
    (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", False),
    (b"GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n", False),
    (b"GET / HTTP/1.0\r\n\r\n", False),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
])
def test_keep_alive(head, keep_alive):
    assert parse_head(head)[0].keep_alive is keep_alive


def test_a_network_path_stays_a_path():
    assert parse_head(b"GET //evil.example/metrics HTTP/1.1\r\n\r\n")[0].target == "/evil.example/metrics"


@pytest.mark.parametrize("head, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 400),  # HTTP/0.9
    (b"GET / HTTP/1.1 x\r\n\r\n", 400),
    (b"GET / HTTX/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET / HTTP/0.9\r\n\r\n", 505),
    (b"G(T / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),  # whitespace before the colon
    (b"GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n", 400),  # obs-fold
    (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\n", 400),  # incomplete
    (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /" + b"a" * 70000, 414),
    (b"GET / HTTP/1.1\r\nX: " + b"b" * 65536 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nX: " + b"b" * 70000, 431),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n", 431),
    # RFC 9110 5.5: CR, LF, NUL in a value are refused (a proxy ending lines at a bare CR
    # would see a Content-Length the agent does not: desync); so are the other controls
    (b"GET / HTTP/1.1\r\nX: a\rContent-Length: 5\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: a\r\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: a\x1bb\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400),  # "²".isdigit()
    (b"GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400),
    (b"GET /\xa0HTTP/1.1\r\n\r\n", 400),  # NBSP is str.split()'s whitespace, not the RFC's
    (b"GET\x85/ HTTP/1.1\r\n\r\n", 400),
])
def test_bad_heads(head, status):
    with pytest.raises(HeadError) as caught:
        parse_head(head)
    assert caught.value.status == status


def test_the_limits_themselves_pass():
    parse_head(b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS)) + b"\r\n")
    parse_head(b"GET /" + b"a" * (65536 - 16) + b" HTTP/1.1\r\n\r\n")


def test_what_a_field_value_may_hold():
    request, _ = parse_head(b"GET / HTTP/1.1\r\nX: a\tb \xe9\xff\r\n\r\n")  # HTAB, obs-text
    assert request.headers.get("x") == "a\tb \xe9\xff"


def test_the_whitespace_rfc_9112_lets_a_request_line_use():
    for line in (b"GET  /  HTTP/1.1", b"GET\t/\x0bHTTP/1.1", b"GET\x0c/ HTTP/1.1\r"):
        request, _ = parse_head(line + b"\r\n\r\n")
        assert (request.method, request.target, request.version) == ("GET", "/", (1, 1)), line


@pytest.mark.parametrize("buf, complete", [
    (b"\r\n", False),  # a CRLF after the previous request's body, the request still to come
    (b"\r\n\n", False),
    (b"\r\nGET / HTTP/1.1\r\n", False),
    (b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", True),
    (b"\r\nGARBAGE\r\n", True),  # no version: no header block to wait for
    (b"GET / HTTP/1.1\r\n\r\n", True),
    (b"GET / HTTP/1.1\r\nHost: a\r\n", False),
])
def test_head_complete_waits_past_leading_empty_lines(buf, complete):
    assert head_complete(buf) is complete


def test_many_empty_lines_before_the_request_line():
    """Skipped at every read of the reception thread: any number, in one regex match."""
    assert not head_complete(b"\r\n\n" * 20000)
    request, used = parse_head(b"\r\n\n" * 20000 + b"GET / HTTP/1.1\r\n\r\n")
    assert request.target == "/" and used == 60000 + 18
