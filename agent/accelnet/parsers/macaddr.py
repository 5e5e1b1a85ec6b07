"""One spelling for Ethernet MAC addresses.

The same NIC is ``0011AAFFBB22`` in IMDS, ``00-11-AA-FF-BB-22`` in Azure CLI/portal output and
``00:11:aa:ff:bb:22`` in sysfs and netlink; pairing a VF with its synthetic NIC and a NIC with
its IMDS entry only works after all of them are normalised to the sysfs form.
"""


from accelnet.errors import ParseError
from accelnet.parsers.lazypattern import LazyPattern

__all__ = ["MacAddressError", "normalize_mac"]

_BARE = LazyPattern(r"[0-9A-Fa-f]{12}\Z")
_SEPARATED = LazyPattern(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}\Z")


class MacAddressError(ParseError):
    """Not a 48-bit MAC address in one of the accepted spellings."""


def normalize_mac(s: str) -> str:
    """``0011AAFFBB22`` / ``00-11-AA-FF-BB-22`` / ``00:11:aa:ff:bb:22`` -> ``00:11:aa:ff:bb:22``.

    Surrounding whitespace (a sysfs ``address`` file ends in a newline) is ignored; mixed
    separators, other lengths and other characters are refused.
    """
    if not isinstance(s, str):
        raise MacAddressError(f"MAC address must be a string, not {type(s).__name__}")
    text = s.strip()
    if _BARE.match(text):
        digits = text
    elif _SEPARATED.match(text):
        digits = text.replace(":", "").replace("-", "")
    else:
        raise MacAddressError(f"not a MAC address: {s!r}")
    digits = digits.lower()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
