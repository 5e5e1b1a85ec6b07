"""The real agent under attack: a web-config reload never fails open, and slow or idle
clients, wrong passwords and clients that pipeline without reading never keep a scrape from
being answered (plain HTTP and TLS)."""

import os
import statistics
import subprocess
import sys
import time

import bcrypt
import pytest

from agent import FIXTURE, REPO, Agent, HeldPasswords, SlowClients, scrape_latencies
from webhelpers import PipeliningReaders, WrongPasswordClients

USERS = "basic_auth_users:\n  alice: {}\n".format(bcrypt.hashpw(b"secret", bcrypt.gensalt(4)).decode())
ALICE = {"Authorization": "Basic YWxpY2U6c2VjcmV0"}  # alice:secret


def _tls(pki, extra: str = "") -> str:
    return f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n" + extra


@pytest.fixture
def agents(tmp_path):
    started = []

    def start(*args, **kwargs):
        agent = Agent(str(tmp_path), *args, **kwargs)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def _wait_for_log(agent, text, timeout=15.0, poke=None):
    deadline = time.monotonic() + timeout
    while text not in agent.log():
        assert time.monotonic() < deadline, f"no {text!r} in: {agent.log()[-2000:]}"
        if poke is not None:
            assert poke() == 401
        time.sleep(0.1)


@pytest.mark.parametrize("replacement", ["", "# just a comment\n", "basic_auth_users: [oops\n",
                                         "rate_limit:\n  interval: 0s\n"],
                         ids=["truncated", "comment-only", "unparsable", "drops-auth"])
def test_reload_never_drops_basic_auth(tmp_path, agents, replacement):
    config = tmp_path / "web.yml"
    config.write_text(USERS)
    agent = agents(str(config))
    agent.wait_serving()
    assert agent.status() == 401 and agent.status(headers=ALICE) == 200
    config.write_text(replacement)  # what an editor does first, or a bad edit
    agent.hup()
    _wait_for_log(agent, "keeping the previous one")
    assert agent.status() == 401, "a reload turned basic auth off"
    assert agent.status(headers=ALICE) == 200
    # the file-change path (no SIGHUP; checked when requests come) refuses it too
    _wait_for_log(agent, "keeping the previous web config", poke=agent.status)
    assert agent.status() == 401
    # and a good new file still takes effect
    config.write_text(USERS.replace("alice", "bob"))
    agent.hup()
    _wait_for_log(agent, "web configuration reloaded")
    assert agent.status(headers=ALICE) == 401


def test_reload_never_drops_tls(tmp_path, agents, pki):
    config = tmp_path / "web.yml"
    config.write_text(_tls(pki))
    agent = agents(str(config))
    ctx = pki.client_context()
    agent.wait_serving(ctx)
    config.write_text("")
    agent.hup()
    # two SIGHUPs close together may be taken as one: the second write waits for the first reload
    _wait_for_log(agent, "the file is empty")
    config.write_text(USERS)  # valid, but without TLS
    agent.hup()
    _wait_for_log(agent, "it would turn TLS off")
    assert agent.status(context=ctx) == 200
    with pytest.raises(Exception):
        agent.status(timeout=3)  # plain HTTP is not served


def test_empty_web_config_at_start_is_an_error(tmp_path):
    config = tmp_path / "web.yml"
    config.write_text("# nothing yet\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "agent"))
    result = subprocess.run([sys.executable, "-m", "accelnet.cli.agent", "--snapshot", FIXTURE, "--no-imds",
                             "--web.listen-address", "127.0.0.1:0", "--web.config.file", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=60)
    assert result.returncode != 0
    assert "empty or holds only comments" in result.stderr, result.stderr


def test_web_config_from_systemd_credentials(tmp_path, agents, pki):
    """LoadCredential= hands the web config, certificate and key over in
    $CREDENTIALS_DIRECTORY; relative names in the config resolve there."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    for src, name in ((pki.server_cert, "tls.crt"), (pki.server_key, "tls.key")):
        (creds / name).write_bytes(open(src, "rb").read())
    (creds / "web-config.yml").write_text("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n" + USERS)
    agent = agents(env={"CREDENTIALS_DIRECTORY": str(creds)})
    ctx = pki.client_context()
    agent.wait_serving(ctx)
    assert agent.status(context=ctx) == 401
    assert agent.status(context=ctx, headers=ALICE) == 200


@pytest.mark.parametrize("mode", ["drip", "idle"])
@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
def test_scrapes_answered_while_64_slow_clients_hold_connections(tmp_path, agents, pki, mode, tls):
    config = tmp_path / "web.yml"
    config.write_text(_tls(pki) if tls else "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n")
    agent = agents(str(config))
    ctx = pki.client_context() if tls else None
    agent.wait_serving(ctx)
    # each scrape must be answered within 5 s (urlopen's timeout), over several of the slow
    # clients' header lines
    _scrapes_under(agent, ctx, SlowClients(agent.port, 64, mode, every=3.0, context=ctx), 16, 0.5)


def _scrapes_under(agent, ctx, attackers, count, interval, headers=None, timeout=5.0):
    """``count`` scrapes while ``attackers`` run, each answered 200 within ``timeout``; the agent lives."""
    try:
        time.sleep(1.0)
        latencies = scrape_latencies(agent, count, ctx, headers=headers, timeout=timeout, interval=interval)
    finally:
        attackers.close()
    print(f"{type(attackers).__name__} {'tls' if ctx else 'http'}: p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms over {len(latencies)} scrapes")
    assert agent.proc.poll() is None


def _with_users(pki, tls: bool) -> str:
    users = "basic_auth_users:\n  alice: {}\n".format(bcrypt.hashpw(b"secret", bcrypt.gensalt(10)).decode())
    return _tls(pki, users) if tls else users


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
def test_scrapes_answered_while_150_clients_send_wrong_passwords(tmp_path, agents, pki, tls):
    """150 clients from 150 addresses sending a wrong password (bcrypt at cost 10) starved
    every authenticated scrape before (all 503): bcrypt ran in the shared pool under one
    lock. Now every scrape with the scraper's (cached) credentials is answered."""
    config = tmp_path / "web.yml"
    config.write_text(_with_users(pki, tls))
    agent = agents(str(config))
    ctx = pki.client_context() if tls else None
    agent.wait_serving(ctx)
    assert agent.status(context=ctx, headers=ALICE) == 200  # its credentials are cached now
    attackers = WrongPasswordClients(agent.port, 150, sources=150, context=ctx)
    _scrapes_under(agent, ctx, attackers, 20, 0.25, headers=ALICE)
    print(f"the attackers got {attackers.answers} answers: {attackers.statuses}")
    assert set(attackers.statuses) <= {401}


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
def test_scrapes_answered_while_20_clients_pipeline_1500_requests_and_never_read(tmp_path, agents, pki, tls):
    """Each held a worker in a blocking write (10 s) before: scrapes took 7-9 s."""
    config = tmp_path / "web.yml"
    config.write_text(_tls(pki) if tls else "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n")
    agent = agents(str(config))
    ctx = pki.client_context() if tls else None
    agent.wait_serving(ctx)
    _scrapes_under(agent, ctx, PipeliningReaders(agent.port, 20, 1500, context=ctx), 20, 0.25)


@pytest.mark.parametrize("fd_limit", [1024, None], ids=["1024-fds", "default-fds"])
def test_scrapes_answered_while_1500_connections_hold_wrong_passwords(tmp_path, agents, fd_limit):
    """A wrong password waits for its turn at bcrypt on a socket, off the reception's bound:
    1,500 such connections from one address took every file descriptor of an agent under
    the unit's default soft limit (1,024), accept failed with EMFILE (a warning every 50 ms)
    and scrapes timed out. The waiting connections are bounded to fit the descriptors (the
    client holding the most loses its oldest), the agent raises its soft limit when the hard
    one allows, and a full descriptor table makes a held connection give way to a new one.
    With only 1,024 descriptors the agent must close connections the attacker opens again at
    once, and a scraper's SYN may wait behind them for a retry: each scrape is answered within
    Prometheus's default scrape timeout (10 s) then; with the default limit, within 5 s."""
    config = tmp_path / "web.yml"
    config.write_text(USERS)
    agent = agents(str(config), fd_limit=fd_limit)
    agent.wait_serving()
    assert agent.status(headers=ALICE) == 200  # its credentials are cached now
    attackers = HeldPasswords(agent.port, 1500)
    _scrapes_under(agent, None, attackers, 20, 0.25, headers=ALICE, timeout=10.0 if fd_limit else 5.0)
    print(f"the attackers opened {attackers.opened} connections, {attackers.closed} closed by the agent")
    assert agent.log().count("Too many open files") <= 1, agent.log()[-2000:]
