"""What a client may cost the server, in-process: a wrong password costs its sender (never a
worker, bcrypt on its own budget, a client's failures delaying its next check), and a client
that pipelines and never reads costs a few answers and a socket (never a worker blocked in a
write). Legitimate scrapes are answered throughout."""

import base64
import http.client
import socket
import threading
import time

import bcrypt
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from accelnet.agent import web
from accelnet.agent.webauth import FailureThrottle
from accelnet.agent.webconfig import parse_web_config

from webhelpers import WrongPasswordClients, get, read_to_close

ALICE = {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()}


def _auth_config(cost: int = 8) -> object:
    return parse_web_config("basic_auth_users:\n  alice: %s\n" % bcrypt.hashpw(b"secret", bcrypt.gensalt(cost)).decode())


class _Counting:
    """A collector that counts scrapes; its help text of ``size`` bytes makes a big answer
    (bigger than the kernel's socket buffers, 4 MiB at most by default, when it must)."""

    def __init__(self, size: int = 0) -> None:
        self.scrapes = 0
        self.help = "Padding " + "x" * size
        self._lock = threading.Lock()

    def collect(self):
        with self._lock:
            self.scrapes += 1
        yield GaugeMetricFamily("accelnet_pad", self.help, value=1)


def _registry(collector) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(collector)
    return reg


# -- the throttle ---------------------------------------------------------------------------------


def test_failures_are_free_at_first_then_delay_the_next_check_doubling_up_to_a_cap():
    now = [1000.0]
    throttle = FailureThrottle(clock=lambda: now[0])
    for _ in range(FailureThrottle.FREE):
        throttle.failed("a")
        assert throttle.wait("a") == 0.0
    delays = []
    for _ in range(12):
        throttle.failed("a")
        delays.append(throttle.wait("a"))
    assert delays[:4] == [0.25, 0.5, 1.0, 2.0] and max(delays) == FailureThrottle.CAP_S
    assert throttle.wait("b") == 0.0  # another client is not held back
    now[0] += FailureThrottle.CAP_S
    assert throttle.wait("a") == 0.0
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.wait("a") == 0.0  # a success starts over


def test_the_throttle_remembers_a_bounded_number_of_clients(monkeypatch):
    monkeypatch.setattr(FailureThrottle, "MAX_CLIENTS", 10)
    throttle = FailureThrottle()
    for i in range(100):
        for _ in range(FailureThrottle.FREE + 1):
            throttle.failed(str(i))
    assert len(throttle._clients) == 10


# -- wrong passwords ----------------------------------------------------------------------------


def test_wrong_passwords_take_no_worker_and_cost_their_senders(start):
    """60 guessers from 12 addresses against 2 workers and a queue of 4: every scrape with
    cached credentials is answered, nothing is refused, and bcrypt runs a bounded number of
    times (each address: its free failures, then one per doubling delay)."""
    counting = _Counting()
    srv = start(_registry(counting), web_config=_auth_config(), max_workers=2, max_queue=4, io_timeout=5)
    assert get(srv, "/metrics", ALICE)[0] == 200  # the scraper's credentials are cached
    guessers = WrongPasswordClients(srv.port, 60, sources=12)
    try:
        time.sleep(1.0)
        statuses = [get(srv, "/metrics", ALICE)[0] for _ in range(20)]
        time.sleep(2.0)
    finally:
        guessers.close()
    assert statuses == [200] * 20
    assert srv.rejected == 0
    assert guessers.answers and set(guessers.statuses) == {401}
    # every password the cache did not know: 12 addresses, each its free failures and a few
    # doublings in 3 s (a run per request would be hundreds)
    assert srv.bcrypt_runs <= 12 * (FailureThrottle.FREE + 6) + 1, srv.bcrypt_runs
    assert counting.scrapes >= 21


def test_connections_waiting_for_bcrypt_are_bounded_and_the_biggest_holder_gives_way(start, monkeypatch):
    """A guesser that holds a connection open per password had no bound (each a socket, so
    thousands took every file descriptor): past MAX_PARKED waiting, the client with the most
    waiting loses its oldest, and another client's first password still gets its turn."""
    monkeypatch.setattr(web, "MAX_PARKED", 8)
    srv = start(_registry(_Counting()), web_config=_auth_config(), io_timeout=30)
    assert srv.max_parked == 8
    guesses = []
    try:
        for i in range(40):
            sock = socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.1.1", 0))
            token = base64.b64encode(b"alice:wrong-%d" % i).decode()
            sock.sendall(("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n" % token).encode())
            guesses.append(sock)
        time.sleep(0.5)
        other = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10, source_address=("127.0.2.1", 0))
        other.request("GET", "/metrics", headers=ALICE)
        assert other.getresponse().status == 200  # its first password, bcrypt's turn came
        other.close()
        closed = answered = waiting = 0
        for sock in guesses:
            sock.settimeout(0.2)
            try:
                data = sock.recv(4096)
            except socket.timeout:
                waiting += 1
                continue
            if data.startswith(b"HTTP/1.1 401"):
                answered += 1
            else:
                closed += data == b""
    finally:
        for sock in guesses:
            sock.close()
    assert waiting <= 8 + 1, (waiting, answered, closed)  # the bound, and one with bcrypt
    assert closed >= 40 - 9 - FailureThrottle.FREE - 1 and closed + answered + waiting == 40


def test_a_throttled_clients_closed_connections_are_forgotten(start, monkeypatch):
    """Waiting connections closed at their deadline stayed in their client's queue, head and
    all, until the client's turn came (30 s for a persistent guesser): one guesser's queue
    grew with every connection it opened. Closed ones are forgotten as they close."""
    monkeypatch.setattr(FailureThrottle, "BASE_S", 60.0)
    srv = start(_registry(_Counting()), web_config=_auth_config(), io_timeout=0.5)

    def guess(i):
        sock = socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.1.1", 0))
        token = base64.b64encode(b"alice:wrong-%d" % i).decode()
        sock.sendall(("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n" % token).encode())
        sock.settimeout(10)
        return sock

    for i in range(FailureThrottle.FREE + 1):  # its free failures: then its turn is a minute away
        sock = guess(i)
        assert sock.recv(4096).startswith(b"HTTP/1.1 401")
        sock.close()
    waiting = [guess(100 + i) for i in range(50)]
    try:
        time.sleep(2.0)  # past their deadline and a sweep
        assert all(s.recv(1) == b"" for s in waiting)  # each closed
        assert sum(len(q) for q in srv._waiting.values()) == 0
    finally:
        for sock in waiting:
            sock.close()


def test_a_pipelined_request_with_other_credentials_is_checked_before_it_is_answered(start, registry):
    srv = start(registry, web_config=_auth_config(4))
    assert get(srv, "/metrics", ALICE)[0] == 200
    two = (b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nAuthorization: " + ALICE["Authorization"].encode() + b"\r\n\r\n"
           b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6bm9wZQ==\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(two)
        answer = read_to_close(s)
    assert answer.count(b"HTTP/1.1 ") == 2
    assert answer.index(b"200 OK") < answer.index(b"401 Unauthorized")


# -- clients that do not read -----------------------------------------------------------------------


def _not_reading(port: int) -> socket.socket:
    """A connection whose receive buffer is as small as the kernel allows (set before the
    handshake, so the window stays small): it takes almost nothing of an answer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.connect(("127.0.0.1", port))
    return sock


def test_a_reader_that_never_reads_holds_no_worker(start):
    """One worker, a 16 MB answer that its client never takes: the next client is answered
    (the old blocking write held the worker for io_timeout, 60 s here)."""
    srv = start(_registry(_Counting(size=16 << 20)), max_workers=1, io_timeout=60)
    hog = _not_reading(srv.port)
    hog.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        time.sleep(2.0)  # the answer is made and written as far as it goes
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200 OK")
    finally:
        hog.close()


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_pipelined_requests_get_a_bounded_number_of_answers(start):
    counting = _Counting()
    srv = start(_registry(counting))
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
        answer = _read_all(s)
    assert answer.count(b"HTTP/1.1 200 OK") == 1 + web.MAX_PIPELINED
    assert answer.count(b"Connection: close") == 1
    assert counting.scrapes == 1 + web.MAX_PIPELINED


def test_twenty_clients_pipelining_1500_requests_and_never_reading(start):
    """Each costs 1 + MAX_PIPELINED scrapes, never a blocked worker; scrapes go on."""
    counting = _Counting(size=64 << 10)
    srv = start(_registry(counting), max_workers=4, io_timeout=30)
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    hogs = []
    for _ in range(20):
        s = _not_reading(srv.port)
        s.setblocking(False)
        try:
            s.send(request * 1500)
        except BlockingIOError:
            pass
        hogs.append(s)
    try:
        statuses = [get(srv, "/-/healthy")[0] for _ in range(10)]
        time.sleep(1.0)
        assert statuses == [200] * 10 and srv.rejected == 0
        assert counting.scrapes <= 20 * (1 + web.MAX_PIPELINED)
    finally:
        for s in hogs:
            s.close()


def test_answers_not_taken_are_bounded_in_all(start, monkeypatch):
    """Eight clients that take nothing of 12 MiB answers (more than the socket buffers
    hold), 16 MiB allowed in all: the ones holding the most are dropped, the server goes on."""
    monkeypatch.setattr(web, "MAX_UNSENT_BYTES", 16 << 20)
    srv = start(_registry(_Counting(size=12 << 20)), io_timeout=60)
    hogs = []
    for _ in range(8):
        s = _not_reading(srv.port)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        hogs.append(s)
    try:
        deadline = time.monotonic() + 30
        while srv.unsent == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        assert 0 < srv.unsent <= 16 << 20
        assert get(srv, "/-/healthy")[0] == 200
    finally:
        for s in hogs:
            s.close()
