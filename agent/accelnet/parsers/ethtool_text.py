"""The text ``ethtool -S IFACE`` prints, as a name -> counter mapping.

Snapshots and support bundles carry the command's output, not the ioctl answer, and users
paste it (often through ``grep vf_``) into issues; the diagnosis must read all of them the
same way.  ethtool prints ``NIC statistics:`` and then one ``"     %.*s: %llu"`` line per
driver string, in the driver's order, which is kept.  Rules, in order:

* ethtool's own failures are recognised first: ``no stats available`` and
  ``Cannot get stats strings information: Operation not supported`` (a driver without
  statistics) raise :class:`NoStatsAvailable`; any other ``Cannot get ...`` /
  ``netlink error: ...`` line (for example ``No such device`` while netvsc re-attaches)
  raises :class:`EthtoolCommandError` carrying the message.
* Blank lines, ``#`` comments and header lines ending in ``:`` (``NIC statistics:``,
  ``Standard stats for eth0:``) are skipped.
* A statistic splits on the **last** ``": "`` (some drivers put colons and spaces in their
  names); the name is stripped of the indentation, the value must be an unsigned 64-bit
  decimal.  Text after the number, separated by blanks, is ignored: pasted output carries
  annotations such as ``tx_send_full: 75776 <<<<``.
* A line with no ``": "`` at all (a shell prompt such as ``$ ethtool -S eth0``) is noise and
  skipped, but text made only of noise (not even a header) raises
  :class:`EthtoolFormatError`; so does a
  ``name: value`` line whose value is not a counter (``driver: hv_netvsc`` is ``ethtool -i``).
* A name seen twice keeps its first position and its last value (as a dict assignment, and
  as Go's ethtool library does).

Empty text is an empty mapping: it is what ``ethtool -S eth0 | grep vf_`` gives for a NIC
whose driver has no ``vf_`` counters.

``ethtool -i IFACE`` (driver information, ``key: value`` lines) and ``ethtool -P IFACE``
(``Permanent address: 00:0d:3a:…``) have their parsers here too, and every output has a
renderer, so that captures made from the ioctls read like the command's.
"""

import re
from typing import Dict, Optional

from accelnet.errors import ParseError
from accelnet.parsers.lazypattern import LazyPattern

__all__ = [
    "EthtoolParseError",
    "NoStatsAvailable",
    "EthtoolCommandError",
    "EthtoolFormatError",
    "parse_ethtool_stats",
    "parse_ethtool_info",
    "render_ethtool_stats",
    "render_ethtool_info",
    "parse_ethtool_permaddr",
    "render_ethtool_permaddr",
]

_U64_MAX = 2**64 - 1
_VALUE = LazyPattern(r"([0-9]+)(?:[ \t].*)?\Z")
_NO_STATS = LazyPattern(
    r"no stats available\Z|Cannot get stats (?:strings )?information: Operation not supported\Z",
    re.IGNORECASE,
)
_COMMAND_ERROR = LazyPattern(r"(?:Cannot get |netlink error: |ethtool: )", re.IGNORECASE)
#: The first letters (either case) of what _NO_STATS and _COMMAND_ERROR match.
_ERROR_INITIALS = frozenset("nNcCeE")
_ASCII_DIGITS = "0123456789"


class EthtoolParseError(ParseError):
    """Base of every error of this parser."""


class NoStatsAvailable(EthtoolParseError):
    """The driver exposes no statistics at all (ethtool said so)."""


class EthtoolCommandError(EthtoolParseError):
    """ethtool itself failed; ``message`` is its line, e.g. ``... : No such device``."""

    def __init__(self, message: str) -> None:
        super().__init__(f"ethtool failed: {message}")
        self.message = message


class EthtoolFormatError(EthtoolParseError):
    """Text that is not ``ethtool -S`` output."""


def parse_ethtool_stats(text: str, max_stats: Optional[int] = None) -> Dict[str, int]:
    """Parse ``ethtool -S`` output (whole or grep-filtered) into an ordered dict; more than
    ``max_stats`` statistics (when given) is not ethtool output but a memory bill."""
    if not isinstance(text, str):
        raise EthtoolFormatError(f"ethtool output must be text, not {type(text).__name__}")
    stats: Dict[str, int] = {}
    noise = 0
    saw_header = False
    for lineno, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        # Both failure patterns begin with one of these letters: most lines skip the regexes.
        if line[0] in _ERROR_INITIALS:
            if _NO_STATS.match(line):
                raise NoStatsAvailable(f"ethtool reports no statistics: {line!r}")
            if _COMMAND_ERROR.match(line):
                raise EthtoolCommandError(line)
        name, sep, value_text = line.rpartition(": ")
        if not sep:
            if line.endswith(":"):
                saw_header = True
            else:
                noise += 1
            continue
        number = value_text.strip()
        if number and not number.strip(_ASCII_DIGITS):
            digits = number  # the common line: the number alone, no regex needed
        else:
            m = _VALUE.match(number)
            if not m:
                raise EthtoolFormatError(
                    f"line {lineno}: value of {name.strip()!r} is not a counter: {value_text!r}")
            digits = m.group(1)
        digits = digits.lstrip("0") or "0"
        # Length first: int() of a huge digit string is slow and, on Python >= 3.11, refused.
        value = int(digits) if len(digits) <= 20 else _U64_MAX + 1
        if value > _U64_MAX:
            raise EthtoolFormatError(f"line {lineno}: {name.strip()!r} exceeds 64 bits")
        stats[name.strip()] = value
        if max_stats is not None and len(stats) > max_stats:
            raise EthtoolFormatError(f"more than {max_stats} statistics")
    if not stats and noise and not saw_header:
        raise EthtoolFormatError("no 'name: value' statistic found in ethtool output")
    return stats


def parse_ethtool_info(text: str) -> Dict[str, str]:
    """``ethtool -i`` output as a mapping (``driver``, ``version``, ``bus-info``…).

    Raises EthtoolFormatError when there is no ``driver:`` line: that is not ``ethtool -i``.
    """
    if not isinstance(text, str):
        raise EthtoolFormatError(f"ethtool output must be text, not {type(text).__name__}")
    info: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            info.setdefault(key.strip(), value.strip())
    if not info.get("driver"):
        raise EthtoolFormatError("no 'driver:' line: not ethtool -i output")
    return info


def render_ethtool_stats(stats: Dict[str, int]) -> str:
    """What ``ethtool -S`` prints for these stats."""
    return "NIC statistics:\n" + "".join(f"     {name}: {value}\n" for name, value in stats.items())


def render_ethtool_info(driver: str, version: str, firmware: str, bus_info: str, n_stats: int) -> str:
    """What ``ethtool -i`` prints (the fields the GDRVINFO ioctl answers)."""
    return (
        f"driver: {driver}\nversion: {version}\nfirmware-version: {firmware}\n"
        f"bus-info: {bus_info}\nsupports-statistics: {'yes' if n_stats else 'no'}\n"
    )


_PERMADDR = LazyPattern(r"Permanent address:(?: (not set|[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})*))?[ \t]*\Z")


def render_ethtool_permaddr(address: bytes) -> str:
    """What ``ethtool -P`` prints for the bytes ETHTOOL_GPERMADDR answered. ethtool 5.x and
    later read IFLA_PERM_ADDRESS, which the kernel leaves out when the address is empty or
    all zero, and then print ``not set``; older ethtool printed the zeros."""
    if not address or not any(address):
        return "Permanent address: not set\n"
    return "Permanent address: " + ":".join("%02x" % b for b in address) + "\n"


def parse_ethtool_permaddr(text: str) -> Optional[str]:
    """The permanent address ``ethtool -P`` printed (lower case, colon-separated), or None
    when the interface has none (``not set``, an empty list, or all zeros from an old
    ethtool). Raises EthtoolFormatError for anything else, EthtoolCommandError when ethtool
    said why it failed."""
    if not isinstance(text, str):
        raise EthtoolFormatError(f"ethtool output must be text, not {type(text).__name__}")
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if _COMMAND_ERROR.match(line) or line.startswith("Cannot read permanent address"):
            raise EthtoolCommandError(line)
        match = _PERMADDR.match(line)
        if not match:
            raise EthtoolFormatError(f"not ethtool -P output: {line[:80]!r}")
        value = match.group(1)
        if value is None or value == "not set" or not value.replace(":", "").strip("0"):
            return None
        return value.lower()
    raise EthtoolFormatError("no 'Permanent address:' line: not ethtool -P output")
