"""Read the current state of resources through `az` (read-only calls only).

Plans are built from what these return, so a second run of the same command finds the work
done and plans nothing: that is what makes every subcommand idempotent. The reader also keeps
what it saw (``seen``), which is the "state before" (and, read again after a run, the "state
after") of ``--output json``.
"""

import concurrent.futures
from typing import Any, Dict, List, Optional, Sequence

from accelnet.provision.azcli import AzCli
from accelnet.errors import ParseError
from accelnet.provision.errors import AzNotFound, AzOutputError, ProvisionError, Refused
from accelnet.provision.journal import find
from accelnet.provision.skus import SkuAnswer, list_skus_args, parse_skus
from accelnet.provision.state import (NicState, Ref, VmssState, VmState, VmStatus,
                                      parse_account, parse_availability_set, parse_nic,
                                      parse_resize_options, parse_vm, parse_vm_status,
                                      parse_vmss, parse_vmss_latest, parse_vmss_power)
from accelnet.records import dataclass, field


def _where(ref: Ref) -> List[str]:
    return ["--resource-group", ref.resource_group, "--name", ref.name]


def _entry(seen: Dict[str, Dict[str, Any]], ref: Ref) -> Dict[str, Any]:
    return seen.setdefault("/".join(ref.key()), {"resource_group": ref.resource_group,
                                                 "name": ref.name})


@dataclass
class Reader:
    """``parallel``: how many reads of a set's VMs may run at once (as the runner's
    --max-parallel; 1 reads them in turn, in set order)."""

    cli: AzCli
    seen: Dict[str, Dict[str, Dict[str, Any]]] = field(default_factory=dict)
    parallel: int = 1

    def _show(self, args: Sequence[str], what: str) -> object:
        try:
            return self.cli.run(args)
        except AzNotFound:
            raise Refused(f"{what} not found") from None

    def _record(self, kind: str, ref: Ref, **values: Any) -> None:
        _entry(self.seen.setdefault(kind, {}), ref).update(values)

    def state(self) -> Dict[str, List[Dict[str, Any]]]:
        """What was read, by kind, in reading order (JSON-ready)."""
        return {kind: list(items.values()) for kind, items in self.seen.items()}

    def subscription(self, wanted: Optional[str]) -> str:
        """The subscription id every later call names: the one asked for, else az's default,
        read once so that an `az account set` elsewhere cannot move a run halfway."""
        args = ["account", "show"] + (["--subscription", wanted] if wanted else [])
        return parse_account(self._show(args, f"subscription {wanted!r}"))

    def vm(self, ref: Ref) -> VmState:
        vm = parse_vm(self._show(["vm", "show", *_where(ref)],
                                 f"VM {ref.name!r} in resource group {ref.resource_group!r}"))
        self._record("vms", vm.ref, size=vm.size, location=vm.location,
                     nics=[n.name for n in vm.nics],
                     availability_set=vm.availability_set.name if vm.availability_set else None)
        return vm

    def statuses(self, refs: Sequence[Ref]) -> List[VmStatus]:
        """Power, id and tags of each VM; read concurrently (a set of 20 VMs is read in the
        time of a few), recorded in the order given."""
        def read(ref: Ref) -> object:
            return self._show(["vm", "get-instance-view", *_where(ref)], f"VM {ref.name!r}")

        if self.parallel > 1 and len(refs) > 1:
            with concurrent.futures.ThreadPoolExecutor(min(self.parallel, len(refs))) as pool:
                docs = list(pool.map(read, refs))
        else:
            docs = [read(ref) for ref in refs]
        found = []
        for ref, doc in zip(refs, docs):
            status = parse_vm_status(doc)
            self._record("vms", ref, power=status.power, journal=_journal(status.tags))
            found.append(status)
        return found

    def nic(self, ref: Ref) -> NicState:
        nic = parse_nic(self._show(["network", "nic", "show", *_where(ref)],
                                   f"NIC {ref.name!r}"))
        self._record("nics", nic.ref, accelerated=nic.accelerated)
        return nic

    def availability_set(self, ref: Ref) -> List[Ref]:
        return parse_availability_set(self._show(
            ["vm", "availability-set", "show", *_where(ref)],
            f"availability set {ref.name!r}"))

    def vmss(self, ref: Ref) -> VmssState:
        vmss = parse_vmss(self._show(["vmss", "show", *_where(ref)],
                                     f"scale set {ref.name!r} in resource group "
                                     f"{ref.resource_group!r}"))
        self._record("scale_sets", vmss.ref, size=vmss.size, upgrade_mode=vmss.upgrade_mode,
                     accelerated=[c.accelerated for c in vmss.nic_configs],
                     journal=_journal(vmss.tags))
        return vmss

    def flexible_instances(self, ref: Ref) -> List[VmState]:
        """The instance VMs of a Flexible scale set (`az vm list --vmss`, which filters on
        virtualMachineScaleSet.id); each is checked to name this scale set, so nothing else
        is taken for an instance."""
        docs = self._show(["vm", "list", "--resource-group", ref.resource_group,
                           "--vmss", ref.name], f"scale set {ref.name!r}")
        if not isinstance(docs, list):
            raise AzOutputError("az vm list: expected a list")
        instances = []
        for doc in docs:
            vm = parse_vm(doc)
            if vm.scale_set is None or vm.scale_set.key() != ref.key():
                raise AzOutputError(f"az vm list --vmss {ref.name}: {vm.ref.name} is not an "
                                    f"instance of it")
            self._record("vms", vm.ref, size=vm.size, location=vm.location,
                         nics=[n.name for n in vm.nics], scale_set=ref.name)
            instances.append(vm)
        self._record("scale_sets", ref, instances=[vm.ref.name for vm in instances])
        return instances

    def vmss_power(self, ref: Ref) -> List[str]:
        powers = parse_vmss_power(self._show(
            ["vmss", "get-instance-view", *_where(ref), "--instance-id", "*"],
            f"scale set {ref.name!r}"))
        self._record("scale_sets", ref, power=powers)
        return powers

    def vmss_latest(self, ref: Ref) -> List[bool]:
        latest = parse_vmss_latest(self._show(["vmss", "list-instances", *_where(ref)],
                                              f"scale set {ref.name!r}"))
        self._record("scale_sets", ref, latest_model_applied=latest)
        return latest

    def sku(self, size: str, location: str) -> SkuAnswer:
        """Azure's entry for a size in a location; an error (Azure cannot be asked, or
        answered nonsense) is part of the answer: the bundled table then decides."""
        try:
            sku = parse_skus(self.cli.run(list_skus_args(size, location)), size, location)
        except (ProvisionError, ParseError) as exc:
            answer = SkuAnswer(error=str(exc) or type(exc).__name__)
        else:
            answer = SkuAnswer(sku)
        self.seen.setdefault("skus", {})[f"{size.lower()} {location.lower()}"] = {
            "size": size, "location": location, "listed": answer.sku is not None,
            "accelerated": answer.sku.accelerated if answer.sku else None,
            "restrictions": list(answer.sku.blocked) if answer.sku else [],
            "error": answer.error}
        return answer

    def resize_options(self, ref: Ref) -> List[str]:
        return parse_resize_options(self._show(["vm", "list-vm-resize-options", *_where(ref)],
                                               f"VM {ref.name!r}"))

    def group_exists(self, name: str) -> bool:
        exists = self.cli.run(["group", "exists", "--name", name]) is True
        self.seen.setdefault("resources", {})["group " + name] = {
            "what": f"resource group {name}", "exists": exists}
        return exists

    def exists(self, args: Sequence[str], what: str = "") -> bool:
        """True if the `show` command in ``args`` finds its resource."""
        try:
            self.cli.run(args)
        except AzNotFound:
            found = False
        else:
            found = True
        what = what or " ".join(args)
        self.seen.setdefault("resources", {})[what] = {"what": what, "exists": found}
        return found

    def optional_nic(self, ref: Ref) -> Optional[NicState]:
        try:
            nic = parse_nic(self.cli.run(["network", "nic", "show", *_where(ref)]))
        except AzNotFound:
            self.seen.setdefault("resources", {})["nic " + ref.name] = {
                "what": f"NIC {ref.name}", "exists": False}
            return None
        self._record("nics", nic.ref, accelerated=nic.accelerated)
        return nic



def _journal(tags: Any) -> Optional[str]:
    entry = find(tags, "", "")
    return entry.value if entry else None
