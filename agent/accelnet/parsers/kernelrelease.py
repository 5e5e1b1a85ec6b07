"""What ``uname -r`` prints, split into the parts a minimum-version check needs.

Every distribution builds the string differently, and the minimums we check against are in
each distribution's own terms (Ubuntu's ABI number, RHEL's release, SUSE's patch level), so
the string is classified by family and reduced to the part that family's package manager
would compare.  The rules, by family (tested on the examples in each line):

``ubuntu``   ``<upstream>-<ABI>-<flavour>``, ABI all digits, flavour any (``azure``,
             ``generic``, ``aws``, ``azure-fde``...): ``4.15.0-1013-azure``, ``6.8.0-1029-azure``,
             ``4.4.0-116-generic``.  Compare ``4.15.0-1013`` with dpkg.
``debian``   ``<upstream>-<ABI>-<flavour>``, the ABI may carry a backport tag (``0.deb11.21``,
             ``0.bpo.6``), the flavour ends in a Debian arch (``cloud-amd64``, ``arm64``,
             ``686-pae``): ``6.1.0-0.deb11.21-cloud-amd64``, ``5.10.0-28-cloud-amd64``.  The arch
             is that suffix.  Compare ``6.1.0-0.deb11.21`` with dpkg.
``rhel``     ``<upstream>-<release>.<arch>[+<variant>]`` with an ``elN`` dist tag (RHEL, CentOS,
             Oracle's RHCK, Alma, Rocky): ``3.10.0-693.el7.x86_64``,
             ``4.18.0-513.5.1.el8_9.x86_64``.  Compare ``3.10.0-693.el7`` with rpm.
``uek``      the same shape with ``elNuek``: ``5.4.17-2136.307.3.1.el7uek.x86_64``.
``fedora``   the same shape with ``fcN``: ``6.5.6-300.fc39.x86_64``.
``mariner``  ``cmN`` / ``azlN`` tags, no arch, four-part upstream: ``5.15.153.1-2.cm2``.
``amazon``   ``amznN``: ``5.10.219-208.866.amzn2.x86_64``.
``suse``     ``<upstream>-<release>-<flavour>`` with a dotted release: ``4.4.92-6.18-default``,
             ``5.3.18-150300.59.112-default``, ``5.14.21-150500.55.39-azure``.  Compare
             ``4.4.92-6.18`` with rpm.
``alpine``   ``<upstream>-<pkgrel>-<flavour>`` with an Alpine flavour (``virt``, ``lts``...):
             ``6.6.14-0-virt``.  Compare ``6.6.14-0`` with dpkg (apk orders these the same).
``mainline`` nothing after the upstream version, or a ``-rcN`` pre-release, each optionally
             ``+`` (built from a modified tree): ``6.18.44``, ``6.9.0-rc3+``.  Compare
             ``6.9.0~rc3`` with dpkg, so a release candidate sorts before its release.
``unknown``  anything else that still starts with ``X.Y``; compared on upstream + release.

``version`` is always the first three numbers (a missing patch level is 0).
"""

import re
from typing import Optional, Tuple

from accelnet.errors import ParseError
from accelnet.parsers.versions import compare
from accelnet.records import dataclass

__all__ = ["KernelReleaseError", "KernelRelease", "parse_kernel_release", "RPM_FAMILIES"]

RPM_FAMILIES = frozenset({"rhel", "uek", "fedora", "mariner", "amazon", "suse"})

_ALLOWED = re.compile(r"[A-Za-z0-9._+~-]+\Z")
_UPSTREAM = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:\.\d+)*")
# Real components have 1-3 digits; int() of a huge digit string is refused on Python >= 3.11.
_MAX_COMPONENT_DIGITS = 9
_RPM_ARCH = re.compile(
    r"\.(x86_64|aarch64|i686|i586|i386|ppc64le|ppc64|s390x|armv7hl|riscv64|noarch)"
    r"(?:\+([A-Za-z0-9_]+))?\Z")
_RPM_DIST_TAG = re.compile(r"(?:^|[.])(el\d+(?:_\d+)?(uek)?|fc\d+|cm\d+|azl\d+|amzn\d+)(?:[._]|\Z)")
_DEBIAN_ARCH = re.compile(
    r"(?:^|-)(amd64|arm64|i386|686|686-pae|armmp|armmp-lpae|armel|ppc64el|s390x|mips64el|riscv64)\Z")
_DEBIAN_RELEASE = re.compile(r"(?:^|\.)(?:deb\d+|bpo)(?:\.|\Z)")
_ALPINE_FLAVOURS = frozenset({"virt", "lts", "edge", "rpi", "rpi2", "rpi4"})
_RC = re.compile(r"rc\d+\Z")


class KernelReleaseError(ParseError):
    """Not a kernel release string."""


@dataclass(frozen=True)
class KernelRelease:
    """One ``uname -r`` string, split by the rules of its family (see the module doc)."""

    raw: str
    version: Tuple[int, int, int]
    upstream: str
    family: str
    distro: Optional[str] = None
    flavour: Optional[str] = None
    arch: Optional[str] = None
    local: Optional[str] = None

    @property
    def comparator(self) -> str:
        """Version family ("dpkg" or "rpm") whose ordering fits this family's strings."""
        return "rpm" if self.family in RPM_FAMILIES else "dpkg"

    def comparable(self) -> str:
        """The string to compare with a distribution minimum, e.g. ``4.15.0-1013``."""
        if self.family == "mainline" and self.local and _RC.match(self.local.rstrip("+")):
            return f"{self.upstream}~{self.local.rstrip('+')}"
        if self.distro:
            return f"{self.upstream}-{self.distro}"
        return self.upstream

    def compare_to(self, minimum: str) -> int:
        """-1, 0 or 1 as this kernel is older than, equal to or newer than ``minimum``."""
        return compare(self.comparator, self.comparable(), minimum)


def _rpm_family(distro: str) -> str:
    m = _RPM_DIST_TAG.search(distro)
    if m is None:
        return "unknown"
    tag = m.group(1)
    if tag.startswith("el"):
        return "uek" if m.group(2) else "rhel"
    if tag.startswith("fc"):
        return "fedora"
    if tag.startswith(("cm", "azl")):
        return "mariner"
    if tag.startswith("amzn"):
        return "amazon"
    return "unknown"


def _split_dashed(version: Tuple[int, int, int], upstream: str, raw: str, body: str) -> KernelRelease:
    """``<release>-<flavour>`` (Debian, Ubuntu, SUSE, Alpine, or unknown)."""
    release, _, flavour = body.partition("-")
    if not release[:1].isdigit():
        return KernelRelease(raw, version, upstream, "unknown", local=body)
    flavour_or_none = flavour or None
    arch = None
    m = _DEBIAN_ARCH.search(flavour)
    if m or _DEBIAN_RELEASE.search(release):
        family = "debian"
        arch = m.group(1) if m else None
    elif flavour in _ALPINE_FLAVOURS and release.isdigit():
        family = "alpine"
    elif "." in release:
        family = "suse"
    elif release.isdigit():
        family = "ubuntu"
    else:
        family = "unknown"
    return KernelRelease(raw, version, upstream, family, distro=release, flavour=flavour_or_none,
                         arch=arch)


def parse_kernel_release(s: str) -> KernelRelease:
    """Parse what ``uname -r`` (or ``/proc/sys/kernel/osrelease``) prints."""
    if not isinstance(s, str):
        raise KernelReleaseError(f"kernel release must be a string, not {type(s).__name__}")
    raw = s.strip()
    if not raw:
        raise KernelReleaseError("kernel release is empty")
    if not _ALLOWED.match(raw):
        raise KernelReleaseError(f"kernel release {s!r} contains characters uname -r never prints")
    m = _UPSTREAM.match(raw)
    if not m:
        raise KernelReleaseError(f"kernel release {s!r} does not start with a version like 6.8")
    # leading zeros do not make a number long (0.0000000000 is 0.0.0), nor int() slow
    parts = tuple(p.lstrip("0") or "0" for p in (m.group(1), m.group(2), m.group(3) or "0"))
    if any(len(p) > _MAX_COMPONENT_DIGITS for p in parts):
        raise KernelReleaseError(f"kernel release {s[:40]!r}... has an implausibly long version number")
    version = (int(parts[0]), int(parts[1]), int(parts[2]))
    upstream = m.group(0)
    rest = raw[m.end():]

    arch_match = _RPM_ARCH.search(rest)
    if rest.startswith("-") and (arch_match or _RPM_DIST_TAG.search(rest[1:])):
        distro = rest[1:arch_match.start()] if arch_match else rest[1:]
        if not distro:
            raise KernelReleaseError(f"kernel release {s!r} has an empty release before the arch")
        return KernelRelease(raw, version, upstream, _rpm_family(distro), distro=distro,
                             flavour=arch_match.group(2) if arch_match else None,
                             arch=arch_match.group(1) if arch_match else None)
    if not rest:
        return KernelRelease(raw, version, upstream, "mainline")
    dirty = rest.endswith("+")
    core = rest[:-1] if dirty else rest
    if not core or (core.startswith("-") and _RC.match(core[1:])):
        return KernelRelease(raw, version, upstream, "mainline", local=rest.lstrip("-"))
    if core.startswith("-") and len(core) > 1:
        return _split_dashed(version, upstream, raw, core[1:])
    return KernelRelease(raw, version, upstream, "unknown", local=rest.lstrip("-") or None)
