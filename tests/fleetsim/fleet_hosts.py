"""The hosts of the simulated fleet: snapshot directories whose state a test changes over time.

Every state is built by fixtures/build_hosts.py's VM builder (the generator of the fixture
hosts, faithful to real kernels), once per kind: a MANA VM that is healthy, that lost its VF
to host servicing, that got it back, that flapped N times; a VM with AN off. Each simulated
VM gets its own copy (hard links: no file of a copy is ever written through) with its own
IMDS document (name, vmId, region, tags), and a ``current`` symlink naming its state. The
agent serves ``current`` (``accelnet-agent --snapshot <vm>/current``) and reads it again at
each refresh, so switching the link and sending SIGHUP is a state change the agent sees
within a second, as a VF hot-remove wakes the live agent through rtnetlink.
"""

import importlib.util
import json
import os
import shutil
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_HOSTS = os.path.join(REPO, "fixtures", "build_hosts.py")

HEALTHY, REMOVED, RETURNED, AN_OFF = "healthy", "removed", "returned", "an-off"
FLAPS = 5  # states "flapped-1" .. "flapped-5": the VF removed and back that many times


def flapped(times: int) -> str:
    return "flapped-%d" % times


def _builder():
    spec = importlib.util.spec_from_file_location("build_hosts_for_fleetsim", BUILD_HOSTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class HostLibrary:
    """The base states, built once into ``<workdir>/base/<state>/base``."""

    MAC = "60:45:bd:a3:7e:10"
    DOMAIN = 0x7870

    def __init__(self, workdir: str) -> None:
        self.base = os.path.join(workdir, "base")
        self.bh = _builder()
        for state in [HEALTHY, REMOVED, RETURNED, AN_OFF] + [flapped(n) for n in range(1, FLAPS + 1)]:
            self._build(state)

    def path(self, state: str) -> str:
        return os.path.join(self.base, state, "base")

    def _build(self, state: str) -> None:
        bh = self.bh
        bh.OUT_DIR = os.path.join(self.base, state)
        try:
            if state == AN_OFF:  # as fixtures' centos7-an-off: no VF, ever
                vm = bh.VM("base", "centos7", "3.10.0-1160.el7.x86_64", bh.BROADWELL_HT, 4, bh.AZURE_GEN1,
                           bh.Image("Standard_D4s_v3", "OpenLogic", "CentOS", "7_9", "7.9.2021071900"), gen=1)
                vm.add_emulated_pci(bh.GEN1_PCI)
                vm.add_netvsc("eth0", "00:0d:3a:5c:8e:21", bh.SYN_BUSY)
                vm.finish("")
                return
            # as fixtures' ubuntu2204-mana-healthy / -vf-removed, one VM in every state
            vm = bh.VM("base", "ubuntu22.04", "6.5.0-1025-azure", bh.EMERALDRAPIDS, 4, bh.AZURE_GEN2,
                       bh.Image("Standard_D4s_v6", "Canonical", "0001-com-ubuntu-server-jammy",
                                "22_04-lts-gen2", "22.04.202408010", location="eastus2"))
            slot, name = "%04x:00:00.0" % self.DOMAIN, "enP%ds1" % self.DOMAIN
            if state == REMOVED:
                frozen = dict(start=bh.VF_BUSY["start"], rate=(0, 0, 0, 0))
                eth0 = vm.add_netvsc("eth0", self.MAC, bh.SYN_BUSY, frozen)
                vm.vf_serials[slot] = 1
                vm.bridges[slot] = bh.bridge_guid("%s/%04x" % (vm.name, self.DOMAIN), self.DOMAIN, True)
                gone = bh.NetDev(name, eth0.mac, 3, "", "mana", 4)
                vm.log_vf_arrival(eth0, bh.MANA, slot, 4.806112, gone)
                vm.log_vf_removal(eth0, name, slot, bh.UPTIME_S - 95.611402)
                vm.finish("-nn")
                return
            eth0 = vm.add_netvsc("eth0", self.MAC, bh.SYN_QUIET, bh.VF_BUSY)
            vf = vm.add_vf(bh.MANA, self.DOMAIN, 1, "mana", name, eth0.mac, eth0, devfn="00.0")
            vm.log_vf_arrival(eth0, bh.MANA, slot, 4.806112, vf)
            flaps = 1 if state == RETURNED else int(state.split("-")[1]) if state.startswith("flapped-") else 0
            for n in range(flaps):
                t = bh.UPTIME_S - 3600 + 600 * n
                vm.log_vf_removal(eth0, name, slot, t)
                vm.log_vf_arrival(eth0, bh.MANA, slot, t + 38.227014, vf)
            vm.finish("-nn")
        finally:
            bh.OUT_DIR = bh.HOSTS_DIR


class SimulatedVm:
    """One VM of the fleet: its name, region, tags, and the directory its agent serves."""

    def __init__(self, library: HostLibrary, workdir: str, name: str, region: str,
                 tags: Sequence[Tuple[str, str]] = ()) -> None:
        self.library = library
        self.name = name
        self.region = region
        self.tags = list(tags)
        self.top = os.path.join(workdir, "vms", name)
        self.current = os.path.join(self.top, "current")
        self.state: Optional[str] = None
        os.makedirs(self.top)

    def prepare(self, state: str) -> str:
        """This VM's copy of STATE (made once): the base state with its own IMDS document."""
        target = os.path.join(self.top, state)
        if not os.path.isdir(target):
            _link_tree(self.library.path(state), target)
            imds = os.path.join(target, "cmd", "imds.json")
            with open(imds, encoding="utf-8") as handle:
                doc = json.load(handle)
            os.unlink(imds)  # a hard link to the base: never written through
            compute = doc["compute"]
            compute.update({"name": self.name, "vmId": _vm_id(self.name), "location": self.region,
                            "tagsList": [{"name": n, "value": v} for n, v in self.tags],
                            "tags": ";".join("%s:%s" % tag for tag in self.tags)})
            compute["osProfile"]["computerName"] = self.name
            with open(imds, "w", encoding="utf-8") as handle:
                json.dump(doc, handle, indent=2, sort_keys=True)
        return target

    def switch(self, state: str) -> None:
        """Make ``current`` name this VM's copy of STATE, atomically."""
        target = self.prepare(state)
        link = self.current + ".new"
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)
        os.replace(link, self.current)
        self.state = state


def _vm_id(name: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "accelnet-fleetsim/" + name))


def _link_tree(source: str, target: str) -> None:
    """A copy of SOURCE whose files are hard links and whose symlinks are copied as links."""
    shutil.copytree(source, target, symlinks=True, copy_function=os.link)


def fleet(library: HostLibrary, workdir: str, layout: Dict[str, List[Tuple[str, Sequence[Tuple[str, str]]]]]
          ) -> List[SimulatedVm]:
    """VMs by region: {region: [(name, tags), ...]}."""
    vms = []
    for region, members in layout.items():
        for name, tags in members:
            vms.append(SimulatedVm(library, workdir, name, region, tags))
    return vms
