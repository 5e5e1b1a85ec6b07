"""EthtoolReader against the real kernel (veth, bridge, lo) in a private namespace."""

import errno
import fcntl
import socket
import time

import pytest

from accelnet.kernel import ethtool, netns
from accelnet.kernel.ethtool import (CountersUnavailable, EthtoolReader, NoStats, NoSuchInterface,
                                     Unsupported)
from accelnet.parsers.ethtool_text import parse_ethtool_stats
from kernel_helpers import ethtool as run_ethtool
from kernel_helpers import ethtool_s, ethtool_s_text, parse


@pytest.fixture
def reader(ns):
    with netns.entered(ns):
        r = EthtoolReader()
    try:
        yield r
    finally:
        r.close()


def _veth(ns, queues=4):
    netns.add_veth(ns, "va", "vb", queues=queues)
    netns.ip("link", "set", "va", "up", netns=ns)
    netns.ip("link", "set", "vb", "up", netns=ns)


def _ifindex(ns, name):
    return int(netns.ip("-o", "link", "show", name, netns=ns).stdout.split(":", 1)[0])


def test_veth_stats_equal_ethtool_S(ns, reader, ethtool_bin):
    _veth(ns)
    ours = list(reader.stats("va").items())
    text = ethtool_s_text(ns, "va")
    theirs = parse(text)
    assert ours == theirs
    # the product's snapshot parser reads the same text to the same values, in order
    assert list(parse_ethtool_stats(text).items()) == ours
    assert len(ours) > 1
    # peer_ifindex is a real non-zero value: it must sit under its own name
    assert dict(ours)["peer_ifindex"] == _ifindex(ns, "vb")
    assert reader.stats("vb")["peer_ifindex"] == _ifindex(ns, "va")
    assert reader.stat_names("va") == tuple(name for name, _ in theirs)


def test_driver_info_equals_ethtool_i(ns, reader, ethtool_bin):
    _veth(ns)
    text = run_ethtool(ns, "-i", "va")
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    info = reader.driver_info("va")
    assert info.driver == fields["driver"] == "veth"
    assert info.version == fields["version"]
    assert info.n_stats == len(ethtool_s(ns, "va"))


def test_channel_change_is_followed_with_the_right_names(ns, reader, ethtool_bin):
    _veth(ns, queues=4)
    run_ethtool(ns, "-L", "va", "rx", "1", "tx", "1")
    before = reader.stats("va")  # names now cached for one channel
    assert list(before.items()) == ethtool_s(ns, "va")

    run_ethtool(ns, "-L", "va", "rx", "4", "tx", "4")
    grown = reader.stats("va")
    assert len(grown) > len(before)
    assert list(grown.items()) == ethtool_s(ns, "va")
    assert "rx_queue_3_drops" in grown and "tx_queue_3_xdp_xmit" in grown

    run_ethtool(ns, "-L", "va", "rx", "2", "tx", "3")
    shrunk = reader.stats("va")
    assert list(shrunk.items()) == ethtool_s(ns, "va")
    assert "rx_queue_2_drops" not in shrunk and "tx_queue_2_xdp_xmit" in shrunk
    assert reader.stat_names("va") == tuple(shrunk)


def test_deleted_interface_is_no_such_interface(ns, reader):
    _veth(ns)
    assert reader.stats("va")
    netns.delete_link(ns, "va")
    with pytest.raises(NoSuchInterface):
        reader.stats("va")
    with pytest.raises(NoSuchInterface):
        reader.driver_info("vb")  # the peer went with it
    with pytest.raises(NoSuchInterface):
        reader.stats("never-there")


def test_bridge_and_loopback_have_no_stats(ns, reader, ethtool_bin):
    netns.add_bridge(ns, "br0")
    for name in ("br0", "lo"):
        with pytest.raises(NoStats):
            reader.stats(name)
        assert "no stats available" in netns.ip("netns", "exec", ns, "ethtool", "-S", name,
                                                   check=False).stderr
    assert reader.driver_info("br0").driver == "bridge"
    with pytest.raises(Unsupported):
        reader.driver_info("lo")  # lo has no get_drvinfo: EOPNOTSUPP


def test_invalid_names_are_refused_cleanly(reader):
    for bad in ("", "x" * 16, "a/b", "a\0b"):
        with pytest.raises(NoSuchInterface):
            reader.stats(bad)


def test_ifname_by_index(ns, reader):
    _veth(ns)
    assert reader.ifname(_ifindex(ns, "va")) == "va"
    with pytest.raises(NoSuchInterface):
        reader.ifname(999999)


class _Faults:
    """Fault injection in front of the real ioctl: answer chosen SIOCETHTOOL commands with an
    errno (as netvsc does while re-attaching), or shrink the count GSTATS reports (as a
    channel change between two calls does). Everything else reaches the kernel."""

    def __init__(self, monkeypatch):
        self.real = fcntl.ioctl
        self.errno_for = {}
        self.gstats_delta = []
        monkeypatch.setattr(ethtool.fcntl, "ioctl", self)

    def __call__(self, fd, request, arg):
        if request == ethtool.SIOCETHTOOL:
            import ctypes
            import struct
            addr = ethtool._IFREQ.unpack(arg)[1]
            cmd = struct.unpack("=I", ctypes.string_at(addr, 4))[0]
            if cmd in self.errno_for:
                raise OSError(self.errno_for[cmd], "injected")
            out = self.real(fd, request, arg)
            if cmd == ethtool.ETHTOOL_GSTATS and self.gstats_delta:
                delta = self.gstats_delta.pop(0)
                n = struct.unpack_from("=I", ctypes.string_at(addr + 4, 4))[0]
                ctypes.memmove(addr + 4, struct.pack("=I", n + delta), 4)
            return out
        return self.real(fd, request, arg)


@pytest.mark.parametrize("code", [errno.ENODEV, errno.EBUSY, errno.EAGAIN])
def test_reattaching_driver_is_counters_unavailable(ns, reader, monkeypatch, code):
    _veth(ns)
    faults = _Faults(monkeypatch)
    faults.errno_for[ethtool.ETHTOOL_GSSET_INFO] = code
    with pytest.raises(CountersUnavailable):
        reader.stats("va")
    faults.errno_for.clear()
    assert reader.stats("va")  # the state passes; the reader keeps working


def test_count_changing_once_rereads_names(ns, reader, monkeypatch):
    _veth(ns)
    expected = reader.stats("va")
    faults = _Faults(monkeypatch)
    faults.gstats_delta = [+3]  # one read reports a count that does not match the names
    assert reader.stats("va") == expected
    assert faults.gstats_delta == []


def test_count_changing_twice_never_mismatches(ns, reader, monkeypatch, ethtool_bin):
    _veth(ns)
    reader.stats("va")
    faults = _Faults(monkeypatch)
    faults.gstats_delta = [-1, -1]
    with pytest.raises(CountersUnavailable):
        reader.stats("va")
    assert faults.gstats_delta == []
    assert list(reader.stats("va").items()) == ethtool_s(ns, "va")


def test_closed_reader_refuses_instead_of_touching_a_reused_fd(ns):
    with netns.entered(ns):
        with EthtoolReader() as r:
            assert r.ifname(1) == "lo"
    with pytest.raises(ethtool.EthtoolError, match="closed"):
        r.stats("lo")


def test_same_count_layout_change_is_caught_by_the_name_ttl(ns, ethtool_bin):
    """1 + 7·rx + 2·tx stats: rx 1 / tx 8 and rx 3 / tx 1 both give 24, with other names.
    A count check alone cannot see this (netvsc: one channel fewer and one CPU more); the
    names' age limit bounds how long it can go unseen."""
    _veth(ns, queues=8)
    run_ethtool(ns, "-L", "va", "rx", "1", "tx", "8")
    with netns.entered(ns):
        lazy, strict, short = EthtoolReader(name_ttl=3600), EthtoolReader(name_ttl=0), \
            EthtoolReader(name_ttl=0.3)
    try:
        for r in (lazy, strict, short):
            assert list(r.stats("va").items()) == ethtool_s(ns, "va")
        run_ethtool(ns, "-L", "va", "rx", "3", "tx", "1")
        truth = ethtool_s(ns, "va")
        assert len(truth) == len(lazy.stat_names("va"))  # same count...
        assert tuple(n for n, _ in truth) != lazy.stat_names("va")  # ...other layout
        assert list(strict.stats("va").items()) == truth
        time.sleep(0.35)
        assert list(short.stats("va").items()) == truth
    finally:
        for r in (lazy, strict, short):
            r.close()


def test_same_count_layout_change_is_caught_at_once_through_the_channels(ns, ethtool_bin):
    """The same veth change as above, with names that never age: the channels read after
    each GSTATS see it, in the scrape path (stats_of) and in stats()."""
    _veth(ns, queues=8)
    run_ethtool(ns, "-L", "va", "rx", "1", "tx", "8")
    with netns.entered(ns):
        readers = EthtoolReader(name_ttl=3600), EthtoolReader(name_ttl=3600)
    try:
        for r in readers:
            assert list(r.stats_of(["va"])["va"].items()) == ethtool_s(ns, "va")
        run_ethtool(ns, "-L", "va", "rx", "3", "tx", "1")
        truth = ethtool_s(ns, "va")
        assert len(truth) == len(readers[0].stat_names("va"))  # same count, other names
        assert list(readers[0].stats_of(["va"])["va"].items()) == truth
        assert list(readers[1].stats("va").items()) == truth
    finally:
        for r in readers:
            r.close()


def test_another_interface_under_the_same_name_is_read_with_its_own_names(ns, monkeypatch, ethtool_bin):
    """Deleted and made again under the same name with the same count and other names, by a
    driver without channels (EOPNOTSUPP, injected): its new index has the names re-read."""
    faults = _Faults(monkeypatch)
    faults.errno_for[ethtool.ETHTOOL_GCHANNELS] = errno.EOPNOTSUPP
    netns.ip("link", "add", "va", "numrxqueues", "1", "numtxqueues", "8", "type", "veth", "peer", "vb", netns=ns)
    with netns.entered(ns):
        r = EthtoolReader(name_ttl=3600)
    try:
        assert list(r.stats_of(["va"])["va"].items()) == ethtool_s(ns, "va")
        netns.delete_link(ns, "va")
        netns.ip("link", "add", "va", "numrxqueues", "3", "numtxqueues", "1", "type", "veth", "peer", "vb", netns=ns)
        truth = ethtool_s(ns, "va")
        assert len(truth) == len(r.stat_names("va")) and tuple(n for n, _ in truth) != r.stat_names("va")
        assert list(r.stats_of(["va"])["va"].items()) == truth
    finally:
        r.close()


def test_an_interface_name_that_is_not_utf8(ns, ethtool_bin):
    """os.listdir's surrogates go back to the kernel as the bytes they stand for (once a
    UnicodeEncodeError that stopped the agent at start-up)."""
    name = "va\udcff"  # b"va\xff"
    netns.add_veth(ns, name, "vb", queues=1)
    with netns.entered(ns):
        r = EthtoolReader()
    try:
        assert list(r.stats_of([name])[name].items()) == ethtool_s(ns, name)
        assert r.driver_info(name).driver == "veth"
        with netns.entered(ns):
            index = socket.if_nametoindex(name)
        assert r.ifname(index) == name
    finally:
        r.close()
