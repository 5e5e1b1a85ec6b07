"""Declared intent for Accelerated Networking: ``/etc/accelnet/accelnet.conf``, the VM tag
``accelnet`` and the check's flags, as values.

Pure: text in, statements out. Operators say what a VM or a NIC should be where they already
manage it (a tag on the VM, a file from configuration management, a flag on an NRPE command
line); the diagnosis then tells "off on purpose" from "off by mistake". Whatever cannot be
read is an :class:`IntentError` naming the file and the line, never a guess: a misspelt
``expect-an of`` must not silently mean "AN expected on".

The file, one statement per line (``#`` starts a comment, blank lines are skipped)::

    expect-an off                    # AN is off on purpose on this VM (every NIC)
    expect-an off eth1               # ... on one NIC, by interface name
    expect-an off 00:0d:3a:5e:1f:02  # ... or by MAC (':' or '-' separated)
    expect-an on eth0                # AN is expected on this NIC (the default)
    ignore-nic eth2                  # leave this NIC out of every check

A VM or NIC named twice is an error (which line would win is not obvious to a reader).
"""

import re
from typing import Dict, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.parsers.lazypattern import LazyPattern
from accelnet.parsers.macaddr import MacAddressError, normalize_mac
from accelnet.records import dataclass

__all__ = ["CONF_PATH", "EXPECT_VALUES", "IGNORE", "OFF", "ON", "IntentError", "Statement", "TAG_NAME",
           "nic_selector", "parse_intent_file", "parse_tag_value"]

CONF_PATH = "/etc/accelnet/accelnet.conf"
#: The VM tag that declares the VM's intent (IMDS compute.tagsList).
TAG_NAME = "accelnet"
ON, OFF, IGNORE = "on", "off", "ignore"
EXPECT_VALUES = (ON, OFF)
#: Tag values read as on/off. The tag is typed by hand in the portal and was documented as
#: "off|false|disabled" when it only kept a VM out of Prometheus, so the spellings of both
#: words are accepted; anything else is an error.
_TAG_WORDS = {"on": ON, "true": ON, "enabled": ON, "yes": ON,
              "off": OFF, "false": OFF, "disabled": OFF, "no": OFF}
#: Linux's dev_valid_name(): at most 15 bytes, not "." or "..", no "/", ":" or whitespace
#: (nor NUL, which ends a C string: no interface can be named with one).
_IFNAME = LazyPattern(r"[^/:\s\x00]{1,15}\Z")
#: How much of a rejected tag value a message quotes (IMDS's answer is not ours to print whole).
_QUOTED = 64
MAX_STATEMENTS = 1024


class IntentError(ParseError):
    """A declaration that cannot be read; the message names where (file and line, tag, flag)."""


@dataclass(frozen=True)
class Statement:
    """One declaration: ``expect`` is on, off or ignore; ``nic`` None for the whole VM, else
    an interface name or a MAC in sysfs spelling; ``line`` where the file says it (0 when
    not from a file)."""

    expect: str
    nic: Optional[str] = None
    line: int = 0


def nic_selector(text: str) -> str:
    """A NIC as an operator names it: an interface name, or a MAC separated by ':' or '-'
    (returned in sysfs spelling). Bare 12 hex digits are a valid interface name, so a MAC
    must have its separators. Raises IntentError."""
    if ":" in text or (len(text) == 17 and text.count("-") == 5):
        try:
            return normalize_mac(text)
        except MacAddressError:
            raise IntentError(f"{text!r} is neither an interface name nor a MAC address") from None
    if text in (".", "..") or not _IFNAME.match(text) or len(text.encode("utf-8", "replace")) > 15:
        raise IntentError(f"{text!r} is not an interface name (at most 15 characters, no '/', ':' or spaces)")
    return text


def parse_tag_value(value: str) -> str:
    """The VM tag's value as on or off. Raises IntentError for any other word."""
    word = _TAG_WORDS.get(value.strip().lower()) if isinstance(value, str) else None
    if word is None:
        quoted = repr(value[:_QUOTED]) + ("..." if len(value) > _QUOTED else "") if isinstance(value, str) else repr(value)
        raise IntentError(f"tag {TAG_NAME}={quoted}: expected off (AN off on purpose) or on")
    return word


def _statement(words, number: int) -> Statement:
    keyword, args = words[0], words[1:]
    if keyword == "expect-an":
        if not 1 <= len(args) <= 2:
            raise IntentError(f"expect-an takes on or off, and optionally a NIC: {' '.join(words)!r}")
        if args[0] not in EXPECT_VALUES:
            raise IntentError(f"expect-an {args[0]!r}: expected on or off")
        return Statement(args[0], nic_selector(args[1]) if len(args) == 2 else None, number)
    if keyword == "ignore-nic":
        if len(args) != 1:
            raise IntentError(f"ignore-nic takes one NIC (name or MAC): {' '.join(words)!r}")
        return Statement(IGNORE, nic_selector(args[0]), number)
    raise IntentError(f"unknown statement {keyword!r} (expected expect-an or ignore-nic)")


def parse_intent_file(text: str, path: str = CONF_PATH) -> Tuple[Statement, ...]:
    """The statements of an intent file, in order. Raises IntentError naming ``path`` and
    the line of the first problem."""
    statements = []
    seen: Dict[Optional[str], int] = {}
    for number, raw in enumerate(text.split("\n"), 1):  # lines as an editor numbers them
        line = "" if raw.lstrip().startswith("#") else re.split(r"\s#", raw, maxsplit=1)[0]
        words = line.split()
        if not words:
            continue
        try:
            statement = _statement(words, number)
        except IntentError as exc:
            raise IntentError(f"{path} line {number}: {exc}") from None
        if statement.nic in seen:
            what = f"NIC {statement.nic}" if statement.nic else "the VM (a statement without a NIC)"
            raise IntentError(f"{path} line {number}: {what} is already declared on line {seen[statement.nic]}")
        seen[statement.nic] = number
        statements.append(statement)
        if len(statements) > MAX_STATEMENTS:
            raise IntentError(f"{path} line {number}: more than {MAX_STATEMENTS} statements")
    return tuple(statements)
