"""The live host: root ``/``, commands run on demand, counters read from the kernel."""

import errno
import os
import shutil
import subprocess
import time
from typing import Dict, List, Optional, Sequence, Tuple

from .host import CounterSample, Host
from .platform import IMDS_DEFAULT_URL, fetch_imds

COMMAND_TIMEOUT_S = 10.0
#: The lspci form captured: -D always prints the domain (VF domains are never 0000), -nn
#: gives names and ids, so both parsers of old bundles and people can read it.
LSPCI_ARGS = ("-D", "-nn")


KMSG = "/dev/kmsg"
#: Bound on what one read of the kernel log takes (the ring buffer is 128 KiB-32 MiB).
KMSG_MAX_RECORDS = 200000


def live_host(imds_url: str = IMDS_DEFAULT_URL) -> Host:
    host = Host(root="/", live=True)
    host.run_capture = lambda name: _capture(name, imds_url, host.meta)
    host.sampler = sample_ethtool
    return host


def _capture(name: str, imds_url: str, meta: Optional[Dict[str, object]] = None) -> Optional[str]:
    if name == "lspci":
        return run_command(["lspci", *LSPCI_ARGS])
    if name.startswith("ethtool-i."):
        return driver_info_text(name[len("ethtool-i."):])
    if name.startswith("ethtool-P."):
        return permanent_address_text(name[len("ethtool-P."):])
    if name == "ip-addr":
        return run_command(["ip", "-o", "addr", "show"])
    if name == "dmesg":
        text, error = read_kmsg()
        if meta is not None:
            # Why the log is missing is part of the report (history_state): kept with the
            # host's other facts about itself.
            errors = meta.setdefault("capture_errors", {})
            if isinstance(errors, dict):
                if error:
                    errors["dmesg"] = error
                else:
                    errors.pop("dmesg", None)
        return text
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


def sample_ethtool(names: Sequence[str], interval: float) -> Dict[str, List[CounterSample]]:
    """Two readings ``interval`` seconds apart (one when interval is 0)."""
    from .ethtool import EthtoolReader

    result: Dict[str, List[CounterSample]] = {name: [] for name in names}
    with EthtoolReader() as reader:
        for name in names:
            result[name].append(read_sample(reader, name))
        if interval > 0:
            time.sleep(interval)
            for name in names:
                result[name].append(read_sample(reader, name))
    return result


def permanent_address_text(ifname: str) -> Optional[str]:
    """``ethtool -P`` of an interface, from rtnetlink's IFLA_PERM_ADDRESS (kernel >= 5.6; the
    same value the ETHTOOL_GPERMADDR ioctl gives): sysfs has no permanent MAC, and netvsc
    pairs a VF by it, so the check's MAC fallback reads it through the Host."""
    from .ethtool_text import render_permanent_address
    from .netlink import NetlinkError, dump_links

    try:
        link = next((link for link in dump_links() if link.name == ifname), None)
    except (NetlinkError, OSError):
        return None
    if link is None or not link.perm_mac:
        return None
    return render_permanent_address(link.perm_mac)


def read_kmsg(path: str = KMSG) -> Tuple[Optional[str], Optional[str]]:
    """The kernel log as ``dmesg`` prints it, read from /dev/kmsg without blocking, or why not.

    Each read() returns one record; EAGAIN means the end of what the ring buffer holds now;
    EPIPE means the kernel overwrote the record we were at (read on: the next read gets the
    oldest one left). EPERM/EACCES: kernel.dmesg_restrict=1 and no CAP_SYSLOG.
    """
    from .kernellog import render_dmesg_line, split_record

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        hint = " (kernel.dmesg_restrict=1: run as root or with CAP_SYSLOG)" if exc.errno in (errno.EPERM, errno.EACCES) else ""
        return None, f"{path}: {os.strerror(exc.errno or 0)}{hint}"
    lines = []
    try:
        for _ in range(KMSG_MAX_RECORDS):
            try:
                record = os.read(fd, 8192)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    break
                if exc.errno in (errno.EPIPE, errno.EINTR):
                    continue
                if exc.errno in (errno.EPERM, errno.EACCES):
                    return None, f"{path}: {os.strerror(exc.errno)} (kernel.dmesg_restrict=1: run as root or with CAP_SYSLOG)"
                return None, f"{path}: {os.strerror(exc.errno or 0)}"
            if not record:
                break
            first = record.decode("utf-8", errors="replace").split("\n", 1)[0]
            parsed = split_record(first)
            if parsed is not None:
                lines.append(render_dmesg_line(*parsed))
    finally:
        os.close(fd)
    return "".join(line + "\n" for line in lines), None


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
