"""Pure parsers of the JSON documents `az` prints: resource state in, small values out.

Kept apart from the calls so they are tested on documents alone. Property names follow the
ARM resource model that `az ... show` prints (camelCase: ``hardwareProfile.vmSize``,
``enableAcceleratedNetworking``, ``virtualMachineProfile.networkProfile...``).
"""

import re
from typing import Any, List, Mapping, Optional, Tuple

from accelnet.provision.errors import AzOutputError
from accelnet.records import dataclass, field

_ID_RE = re.compile(r"/resourceGroups/(?P<rg>[^/]+)/providers/[^/]+/[^/]+/(?P<name>[^/]+)$",
                    re.IGNORECASE)

RUNNING_STATES = ("running", "starting")


@dataclass(frozen=True)
class Ref:
    """A resource by group and name (Azure compares both case-insensitively)."""

    resource_group: str
    name: str

    def key(self) -> Tuple[str, str]:
        return self.resource_group.lower(), self.name.lower()


@dataclass(frozen=True)
class VmState:
    ref: Ref
    size: str
    nics: Tuple[Ref, ...]
    availability_set: Optional[Ref]
    location: str = ""
    scale_set: Optional[Ref] = None  # the Flexible scale set it is an instance of


@dataclass(frozen=True)
class VmStatus:
    """What `az vm get-instance-view` says of a VM: power, and its ARM id and tags (the
    journal of an interrupted run lives in a tag, see journal.py)."""

    ref: Ref
    resource_id: str
    power: str
    tags: Mapping[str, str]
    unique_id: str = ""  # vmId: what a journal entry's proof is checked against


@dataclass(frozen=True)
class NicState:
    ref: Ref
    accelerated: bool


@dataclass(frozen=True)
class NicConfig:
    name: str
    accelerated: bool


@dataclass(frozen=True)
class VmssState:
    ref: Ref
    size: str
    nic_configs: Tuple[NicConfig, ...]
    upgrade_mode: str  # "Automatic" | "Manual" | "Rolling"
    resource_id: str = ""
    location: str = ""
    orchestration: str = "Uniform"  # "Uniform" | "Flexible"
    tags: Mapping[str, str] = field(default_factory=dict)
    unique_id: str = ""  # uniqueId: what a journal entry's proof is checked against


def _obj(doc: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise AzOutputError(f"{what}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _get(doc: Any, path: str, what: str) -> Any:
    node = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise AzOutputError(f"{what}: no '{path}' in az output")
        node = node[part]
    return node


def parse_ref(resource_id: str) -> Ref:
    """Ref of an ARM id like /subscriptions/…/resourceGroups/RG/providers/NS/TYPE/NAME."""
    match = _ID_RE.search(resource_id or "") if isinstance(resource_id, str) else None
    if match is None:
        raise AzOutputError(f"not an Azure resource id: {resource_id!r}")
    return Ref(match.group("rg"), match.group("name"))


def parse_vm(doc: Any) -> VmState:
    vm = _obj(doc, "az vm show")
    name = _get(vm, "name", "az vm show")
    group = vm.get("resourceGroup") or parse_ref(_get(vm, "id", "az vm show")).resource_group
    size = _get(vm, "hardwareProfile.vmSize", "az vm show")
    nics = _get(vm, "networkProfile.networkInterfaces", "az vm show")
    if not isinstance(nics, list):
        raise AzOutputError("az vm show: networkInterfaces is not a list")
    avset = vm.get("availabilitySet")
    avset_ref = parse_ref(_get(avset, "id", "az vm show")) if avset else None
    scale_set = vm.get("virtualMachineScaleSet")
    scale_set_ref = parse_ref(_get(scale_set, "id", "az vm show")) if scale_set else None
    return VmState(Ref(group, name), size,
                   tuple(parse_ref(_get(n, "id", "az vm show")) for n in nics), avset_ref,
                   _location(vm, "az vm show"), scale_set_ref)


def _location(doc: Mapping[str, Any], what: str) -> str:
    location = doc.get("location") or ""
    if not isinstance(location, str):
        raise AzOutputError(f"{what}: location is not a string")
    return location


def parse_power_state(doc: Any) -> str:
    """'running', 'deallocated', 'stopped', … from `az vm get-instance-view` or an instance
    view itself; 'unknown' when Azure reports no PowerState yet."""
    view = _obj(doc, "instance view")
    inner = view.get("instanceView", view)
    statuses = inner.get("statuses") if isinstance(inner, Mapping) else None
    if not isinstance(statuses, list):
        raise AzOutputError("instance view: no statuses list")
    for status in statuses:
        code = status.get("code", "") if isinstance(status, Mapping) else ""
        if isinstance(code, str) and code.startswith("PowerState/"):
            return code.split("/", 1)[1].lower()
    return "unknown"


def parse_tags(doc: Mapping[str, Any], what: str) -> Mapping[str, str]:
    """The resource's tags (ARM prints null for none); values are strings."""
    tags = doc.get("tags") or {}
    if not isinstance(tags, Mapping):
        raise AzOutputError(f"{what}: tags is not an object")
    return {str(k): "" if v is None else str(v) for k, v in tags.items()}


def _unique_id(doc: Mapping[str, Any], name: str, what: str) -> str:
    """The id Azure gives a resource for its lifetime ("" when absent: nothing to check a
    journal entry against, so none is acted on)."""
    value = doc.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AzOutputError(f"{what}: {name} is not a string")
    return value


def parse_vm_status(doc: Any) -> VmStatus:
    what = "az vm get-instance-view"
    vm = _obj(doc, what)
    resource_id = _get(vm, "id", what)
    if not isinstance(resource_id, str):
        raise AzOutputError(f"{what}: id is not a string")
    ref = parse_ref(resource_id)
    return VmStatus(Ref(str(vm.get("resourceGroup") or ref.resource_group),
                        str(vm.get("name") or ref.name)),
                    resource_id, parse_power_state(vm), parse_tags(vm, what),
                    _unique_id(vm, "vmId", what))


def parse_account(doc: Any) -> str:
    """The subscription id of `az account show`."""
    account = _obj(doc, "az account show")
    sub = _get(account, "id", "az account show")
    if not isinstance(sub, str) or not re.fullmatch(r"[0-9A-Fa-f-]{36}", sub):
        raise AzOutputError(f"az account show: {sub!r} is not a subscription id")
    return sub


def parse_nic(doc: Any) -> NicState:
    nic = _obj(doc, "az network nic show")
    accelerated = nic.get("enableAcceleratedNetworking", False)
    if not isinstance(accelerated, bool):
        raise AzOutputError("az network nic show: enableAcceleratedNetworking is not a boolean")
    return NicState(Ref(_get(nic, "resourceGroup", "az network nic show"),
                        _get(nic, "name", "az network nic show")), accelerated)


def parse_availability_set(doc: Any) -> List[Ref]:
    avset = _obj(doc, "az vm availability-set show")
    members = avset.get("virtualMachines") or []
    if not isinstance(members, list):
        raise AzOutputError("az vm availability-set show: virtualMachines is not a list")
    return [parse_ref(_get(m, "id", "az vm availability-set show")) for m in members]


def parse_vmss(doc: Any) -> VmssState:
    """A Flexible scale set may have no model at all (its VMs made one by one): then it has
    no NIC configurations and no size of its own, only instances."""
    vmss = _obj(doc, "az vmss show")
    what = "az vmss show"
    orchestration = _orchestration(vmss, what)
    profile = vmss.get("virtualMachineProfile")
    if profile is None and orchestration == "Flexible":
        configs: Any = []
        size = str((vmss.get("sku") or {}).get("name") or "")
    else:
        configs = _get(vmss, "virtualMachineProfile.networkProfile."
                       "networkInterfaceConfigurations", what)
        size = _get(vmss, "sku.name", what)
    if not isinstance(configs, list) or not all(isinstance(c, Mapping) for c in configs):
        raise AzOutputError(f"{what}: networkInterfaceConfigurations is not a list of objects")
    mode = (vmss.get("upgradePolicy") or {}).get("mode") or "Manual"
    return VmssState(
        Ref(_get(vmss, "resourceGroup", what), _get(vmss, "name", what)), str(size),
        tuple(NicConfig(str(c.get("name", "")), bool(c.get("enableAcceleratedNetworking")))
              for c in configs),
        str(mode), str(vmss.get("id") or ""), _location(vmss, what), orchestration,
        parse_tags(vmss, what), _unique_id(vmss, "uniqueId", what))


def _orchestration(vmss: Mapping[str, Any], what: str) -> str:
    """Uniform or Flexible; Azure omits it for Uniform scale sets made before the mode
    existed. Anything else is refused rather than planned as something it may not be."""
    mode = vmss.get("orchestrationMode") or "Uniform"
    if not isinstance(mode, str) or mode.lower() not in ("uniform", "flexible"):
        raise AzOutputError(f"{what}: orchestrationMode {mode!r} is neither Uniform nor "
                            "Flexible")
    return "Flexible" if mode.lower() == "flexible" else "Uniform"


def parse_vmss_latest(doc: Any) -> List[bool]:
    """latestModelApplied of each instance from `az vmss list-instances`."""
    if not isinstance(doc, list):
        raise AzOutputError("az vmss list-instances: expected a list")
    return [bool(_obj(item, "az vmss list-instances").get("latestModelApplied", True))
            for item in doc]


def parse_vmss_power(doc: Any) -> List[str]:
    """Power state of each instance from `az vmss get-instance-view --instance-id '*'`."""
    if not isinstance(doc, list):
        raise AzOutputError("az vmss get-instance-view --instance-id '*': expected a list")
    return [parse_power_state(view) for view in doc]


def parse_resize_options(doc: Any) -> List[str]:
    if not isinstance(doc, list):
        raise AzOutputError("az vm list-vm-resize-options: expected a list")
    return [str(item.get("name")) for item in doc if isinstance(item, Mapping)]
