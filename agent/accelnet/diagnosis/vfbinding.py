"""Why a VF the host offers has no network interface in the guest, and what fixes it.

Pure functions of :class:`~accelnet.diagnosis.facts.Facts`. The host offers a VF over VMBus
(netvsc logs ``VF slot <n> added``; vmbus creates a PCI pass-through device for it); three
pieces of the guest must then each do their part, and the first that did not is the cause:

1. pci-hyperv takes the VMBus device and puts the VF on a PCI bus: missing from this kernel,
   not loaded, or failed (hv_pci's own lines);
2. the VF's driver (mlx4_core + mlx4_en, mlx5_core, mana) binds it: not installed for this
   kernel, installed but not loaded, or loaded and its probe failed (the kernel log says how);
3. hv_netvsc pairs the interface (vf.bonded, not here).

Azure's "How Accelerated Networking works" says it plainly: without the driver the VM keeps
the synthetic path and the portal still shows Accelerated Networking enabled, so none of
these is "enable AN": each remedy names the missing piece. The VF driver's failure lines
(parsers/driverlog.py) decide the remedy of a failed probe; a loaded module is never told
to be loaded.
"""

from typing import Dict, List, Optional

from accelnet.diagnosis import distros
from accelnet.diagnosis.facts import Facts
from accelnet.parsers import driverlog
from accelnet.readers.modules import ModuleState
from accelnet.readers.pci import HvPciBridge, PciDevice
from accelnet.records import dataclass, field

#: errno names of the errors VF probes return (include/uapi/asm-generic/errno*.h).
ERRNO_NAMES = {
    -1: "EPERM", -2: "ENOENT", -5: "EIO", -6: "ENXIO", -12: "ENOMEM", -13: "EACCES", -16: "EBUSY",
    -17: "EEXIST", -19: "ENODEV", -22: "EINVAL", -28: "ENOSPC", -62: "ETIME", -71: "EPROTO",
    -95: "EOPNOTSUPP", -110: "ETIMEDOUT",
}
#: Which failure line says most about the cause, best first.
_TELLING = (driverlog.DEVICE_GONE, driverlog.PROTOCOL_VERSION, driverlog.FIRMWARE_TIMEOUT,
            driverlog.DRIVER_ERROR, driverlog.PROBE_FAILED)
#: The modules a VF family needs for its network interface, in load order.
FAMILY_MODULES = {"mlx4": ("mlx4_core", "mlx4_en"), "mlx5": ("mlx5_core",), "mana": ("mana",)}
#: The kernel package that carries the VF drivers where the distribution splits them from the
#: kernel image: Fedora's kernel-modules (fedora-kiwi-descriptions 7235c1e6: the Azure image
#: needs it "as it contains the Mellanox drivers required for the VF"); Ubuntu's generic
#: kernels' linux-modules-extra (the linux-azure kernel carries them itself).
MODULE_PACKAGES = {
    "fedora": "sudo dnf install -y kernel-modules-$(uname -r)",
    "ubuntu": "sudo apt-get install -y linux-modules-extra-$(uname -r)",
}


@dataclass
class Cause:
    """One VF's missing piece: what the report says, how to fix it, and the evidence."""

    summary: str
    remedy: str
    evidence: Dict[str, object] = field(default_factory=dict)


def _errno_text(errno: Optional[int]) -> str:
    if errno is None:
        return ""
    name = ERRNO_NAMES.get(errno)
    return f"error {errno}" + (f", {name}" if name else "")


def _redeploy(ref: Dict[str, str]) -> str:
    return (f"redeploy the VM to another host (az vm redeploy -g {ref['group']} -n {ref['vm']}) or open an Azure "
            "support case with the support bundle (accelnet-check --collect bundle.tar.gz)")


def failures_of(facts: Facts, device: str) -> List[driverlog.DriverFailure]:
    """The failure lines logged for one PCI slot or hv_pci VMBus GUID, oldest first."""
    wanted = device.lower()
    return [f for f in facts.driver_failures if f.device == wanted]


def probe_failure(facts: Facts, device: str, ref: Dict[str, str]) -> Optional[Cause]:
    """The cause a driver's failure lines give for ``device``; None without any."""
    failures = failures_of(facts, device)
    if not failures:
        return None
    telling = min(failures, key=lambda f: (_TELLING.index(f.kind), -f.boot_s))
    errno = next((f.errno for f in reversed(failures) if f.errno is not None), None)
    driver = telling.driver
    said = telling.said or telling.text
    how = f" ({_errno_text(errno)})" if errno is not None else ""
    evidence: Dict[str, object] = {"driver": driver, "kind": telling.kind, "errno": errno,
                                   "kernel_log": [f.text for f in failures[-4:]]}
    upgrade = distros.upgrade_command(facts.os_release)
    if telling.kind == driverlog.DEVICE_GONE:
        return Cause(
            f"{driver} failed to probe {device}{how}: the device read as all ones ('{said}'), i.e. the host withdrew "
            "the VF while the driver probed it",
            "The VF was removed (host servicing) while it was being probed; Azure offers it again afterwards. Kernels "
            "without the pci-hyperv fix 'PCI: hv: Add a per-bus mutex state_lock' (posted 2023-03 for Linux 6.4) race "
            f"with such a quick removal and can keep the VF from coming back until a reboot: update the kernel ({upgrade}). "
            f"If no VF returns after the reboot, {_redeploy(ref)}",
            evidence)
    if telling.kind == driverlog.PROTOCOL_VERSION:
        return Cause(
            f"{driver} failed to probe {device}{how}: the host refused the driver's protocol version ('{said}')",
            f"The {driver} driver of this kernel is older than the host's VF needs: update the kernel ({upgrade}). "
            f"If the probe still fails on a current kernel, {_redeploy(ref)}",
            evidence)
    if telling.kind == driverlog.FIRMWARE_TIMEOUT or errno in (-110, -62):
        # mana since 2025 retries a probe that timed out by itself (gdma_main.c: "Start MANA recovery mode").
        retry = (f" Current kernels' mana retries a timed-out probe by itself ('Start MANA recovery mode'): update "
                 f"the kernel ({upgrade})." if driver == "mana" else "")
        return Cause(
            f"{driver} is loaded and probed {device}, but the VF did not answer in time{how}: '{said}'",
            f"{driver} is loaded: nothing to load or install. The VF's firmware is the host's: restart the VM so the "
            f"driver probes it again (sudo reboot); if the probe fails again, {_redeploy(ref)}.{retry}",
            evidence)
    return Cause(
        f"{driver} is loaded but failed to probe {device}{how}: '{said}'",
        f"{driver} is loaded: nothing to load. Update the kernel ({upgrade}); if the probe still fails after the "
        f"reboot, {_redeploy(ref)}",
        evidence)


def _no_error_logged(facts: Facts, driver: str) -> str:
    """What the kernel log says about a driver there that did not bind: nothing, or unread."""
    if not facts.history_state.ok:
        return f"the kernel log could not be read ({facts.history_state.text})"
    return (f"the kernel log has no {driver}error for it (a probe that returns -ENODEV or -ENXIO is logged at debug "
            "level only)")


def _module_remedy(facts: Facts, module: str) -> str:
    image = distros.image_update(facts.os_release)
    package = MODULE_PACKAGES.get(facts.os_release.id if facts.os_release else "")
    if image is not None:  # no package manager adds a module there: the image brings them
        how = f"this OS is image based, its modules come with its image: update the image ({image})"
    else:
        install = f"install the package that carries it for this kernel ({package}), " if package else ""
        how = f"{install}or boot a kernel that has it ({distros.upgrade_command(facts.os_release)})"
    return (f"{module} is not installed for kernel {facts.kernel or '$(uname -r)'} (neither modules.dep nor "
            f"modules.builtin names it): {how}; then sudo modprobe {module} (or reboot). Accelerated "
            "Networking is on in Azure: change nothing there")


def missing_module(facts: Facts, device: PciDevice) -> Optional[Cause]:
    """A VF driver this kernel lacks or has not loaded, where the module lists say so."""
    family = device.vf_model.family if device.vf_model else ""
    for module in FAMILY_MODULES.get(family, ()):
        if module == device.driver:
            continue  # bound already (mlx4_core without mlx4_en: the netdev's module is next)
        state = facts.modules.get(module) or ModuleState(module)
        evidence: Dict[str, object] = {"module": module, "module_state": state.as_evidence()}
        if state.available is False:
            return Cause(f"{module} is not installed for this kernel", _module_remedy(facts, module), evidence)
        if state.available and state.loaded is False and not state.builtin:
            return Cause(
                f"{module} is installed but not loaded",
                f"Load it (sudo modprobe {module}) and find what kept it from loading at boot: a blacklist in "
                f"/etc/modprobe.d (grep -r {module} /etc/modprobe.d), or an image without udev's module autoloading",
                evidence)
        if (state.loaded or state.builtin) and not device.driver:
            log = _no_error_logged(facts, "")
            return Cause(
                f"{module} is {'loaded' if state.loaded else 'built in'} but did not bind {device.slot}, and {log}",
                f"Bind it by hand to see why: echo {device.slot} | sudo tee /sys/bus/pci/drivers/{module}/bind; "
                f"dmesg | tail. If it is refused, update the kernel ({distros.upgrade_command(facts.os_release)})",
                evidence)
        if (state.loaded or state.builtin) and device.driver:  # mlx4_en there, beside mlx4_core
            return _no_interface(facts, device, module, "built in" if state.builtin else "loaded", evidence)
    if device.driver and FAMILY_MODULES.get(family, ("",))[-1] == device.driver:
        # the bound driver makes the interface itself (mlx5_core, mana): bound, so it is loaded
        state = facts.modules.get(device.driver) or ModuleState(device.driver)
        return _no_interface(facts, device, device.driver, "built in" if state.builtin else "loaded",
                             {"module": device.driver, "module_state": state.as_evidence()})
    return None


#: The kernel option of each family's Ethernet part: without it the VF binds and has no interface.
ETHERNET_CONFIG = {"mlx4": "CONFIG_MLX4_EN", "mlx5": "CONFIG_MLX5_CORE_EN", "mana": "CONFIG_MICROSOFT_MANA"}


def _no_interface(facts: Facts, device: PciDevice, module: str, how: str, evidence: Dict[str, object]) -> Cause:
    """The VF is bound and the module that makes its network interface is there: no load fixes it."""
    family = device.vf_model.family if device.vf_model else ""
    config = ETHERNET_CONFIG.get(family, "the VF driver's Ethernet option")
    upgrade = distros.upgrade_command(facts.os_release)
    # mlx5_core's Ethernet part is an option of the module itself: bound without it, no interface
    built = (f"A kernel built without {config} binds the VF and makes no interface: boot the distribution's kernel "
             f"({upgrade}) or rebuild this one with {config}=y. " if module == device.driver else "")
    return Cause(
        f"{module} is {how} but made no network interface for {device.slot}, and {_no_error_logged(facts, '')}",
        f"{module} is there: nothing to load. {built}Read the driver's lines (dmesg | grep -i -e {module} -e "
        f"{device.slot}), update the kernel ({upgrade}) and reboot",
        evidence)


def unbound_cause(facts: Facts, device: PciDevice, ref: Dict[str, str]) -> Optional[Cause]:
    """Why a VF on the PCI bus has no network interface, where the kernel log or the module
    lists say; None where neither does (the caller keeps its general remedy)."""
    return probe_failure(facts, device.slot, ref) or missing_module(facts, device)


def waiting_bridges(facts: Facts) -> List[HvPciBridge]:
    """VMBus PCI pass-through devices that put no PCI function on a bus: offers not taken."""
    return [b for b in facts.hv_pci_bridges if not b.slots]


def offer_cause(facts: Facts, waiting: List[HvPciBridge], ref: Dict[str, str]) -> Cause:
    """Why the VFs the host offers never reached the PCI bus (step 1 of the module docstring)."""
    evidence: Dict[str, object] = {
        "vmbus_pci_devices": [{"vmbus_device": b.guid, "driver": b.driver} for b in waiting],
        "module_state": (facts.modules.get("pci_hyperv") or ModuleState("pci_hyperv")).as_evidence(),
    }
    for bridge in waiting:
        # a failed probe leaves the device without a driver: its lines name the cause either way
        failed = probe_failure(facts, bridge.guid, ref)
        if failed is not None:
            failed.evidence.update(evidence)
            return failed
    state = facts.modules.get("pci_hyperv") or ModuleState("pci_hyperv")
    unbound = [b for b in waiting if not b.driver]
    upgrade = distros.upgrade_command(facts.os_release)
    devices = f"device{'s' if len(unbound) > 1 else ''} {', '.join(b.guid for b in unbound)}"
    if unbound and (state.loaded or state.builtin):
        log = _no_error_logged(facts, "hv_pci ")
        return Cause(
            f"pci-hyperv is {'loaded' if state.loaded else 'built in'} but did not take the VMBus PCI pass-through "
            f"{devices}, and {log}",
            f"pci-hyperv is there: nothing to load. Look for its lines (dmesg | grep -i hv_pci), update the kernel "
            f"({upgrade}) and reboot; if no VF appears, {_redeploy(ref)}",
            evidence)
    if unbound and state.available is False:
        return Cause(
            "this kernel has no pci-hyperv (neither modules.dep nor modules.builtin names it): nothing can take the "
            f"VMBus PCI pass-through {devices}",
            "Boot a kernel with the Hyper-V PCI driver: the distribution's Azure kernel "
            f"({upgrade}), or rebuild this one with CONFIG_PCI_HYPERV=m and CONFIG_PCI_HYPERV_INTERFACE=m (and the VF "
            "drivers: CONFIG_MLX4_EN, CONFIG_MLX5_CORE_EN, CONFIG_MICROSOFT_MANA). Accelerated Networking is on for "
            "the NIC in Azure: change nothing there",
            evidence)
    if unbound and state.available and not state.loaded and not state.builtin:
        return Cause(
            f"pci-hyperv is installed ({state.file}) but not loaded: nothing took the VMBus PCI pass-through {devices}",
            "Load it (sudo modprobe pci-hyperv) and find what kept it from loading at boot: a blacklist in "
            "/etc/modprobe.d (grep -r pci.hyperv /etc/modprobe.d), or an image without udev's module autoloading "
            "(vmbus:<class> modalias); add it to the initramfs where the root file system needs the VF",
            evidence)
    if unbound:
        return Cause(
            f"no driver took the VMBus PCI pass-through {devices}: pci-hyperv is missing or not loaded",
            "Load the Hyper-V PCI driver (sudo modprobe pci-hyperv). If this kernel has no such module, boot the "
            f"distribution's Azure kernel ({upgrade}) or one built with CONFIG_PCI_HYPERV. Accelerated Networking is "
            "on for the NIC in Azure: change nothing there",
            evidence)
    if waiting:
        return Cause(
            f"pci-hyperv took the VMBus PCI pass-through device{'s' if len(waiting) > 1 else ''} "
            f"{', '.join(b.guid for b in waiting)} but put no VF on its PCI bus",
            f"Update the kernel ({upgrade}) and reboot; if no VF appears, {_redeploy(ref)}",
            evidence)
    return Cause(
        "no VF reached the PCI bus, and the bundle does not show the VMBus PCI pass-through devices",
        "Check that pci-hyperv is loaded (lsmod | grep pci_hyperv; sudo modprobe pci-hyperv) and that the VF driver "
        f"is installed; if both are, update the kernel ({upgrade})",
        evidence)
