"""rtnetlink link dumps and the event socket.

``dump_links()`` uses our own small codec (accelnet.parsers.rtnl) on a plain netlink socket, which
keeps pyroute2's import (~200 ms) off the cold start of `accelnet-check` and pyroute2 off the
runtime dependencies; the tests hold its values against pyroute2's and `ip link`.

Sockets take the network namespace of the thread that opens them.
"""

import os
import socket
from typing import Any, Iterator, List, Optional

from accelnet.parsers import rtnl
from accelnet.parsers.rtnl import IFF_SLAVE, Link, NlMessage, RtnlParseError  # noqa: F401 (re-export)

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


def dump_links() -> List[Link]:
    """Every link of this network namespace, ordered by the kernel (ifindex order).

    Raises NetlinkError if the kernel refuses or keeps interrupting the dump.
    """
    try:
        return _links_from_raw()
    except OSError as exc:
        raise NetlinkError("rtnetlink link dump failed: %s" % (exc.strerror or exc)) from None
    except RtnlParseError as exc:
        raise NetlinkError("rtnetlink link dump unreadable: %s" % exc) from None


__all__ = ["Link", "IFF_SLAVE", "RtnlSocket", "NetlinkError", "dump_links", "iter_dump",
           "RTMGRP_LINK"]
