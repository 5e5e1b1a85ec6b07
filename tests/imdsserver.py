"""A stand-in for the Azure Instance Metadata Service on loopback, honest or hostile.

Shared by the collector's, the check's and the agent's tests and by bench/bench_attacks.py.
Never 169.254.169.254: every test asks this server through ``--imds-url``.

Modes (``FakeImds.mode``, changeable while it runs):

* ``azure``: what Azure answers: the instance document, or one node of it with
  ``format=text`` (a leaf as its text), 404 for what is not there, 400 without
  ``Metadata: true`` or with another api-version;
* ``redirect``: ``redirect_code`` (302) to ``redirect_to`` for every request (Azure never
  redirects);
* ``huge``: ``200`` with ``huge_bytes`` bytes of ``"a"``, no Content-Length, streamed;
* ``drip``: the status line and headers at once, then one byte of body every ``drip_s``
  seconds, until the client goes away (or the server stops).

``requests`` records (path, query, Metadata header) of every request; ``bytes_sent`` what
the body writers got out before the client closed.
"""

import http.server
import json
import os
import socketserver
import threading
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Tuple


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    fake: "FakeImds"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server.fake
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        with fake.lock:
            fake.requests.append((url.path, query, self.headers.get("Metadata")))
        mode = fake.mode
        if mode == "redirect":
            self.send_response(fake.redirect_code)
            self.send_header("Location", fake.redirect_to or "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "huge":
            return self._huge(fake)
        if mode == "drip":
            return self._drip(fake)
        if self.headers.get("Metadata") != "true" or query.get("api-version") != ["2021-02-01"]:
            return self._answer(400, b"bad request")
        parts = [p for p in url.path.split("/") if p][2:]  # after metadata/instance
        node: Any = fake.doc
        for part in parts:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return self._answer(404, b"not found")
        if query.get("format") == ["text"] and isinstance(node, str):
            return self._answer(200, node.encode())
        return self._answer(200, json.dumps(node).encode())

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _huge(self, fake: "FakeImds") -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"a" * 65536
        left = fake.huge_bytes
        try:
            while left > 0:
                n = self.wfile.write(chunk[:min(left, len(chunk))]) or 0
                fake.count(n)
                left -= min(left, len(chunk))
        except OSError:
            pass

    def _drip(self, fake: "FakeImds") -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        try:
            while not fake.stopped.wait(fake.drip_s):
                self.wfile.write(b" ")
                self.wfile.flush()
                fake.count(1)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


class FakeImds:
    """A loopback IMDS in its own threads; use as a context manager."""

    def __init__(self, doc: Optional[Dict[str, Any]] = None, mode: str = "azure",
                 redirect_to: Optional[str] = None, huge_bytes: int = 1 << 20,
                 drip_s: float = 1.5, redirect_code: int = 302) -> None:
        self.doc = doc or {}
        self.mode = mode
        self.redirect_to = redirect_to
        self.redirect_code = redirect_code
        self.huge_bytes = huge_bytes
        self.drip_s = drip_s
        self.lock = threading.Lock()
        self.requests: List[Tuple[str, Dict[str, List[str]], Optional[str]]] = []
        self.bytes_sent = 0
        self.stopped = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def count(self, n: int) -> None:
        with self.lock:
            self.bytes_sent += n

    @property
    def base(self) -> str:
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    @property
    def url(self) -> str:
        """The instance document's URL, as ``--imds-url`` takes it."""
        return self.base + "/metadata/instance?api-version=2021-02-01"

    def close(self) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeImds":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def recorded_capture(fixture: str, name: str) -> Optional[str]:
    """A fixture host's capture ``name`` (``cmd/<name>.txt`` or ``.json``), or None."""
    for suffix in (".txt", ".json"):
        path = os.path.join(fixture, "cmd", name + suffix)
        if os.path.exists(path):
            with open(path) as handle:
                return handle.read()
    return None


def fixture_host(fixture: str, imds_url: Optional[str] = None, imds: Optional[Callable[[], Optional[str]]] = None,
                 bound: Callable[[Callable[[str], Optional[str]]], Callable[[str], Optional[str]]] = lambda fetch: fetch):
    """A fixture host (an Azure VM) whose IMDS is asked live at ``imds_url``, as the check
    and the agent ask it (``live.produce_capture``), or answered by ``imds()``; its other
    captures are the recorded ones. ``bound`` wraps the capture function (the agent's
    cache and deadline, when the agent's ``open_host`` hands it in)."""
    from accelnet.readers import live
    from accelnet.readers.host import Host

    def capture(name: str) -> Optional[str]:
        if name != "imds":
            return recorded_capture(fixture, name)
        if imds is not None:
            return imds()
        return live.produce_capture(name, imds_url or "")

    return Host(root=os.path.join(fixture, "root"), live=False, captures=live.LiveCaptures(bound(capture)))
