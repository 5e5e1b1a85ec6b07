"""The parts of the Azure IMDS ``/metadata/instance`` document the diagnosis needs.

Pure: the JSON text comes from the IMDS client or from a snapshot's ``cmd/imds.json``.  IMDS
writes ``""`` for "not set" (no scale set, no marketplace image), so empty strings become
``None`` just like absent keys; a value of the wrong JSON type means the document is not
what we think it is, and raises.
"""

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from accelnet.errors import ParseError
from accelnet.macaddr import MacAddressError, normalize_mac

__all__ = ["ImdsError", "ImdsInstance", "parse_imds_instance"]


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
    subscription_id: Optional[str] = None


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


def parse_imds_instance(text: str) -> ImdsInstance:
    """Parse the JSON body of ``/metadata/instance``.

    Image fields come from ``compute.storageProfile.imageReference`` and fall back, field by
    field, to ``compute.publisher/offer/sku/version`` (older api-versions and custom images
    leave the reference empty).
    """
    if not isinstance(text, str):
        raise ImdsError(f"IMDS document must be text, not {type(text).__name__}")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ImdsError(f"IMDS document is not valid JSON: {exc}") from None
    except RecursionError:
        raise ImdsError("IMDS document is nested too deeply to be an IMDS answer") from None
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
        subscription_id=_string(compute, "subscriptionId", "compute"),
    )
