"""rtnetlink link dumps and the event socket.

``dump_links()`` uses our own small codec (accelnet.rtnl) on a plain netlink socket, which
keeps pyroute2's import (~200 ms) off the cold start of `accelnet-check`; pass a pyroute2
``IPRoute`` as ``ipr`` to dump through it instead (the daemon may already hold one). Both
produce the same ``Link`` values (tests compare them). pyroute2 is only imported inside
``_links_from_pyroute2``.

Sockets take the network namespace of the thread that opens them.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Iterator, List, Optional

from accelnet import rtnl
from accelnet.rtnl import IFF_SLAVE, Link, NlMessage, RtnlParseError  # noqa: F401 (re-export)

NETLINK_ROUTE = 0
RTMGRP_LINK = 0x1
SO_RCVBUFFORCE = 33
DEFAULT_RCVBUF = 4 << 20
_RECV_SIZE = 1 << 17
_DUMP_ATTEMPTS = 5


class NetlinkError(Exception):
    """The kernel refused a request or a dump could not be completed."""


class RtnlSocket:
    """A NETLINK_ROUTE socket, optionally subscribed to link events.

    ``rcvbuf``: None asks for a generous buffer (SO_RCVBUFFORCE when privileged, else what
    rmem_max allows); an int sets exactly that with SO_RCVBUF (tests use a tiny one to
    provoke ENOBUFS).
    """

    def __init__(self, groups: int = 0, rcvbuf: Optional[int] = None) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                  NETLINK_ROUTE)
        try:
            if rcvbuf is None:
                try:
                    self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, DEFAULT_RCVBUF)
                except PermissionError:
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, DEFAULT_RCVBUF)
            else:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.bind((0, groups))
        except OSError:
            self.sock.close()
            raise
        self._buf = bytearray(_RECV_SIZE)
        self._seq = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RtnlSocket":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request_link_dump(self) -> int:
        self._seq += 1
        self.sock.send(rtnl.getlink_dump_request(self._seq))
        return self._seq

    def recv_messages(self) -> List[NlMessage]:
        """One datagram's messages. Raises OSError(ENOBUFS) when events were dropped."""
        n = self.sock.recv_into(self._buf)
        return list(rtnl.iter_messages(memoryview(self._buf)[:n]))


def iter_dump(sock: RtnlSocket, seq: int) -> Iterator[NlMessage]:
    """Messages of dump ``seq`` up to NLMSG_DONE (other messages are skipped).

    Raises NetlinkError on NLMSG_ERROR, and on an interrupted dump (NLM_F_DUMP_INTR) after
    the dump ends, so the caller can retry with a consistent view.
    """
    interrupted = False
    while True:
        for msg in sock.recv_messages():
            if msg.seq != seq:
                continue
            interrupted = interrupted or bool(msg.flags & rtnl.NLM_F_DUMP_INTR)
            if msg.type == rtnl.NLMSG_DONE:
                if interrupted:
                    raise NetlinkError("link dump interrupted by a concurrent change")
                return
            if msg.type == rtnl.NLMSG_ERROR:
                code = rtnl.error_code(msg.payload)
                raise NetlinkError("link dump refused: %s" % os.strerror(code))
            yield msg


def _links_from_raw() -> List[Link]:
    for _attempt in range(_DUMP_ATTEMPTS):
        with RtnlSocket() as sock:
            seq = sock.request_link_dump()
            try:
                return [rtnl.parse_link(m.payload) for m in iter_dump(sock, seq)
                        if m.type == rtnl.RTM_NEWLINK and rtnl.link_family(m.payload) == rtnl.AF_UNSPEC]
            except NetlinkError as exc:
                if "interrupted" not in str(exc):
                    raise
    raise NetlinkError("link dump interrupted %d times in a row" % _DUMP_ATTEMPTS)


def link_from_pyroute2(msg: Any) -> Link:
    """A pyroute2 ifinfmsg as a Link (the same values our codec produces)."""
    linkinfo = msg.get_attr("IFLA_LINKINFO")
    stats = msg.get_attr("IFLA_STATS64")
    return Link(
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


def _links_from_pyroute2(ipr: Any) -> List[Link]:
    return [link_from_pyroute2(m) for m in ipr.get_links()]


def dump_links(ipr: Any = None) -> List[Link]:
    """Every link of this network namespace, ordered by the kernel (ifindex order).

    Raises NetlinkError if the kernel refuses or keeps interrupting the dump.
    """
    if ipr is not None:
        return _links_from_pyroute2(ipr)
    try:
        return _links_from_raw()
    except OSError as exc:
        raise NetlinkError("rtnetlink link dump failed: %s" % (exc.strerror or exc)) from None
    except RtnlParseError as exc:
        raise NetlinkError("rtnetlink link dump unreadable: %s" % exc) from None


__all__ = ["Link", "IFF_SLAVE", "RtnlSocket", "NetlinkError", "dump_links", "iter_dump",
           "link_from_pyroute2", "RTMGRP_LINK"]
