"""Version comparison exactly as dpkg and rpm do it.

Distribution minimums (kernel ABI, image version) are only meaningful when compared with the
comparator of the package manager that produced them: ``4.15.0-1013`` must sort after
``4.15.0-1009`` and before ``4.15.0-1013.14``; ``1.0~rc1`` before ``1.0`` in both worlds; but
``1.0^git1`` only means "after 1.0" to rpm.  A naive tuple split gets these wrong, so both
algorithms are reimplemented here from their published behaviour (dpkg's ``verrevcmp`` in
lib/dpkg/version.c, rpm's ``rpmvercmp`` in rpmio/rpmvercmp.c, rpm >= 4.15 for ``^``) and
tested against the pairs of their own test suites.

All functions return -1, 0 or 1 and raise :class:`VersionError` (a ``ParseError``) for a
string the tool itself would refuse.
"""

import re
from typing import Optional

from accelnet.errors import ParseError
from accelnet.records import dataclass

__all__ = [
    "VersionError",
    "DpkgVersion",
    "parse_dpkg_version",
    "dpkg_compare",
    "rpm_compare",
    "rpmvercmp",
    "compare",
    "FAMILIES",
]

FAMILIES = ("dpkg", "rpm")

# dpkg refuses epochs above INT_MAX ("epoch in version is too big").
_INT_MAX = 2**31 - 1
_DPKG_UPSTREAM_OK = re.compile(r"[A-Za-z0-9.+~:-]*\Z")
_DPKG_REVISION_OK = re.compile(r"[A-Za-z0-9.+~]*\Z")


class VersionError(ParseError):
    """A version string that the package manager would reject."""



def _ascii(text: str) -> bool:
    """str.isascii() of Python 3.7+, for Python 3.6."""
    return all(ord(ch) < 128 for ch in text)

def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def _check_text(s: object, what: str) -> str:
    if not isinstance(s, str):
        raise VersionError(f"{what} version must be a string, not {type(s).__name__}")
    stripped = s.strip()
    if not stripped:
        raise VersionError(f"{what} version is empty")
    if any(ch.isspace() for ch in stripped):
        raise VersionError(f"{what} version {s!r} contains whitespace")
    return stripped


# --------------------------------------------------------------------------- dpkg


@dataclass(frozen=True)
class DpkgVersion:
    """``[epoch:]upstream[-revision]`` as dpkg's parseversion() splits it."""

    epoch: int
    upstream: str
    revision: str


def parse_dpkg_version(s: str) -> DpkgVersion:
    """Split like dpkg: epoch before the first ``:``, revision after the last ``-``.

    Hard errors of dpkg (empty, embedded blanks, bad or huge epoch, empty upstream) and
    characters outside Debian policy raise; an upstream part that does not start with a
    digit is only a warning in dpkg, so it is accepted (dpkg's own tests compare ``foo``).
    """
    text = _check_text(s, "dpkg")
    epoch = 0
    rest = text
    if ":" in text:
        epoch_text, rest = text.split(":", 1)
        if not epoch_text:
            raise VersionError(f"dpkg version {s!r}: epoch is empty")
        if not epoch_text.isdigit() or not _ascii(epoch_text):
            raise VersionError(f"dpkg version {s!r}: epoch {epoch_text!r} is not a number")
        # Length first: int() of a huge digit string is refused on Python >= 3.11.
        significant = epoch_text.lstrip("0") or "0"
        epoch = int(significant) if len(significant) <= 10 else _INT_MAX + 1
        if epoch > _INT_MAX:
            raise VersionError(f"dpkg version {s!r}: epoch is too big")
        if not rest:
            raise VersionError(f"dpkg version {s!r}: nothing after the epoch")
    if "-" in rest:
        upstream, revision = rest.rsplit("-", 1)
    else:
        upstream, revision = rest, ""
    if not upstream:
        raise VersionError(f"dpkg version {s!r}: upstream version is empty")
    if not _DPKG_UPSTREAM_OK.match(upstream):
        raise VersionError(f"dpkg version {s!r}: invalid character in upstream version")
    if not _DPKG_REVISION_OK.match(revision):
        raise VersionError(f"dpkg version {s!r}: invalid character in revision")
    return DpkgVersion(epoch, upstream, revision)


def _dpkg_order(ch: str) -> int:
    """Weight of one non-digit character: ``~`` lowest, then end/digits, letters, others."""
    if ch == "~":
        return -1
    if ch.isdigit():
        return 0
    if ch.isalpha():
        return ord(ch)
    return ord(ch) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's verrevcmp(): alternating non-digit and digit runs."""
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        first_diff = 0
        while (i < la and not a[i].isdigit()) or (j < lb and not b[j].isdigit()):
            ac = _dpkg_order(a[i]) if i < la else 0
            bc = _dpkg_order(b[j]) if j < lb else 0
            if ac != bc:
                return _sign(ac - bc)
            i += 1
            j += 1
        while i < la and a[i] == "0":
            i += 1
        while j < lb and b[j] == "0":
            j += 1
        while i < la and j < lb and a[i].isdigit() and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < la and a[i].isdigit():
            return 1
        if j < lb and b[j].isdigit():
            return -1
        if first_diff:
            return _sign(first_diff)
    return 0


def dpkg_compare(a: str, b: str) -> int:
    """Compare two Debian versions like ``dpkg --compare-versions``: -1, 0 or 1."""
    va, vb = parse_dpkg_version(a), parse_dpkg_version(b)
    if va.epoch != vb.epoch:
        return _sign(va.epoch - vb.epoch)
    rc = _verrevcmp(va.upstream, vb.upstream)
    if rc:
        return rc
    return _verrevcmp(va.revision, vb.revision)


# --------------------------------------------------------------------------- rpm


def _rpm_alnum(ch: str) -> bool:
    # rpm uses its own ASCII-only risalnum(): any other byte is a separator.
    return _ascii(ch) and ch.isalnum()


def rpmvercmp(a: str, b: str) -> int:
    """rpm's rpmvercmp() on one version or release field (no epoch), rpm >= 4.15 rules.

    Segments are maximal runs of digits or of letters; everything else separates them.
    ``~`` sorts before anything (even the end), ``^`` after the end but before anything
    else; numeric segments beat alphabetic ones; a segment present beats one missing.
    """
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not _rpm_alnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < lb and not _rpm_alnum(b[j]) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < la else ""
        cb = b[j] if j < lb else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i += 1
            j += 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (ca and cb):
            break
        si, sj = i, j
        isnum = ca.isdigit()
        if isnum:
            while i < la and _ascii(a[i]) and a[i].isdigit():
                i += 1
            while j < lb and _ascii(b[j]) and b[j].isdigit():
                j += 1
        else:
            while i < la and _ascii(a[i]) and a[i].isalpha():
                i += 1
            while j < lb and _ascii(b[j]) and b[j].isalpha():
                j += 1
        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_b:
            # Different segment types: numbers are newer than letters.
            return 1 if isnum else -1
        if isnum:
            seg_a = seg_a.lstrip("0")
            seg_b = seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


@dataclass(frozen=True)
class _Evr:
    epoch: str
    version: str
    release: Optional[str]


def _parse_evr(s: str, what: str) -> _Evr:
    """Split ``[epoch:]version[-release]`` like rpm's rpmverParse()."""
    text = _check_text(s, what)
    k = 0
    while k < len(text) and _ascii(text[k]) and text[k].isdigit():
        k += 1
    if k < len(text) and text[k] == ":":
        epoch = text[:k] or "0"
        rest = text[k + 1:]
    else:
        epoch = "0"
        rest = text
    release: Optional[str] = None
    if "-" in rest:
        rest, release = rest.rsplit("-", 1)
    if not rest:
        raise VersionError(f"{what} version {s!r}: version part is empty")
    return _Evr(epoch, rest, release)


def rpm_compare(a: str, b: str) -> int:
    """Compare ``[epoch:]version[-release]`` strings like rpm: -1, 0 or 1.

    As in rpm's rpmverCmp(), a missing epoch is 0 and the release only counts when both
    sides have one (so ``3.10.0`` equals ``3.10.0-693.el7``: a bare minimum matches every
    build of that version).
    """
    ea, eb = _parse_evr(a, "rpm"), _parse_evr(b, "rpm")
    rc = rpmvercmp(ea.epoch, eb.epoch)
    if rc == 0:
        rc = rpmvercmp(ea.version, eb.version)
    if rc == 0 and ea.release is not None and eb.release is not None:
        rc = rpmvercmp(ea.release, eb.release)
    return rc


def compare(family: str, a: str, b: str) -> int:
    """Compare with the comparator of ``family`` ("dpkg" or "rpm")."""
    if family == "dpkg":
        return dpkg_compare(a, b)
    if family == "rpm":
        return rpm_compare(a, b)
    raise VersionError(f"unknown version family {family!r} (expected 'dpkg' or 'rpm')")
