"""The agent's live sources within a refresh's deadline (agent/sources.py): a hung one is
late for this refresh, is not started again while it runs, and does not make the quick
ones asked after it late; an error in a source reaches the refresh as before."""

import threading

import pytest

from accelnet.agent.sources import BoundedSources, collector_of
from accelnet.readers.host import CaptureUnavailable


def test_a_hung_source_is_late_and_the_quick_ones_after_it_are_not():
    release = threading.Event()
    calls = []

    def fetch(name):
        calls.append(name)
        if name == "imds":
            release.wait(30)
            return "late doc"
        return name.upper()

    sources = BoundedSources(fetch, deadline_s=0.2)
    try:
        sources.begin()
        with pytest.raises(CaptureUnavailable, match="within the refresh's 0.2 s"):
            sources("imds")
        assert [sources(n) for n in ("lspci", "ethtool-i.eth0", "dmesg")] == ["LSPCI", "ETHTOOL-I.ETH0", "DMESG"]
        assert sources.late == {"imds"}
        assert sources.running() == 1
        sources.begin()  # the next refresh: still hung, not started again
        with pytest.raises(CaptureUnavailable):
            sources("imds")
        assert sources.late == {"imds"}
        assert calls.count("imds") == 1
        release.set()
        sources.begin()
        assert sources("imds") == "late doc" and sources.late == set()
        assert sources.running() == 0
        sources.begin()
        assert sources("imds") == "late doc" and calls.count("imds") == 2  # asked anew
    finally:
        release.set()


def test_a_source_that_fails_fails_the_refresh_as_before():
    def fetch(name):
        raise RuntimeError("bug in " + name)

    sources = BoundedSources(fetch, deadline_s=5)
    sources.begin()
    with pytest.raises(RuntimeError, match="bug in lspci"):
        sources("lspci")
    assert sources.running() == 0


def test_each_source_belongs_to_one_collector():
    assert [collector_of(n) for n in ("imds", "dmesg", "lspci", "ethtool-P.eth0")] == [
        "imds", "events", "discovery", "discovery"]
