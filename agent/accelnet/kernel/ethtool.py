"""Driver statistics through the SIOCETHTOOL ioctl, without privilege.

Why our own ioctl code instead of pyroute2's ``IoctlEthtool``: that class caches the stat
names per instance (not per interface) and trusts that GSTATS returns as many values as it
has names. The kernel copies as many entries as the driver counts *now* (netvsc's count moves
with channels and CPU hotplug), so a stale cache pairs names with the wrong values, and a
grown count overruns the caller's buffer. Here every buffer has headroom, the count the
kernel returns and the interface's index and channels (which can move the names and keep
the count) are checked against the cached names', and on a mismatch the names are re-read
and the read retried once: a value is never reported under another stat's name.

The reader works in the network namespace of the thread that constructs it (the socket keeps
the namespace it was created in).

Kernel sources: net/ethtool/ioctl.c (ethtool_get_strings, ethtool_get_stats,
ethtool_get_sset_info), include/uapi/linux/ethtool.h (struct layouts).
"""

import ctypes
import errno
import fcntl
import os
import socket
import struct
import threading
import time
from typing import Dict, Optional, Sequence, Tuple, Union

from accelnet.records import dataclass

SIOCETHTOOL = 0x8946
SIOCGIFINDEX = 0x8933
SIOCGIFNAME = 0x8910
ETHTOOL_GDRVINFO = 0x00000003
ETHTOOL_GPERMADDR = 0x00000020
MAX_ADDR_LEN = 32
ETHTOOL_GSTRINGS = 0x0000001B
ETHTOOL_GSTATS = 0x0000001D
ETHTOOL_GSSET_INFO = 0x00000037
ETHTOOL_GCHANNELS = 0x0000003C
ETH_SS_STATS = 1
ETH_GSTRING_LEN = 32
IFNAMSIZ = 16

# struct ethtool_drvinfo: cmd, driver[32], version[32], fw_version[32], bus_info[32],
# erom_version[32], reserved2[12], n_priv_flags, n_stats, testinfo_len, eedump_len, regdump_len
_DRVINFO = struct.Struct("=I32s32s32s32s32s12s5I")
# struct ethtool_sset_info with room for one u32 in data[]
_SSET_INFO = struct.Struct("=IIQI")
# struct ethtool_gstrings / ethtool_stats headers: cmd, string_set, len / cmd, n_stats
_GSTRINGS_HDR = struct.Struct("=III")
_GSTATS_HDR = struct.Struct("=II")
# struct ethtool_perm_addr: cmd, size, data[size]
_PERMADDR_HDR = struct.Struct("=II")
# struct ethtool_channels: cmd, max_rx, max_tx, max_other, max_combined, rx_count, tx_count,
# other_count, combined_count
_CHANNELS = struct.Struct("=9I")
# struct ifreq: name[16] + a union whose first member we use is the ifr_data pointer;
# sizeof(struct ifreq) is 40 on 64-bit and 32 on 32-bit Linux.
_IFREQ = struct.Struct("@16sP%dx" % (24 - struct.calcsize("P")))
_IFREQ_INDEX = struct.Struct("=16si20x")

# The kernel writes the driver's count at call time, whatever we asked for. Headroom makes a
# count that grew between two calls land inside our buffer, where we detect it, rather than
# past its end.
_HEADROOM_FACTOR = 2
_HEADROOM_MIN = 256

_UNAVAILABLE_ERRNOS = frozenset({errno.ENODEV, errno.EBUSY, errno.EAGAIN})
_NOT_SUPPORTED_ERRNOS = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP})


class EthtoolError(Exception):
    """An ethtool request that did not produce an answer."""


class CountersUnavailable(EthtoolError):
    """The driver is momentarily not answering (netvsc answers ENODEV while it re-attaches
    after an MTU or channel change): a state to report, not a failure and not "no VF"."""


class Unsupported(EthtoolError):
    """The driver does not implement the request (EOPNOTSUPP), e.g. GDRVINFO on ``lo``."""


class NoStats(Unsupported):
    """The driver has no statistics at all (EOPNOTSUPP, or a count of zero)."""


class NoSuchInterface(EthtoolError):
    """The interface does not exist (any more) in this network namespace."""


@dataclass(frozen=True)
class DriverInfo:
    driver: str
    version: str
    fw_version: str
    bus_info: str
    n_stats: int


@dataclass
class _Names:
    """Cached stat names of one interface plus a reusable GSTATS buffer sized with headroom,
    the ifreq that points at it and the layout of its values: a scrape then costs one
    ioctl and one unpack per interface."""

    names: Tuple[str, ...]
    stats_buf: ctypes.Array
    capacity: int
    read_at: float
    ifreq: bytes
    values: struct.Struct
    #: the interface's index and channels when the names were read (:meth:`_Probe.read`)
    layout: bytes
    probe: "_Probe"


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _capacity(count: int) -> int:
    return max(count * _HEADROOM_FACTOR, count + _HEADROOM_MIN)


def _ifreq(ifname: str, payload: ctypes.Array) -> bytes:
    """struct ifreq naming ``ifname``, its ifr_data pointing at ``payload`` (which must live
    as long as the ifreq is used)."""
    name = os.fsencode(ifname)  # an interface name is bytes, not always UTF-8 (os.listdir's surrogates)
    if not name or len(name) >= IFNAMSIZ or b"\0" in name or b"/" in name:
        raise NoSuchInterface("%r is not a valid interface name" % ifname)
    return _IFREQ.pack(name, ctypes.addressof(payload))


class _Probe:
    """What a driver's stat layout depends on besides its count, read in two ioctls that
    need no buffer of names: the interface's index (another interface under the same name)
    and its channels (ETHTOOL_GCHANNELS: netvsc, mlx5 and veth name stats per queue, so
    two rx queues more and seven tx queues fewer keep veth's count and move its names).

    Read after every GSTATS: unchanged since the names were read means the values just
    read have the names' layout; changed, the names are read again. Drivers without
    channels answer EOPNOTSUPP, and then only their index, count and the names' age
    (``name_ttl``) stand for the layout."""

    def __init__(self, ifname: str) -> None:
        self.index_req = _IFREQ_INDEX.pack(os.fsencode(ifname), 0)
        self.channels = ctypes.create_string_buffer(_CHANNELS.size)
        self.channels_req = _ifreq(ifname, self.channels)

    def read(self, fd: int) -> bytes:
        try:
            index = fcntl.ioctl(fd, SIOCGIFINDEX, self.index_req)
        except OSError:
            index = b""
        _CHANNELS.pack_into(self.channels, 0, ETHTOOL_GCHANNELS, 0, 0, 0, 0, 0, 0, 0, 0)
        try:
            fcntl.ioctl(fd, SIOCETHTOOL, self.channels_req)
        except OSError:
            return index
        return index + self.channels.raw


def decode_strings(raw: bytes, count: int) -> Tuple[str, ...]:
    """Split a GSTRINGS payload into ``count`` NUL-padded 32-byte names."""
    return tuple(
        _cstr(raw[i * ETH_GSTRING_LEN:(i + 1) * ETH_GSTRING_LEN]) for i in range(count)
    )


class EthtoolReader:
    """One AF_INET datagram socket for all ethtool reads; stat names cached per interface.

    ``name_ttl``: cached names are also re-read when older than this many seconds. A count
    change is caught on the next read, and so is a layout change that keeps the count
    through the channels or the interface (netvsc: one channel fewer and one CPU more at
    once; veth: two rx queues more, seven tx queues fewer), by the two small ioctls of
    :class:`_Probe` after each GSTATS; the age limit is left for drivers whose layout moves
    with neither. 0 re-reads the names on every call.

    Thread-safe: one lock serialises the ioctls and the cache.
    """

    def __init__(self, name_ttl: float = 5.0) -> None:
        self.name_ttl = name_ttl
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._fd = self._sock.fileno()
        self._lock = threading.Lock()
        self._cache: Dict[str, _Names] = {}

    # -- context manager ------------------------------------------------------------
    def __enter__(self) -> "EthtoolReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._cache.clear()
            self._sock.close()
            self._fd = -1

    # -- public ---------------------------------------------------------------------
    def driver_info(self, ifname: str) -> DriverInfo:
        with self._lock:
            return self._drvinfo(ifname)

    def permanent_address(self, ifname: str) -> bytes:
        """The permanent hardware address (ETHTOOL_GPERMADDR): the bytes the driver set at
        probe, empty or all zero where it has none (veth, bridge). netvsc pairs a VF with its
        synthetic NIC by this address when the current MACs were changed."""
        with self._lock:
            buf = ctypes.create_string_buffer(_PERMADDR_HDR.size + MAX_ADDR_LEN)
            _PERMADDR_HDR.pack_into(buf, 0, ETHTOOL_GPERMADDR, MAX_ADDR_LEN)
            self._ioctl(ifname, buf, Unsupported)
            size = min(_PERMADDR_HDR.unpack_from(buf, 0)[1], MAX_ADDR_LEN)
            return buf.raw[_PERMADDR_HDR.size:_PERMADDR_HDR.size + size]

    def stat_names(self, ifname: str) -> Tuple[str, ...]:
        with self._lock:
            return self._names(ifname).names

    def stats(self, ifname: str) -> Dict[str, int]:
        """All driver stats, in the driver's order.

        Raises CountersUnavailable when the count keeps changing under us, so that names and
        values never come from two different layouts.
        """
        with self._lock:
            return self._stats(ifname, time.monotonic())

    def stats_of(self, ifnames: Sequence[str]) -> Dict[str, Union[Dict[str, int], EthtoolError]]:
        """:meth:`stats` of each interface, or the error it raised: a scrape reads every
        interface at once, under one lock, the usual case (names cached, count unchanged)
        in one ioctl and no call."""
        out: Dict[str, Union[Dict[str, int], EthtoolError]] = {}
        ioctl, fd, cache, header = fcntl.ioctl, self._fd, self._cache, _GSTATS_HDR
        with self._lock:
            now = time.monotonic()
            for ifname in ifnames:
                cached = cache.get(ifname)
                if cached is not None and now - cached.read_at < self.name_ttl and fd >= 0:
                    buf = cached.stats_buf
                    count = len(cached.names)
                    header.pack_into(buf, 0, ETHTOOL_GSTATS, count)
                    try:
                        ioctl(fd, SIOCETHTOOL, cached.ifreq)
                    except OSError:
                        pass  # the slow path says what it means
                    else:
                        if header.unpack_from(buf, 0)[1] == count and cached.probe.read(fd) == cached.layout:
                            out[ifname] = dict(zip(cached.names, cached.values.unpack_from(buf, header.size)))
                            continue
                try:
                    out[ifname] = self._stats(ifname, now)
                except EthtoolError as exc:
                    out[ifname] = exc
        return out

    def _stats(self, ifname: str, now: float) -> Dict[str, int]:
        cached = self._cache.get(ifname)
        if cached is None or now - cached.read_at >= self.name_ttl:
            cached = self._names(ifname, refresh=True)
        values = self._gstats(ifname, cached)
        if values is None:
            cached = self._names(ifname, refresh=True)
            values = self._gstats(ifname, cached)
            if values is None:
                self._cache.pop(ifname, None)
                raise CountersUnavailable(
                    "%s: the number of stats changed twice while reading" % ifname
                )
        return dict(zip(cached.names, values))

    def ifname(self, ifindex: int) -> str:
        """The current name of ``ifindex`` in the reader's namespace (SIOCGIFNAME)."""
        if self._fd < 0:
            raise EthtoolError("ethtool reader is closed")
        try:
            out = fcntl.ioctl(self._fd, SIOCGIFNAME, _IFREQ_INDEX.pack(b"", ifindex))
        except OSError:
            raise NoSuchInterface("no interface with index %d" % ifindex) from None
        return os.fsdecode(_IFREQ_INDEX.unpack(out)[0].split(b"\0", 1)[0])

    def forget(self, ifname: Optional[str] = None) -> None:
        """Drop the cached names of one interface (all when None), e.g. after a rename."""
        with self._lock:
            if ifname is None:
                self._cache.clear()
            else:
                self._cache.pop(ifname, None)

    # -- ioctl plumbing ---------------------------------------------------------------
    def _ioctl(self, ifname: str, payload: ctypes.Array, unsupported: type = NoStats) -> None:
        self._ioctl_ifreq(ifname, _ifreq(ifname, payload), unsupported)

    def _ioctl_ifreq(self, ifname: str, ifreq: bytes, unsupported: type = NoStats) -> None:
        if self._fd < 0:
            raise EthtoolError("ethtool reader is closed")
        try:
            fcntl.ioctl(self._fd, SIOCETHTOOL, ifreq)
        except OSError as exc:
            raise self._translate(ifname, exc, unsupported) from None

    def _translate(self, ifname: str, exc: OSError, unsupported: type) -> EthtoolError:
        if exc.errno in _NOT_SUPPORTED_ERRNOS:
            return unsupported("%s: the driver does not support this request" % ifname)
        if exc.errno == errno.ENODEV and not self._exists(ifname):
            return NoSuchInterface("%s: no such interface" % ifname)
        if exc.errno in _UNAVAILABLE_ERRNOS:
            return CountersUnavailable(
                "%s: counters unavailable (%s)" % (ifname, errno.errorcode.get(exc.errno, exc.errno))
            )
        return EthtoolError("%s: ethtool ioctl failed: %s" % (ifname, exc.strerror or exc))

    def _exists(self, ifname: str) -> bool:
        """SIOCGIFINDEX on our own socket: the name is looked up in the socket's namespace,
        which is what ENODEV from SIOCETHTOOL refers to (if_nametoindex would open a socket
        in the calling thread's namespace instead)."""
        try:
            fcntl.ioctl(self._fd, SIOCGIFINDEX, _IFREQ_INDEX.pack(os.fsencode(ifname), 0))
        except OSError:
            return False
        return True

    def _drvinfo(self, ifname: str) -> DriverInfo:
        buf = ctypes.create_string_buffer(_DRVINFO.pack(ETHTOOL_GDRVINFO, *([b""] * 6), 0, 0, 0, 0, 0))
        self._ioctl(ifname, buf, Unsupported)
        fields = _DRVINFO.unpack(buf.raw[:_DRVINFO.size])
        return DriverInfo(
            driver=_cstr(fields[1]),
            version=_cstr(fields[2]),
            fw_version=_cstr(fields[3]),
            bus_info=_cstr(fields[4]),
            n_stats=fields[8],
        )

    def _count(self, ifname: str) -> int:
        """GSSET_INFO, falling back to GDRVINFO.n_stats on kernels without it."""
        buf = ctypes.create_string_buffer(_SSET_INFO.pack(ETHTOOL_GSSET_INFO, 0, 1 << ETH_SS_STATS, 0))
        try:
            self._ioctl(ifname, buf)
        except NoStats:
            try:
                count = self._drvinfo(ifname).n_stats
            except Unsupported:
                count = 0
        else:
            _cmd, _res, mask, count = _SSET_INFO.unpack(buf.raw[:_SSET_INFO.size])
            if not mask & (1 << ETH_SS_STATS):
                count = 0
        if count <= 0:
            raise NoStats("%s: no stats available" % ifname)
        return count

    def _names(self, ifname: str, refresh: bool = False) -> _Names:
        cached = None if refresh else self._cache.get(ifname)
        if cached is not None:
            return cached
        if self._fd < 0:
            raise EthtoolError("ethtool reader is closed")
        probe = _Probe(ifname)
        for _attempt in range(3):
            layout = probe.read(self._fd)
            count = self._count(ifname)
            capacity = _capacity(count)
            buf = ctypes.create_string_buffer(
                _GSTRINGS_HDR.size + capacity * ETH_GSTRING_LEN
            )
            _GSTRINGS_HDR.pack_into(buf, 0, ETHTOOL_GSTRINGS, ETH_SS_STATS, count)
            self._ioctl(ifname, buf)
            got = _GSTRINGS_HDR.unpack_from(buf, 0)[2]
            if probe.read(self._fd) != layout:  # channels changed while the names were read
                continue
            if 0 < got <= capacity:
                names = decode_strings(buf.raw[_GSTRINGS_HDR.size:], got)
                stats_buf = ctypes.create_string_buffer(_GSTATS_HDR.size + capacity * 8)
                entry = _Names(
                    names=names,
                    stats_buf=stats_buf,
                    capacity=capacity,
                    read_at=time.monotonic(),
                    ifreq=_ifreq(ifname, stats_buf),
                    values=struct.Struct("=%dQ" % len(names)),
                    layout=layout,
                    probe=probe,
                )
                self._cache[ifname] = entry
                return entry
            if got == 0:
                raise NoStats("%s: no stats available" % ifname)
        raise CountersUnavailable("%s: the stat names keep changing" % ifname)

    def _gstats(self, ifname: str, cached: _Names) -> Optional[Tuple[int, ...]]:
        """Values, or None when the driver's count or layout no longer matches the cached
        names."""
        buf = cached.stats_buf
        count = len(cached.names)
        _GSTATS_HDR.pack_into(buf, 0, ETHTOOL_GSTATS, count)
        self._ioctl_ifreq(ifname, cached.ifreq)
        if _GSTATS_HDR.unpack_from(buf, 0)[1] != count:  # count <= capacity: names fit the buffer
            return None
        if cached.probe.read(self._fd) != cached.layout:
            return None
        return cached.values.unpack_from(buf, _GSTATS_HDR.size)
