"""Pure decoding of rtnetlink link messages (bytes in, values out).

Why our own codec next to pyroute2: the event monitor must see dump replies and multicast
events in the single order the kernel queued them (that order is what lets it resynchronise
after ENOBUFS without inventing or losing a transition), which pyroute2's per-sequence
queues do not keep; and importing pyroute2 costs ~200 ms of cold start that a one-shot
`accelnet-check` does not need. Only the handful of attributes we use are decoded.

Sources: include/uapi/linux/netlink.h, rtnetlink.h, if_link.h.
"""

import struct
from typing import Dict, Iterator, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.records import dataclass, field

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
AF_UNSPEC = 0

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MASTER = 10
IFLA_OPERSTATE = 16
IFLA_LINKINFO = 18
IFLA_STATS64 = 23
IFLA_PERM_ADDRESS = 54
IFLA_INFO_KIND = 1
NLA_TYPE_MASK = 0x3FFF

IFF_UP = 0x1
IFF_SLAVE = 0x800
IFF_MASTER = 0x400

# IF_OPER_* in order (RFC 2863 names, as `ip link` and pyroute2 print them)
OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
# struct rtnl_link_stats64 field order; newer kernels append fields, older lack the last ones
STATS64_NAMES = (
    "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
    "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
    "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
    "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
    "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
    "rx_nohandler", "rx_otherhost_dropped",
)

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_NLATTR = struct.Struct("=HH")
_NLMSGERR = struct.Struct("=i")


class RtnlParseError(ParseError):
    """A netlink buffer or link message that is truncated or malformed."""


@dataclass
class Link:
    index: int
    name: str
    mac: Optional[str]
    perm_mac: Optional[str]
    operstate: str
    flags: int
    master: Optional[int]
    kind: Optional[str]
    stats64: Dict[str, int] = field(default_factory=dict)

    @property
    def is_slave(self) -> bool:
        """IFF_SLAVE: netvsc sets it on the VF it enslaves (bonding does too)."""
        return bool(self.flags & IFF_SLAVE)


@dataclass(frozen=True)
class NlMessage:
    type: int
    flags: int
    seq: int
    pid: int
    payload: bytes


def _align(n: int) -> int:
    return (n + 3) & ~3


def iter_messages(buf: bytes) -> Iterator[NlMessage]:
    """Split one datagram into netlink messages."""
    offset, end = 0, len(buf)
    while offset + _NLMSGHDR.size <= end:
        length, mtype, flags, seq, pid = _NLMSGHDR.unpack_from(buf, offset)
        if length < _NLMSGHDR.size or offset + length > end:
            raise RtnlParseError("netlink message at offset %d has bad length %d" % (offset, length))
        yield NlMessage(mtype, flags, seq, pid, bytes(buf[offset + _NLMSGHDR.size:offset + length]))
        offset += _align(length)
    if offset < end and any(buf[offset:end]):
        raise RtnlParseError("%d trailing bytes after the last netlink message" % (end - offset))


def iter_attrs(buf: bytes, offset: int = 0) -> Iterator[Tuple[int, bytes]]:
    end = len(buf)
    while offset + _NLATTR.size <= end:
        length, atype = _NLATTR.unpack_from(buf, offset)
        if length < _NLATTR.size or offset + length > end:
            raise RtnlParseError("attribute at offset %d has bad length %d" % (offset, length))
        yield atype & NLA_TYPE_MASK, buf[offset + _NLATTR.size:offset + length]
        offset += _align(length)


def error_code(payload: bytes) -> int:
    """The (positive) errno of an NLMSG_ERROR message; 0 is an ACK."""
    if len(payload) < _NLMSGERR.size:
        raise RtnlParseError("NLMSG_ERROR payload too short")
    return -_NLMSGERR.unpack_from(payload, 0)[0]


def _mac(raw: bytes) -> str:
    return ":".join("%02x" % b for b in raw)


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _u32(raw: bytes, what: str) -> int:
    if len(raw) < 4:
        raise RtnlParseError("%s attribute too short" % what)
    return struct.unpack_from("=I", raw)[0]


def link_family(payload: bytes) -> int:
    """ifi_family: only AF_UNSPEC messages describe links; bridges also send AF_BRIDGE
    RTM_NEWLINK/RTM_DELLINK about their ports, and such a DELLINK is no link deletion."""
    if len(payload) < _IFINFOMSG.size:
        raise RtnlParseError("ifinfomsg too short (%d bytes)" % len(payload))
    return payload[0]


def parse_link(payload: bytes) -> Link:
    """Decode the payload of an RTM_NEWLINK / RTM_DELLINK message."""
    if len(payload) < _IFINFOMSG.size:
        raise RtnlParseError("ifinfomsg too short (%d bytes)" % len(payload))
    _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(payload, 0)
    name = ""
    mac = perm_mac = kind = None
    master = None
    operstate = OPERSTATES[0]
    stats: Dict[str, int] = {}
    for atype, data in iter_attrs(payload, _IFINFOMSG.size):
        if atype == IFLA_IFNAME:
            name = _cstr(data)
        elif atype == IFLA_ADDRESS:
            mac = _mac(data)
        elif atype == IFLA_PERM_ADDRESS:
            perm_mac = _mac(data)
        elif atype == IFLA_MASTER:
            master = _u32(data, "IFLA_MASTER") or None
        elif atype == IFLA_OPERSTATE:
            code = data[0] if data else 0
            operstate = OPERSTATES[code] if code < len(OPERSTATES) else "UNKNOWN"
        elif atype == IFLA_LINKINFO:
            for itype, idata in iter_attrs(data):
                if itype == IFLA_INFO_KIND:
                    kind = _cstr(idata)
        elif atype == IFLA_STATS64:
            count = min(len(data) // 8, len(STATS64_NAMES))
            stats = dict(zip(STATS64_NAMES, struct.unpack_from("=%dQ" % count, data)))
    if not name:
        raise RtnlParseError("link %d has no IFLA_IFNAME" % index)
    return Link(index=index, name=name, mac=mac, perm_mac=perm_mac, operstate=operstate,
                flags=flags, master=master, kind=kind, stats64=stats)


def getlink_dump_request(seq: int) -> bytes:
    """RTM_GETLINK dump of every link (AF_UNSPEC)."""
    body = _IFINFOMSG.pack(AF_UNSPEC, 0, 0, 0, 0)
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), RTM_GETLINK,
                          NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body
