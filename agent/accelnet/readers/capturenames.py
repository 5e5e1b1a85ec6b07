"""The names of a host's command captures, one table for every side that uses them.

The live host makes each capture on demand (live.py), a bundle holds it as a file of its
``cmd/`` directory (collect.py and scripts/accelnet-collect write them, snapshot.py reads
them, docs/bundle.md lists them) and the diagnosis asks for it by name (facts.py). A capture's
name is its file name without ``.txt``/``.json``; the per-interface ones carry the interface
(``ethtool-i.eth0``), the counter samples also the sample's index (``ethtool-S.eth0.1``).
"""

from typing import Dict, Iterable, List, Optional

LSPCI = "lspci"          # lspci -D -nn
IP_ADDR = "ip-addr"      # ip -o addr show
DMESG = "dmesg"          # the kernel log, as dmesg prints it
IMDS = "imds"            # the IMDS instance document, redacted
ETHTOOL_INFO = "ethtool-i"        # per interface: its driver
ETHTOOL_PERMADDR = "ethtool-P"    # per interface: its permanent MAC
ETHTOOL_STATS = "ethtool-S"       # per interface and sample: its statistics
MODULES_DEP = "modules-dep"          # the AN lines of /lib/modules/$(uname -r)/modules.dep
MODULES_BUILTIN = "modules-builtin"  # ... and of modules.builtin (parsers/kmod.py)

#: Each capture's file in a bundle's ``cmd/``; ``{ifname}`` and ``{index}`` are filled in.
FILES: Dict[str, str] = {
    DMESG: "dmesg.txt",
    IP_ADDR: "ip-addr.txt",
    ETHTOOL_INFO: "ethtool-i.{ifname}.txt",
    ETHTOOL_PERMADDR: "ethtool-P.{ifname}.txt",
    LSPCI: "lspci.txt",
    IMDS: "imds.json",
    ETHTOOL_STATS: "ethtool-S.{ifname}.{index}.txt",
    MODULES_DEP: "modules-dep.txt",
    MODULES_BUILTIN: "modules-builtin.txt",
}


def of_interface(kind: str, ifname: str) -> str:
    """``ethtool-i.eth0``: the capture ``kind`` (ETHTOOL_INFO, ETHTOOL_PERMADDR) of an interface."""
    return f"{kind}.{ifname}"


def stats_sample(ifname: str, index: int) -> str:
    """``ethtool-S.eth0.1``: the ``index``-th counter sample of an interface."""
    return f"{ETHTOOL_STATS}.{ifname}.{index}"


def interface_of(kind: str, name: str) -> Optional[str]:
    """The interface a per-interface capture name is about (None: not a ``kind`` capture)."""
    prefix = kind + "."
    return name[len(prefix):] if name.startswith(prefix) and len(name) > len(prefix) else None


def file_name(name: str) -> str:
    """The ``cmd/`` file of a capture: ``.json`` for the IMDS document, ``.txt`` for the rest."""
    return name + (".json" if name == IMDS else ".txt")


def sampled_interfaces(names: Iterable[str]) -> List[str]:
    """The interfaces that have counter samples among capture ``names``, sorted."""
    found = set()
    for name in names:
        rest = interface_of(ETHTOOL_STATS, name)
        if rest is not None and "." in rest:
            found.add(rest.rsplit(".", 1)[0])
    return sorted(found)
