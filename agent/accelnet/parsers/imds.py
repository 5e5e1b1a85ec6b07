"""The parts of the Azure IMDS ``/metadata/instance`` document the diagnosis needs.

Pure: the JSON text comes from the IMDS client or from a snapshot's ``cmd/imds.json``.  IMDS
writes ``""`` for "not set" (no scale set, no marketplace image), so empty strings become
``None`` just like absent keys; a value of the wrong JSON type means the document is not
what we think it is, and raises.
"""

import json
from typing import Any, Dict, List, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.parsers.jsontext import JsonTextError, load_json
from accelnet.parsers.macaddr import MacAddressError, normalize_mac
from accelnet.records import dataclass

__all__ = ["ImdsError", "ImdsInstance", "is_accelnet_tag", "parse_imds_instance", "redact_imds", "redact_imds_document"]


class ImdsError(ParseError):
    """Not an IMDS instance document (bad JSON or a field of the wrong type)."""


@dataclass(frozen=True)
class ImdsInstance:
    vm_size: Optional[str]
    location: Optional[str]
    name: Optional[str]
    os_type: Optional[str]
    publisher: Optional[str]
    offer: Optional[str]
    sku: Optional[str]
    image_version: Optional[str]
    vm_scale_set_name: Optional[str]
    vm_id: Optional[str]
    macs: Tuple[str, ...]
    resource_group: Optional[str] = None  # so remedies can name the az commands' -g
    zone: Optional[str] = None  # availability zone ("1"); None outside zones
    #: The VM's tags whose names start with ``accelnet`` (declared intent, the journal of
    #: accelnet-provision), as (name, value) pairs in IMDS order; no other tag is kept.
    tags: Tuple[Tuple[str, str], ...] = ()


#: Tags whose names start with this (compared case-insensitively, as Azure compares tag
#: names) are accelnet's own: read, and kept in bundles. Every other tag is dropped unread.
TAG_PREFIX = "accelnet"


def is_accelnet_tag(name: object) -> bool:
    return isinstance(name, str) and name.lower().startswith(TAG_PREFIX)


def _object(value: Any, where: str) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImdsError(f"IMDS {where} is {type(value).__name__}, expected an object")
    return value


def _string(obj: Dict[str, Any], key: str, where: str) -> Optional[str]:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ImdsError(f"IMDS {where}.{key} is {type(value).__name__}, expected a string")
    return value or None


def _macs(network: Dict[str, Any]) -> Tuple[str, ...]:
    interfaces = network.get("interface")
    if interfaces is None:
        return ()
    if not isinstance(interfaces, list):
        raise ImdsError(f"IMDS network.interface is {type(interfaces).__name__}, expected a list")
    macs = []
    for index, iface in enumerate(interfaces):
        where = f"network.interface[{index}]"
        mac = _string(_object(iface, where), "macAddress", where)
        if mac is None:
            continue
        try:
            macs.append(normalize_mac(mac))
        except MacAddressError as exc:
            raise ImdsError(f"IMDS {where}.macAddress: {exc}") from None
    return tuple(macs)


def _tags(compute: Dict[str, Any]) -> Tuple[Tuple[str, str], ...]:
    """accelnet's tags from ``compute.tagsList`` ([{"name", "value"}], api-version 2019-06-04
    and later), else from the older ``compute.tags`` string (``name:value;name:value``: a
    value holding ``;`` cannot be told apart there, so tagsList wins whenever present)."""
    listed = compute.get("tagsList")
    if listed is not None:
        if not isinstance(listed, list):
            raise ImdsError(f"IMDS compute.tagsList is {type(listed).__name__}, expected a list")
        tags = []
        for index, entry in enumerate(listed):
            where = f"compute.tagsList[{index}]"
            tag = _object(entry, where)
            name = _string(tag, "name", where)
            if name is not None and is_accelnet_tag(name):
                tags.append((name, _string(tag, "value", where) or ""))
        return tuple(tags)
    text = _string(compute, "tags", "compute")
    pairs = (item.partition(":") for item in (text or "").split(";"))
    return tuple((name, value) for name, _, value in pairs if is_accelnet_tag(name))


def parse_imds_instance(text: str) -> ImdsInstance:
    """Parse the JSON body of ``/metadata/instance``.

    Image fields come from ``compute.storageProfile.imageReference`` and fall back, field by
    field, to ``compute.publisher/offer/sku/version`` (older api-versions and custom images
    leave the reference empty).
    """
    if not isinstance(text, str):
        raise ImdsError(f"IMDS document must be text, not {type(text).__name__}")
    try:
        doc = load_json(text, "IMDS document")
    except JsonTextError as exc:
        raise ImdsError(str(exc)) from None
    if not isinstance(doc, dict):
        raise ImdsError(f"IMDS document is {type(doc).__name__}, expected an object")
    compute = _object(doc.get("compute"), "compute")
    storage = _object(compute.get("storageProfile"), "compute.storageProfile")
    image = _object(storage.get("imageReference"), "compute.storageProfile.imageReference")
    network = _object(doc.get("network"), "network")

    def image_field(ref_key: str, compute_key: str) -> Optional[str]:
        where = "compute.storageProfile.imageReference"
        return _string(image, ref_key, where) or _string(compute, compute_key, "compute")

    return ImdsInstance(
        vm_size=_string(compute, "vmSize", "compute"),
        location=_string(compute, "location", "compute"),
        name=_string(compute, "name", "compute"),
        os_type=_string(compute, "osType", "compute"),
        publisher=image_field("publisher", "publisher"),
        offer=image_field("offer", "offer"),
        sku=image_field("sku", "sku"),
        image_version=image_field("version", "version"),
        vm_scale_set_name=_string(compute, "vmScaleSetName", "compute"),
        vm_id=_string(compute, "vmId", "compute"),
        macs=_macs(network),
        resource_group=_string(compute, "resourceGroupName", "compute"),
        zone=_string(compute, "zone", "compute"),
        tags=_tags(compute),
    )


# -- redaction for support bundles -------------------------------------------------------------

#: The fields of ``compute`` a bundle keeps: exactly what :func:`parse_imds_instance` reads
#: (plus ``zone``), as docs/bundle.md lists them, and of ``tagsList`` only the tags named
#: ``accelnet*``. Everything else (userData, customData, other tags, public keys,
#: subscription id, IP addresses...) never leaves the VM.
REDACTED_COMPUTE_KEYS = ("vmSize", "location", "name", "osType", "vmId", "resourceGroupName",
                         "vmScaleSetName", "zone", "publisher", "offer", "sku", "version")
REDACTED_IMAGE_KEYS = ("publisher", "offer", "sku", "version")
REDACTED_INTERFACE_KEYS = ("macAddress",)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _pick(obj: Any, keys: Tuple[str, ...], where: str, dropped: List[str]) -> Dict[str, Any]:
    """The scalar values of ``keys`` in ``obj``; the names of everything else in ``dropped``."""
    if not isinstance(obj, dict):
        return {}
    kept = {}
    for key, value in obj.items():
        if key in keys and _scalar(value):
            kept[key] = value
        else:
            dropped.append(f"{where}{key}")
    return kept


def redact_imds_document(doc: Any) -> Tuple[Dict[str, Any], List[str]]:
    """The allow-listed part of a parsed ``/metadata/instance`` document, and the paths of
    what was dropped (``compute.userData``, ``network.interface[].ipv4``...), sorted."""
    dropped: List[str] = []
    out: Dict[str, Any] = {}
    if not isinstance(doc, dict):
        return out, ["(the whole document: not a JSON object)"]
    for key in doc:
        if key not in ("compute", "network"):
            dropped.append(str(key))
    compute_raw = doc.get("compute")
    if isinstance(compute_raw, dict):
        compute = _pick({k: v for k, v in compute_raw.items() if k not in ("storageProfile", "tagsList")},
                        REDACTED_COMPUTE_KEYS, "compute.", dropped)
        tags = _redact_tags(compute_raw["tagsList"], dropped) if "tagsList" in compute_raw else []
        if tags:
            compute["tagsList"] = tags
        storage = compute_raw.get("storageProfile")
        if isinstance(storage, dict):
            for key in storage:
                if key != "imageReference":
                    dropped.append(f"compute.storageProfile.{key}")
            if "imageReference" in storage:
                image = _pick(storage["imageReference"], REDACTED_IMAGE_KEYS,
                              "compute.storageProfile.imageReference.", dropped)
                compute["storageProfile"] = {"imageReference": image}
        elif "storageProfile" in compute_raw:
            dropped.append("compute.storageProfile")
        out["compute"] = compute
    elif "compute" in doc:
        dropped.append("compute")
    network_raw = doc.get("network")
    if isinstance(network_raw, dict):
        for key in network_raw:
            if key != "interface":
                dropped.append(f"network.{key}")
        interfaces = network_raw.get("interface")
        if isinstance(interfaces, list):
            out["network"] = {"interface": [
                _pick(i, REDACTED_INTERFACE_KEYS, "network.interface[].", dropped) for i in interfaces
            ]}
        elif "interface" in network_raw:
            dropped.append("network.interface")
    elif "network" in doc:
        dropped.append("network")
    return out, sorted(set(dropped))


def _redact_tags(listed: Any, dropped: List[str]) -> List[Dict[str, str]]:
    """The ``accelnet*`` entries of ``compute.tagsList`` (string names and values only)."""
    kept = []
    for entry in listed if isinstance(listed, list) else ():
        if isinstance(entry, dict) and is_accelnet_tag(entry.get("name")) and isinstance(entry.get("value", ""), str):
            kept.append({"name": entry["name"], "value": entry.get("value", "")})
    if not isinstance(listed, list) or len(kept) < len(listed):
        dropped.append("compute.tagsList[] (tags not named accelnet*)")
    return kept


def redact_imds(text: Optional[str]) -> Optional[str]:
    """The IMDS answer as a bundle keeps it (JSON text), or None when it is absent or not
    JSON at all: what cannot be parsed cannot be redacted, so it is left out."""
    if text is None:
        return None
    try:
        doc = load_json(text, "IMDS document")
    except JsonTextError:
        return None
    kept, _ = redact_imds_document(doc)
    return json.dumps(kept, indent=2, sort_keys=True) + "\n"
