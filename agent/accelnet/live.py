"""The live host: root ``/``, commands run on demand, counters read from the kernel."""

import shutil
import subprocess
import time
from typing import Callable, Dict, List, Optional, Sequence

from .host import CounterSample, Host
from .platform import IMDS_DEFAULT_URL, fetch_imds

COMMAND_TIMEOUT_S = 10.0
#: The lspci form captured: -D always prints the domain (VF domains are never 0000), -nn
#: gives names and ids, so both parsers of old bundles and people can read it.
LSPCI_ARGS = ("-D", "-nn")


def live_host(imds_url: str = IMDS_DEFAULT_URL) -> Host:
    host = Host(root="/", live=True)
    host.run_capture = lambda name: _capture(name, imds_url)
    host.sampler = sample_ethtool
    return host


def _capture(name: str, imds_url: str) -> Optional[str]:
    if name == "lspci":
        return run_command(["lspci", *LSPCI_ARGS])
    if name.startswith("ethtool-i."):
        return driver_info_text(name[len("ethtool-i."):])
    if name == "imds":
        try:
            return fetch_imds(imds_url)
        except (OSError, ValueError):
            return None
    return None


def run_command(argv: List[str]) -> Optional[str]:
    """A command's stdout, or None when it is missing, fails or hangs."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def read_sample(reader, name: str) -> CounterSample:
    """One ethtool reading, with the reader's errors turned into sample states."""
    from .ethtool import CountersUnavailable, EthtoolError, NoStats, NoSuchInterface

    stamp = time.monotonic()
    try:
        return CounterSample(reader.stats(name), "ok", "", stamp)
    except NoStats as exc:
        return CounterSample(None, "no-stats", str(exc), stamp)
    except CountersUnavailable as exc:
        return CounterSample(None, "unavailable", str(exc), stamp)
    except NoSuchInterface as exc:
        return CounterSample(None, "gone", str(exc), stamp)
    except EthtoolError as exc:
        return CounterSample(None, "unavailable", str(exc), stamp)


def sample_ethtool(
    names: Sequence[str], interval: float, wait: Callable[[float], None] = time.sleep
) -> Dict[str, List[CounterSample]]:
    """Two readings ``interval`` seconds apart (one when interval is 0). ``wait`` sleeps the
    interval (the command line passes one that shows a countdown on a terminal)."""
    from .ethtool import EthtoolReader

    result: Dict[str, List[CounterSample]] = {name: [] for name in names}
    with EthtoolReader() as reader:
        for name in names:
            result[name].append(read_sample(reader, name))
        if interval > 0:
            wait(interval)
            for name in names:
                result[name].append(read_sample(reader, name))
    return result


def fill_permanent_macs(interfaces) -> None:
    """sysfs has no permanent MAC; rtnetlink's IFLA_PERM_ADDRESS (kernel >= 5.6) does. netvsc
    pairs a VF by it, so the check's MAC fallback uses it too."""
    from .netlink import NetlinkError, dump_links

    try:
        links = {link.name: link for link in dump_links()}
    except (NetlinkError, OSError):
        return
    for iface in interfaces:
        link = links.get(iface.name)
        if link is not None and link.perm_mac and link.perm_mac != "00:00:00:00:00:00":
            iface.perm_mac = link.perm_mac.lower()


def driver_info_text(ifname: str) -> Optional[str]:
    """``ethtool -i`` of an interface, from the GDRVINFO ioctl (no ethtool binary needed)."""
    from .ethtool import EthtoolError, EthtoolReader
    from .ethtool_text import render_ethtool_info

    try:
        with EthtoolReader() as reader:
            info = reader.driver_info(ifname)
    except (EthtoolError, OSError):
        return None
    return render_ethtool_info(info.driver, info.version, info.fw_version, info.bus_info, info.n_stats)
