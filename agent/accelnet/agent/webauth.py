"""Who may scrape: exporter-toolkit's basic auth (bcrypt), the throttle that makes failed
passwords cost their sender, and the request rate limit.

Kept apart from the HTTP server so each can be read (and audited) on its own.
"""

import base64
import binascii
import collections
import os
import threading
import time
from typing import Callable, Mapping, Optional, Tuple


def _parse_basic(header: Optional[str]) -> Optional[Tuple[bytes, bytes]]:
    """(user, password) from an ``Authorization: Basic`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    return (user, password) if sep else None


class BasicAuth:
    """bcrypt basic auth with a cache of successes.

    bcrypt at cost 10 takes ~60 ms: paying that per scrape would dominate the scrape. A
    success is cached under an HMAC (random per-process key) of user, hash and password, so
    the cache holds no password and a changed hash or password misses. Failures are never
    cached and always run bcrypt, against a dummy hash of the highest configured cost for
    unknown users, so timing tells neither whether a user exists nor lets guesses run fast.
    bcrypt runs under a lock, as in exporter-toolkit, so guessing cannot take all CPUs.
    """

    CACHE_SIZE = 256

    def __init__(self, users: Mapping[str, str]) -> None:
        # only a web config with users pays for these (hashlib loads OpenSSL's libcrypto:
        # about 3.5 MiB of an agent that has no users to check)
        import bcrypt
        import hashlib
        import hmac

        self._bcrypt = bcrypt
        self._hmac = hmac
        self._sha256 = hashlib.sha256
        self._users = {u.encode("utf-8"): h.encode("ascii") for u, h in users.items()}
        cost = max([int(h.split(b"$")[2]) for h in self._users.values()] or [10])
        self._dummy = bcrypt.hashpw(b"accelnet-no-such-user", bcrypt.gensalt(cost))
        self._key = os.urandom(32)
        self._cache: "collections.OrderedDict[bytes, bool]" = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self._bcrypt_lock = threading.Lock()

    def check(self, authorization: Optional[str]) -> bool:
        known = self.screen(authorization)
        return known if known is not None else self.verify(authorization)

    def screen(self, authorization: Optional[str]) -> Optional[bool]:
        """What is known without bcrypt: True for credentials that passed before (cached),
        False for none or malformed ones, None when only bcrypt can tell (the server then
        checks them off its worker pool, on the auth budget)."""
        creds = _parse_basic(authorization)
        if creds is None:
            return False
        with self._cache_lock:
            if self._cache_key(*creds) in self._cache:
                return True
        return None

    def _cache_key(self, user: bytes, password: bytes) -> bytes:
        hashed = self._users.get(user, self._dummy)
        return self._hmac.new(self._key, b"\0".join((user, hashed, password)), self._sha256).digest()

    def verify(self, authorization: Optional[str]) -> bool:
        """bcrypt's answer (slow on purpose); a success is cached."""
        creds = _parse_basic(authorization)
        if creds is None:
            return False
        user, password = creds
        hashed = self._users.get(user)
        known = hashed is not None
        if hashed is None:
            hashed = self._dummy
        key = self._cache_key(user, password)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return True
        with self._bcrypt_lock:
            try:
                # bcrypt reads 72 bytes at most; Go's CompareHashAndPassword and htpasswd
                # truncate likewise, so the same password works as with node_exporter.
                ok = self._bcrypt.checkpw(password[:72], hashed)
            except ValueError:
                ok = False
        if not (ok and known):
            return False
        with self._cache_lock:
            self._cache[key] = True
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return True


def client_key(address: Optional[str]) -> str:
    """Whom a failure is counted against: the IPv4 address, or the /64 of an IPv6 one (one
    host is given a /64 and can use all of it)."""
    if not address or ":" not in address:
        return address or "-"
    import ipaddress

    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))


class FailureThrottle:
    """Failed passwords cost their sender: after FREE failures in a row from one client, its
    next password is checked only after a delay that doubles with each failure (from BASE_S
    up to CAP_S), and one at a time; a success clears it. The server parks a delayed
    request (a socket, no worker), so a guesser waits and a scraper whose credentials are
    cached never does. At most MAX_CLIENTS are remembered (the oldest go first)."""

    FREE = 5
    BASE_S = 0.25
    CAP_S = 30.0
    MAX_CLIENTS = 4096

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        #: client -> (failures in a row, earliest next check)
        self._clients: "collections.OrderedDict[str, Tuple[int, float]]" = collections.OrderedDict()

    def wait(self, client: str) -> float:
        """Seconds before ``client``'s next password may be checked (0: now)."""
        with self._lock:
            entry = self._clients.get(client)
        return max(0.0, entry[1] - self._clock()) if entry else 0.0

    def failed(self, client: str) -> None:
        with self._lock:
            failures = self._clients.pop(client, (0, 0.0))[0] + 1
            delay = 0.0 if failures <= self.FREE else min(self.CAP_S, self.BASE_S * 2 ** (failures - self.FREE - 1))
            self._clients[client] = (failures, self._clock() + delay)
            while len(self._clients) > self.MAX_CLIENTS:
                self._clients.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)


class TokenBucket:
    """exporter-toolkit's rate_limit (Go's rate.Limiter): one token per interval, burst max."""

    def __init__(self, interval: float, burst: int) -> None:
        self._rate = 1.0 / interval
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
