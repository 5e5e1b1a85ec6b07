"""The VMs a fleet run asks, and what Azure says of each before anything is sent to it.

Pure parsers of `az` documents (text in, values out), kept apart from the calls:

* `az vm list -g RG`: every VM of the group, Flexible scale-set members included (they are
  ordinary VMs, ``virtualMachineScaleSet.id`` names their set);
* `az vm get-instance-view -g RG -n VM`: the VM model and its instance view (power state,
  OS type, the VM agent's status, the distribution the agent reports);
* `az vmss show`: ``orchestrationMode`` (Uniform or Flexible), size, OS type;
* `az vmss list-instances --expand instanceView`: a Uniform set's instances with their views
  (refused for Flexible sets, whose members are listed with `az vm list`).

Names come from Azure but are still checked against Azure's naming rules before they go back
to `az` as arguments (one that starts with '-' would be read as an option).
"""

from typing import Any, List, Mapping, Optional, Tuple

from accelnet.provision.errors import AzOutputError, Refused
from accelnet.provision.names import check_name
from accelnet.provision.state import parse_power_state, parse_ref
from accelnet.records import dataclass

VM, FLEXIBLE, UNIFORM = "vm", "flexible", "uniform"


@dataclass(frozen=True)
class Target:
    """One VM to ask: by name (a VM, a Flexible member) or by instance id (Uniform)."""

    name: str  # what the table shows
    resource_group: str
    kind: str = VM
    scale_set: Optional[str] = None
    instance_id: Optional[str] = None
    #: why this target cannot be asked at all (a name Azure's rules refuse), else None
    refused: Optional[str] = None

    def where(self) -> List[str]:
        """The `az` arguments that name it (after `vm run-command invoke` or the vmss form)."""
        if self.kind == UNIFORM:
            return ["--resource-group", self.resource_group, "--name", str(self.scale_set),
                    "--instance-id", str(self.instance_id)]
        return ["--resource-group", self.resource_group, "--name", self.name]


@dataclass(frozen=True)
class VmView:
    """What Azure says of a VM before it is asked (None where Azure does not say)."""

    power: str
    os_type: Optional[str] = None  # "Linux" | "Windows"
    size: Optional[str] = None
    agent: Optional[str] = None  # the VM agent's displayStatus: "Ready", "Not Ready"
    agent_message: Optional[str] = None
    os_name: Optional[str] = None  # as the agent reports it: "ubuntu", "Windows Server 2022…"
    os_version: Optional[str] = None

    @property
    def windows(self) -> bool:
        return (self.os_type or "").lower() == "windows" or "windows" in (self.os_name or "").lower()


def _obj(doc: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise AzOutputError(f"{what}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _str(value: Any, limit: int = 256) -> Optional[str]:
    return value[:limit] if isinstance(value, str) and value else None


def _dig(doc: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(part)
    return doc


def checked_target(kind: str, name: str, group: str, **extra: Any) -> Target:
    """A Target whose names pass Azure's rules, else one that says why it is not asked."""
    try:
        check_name("resource_group", group)
        if kind == UNIFORM:
            check_name("vmss", str(extra.get("scale_set")))
            if not str(extra.get("instance_id") or "").isdigit():
                raise Refused(f"instance id {extra.get('instance_id')!r} is not a number")
        else:
            check_name("vm", name)
    except Refused as exc:
        return Target(name, group, kind, refused=str(exc), **extra)
    return Target(name, group, kind, **extra)


def parse_vm_list(doc: Any, scale_set: Optional[str] = None) -> List[Target]:
    """The VMs of `az vm list` (only the members of ``scale_set`` when given, a Flexible
    set's), in name order."""
    if not isinstance(doc, list):
        raise AzOutputError("az vm list: expected a list")
    targets = []
    for item in doc:
        vm = _obj(item, "az vm list")
        name, group = _str(vm.get("name")), _str(vm.get("resourceGroup"))
        if name is None or group is None:
            raise AzOutputError("az vm list: a VM without name or resourceGroup")
        set_id = _dig(vm, "virtualMachineScaleSet", "id")
        member_of = parse_ref(set_id).name if isinstance(set_id, str) and set_id else None
        if scale_set is not None and (member_of or "").lower() != scale_set.lower():
            continue
        targets.append(checked_target(FLEXIBLE if member_of else VM, name, group, scale_set=member_of))
    return sorted(targets, key=lambda t: t.name.lower())


def _agent(view: Mapping[str, Any]) -> tuple:
    statuses = _dig(view, "vmAgent", "statuses")
    if not isinstance(statuses, list):
        return None, None
    for status in statuses:
        if isinstance(status, Mapping) and isinstance(status.get("displayStatus"), str):
            return _str(status["displayStatus"], 64), _str(status.get("message"), 300)
    return None, None


def parse_view(doc: Any, what: str = "az vm get-instance-view") -> VmView:
    """A VM's view from `az vm get-instance-view` (or a Uniform instance of list-instances)."""
    vm = _obj(doc, what)
    found = vm.get("instanceView")
    view: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    agent, message = _agent(view)
    size = _str(_dig(vm, "hardwareProfile", "vmSize"), 64) or _str(_dig(vm, "sku", "name"), 64)
    return VmView(
        power=parse_power_state(vm) if view else "unknown",
        os_type=_str(_dig(vm, "storageProfile", "osDisk", "osType"), 16),
        size=size, agent=agent, agent_message=message,
        os_name=_str(view.get("osName"), 64), os_version=_str(view.get("osVersion"), 64))


@dataclass(frozen=True)
class ScaleSet:
    mode: str  # "Uniform" | "Flexible"
    size: Optional[str]
    os_type: Optional[str]


def parse_vmss(doc: Any) -> ScaleSet:
    ss = _obj(doc, "az vmss show")
    mode = _str(ss.get("orchestrationMode"), 16) or "Uniform"  # older sets have no field
    if mode not in ("Uniform", "Flexible"):
        raise AzOutputError(f"az vmss show: orchestrationMode {mode!r}")
    return ScaleSet(mode, _str(_dig(ss, "sku", "name"), 64),
                    _str(_dig(ss, "virtualMachineProfile", "storageProfile", "osDisk", "osType"), 16))


def parse_uniform_instances(doc: Any, group: str, scale_set: ScaleSet, name: str) -> List[Tuple[Target, Optional[VmView]]]:
    """(Target, VmView) of each instance of `az vmss list-instances --expand instanceView`."""
    if not isinstance(doc, list):
        raise AzOutputError("az vmss list-instances: expected a list")
    found: List[Tuple[Target, Optional[VmView]]] = []
    for item in doc:
        inst = _obj(item, "az vmss list-instances")
        instance_id = _str(inst.get("instanceId"), 16)
        display = _str(inst.get("name")) or f"{name}_{instance_id}"
        target = checked_target(UNIFORM, display, group, scale_set=name, instance_id=instance_id)
        view = parse_view(inst, "az vmss list-instances")
        if view.size is None or view.os_type is None:
            view = VmView(view.power, view.os_type or scale_set.os_type, view.size or scale_set.size,
                          view.agent, view.agent_message, view.os_name, view.os_version)
        found.append((target, view))
    return sorted(found, key=lambda pair: _instance_number(pair[0].instance_id))


def _instance_number(instance_id: Optional[str]) -> int:
    """A Uniform instance's id as a number, for the order (0 where it is not one)."""
    return int(instance_id) if instance_id is not None and instance_id.isdigit() else 0
