"""HTTP/1.1 request heads (RFC 9112), read strictly: text in, a request or an error status out.

Why not the stdlib's ``http.server``: it loads ``http.client``, ``email`` and ``ssl`` (about
7 MiB of an agent on every VM that serves plain HTTP), and it is lenient where an exporter
need not be (HTTP/0.9, folded header lines, whitespace before a colon). The limits are the
ones the agent's server had with the stdlib parser: a request line of 64 KiB (414 past it),
a header block of 64 KiB and 100 header lines (431 past either).
"""

import re
from typing import Dict, List, Optional, Tuple

#: The request line, its line end included (the stdlib's limit: 414 past it).
MAX_REQUEST_LINE = 65536
#: The header block after the request line, its empty last line included (431 past it).
MAX_HEADER_BLOCK = 64 * 1024
#: Header lines (http.client's limit: 431 past it).
MAX_HEADERS = 100

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_VERSION = re.compile(r"HTTP/(\d{1,9})\.(\d{1,9})\Z")
#: What separates the words of a request line: SP, and the whitespace RFC 9112 section 3
#: lets a recipient take for it (HTAB, VT, FF, bare CR); not str.split()'s, which includes
#: latin-1's NEL and no-break space.
_LINE_SPACE = re.compile(r"[ \t\x0b\x0c\r]+")
#: Octets a field value may not hold (RFC 9110 section 5.5: CR, LF and NUL "MUST" be
#: refused or replaced): the controls but HTAB, as Go's net/http refuses them. A bare CR
#: kept inside a value is a header of its own to a proxy that ends lines at CR: desync.
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]+\Z")
#: Empty lines before a request line, matched in C: the reception thread looks for them at
#: every read, and a client may send nothing else (a Python loop over 64 KiB of them per
#: read made a scrape wait 0.6 s behind eight such clients).
_EMPTY_LINES = re.compile(rb"(?:\r?\n)*")


class HeadError(Exception):
    """A request head the server answers with ``status`` (and closes)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Headers:
    """Header fields by lower-cased name, each with its values in the order they came."""

    def __init__(self) -> None:
        self._fields: Dict[str, List[str]] = {}

    def add(self, name: str, value: str) -> None:
        self._fields.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self._fields.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> List[str]:
        return list(self._fields.get(name.lower(), ()))

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._fields

    def __len__(self) -> int:
        return sum(len(v) for v in self._fields.values())


class Request:
    """One parsed request head."""

    def __init__(self, method: str, target: str, version: Tuple[int, int], headers: Headers,
                 line: str) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        #: the request line as received (latin-1), for the access log
        self.line = line

    @property
    def keep_alive(self) -> bool:
        """Whether the client lets the connection stay open after the answer (HTTP/1.1
        unless it says ``close``; HTTP/1.0 only when it says ``keep-alive``)."""
        tokens = {t.strip().lower() for v in self.headers.get_all("Connection") for t in v.split(",")}
        if "close" in tokens:
            return False
        return self.version >= (1, 1) or "keep-alive" in tokens


def _skip_empty_lines(buf: bytes) -> int:
    """Where the request line starts: RFC 9112 section 2.2 has a server ignore empty lines
    before it (a client may send a CRLF after a body, and it may arrive on its own)."""
    match = _EMPTY_LINES.match(buf)
    return match.end() if match else 0


def head_complete(buf: bytes) -> bool:
    """Whether ``buf`` holds a whole request head: the request line and, for an HTTP/1.x
    request line, the empty line ending the headers (a line without a version has none,
    and is answered 400 at once). Empty lines before the request line are not one."""
    start = _skip_empty_lines(buf)
    nl = buf.find(b"\n", start)
    if nl < 0:
        return False
    if len(buf[start:nl].split()) < 3:
        return True
    return buf.find(b"\n\r\n", nl) >= 0 or buf.find(b"\n\n", nl) >= 0


def framing_problem(lengths: List[str], encodings: List[str]) -> Optional[str]:
    """Why a request's framing headers are refused (RFC 9112 section 6.3), or None.

    Two parsers that disagree on where a body ends let a request hide inside another
    (smuggling) through a proxy; so a request with more than one Content-Length (even
    equal ones, or a list in one), a non-numeric one, or one next to a Transfer-Encoding,
    is refused outright.
    """
    if len(lengths) > 1:
        return "duplicate Content-Length headers"
    if lengths and not _DIGITS.match(lengths[0].strip(" \t")):  # str.isdigit() takes "²"
        return "invalid Content-Length"
    if lengths and encodings:
        return "both Content-Length and Transfer-Encoding"
    return None


def _line_end(buf: bytes, start: int) -> Tuple[int, int]:
    """(end of the line's text, start of the next line) for the line at ``start``; (-1, -1)
    when it has no end in ``buf``. CRLF and a bare LF both end a line, as in the stdlib."""
    nl = buf.find(b"\n", start)
    if nl < 0:
        return -1, -1
    return (nl - 1 if nl > start and buf[nl - 1:nl] == b"\r" else nl), nl + 1


def parse_head(buf: bytes) -> Tuple[Request, int]:
    """The first request head in ``buf`` and the bytes it took; HeadError for one that is
    malformed, too large, or incomplete (the server hands over only whole heads, and the
    oversized)."""
    pos = _skip_empty_lines(buf)
    end, nxt = _line_end(buf, pos)
    if end < 0 and len(buf) - pos > MAX_REQUEST_LINE or nxt - pos > MAX_REQUEST_LINE:
        raise HeadError(414, "request line too long")
    if end < 0:
        raise HeadError(400, "incomplete request line")
    line = buf[pos:end].decode("latin-1")
    words = _LINE_SPACE.split(line.strip(" \t\x0b\x0c\r"))
    if len(words) != 3:
        raise HeadError(400, "bad request line")
    method, target, version_text = words
    match = _VERSION.match(version_text)
    if match is None:
        raise HeadError(400, "bad request version")
    version = (int(match.group(1)), int(match.group(2)))
    if version[0] != 1:
        raise HeadError(505, "HTTP version not supported")
    if not _TOKEN.match(method):
        raise HeadError(400, "bad method")
    if target.startswith("//"):  # a path, not a network-path reference (as the stdlib since 3.12)
        target = "/" + target.lstrip("/")
    headers = Headers()
    block_start = pos = nxt
    while True:
        end, nxt = _line_end(buf, pos)
        if end < 0:
            if len(buf) - block_start > MAX_HEADER_BLOCK:
                raise HeadError(431, "request header fields too large")
            raise HeadError(400, "incomplete request head")
        if nxt - block_start > MAX_HEADER_BLOCK:
            raise HeadError(431, "request header fields too large")
        if end == pos:
            break
        if len(headers) >= MAX_HEADERS:
            raise HeadError(431, "too many header fields")
        field = buf[pos:end].decode("latin-1")
        name, colon, value = field.partition(":")
        if not colon or not _TOKEN.match(name):  # also a folded line, or a space before the colon
            raise HeadError(400, "bad header field")
        if _BAD_VALUE.search(value):
            raise HeadError(400, "control character in a header field")
        headers.add(name, value.strip(" \t"))
        pos = nxt
    request = Request(method, target, version, headers, line)
    problem = framing_problem(headers.get_all("Content-Length"), headers.get_all("Transfer-Encoding"))
    if problem:
        raise HeadError(400, problem)
    return request, nxt
