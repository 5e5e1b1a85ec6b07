"""Which kernel modules of the Accelerated Networking path a kernel has: a pure parser.

``depmod`` writes, for each installed kernel, ``/lib/modules/<release>/modules.dep`` (one line
per loadable module: ``kernel/drivers/pci/controller/pci-hyperv.ko.zst: kernel/…/pci-hyperv-intf.ko.zst``)
and ``modules.builtin`` (one line per module compiled into the kernel image:
``kernel/drivers/net/hyperv/hv_netvsc.ko``). A module name is its file name without ``.ko``
and compression suffix, ``-`` read as ``_`` (kmod's ``modname_normalize``): ``pci-hyperv.ko.xz``
is ``pci_hyperv``.

A bundle keeps only the lines of these files that name an AN module (``an_module_lines``,
the same filter in both writers), so it stays small and says the same as the whole file.
"""

from typing import Dict, Optional, Set

#: The modules a VF needs, on the way from the VMBus to its network interface:
#: hv_netvsc (synthetic NIC), pci-hyperv (+ pci-hyperv-intf: the VMBus PCI bridge), mlx4_core +
#: mlx4_en (ConnectX-3), mlx5_core (ConnectX-4 and later), mana (MANA).

from accelnet.parsers.lazypattern import LazyPattern
AN_MODULES = ("hv_netvsc", "pci_hyperv", "pci_hyperv_intf", "mlx4_core", "mlx4_en", "mlx5_core", "mana")

_MODULE_FILE = LazyPattern(r"^(?:.*/)?([A-Za-z0-9_-]{1,64})\.ko(?:\.(?:xz|gz|zst|bz2))?$")


def module_name(path: str) -> Optional[str]:
    """``kernel/drivers/pci/controller/pci-hyperv.ko.zst`` -> ``pci_hyperv``; None otherwise."""
    match = _MODULE_FILE.match(path.strip())
    return match.group(1).replace("-", "_") if match else None


def _first_field(line: str) -> str:
    return line.split(":", 1)[0].strip()


def an_module_lines(text: str) -> str:
    """The lines of a modules.dep or modules.builtin text that name an AN module (the rest
    of the line kept as it is): what a bundle stores."""
    kept = [line for line in text.splitlines() if module_name(_first_field(line)) in AN_MODULES]
    return "".join(line + "\n" for line in kept)


def parse_modules_dep(text: str) -> Dict[str, str]:
    """Module name -> its file (relative to /lib/modules/<release>) for every module line."""
    found: Dict[str, str] = {}
    for line in text.splitlines():
        path = _first_field(line)
        name = module_name(path)
        if name is not None:
            found.setdefault(name, path)
    return found


def parse_modules_builtin(text: str) -> Set[str]:
    """The names of the modules built into the kernel."""
    return {name for name in (module_name(line) for line in text.splitlines()) if name is not None}
