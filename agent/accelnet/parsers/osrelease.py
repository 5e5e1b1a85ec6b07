"""``/etc/os-release`` as os-release(5) defines it.

The file is a list of shell-style ``KEY=VALUE`` assignments, but it must not be run through a
shell.  This reads it the way systemd does: comments and blank lines are skipped, values may
be unquoted, ``"double quoted"`` (backslash escapes ``\\$ \\" \\\\ \\```) or ``'single
quoted'`` (literal), quoted and unquoted pieces concatenate, a later assignment replaces an
earlier one, and a line that is not an assignment (or whose quotes never close) is ignored
rather than fatal, because distributions and users do leave junk in it.  Only text in which
no assignment survives at all is refused.
"""

import re
from typing import Dict, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.records import dataclass, field

__all__ = ["OsReleaseError", "OsRelease", "parse_os_release"]

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)\Z")
_DQ_ESCAPABLE = '$"\\`'


class OsReleaseError(ParseError):
    """Text with no os-release assignment in it."""


@dataclass(frozen=True)
class OsRelease:
    """The fields the diagnosis uses; every assignment is also kept in ``raw``.

    ``id``, ``name`` and ``pretty_name`` carry the defaults os-release(5) prescribes when the
    file omits them ("linux", "Linux", "Linux"); the other fields are ``None`` when absent.
    """

    id: str
    id_like: Tuple[str, ...]
    version_id: Optional[str]
    version: Optional[str]
    pretty_name: str
    name: str
    variant_id: Optional[str]
    version_codename: Optional[str]
    raw: Dict[str, str] = field(default_factory=dict, compare=False)


def _unquote(text: str) -> Optional[str]:
    """Shell-word value of ``text``; ``None`` when a quote is left open."""
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                return None
            out.append(text[i + 1:end])
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= n:
                    return None
                ch = text[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\" and i + 1 < n and text[i + 1] in _DQ_ESCAPABLE:
                    out.append(text[i + 1])
                    i += 2
                    continue
                out.append(ch)
                i += 1
        elif ch == "\\":
            if i + 1 < n:
                out.append(text[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_os_release(text: str) -> OsRelease:
    """Parse the text of an os-release file (``/etc/os-release`` or ``/usr/lib/os-release``)."""
    if not isinstance(text, str):
        raise OsReleaseError(f"os-release must be text, not {type(text).__name__}")
    raw: Dict[str, str] = {}
    # Only "\n" ends a line (str.splitlines would also split on form feeds and U+2028).
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _ASSIGNMENT.match(line)
        if not m:
            continue
        value = _unquote(m.group(2))
        if value is None:
            continue
        raw[m.group(1)] = value
    if not raw:
        raise OsReleaseError("no KEY=VALUE assignment found in os-release text")

    def get(key: str) -> Optional[str]:
        return raw.get(key) or None

    return OsRelease(
        id=get("ID") or "linux",
        id_like=tuple(raw.get("ID_LIKE", "").split()),
        version_id=get("VERSION_ID"),
        version=get("VERSION"),
        pretty_name=get("PRETTY_NAME") or "Linux",
        name=get("NAME") or "Linux",
        variant_id=get("VARIANT_ID"),
        version_codename=get("VERSION_CODENAME"),
        raw=raw,
    )
