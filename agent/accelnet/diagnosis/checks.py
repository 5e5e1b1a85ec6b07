"""The diagnosis: one finding per check id of CONTRACT.md, each with evidence and a remedy.

Pure functions of :class:`~accelnet.diagnosis.facts.Facts`. A check that cannot apply is ``skipped``;
one whose input could not be read is ``unknown`` (never a guess dressed as ``ok``). A check
that looks at several things (each VF, each NIC) collects :class:`Problem` values and lets
:func:`~accelnet.diagnosis.finding.decide` pick the status and the remedy.
"""

from typing import Dict, List, Optional, Tuple

from accelnet import records
from accelnet.diagnosis import counters, distros, drops, vfbinding
from accelnet.diagnosis.facts import USER_SPACE_DRIVERS, Facts, current_slot
from accelnet.diagnosis.finding import CheckId, Finding, Problem, decide
from accelnet.diagnosis.intent import excuse
from accelnet.diagnosis.status import CRITICAL, OK, SKIPPED, UNKNOWN, WARNING
from accelnet.diagnosis.vfhistory import Removal, frequent_removals, logged_switch, removal_evidence
from accelnet.parsers import kernellog
from accelnet.readers.host import SampleState
from accelnet.readers.netdev import NetInterface, Pairing, VmbusNic
from accelnet.readers.pci import PciDevice

# -- remedies ---------------------------------------------------------------------------------


def _vm_ref(facts: Facts) -> Dict[str, str]:
    imds = facts.imds
    group = (imds.resource_group if imds else None) or "<resource-group>"
    name = (imds.name if imds else None) or "<vm-name>"
    return {"group": group, "vm": name}


def _nic_ref(group: str, mac: Optional[str]) -> str:
    """The Azure NIC resource of a MAC, as az finds it (IMDS has no NIC resource names)."""
    if not mac:
        return "<nic-name>"
    azure_mac = mac.upper().replace(":", "-")
    return f"$(az network nic list -g {group} --query \"[?macAddress=='{azure_mac}'].name\" -o tsv)"


def _nic_updates(group: str, macs: List[str]) -> str:
    """``az network nic update … --accelerated-networking true`` for each NIC, by its MAC."""
    refs = [_nic_ref(group, mac) for mac in macs] or [_nic_ref(group, None)]
    return " && ".join(f"az network nic update -g {group} -n {ref} --accelerated-networking true" for ref in refs)


def enable_an_remedy(facts: Facts, macs: Optional[List[str]] = None) -> str:
    ref = _vm_ref(facts)
    return (
        "Enable Accelerated Networking on the VM's NICs (the VM must be deallocated; in an "
        "availability set, every VM of the set): "
        f"az vm deallocate -g {ref['group']} -n {ref['vm']} && "
        f"{_nic_updates(ref['group'], list(macs or []))} && "
        f"az vm start -g {ref['group']} -n {ref['vm']} "
        f"(or: accelnet-provision enable -g {ref['group']} --vm {ref['vm']})"
    )


def servicing_remedy(facts: Facts, names: List[str]) -> str:
    """A VF that worked and went away: Azure took it (host servicing, live migration) and
    gives it back; nothing in the guest is to change. Turning AN off on the NIC while the VM
    runs removes the VF the same way, so the remedy says how to rule that out."""
    ref = _vm_ref(facts)
    nics = ", ".join(names)
    macs = [p.synthetic.mac for p in facts.pairings if p.synthetic.name in names and p.synthetic.mac]
    return (
        f"Azure removes the VF during host servicing and gives it back, usually within seconds to "
        f"minutes; {nics} keeps working on the synthetic path meanwhile. Follow it in the kernel log "
        "(dmesg -T | grep -E 'VF slot|VF (un)?registering|Data path switched') and run "
        "accelnet-check again. If no VF returns within 15 minutes, make sure Accelerated Networking is still on "
        f"for the NIC (az network nic show -g {ref['group']} -n {_nic_ref(ref['group'], macs[0] if len(macs) == 1 else None)} "
        "--query enableAcceleratedNetworking), then redeploy the VM to another host "
        f"(az vm redeploy -g {ref['group']} -n {ref['vm']}) or open an Azure support case with "
        "the support bundle (accelnet-check --collect bundle.tar.gz)"
    )


def resize_remedy(facts: Facts) -> str:
    ref = _vm_ref(facts)
    return (
        "Resize to a size that supports Accelerated Networking (2+ vCPU general purpose or "
        "compute optimized, e.g. Standard_D4s_v5), then enable it: "
        f"az vm deallocate -g {ref['group']} -n {ref['vm']} && "
        f"az vm resize -g {ref['group']} -n {ref['vm']} --size <size> && "
        f"{_nic_updates(ref['group'], [p.synthetic.mac for p in facts.pairings if p.synthetic.mac])} && "
        f"az vm start -g {ref['group']} -n {ref['vm']} "
        f"(or: accelnet-provision resize -g {ref['group']} --vm {ref['vm']} --size <size>)"
    )


# -- checks ----------------------------------------------------------------------------------


def check_azure(facts: Facts) -> Finding:
    dmi = facts.dmi
    evidence: Dict[str, object] = {
        "sys_vendor": dmi.sys_vendor,
        "product_name": dmi.product_name,
        "chassis_asset_tag": dmi.chassis_asset_tag,
    }
    if dmi.is_azure is None:
        why = "a Hyper-V VM without a DMI asset tag" if dmi.readable else "DMI (/sys/class/dmi/id) could not be read"
        if facts.is_azure:
            return Finding(CheckId.PLATFORM_AZURE, OK, f"Azure VM: {why}, but the IMDS document was captured", evidence)
        return Finding(CheckId.PLATFORM_AZURE, UNKNOWN, f"cannot tell whether this is Azure: {why}", evidence)
    if dmi.is_azure:
        gen = dmi.generation
        gen_text = f" (Hyper-V generation {gen})" if gen else ""
        return Finding(CheckId.PLATFORM_AZURE, OK, f"Azure VM{gen_text}: DMI asset tag is Azure's", evidence)
    if dmi.is_hyperv:
        summary = "Hyper-V VM but not Azure (DMI asset tag is not Azure's): Accelerated Networking is an Azure feature"
    else:
        summary = f"not an Azure VM (DMI says {dmi.sys_vendor or 'unknown vendor'} {dmi.product_name or ''})".rstrip()
        summary = summary.replace(" )", ")")
    return Finding(CheckId.PLATFORM_AZURE, UNKNOWN, summary, evidence)


def check_vm_size(facts: Facts, vf_seen: bool) -> Finding:
    if not facts.is_azure:
        return Finding(CheckId.PLATFORM_VM_SIZE, SKIPPED, "not an Azure VM")
    size = facts.imds.vm_size if facts.imds else None
    evidence: Dict[str, object] = {"imds": facts.imds_state.text, "vm_size": size, "vcpus_seen": facts.cpus}
    if not size:
        if vf_seen:
            return Finding(
                CheckId.PLATFORM_VM_SIZE,
                OK,
                f"VM size unknown (IMDS {facts.imds_state.text}), but a VF is present, so the size supports Accelerated Networking",
                evidence,
            )
        return Finding(CheckId.PLATFORM_VM_SIZE, UNKNOWN, f"VM size unknown: IMDS {facts.imds_state.text}", evidence)
    from accelnet.diagnosis.sizes import evaluate_size

    verdict = evaluate_size(size)
    evidence.update({"rule": verdict.reason, "source": verdict.source})
    if verdict.status == "supported":
        return Finding(CheckId.PLATFORM_VM_SIZE, OK, f"{size} supports Accelerated Networking", evidence)
    if verdict.status == "unsupported":
        return Finding(
            CheckId.PLATFORM_VM_SIZE,
            CRITICAL,
            f"{size} does not support Accelerated Networking: {verdict.reason}",
            evidence,
            resize_remedy(facts),
        )
    if vf_seen:
        return Finding(CheckId.PLATFORM_VM_SIZE, OK, f"{size} is not in the size rules, but a VF is present", evidence)
    return Finding(
        CheckId.PLATFORM_VM_SIZE, UNKNOWN, f"{size} is not in the size rules: cannot tell whether it supports Accelerated Networking", evidence
    )


def check_distribution(facts: Facts) -> Finding:
    verdict = distros.evaluate_distribution(facts.os_release, facts.os_release_error)
    return Finding(CheckId.OS_DISTRIBUTION, verdict.status, verdict.summary, verdict.evidence, verdict.remedy)


def check_kernel(facts: Facts, vf_devices: List[PciDevice]) -> Finding:
    families = sorted({d.vf_model.family for d in vf_devices if d.vf_model})
    image = facts.imds.image_version if facts.imds else None
    verdict = distros.evaluate_kernel(facts.os_release, facts.kernel, image, families)
    return Finding(CheckId.OS_KERNEL, verdict.status, verdict.summary, verdict.evidence, verdict.remedy)


def dpdk_nics(facts: Facts) -> List[VmbusNic]:
    """Synthetic NICs whose VMBus device is bound to uio_hv_generic: DPDK's netvsc PMD."""
    return [n for n in facts.vmbus_nics if n.driver == "uio_hv_generic"]


def check_synthetic(facts: Facts) -> Finding:
    names = [p.synthetic.name for p in facts.pairings]
    evidence: Dict[str, object] = {"interfaces": names, "source": facts.interfaces_source}
    dpdk = dpdk_nics(facts)
    if dpdk:
        evidence["user_space"] = [{"vmbus_device": n.guid, "driver": n.driver, "mac": n.mac} for n in dpdk]
        owned = "; ".join(
            f"VMBus NIC {n.guid}{f' ({n.mac})' if n.mac else ''} is bound to uio_hv_generic: DPDK's netvsc PMD owns it"
            for n in dpdk
        )
        if not names:
            return Finding(CheckId.NIC_SYNTHETIC, OK, f"no kernel synthetic NIC: {owned}", evidence)
    if names:
        mismatch = _imds_mac_mismatch(facts, evidence)
        if mismatch:
            return Finding(CheckId.NIC_SYNTHETIC, WARNING, mismatch, evidence,
                           "Compare the VM's NICs (az vm nic list -g <group> --vm-name <vm>) with ip link; "
                           "a NIC attached while the VM runs appears after hv_netvsc probes it, or after a restart")
        how = " (known from their ethtool -S captures: the bundle has no /sys)" if facts.captures_only else ""
        also = f"; {owned}" if dpdk else ""
        return Finding(CheckId.NIC_SYNTHETIC, OK, f"synthetic NIC(s): {', '.join(names)}{how}{also}", evidence)
    if not facts.interfaces:
        return Finding(CheckId.NIC_SYNTHETIC, UNKNOWN, "no network interfaces could be read (/sys/class/net)", evidence)
    if not facts.is_azure:
        return Finding(CheckId.NIC_SYNTHETIC, SKIPPED, "not an Azure VM: no hv_netvsc NIC expected", evidence)
    return Finding(
        CheckId.NIC_SYNTHETIC,
        CRITICAL,
        "no hv_netvsc interface: the Hyper-V network driver is not loaded",
        evidence,
        "Load the driver (sudo modprobe hv_netvsc) and make sure the initramfs includes it "
        "(Ubuntu/Debian: add hv_netvsc to /etc/initramfs-tools/modules and run update-initramfs -u; "
        "RHEL/SLES: dracut -f --add-drivers hv_netvsc)",
    )


def _imds_mac_mismatch(facts: Facts, evidence: Dict[str, object]) -> Optional[str]:
    """IMDS lists the VM's NICs by MAC: each should be a synthetic NIC here, and back."""
    imds_macs = list(facts.imds.macs) if facts.imds else []
    if not imds_macs or facts.captures_only:
        return None
    ours = {p.synthetic.mac: p.synthetic.name for p in facts.pairings if p.synthetic.mac}
    ours.update({n.mac: n.guid for n in dpdk_nics(facts) if n.mac})
    evidence["imds_macs"] = imds_macs
    missing = [m for m in imds_macs if m not in ours]
    extra = [name for mac, name in ours.items() if mac not in imds_macs]
    problems = []
    if missing:
        problems.append(f"IMDS lists NIC(s) {', '.join(missing)} that no hv_netvsc interface here has")
    if extra:
        problems.append(f"{', '.join(extra)} not in the IMDS NIC list")
    return "; ".join(problems) or None


def _vf_text(device: PciDevice) -> str:
    return f"{device.model or 'VF'} at {device.slot}"


def _gone_text(removal: Removal) -> str:
    proofs = []
    if removal.packets:
        proofs.append(f"its vf_* counters show {removal.packets:,} packets through a VF since boot")
    logged = removal.last_removal
    if logged is not None:
        proofs.append(f"the kernel logged '{logged.text.split(': ', 1)[-1]}' at {logged.when}")
    return f"{removal.interface} has no VF now, but {' and '.join(proofs)}: the VF was removed (host servicing or hot-remove)"


def flapping_remedy(facts: Facts, names: List[str]) -> str:
    ref = _vm_ref(facts)
    return (
        f"Each removal moves {', '.join(names)} to the synthetic path for seconds to minutes (more latency, less "
        "throughput) and back. Removals this frequent are not routine servicing: see them with "
        "dmesg -T | grep -E 'VF slot|VF (un)?registering|Data path switched', redeploy the VM to another host "
        f"(az vm redeploy -g {ref['group']} -n {ref['vm']}) and, if it goes on, open an Azure support case with "
        "the support bundle (accelnet-check --collect bundle.tar.gz)"
    )


def check_vf_present(facts: Facts, vfs: List[PciDevice], size_supported: bool = True) -> Finding:
    evidence: Dict[str, object] = {
        "virtual_functions": [
            {"pci_slot": d.slot, "vendor_id": d.vendor_id, "device_id": d.device_id, "model": d.model, "source": d.source}
            for d in vfs
        ]
    }
    if not facts.pci_devices and not facts.interfaces:
        return Finding(CheckId.VF_PRESENT, UNKNOWN, "neither the PCI bus nor lspci output could be read", evidence)
    synthetic = [p.synthetic.name for p in facts.pairings]
    without = [p for p in facts.pairings if p.vf is None and p.vf_pci is None]
    found = {p.synthetic.name: removal_evidence(facts, p) for p in without}
    gone = {name: removal for name, removal in found.items() if removal is not None}
    offered = offered_nics(facts, [p for p in without if p.synthetic.name not in gone])
    never = [p for p in without if p.synthetic.name not in gone and p not in offered]
    problems: List[Problem] = []
    if offered:
        cause = offer_cause(facts)
        evidence["offered"] = {"interfaces": [p.synthetic.name for p in offered], **cause.evidence}
        problems.append(Problem(CRITICAL, "; ".join(_offer_text(facts, p) for p in offered) + ": " + cause.summary,
                                cause.remedy))
    if gone:
        evidence["removed"] = [removal.as_evidence() for removal in gone.values()]
        problems.append(Problem(WARNING, "; ".join(_gone_text(removal) for removal in gone.values()),
                                servicing_remedy(facts, sorted(gone))))
    if vfs and never and len(vfs) < len(synthetic):
        evidence["without_vf"] = [p.synthetic.name for p in never]
        problems.append(Problem(
            WARNING,
            f"{len(vfs)} VF(s) for {len(synthetic)} synthetic NICs: {', '.join(p.synthetic.name for p in never)} without a VF",
            "Accelerated Networking is enabled per NIC: " + enable_an_remedy(facts, [p.synthetic.mac for p in never if p.synthetic.mac]),
        ))
    flaps = frequent_removals(facts)
    if flaps:
        evidence["removals_since_boot"] = {name: len(removals) for name, removals in flaps.items()}
        texts = [f"{name}'s VF was removed and came back {len(removals)} times since boot (last removal at {removals[-1].when})"
                 for name, removals in flaps.items()]
        problems.append(Problem(WARNING, "; ".join(texts), flapping_remedy(facts, sorted(flaps))))
    if not vfs and not facts.is_azure:
        return Finding(CheckId.VF_PRESENT, SKIPPED, "not an Azure VM: no Accelerated Networking VF expected", evidence)
    if not vfs and (never or not gone and not offered):
        macs = [p.synthetic.mac for p in never if p.synthetic.mac]
        problems.append(Problem(
            CRITICAL,
            "no Accelerated Networking VF (Mellanox ConnectX or MANA) on the PCI bus: Accelerated Networking is off for "
            + (f"{', '.join(p.synthetic.name for p in never)}" if never and (gone or offered) else "this VM's NICs"),
            enable_an_remedy(facts, macs) if size_supported else resize_remedy(facts),
        ))
    return decide(CheckId.VF_PRESENT, problems, evidence, healthy="; ".join(_vf_text(d) for d in vfs))


def offered_nics(facts: Facts, candidates: List[Pairing]) -> List[Pairing]:
    """Synthetic NICs without a VF whose VF the host offers all the same: the kernel log's
    current ``VF slot <n> added``, or as many VMBus PCI pass-through devices that put no VF on
    a PCI bus as there are such NICs (which NIC each belongs to, only pci-hyperv could say)."""
    if facts.captures_only:
        return []
    logged = [p for p in candidates if current_slot(facts.history, p.synthetic.name) is not None]
    waiting = vfbinding.waiting_bridges(facts)
    if candidates and len(waiting) >= len(candidates):
        return list(candidates)
    return logged if waiting or not any(d.is_an_vf for d in facts.pci_devices) else []


def offer_cause(facts: Facts) -> vfbinding.Cause:
    return vfbinding.offer_cause(facts, vfbinding.waiting_bridges(facts), _vm_ref(facts))


def _offer_text(facts: Facts, pairing: Pairing) -> str:
    slot = current_slot(facts.history, pairing.synthetic.name)
    seen = f"the kernel logged 'VF slot {slot} added'" if slot is not None else "a VMBus PCI pass-through device is there"
    return (f"{pairing.synthetic.name}: Accelerated Networking is on at the host ({seen}), but the guest cannot take "
            "the VF")


def _driver_remedy(device: PciDevice) -> str:
    family = device.vf_model.family if device.vf_model else ""
    module = {"mlx4": "mlx4_en", "mlx5": "mlx5_core", "mana": "mana"}.get(family, "the VF driver")
    return (
        f"Load the driver: sudo modprobe {module}. If the module is missing, install the cloud "
        "kernel's modules (Ubuntu: sudo apt-get install linux-azure; older Ubuntu generic kernels: "
        "linux-modules-extra-$(uname -r); RHEL/CentOS/SLES: update the kernel package) and reboot"
    )


def check_vf_driver(facts: Facts, vfs: List[PciDevice]) -> Finding:
    if not vfs:
        return Finding(CheckId.VF_DRIVER, SKIPPED, "no VF on the PCI bus")
    problems: List[Problem] = []
    rows: List[Dict[str, object]] = []
    owned: List[Problem] = []
    for device in vfs:
        row: Dict[str, object] = {"pci_slot": device.slot, "driver": device.driver, "interfaces": device.net_names}
        rows.append(row)
        if device.driver in USER_SPACE_DRIVERS:
            row["owner"] = "user space"
            owned.append(Problem(OK, f"{device.slot} bound to {device.driver}: owned by user space (DPDK or a "
                                 "nested VM), the kernel has no interface for it by design"))
        elif device.source == "lspci" and not device.driver:
            problems.append(Problem(UNKNOWN, f"{device.slot}: seen only by lspci, driver unknown"))
        elif not device.driver or device.source == "sysfs" and not device.net_names:
            what = (f"{_vf_text(device)} has no driver bound" if not device.driver
                    else f"{_vf_text(device)} is bound to {device.driver} but has no network interface")
            cause = vfbinding.unbound_cause(facts, device, _vm_ref(facts))
            if cause is None:
                problems.append(Problem(CRITICAL, what, _driver_remedy(device)))
            else:
                row["cause"] = cause.evidence
                problems.append(Problem(CRITICAL, f"{what}: {cause.summary}", cause.remedy))
    bound = [f"{d.slot} bound to {d.driver} ({', '.join(d.net_names) or 'lspci'})"
             for d in vfs if d.driver not in USER_SPACE_DRIVERS]
    return decide(CheckId.VF_DRIVER, problems + owned, {"virtual_functions": rows},
                  healthy="; ".join(bound + [note.text for note in owned]))


def _bond_remedy(facts: Facts, manager_problem: bool, vf: str) -> str:
    from accelnet.readers.management import udev_rule_remedy

    upgrade = distros.upgrade_command(facts.os_release)
    text = (
        "hv_netvsc enslaves the VF itself when the kernel supports Accelerated Networking: "
        f"upgrade the kernel ({upgrade}) and do not configure the VF interface {vf} yourself "
        "(no IP address, no bonding/teaming config on it)."
    )
    return f"{text} {udev_rule_remedy()}" if manager_problem else text


def _manager_problem(iface: Optional[NetInterface]) -> Optional[str]:
    if iface is None or iface.management is None:
        return None
    return iface.management.problem()


def _global_addresses(facts: Facts, name: str) -> List[str]:
    return [a.address for a in facts.addresses or () if a.ifname == name and a.is_global]


def _vf_state_problems(facts: Facts, p: Pairing) -> List[Problem]:
    """What is wrong with a paired VF's own state: down, addressed, or a different MTU."""
    from accelnet.readers.management import udev_rule_remedy

    vf, syn = p.vf, p.synthetic
    assert vf is not None
    problems: List[Problem] = []
    if p.enslaved and vf.admin_up is False:
        problems.append(Problem(
            CRITICAL,
            f"{vf.name} is enslaved to {syn.name} but administratively down: hv_netvsc keeps all traffic on the synthetic path",
            f"Bring it up (sudo ip link set dev {vf.name} up) and remove what set it down: hv_netvsc brings the VF "
            f"up itself, so no ifcfg-{vf.name}, netplan or .network file and no script should name {vf.name}",
        ))
    elif p.enslaved and vf.operstate in ("down", "lowerlayerdown", "notpresent"):
        problems.append(Problem(
            WARNING,
            f"{vf.name} is enslaved to {syn.name} and up, but its link is down (operstate {vf.operstate}): "
            "the host side of the VF is not passing traffic",
            servicing_remedy(facts, [syn.name]),
        ))
    addresses = _global_addresses(facts, vf.name)
    if addresses:
        problems.append(Problem(
            WARNING,
            f"{vf.name} has its own global address {', '.join(addresses)}: DHCP or a network manager configured "
            f"the VF; the addresses belong on {syn.name} only, and traffic sent from the VF's address breaks when Azure "
            "removes the VF",
            f"Remove them (sudo ip addr flush dev {vf.name} scope global) and keep the network configuration off "
            f"{vf.name}: configure {syn.name} (match driver hv_netvsc, not the MAC, which the VF shares). "
            + udev_rule_remedy(),
        ))
    if vf.mtu is not None and syn.mtu is not None and vf.mtu != syn.mtu:
        problems.append(Problem(
            WARNING,
            f"{vf.name} has MTU {vf.mtu} but {syn.name} has {syn.mtu}: packets larger than the smaller MTU are "
            "dropped on one path (vf_tx_dropped) and the behaviour changes when the data path switches",
            f"Set the MTU on {syn.name} only (sudo ip link set dev {syn.name} mtu {syn.mtu}; hv_netvsc passes it to "
            f"{vf.name}) and remove any MTU setting that names {vf.name}",
        ))
    return problems


def _dpdk_owner(facts: Facts, iface: Optional[NetInterface]) -> Optional[VmbusNic]:
    """The uio_hv_generic NIC a VF interface belongs to (same MAC; the only one when the
    GUID does not tell the MAC)."""
    owners = dpdk_nics(facts)
    if iface is None or not owners:
        return None
    for nic in owners:
        if nic.mac and nic.mac in (iface.mac, iface.perm_mac):
            return nic
    unknown = [n for n in owners if n.mac is None]
    return unknown[0] if len(unknown) == 1 else None


def check_vf_bonded(facts: Facts, vfs: List[PciDevice]) -> Finding:
    from accelnet.readers.management import udev_rule_remedy

    if vfs and facts.captures_only:
        return Finding(CheckId.VF_BONDED, UNKNOWN, "the bundle has no /sys/class/net: the VF's pairing cannot be checked")
    vf_netdevs = {n for d in vfs for n in d.net_names}
    if not vf_netdevs and not any(p.vf for p in facts.pairings):
        owned = [d.slot for d in vfs if d.driver in USER_SPACE_DRIVERS]
        if owned:
            return Finding(CheckId.VF_BONDED, SKIPPED, f"no VF network interface: {', '.join(owned)} owned by user space")
        return Finding(CheckId.VF_BONDED, SKIPPED, "no VF network interface")
    rows: List[Dict[str, object]] = []
    problems: List[Problem] = []
    notes: List[Problem] = []
    paired = set()
    for p in facts.pairings:
        if p.vf is None:
            continue
        paired.add(p.vf.name)
        same_mac = p.vf.mac == p.synthetic.mac
        managed = _manager_problem(p.vf)
        management = p.vf.management
        rows.append({
            "synthetic": p.synthetic.name,
            "vf": p.vf.name,
            "method": p.method,
            "master": p.vf.master,
            "iff_slave": p.vf.is_slave,
            "same_mac": same_mac,
            "management": management.as_evidence() if management is not None else None,
            "admin_up": p.vf.admin_up,
            "operstate": p.vf.operstate,
            "mtu": {"vf": p.vf.mtu, "synthetic": p.synthetic.mtu},
            "global_addresses": _global_addresses(facts, p.vf.name) if facts.addresses is not None else None,
        })
        if not p.enslaved:
            problems.append(Problem(CRITICAL, f"{p.vf.name} has {p.synthetic.name}'s MAC but is not enslaved to it",
                                    _bond_remedy(facts, managed is not None, p.vf.name)))
        elif not same_mac:
            problems.append(Problem(CRITICAL, f"{p.vf.name} is enslaved to {p.synthetic.name} with a different MAC",
                                    _bond_remedy(facts, managed is not None, p.vf.name)))
        problems.extend(_vf_state_problems(facts, p))
        if managed:
            problems.append(Problem(WARNING, f"{p.vf.name}: {managed}", udev_rule_remedy()))
    for name in sorted(vf_netdevs - paired):
        iface = next((i for i in facts.interfaces if i.name == name), None)
        master = iface.master if iface else None
        owner = _dpdk_owner(facts, iface)
        rows.append({"synthetic": None, "vf": name, "method": "", "master": master, "same_mac": None,
                     "owner": f"uio_hv_generic {owner.guid}" if owner else None})
        if owner is not None:
            notes.append(Problem(OK, f"{name} belongs to VMBus NIC {owner.guid}, which DPDK's netvsc PMD owns "
                                 "(uio_hv_generic): DPDK drives the pair from user space, so the kernel does not "
                                 "enslave it (expected)"))
            continue
        problems.append(Problem(
            CRITICAL,
            f"{name} is not paired with any synthetic NIC (master: {master or 'none'}, no synthetic NIC with its MAC)",
            _bond_remedy(facts, _manager_problem(iface) is not None, name),
        ))
    enslaved = [f"{r['vf']} enslaved to {r['synthetic']}, same MAC" for r in rows if r["synthetic"]]
    return decide(CheckId.VF_BONDED, problems + notes, {"pairs": rows},
                  healthy="; ".join(enslaved + [note.text for note in notes]))


def interface_datapath(facts: Facts, pairing: Pairing) -> str:
    """vf, synthetic, idle or unknown. A NIC with no VF interface can only use the synthetic
    path, whatever its counters say and however often they were read; captures-only bundles
    (no /sys) cannot tell whether a VF interface exists."""
    if pairing.vf is None and not facts.captures_only:
        return counters.DATAPATH_SYNTHETIC
    samples = facts.samples.get(pairing.synthetic.name) or []
    usable = [s.stats for s in samples if s.stats is not None]
    if len(usable) < 2:
        logged = logged_switch(facts, pairing)
        if logged is None:
            return counters.DATAPATH_UNKNOWN
        return counters.DATAPATH_VF if logged.event == kernellog.DATAPATH_VF else counters.DATAPATH_SYNTHETIC
    return counters.classify_datapath(usable[0], usable[-1])


def fallback_remedy(vf: str) -> str:
    return (
        "Traffic falls back to the synthetic path while Azure services the host (usually seconds to "
        "minutes): run accelnet-check again; if it persists, check the kernel log "
        f"(dmesg -T | grep -i 'data path switched') and that the VF is up (ip link show {vf})"
    )


def _datapath_of(facts: Facts, p: Pairing) -> Tuple[Problem, Dict[str, object]]:
    """What the data path of one synthetic NIC with a VF says, and its evidence row."""
    name = p.synthetic.name
    vf = p.vf.name if p.vf is not None else "its VF"
    the_vf = f"the VF {p.vf.name}" if p.vf is not None else "its VF"
    samples = facts.samples.get(name) or []
    first = samples[0] if samples else None
    path = interface_datapath(facts, p)
    vf_now = counters.vf_counters(first.stats) if first and first.stats else {}
    row: Dict[str, object] = {"interface": name, "vf": vf, "datapath": path, "counters": vf_now, "samples": len(samples)}
    logged = logged_switch(facts, p) if len([s for s in samples if s.stats is not None]) < 2 else None
    if logged is not None:
        row["source"] = "kernel log: " + logged.text
    upgrade = f"Upgrade the kernel: {distros.upgrade_command(facts.os_release)}"
    if first is None or first.stats is None:
        state = first.state if first else SampleState.MISSING
        if state == SampleState.NO_STATS:
            return Problem(WARNING, f"{name}: hv_netvsc reports no statistics (a kernel without VF counters)", upgrade), row
        why = f" ({first.detail})" if first is not None and state == "unparsable" and first.detail else ""
        return Problem(UNKNOWN, f"{name}: counters {state}{why}"), row
    if not vf_now:
        return Problem(WARNING, f"{name}: no vf_* counters: this hv_netvsc cannot report VF traffic", upgrade), row
    if path == counters.DATAPATH_SYNTHETIC:
        down = p.vf is not None and (p.vf.admin_up is False or p.vf.operstate in ("down", "lowerlayerdown", "notpresent"))
        if p.enslaved and down:
            return Problem(WARNING, f"{name}: traffic on the synthetic path: {vf} is down (see vf.bonded)",
                           "Fix vf.bonded first: hv_netvsc moves traffic to the VF as soon as it is up"), row
        if not p.enslaved and p.vf is not None:
            return Problem(WARNING, f"{name}: traffic on the synthetic path: {vf} is not enslaved (see vf.bonded)",
                           "Fix vf.bonded first: hv_netvsc moves traffic to the VF as soon as it enslaves it"), row
        return Problem(WARNING, f"{name}: traffic on the synthetic path, not {the_vf} (fallback)", fallback_remedy(vf)), row
    rates = vf_drop_rates(facts, p)
    if any(r.dropped for r in rates):
        row["drops"] = [r.as_evidence() for r in rates]
    dropping = [Problem(r.status, _drop_text(r, vf), drop_remedy(r, vf)) for r in rates if r.status != OK]
    if dropping:
        worst = decide(CheckId.DATAPATH_VF, dropping)
        return Problem(worst.status, f"{name}: traffic on {the_vf}, but {worst.summary}", worst.remedy), row
    notes = {
        counters.DATAPATH_VF: f"{name}: traffic on {the_vf}" + (" (the kernel log's last data-path switch)" if logged else ""),
        counters.DATAPATH_IDLE: f"{name}: idle while sampled (vf_* counters present)",
    }
    return Problem(OK, notes.get(path, f"{name}: vf_* counters present (not sampled twice)")), row


def vf_drop_rates(facts: Facts, p: Pairing) -> List[drops.DropRate]:
    """The VF path's drop counters between the first and last samples (diagnosis/drops.py)."""
    usable = [(s.monotonic, s.stats) for s in facts.samples.get(p.synthetic.name) or [] if s.stats is not None]
    if len(usable) < 2 or p.vf is None:
        return []
    (start, before), (end, after) = usable[0], usable[-1]
    seconds = end - start if end > start else facts.sample_interval
    own = [s.stats for s in facts.vf_samples.get(p.vf.name) or [] if s.stats is not None]
    vf_driver = p.vf_pci.driver if p.vf_pci is not None else p.vf.driver
    if len(own) < 2:
        return drops.drop_rates(before, after, seconds, vf_driver)
    return drops.drop_rates(before, after, seconds, vf_driver, own[0], own[-1])


def _drop_text(rate: drops.DropRate, vf: str) -> str:
    what = {
        drops.NETVSC_TX: f"{vf}'s transmit queue refused {rate.share:.2%} of the packets hv_netvsc sent it",
        drops.VF_TX: f"{vf} dropped {rate.share:.2%} of the packets it accepted to send",
        drops.VF_RX: f"{vf} dropped {rate.share:.2%} of the packets it received",
    }[rate.counter]
    return f"{what} ({', '.join(rate.names)}: {rate.per_second:,.1f}/s)"


def drop_remedy(rate: drops.DropRate, vf: str) -> str:
    """What to do about one kind of drop on the VF path (the counters of diagnosis/drops.py)."""
    thresholds = (f"datapath.vf warns from {drops.WARNING_SHARE:.1%} of a counter's packets dropped and is critical "
                  f"from {drops.CRITICAL_SHARE:.0%} (at {drops.MIN_RATE:g} drop/s or more)")
    if rate.counter == drops.VF_RX:
        return (f"{vf}'s receive rings overflow (a packet arrived with no buffer posted): the CPUs serving its queues "
                f"do not keep up. Raise its rings to the maximum (ethtool -g {vf}; sudo ethtool -G {vf} rx <maximum>), "
                f"use all its channels (ethtool -l {vf}; sudo ethtool -L {vf} combined <maximum>) and spread their "
                f"interrupts over the CPUs (irqbalance). {thresholds}")
    if rate.counter == drops.VF_TX:
        return (f"{vf}'s driver dropped packets it had accepted: see which counter grows (ethtool -S {vf} | grep -iE "
                f"'drop|err') and the kernel log; packets larger than the VF's MTU (see vf.bonded) or a VF being "
                f"removed by the host are the usual causes. {thresholds}")
    return (f"{vf}'s transmit queue is full or stopped when hv_netvsc hands it packets: check the VF's link and "
            f"queues (ip -s link show {vf}; ethtool -S {vf} | grep -iE 'drop|stop|wake'), give it all its channels "
            f"and a larger transmit ring (sudo ethtool -L {vf} combined <maximum>; sudo ethtool -G {vf} tx <maximum>), "
            f"and check whether the VM reaches its size's expected network bandwidth. {thresholds}")


def _datapath_without_vf(facts: Facts, p: Pairing, size_supported: bool) -> Tuple[Problem, Dict[str, object]]:
    """What the data path of a synthetic NIC with no VF interface says, and its evidence row."""
    name = p.synthetic.name
    samples = facts.samples.get(name) or []
    first = next((s.stats for s in samples if s.stats is not None), None)
    row: Dict[str, object] = {"interface": name, "vf": None, "datapath": counters.DATAPATH_SYNTHETIC,
                              "counters": counters.vf_counters(first) if first else {}, "samples": len(samples)}
    if p.vf_pci is not None:
        row["vf_pci_slot"] = p.vf_pci.slot
        return Problem(OK, f"{name}: the kernel's traffic uses the synthetic path; its VF {p.vf_pci.slot} is owned by "
                       f"user space ({p.vf_pci.driver})"), row
    if removal_evidence(facts, p) is not None:
        return Problem(WARNING, f"{name}: traffic on the synthetic path: its VF was removed (see vf.present)",
                       servicing_remedy(facts, [name])), row
    if p in offered_nics(facts, [q for q in facts.pairings if q.vf is None and q.vf_pci is None
                                 and removal_evidence(facts, q) is None]):
        return Problem(WARNING, f"{name}: traffic on the synthetic path: the host offers a VF the guest cannot take "
                       "(see vf.present)", offer_cause(facts).remedy), row
    idle_vfs = [d for d in facts.pci_devices if d.is_an_vf and not d.net_names and d.driver not in USER_SPACE_DRIVERS]
    if idle_vfs:
        cause = vfbinding.unbound_cause(facts, idle_vfs[0], _vm_ref(facts))
        return Problem(WARNING, f"{name}: traffic on the synthetic path: the VF {idle_vfs[0].slot} has no network "
                       "interface (see vf.driver)", cause.remedy if cause is not None else _driver_remedy(idle_vfs[0])), row
    remedy = enable_an_remedy(facts, [p.synthetic.mac] if p.synthetic.mac else []) if size_supported else resize_remedy(facts)
    return Problem(WARNING, f"{name}: no VF: all traffic on the synthetic path", remedy), row


def _datapath_pairings(facts: Facts) -> List[Pairing]:
    """The synthetic NICs datapath.vf judges: all of them; in a bundle without /sys (where no
    NIC has a known VF interface), all of them where lspci saw a VF, else none."""
    if not facts.captures_only or any(d.is_an_vf for d in facts.pci_devices):
        return list(facts.pairings)
    return []


def check_datapath(facts: Facts, size_supported: bool = True) -> Finding:
    judged = _datapath_pairings(facts)
    if not judged:
        why = "no VF interface to carry traffic" if facts.captures_only else "no synthetic NIC"
        return Finding(CheckId.DATAPATH_VF, SKIPPED, why)
    # without /sys a NIC's VF interface is unknown, not absent: its counters are judged as with one
    results = [_datapath_of(facts, p) if p.vf is not None or facts.captures_only
               else _datapath_without_vf(facts, p, size_supported) for p in judged]
    return decide(CheckId.DATAPATH_VF, [problem for problem, _ in results], {"interfaces": [row for _, row in results]})


def run_checks(facts: Facts) -> List[Finding]:
    judged = judged_facts(facts)
    vfs = [d for d in facts.pci_devices if d.is_an_vf]
    judged_vfs = [d for d in judged.pci_devices if d.is_an_vf]
    size = check_vm_size(facts, bool(vfs))
    findings = [
        check_azure(facts),
        size,
        check_distribution(facts),
        check_kernel(facts, vfs),
        check_synthetic(facts),
        check_vf_present(judged, judged_vfs, size_supported=size.status != CRITICAL),
        check_vf_driver(judged, judged_vfs),
        check_vf_bonded(judged, judged_vfs),
        check_datapath(judged, size_supported=size.status != CRITICAL),
    ]
    if not facts.is_azure:
        return [_not_applicable(f) for f in findings]
    return excuse(findings, facts.intent)


def judged_facts(facts: Facts) -> Facts:
    """The facts the VF checks judge: without the synthetic NICs declared off or ignored, nor
    their VF (its interface and its PCI function): a NIC left out is not half judged."""
    excused = set(facts.intent.excused)
    if not excused or facts.intent.vm_off() is not None:
        return facts  # all judged, all excused afterwards: each check still says what it saw
    left_out = [p for p in facts.pairings if p.synthetic.name in excused]
    names = excused | {p.vf.name for p in left_out if p.vf is not None}
    slots = {p.vf.pci_slot for p in left_out if p.vf is not None} | {p.vf_pci.slot for p in left_out if p.vf_pci}
    return records.replace(
        facts,
        pairings=[p for p in facts.pairings if p.synthetic.name not in excused],
        interfaces=[i for i in facts.interfaces if i.name not in names],
        pci_devices=[d for d in facts.pci_devices if d.slot not in slots],
        samples={name: s for name, s in facts.samples.items() if name not in excused},
        vf_samples={name: s for name, s in facts.vf_samples.items() if name not in names},
    )


#: Checks that still apply off Azure: what the machine is, and its distribution and kernel.
_OFF_AZURE_CHECKS = (CheckId.PLATFORM_AZURE, CheckId.OS_DISTRIBUTION, CheckId.OS_KERNEL)


def _not_applicable(finding: Finding) -> Finding:
    """Off Azure, findings about AN itself are not problems to fix here."""
    if finding.id in _OFF_AZURE_CHECKS or finding.status not in (CRITICAL, WARNING):
        return finding
    return records.replace(finding, status=SKIPPED, remedy=None)


def overall_status(facts: Facts, findings: List[Finding]) -> str:
    if not facts.is_azure:
        return UNKNOWN
    statuses = [f.status for f in findings]
    if CRITICAL in statuses:
        return CRITICAL
    if WARNING in statuses:
        return WARNING
    core = {f.id: f.status for f in findings}
    if all(core.get(i) == OK for i in (CheckId.VF_PRESENT, CheckId.VF_DRIVER, CheckId.VF_BONDED)):
        return OK
    if core.get(CheckId.VF_PRESENT) == OK and any(
            interface_datapath(facts, p) == counters.DATAPATH_VF for p in _datapath_pairings(facts)):
        return OK  # vf_* counters growing prove the VF works, whatever could not be read
    if UNKNOWN in statuses:
        return UNKNOWN
    return OK
