"""The Prometheus exporter-toolkit web-config file (``--web.config.file``).

Operators already have these files for node_exporter; accepting the same format, with the
same defaults and the same strictness (unknown keys, duplicate keys and bad enumerations are
errors), means one file can secure every exporter on a VM. The semantics follow
exporter-toolkit's ``web/tls_config.go`` and ``web/handler.go``:

* TLS is on when any of cert/cert_file/key/key_file/client_ca/client_ca_file/
  client_auth_type is set; then a certificate and a key are required.
* ``min_version`` defaults to TLS12, ``max_version`` to TLS13,
  ``prefer_server_cipher_suites`` to true, ``http2`` to true.
* Relative file names are resolved against the directory of the config file.
* Only the five security headers of exporter-toolkit may be set, some with fixed values.

Where Python's :mod:`ssl` cannot do what Go's crypto/tls does, the file is refused with a
message saying so rather than silently weakened: ``RequestClientCert`` and
``RequireAnyClientCert`` (Go accepts a client certificate without verifying it; OpenSSL via
Python verifies every certificate it requests). HTTP/2 is never spoken (``http2`` is
accepted and has no effect), and of ``curve_preferences`` only the first curve is pinned on
Pythons whose ``ssl`` can set a single group only.

:func:`parse_web_config` is pure (text in, :class:`WebConfig` out);
:func:`load_web_config` reads the file and :func:`build_ssl_context` reads the
certificates. Everything raises :class:`WebConfigError`, one line naming file and key.
"""

import os
import re
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.records import dataclass, field

if TYPE_CHECKING:  # pragma: no cover - typing only; ssl is imported when TLS is configured
    import ssl

__all__ = [
    "WebConfigError",
    "TLSServerConfig",
    "HTTPServerConfig",
    "RateLimitConfig",
    "WebConfig",
    "parse_web_config",
    "load_web_config",
    "build_ssl_context",
    "parse_go_duration",
    "credential_web_config",
    "weakening",
]


class WebConfigError(ParseError):
    """A web-config file that cannot be used; the message names the file and the key."""


class _Invalid(Exception):
    """Internal: a problem at ``key``; turned into WebConfigError with the file name."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


# --- the vocabularies of exporter-toolkit / Go crypto/tls ---------------------------------

TLS_VERSIONS = ("TLS10", "TLS11", "TLS12", "TLS13")

#: Go crypto/tls CipherSuites() names -> OpenSSL names. TLS 1.3 suites map to None: Go
#: accepts their names but ignores them (TLS 1.3 suites are not configurable there either).
GO_CIPHER_SUITES: Dict[str, Optional[str]] = {
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}

#: Go curve names -> OpenSSL group names.
GO_CURVES: Dict[str, str] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}

#: client_auth_type values this server can honour.
CLIENT_AUTH_TYPES = ("NoClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert")
_UNSUPPORTED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert", "RequireClientCert")

#: Headers exporter-toolkit lets a config add, with their allowed values (None: any).
EXTRA_HTTP_HEADERS: Dict[str, Optional[Tuple[str, ...]]] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}

# A bcrypt hash: $2a$, $2b$, $2x$ or $2y$ (htpasswd writes 2y), cost 04-31.
_BCRYPT_RE = re.compile(r"^\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}$")


# --- the result ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TLSServerConfig:
    """``tls_server_config``; file names are absolute (resolved against the config's dir)."""

    cert_file: str = ""
    key_file: str = ""
    cert: str = ""
    key: str = field(default="", repr=False)
    client_ca_file: str = ""
    client_ca: str = ""
    client_auth_type: str = "NoClientCert"
    client_allowed_sans: Optional[Tuple[str, ...]] = None
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: Tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True
    curve_preferences: Tuple[str, ...] = ()
    #: whether client_auth_type was written in the file (it alone turns TLS on in Go).
    client_auth_type_set: bool = field(default=False, repr=False)

    @property
    def enabled(self) -> bool:
        """TLS is served when any TLS field is set, as exporter-toolkit's IsEnabled says."""
        return bool(
            self.cert_file or self.cert or self.key_file or self.key
            or self.client_ca_file or self.client_ca or self.client_auth_type_set
        )


@dataclass(frozen=True)
class HTTPServerConfig:
    """``http_server_config``: ``http2`` is accepted for compatibility, never used."""

    http2: bool = True
    headers: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RateLimitConfig:
    """``rate_limit``: a token bucket; ``interval`` 0 disables it."""

    interval: float = 0.0
    burst: int = 0

    @property
    def enabled(self) -> bool:
        return self.interval > 0


@dataclass(frozen=True)
class WebConfig:
    """A whole web-config file. ``basic_auth_users`` maps user name to bcrypt hash."""

    path: str = ""
    tls: TLSServerConfig = field(default_factory=TLSServerConfig)
    http: HTTPServerConfig = field(default_factory=HTTPServerConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    basic_auth_users: Mapping[str, str] = field(default_factory=dict, repr=False)


# --- small typed readers; each raises _Invalid(key, ...) -----------------------------------


def _mapping(value: Any, key: str) -> Dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(key, f"expected a mapping, got {_kind(value)}")
    return value


def _only_keys(value: Dict[Any, Any], allowed: Iterable[str], key: str) -> None:
    allowed = tuple(allowed)
    for k in value:
        if k not in allowed:
            where = f"{key}.{k}" if key else str(k)
            raise _Invalid(where, f"unknown field (expected one of {', '.join(allowed)})")


def _string(value: Any, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Invalid(key, f"expected a string, got {_kind(value)}")
    return str(value)


def _boolean(value: Any, key: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _Invalid(key, f"expected true or false, got {value!r}")
    return value


def _string_list(value: Any, key: str) -> Optional[Tuple[str, ...]]:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _Invalid(key, f"expected a list of strings, got {_kind(value)}")
    return tuple(_string(item, f"{key}[{i}]") for i, item in enumerate(value))


def _choice(value: str, choices: Iterable[str], key: str, what: str) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise _Invalid(key, f"unknown {what} {value!r} (expected one of {', '.join(choices)})")
    return value


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean"}.get(type(value), repr(value))


def _join_dir(directory: str, name: str) -> str:
    """Like prometheus/common's JoinDir: only non-empty relative names are joined."""
    if not name or os.path.isabs(name):
        return name
    return os.path.join(directory, name)


# --- Go durations (rate_limit.interval) ----------------------------------------------------

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
                   "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go ``time.ParseDuration`` string ("1m30s", "250ms", "0").

    Raises ValueError: the caller adds the key.
    """
    s = text.strip()
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise ValueError(f"invalid duration {text!r} (like 1s, 500ms, 1m30s)")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * total


# --- parsing --------------------------------------------------------------------------------

_TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users", "rate_limit")
_TLS_KEYS = ("cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type",
             "client_ca_file", "client_allowed_sans", "min_version", "max_version",
             "cipher_suites", "prefer_server_cipher_suites", "curve_preferences")
_HTTP_KEYS = ("http2", "headers")
_RATE_KEYS = ("interval", "burst")


def _parse_tls(raw: Any, directory: str) -> TLSServerConfig:
    key = "tls_server_config"
    m = _mapping(raw, key)
    _only_keys(m, _TLS_KEYS, key)

    def s(name: str) -> str:
        return _string(m.get(name), f"{key}.{name}")

    auth_set = m.get("client_auth_type") not in (None, "")
    auth = s("client_auth_type") or "NoClientCert"
    if auth in _UNSUPPORTED_CLIENT_AUTH:
        raise _Invalid(f"{key}.client_auth_type",
                       f"{auth} is not supported here (Python's ssl verifies every client "
                       "certificate it asks for): use RequireAndVerifyClientCert or "
                       "VerifyClientCertIfGiven")
    _choice(auth, CLIENT_AUTH_TYPES, f"{key}.client_auth_type", "client auth type")
    min_v = _choice(s("min_version") or "TLS12", TLS_VERSIONS, f"{key}.min_version", "TLS version")
    max_v = _choice(s("max_version") or "TLS13", TLS_VERSIONS, f"{key}.max_version", "TLS version")
    if TLS_VERSIONS.index(min_v) > TLS_VERSIONS.index(max_v):
        raise _Invalid(f"{key}.min_version", f"{min_v} is above max_version {max_v}")
    ciphers = _string_list(m.get("cipher_suites"), f"{key}.cipher_suites") or ()
    for i, c in enumerate(ciphers):
        _choice(c, GO_CIPHER_SUITES, f"{key}.cipher_suites[{i}]", "cipher suite")
    curves = _string_list(m.get("curve_preferences"), f"{key}.curve_preferences") or ()
    for i, c in enumerate(curves):
        _choice(c, GO_CURVES, f"{key}.curve_preferences[{i}]", "curve")
    sans = _string_list(m.get("client_allowed_sans"), f"{key}.client_allowed_sans")

    tls = TLSServerConfig(
        cert_file=_join_dir(directory, s("cert_file")),
        key_file=_join_dir(directory, s("key_file")),
        cert=s("cert"),
        key=s("key"),
        client_ca_file=_join_dir(directory, s("client_ca_file")),
        client_ca=s("client_ca"),
        client_auth_type=auth,
        client_allowed_sans=sans,
        min_version=min_v,
        max_version=max_v,
        cipher_suites=ciphers,
        prefer_server_cipher_suites=_boolean(m.get("prefer_server_cipher_suites"),
                                             f"{key}.prefer_server_cipher_suites", True),
        curve_preferences=curves,
        client_auth_type_set=auth_set,
    )
    if tls.enabled:
        if not (tls.cert_file or tls.cert):
            raise _Invalid(key, "missing one of cert or cert_file")
        if not (tls.key_file or tls.key):
            raise _Invalid(key, "missing one of key or key_file")
    if (tls.client_ca_file or tls.client_ca) and auth == "NoClientCert":
        raise _Invalid(f"{key}.client_auth_type",
                       "client CAs are configured without a client auth policy")
    if sans is not None and auth != "RequireAndVerifyClientCert":
        raise _Invalid(f"{key}.client_allowed_sans",
                       "requires client_auth_type RequireAndVerifyClientCert")
    return tls


def _parse_http(raw: Any) -> HTTPServerConfig:
    key = "http_server_config"
    m = _mapping(raw, key)
    _only_keys(m, _HTTP_KEYS, key)
    headers = _mapping(m.get("headers"), f"{key}.headers")
    pairs = []
    for name, value in headers.items():
        where = f"{key}.headers.{name}"
        name = str(name)
        if name not in EXTRA_HTTP_HEADERS:
            raise _Invalid(where, f"HTTP header {name!r} can not be configured (allowed: "
                                  f"{', '.join(EXTRA_HTTP_HEADERS)})")
        value = _string(value, where)
        allowed = EXTRA_HTTP_HEADERS[name]
        if allowed is not None and value not in allowed:
            raise _Invalid(where, f"invalid value {value!r} (expected one of {', '.join(allowed)})")
        if "\r" in value or "\n" in value:
            raise _Invalid(where, "a header value cannot contain a line break")
        pairs.append((name, value))
    return HTTPServerConfig(http2=_boolean(m.get("http2"), f"{key}.http2", True),
                            headers=tuple(pairs))


def _parse_rate_limit(raw: Any) -> RateLimitConfig:
    key = "rate_limit"
    m = _mapping(raw, key)
    _only_keys(m, _RATE_KEYS, key)
    interval_raw = m.get("interval")
    if interval_raw is None:
        interval = 0.0
    elif isinstance(interval_raw, bool):
        raise _Invalid(f"{key}.interval", "expected a duration like 1s")
    elif isinstance(interval_raw, int):
        interval = interval_raw * 1e-9  # Go's yaml reads a bare integer as nanoseconds
    else:
        try:
            interval = parse_go_duration(_string(interval_raw, f"{key}.interval"))
        except ValueError as e:
            raise _Invalid(f"{key}.interval", str(e)) from None
    burst = m.get("burst", 0)
    if burst is None:
        burst = 0
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 0:
        raise _Invalid(f"{key}.burst", f"expected a non-negative integer, got {burst!r}")
    return RateLimitConfig(interval=max(interval, 0.0), burst=burst)


def _parse_users(raw: Any) -> Dict[str, str]:
    key = "basic_auth_users"
    users = {}
    for name, hashed in _mapping(raw, key).items():
        where = f"{key}.{name}"
        hashed = _string(hashed, where)
        m = _BCRYPT_RE.match(hashed)
        if not m or not 4 <= int(m.group(1)) <= 31:
            raise _Invalid(where, "not a bcrypt hash (like $2y$10$ followed by 53 characters; "
                                  "make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')")
        users[str(name)] = hashed
    return users


def _load_yaml(text: str) -> Any:
    """yaml.safe_load, but duplicate keys are errors as in Go's yaml.UnmarshalStrict."""
    import yaml  # imported here: the agent without a web config never pays for it

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Dict[Any, Any]:
        loader.flatten_mapping(node)
        seen: Dict[Any, Any] = {}
        for key_node, value_node in node.value:
            k = loader.construct_object(key_node, deep=deep)
            try:
                duplicate = k in seen
            except TypeError:
                raise _Invalid(str(k), f"unusable key at line {key_node.start_mark.line + 1}") from None
            if duplicate:
                raise _Invalid(str(k), f"duplicate key at line {key_node.start_mark.line + 1}")
            seen[k] = loader.construct_object(value_node, deep=deep)
        return seen

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "yaml"
        problem = getattr(e, "problem", None) or str(e)
        raise _Invalid(where, f"invalid YAML: {' '.join(str(problem).split())}") from None


def parse_web_config(text: str, path: str = "", allow_empty: bool = True) -> WebConfig:
    """Parse web-config YAML ``text``; ``path`` names it in errors and anchors relative files.

    An empty (or comment-only) text is exporter-toolkit's defaults, no TLS and no auth;
    ``allow_empty=False`` refuses it instead, for files: an editor truncates a file before
    writing it, and a half-written or emptied file must never switch security off.
    """
    where = path or "<web config>"
    try:
        doc = _load_yaml(text)
        if doc is None and not allow_empty:
            raise _Invalid("", "the file is empty or holds only comments: refused, as it would "
                               "turn TLS and basic auth off (to serve without them, give no "
                               "--web.config.file)")
        top = _mapping(doc, "")
        _only_keys(top, _TOP_KEYS, "")
        directory = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
        return WebConfig(
            path=path,
            tls=_parse_tls(top.get("tls_server_config"), directory),
            http=_parse_http(top.get("http_server_config")),
            rate_limit=_parse_rate_limit(top.get("rate_limit")),
            basic_auth_users=_parse_users(top.get("basic_auth_users")),
        )
    except _Invalid as e:
        key = f"{e.key}: " if e.key else ""
        raise WebConfigError(f"web config {where}: {key}{e.message}") from None


def load_web_config(path: str) -> WebConfig:
    """Read and parse the file at ``path``; an unreadable file is a WebConfigError too."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise WebConfigError(f"web config {path}: cannot read: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise WebConfigError(f"web config {path}: not UTF-8 text (byte {e.start})") from None
    return parse_web_config(text, path, allow_empty=False)


#: The name under which the agent looks for its web config among systemd credentials
#: (``LoadCredential=web-config.yml:/etc/accelnet/web-config.yml``).
CREDENTIAL_NAME = "web-config.yml"


def credential_web_config(environ: Mapping[str, str]) -> Optional[str]:
    """The web config systemd passed as a credential, or None.

    Under ``DynamicUser=`` the agent's user exists only while it runs, so no file can be
    owned by it; ``LoadCredential=`` lets systemd (as root) read root-only files and hand
    them over in ``$CREDENTIALS_DIRECTORY``, readable by the service alone. Certificate and
    key names in that web config that are relative (``cert_file: tls.crt``) resolve against
    its directory, i.e. the credentials, as exporter-toolkit resolves them.
    """
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = os.path.join(directory, CREDENTIAL_NAME)
    return path if os.path.isfile(path) else None


def weakening(old: Optional[WebConfig], new: Optional[WebConfig]) -> Optional[str]:
    """What a reload from ``old`` to ``new`` would switch off (TLS, client certificates,
    basic auth), or None. A reload never lowers protection: that takes a restart."""
    if old is None:
        return None
    lost = []
    if old.tls.enabled and (new is None or not new.tls.enabled):
        lost.append("TLS")
    elif old.tls.client_auth_type == "RequireAndVerifyClientCert" and (
            new is None or new.tls.client_auth_type != "RequireAndVerifyClientCert"):
        lost.append("required client certificates")
    if old.basic_auth_users and (new is None or not new.basic_auth_users):
        lost.append("basic auth")
    if not lost:
        return None
    return f"it would turn {' and '.join(lost)} off (a reload never does; restart the agent for that)"


# --- ssl.SSLContext --------------------------------------------------------------------------


def _ssl_error(where: str, key: str, e: BaseException) -> WebConfigError:
    detail = getattr(e, "strerror", None) or getattr(e, "reason", None) or str(e)
    return WebConfigError(f"web config {where}: tls_server_config.{key}: {' '.join(str(detail).split())}")


def _load_cert_chain(ctx: "ssl.SSLContext", tls: TLSServerConfig, where: str) -> None:
    """Load the server key pair; inline PEM goes through a private temporary directory
    because OpenSSL (through Python) loads key pairs from files only."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="accelnet-tls-") as tmp:  # mode 0700
        def materialise(file_name: str, inline: str, name: str) -> str:
            if file_name:
                if not os.path.isfile(file_name):
                    raise WebConfigError(f"web config {where}: tls_server_config.{name}_file: "
                                         f"no such file: {file_name}")
                return file_name
            target = os.path.join(tmp, name + ".pem")
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(inline)
            return target

        cert = materialise(tls.cert_file, tls.cert, "cert")
        key = materialise(tls.key_file, tls.key, "key")
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
            detail = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
            raise WebConfigError(f"web config {where}: tls_server_config.cert_file/key_file: "
                                 f"cannot load the key pair: {detail}") from None


#: exporter-toolkit's version names, oldest first.
TLS_VERSIONS = ("TLS10", "TLS11", "TLS12", "TLS13")


def set_tls_versions(ctx: "ssl.SSLContext", minimum: str, maximum: str) -> None:
    """Limit ``ctx`` to the exporter-toolkit version range ``minimum``..``maximum``.

    Python 3.7+ has ``minimum_version``/``maximum_version``; Python 3.6 (RHEL 8, Ubuntu
    18.04, SLES 15) only the ``OP_NO_TLSv*`` options, which say the same thing.
    """
    import ssl

    low, high = TLS_VERSIONS.index(minimum), TLS_VERSIONS.index(maximum)
    if hasattr(ssl, "TLSVersion"):
        names = ("TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3")
        ctx.minimum_version = getattr(ssl.TLSVersion, names[low])
        ctx.maximum_version = getattr(ssl.TLSVersion, names[high])
        return
    flags = (ssl.OP_NO_TLSv1, ssl.OP_NO_TLSv1_1, ssl.OP_NO_TLSv1_2, ssl.OP_NO_TLSv1_3)
    for index, flag in enumerate(flags):
        if index < low or index > high:
            ctx.options |= flag
        else:
            ctx.options &= ~flag


def build_ssl_context(config: WebConfig) -> "Optional[ssl.SSLContext]":
    """A server-side SSLContext for ``config``, or None when the config does not enable TLS.

    Reads the certificate, key and client CA now, so a broken file is reported at start
    (or at reload) and not at the first scrape.
    """
    tls = config.tls
    if not tls.enabled:
        return None
    import ssl

    where = config.path or "<web config>"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        set_tls_versions(ctx, tls.min_version, tls.max_version)
    except (ValueError, OSError) as e:
        raise _ssl_error(where, "min_version", e) from None
    if tls.prefer_server_cipher_suites:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    openssl_ciphers = [name for name in (GO_CIPHER_SUITES[c] for c in tls.cipher_suites) if name]
    if openssl_ciphers:
        try:
            ctx.set_ciphers(":".join(openssl_ciphers))
        except ssl.SSLError as e:
            raise _ssl_error(where, "cipher_suites", e) from None
    if tls.curve_preferences:
        groups = [GO_CURVES[c] for c in tls.curve_preferences]
        try:
            if hasattr(ctx, "set_groups"):  # Python 3.15+: the whole preference list
                ctx.set_groups(":".join(groups))
            else:
                ctx.set_ecdh_curve(groups[0])
        except (ValueError, ssl.SSLError) as e:
            raise _ssl_error(where, "curve_preferences", e) from None
    _load_cert_chain(ctx, tls, where)
    if tls.client_ca_file or tls.client_ca:
        try:
            if tls.client_ca_file:
                ctx.load_verify_locations(cafile=tls.client_ca_file)
            else:
                ctx.load_verify_locations(cadata=tls.client_ca)
        except (OSError, ValueError) as e:
            raise _ssl_error(where, "client_ca_file" if tls.client_ca_file else "client_ca", e) from None
    ctx.verify_mode = {
        "NoClientCert": ssl.CERT_NONE,
        "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
        "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
    }[tls.client_auth_type]
    return ctx


def san_allowed(peer_cert: Optional[Mapping[str, Any]], allowed: Iterable[str]) -> bool:
    """Whether a verified client certificate (``SSLSocket.getpeercert()``) carries a SAN
    (DNS, IP, e-mail or URI) equal to one of ``allowed``; IPs compare as addresses because
    OpenSSL and Go print IPv6 differently."""
    import ipaddress

    if not peer_cert:
        return False
    allowed_set = set(allowed)
    allowed_ips = set()
    for a in allowed_set:
        try:
            allowed_ips.add(ipaddress.ip_address(a))
        except ValueError:
            pass
    for kind, value in peer_cert.get("subjectAltName", ()):
        if kind == "IP Address":
            try:
                if ipaddress.ip_address(value.strip()) in allowed_ips:
                    return True
            except ValueError:
                pass
        elif kind in ("DNS", "email", "URI") and value in allowed_set:
            return True
    return False


def describe(config: Optional[WebConfig]) -> List[str]:
    """Short facts for the start-up log line ("TLS is enabled", ...)."""
    if config is None:
        return ["TLS is disabled", "basic auth is disabled"]
    return [
        "TLS is enabled" if config.tls.enabled else "TLS is disabled",
        f"basic auth for {len(config.basic_auth_users)} user(s)" if config.basic_auth_users
        else "basic auth is disabled",
    ]
