"""Azure VM size names and whether a size supports Accelerated Networking.

One source for `accelnet-check` (platform.vm_size, from the size IMDS reports) and for
`accelnet-provision` (refusing to enable AN on, or resize an AN VM to, a size without it).
The facts live in ``rules/vm_sizes.json`` with their sources; this module only parses names
and applies the rules, so updating a fact never means touching code.

Size names follow Azure's convention
``[Tier]_[Family][Subfamily][#vCPUs][-constrained vCPUs][features][_accelerator][_vVersion]``
(e.g. ``Standard_DS4_v2``, ``Standard_E8-4s_v5``, ``Standard_NC24ads_A100_v4``), and are
case-insensitive: IMDS has been seen to report ``standard_ds4_v2``.
"""

import functools
import json
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.records import dataclass, field

RULES_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "rules", "vm_sizes.json")

# Suffixes that name an offer of the same hardware (price promotions, internal pools):
# a promo size behaves like its base size.
_OFFER_SUFFIXES = {"promo": "Promo", "abc": "ABC", "nested": "Nested"}

_SIZE_RE = re.compile(
    r"""^(?P<tier>standard|basic)_
        (?P<series>[a-z]+?)
        (?P<number>\d+)
        (?:-(?P<constrained>\d+))?
        (?P<features>[a-z]*\d?)
        (?:_(?P<accelerator>(?!v\d+(?:_|$))[a-z]+\d+[a-z]*))?
        (?:_(?P<variant>\d+))?
        (?:_v(?P<version>\d+))?
        (?P<offers>(?:_(?:promo|abc|nested))*)$""",
    re.VERBOSE,
)


class SizeParseError(ParseError):
    """A string that is not an Azure VM size name."""


@dataclass(frozen=True)
class VmSize:
    """A parsed size name. ``vcpus`` is the active vCPU count (None where not derivable)."""

    name: str  # canonical spelling, e.g. Standard_E8-4s_v5
    tier: str  # "Standard" | "Basic"
    family: str  # one letter, lowercase: "d"
    subfamily: str  # lowercase, maybe "": "s" of DS, "c" of NC, "b" of HB
    vcpus: Optional[int]
    features: str  # additive feature letters after the number, lowercase: "ads"
    version: Optional[int]  # None for names without _vN (generation 1)
    nominal_vcpus: Optional[int] = None  # the size the constrained one derives from
    accelerator: Optional[str] = None  # e.g. "A100", "T4"
    offers: Tuple[str, ...] = field(default_factory=tuple)  # ("Promo",)

    @property
    def series(self) -> str:
        return self.family + self.subfamily

    @property
    def generation(self) -> int:
        """The version with the unsuffixed first generation counted as 1."""
        return self.version or 1

    @property
    def base_name(self) -> str:
        """Lowercase name without offer suffixes: what rule name lists compare against."""
        name = self.name.lower()
        for offer in self.offers:
            name = name[: -(len(offer) + 1)]
        return name


@dataclass(frozen=True)
class SizeVerdict:
    size: str
    status: str  # "supported" | "unsupported" | "unknown"
    reason: str
    source: str
    rule: Optional[str] = None  # id of the rule that decided
    article_2018: Optional[str] = None  # "supported"/"unsupported" under the 2018 rule


def _table_vcpus(tables: Mapping[str, Mapping[str, int]], series: str, version: int,
                 number: int) -> Tuple[bool, Optional[int]]:
    """(uses a table, vCPUs) for series whose size number is an index, not a count."""
    if series in ("d", "ds") and version in (1, 2):
        key = "d_v1_v2"
    elif series == "a" and version == 1:
        key = "a_v1"
    elif series in ("g", "gs"):
        key = "g_v1"
    else:
        return False, None
    value = tables.get(key, {}).get(str(number))
    return True, int(value) if value is not None else None


def parse_size(name: str) -> VmSize:
    """Parse a size name (any case); raises SizeParseError for anything else."""
    if not isinstance(name, str):
        raise SizeParseError(f"VM size must be a string, not {type(name).__name__}")
    text = name.strip()
    if not text or len(text) > 64:
        raise SizeParseError(f"not an Azure VM size name: {name!r}")
    match = _SIZE_RE.match(text.lower())
    if match is None:
        raise SizeParseError(
            f"not an Azure VM size name: {name!r} (expected e.g. Standard_DS4_v2)")
    parts = match.groupdict()
    series = parts["series"]
    number = int(parts["number"])
    version = int(parts["version"]) if parts["version"] else None
    tables = _load_rules_or_empty().get("vcpu_tables", {})
    by_table, nominal = _table_vcpus(tables, series, version or 1, number)
    if not by_table:
        nominal = number
    vcpus = int(parts["constrained"]) if parts["constrained"] else nominal
    if vcpus is not None and nominal is not None and vcpus > nominal:
        raise SizeParseError(f"{name!r}: constrained vCPUs exceed the size's own")
    offers = tuple(_OFFER_SUFFIXES[o] for o in parts["offers"].split("_") if o)
    tier = parts["tier"].capitalize()
    canonical = f"{tier}_{series.upper()}{number}"
    if parts["constrained"]:
        canonical += f"-{parts['constrained']}"
    canonical += parts["features"]
    if parts["accelerator"]:
        canonical += "_" + parts["accelerator"].upper()
    if parts["variant"]:
        canonical += "_" + parts["variant"]
    if version is not None:
        canonical += f"_v{version}"
    canonical += "".join("_" + o for o in offers)
    return VmSize(
        name=canonical, tier=tier, family=series[0], subfamily=series[1:], vcpus=vcpus,
        features=parts["features"], version=version, nominal_vcpus=nominal,
        accelerator=parts["accelerator"].upper() if parts["accelerator"] else None,
        offers=offers,
    )


@functools.lru_cache(maxsize=None)
def _load_rules(path: str) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValueError("no 'rules' list")
    return data


def _load_rules_or_empty() -> Dict[str, Any]:
    try:
        return _load_rules(RULES_PATH)
    except (OSError, ValueError):
        return {}


def _in_series_versions(size: VmSize, table: Mapping[str, List[int]]) -> bool:
    return size.generation in table.get(size.series, [])


def _accelerator_matches(size: VmSize, wanted: Any) -> bool:
    """``true``/``false``: the name has (no) ``_ACCELERATOR`` part; a list: one of those."""
    if isinstance(wanted, list):
        return size.accelerator is not None and size.accelerator.upper() in wanted
    return (size.accelerator is not None) == bool(wanted)


def _rule_matches(size: VmSize, match: Mapping[str, Any]) -> bool:
    """True when every condition of a rule's ``match`` holds for ``size``."""
    checks = {
        "tier": lambda v: size.tier.lower() in v,
        "family": lambda v: size.family in v,
        "series": lambda v: size.series in v,
        "version": lambda v: size.generation in v,
        "min_version": lambda v: size.generation >= v,
        "names": lambda v: size.base_name in v,
        "accelerator": lambda v: _accelerator_matches(size, v),
        "features": lambda v: size.features in v,
        "series_versions": lambda v: _in_series_versions(size, v),
        "min_vcpus": lambda v: size.vcpus is not None and size.vcpus >= v,
        "max_vcpus": lambda v: size.vcpus is not None and size.vcpus <= v,
    }
    for key, value in match.items():
        check = checks.get(key)
        if check is None or not check(value):  # an unknown condition never matches
            return False
    return True


def _article_2018(size: VmSize, rules: Mapping[str, Any]) -> str:
    for rule in rules.get("article_2018", {}).get("rules", []):
        if _rule_matches(size, rule):
            return "supported"
    return "unsupported"


def evaluate_size(name: str) -> SizeVerdict:
    """The AN verdict for a size name; never raises (what it cannot place is unknown)."""
    shown = name.strip() if isinstance(name, str) else repr(name)
    try:
        rules = _load_rules(RULES_PATH)
    except (OSError, ValueError) as exc:
        return SizeVerdict(shown, "unknown", f"size rules unreadable: {exc}", RULES_PATH)
    try:
        size = parse_size(name)
    except SizeParseError as exc:
        return SizeVerdict(shown, "unknown", str(exc), "")
    if size.vcpus is None:
        return SizeVerdict(size.name, "unknown",
                           f"{size.name}: not a size of the {size.series.upper()} series we know",
                           "", article_2018=None)
    sources = rules.get("sources", {})
    for rule in rules["rules"]:
        if not isinstance(rule, dict) or not _rule_matches(size, rule.get("match", {})):
            continue
        status = rule.get("status")
        if status not in ("supported", "unsupported"):
            continue
        source_key = rule.get("source", "")
        return SizeVerdict(
            size=size.name, status=status,
            reason=f"{size.name} ({size.vcpus} vCPUs): {rule.get('reason', '')}",
            source=sources.get(source_key, source_key), rule=rule.get("id"),
            article_2018=_article_2018(size, rules),
        )
    return SizeVerdict(
        size.name, "unknown",
        f"{size.name}: no rule for the {size.series.upper()} v{size.generation} series; "
        "check `az vm list-skus` for the AcceleratedNetworkingEnabled capability",
        sources.get("an-overview", ""), article_2018=_article_2018(size, rules))
