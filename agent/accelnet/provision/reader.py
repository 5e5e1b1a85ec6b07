"""Read the current state of resources through `az` (read-only calls only).

Plans are built from what these return, so a second run of the same command finds the work
done and plans nothing: that is what makes every subcommand idempotent.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence

from accelnet.provision.azcli import AzCli
from accelnet.provision.errors import AzNotFound, Refused
from accelnet.provision.state import (NicState, Ref, VmssState, VmState, parse_availability_set,
                                      parse_nic, parse_power_state, parse_resize_options,
                                      parse_vm, parse_vmss, parse_vmss_power)


def _where(ref: Ref) -> List[str]:
    return ["--resource-group", ref.resource_group, "--name", ref.name]


@dataclass
class Reader:
    cli: AzCli

    def _show(self, args: Sequence[str], what: str) -> object:
        try:
            return self.cli.run(args)
        except AzNotFound:
            raise Refused(f"{what} not found") from None

    def vm(self, ref: Ref) -> VmState:
        return parse_vm(self._show(["vm", "show", *_where(ref)],
                                   f"VM {ref.name!r} in resource group {ref.resource_group!r}"))

    def power(self, ref: Ref) -> str:
        return parse_power_state(self._show(["vm", "get-instance-view", *_where(ref)],
                                            f"VM {ref.name!r}"))

    def nic(self, ref: Ref) -> NicState:
        return parse_nic(self._show(["network", "nic", "show", *_where(ref)],
                                    f"NIC {ref.name!r}"))

    def availability_set(self, ref: Ref) -> List[Ref]:
        return parse_availability_set(self._show(
            ["vm", "availability-set", "show", *_where(ref)],
            f"availability set {ref.name!r}"))

    def vmss(self, ref: Ref) -> VmssState:
        return parse_vmss(self._show(["vmss", "show", *_where(ref)],
                                     f"scale set {ref.name!r} in resource group "
                                     f"{ref.resource_group!r}"))

    def vmss_power(self, ref: Ref) -> List[str]:
        return parse_vmss_power(self._show(
            ["vmss", "get-instance-view", *_where(ref), "--instance-id", "*"],
            f"scale set {ref.name!r}"))

    def resize_options(self, ref: Ref) -> List[str]:
        return parse_resize_options(self._show(["vm", "list-vm-resize-options", *_where(ref)],
                                               f"VM {ref.name!r}"))

    def group_exists(self, name: str) -> bool:
        return self.cli.run(["group", "exists", "--name", name]) is True

    def exists(self, args: Sequence[str]) -> bool:
        """True if the `show` command in ``args`` finds its resource."""
        try:
            self.cli.run(args)
        except AzNotFound:
            return False
        return True

    def optional_nic(self, ref: Ref) -> Optional[NicState]:
        try:
            return parse_nic(self.cli.run(["network", "nic", "show", *_where(ref)]))
        except AzNotFound:
            return None
