"""Helpers shared by the web tests (a module name no other test directory uses, so that
importing it never picks up another directory's conftest)."""

import http.client
import os
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

from accelnet.agent import web
from accelnet.agent.webconfig import TLS_VERSIONS, set_tls_versions


class FixedCollector:
    """Metrics shaped like the agent's, with fixed values so bodies compare exactly."""

    def collect(self):
        present = GaugeMetricFamily("accelnet_vf_present", "Whether the NIC has a VF.",
                                    labels=["interface"])
        present.add_metric(["eth0"], 1)
        present.add_metric(["eth1"], 0)
        yield present
        rx = CounterMetricFamily("accelnet_vf_rx_packets", "Packets received through the VF.",
                                 labels=["interface"])
        rx.add_metric(["eth0"], 992956)
        yield rx
        info = InfoMetricFamily("accelnet_build", "Build information.")
        info.add_metric([], {"version": "0.1.0"})
        yield info


class BrokenCollector:
    """A collector with a bug; while ``broken`` it raises."""

    def __init__(self) -> None:
        self.broken = True

    def collect(self):
        if self.broken:
            raise RuntimeError("ethtool ioctl exploded")
        yield GaugeMetricFamily("accelnet_ok", "Fine again.", value=1)


def read_to_close(sock: socket.socket) -> bytes:
    """Everything a connection answers until the server closes it."""
    answer = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return answer
        answer += chunk


def get(srv: web.Server, path: str, headers: Optional[Dict[str, str]] = None,
        method: str = "GET", context: Optional[ssl.SSLContext] = None,
        host: str = "127.0.0.1") -> Tuple[int, Dict[str, str], bytes]:
    """One request on a fresh connection: (status, headers with lower-case names, body)."""
    if context is not None:
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, srv.port, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection(host, srv.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def tls_range(ctx: ssl.SSLContext) -> Tuple[str, str]:
    """The (oldest, newest) exporter-toolkit TLS version ``ctx`` allows, on any Python."""
    if hasattr(ssl, "TLSVersion"):
        names = {ssl.TLSVersion.TLSv1: "TLS10", ssl.TLSVersion.TLSv1_1: "TLS11",
                 ssl.TLSVersion.TLSv1_2: "TLS12", ssl.TLSVersion.TLSv1_3: "TLS13"}
        return names[ctx.minimum_version], names[ctx.maximum_version]
    flags = (ssl.OP_NO_TLSv1, ssl.OP_NO_TLSv1_1, ssl.OP_NO_TLSv1_2, ssl.OP_NO_TLSv1_3)
    allowed = [name for name, flag in zip(TLS_VERSIONS, flags) if not ctx.options & flag]
    return allowed[0], allowed[-1]


# --- a small PKI --------------------------------------------------------------------------


@dataclass
class PKI:
    dir: str
    ca_cert: str
    server_cert: str
    server_key: str
    client_cert: str       # SAN DNS:scraper.example, signed by the CA
    client_key: str
    other_cert: str        # SAN DNS:intruder.example, signed by the CA
    other_key: str
    rogue_cert: str        # self-signed, not from the CA
    rogue_key: str

    def client_context(self, cert: Optional[str] = None, key: Optional[str] = None,
                       maximum: Optional[str] = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_cert)
        if cert:
            ctx.load_cert_chain(cert, key)
        if maximum is not None:
            set_tls_versions(ctx, "TLS10", maximum)
        return ctx


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _leaf(d: str, name: str, san: str) -> None:
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n")
    _openssl("req", "-new", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
             cwd=d)


def make_pki(d: str) -> PKI:
    """A CA, a server certificate and client certificates in directory ``d``."""
    _openssl("req", "-x509", *_EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=accelnet test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _leaf(d, "server", "DNS:localhost,IP:127.0.0.1,IP:::1")
    _leaf(d, "client", "DNS:scraper.example")
    _leaf(d, "other", "DNS:intruder.example")
    _openssl("req", "-x509", *_EC, "-keyout", "rogue.key", "-out", "rogue.crt", "-days", "2",
             "-subj", "/CN=rogue", "-addext", "subjectAltName=DNS:scraper.example", cwd=d)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    return PKI(d, p("ca.crt"), p("server.crt"), p("server.key"), p("client.crt"),
               p("client.key"), p("other.crt"), p("other.key"), p("rogue.crt"), p("rogue.key"))


def _tls_or_plain(sock: socket.socket, context: Optional[ssl.SSLContext]) -> socket.socket:
    return context.wrap_socket(sock, server_hostname="localhost") if context is not None else sock


class WrongPasswordClients:
    """``count`` clients sending a wrong basic-auth password, each on its own keep-alive
    connection (again after the server closes it), from ``sources`` loopback addresses in
    turn (127.0.1.1, 127.0.1.2, …): per-address throttling alone cannot hold them back."""

    def __init__(self, port: int, count: int, sources: int = 1, context: Optional[ssl.SSLContext] = None,
                 authorization: str = "Basic YWxpY2U6d3Jvbmc=") -> None:  # alice:wrong
        self.port, self.context = port, context
        self.request = (f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n\r\n").encode()
        self.answers = 0
        self.statuses: Dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(f"127.0.1.{1 + i % sources}",), daemon=True)
                         for i in range(count)]
        for t in self._threads:
            t.start()

    def _run(self, source: str) -> None:
        sock = None
        while not self._stop.is_set():
            try:
                if sock is None:
                    raw = socket.create_connection(("127.0.0.1", self.port), timeout=30, source_address=(source, 0))
                    sock = _tls_or_plain(raw, self.context)
                sock.sendall(self.request)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = sock.recv(4096)
                    if not chunk:
                        raise OSError("closed")
                    head += chunk
                status = int(head.split(b" ", 2)[1])
                with self._lock:
                    self.answers += 1
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                if b"connection: close" in head.lower():
                    raise OSError("closed")
            except (OSError, ValueError, IndexError):
                if sock is not None:
                    sock.close()
                sock = None
                self._stop.wait(0.05)
        if sock is not None:
            sock.close()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


class PipeliningReaders:
    """``count`` connections that each send ``requests`` GETs at once (HTTP/1.1 pipelining)
    and never read an answer."""

    def __init__(self, port: int, count: int, requests: int = 1500, context: Optional[ssl.SSLContext] = None,
                 headers: str = "") -> None:
        one = f"GET /metrics HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()
        self.socks = []
        for _ in range(count):
            sock = _tls_or_plain(socket.create_connection(("127.0.0.1", port), timeout=30), context)
            self.socks.append(sock)
        self._threads = [threading.Thread(target=self._send, args=(s, one * requests), daemon=True) for s in self.socks]
        for t in self._threads:
            t.start()

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> None:
        try:
            sock.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)  # unblocks a sendall still under way
            except OSError:
                pass
            s.close()
        for t in self._threads:
            t.join(timeout=60)
