"""The HTTP side of ``accelnet-agent``: /metrics, a landing page, health and readiness.

Why not prometheus_client's ``start_http_server``: it spawns a thread per connection without
bound, has no TLS client-auth, basic auth or security headers from an exporter-toolkit web
config, and a collector exception there surfaces as a bare traceback. This server reads
request heads with its own strict HTTP/1.1 parser (httphead.py: the stdlib's http.server
loads http.client, email and ssl, about 7 MiB, and accepts HTTP/0.9 and folded headers), and
adds what an exporter on every VM needs:

* a connection gets a worker only once its whole request head has arrived: one reception
  thread accepts, does TLS handshakes without blocking, and buffers request heads, each
  connection with one deadline for handshake and head together (not one per line) and at
  most :data:`MAX_RECEIVING` of them at once (the oldest goes first). Slow or idle clients,
  however many, cost a socket there, never a worker: scrapes keep being answered. Every
  connection the server may hold has a file descriptor: the bounds fit RLIMIT_NOFILE (raised
  towards :data:`FD_WANTED` first), and when the table is full anyway one held connection
  is closed for the new one;
* a bounded pool: at most ``max_workers`` threads and ``max_queue`` requests waiting for
  one; beyond that a connection is answered 503 and closed, never given a new thread.
  Between keep-alive requests a connection goes back to the reception thread;
* request framing per RFC 9112: several or conflicting ``Content-Length`` headers, or one
  together with ``Transfer-Encoding``, are answered 400 (request smuggling);
* basic auth checked with bcrypt, successful checks cached so a scrape does not pay bcrypt's
  cost (exporter-toolkit does the same); failures always pay it, also for unknown users.
  bcrypt never runs on the worker pool: a password the cache does not know is checked by
  one auth thread, half of its time at most, one per client at a time, a client's failures
  delaying its next check more and more (webauth.FailureThrottle) while its request waits
  in the reception thread (:data:`MAX_PARKED` at most, the client with the most waiting
  losing its oldest): guessing costs the guesser, never a scrape with cached credentials;
* answers are written without blocking: what the client does not take waits in the
  reception thread (bounded in all), and a connection that pipelines requests gets
  :data:`MAX_PIPELINED` answers ahead, then ``Connection: close``; pipelined requests wait
  behind new ones for a worker, so a client that sends many and reads none costs a few
  scrapes and a socket;
* every answer is bounded: request head size, socket timeouts, 400/404/405/414/431/500/503.

``import accelnet.agent.web`` does not import yaml, bcrypt or cryptography: they are loaded only
when a web config asks for them.
"""

import collections
import errno
import gzip
import html
import logging
import os
import resource
import selectors
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Counter, Deque, Dict, Iterable, List, Optional, Set, Tuple, Type, Union
from urllib.parse import parse_qs, urlsplit

from accelnet import __version__
from accelnet.agent.exposition import choose_format
from accelnet.agent.httphead import Headers, HeadError, Request, framing_problem, head_complete, parse_head
from accelnet.agent.metrics import families_named
from accelnet.agent.webauth import BasicAuth, FailureThrottle, TokenBucket, client_key
from accelnet.errors import ParseError
from accelnet.agent.webconfig import (WebConfig, WebConfigError, build_ssl_context, describe, load_web_config,
                                      san_allowed, weakening)

if TYPE_CHECKING:  # pragma: no cover - typing only; ssl is imported when TLS is configured
    import ssl


__all__ = ["ListenAddressError", "ServeError", "BasicAuth", "Server", "serve",
           "parse_listen_address", "accepts_gzip"]

log = logging.getLogger("accelnet.agent.web")

#: The largest header block read before answering 431 (the request line has its own 64 KiB).
MAX_REQUEST_HEAD = 64 * 1024


#: How often a web config given as a file is checked for changes (it and its certificates).
RELOAD_CHECK_INTERVAL = 1.0

#: Connections in the reception thread (TLS handshake, request head, keep-alive idle).
MAX_RECEIVING = 512

#: Bytes of unfinished request heads the reception thread holds in all; past it the
#: connection holding the most is dropped (real heads are well under a KiB).
MAX_RECEPTION_BYTES = 16 << 20

#: What the reception thread buffers before handing over anyway: enough for the handler to
#: answer 414 (request line over 64 KiB) or 431 (head over MAX_REQUEST_HEAD).
MAX_BUFFERED_HEAD = 65537 + MAX_REQUEST_HEAD + 2

#: Answers one connection gets to requests it sent before reading the previous answer
#: (HTTP/1.1 pipelining), after the answer to its first: the last says Connection: close,
#: and what was sent after it is dropped. A client that sends 1,500 requests and reads none
#: costs 1 + MAX_PIPELINED scrapes.
MAX_PIPELINED = 8

#: Requests a worker answers from one connection's buffer before the others get a turn.
PIPELINE_TURN = 2

#: Bytes of answers written but not yet taken by their clients, all connections together;
#: past it the connection holding the most is dropped.
MAX_UNSENT_BYTES = 64 << 20

#: Requests whose password waits for bcrypt in the auth thread's queue (more wait in the
#: reception thread, each its client's turn).
MAX_AUTH_QUEUE = 32

#: Connections whose password waits in the reception thread for its client's turn at
#: bcrypt (a socket each, no worker), and the bytes of their request heads; past either the
#: client with the most waiting loses its oldest. Without these bounds a guesser holding
#: connections open took every file descriptor. Held rather than closed as long as the
#: descriptors allow: a closed one comes back at once and queues before the scrapers.
MAX_PARKED = 4096
MAX_PARKED_BYTES = 16 << 20

#: Connections the kernel may queue for accept (capped by net.core.somaxconn): when it
#: is full a scraper's SYN is dropped and retried a second later, so it is sized for a
#: flood of connections that the reception thread accepts and closes as fast as they come.
LISTEN_BACKLOG = 1024

#: File descriptors left to the rest of the process (its own files, pipes, netlink, the
#: listening socket) when the connection bounds are fitted to RLIMIT_NOFILE.
FD_RESERVE = 64

#: The soft RLIMIT_NOFILE the server raises itself to when the hard limit allows (Go, and
#: so node_exporter, raises it to the hard limit; systemd's default soft limit is 1,024).
FD_WANTED = 8192

#: One TLS record: what a non-blocking TLS write offers at a time (and again, the same, when
#: the socket was full); plain HTTP offers all it has.
_SEND_CHUNK = 16384


class ListenAddressError(ParseError):
    """A ``--web.listen-address`` that is not ``host:port``, ``[v6]:port`` or ``:port``."""


class ServeError(Exception):
    """The server cannot start: bad telemetry path, address in use, permission denied."""


# --- pure helpers ---------------------------------------------------------------------------


def parse_listen_address(text: str) -> Tuple[str, int]:
    """(host, port) from node_exporter's ``--web.listen-address`` forms; host "" means all
    addresses. IPv6 hosts need brackets, as Go's net.SplitHostPort requires."""
    s = text.strip()
    if s.startswith("["):
        end = s.find("]")
        if end < 0 or not s[end + 1:].startswith(":"):
            raise ListenAddressError(f"listen address {text!r}: expected [ipv6]:port")
        host, port = s[1:end], s[end + 2:]
    else:
        host, sep, port = s.rpartition(":")
        if not sep:
            raise ListenAddressError(f"listen address {text!r}: missing port (like :9100 or 127.0.0.1:9100)")
        if ":" in host:
            raise ListenAddressError(f"listen address {text!r}: an IPv6 address needs brackets, like [::1]:9100")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ListenAddressError(f"listen address {text!r}: port must be a number 0-65535")
    return host, int(port)


def accepts_gzip(accept_encoding: Optional[str]) -> bool:
    """Whether an Accept-Encoding header admits gzip (``gzip;q=0`` refuses it)."""
    for item in (accept_encoding or "").split(","):
        name, _, params = item.partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def head_authorization(buf: bytes) -> Optional[str]:
    """The Authorization header of the first request head in ``buf``, read by the parser the
    handler uses; None without one, or when the head does not parse."""
    try:
        request, _ = parse_head(buf)
    except HeadError:
        return None
    return request.headers.get("Authorization")


class _NeverRaised(OSError):
    """Stands for ssl's exceptions while ssl is not loaded: a plain socket raises none."""


class _TlsErrors:
    """ssl's exception classes where ssl is loaded (a web config with TLS: webconfig's
    build_ssl_context imports it), else one nothing raises. ``import ssl`` costs an agent
    that serves plain HTTP about 4 MiB, so this module does not import it."""

    def __getattr__(self, name: str) -> Type[OSError]:
        ssl = sys.modules.get("ssl")
        return getattr(ssl, name) if ssl is not None else _NeverRaised


_tls = _TlsErrors()


class _Settings:
    """What a web config changes, built completely before it replaces the old one, so a
    reload either takes effect whole or not at all."""

    def __init__(self, config: "Optional[WebConfig]", source: Optional[str] = None) -> None:
        self.config = config
        #: the file this came from, and the state of it and its certificate files then
        self.source = source
        self.files: Tuple[str, ...] = ()
        if source is not None and config is not None:
            t = config.tls
            self.files = tuple(p for p in (source, t.cert_file, t.key_file, t.client_ca_file) if p)
        self.stamp = _stamp(self.files)
        self.headers: Tuple[Tuple[str, str], ...] = ()
        self.auth: Optional[BasicAuth] = None
        self.ssl_context: "Optional[ssl.SSLContext]" = None
        self.allowed_sans: Optional[Tuple[str, ...]] = None
        self.limiter: Optional[TokenBucket] = None
        if config is None:
            return
        self.headers = config.http.headers
        self.ssl_context = build_ssl_context(config)
        self.allowed_sans = config.tls.client_allowed_sans if self.ssl_context else None
        if config.basic_auth_users:
            self.auth = BasicAuth(config.basic_auth_users)
        if config.rate_limit.enabled:
            self.limiter = TokenBucket(config.rate_limit.interval, config.rate_limit.burst)


def _stamp(paths: Iterable[str]) -> Tuple[Optional[Tuple[int, int, int]], ...]:
    """What changes when a file is rewritten or replaced (certificate renewal)."""
    out: List[Optional[Tuple[int, int, int]]] = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def _settings_for(web_config: "Union[WebConfig, str, None]") -> _Settings:
    if isinstance(web_config, str):
        if not web_config:
            return _Settings(None)
        return _Settings(load_web_config(web_config), source=web_config)
    return _Settings(web_config)


# --- the request handler --------------------------------------------------------------------

_LANDING = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>accelnet-agent</title></head>
<body>
<h1>accelnet-agent</h1>
<p>Azure Accelerated Networking exporter{version}.</p>
<ul>
<li><a href="{metrics}">Metrics</a></li>
<li><a href="/-/healthy">Health</a></li>
<li><a href="/-/ready">Readiness</a></li>
</ul>
</body>
</html>
"""


#: Reason phrases of the statuses the server answers with.
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            414: "URI Too Long", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
            505: "HTTP Version Not Supported"}
#: Methods answered 405 (the others 501): those RFC 9110 defines.
_KNOWN_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(now: float) -> str:
    """An IMF-fixdate (RFC 9110 5.6.7), whatever the locale."""
    t = time.gmtime(now)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


class _Handler:
    """One connection's requests whose heads are buffered, a turn of them; then the
    connection waits in the reception thread (its answers taken, its next head, its next
    password). Answers go to the connection's outbox, written without blocking: headers
    and body in one segment (Nagle and delayed ACK never add 40 ms to a scrape)."""

    def __init__(self, conn: "_Conn", server: "Server") -> None:
        self._conn = conn
        self.server = server
        self.buf = bytes(conn.buf)
        self.request: Optional[Request] = None
        #: end the connection after this answer (and say so in a Connection header)
        self.close_after = False
        #: set when the connection stays open for another request: it goes back to the
        #: reception thread with what is left in the buffer (and in its outbox)
        self.keep_alive = False
        self.handle()

    @property
    def headers(self) -> Headers:
        """The current request's."""
        assert self.request is not None
        return self.request.headers

    def handle(self) -> None:
        conn = self._conn
        for _ in range(PIPELINE_TURN):
            self.handle_one_request()
            conn.send_some()
            if self.close_after or self.server.stopping:
                self.keep_alive = False
                return
            self.keep_alive = True
            if not head_complete(self.buf):
                conn.pipelined = 0
                return
            conn.pipelined += 1  # sent before it read this answer
            conn.bulk = True
            if conn.out or self.server.needs_bcrypt(self.buf):
                return

    def handle_one_request(self) -> None:
        self.close_after = False
        try:
            request, used = parse_head(self.buf)
        except HeadError as e:
            self.buf = b""
            self.request = None
            log.debug("%s: %d %s", self._conn.host, e.status, e.message)
            self.close_after = True
            self._reply(e.status, f"{_REASONS[e.status]}: {e.message}\n".encode("utf-8"))
            return
        self.buf = self.buf[used:]
        self.request = request
        self.close_after = not request.keep_alive
        if request.method in ("GET", "HEAD"):
            self._dispatch(head=request.method == "HEAD")
        elif request.method in _KNOWN_METHODS:
            self.close_after = True  # the body, if any, is not read
            self._reply(405, b"Method Not Allowed\n", extra=(("Allow", "GET, HEAD"),))
        else:
            self.close_after = True
            self._reply(501, b"Not Implemented\n")

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
               extra: Iterable[Tuple[str, str]] = (), head: bool = False) -> None:
        lines = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Server: accelnet-agent/{__version__}",
                 f"Date: {http_date(time.time())}", f"Content-Type: {content_type}",
                 f"Content-Length: {len(body)}"]
        lines.extend(f"{name}: {value}" for name, value in extra)
        lines.extend(f"{name}: {value}" for name, value in self.server.settings.headers)
        if self.close_after:
            lines.append("Connection: close")
        elif self.request is not None and self.request.version < (1, 1):
            lines.append("Connection: keep-alive")  # an HTTP/1.0 client assumes close without it (Go says it too)
        lines.append("\r\n")
        self._conn.out += "\r\n".join(lines).encode("latin-1", "replace")
        if not head:
            self._conn.out += body
        if log.isEnabledFor(logging.DEBUG):
            log.debug('%s "%s" %d %d', self._conn.host, self.request.line if self.request else "-",
                      status, len(body))

    def _dispatch(self, head: bool) -> None:
        srv = self.server
        srv.check_reload()
        if (self.headers.get("Content-Length") or "0").strip() not in ("", "0") or \
                "Transfer-Encoding" in self.headers:
            self.close_after = True  # a body is never read: it must not pass for a request
        if self._conn.pipelined >= MAX_PIPELINED:
            self.close_after = True  # enough answers ahead of the client: the rest is dropped
        settings = srv.settings
        if settings.limiter is not None and not settings.limiter.allow():
            self._reply(429, b"Too Many Requests\n", head=head)
            return
        if settings.auth is not None and not self._authorized(settings.auth):
            self._reply(401, b"Unauthorized\n", extra=(("WWW-Authenticate", "Basic"),), head=head)
            return
        assert self.request is not None
        try:
            url = urlsplit(self.request.target)
        except ValueError as e:  # an absolute-form target with a bad [host]: the request's fault
            self.close_after = True
            log.debug("%s: 400 bad request target: %s", self._conn.host, e)
            self._reply(400, b"Bad Request: bad request target\n", head=head)
            return
        path = url.path
        if path == srv.telemetry_path:
            self._metrics(url.query, head)
        elif path == "/":
            page = _LANDING.format(metrics=html.escape(srv.telemetry_path, quote=True),
                                   version=html.escape(srv.version_suffix))
            self._reply(200, page.encode("utf-8"), "text/html; charset=utf-8", head=head)
        elif path == "/-/healthy":
            self._reply(200, b"OK\n", head=head)
        elif path == "/-/ready":
            if srv.is_ready():
                self._reply(200, b"OK\n", head=head)
            else:
                self._reply(503, b"Not ready\n", extra=(("Retry-After", "1"),), head=head)
        else:
            self._reply(404, b"Not Found\n", head=head)

    def _authorized(self, auth: BasicAuth) -> bool:
        """Cached credentials pass, none or malformed ones fail, and the others were checked
        by the auth thread before this request reached a worker (the verdict it left)."""
        header = self.headers.get("Authorization")
        known = auth.screen(header)
        verdict, self._conn.verdict = self._conn.verdict, None
        if known is not None:
            return known
        return verdict is not None and verdict[0] == header and verdict[1]

    def _metrics(self, query: str, head: bool) -> None:
        encoder, content_type = choose_format(self.headers.get("Accept") or "")
        registry = self.server.registry
        names = parse_qs(query).get("name[]")
        if names:
            registry = _NameFilter(registry, names)
        try:
            body = encoder(registry)
        except Exception as e:  # any collector bug: answer 500, keep serving
            log.error("scrape of %s failed: %s: %s", self.server.telemetry_path,
                      type(e).__name__, " ".join(str(e).split()))
            log.debug("scrape failure detail", exc_info=True)
            self._reply(500, f"An error has occurred while serving metrics:\n\n{type(e).__name__}: {e}\n"
                        .encode("utf-8", "replace"), head=head)
            return
        extra: List[Tuple[str, str]] = [("Vary", "Accept-Encoding")]
        if accepts_gzip(self.headers.get("Accept-Encoding")):
            body = gzip.compress(body, compresslevel=6)
            extra.append(("Content-Encoding", "gzip"))
        self._reply(200, body, content_type, extra=extra, head=head)


class _NameFilter:
    """``?name[]=a&name[]=b``: only the samples so named, as prometheus_client's handler
    means it. Its own ``restricted_registry`` finds collectors by the names they describe,
    and collectors that describe nothing (ours: the metric set depends on the host) were
    never found, so the answer was empty; this filters what collect() yields instead."""

    def __init__(self, registry: Any, names: List[str]) -> None:
        self._registry = registry
        self._names = names

    def collect(self) -> Iterable[Any]:
        return families_named(self._registry.collect(), self._names)


# --- the server -----------------------------------------------------------------------------


def _bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket like Go's net.Listen("tcp", addr): "" is every IPv4 and IPv6
    address (dual-stack), a name resolves to its first IPv4 address if it has one."""
    if host == "":
        candidates: List[Tuple[int, Tuple[Any, ...]]] = [(socket.AF_INET6, ("::", port)), (socket.AF_INET, ("0.0.0.0", port))]
        if not socket.has_ipv6:
            candidates = candidates[1:]
    else:
        try:
            infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                       socket.AI_PASSIVE)
        except socket.gaierror as e:
            raise ServeError(f"cannot listen on {host}:{port}: {e.strerror}") from None
        infos.sort(key=lambda i: i[0] != socket.AF_INET)
        candidates = [(i[0], i[4]) for i in infos]
    last: Optional[OSError] = None
    for family, addr in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and host == "":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(addr)
            sock.listen(backlog)
            return sock
        except OSError as e:
            sock.close()
            last = e
            if host == "" and family == socket.AF_INET6 and e.errno in (97, 99):  # no IPv6 here
                continue
            break
    shown = f"[{host}]" if ":" in host else host
    reason = last.strerror if last is not None and last.strerror else last
    raise ServeError(f"cannot listen on {shown}:{port}: {reason}")


class _Conn:
    """A connection: its bytes in and out so far, and its one deadline while it is in the
    reception thread (for its head, its answer to be taken, or its next request)."""

    __slots__ = ("sock", "addr", "buf", "deadline", "handshaking", "allowed_sans", "idle",
                 "since", "fd", "host", "out", "close_when_sent", "pipelined", "bulk", "verdict",
                 "client", "write_waits_read", "chunk")

    def __init__(self, sock: socket.socket, addr: Any, deadline: float, handshaking: bool,
                 allowed_sans: Optional[Tuple[str, ...]]) -> None:
        self.sock = sock
        self.addr = addr
        self.buf = bytearray()
        self.deadline = deadline
        self.handshaking = handshaking
        #: what one write offers: a TLS record (a TLS write the socket could not take must be
        #: offered again with the same bytes), or everything at once in one system call
        self.chunk = _SEND_CHUNK if handshaking else None
        self.allowed_sans = allowed_sans
        self.idle = False
        self.since = time.monotonic()
        self.fd = sock.fileno()
        self.host = str(addr[0]) if addr else "-"
        #: answers written but not taken by the client yet
        self.out = bytearray()
        self.close_when_sent = False
        #: answers in a row to requests sent before the previous answer was read
        self.pipelined = 0
        #: its next request was pipelined: it waits behind new ones for a worker
        self.bulk = False
        #: (Authorization header, bcrypt's answer) for the head the auth thread checked
        self.verdict: Optional[Tuple[Optional[str], bool]] = None
        self.client = client_key(self.host)
        #: the last write could not go on before TLS reads (a key update): wait to read
        self.write_waits_read = False

    def send_some(self) -> int:
        """Write what the socket takes now (never blocks); the bytes sent. A TLS write the
        socket could not take is offered again later with the same bytes."""
        sent = 0
        self.write_waits_read = False
        while self.out:
            try:
                n = self.sock.send(self.out[:self.chunk] if self.chunk else self.out)
            except _tls.SSLWantReadError:
                self.write_waits_read = True
                break
            except (BlockingIOError, InterruptedError, _tls.SSLWantWriteError):
                break
            if not n:
                break
            del self.out[:n]
            sent += n
        return sent


class Server:
    """A running server: reception (accept, handshakes, heads) in one thread, requests in a
    bounded worker pool.

    ``port`` is the bound port (useful with port 0); ``reload()`` swaps the web config;
    ``shutdown()`` returns within its timeout (default 1 s).
    """

    def __init__(self, sock: socket.socket, registry: Any, telemetry_path: str,
                 settings: _Settings, ready: Callable[[], bool], *, max_workers: int,
                 max_queue: int, keepalive_timeout: float, io_timeout: float,
                 version: str = "") -> None:
        self._sock = sock
        self._sock.setblocking(False)  # the reception thread accepts until EAGAIN
        self.registry = registry
        self.telemetry_path = telemetry_path
        self.settings = settings
        self._ready = ready
        self.max_workers = max_workers
        self.keepalive_timeout = keepalive_timeout
        self.io_timeout = io_timeout
        self.version_suffix = f" {version}" if version else ""
        self.stopping = False
        self._reload_lock = threading.Lock()
        self._next_check = time.monotonic() + RELOAD_CHECK_INTERVAL
        self._failed_stamp: Optional[Tuple[Any, ...]] = None
        self.max_receiving, self.max_parked = connection_bounds(max_workers, max_queue)
        self._last_accept_log = 0.0
        # Connections waiting for a worker, and workers waiting for a connection. Both are
        # counted under one lock so that "is a worker free for this one?" is never stale.
        self.max_queue = max_queue
        self._pending: Deque[_Conn] = collections.deque()
        #: connections whose next request was pipelined: served when no new one waits
        self._bulk: Deque[_Conn] = collections.deque()
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._workers: List[threading.Thread] = []
        self._idle = 0
        self._active: Dict[int, socket.socket] = {}
        self._rejected = 0
        self._last_reject_log = 0.0
        # Connections handed back by workers for their next keep-alive request.
        self._returned: Deque[_Conn] = collections.deque()
        # Passwords bcrypt must check: per client, the requests waiting for their turn
        # (reception thread only), and the auth thread's bounded queue; a client has one
        # password in the queue or being checked at a time (``_auth_busy``).
        self._throttle = FailureThrottle()
        self._waiting: Dict[str, Deque[Tuple[_Conn, Optional[str]]]] = {}
        self._parked: Dict[int, _Conn] = {}
        self._parked_by: "Counter[str]" = collections.Counter()
        self._parked_bytes = 0
        self._parked_sweep = 0.0
        self._auth_lock = threading.Lock()
        self._auth_ready = threading.Condition(self._auth_lock)
        self._auth_queue: Deque[Tuple[_Conn, Optional[str]]] = collections.deque()
        self._auth_busy: Set[str] = set()
        self._auth_thread: Optional[threading.Thread] = None
        self._stopped = threading.Event()
        #: bcrypt runs started (one per password the cache did not know)
        self.bcrypt_runs = 0
        #: bytes of answers not taken by their clients, at the last count (MAX_UNSENT_BYTES)
        self.unsent = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._acceptor = threading.Thread(target=self._receive_loop, name="accelnet-web-accept",
                                          daemon=True)
        self._acceptor.start()

    # -- facts --
    @property
    def address(self) -> Tuple[str, int]:
        host, port = self._sock.getsockname()[:2]
        return host, port

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def url(self) -> str:
        """A URL a local client can use (the all-addresses bind maps to loopback)."""
        host, port = self.address
        host = {"::": "::1", "0.0.0.0": "127.0.0.1"}.get(host, host)
        scheme = "https" if self.settings.ssl_context is not None else "http"
        return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"

    @property
    def rejected(self) -> int:
        """Connections answered 503 because the pool and its queue were full."""
        return self._rejected

    def backlogged(self) -> bool:
        return bool(self._pending or self._bulk)

    def needs_bcrypt(self, buffered: bytes) -> bool:
        """Whether the first head in ``buffered`` carries credentials only bcrypt can judge."""
        auth = self.settings.auth
        return auth is not None and auth.screen(head_authorization(buffered)) is None

    def is_ready(self) -> bool:
        try:
            return bool(self._ready())
        except Exception as e:  # a broken readiness probe means "not ready", not a crash
            log.warning("readiness check failed: %s: %s", type(e).__name__, e)
            return False

    def reload(self, web_config: "Union[WebConfig, str, None]") -> None:
        """Apply a new web config to new requests and connections. Raises WebConfigError
        (and keeps the old settings) when the new one is unusable, empty, or would turn
        TLS, client certificates or basic auth off: a reload never fails open."""
        self.settings = self._reloaded(web_config)

    def _reloaded(self, web_config: "Union[WebConfig, str, None]") -> _Settings:
        new = _settings_for(web_config)
        problem = weakening(self.settings.config, new.config)
        if problem:
            where = web_config if isinstance(web_config, str) and web_config else \
                getattr(new.config, "path", "") or "<web config>"
            raise WebConfigError(f"web config {where}: {problem}")
        return new

    def check_reload(self) -> None:
        """Pick up a changed web-config file or certificate, at most once a second.

        exporter-toolkit re-reads its file on every request so that renewed certificates
        are used at once; a stat of a few files per second gives the same without parsing
        YAML per scrape. A broken new file is logged once and the old settings stay.
        """
        current = self.settings
        if current.source is None or time.monotonic() < self._next_check:
            return
        with self._reload_lock:
            if time.monotonic() < self._next_check:
                return
            self._next_check = time.monotonic() + RELOAD_CHECK_INTERVAL
            stamp = _stamp(current.files)
            if stamp == current.stamp or stamp == self._failed_stamp:
                return
            try:
                self.settings = self._reloaded(current.source)
            except ParseError as e:
                self._failed_stamp = stamp
                log.error("keeping the previous web config: %s", e)
            else:
                self._failed_stamp = None
                log.info("web config %s reloaded (%s)", current.source,
                         ", ".join(describe(self.settings.config)))

    # -- receiving: accept, TLS handshakes, request heads; never blocks ---------------------
    def _receive_loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._sock, selectors.EVENT_READ, None)
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        conns: Dict[int, _Conn] = {}
        try:
            while not self.stopping:
                self._pump_auth()
                now = time.monotonic()
                wakes = [c.deadline for c in conns.values()] + [self._parked_sweep]
                timeout = min(wakes + [now + 1.0, now + self._next_turn()]) - now
                try:
                    events = sel.select(max(0.0, min(timeout, 1.0)))
                except InterruptedError:  # pragma: no cover - PEP 475 retries
                    continue
                if self.stopping:
                    break
                for key, _mask in events:
                    if key.data is None:
                        self._accept_some(sel, conns)
                    elif key.data == "wake":
                        self._take_returned(sel, conns)
                    else:
                        self._progress(sel, conns, key.data)
                now = time.monotonic()
                for c in [c for c in conns.values() if c.deadline <= now]:
                    log.debug("%s: %s", c.host, "idle keep-alive connection closed" if c.idle
                              else "answer not taken in time: closed" if c.out
                              else "request head not received in time: closed")
                    self._drop(sel, conns, c)
                if now >= self._parked_sweep:  # thousands may wait: looked at 4 times a second
                    self._parked_sweep = now + 0.25
                    for c in [c for c in self._parked.values() if c.deadline <= now]:
                        log.debug("%s: its password's turn did not come in time: closed", c.host)
                        self._give_up(c)
        finally:
            for c in list(conns.values()):
                self._drop(sel, conns, c)
            for c in list(self._parked.values()):
                self._give_up(c)
            sel.close()

    def _accept_some(self, sel: "selectors.BaseSelector", conns: Dict[int, "_Conn"]) -> None:
        self.check_reload()
        settings = self.settings
        for _ in range(64):  # then let the others have a turn
            try:
                sock, addr = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE, ECONNABORTED...: keep accepting
                now = time.monotonic()
                if now - self._last_accept_log > 10:
                    self._last_accept_log = now
                    log.warning("accept failed: %s", e)
                # out of descriptors: one held connection makes room for the new one (else
                # the listening socket stays readable and this thread would spin)
                if e.errno in (errno.EMFILE, errno.ENFILE) and self._shed(sel, conns):
                    continue
                time.sleep(0.05)
                return
            try:
                sock.setblocking(False)
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                context = settings.ssl_context
                handshaking = context is not None
                if context is not None:
                    sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            except OSError as e:
                log.debug("%s: connection ended: %s", addr[0] if addr else "-", e)
                sock.close()
                continue
            if len(conns) >= self.max_receiving:
                oldest = min(conns.values(), key=lambda c: c.since)
                log.debug("%s: dropped for a new connection (%d in reception)", oldest.host,
                          self.max_receiving)
                self._drop(sel, conns, oldest)
            c = _Conn(sock, addr, time.monotonic() + self.io_timeout, handshaking,
                      settings.allowed_sans)
            conns[sock.fileno()] = c
            sel.register(sock, selectors.EVENT_READ, c)

    def _shed(self, sel: "selectors.BaseSelector", conns: Dict[int, "_Conn"]) -> bool:
        """Close one connection the reception thread holds (a waiting password's first,
        then the oldest head); whether there was one."""
        if self._parked:
            self._unpark_one()
            return True
        if conns:
            self._drop(sel, conns, min(conns.values(), key=lambda c: c.since))
            return True
        return False

    def _park(self, c: "_Conn", header: Optional[str]) -> None:
        """``c`` waits for its client's turn at bcrypt; over the bounds, the client with the
        most waiting loses its oldest (``c`` itself perhaps)."""
        self._waiting.setdefault(c.client, collections.deque()).append((c, header))
        self._parked[c.fd] = c
        self._parked_by[c.client] += 1
        self._parked_bytes += len(c.buf)
        while len(self._parked) > self.max_parked or self._parked_bytes > MAX_PARKED_BYTES:
            self._unpark_one()

    def _unpark(self, c: "_Conn") -> None:
        """``c`` no longer waits (closed, or its turn came)."""
        del self._parked[c.fd]
        self._parked_by[c.client] -= 1
        if not self._parked_by[c.client]:
            del self._parked_by[c.client]
        self._parked_bytes -= len(c.buf)

    def _unpark_one(self) -> None:
        """Close the oldest waiting connection of the client that has the most waiting (its
        queue in ``_waiting`` holds them in arrival order, and some already closed)."""
        client = max(self._parked_by, key=lambda k: self._parked_by[k])
        queue = self._waiting[client]
        while True:
            c, _ = queue.popleft()
            if self._parked.get(c.fd) is c:
                break
        if not queue:
            del self._waiting[client]
        log.debug("%s: dropped, the client with the most of %d connections waiting for bcrypt",
                  c.host, len(self._parked))
        self._give_up(c)

    def _give_up(self, c: "_Conn") -> None:
        """Close a waiting connection, and forget the closed ones at the head of its client's
        queue (they expire in about the order they came): a throttled client's queue would
        otherwise keep every closed connection and its head until the client's turn."""
        self._unpark(c)
        self._close(c.sock)
        queue = self._waiting.get(c.client)
        while queue and self._parked.get(queue[0][0].fd) is not queue[0][0]:
            queue.popleft()
        if queue is not None and not queue:
            del self._waiting[c.client]

    def _take_returned(self, sel: "selectors.BaseSelector", conns: Dict[int, "_Conn"]) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass
        while True:
            with self._lock:
                if not self._returned:
                    return
                c = self._returned.popleft()
            conns[c.fd] = c
            sel.register(c.sock, selectors.EVENT_READ, c)
            self._progress(sel, conns, c)  # TLS may hold decrypted bytes select cannot see

    def _drop(self, sel: "selectors.BaseSelector", conns: Dict[int, "_Conn"], c: "_Conn") -> None:
        conns.pop(c.fd, None)
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError, OSError):
            pass
        self._close(c.sock)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        try:
            sock.close()
        except OSError:
            pass

    def _progress(self, sel: "selectors.BaseSelector", conns: Dict[int, "_Conn"], c: "_Conn") -> None:
        """Move a connection on as far as its bytes allow: handshake, then head."""
        try:
            if c.handshaking:
                try:
                    c.sock.do_handshake()  # type: ignore[attr-defined]  # handshaking: an SSLSocket
                except _tls.SSLWantReadError:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                    return
                except _tls.SSLWantWriteError:
                    sel.modify(c.sock, selectors.EVENT_WRITE, c)
                    return
                c.handshaking = False
                sel.modify(c.sock, selectors.EVENT_READ, c)
                if c.allowed_sans is not None and not san_allowed(
                        c.sock.getpeercert(), c.allowed_sans):  # type: ignore[attr-defined]  # an SSLSocket
                    log.info("%s: client certificate has none of the allowed SANs", c.host)
                    self._drop(sel, conns, c)
                    return
            if c.out or c.close_when_sent:
                self._flush(sel, conns, c)
                return
            while len(c.buf) <= MAX_BUFFERED_HEAD:
                try:
                    chunk = c.sock.recv(16384)
                except (BlockingIOError, InterruptedError, _tls.SSLWantReadError):
                    break
                except _tls.SSLWantWriteError:
                    sel.modify(c.sock, selectors.EVENT_WRITE, c)
                    return
                if not chunk:
                    self._drop(sel, conns, c)
                    return
                if c.idle:  # a keep-alive request starts: the head deadline starts too
                    c.idle = False
                    c.bulk = False
                    c.deadline = time.monotonic() + self.io_timeout
                c.buf += chunk
            if sum(len(x.buf) for x in conns.values()) > MAX_RECEPTION_BYTES:
                biggest = max(conns.values(), key=lambda x: len(x.buf))
                log.debug("%s: dropped, holding the most of %d MiB of unfinished heads",
                          biggest.host, MAX_RECEPTION_BYTES >> 20)
                self._drop(sel, conns, biggest)
                if biggest is c:
                    return
            if head_complete(bytes(c.buf)) or len(c.buf) > MAX_BUFFERED_HEAD:
                conns.pop(c.fd, None)
                sel.unregister(c.sock)
                self._route(c)
            else:
                sel.modify(c.sock, selectors.EVENT_READ, c)
        except (_tls.SSLEOFError, _tls.SSLZeroReturnError) as e:  # port probes, early closes
            log.debug("%s: TLS connection ended: %s", c.host, e)
            self._drop(sel, conns, c)
        except _tls.SSLError as e:  # a client that cannot or may not talk to us: worth a line
            log.info("%s: TLS handshake failed: %s", c.host, getattr(e, "reason", None) or e)
            self._drop(sel, conns, c)
        except OSError as e:  # resets
            log.debug("%s: connection ended: %s", c.host, e)
            self._drop(sel, conns, c)

    def _flush(self, sel: "selectors.BaseSelector", conns: Dict[int, "_Conn"], c: "_Conn") -> None:
        """Give the client what it has not taken of its answers; then its next request."""
        if c.send_some():
            c.deadline = time.monotonic() + self.io_timeout
        if c.out:
            sel.modify(c.sock, selectors.EVENT_READ if c.write_waits_read else selectors.EVENT_WRITE, c)
            unsent = sum(len(x.out) for x in conns.values())
            while unsent > MAX_UNSENT_BYTES:
                biggest = max(conns.values(), key=lambda x: len(x.out))
                log.debug("%s: dropped, holding the most of %d MiB of answers not taken",
                          biggest.host, MAX_UNSENT_BYTES >> 20)
                unsent -= len(biggest.out)
                self._drop(sel, conns, biggest)
            self.unsent = unsent
            return
        if c.close_when_sent:
            self._drop(sel, conns, c)
            return
        sel.modify(c.sock, selectors.EVENT_READ, c)
        self._progress(sel, conns, c)  # its next head may be buffered already

    def _route(self, c: "_Conn") -> None:
        """A whole head: to a worker, or first to the auth thread when its password needs
        bcrypt (waiting here, a socket and no worker, until its client's turn comes)."""
        auth = self.settings.auth
        if auth is not None:
            header = head_authorization(bytes(c.buf))
            if auth.screen(header) is None:
                self._park(c, header)
                self._pump_auth()
                return
        self._submit(c)

    def _next_turn(self) -> float:
        """Seconds until a waiting client's next password may go to the auth queue (a full
        queue: the auth thread wakes this thread when it has room)."""
        if len(self._auth_queue) >= MAX_AUTH_QUEUE:
            return 1.0
        waits = [self._throttle.wait(k) for k in self._waiting if k not in self._auth_busy]
        return min(waits) if waits else 1.0

    def _pump_auth(self) -> None:
        """Move waiting passwords whose client's turn has come into the auth queue."""
        if not self._waiting:
            return
        with self._auth_lock:
            for client in list(self._waiting):
                if len(self._auth_queue) >= MAX_AUTH_QUEUE:
                    break
                if client in self._auth_busy or self._throttle.wait(client) > 0:
                    continue
                queue = self._waiting[client]
                while queue:
                    c, header = queue.popleft()
                    if self._parked.get(c.fd) is c:  # not closed at its deadline meanwhile
                        self._unpark(c)
                        self._auth_busy.add(client)
                        self._auth_queue.append((c, header))
                        self._auth_ready.notify()
                        break
                if not queue:
                    del self._waiting[client]
            if self._auth_queue and self._auth_thread is None:
                self._auth_thread = threading.Thread(target=self._auth_loop, name="accelnet-web-auth",
                                                     daemon=True)
                self._auth_thread.start()

    def _auth_loop(self) -> None:
        """bcrypt for one password at a time, and then as long again idle: guessing gets at
        most half of one CPU, whatever the number of guessers."""
        while True:
            with self._auth_lock:
                while not self._auth_queue and not self.stopping:
                    self._auth_ready.wait()
                if self.stopping:
                    return
                c, header = self._auth_queue.popleft()
            auth = self.settings.auth
            started = time.monotonic()
            self.bcrypt_runs += 1
            ok = auth.verify(header) if auth is not None else True
            spent = time.monotonic() - started
            if ok:
                self._throttle.succeeded(c.client)
            else:
                self._throttle.failed(c.client)
            c.verdict = (header, ok)
            with self._auth_lock:
                self._auth_busy.discard(c.client)
            self._submit(c)
            self._wake()  # the client's next password may go now, or after its delay
            if self._stopped.wait(spent):
                return

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _submit(self, c: "_Conn") -> None:
        with self._wakeup:
            queue = self._bulk if c.bulk else self._pending
            full = len(queue) >= self.max_queue
            if not full:
                queue.append(c)
                # each idle worker takes one waiting connection; start a worker for the rest
                if len(self._pending) + len(self._bulk) > self._idle and len(self._workers) < self.max_workers:
                    t = threading.Thread(target=self._work, daemon=True,
                                         name=f"accelnet-web-{len(self._workers)}")
                    self._workers.append(t)
                    t.start()
                self._wakeup.notify()
        if full:
            self._reject(c.sock)

    def _reject(self, conn: socket.socket) -> None:
        """Over capacity: say so (the request head is in; the socket does not block)."""
        self._rejected += 1
        try:
            conn.send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: 12\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                      b"Overloaded.\n")
        except (OSError, ValueError):
            pass
        finally:
            conn.close()
        now = time.monotonic()
        if now - self._last_reject_log > 10:
            self._last_reject_log = now
            log.warning("server busy (%d workers, queue full): refused connections so far: %d",
                        self.max_workers, self._rejected)

    # -- working --
    def _work(self) -> None:
        while True:
            with self._wakeup:
                self._idle += 1
                while not self._pending and not self._bulk and not self.stopping:
                    self._wakeup.wait()
                self._idle -= 1
                if self.stopping:
                    return
                c = self._pending.popleft() if self._pending else self._bulk.popleft()
            self._serve_connection(c)

    def _serve_connection(self, c: "_Conn") -> None:
        conn = c.sock
        key = id(conn)
        with self._lock:
            self._active[key] = conn
        handler = None
        try:
            if self.stopping:
                return
            conn.setblocking(False)  # a worker never waits on a client: unsent answers wait
            handler = _Handler(c, self)
        except OSError as e:  # resets
            log.debug("%s: connection ended: %s", c.host, e)
        except Exception:  # a bug here must not take a worker away
            log.exception("unexpected error serving %s", c.host)
        finally:
            with self._lock:
                self._active.pop(key, None)
                back = handler is not None and not self.stopping and (handler.keep_alive or bool(c.out))
                if back:
                    c.close_when_sent = not handler.keep_alive  # type: ignore[union-attr]  # back is True only with a handler
                    c.buf = bytearray(handler.buf)  # type: ignore[union-attr]  # back is True only with a handler
                    c.since = time.monotonic()
                    c.idle = not c.out
                    c.deadline = c.since + (self.io_timeout if c.out else self.keepalive_timeout)
                    self._returned.append(c)
            if back:
                self._wake()
            else:
                self._close(conn)

    # -- stopping --
    def shutdown(self, timeout: float = 1.0) -> None:
        """Stop accepting, let requests in flight finish for half the timeout, then cut
        the rest; returns within ``timeout``."""
        deadline = time.monotonic() + timeout
        if self.stopping:
            return
        self.stopping = True
        self._stopped.set()
        self._wake()
        with self._auth_lock:
            self._auth_ready.notify_all()
            checking = [c for c, _ in self._auth_queue]
            self._auth_queue.clear()
        self._acceptor.join(max(0.0, deadline - time.monotonic()))
        self._sock.close()
        with self._wakeup:
            pending = list(self._pending) + list(self._bulk)  # connections waiting are never served
            self._pending.clear()
            self._bulk.clear()
            workers = list(self._workers)
            self._wakeup.notify_all()
        for c in pending + checking:
            self._close(c.sock)
        grace = time.monotonic() + max(0.0, (deadline - time.monotonic()) / 2)
        for t in workers:
            t.join(max(0.0, grace - time.monotonic()))
        with self._lock:
            active = list(self._active.values())
        for conn in active:  # unblock recv/send of slow clients
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in workers:
            t.join(max(0.0, deadline - time.monotonic() - 0.01))
        with self._lock:
            returned = list(self._returned)
            self._returned.clear()
        for c in returned:
            c.sock.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def connection_bounds(max_workers: int, max_queue: int) -> Tuple[int, int]:
    """(connections in reception, connections waiting for bcrypt) at most: MAX_RECEIVING
    and MAX_PARKED, or less so that every connection the server may hold (those two, both
    queues, the workers, the auth queue) has a descriptor under RLIMIT_NOFILE."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_RECEIVING, MAX_PARKED
    room = soft - FD_RESERVE - 2 * max_queue - max_workers - MAX_AUTH_QUEUE
    parked = max(4, min(MAX_PARKED, room // 3))
    return max(8, min(MAX_RECEIVING, room - parked)), parked


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE towards FD_WANTED as far as the hard limit allows
    (never lower it); the soft limit then."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FD_WANTED if hard == resource.RLIM_INFINITY else min(FD_WANTED, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as e:
            log.debug("could not raise the open files limit to %d: %s", wanted, e)
    return soft


def serve(listen: str, registry: Any, telemetry_path: str = "/metrics",
          web_config: "Union[WebConfig, str, None]" = None,
          ready: Callable[[], bool] = lambda: True, *, max_workers: int = 16,
          max_queue: int = 128, keepalive_timeout: float = 30.0, io_timeout: float = 10.0,
          version: str = __version__) -> Server:
    """Start serving ``registry`` (anything whose ``collect()`` yields metric families:
    metrics.Registry, or prometheus_client's) on ``listen`` and return the running
    :class:`Server`.

    ``web_config`` is a parsed WebConfig or the path of a web-config file. Raises
    ListenAddressError, WebConfigError or ServeError, each with a one-line message.
    """
    if not telemetry_path.startswith("/") or telemetry_path in ("/", "/-/healthy", "/-/ready"):
        raise ServeError(f"telemetry path {telemetry_path!r}: must start with / and not be "
                         "/, /-/healthy or /-/ready")
    if max_workers < 1 or max_queue < 1:
        raise ServeError("max_workers and max_queue must be at least 1")
    host, port = parse_listen_address(listen)
    settings = _settings_for(web_config)
    raise_fd_limit()
    sock = _bind(host, port, backlog=max(LISTEN_BACKLOG, max_queue))
    server = Server(sock, registry, telemetry_path, settings, ready, max_workers=max_workers,
                    max_queue=max_queue, keepalive_timeout=keepalive_timeout,
                    io_timeout=io_timeout, version=version)
    log.info("listening on %s (%s)", server.url, ", ".join(describe(settings.config)))
    return server
