"""Link dumps: our codec against pyroute2 on the same kernel, and the codec on bad input."""

import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.kernel import netlink, netns
from accelnet.parsers import rtnl
from accelnet.parsers.rtnl import Link, RtnlParseError


def _ip_links(ns):
    """`ip -o link` as {name: (index, mac, master name)}: an independent witness."""
    out = {}
    for line in netns.ip("-o", "link", "show", netns=ns).stdout.splitlines():
        index, rest = line.split(": ", 1)
        name = rest.split(":", 1)[0].split("@", 1)[0]
        words = rest.split()
        master = words[words.index("master") + 1] if "master" in words else None
        mac = words[words.index("link/ether") + 1] if "link/ether" in words else None
        out[name] = (int(index), mac, master)
    return out


def _link_from_pyroute2(msg) -> netlink.Link:
    """A pyroute2 ifinfmsg as a Link: pyroute2 is the independent decoder our codec is held to."""
    linkinfo = msg.get_attr("IFLA_LINKINFO")
    stats = msg.get_attr("IFLA_STATS64")
    return netlink.Link(
        index=msg["index"],
        name=msg.get_attr("IFLA_IFNAME"),
        mac=msg.get_attr("IFLA_ADDRESS"),
        perm_mac=msg.get_attr("IFLA_PERM_ADDRESS"),
        operstate=msg.get_attr("IFLA_OPERSTATE") or "UNKNOWN",
        flags=msg["flags"],
        master=msg.get_attr("IFLA_MASTER") or None,
        kind=linkinfo.get_attr("IFLA_INFO_KIND") if linkinfo is not None else None,
        stats64={k: v for k, v in stats.items() if k in rtnl.STATS64_NAMES} if stats is not None else {},
    )


def test_dump_matches_ip_link_and_pyroute2(ns):
    from pyroute2 import IPRoute

    netns.add_bridge(ns, "eth0")
    netns.add_veth(ns, "enP1s1", "peer")
    netns.set_master(ns, "enP1s1", "eth0")
    netns.ip("link", "set", "enP1s1", "up", netns=ns)
    netns.ip("link", "set", "peer", "up", netns=ns)
    with netns.entered(ns):
        ours = netlink.dump_links()
        with IPRoute() as ipr:
            theirs = [_link_from_pyroute2(m) for m in ipr.get_links()]
    by_index = {l.index: l for l in ours}
    witness = _ip_links(ns)
    assert {l.name for l in ours} == set(witness) == {"lo", "eth0", "enP1s1", "peer"}
    for link in ours:
        index, mac, master = witness[link.name]
        assert link.index == index
        if mac is not None:
            assert link.mac == mac
        assert (by_index[link.master].name if link.master else None) == master
    assert by_index[witness["enP1s1"][0]].kind == "veth"
    assert by_index[witness["eth0"][0]].kind == "bridge"
    assert [l.index for l in ours] == [l.index for l in theirs]
    for a, b in zip(ours, theirs):
        assert (a.name, a.mac, a.perm_mac, a.operstate, a.flags, a.master, a.kind) == \
            (b.name, b.mac, b.perm_mac, b.operstate, b.flags, b.master, b.kind)
        shared = set(a.stats64) & set(b.stats64)
        assert len(shared) >= 23
        assert {k: a.stats64[k] for k in shared if k.endswith("errors")} == \
            {k: b.stats64[k] for k in shared if k.endswith("errors")}


def test_stats64_counts_traffic(ns):
    """Loopback of our own namespace only: 5 UDP datagrams must show in lo's stats64."""
    with netns.entered(ns):
        before = {l.name: l for l in netlink.dump_links()}["lo"].stats64
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            rx.bind(("127.0.0.1", 0))
            for _ in range(5):
                tx.sendto(b"x" * 100, rx.getsockname())
        after = {l.name: l for l in netlink.dump_links()}["lo"].stats64
    assert after["tx_packets"] - before["tx_packets"] == 5
    assert after["rx_packets"] - before["rx_packets"] == 5
    assert after["tx_bytes"] - before["tx_bytes"] >= 5 * 100


def test_is_slave_follows_iff_slave():
    base = dict(index=5, name="enP1s1", mac=None, perm_mac=None, operstate="UP", master=2, kind=None)
    assert Link(flags=rtnl.IFF_UP | rtnl.IFF_SLAVE, **base).is_slave
    assert not Link(flags=rtnl.IFF_UP, **base).is_slave


def _attr(atype, data):
    length = 4 + len(data)
    return struct.pack("=HH", length, atype) + data + b"\0" * ((4 - length % 4) % 4)


def _newlink(index, name, master=None, extra=b""):
    body = struct.pack("=BxHiII", 0, 1, index, rtnl.IFF_SLAVE, 0)
    body += _attr(rtnl.IFLA_IFNAME, name.encode() + b"\0")
    body += _attr(rtnl.IFLA_ADDRESS, bytes([0, 0x0d, 0x3a, 0xf5, 0x76, 0xbd]))
    if master is not None:
        body += _attr(rtnl.IFLA_MASTER, struct.pack("=I", master))
    body += _attr(rtnl.IFLA_OPERSTATE, b"\x06")
    body += _attr(rtnl.IFLA_LINKINFO | 0x8000, _attr(rtnl.IFLA_INFO_KIND, b"veth\0"))
    body += extra
    return struct.pack("=IHHII", 16 + len(body), rtnl.RTM_NEWLINK, 0, 0, 0) + body


def test_codec_reads_a_hand_built_message():
    stats = _attr(rtnl.IFLA_STATS64, struct.pack("=3Q", 7, 8, 9))
    buf = _newlink(7, "enP53091s1np0", master=2, extra=stats) + _newlink(8, "eth9")
    msgs = list(rtnl.iter_messages(buf))
    assert [m.type for m in msgs] == [rtnl.RTM_NEWLINK] * 2
    link = rtnl.parse_link(msgs[0].payload)
    assert (link.index, link.name, link.master, link.mac, link.operstate, link.kind) == \
        (7, "enP53091s1np0", 2, "00:0d:3a:f5:76:bd", "UP", "veth")
    assert link.stats64 == {"rx_packets": 7, "tx_packets": 8, "rx_bytes": 9}
    assert link.is_slave
    assert rtnl.parse_link(msgs[1].payload).master is None


def test_codec_refuses_truncated_input():
    good = _newlink(7, "eth0", master=2)
    with pytest.raises(RtnlParseError):
        list(rtnl.iter_messages(good[:-3]))
    with pytest.raises(RtnlParseError):
        rtnl.parse_link(good[16:30])
    nameless = struct.pack("=BxHiII", 0, 1, 3, 0, 0)
    with pytest.raises(RtnlParseError, match="IFLA_IFNAME"):
        rtnl.parse_link(nameless)
    with pytest.raises(RtnlParseError):
        rtnl.parse_link(nameless + _attr(rtnl.IFLA_IFNAME, b"x\0") + _attr(rtnl.IFLA_MASTER, b"\1"))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_codec_raises_only_parse_errors_on_garbage(data):
    try:
        for msg in rtnl.iter_messages(data):
            rtnl.parse_link(msg.payload)
    except ParseError:
        pass
    try:
        rtnl.parse_link(data)
    except ParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2 ** 31 - 1), st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=15),
       st.one_of(st.none(), st.integers(1, 2 ** 32 - 1)))
def test_codec_round_trips_built_messages(index, name, master):
    msg = next(rtnl.iter_messages(_newlink(index, name, master)))
    link = rtnl.parse_link(msg.payload)
    assert (link.index, link.name, link.master) == (index, name, master)


def test_codec_numbers_are_the_kernels_as_pyroute2_knows_them():
    # The hand-built messages above use rtnl's own numbers; pyroute2 is an independent table
    # of include/uapi/linux/{netlink,rtnetlink,if_link,if}.h.
    from pyroute2 import netlink as nl
    from pyroute2.netlink import rtnl as rt
    from pyroute2.netlink.rtnl.ifinfmsg import IFF_MASTER, IFF_SLAVE, IFF_UP, ifinfmsg

    ifla = {entry[0]: number for number, entry in enumerate(ifinfmsg.nla_map)}
    info = {entry[0]: number for number, entry in enumerate(ifinfmsg.ifinfo.nla_map)}
    ours = {name: getattr(rtnl, name) for name in (
        "NLMSG_NOOP", "NLMSG_ERROR", "NLMSG_DONE", "NLMSG_OVERRUN", "NLM_F_REQUEST", "NLM_F_MULTI",
        "NLM_F_DUMP_INTR", "NLM_F_DUMP", "RTM_NEWLINK", "RTM_DELLINK", "RTM_GETLINK", "IFF_UP", "IFF_SLAVE",
        "IFF_MASTER", "AF_UNSPEC", "IFLA_ADDRESS", "IFLA_IFNAME", "IFLA_MASTER", "IFLA_OPERSTATE",
        "IFLA_LINKINFO", "IFLA_STATS64", "IFLA_PERM_ADDRESS", "IFLA_INFO_KIND")}
    theirs = {name: getattr(nl, name, None) for name in ours if name.startswith("NLM")}
    theirs.update({name: getattr(rt, name) for name in ("RTM_NEWLINK", "RTM_DELLINK", "RTM_GETLINK")})
    theirs.update(IFF_UP=IFF_UP, IFF_SLAVE=IFF_SLAVE, IFF_MASTER=IFF_MASTER, AF_UNSPEC=socket.AF_UNSPEC,
                  IFLA_INFO_KIND=info["IFLA_INFO_KIND"])
    theirs.update({name: ifla[name] for name in ours if name.startswith("IFLA_") and name != "IFLA_INFO_KIND"})
    assert ours == theirs


def test_codec_builds_the_dump_request_and_reads_errors_and_families():
    request = rtnl.getlink_dump_request(41)
    (msg,) = rtnl.iter_messages(request)
    assert (msg.type, msg.flags, msg.seq, msg.pid) == (rtnl.RTM_GETLINK, rtnl.NLM_F_REQUEST | rtnl.NLM_F_DUMP, 41, 0)
    assert msg.payload == bytes(16) and len(request) == 32   # an ifinfomsg of AF_UNSPEC, all zero
    assert rtnl.error_code(struct.pack("=i", -19) + request) == 19       # ENODEV, as the kernel sends it
    assert rtnl.error_code(struct.pack("=i", 0)) == 0                    # an ACK
    bridge_port = struct.pack("=BxHiII", socket.AF_BRIDGE, 1, 7, 0, 0)
    assert rtnl.link_family(bridge_port) == socket.AF_BRIDGE
    assert rtnl.link_family(msg.payload) == rtnl.AF_UNSPEC


def test_codec_without_operstate_is_unknown():
    body = struct.pack("=BxHiII", 0, 1, 3, 0, 0) + _attr(rtnl.IFLA_IFNAME, b"lo\0")
    link = rtnl.parse_link(body)
    assert (link.name, link.operstate, link.mac, link.kind, link.stats64) == ("lo", "UNKNOWN", None, None, {})


def test_codec_reads_messages_and_attributes_that_end_the_buffer_exactly():
    bare = struct.pack("=IHHII", 16, rtnl.NLMSG_NOOP, 0, 5, 0)            # a header without payload
    assert [(m.type, m.seq, m.payload) for m in rtnl.iter_messages(bare)] == [(rtnl.NLMSG_NOOP, 5, b"")]
    assert len(list(rtnl.iter_messages(bare + bytes(4)))) == 1             # zero padding after it is no message
    with pytest.raises(RtnlParseError, match="^3 trailing bytes after the last netlink message$"):
        list(rtnl.iter_messages(bare + b"\1\2\3"))
    body = struct.pack("=BxHiII", 0, 1, 3, 0, 0) + _attr(rtnl.IFLA_IFNAME, b"tun0\0") + _attr(rtnl.IFLA_ADDRESS, b"")
    assert rtnl.parse_link(body).mac == ""                                 # an empty last attribute is still read


def test_codec_short_or_overlong_parts_are_parse_errors():
    with pytest.raises(RtnlParseError, match="^NLMSG_ERROR payload too short$"):
        rtnl.error_code(b"\0\0\0")
    with pytest.raises(RtnlParseError, match=r"^ifinfomsg too short \(15 bytes\)$"):
        rtnl.link_family(bytes(15))
    head = struct.pack("=BxHiII", 0, 1, 3, 0, 0) + _attr(rtnl.IFLA_IFNAME, b"x\0")
    for bad in (struct.pack("=HH", 200, 4), struct.pack("=HH", 2, 4)):     # past the end; shorter than its header
        with pytest.raises(RtnlParseError, match="^attribute at offset 24 has bad length"):
            rtnl.parse_link(head + bad)
    with pytest.raises(RtnlParseError, match="^IFLA_MASTER attribute too short$"):
        rtnl.parse_link(head + _attr(rtnl.IFLA_MASTER, b"\1\0\0"))


@pytest.mark.parametrize("operstate, name", [(b"", "UNKNOWN"), (b"\x02", "DOWN"), (b"\x06", "UP"), (b"\x07", "UNKNOWN"),
                                            (b"\x06\x02", "UP")])  # a u8: the first byte
def test_codec_operstates(operstate, name):
    body = struct.pack("=BxHiII", 0, 1, 3, 0, 0) + _attr(rtnl.IFLA_IFNAME, b"x\0") + _attr(rtnl.IFLA_OPERSTATE, operstate)
    assert rtnl.parse_link(body).operstate == name


def test_codec_permanent_address_and_seven_counters():
    body = (struct.pack("=BxHiII", 0, 1, 3, 0, 0) + _attr(rtnl.IFLA_IFNAME, b"x\0")
            + _attr(rtnl.IFLA_PERM_ADDRESS, bytes.fromhex("000d3af576bd"))
            + _attr(rtnl.IFLA_STATS64, struct.pack("=7Q", *range(1, 8))))
    link = rtnl.parse_link(body)
    assert link.perm_mac == "00:0d:3a:f5:76:bd"
    assert link.stats64 == dict(zip(rtnl.STATS64_NAMES[:7], range(1, 8)))
