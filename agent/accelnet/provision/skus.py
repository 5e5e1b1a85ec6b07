"""Does a size have Accelerated Networking here? Azure's answer first, the bundled table
when Azure cannot be asked, and what the two disagree on.

The bundled table (rules/vm_sizes.json, shared with accelnet-check) knows size families;
it cannot know a size newer than itself, nor what a region offers, nor what a subscription
may use. Azure's resource SKU list knows all three: `az vm list-skus --location L --size S
--all` returns, per SKU, its ``capabilities`` (``{"name": "AcceleratedNetworkingEnabled",
"value": "True"}``), the ``locations`` and ``locationInfo[].zones`` it is offered in, and
``restrictions`` (``type`` Location or Zone, ``reasonCode`` such as
NotAvailableForSubscription, ``restrictionInfo.locations``/``zones``). ``--size`` matches
any name containing the text (Standard_DS4_v2 also finds Standard_DS4_v2_Promo), so the
parser keeps the exact name only. ``--all`` keeps the SKUs the subscription may not use, so
their restriction can be said, rather than the size just looking absent.

Parsing (text in, values out) is separate from asking (reader.py) and from deciding
(``decide``), so each is tested on documents alone. A field of the wrong type, or more zones
than a region has, is AzOutputError (the table then decides, saying so); zone names, which
reach az's argv, and reason codes, which reach the terminal, pass only in Azure's spelling.
"""

import re
from typing import Any, List, Mapping, Optional, Tuple

from accelnet.diagnosis.sizes import evaluate_size
from accelnet.provision.errors import AzOutputError
from accelnet.records import dataclass, field

CAPABILITY = "AcceleratedNetworkingEnabled"
SOURCE_AZURE = "Azure's resource SKU list (az vm list-skus)"


@dataclass(frozen=True)
class Sku:
    """One size as Azure lists it for one location."""

    name: str
    location: str
    accelerated: Optional[bool]  # None: Azure lists no such capability for it
    zones: Tuple[str, ...]  # offered in these zones here (restricted ones removed)
    blocked: Tuple[str, ...] = ()  # why it cannot be used here (a Location restriction)
    zone_restrictions: Tuple[str, ...] = ()  # zones it cannot be used in here, and why


@dataclass(frozen=True)
class SkuAnswer:
    """What asking Azure gave: the size (None: Azure lists no such size there), or why
    Azure could not be asked (``error``)."""

    sku: Optional[Sku] = None
    error: Optional[str] = None

    @property
    def asked(self) -> bool:
        return self.error is None


def list_skus_args(size: str, location: str) -> List[str]:
    return ["vm", "list-skus", "--location", location, "--size", size, "--all",
            "--resource-type", "virtualMachines"]


#: A region has three availability zones; a list far longer is not Azure's.
MAX_ZONES = 64
#: A restriction's reasonCode as Azure spells them (NotAvailableForSubscription, QuotaId):
#: anything else is said as "restricted", never echoed to a terminal.
_REASON_CODE = re.compile(r"\A[A-Za-z][A-Za-z0-9]{0,63}\Z")
_ZONE = re.compile(r"\A[A-Za-z0-9]{1,8}\Z")


def _list(item: Mapping[str, Any], name: str) -> List[Any]:
    """A field that az prints as a list (or null); any other type is nonsense."""
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise AzOutputError(f"az vm list-skus: {name} is a {type(value).__name__}, not a list")
    return value


def _zones(item: Mapping[str, Any], name: str) -> Tuple[str, ...]:
    """Zone names ("1", "2", "3"): they reach az's argv (--zone), so nothing else passes."""
    values = [str(v) if isinstance(v, int) else v for v in _list(item, name)]
    if len(values) > MAX_ZONES or not all(isinstance(v, str) and _ZONE.match(v) for v in values):
        raise AzOutputError(f"az vm list-skus: {name} is not a short list of zone names")
    return tuple(values)


def _mapping(item: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = item.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AzOutputError(f"az vm list-skus: {name} is a {type(value).__name__}, not an object")
    return value


def _reason(restriction: Mapping[str, Any]) -> str:
    code = restriction.get("reasonCode")
    return code if isinstance(code, str) and _REASON_CODE.match(code) else "restricted"


def _capability(item: Mapping[str, Any]) -> Optional[bool]:
    for capability in _list(item, "capabilities"):
        if isinstance(capability, Mapping) and capability.get("name") == CAPABILITY:
            value = str(capability.get("value", "")).strip().lower()
            if value in ("true", "false"):
                return value == "true"
            raise AzOutputError(f"az vm list-skus: {CAPABILITY} is {capability.get('value')!r}, "
                                "not True or False")
    return None


def parse_skus(doc: Any, size: str, location: str) -> Optional[Sku]:
    """The SKU named exactly ``size`` (any case) for ``location`` in `az vm list-skus`
    output, None when Azure lists none."""
    if not isinstance(doc, list):
        raise AzOutputError("az vm list-skus: expected a list")
    where = location.lower()
    for item in doc:
        if not isinstance(item, Mapping) or str(item.get("name", "")).lower() != size.lower():
            continue
        if str(item.get("resourceType", "virtualMachines")) != "virtualMachines":
            continue
        locations = [loc.lower() for loc in _list(item, "locations") if isinstance(loc, str)]
        if locations and where not in locations:
            continue
        zones: List[str] = []
        for info in _list(item, "locationInfo"):
            if isinstance(info, Mapping) and str(info.get("location", "")).lower() == where:
                zones += _zones(info, "zones")
        if len(zones) > MAX_ZONES:
            raise AzOutputError(f"az vm list-skus: {len(zones)} zones for {size} in {location}")
        blocked, zone_notes, unusable = [], [], set()
        for restriction in _list(item, "restrictions"):
            if not isinstance(restriction, Mapping):
                continue
            info = _mapping(restriction, "restrictionInfo")
            places = [loc.lower() for loc in _list(info, "locations") or _list(restriction, "values")
                      if isinstance(loc, str)]
            if places and where not in places:
                continue
            reason = _reason(restriction)
            if restriction.get("type") == "Zone":
                restricted = _zones(info, "zones")
                unusable |= set(restricted)
                zone_notes.append(f"zones {', '.join(restricted) or '?'}: {reason}")
            else:
                blocked.append(reason)
        return Sku(str(item["name"]), location, _capability(item),
                   tuple(z for z in sorted(zones) if z not in unusable), tuple(blocked),
                   tuple(zone_notes))
    return None


@dataclass
class SizeDecision:
    """The verdict a plan acts on, where it came from, and what it should say."""

    size: str
    status: str  # supported | unsupported | unknown
    reason: str
    source: str
    offered: bool = True  # False: Azure says the size cannot be had here
    warnings: List[str] = field(default_factory=list)  # disagreements, Azure unreachable
    zones: Tuple[str, ...] = ()  # where Azure offers it here (empty: not zonal, or unknown)


def decide(size: str, location: str, answer: SkuAnswer) -> SizeDecision:
    """Azure's answer where there is one, else the bundled table's; a disagreement between
    them is a warning (the table is then due an update), never silent."""
    table = evaluate_size(size)
    if not answer.asked:
        return SizeDecision(size, table.status, table.reason, table.source, warnings=[
            f"Azure's SKU list could not be read ({answer.error}): the bundled size table "
            f"decides for {size}: {table.status}"])
    sku = answer.sku
    if sku is None:
        return SizeDecision(size, table.status, table.reason, table.source, offered=False,
                            warnings=[f"Azure lists no size {size} in {location} "
                                      f"(az vm list-skus); the bundled size table says "
                                      f"{table.status}"])
    decision = SizeDecision(size, table.status, table.reason, table.source, zones=sku.zones)
    if sku.accelerated is None:
        decision.warnings.append(f"Azure lists {sku.name} in {location} without the "
                                 f"{CAPABILITY} capability: the bundled size table decides: "
                                 f"{table.status}")
    else:
        azure = "supported" if sku.accelerated else "unsupported"
        decision.status, decision.source = azure, SOURCE_AZURE
        decision.reason = (f"{sku.name} in {location}: {CAPABILITY}="
                           f"{'True' if sku.accelerated else 'False'}")
        if table.status != azure:
            decision.warnings.append(
                f"the bundled size table says {table.status} for {sku.name} ({table.reason}), "
                f"Azure says {CAPABILITY}={'True' if sku.accelerated else 'False'}: Azure's "
                "answer is used")
    if sku.blocked:
        decision.offered = False
        decision.reason = (f"{sku.name} cannot be used in {location} by this subscription "
                           f"({', '.join(sku.blocked)})")
    for note in sku.zone_restrictions:
        decision.warnings.append(f"{sku.name} in {location} is restricted in {note}")
    return decision
