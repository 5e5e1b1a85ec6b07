"""The exporter-toolkit web-config parser: defaults, strictness, messages, SSL contexts."""

import os
import ssl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webhelpers import tls_range

from accelnet.errors import ParseError
from accelnet.agent.webconfig import (
    WebConfig,
    WebConfigError,
    build_ssl_context,
    load_web_config,
    parse_go_duration,
    parse_web_config,
    san_allowed,
)

HASH = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"  # from the toolkit docs


def error_of(text: str, path: str = "/etc/accelnet/web.yml") -> str:
    with pytest.raises(WebConfigError) as info:
        parse_web_config(text, path)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    assert message.startswith(f"web config {path}: ")
    return message


def test_empty_file_gives_toolkit_defaults():
    for text in ("", "---\n", "# only a comment\n", "tls_server_config:\nhttp_server_config:\n"):
        cfg = parse_web_config(text, "/x/web.yml")
        assert cfg.tls.enabled is False
        assert (cfg.tls.min_version, cfg.tls.max_version) == ("TLS12", "TLS13")
        assert cfg.tls.prefer_server_cipher_suites is True
        assert cfg.tls.client_auth_type == "NoClientCert"
        assert cfg.http.http2 is True and cfg.http.headers == ()
        assert cfg.basic_auth_users == {}
        assert cfg.rate_limit.enabled is False
        assert build_ssl_context(cfg) is None


def test_full_file_and_relative_paths_against_config_dir():
    cfg = parse_web_config(
        """
tls_server_config:
  cert_file: server.crt
  key_file: keys/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: /etc/pki/ca.crt
  client_allowed_sans: [scraper.example, 10.0.0.4]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: %s
rate_limit:
  interval: 1m30s
  burst: 5
""" % HASH, "/etc/accelnet/web.yml")
    t = cfg.tls
    assert t.enabled
    assert t.cert_file == "/etc/accelnet/server.crt"
    assert t.key_file == "/etc/accelnet/keys/server.key"
    assert t.client_ca_file == "/etc/pki/ca.crt"
    assert t.client_allowed_sans == ("scraper.example", "10.0.0.4")
    assert (t.min_version, t.max_version) == ("TLS13", "TLS13")
    assert t.cipher_suites == ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256")
    assert t.prefer_server_cipher_suites is False
    assert t.curve_preferences == ("X25519", "CurveP256")
    assert cfg.http.http2 is False
    assert dict(cfg.http.headers) == {"X-Frame-Options": "deny", "X-Content-Type-Options": "nosniff",
                                      "Strict-Transport-Security": "max-age=31536000"}
    assert cfg.basic_auth_users == {"prometheus": HASH}
    assert cfg.rate_limit.interval == 90.0 and cfg.rate_limit.burst == 5
    assert HASH not in repr(cfg), "secrets stay out of repr (and so out of logs)"


def test_client_auth_type_alone_enables_tls_and_then_needs_a_cert():
    assert "missing one of cert or cert_file" in error_of(
        "tls_server_config:\n  client_auth_type: NoClientCert\n")
    assert "missing one of key or key_file" in error_of("tls_server_config:\n  cert_file: a.crt\n")


@pytest.mark.parametrize("text, expected", [
    ("tls_config:\n  cert_file: a\n", "tls_config: unknown field"),
    ("tls_server_config:\n  certfile: a\n", "tls_server_config.certfile: unknown field"),
    ("http_server_config:\n  gzip: true\n", "http_server_config.gzip: unknown field"),
    ("basic_auth_users:\n  a: %s\n  a: %s\n" % (HASH, HASH), "a: duplicate key at line 3"),
    ("- a\n- b\n", "expected a mapping, got a list"),
    ("tls_server_config: [1]\n", "tls_server_config: expected a mapping"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
     "tls_server_config.min_version: unknown TLS version 'TLS14'"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n",
     "min_version: TLS13 is above max_version TLS12"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [RC4]\n",
     "tls_server_config.cipher_suites[0]: unknown cipher suite 'RC4'"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [P256]\n",
     "curve_preferences[0]: unknown curve 'P256'"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n",
     "unknown client auth type 'Sometimes'"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n",
     "RequireAnyClientCert is not supported here"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca.crt\n",
     "client CAs are configured without a client auth policy"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyClientCertIfGiven\n"
     "  client_ca_file: c\n  client_allowed_sans: [x]\n",
     "client_allowed_sans: requires client_auth_type RequireAndVerifyClientCert"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  prefer_server_cipher_suites: maybe\n",
     "prefer_server_cipher_suites: expected true or false"),
    ("http_server_config:\n  headers:\n    Server: nginx\n", "HTTP header 'Server' can not be configured"),
    ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
     "X-Frame-Options: invalid value 'allow' (expected one of deny, sameorigin)"),
    ("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "expected one of nosniff"),
    ("basic_auth_users:\n  alice: hunter2\n", "basic_auth_users.alice: not a bcrypt hash"),
    ("basic_auth_users:\n  alice: $2y$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n",
     "not a bcrypt hash"),
    ("basic_auth_users: [alice]\n", "basic_auth_users: expected a mapping"),
    ("rate_limit:\n  interval: soon\n", "rate_limit.interval: invalid duration 'soon'"),
    ("rate_limit:\n  interval: 1s\n  burst: -1\n", "rate_limit.burst: expected a non-negative integer"),
    ("tls_server_config:\n  cert_file: [a]\n", "tls_server_config.cert_file: expected a string"),
    ("tls_server_config:\n  cert_file: 'a\n", "invalid YAML"),
    ("a: b: c\n", "line 1 column 5: invalid YAML: mapping values are not allowed here"),
])
def test_bad_files_say_where_and_why(text, expected):
    assert expected in error_of(text)


def test_errors_are_parse_errors_for_callers_that_catch_broadly():
    assert issubclass(WebConfigError, ParseError)


def test_all_documented_header_names_and_values_are_accepted():
    cfg = parse_web_config(
        "http_server_config:\n  headers:\n"
        "    Content-Security-Policy: default-src 'self'\n"
        "    X-Frame-Options: sameorigin\n"
        "    X-Content-Type-Options: nosniff\n"
        "    X-XSS-Protection: 1; mode=block\n"
        "    Strict-Transport-Security: max-age=1\n")
    assert len(cfg.http.headers) == 5


@pytest.mark.parametrize("text, seconds", [
    ("0", 0.0), ("1s", 1.0), ("250ms", 0.25), ("1m30s", 90.0), ("1h", 3600.0),
    ("1.5s", 1.5), ("10us", 1e-5), ("10\u00b5s", 1e-5), ("3ns", 3e-9), ("-2s", -2.0),
])
def test_go_durations(text, seconds):
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1", "s", "1x", "1s2", "1 s", "--1s"])
def test_bad_go_durations(text):
    with pytest.raises(ValueError):
        parse_go_duration(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_config_or_a_web_config_error(text):
    try:
        cfg = parse_web_config(text, "/fuzz.yml")
    except WebConfigError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(cfg, WebConfig)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(
                        ["tls_server_config", "http_server_config", "basic_auth_users",
                         "rate_limit", "cert_file", "key_file", "headers", "interval", "burst",
                         "min_version", "client_auth_type", "cipher_suites", "http2"]),
                        inner, max_size=4), max_leaves=12))
def test_any_yaml_structure_is_a_config_or_a_web_config_error(doc):
    import yaml

    try:
        parse_web_config(yaml.safe_dump(doc), "/fuzz.yml")
    except WebConfigError as e:
        assert "\n" not in str(e)


def test_load_reports_missing_and_binary_files(tmp_path):
    with pytest.raises(WebConfigError, match=r"web config .*nope.yml: cannot read: No such file"):
        load_web_config(str(tmp_path / "nope.yml"))
    bad = tmp_path / "bin.yml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(WebConfigError, match="not UTF-8"):
        load_web_config(str(bad))


def test_load_resolves_relative_to_the_file_not_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    f = tmp_path / "conf" / "web.yml"
    f.write_text("tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n")
    monkeypatch.chdir(tmp_path)
    cfg = load_web_config("conf/web.yml")
    assert cfg.tls.cert_file == str(tmp_path / "conf" / "s.crt")


# --- SSL contexts from real files ---------------------------------------------------------


def _write(tmp_path, text: str) -> WebConfig:
    f = tmp_path / "web.yml"
    f.write_text(text)
    return load_web_config(str(f))


def test_ssl_context_from_files(tmp_path, pki):
    cfg = _write(tmp_path, f"tls_server_config:\n  cert_file: {pki.server_cert}\n"
                           f"  key_file: {pki.server_key}\n")
    ctx = build_ssl_context(cfg)
    assert isinstance(ctx, ssl.SSLContext)
    assert tls_range(ctx) == ("TLS12", "TLS13")
    assert ctx.verify_mode == ssl.CERT_NONE
    assert ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_ssl_context_with_client_ca_and_inline_pem(tmp_path, pki):
    cert = open(pki.server_cert).read()
    key = open(pki.server_key).read()
    ca = open(pki.ca_cert).read()
    indent = lambda s: "\n".join("    " + line for line in s.splitlines())  # noqa: E731
    cfg = _write(tmp_path, "tls_server_config:\n"
                           f"  cert: |\n{indent(cert)}\n  key: |\n{indent(key)}\n"
                           f"  client_ca: |\n{indent(ca)}\n"
                           "  client_auth_type: RequireAndVerifyClientCert\n"
                           "  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"
                           "  curve_preferences: [CurveP256]\n")
    ctx = build_ssl_context(cfg)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert tls_range(ctx) == ("TLS13", "TLS13")
    assert len(ctx.get_ca_certs()) == 1
    assert not [n for n in os.listdir("/tmp") if n.startswith("accelnet-tls-")], \
        "inline key material does not stay on disk"


@pytest.mark.parametrize("which, content, expected", [
    ("cert_file", None, "tls_server_config.cert_file: no such file"),
    ("key_file", None, "tls_server_config.key_file: no such file"),
    ("cert_file", "not a certificate\n", "cannot load the key pair"),
])
def test_ssl_context_errors_name_the_key(tmp_path, pki, which, content, expected):
    paths = {"cert_file": pki.server_cert, "key_file": pki.server_key}
    target = tmp_path / "broken.pem"
    if content is not None:
        target.write_text(content)
    paths[which] = str(target)
    cfg = _write(tmp_path, "tls_server_config:\n" + "".join(f"  {k}: {v}\n" for k, v in paths.items()))
    with pytest.raises(WebConfigError) as info:
        build_ssl_context(cfg)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_mismatched_key_is_refused(tmp_path, pki):
    cfg = _write(tmp_path, f"tls_server_config:\n  cert_file: {pki.server_cert}\n"
                           f"  key_file: {pki.client_key}\n")
    with pytest.raises(WebConfigError, match="cannot load the key pair"):
        build_ssl_context(cfg)


def test_san_matching_compares_ip_addresses_as_addresses():
    cert = {"subjectAltName": (("DNS", "a.example"), ("IP Address", "0:0:0:0:0:0:0:1"))}
    assert san_allowed(cert, ["::1"])
    assert san_allowed(cert, ["a.example"])
    assert not san_allowed(cert, ["b.example", "127.0.0.1"])
    assert not san_allowed(None, ["a.example"])
    assert not san_allowed({}, ["a.example"])
