"""Distributions and kernels against the documented Accelerated Networking minimums.

The rules are data (rules/distributions.json, a source for each row). Versions are compared
the way each family's package manager does (dpkg for Debian/Ubuntu, rpm for the RPM
distributions), since a kernel release such as ``3.10.0-693.21.1.el7`` is an rpm version.
"""

import json
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from accelnet.diagnosis.status import CRITICAL, OK, UNKNOWN, WARNING
from accelnet.errors import ParseError
from accelnet.parsers.lazypattern import LazyPattern
from accelnet.parsers.numbers import decimal
from accelnet.records import dataclass, field

if TYPE_CHECKING:
    from accelnet.parsers.kernelrelease import KernelRelease
    from accelnet.parsers.osrelease import OsRelease

_EL_TAG = LazyPattern(r"(?:^|[.])(el\d+)(?:[._]|\Z)")


@dataclass
class Verdict:
    status: str
    summary: str
    evidence: Dict[str, object] = field(default_factory=dict)
    remedy: Optional[str] = None


@lru_cache(maxsize=1)
def rules() -> dict:
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rules", "distributions.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def source(key: Optional[str]) -> Optional[str]:
    return rules()["sources"].get(key) if key else None


def find_rule(os_release: Optional["OsRelease"]) -> Tuple[Optional[dict], str]:
    """The rule for this distribution: by ID, else by ID_LIKE (``how`` says which)."""
    if os_release is None:
        return None, ""
    by_id = {row["id"]: row for row in rules()["distributions"]}
    ident = os_release.id.lower()
    if ident in by_id:
        return by_id[ident], "id"
    for like in os_release.id_like:
        if like.lower() in by_id:
            return by_id[like.lower()], "id_like"
    return None, ""


#: A version component has a few digits; VERSION_ID=999…(5,000 digits) is no version.
_MAX_COMPONENT_DIGITS = 9


def _version_tuple(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """``22.04`` as (22, 4): the ASCII digits of each dotted piece, up to the first piece
    without any; None when a piece has more than _MAX_COMPONENT_DIGITS of them."""
    parts = []
    for piece in (text or "").split("."):
        digits = "".join(c for c in piece if "0" <= c <= "9")
        if not digits:
            break
        number = decimal(digits, _MAX_COMPONENT_DIGITS)
        if number is None:
            return None
        parts.append(number)
    return tuple(parts)


def _rule_version(text: Optional[str]) -> Tuple[int, ...]:
    """A version from the rules files (ours, well-formed)."""
    return _version_tuple(text) or ()


def _short(text: Optional[str], limit: int = 40) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + "…"


def _os_name(os_release: "OsRelease") -> str:
    return (
        os_release.pretty_name
        or " ".join(x for x in (os_release.name, os_release.version_id) if x)
        or os_release.id
        or "unknown distribution"
    )


def evaluate_distribution(os_release: Optional["OsRelease"], error: Optional[str] = None) -> Verdict:
    if os_release is None:
        return Verdict(UNKNOWN, f"distribution unknown: {error or 'no os-release'}")
    rule, how = find_rule(os_release)
    name = _os_name(os_release)
    evidence: Dict[str, object] = {
        "id": os_release.id,
        "id_like": list(os_release.id_like),
        "version_id": os_release.version_id,
    }
    if rule is None:
        return Verdict(
            WARNING,
            f"{name} is not a distribution Microsoft documents for Accelerated Networking "
            "(it may still work with a recent kernel)",
            evidence,
            "Use a supported image (Ubuntu, RHEL, CentOS, SLES, Debian, Oracle Linux, Flatcar, Azure Linux) "
            "or make sure the kernel's hv_netvsc pairs the VF (kernel 4.14 or later)",
        )
    evidence["rule"] = rule["id"]
    evidence["source"] = source(rule.get("support_source"))
    since = rule.get("since")
    version = os_release.version_id
    if how == "id_like":
        return Verdict(
            WARNING,
            f"{name} is derived from {rule['name']} but is not itself documented for Accelerated Networking",
            evidence,
        )
    ours = _version_tuple(version) if version else ()
    if ours is None:
        return Verdict(
            UNKNOWN,
            f"{name}: VERSION_ID {_short(version)!r} in /etc/os-release is not a version",
            evidence,
        )
    if since and ours and ours < _rule_version(since):
        return Verdict(
            CRITICAL,
            f"{name} is older than {rule['name']} {since}, the first release documented for Accelerated Networking",
            evidence,
            f"Move to {rule['name']} {since} or later",
        )
    if rule.get("rebuild_of"):
        return Verdict(OK, f"{name} rebuilds {rule['rebuild_of']} from its sources and supports Accelerated Networking as it does", evidence)
    return Verdict(OK, f"{name} supports Accelerated Networking", evidence)


#: Image-based systems update the OS as one image; no package manager adds or updates a
#: kernel or module on the running system (yum/dnf are absent or refuse), so their remedies
#: say how the image is updated. os-release(5): Fedora CoreOS, Silverblue, Kinoite and IoT
#: are ID=fedora with their VARIANT_ID, and rpm-ostree updates them; Red Hat CoreOS (ID=rhcos,
#: VARIANT_ID=coreos, the nodes of OpenShift and Azure Red Hat OpenShift) gets its kernel
#: from the cluster's release; Container Linux (ID=coreos) and Flatcar update through
#: update_engine; SLE Micro and openSUSE MicroOS through transactional-update.
_OPENSHIFT = "oc adm upgrade: an OpenShift node's kernel comes with the cluster's release, never from yum on the node"
_RPM_OSTREE = "sudo rpm-ostree upgrade && sudo systemctl reboot"
_IMAGE_BY_ID = {
    "rhcos": _OPENSHIFT,
    "coreos": "sudo update_engine_client -update && sudo systemctl reboot",
    "flatcar": "sudo update_engine_client -update && sudo systemctl reboot",
    "sle-micro": "sudo transactional-update up && sudo reboot",
    "sl-micro": "sudo transactional-update up && sudo reboot",
    "opensuse-microos": "sudo transactional-update dup && sudo reboot",
}
_OSTREE_VARIANTS = ("coreos", "silverblue", "kinoite", "iot", "sericea", "onyx")


def image_update(os_release: Optional["OsRelease"]) -> Optional[str]:
    """How an image-based system updates its kernel (with its modules); None for any other."""
    if os_release is None:
        return None
    ident = os_release.id.lower()
    if ident in _IMAGE_BY_ID:
        return _IMAGE_BY_ID[ident]
    variant = (os_release.variant_id or "").lower()
    if variant in _OSTREE_VARIANTS:
        return _OPENSHIFT if variant == "coreos" and "rhel" in os_release.id_like else _RPM_OSTREE
    return None


def upgrade_command(os_release: Optional["OsRelease"]) -> str:
    image = image_update(os_release)
    if image is not None:
        return image
    rule, _ = find_rule(os_release)
    if rule and rule.get("upgrade"):
        return rule["upgrade"]
    return "install your distribution's current kernel and reboot"


def _dist_tag(release: "KernelRelease") -> Optional[str]:
    """``el7``/``el8``/``el9`` from an RPM kernel's release (``513.5.1.el8_9`` -> ``el8``)."""
    match = _EL_TAG.search(release.distro or "")
    return match.group(1) if match else None


def kernel_line(release: "KernelRelease") -> Optional[dict]:
    """The ``kernel_lines`` row this kernel belongs to (its distribution's own numbering)."""
    for line in rules().get("kernel_lines", []):
        if "id" not in line or line.get("kernel_family") != release.family:
            continue
        if line.get("dist") and line["dist"] != _dist_tag(release):
            continue
        return line
    return None


def _below(release: "KernelRelease", minimum: str) -> bool:
    from accelnet.parsers.versions import compare

    return compare(release.comparator, release.comparable(), minimum) < 0


def mana_documented(os_release: Optional["OsRelease"]) -> Tuple[Optional[bool], List[str]]:
    """Whether Microsoft's MANA page lists this release (None: no documented distribution).

    A listed release documents its own major version from that point release on (RHEL 8.8
    covers 8.8 and 8.10, not 8.6), and later majors.
    """
    if os_release is None:
        return None, []
    rule, how = find_rule(os_release)
    if rule is None or how != "id":
        return None, []
    releases = rule.get("mana_releases") or []
    version = _version_tuple(os_release.version_id)
    if not releases or not version:
        return (False if not releases else None), releases
    listed = [_rule_version(r) for r in releases]
    for first in listed:
        if version[0] == first[0] and version >= first:
            return True, releases
    return version[0] > max(first[0] for first in listed), releases


def _mana_problem(os_release: Optional["OsRelease"], kernel: str, release: "KernelRelease", evidence: Dict[str, object],
                  checked: List[str]) -> Optional[Verdict]:
    """The MANA driver's minimum: the kernel's own line where it backports, else mainline."""
    line = kernel_line(release)
    if line is not None and "mana_min" in line:
        minimum = line["mana_min"]
        evidence.update({"mana_minimum": minimum, "mana_source": source(line.get("mana_source"))})
        if minimum is None:
            summary = f"kernel {kernel} is an {line['id']} kernel: no kernel of that line has the MANA driver"
        else:
            checked.append(f"MANA needs {minimum} ({line['id']})")
            if not _below(release, minimum):
                return None
            summary = f"kernel {kernel} is older than {minimum}, the first {line['id']} kernel with the MANA driver"
    else:
        minimum = rules()["mana"]["kernel_min_mainline"]
        checked.append(f"MANA needs {minimum}")
        if not release.version < _rule_version(minimum):
            return None
        summary = f"kernel {kernel} is older than {minimum}, the first with the MANA driver"
    documented, releases = mana_documented(os_release)
    rule, _ = find_rule(os_release)
    if documented is False and rule is not None:
        listed = f"from {', '.join(releases)}" if releases else "for no release of it"
        summary += f" (Microsoft documents MANA on {rule['name']} {listed})"
    return Verdict(CRITICAL, summary)


def evaluate_kernel(
    os_release: Optional["OsRelease"], kernel: Optional[str], image_version: Optional[str], vf_families: Sequence[str]
) -> Verdict:
    if not kernel:
        return Verdict(UNKNOWN, "kernel release unknown (no /proc/sys/kernel/osrelease)")
    from accelnet.parsers.kernelrelease import parse_kernel_release
    from accelnet.parsers.versions import compare

    evidence: Dict[str, object] = {"kernel": kernel}
    try:
        release = parse_kernel_release(kernel)
    except ParseError as exc:
        return Verdict(UNKNOWN, f"kernel release {kernel!r} not understood: {exc}", evidence)
    rule, _ = find_rule(os_release)
    problems: List[Verdict] = []
    checked: List[str] = []

    if "mana" in vf_families:
        mana = _mana_problem(os_release, kernel, release, evidence, checked)
        if mana is not None:
            problems.append(mana)

    family = rule.get("family") if rule else None
    minimum = None
    source_key = rule.get("kernel_source") if rule else None
    if rule:
        by_flavour = rule.get("flavour_kernel_min") or {}
        # Oracle's UEK shows as a kernel family of its own ("el7uek"), other flavours by name.
        variant = next((k for k in (release.flavour, release.family) if k and k.lower() in by_flavour), None)
        minimum = by_flavour[variant.lower()] if variant else rule.get("kernel_min")
        if variant and rule.get("flavour_source"):
            source_key = rule["flavour_source"]
    line = kernel_line(release)
    if not (rule and minimum and family) and line is not None and line.get("kernel_min"):
        # No documented distribution says how to read this kernel: its own line does.
        rule_name, minimum, family, source_key = f"an {line['id']} kernel", line["kernel_min"], release.comparator, line.get("kernel_source")
        note = ""
    else:
        rule_name = rule["name"] if rule else ""
        note = f" ({rule['kernel_note']})" if rule and rule.get("kernel_note") else ""
    if minimum and family:
        evidence.update({"minimum": minimum, "compared_as": family, "source": source(source_key)})
        checked.append(f"{rule_name} needs {minimum}")
        try:
            below = compare(family, release.comparable(), minimum) < 0
        except ParseError as exc:
            return Verdict(UNKNOWN, f"kernel {kernel} cannot be compared with {minimum}: {exc}", evidence)
        if below:
            problems.append(Verdict(CRITICAL, f"kernel {kernel} is older than {minimum}, the minimum for {rule_name}{note}"))
    else:
        fallback = (rule or {}).get("kernel_min_mainline") or rules()["fallback"]["kernel_min_mainline"]
        evidence.update({"minimum": fallback, "compared_as": "mainline", "source": source("mainline")})
        checked.append(f"mainline {fallback}")
        if release.version < _rule_version(fallback):
            problems.append(Verdict(CRITICAL, f"kernel {kernel} is older than {fallback}, whose hv_netvsc pairs the VF"))

    image_min = rule.get("image_min") if rule else None
    if image_min and image_version and image_version[:1].isdigit():
        evidence.update({"image_version": image_version, "image_minimum": image_min})
        checked.append(f"image {image_min}")
        try:
            if compare("rpm", image_version, image_min) < 0:
                problems.append(Verdict(CRITICAL, f"image version {image_version} is older than {image_min}"))
        except ParseError:
            pass

    if problems:
        return Verdict(
            CRITICAL,
            "; ".join(p.summary for p in problems),
            evidence,
            f"Upgrade the kernel: {upgrade_command(os_release)}",
        )
    return Verdict(OK, f"kernel {kernel} meets the minimum ({', '.join(checked)})", evidence)
