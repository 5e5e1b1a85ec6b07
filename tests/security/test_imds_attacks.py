"""IMDS answers are untrusted too: a redirect is a failure and is never followed (the
``Metadata: true`` header never reaches another server, and its document is never used),
an answer that drips a byte at a time ends at one deadline per fetch (not per read), one
over 1 MiB is refused; and the agent's refresh has a deadline of its own, so a source that
hangs is its collector's ``success 0``, never a refresh that stops feeding the watchdog.

IMDS is a stand-in on loopback (tests/imdsserver.py); never 169.254.169.254.
"""

import json
import os
import threading

import pytest
from prometheus_client.exposition import generate_latest

from accelnet.agent.daemon import Agent, AgentConfig
from accelnet.diagnosis.facts import Options, gather
from accelnet.readers.platform import IMDS_DEADLINE_S, IMDS_MAX_BYTES, fetch_imds

from hostile import FIXTURES
from imdsserver import FakeImds, fixture_host, recorded_capture

FIXTURE = os.path.join(FIXTURES, "ubuntu2204-cx5-2nics")


def _asking(url, bound=lambda fetch: fetch):
    return fixture_host(FIXTURE, url, bound=bound)


def _recorded(name):
    return recorded_capture(FIXTURE, name)


def _doc(vm_size):
    with open(os.path.join(FIXTURE, "cmd", "imds.json")) as handle:
        doc = json.load(handle)
    doc["compute"]["vmSize"] = vm_size
    return doc


# -- the client -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_and_is_never_followed(code):
    with FakeImds(_doc("Attacker_Size")) as elsewhere, FakeImds(mode="redirect", redirect_code=code) as imds:
        imds.redirect_to = elsewhere.url
        with pytest.raises(OSError, match="IMDS answered %d .*never followed" % code):
            fetch_imds(imds.url)
        assert len(imds.requests) == 1 and imds.requests[0][2] == "true"
        assert elsewhere.requests == [], "the Metadata header went to the redirect's target"


def test_a_redirect_through_the_check_leaves_the_size_unknown():
    with FakeImds(_doc("Attacker_Size")) as elsewhere, FakeImds(mode="redirect") as imds:
        imds.redirect_to = elsewhere.url
        host = _asking(imds.url)
        facts = gather(host, Options(sample_seconds=0))
        assert elsewhere.requests == []
    assert facts.imds is None and facts.imds_state != "ok"
    assert "302" in host.capture_problem("imds")


def test_a_dripping_answer_ends_at_one_deadline_per_fetch():
    """Headers at once, then one byte every 0.2 s: a per-read timeout never fires; the
    fetch's one deadline does, after about deadline/drip bytes."""
    with FakeImds(mode="drip", drip_s=0.2) as imds:
        with pytest.raises(OSError, match="no answer within 1 s"):
            fetch_imds(imds.url, deadline_s=1.0)
        sent = imds.bytes_sent
    assert len(imds.requests) == 1
    assert sent <= 1.0 / 0.2 + 2, sent


def test_a_dripping_imds_costs_the_check_one_deadline():
    """The check's own path (live capture, default deadline): IMDS unavailable, with the
    reason, after at most IMDS_DEADLINE_S worth of dripped bytes."""
    with FakeImds(mode="drip", drip_s=1.0) as imds:
        host = _asking(imds.url)
        facts = gather(host, Options(sample_seconds=0))
        sent = imds.bytes_sent
    assert facts.imds is None and facts.imds_state != "ok"
    assert "no answer within %g s" % IMDS_DEADLINE_S in host.capture_problem("imds")
    assert sent <= IMDS_DEADLINE_S / 1.0 + 2, sent


def test_an_answer_over_1_mib_is_refused_after_reading_at_most_1_mib():
    with FakeImds(mode="huge", huge_bytes=8 << 20) as imds:
        with pytest.raises(OSError, match="larger than 1 MiB"):
            fetch_imds(imds.url)
    assert IMDS_MAX_BYTES == 1 << 20


def test_an_honest_imds_still_answers():
    with FakeImds(_doc("Standard_D8s_v5")) as imds:
        assert json.loads(fetch_imds(imds.url))["compute"]["vmSize"] == "Standard_D8s_v5"


# -- the agent's refresh ---------------------------------------------------------------------


class _HungImds:
    """An IMDS that never answers until released (a DNS lookup that hangs, a socket stuck
    below Python's timeouts)."""

    def __init__(self):
        self.release = threading.Event()
        self.imds_calls = 0

    def __call__(self):
        self.imds_calls += 1
        self.release.wait(120)
        return _recorded("imds")


def _success(body, collector):
    line = 'accelnet_scrape_collector_success{collector="%s"} ' % collector
    return [float(l.split()[-1]) for l in body.splitlines() if l.startswith(line)]


def test_a_hung_source_is_its_collectors_failure_not_a_hung_refresh():
    hung = _HungImds()
    agent = Agent(AgentConfig(listen="127.0.0.1:0", web=False, events=False, refresh_deadline=1.0),
                  open_host=lambda bound: fixture_host(FIXTURE, imds=hung, bound=bound))
    try:
        finished = threading.Event()
        starter = threading.Thread(target=lambda: (agent.start(), finished.set()), daemon=True)
        starter.start()
        assert finished.wait(60), "the first refresh waited for the hung source"
        assert agent.heartbeat is not None and agent.healthy(max_age=60), "the watchdog would starve"
        body = generate_latest(agent.registry).decode()
        assert _success(body, "imds") == [0.0] and _success(body, "checks") == [1.0]
        assert "accelnet_imds_up 0.0" in body
        assert "within the refresh's 1 s" in agent._host.capture_problem("imds")
        for _ in range(2):  # the hung call is not started again while it runs
            agent.refresh()
        assert hung.imds_calls == 1
        assert _success(generate_latest(agent.registry).decode(), "imds") == [0.0]
        hung.release.set()  # it answers at last: the next refresh takes the answer
        agent._sources._running["imds"].done.wait(10)
        agent.refresh()
        body = generate_latest(agent.registry).decode()
        assert _success(body, "imds") == [1.0] and "accelnet_imds_up 1.0" in body
        assert hung.imds_calls == 1
    finally:
        hung.release.set()
        agent.stop()


def test_agent_once_against_a_dripping_imds_ends_at_the_fetch_deadline(tmp_path):
    """``accelnet-agent --once`` (run_once): the dripping IMDS is cut by the fetch's own
    deadline, the textfile is written and says IMDS is down."""
    textfile = tmp_path / "accelnet.prom"
    with FakeImds(mode="drip", drip_s=1.0) as imds:
        agent = Agent(AgentConfig(textfile=str(textfile), web=False), open_host=lambda bound: _asking(imds.url, bound))
        try:
            agent.run_once()
        finally:
            agent.stop()
        sent = imds.bytes_sent
    text = textfile.read_text()
    assert "accelnet_imds_up 0.0" in text
    assert sent <= IMDS_DEADLINE_S / 1.0 + 2, sent
