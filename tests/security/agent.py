"""A real ``accelnet-agent`` on a fixture, and clients that attack it (shared with the bench)."""

import base64
import os
import resource
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Dict, List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(REPO, "fixtures", "hosts", "ubuntu2204-cx5-2nics")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """``accelnet-agent --snapshot FIXTURE`` on a free loopback port; stderr to a file."""

    def __init__(self, workdir: str, web_config: Optional[str] = None,
                 env: Optional[Dict[str, str]] = None, extra: Optional[List[str]] = None,
                 fd_limit: Optional[int] = None) -> None:
        self.port = free_port()
        self.log_path = os.path.join(workdir, f"agent-{self.port}.log")
        args = [sys.executable, "-m", "accelnet.cli.agent", "--snapshot", FIXTURE, "--no-imds",
                "--web.listen-address", f"127.0.0.1:{self.port}", *(extra or [])]
        if web_config:
            args += ["--web.config.file", web_config]
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(REPO, "agent"), full_env.get("PYTHONPATH")]))
        full_env.update(env or {})
        self._log = open(self.log_path, "w")
        limit = None if fd_limit is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit)))
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=full_env, preexec_fn=limit)

    def log(self) -> str:
        with open(self.log_path) as f:
            return f.read()

    def url(self, path: str = "/metrics", tls: bool = False) -> str:
        return f"{'https' if tls else 'http'}://127.0.0.1:{self.port}{path}"

    def wait_serving(self, context: Optional[ssl.SSLContext] = None, timeout: float = 30) -> None:
        """Until the agent answers anything (a 401 is an answer) on /-/healthy."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"agent exited {self.proc.returncode}: {self.log()[-2000:]}"
            try:
                urllib.request.urlopen(self.url("/-/healthy", context is not None), timeout=2,
                                       context=context).close()
                return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, self.log()[-2000:]
                time.sleep(0.1)

    def status(self, path: str = "/metrics", context: Optional[ssl.SSLContext] = None,
               headers: Optional[Dict[str, str]] = None, timeout: float = 5.0) -> int:
        request = urllib.request.Request(self.url(path, context is not None), headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:
                resp.read()
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code

    def hup(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


class SlowClients:
    """``count`` connections holding the server: ``drip`` sends one header line every
    ``every`` seconds and never ends its head; ``idle`` connects and sends nothing (on a TLS
    port: not even a ClientHello)."""

    def __init__(self, port: int, count: int, mode: str, every: float = 3.0,
                 context: Optional[ssl.SSLContext] = None) -> None:
        self.port, self.mode, self.context = port, mode, context
        self.socks = [self._connect() for _ in range(count)]
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = None
        if mode == "drip":
            self._thread = threading.Thread(target=self._drip, args=(every,), daemon=True)
            self._thread.start()

    def _connect(self) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        if self.mode == "drip":
            if self.context is not None:
                s = self.context.wrap_socket(s, server_hostname="localhost")
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        return s

    def _drip(self, every: float) -> None:
        i = 0
        while not self._stop.wait(every):
            i += 1
            for n, s in enumerate(self.socks):
                try:
                    s.sendall(b"X-Slow-%d: y\r\n" % i)
                except OSError:  # its head timed out: it comes back, as an attacker would
                    s.close()
                    try:
                        self.socks[n] = self._connect()
                        self.reconnects += 1
                    except OSError:
                        pass

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def scrape_latencies(agent: Agent, count: int, context: Optional[ssl.SSLContext] = None,
                     headers: Optional[Dict[str, str]] = None, timeout: float = 5.0,
                     interval: float = 0.0) -> List[float]:
    """Wall seconds of ``count`` scrapes ``interval`` s apart; each must answer 200 within
    ``timeout``."""
    out = []
    for _ in range(count):
        t0 = time.monotonic()
        assert agent.status("/metrics", context, headers, timeout=timeout) == 200
        out.append(time.monotonic() - t0)
        time.sleep(interval)
    return out



class HeldPasswords:
    """``count`` connections, each sending one request with its own wrong basic-auth password
    and then waiting for the answer (its turn at bcrypt), opened again as soon as the server
    closes one: as many sockets held at the server as the attacker likes, from one address."""

    def __init__(self, port: int, count: int) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < count + 256 <= hard or hard == resource.RLIM_INFINITY:
            resource.setrlimit(resource.RLIMIT_NOFILE, (count + 256, hard))
        self.port = port
        self.opened = self.closed = 0
        self._sel = selectors.DefaultSelector()
        self._stop = threading.Event()
        for _ in range(count):
            self._open()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _open(self) -> None:
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        self.opened += 1
        self._sel.register(s, selectors.EVENT_WRITE, self.opened)

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, events in self._sel.select(0.2):
                sock = key.fileobj
                if events & selectors.EVENT_WRITE:
                    token = base64.b64encode(b"alice:wrong-%d" % key.data).decode()
                    try:
                        sock.send(f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n\r\n".encode())
                    except OSError:
                        pass
                    self._sel.modify(sock, selectors.EVENT_READ, key.data)
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._sel.unregister(sock)
                    sock.close()
                    self.closed += 1
                    self._open()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for key in list(self._sel.get_map().values()):
            key.fileobj.close()
        self._sel.close()
