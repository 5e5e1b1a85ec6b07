"""The live host: root ``/``, commands run on demand, counters read from the kernel."""

import os
import shutil
import subprocess
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, TypeVar

from accelnet.readers import capturenames
from accelnet.readers.host import CaptureUnavailable, CounterSample, Host, Produce, Sampler, SampleState
from accelnet.readers.platform import IMDS_DEFAULT_URL, fetch_imds

if TYPE_CHECKING:  # the ioctls are imported where a capture needs them
    from accelnet.kernel.ethtool import EthtoolReader

T = TypeVar("T")

COMMAND_TIMEOUT_S = 10.0
#: The lspci form captured: -D always prints the domain (VF domains are never 0000), -nn
#: gives names and ids, so both parsers of old bundles and people can read it.
LSPCI_ARGS = ("-D", "-nn")


#: The kernel log read from /dev/kmsg is bounded (the ring buffer is at most a few MiB).
KMSG_MAX_BYTES = 16 << 20
KMSG_RECORD_BYTES = 16384  # larger than the kernel's CONSOLE_EXT_LOG_MAX (8 KiB)
KMSG_PATH = "/dev/kmsg"


DMESG_RESTRICT_HINT = " (kernel.dmesg_restrict=1: run as root or with CAP_SYSLOG)"


class LiveCaptures:
    """The live source of every ``cmd/`` file of docs/bundle.md, made on demand.

    ``produce`` makes one capture by name (the file name without ``.txt``/``.json``): text,
    None where there is nothing to capture, or CaptureUnavailable with the reason it cannot
    be made here, which is kept for the report and a bundle's ``not_captured``. Callers wrap
    ``produce`` (a cache, a stage name for the timeout) and hand it in.
    """

    def __init__(self, produce: Produce) -> None:
        self._produce = produce
        self.problems: Dict[str, str] = {}

    def text(self, name: str) -> Optional[str]:
        try:
            return self._produce(name)
        except CaptureUnavailable as exc:
            self.problems[name] = str(exc)
            return None

    def problem(self, name: str) -> Optional[str]:
        return self.problems.get(name)

    def names(self) -> List[str]:
        return []


def producer(imds_url: str = IMDS_DEFAULT_URL) -> Produce:
    """This host's captures, IMDS asked at ``imds_url``."""
    return lambda name: produce_capture(name, imds_url)


def live_host(imds_url: str = IMDS_DEFAULT_URL, produce: Optional[Produce] = None,
              sampler: Optional[Sampler] = None) -> Host:
    """The running host: its files at ``/``, its captures made by ``produce`` (default: the
    commands and ioctls below, IMDS at ``imds_url``), its counters read by ``sampler``
    (default: the ethtool ioctls, :func:`sample_ethtool`)."""
    return Host(root="/", live=True, captures=LiveCaptures(produce or producer(imds_url)),
                sampler=sampler or sample_ethtool)


def produce_capture(name: str, imds_url: str) -> Optional[str]:
    """One capture of this host; raises CaptureUnavailable with the reason where it exists in
    principle but cannot be made here."""
    if name == capturenames.LSPCI:
        return run_command(["lspci", *LSPCI_ARGS])
    if name == capturenames.IP_ADDR:
        return run_command(["ip", "-o", "addr", "show"])
    if name == capturenames.DMESG:
        return kernel_log_text()
    ifname = capturenames.interface_of(capturenames.ETHTOOL_INFO, name)
    if ifname is not None:
        return driver_info_text(ifname)
    ifname = capturenames.interface_of(capturenames.ETHTOOL_PERMADDR, name)
    if ifname is not None:
        return permanent_address_text(ifname)
    if name in MODULE_LISTS:
        return module_list_text(MODULE_LISTS[name])
    if name == capturenames.IMDS:
        try:
            return fetch_imds(imds_url)
        except (OSError, ValueError) as exc:
            raise CaptureUnavailable(f"IMDS did not answer: {exc}") from None
    return None


#: Captures of the running kernel's depmod files, AN lines only (docs/bundle.md).
MODULE_LISTS = {capturenames.MODULES_DEP: "modules.dep", capturenames.MODULES_BUILTIN: "modules.builtin"}
MODULE_LIST_MAX_BYTES = 16 << 20


def module_list_text(filename: str, root: str = "/") -> str:
    """The lines of /lib/modules/$(uname -r)/<filename> that name an AN module."""
    from accelnet.parsers.kmod import an_module_lines

    try:
        with open(os.path.join(root, "proc/sys/kernel/osrelease"), encoding="utf-8") as handle:
            release = handle.read(256).strip()
    except OSError as exc:
        raise CaptureUnavailable(f"the kernel release could not be read: {exc.strerror or exc}") from None
    if not release or "/" in release or release.startswith("."):
        raise CaptureUnavailable(f"not a kernel release: {release!r}")
    path = os.path.join(root, "lib/modules", release, filename)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MODULE_LIST_MAX_BYTES + 1)
    except OSError as exc:
        raise CaptureUnavailable(f"{path}: {exc.strerror or exc}") from None
    if len(data) > MODULE_LIST_MAX_BYTES:
        raise CaptureUnavailable(f"{path} is larger than {MODULE_LIST_MAX_BYTES >> 20} MiB")
    return an_module_lines(data.decode("utf-8", errors="replace"))


def run_command(argv: List[str], limit: Optional[int] = None) -> Optional[str]:
    """A command's stdout (its first ``limit`` bytes); CaptureUnavailable (with the reason)
    when it is missing, fails or hangs."""
    if shutil.which(argv[0]) is None:
        raise CaptureUnavailable(f"{argv[0]} is not installed")
    try:
        done = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CaptureUnavailable(f"{argv[0]} did not finish in {COMMAND_TIMEOUT_S:g} s") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise CaptureUnavailable(f"{argv[0]} could not run: {exc}") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise CaptureUnavailable(f"{' '.join(argv)} exited {done.returncode}" + (f": {err[-1]}" if err else ""))
    out = done.stdout if limit is None else done.stdout[:limit]
    return out.decode("utf-8", errors="replace")


def read_kmsg(path: Optional[str] = None, limit: int = KMSG_MAX_BYTES) -> List[bytes]:
    """Every record the kernel log holds now, read from /dev/kmsg without blocking: one
    read() is one record, EAGAIN means there are no more, EPIPE means the ring buffer
    overwrote records while we read (the next read continues after the gap)."""
    import errno

    path = path or KMSG_PATH
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        hint = DMESG_RESTRICT_HINT if exc.errno in (errno.EPERM, errno.EACCES) else ""
        raise CaptureUnavailable(f"{path} is not readable: {exc.strerror or exc}{hint}") from None
    records: List[bytes] = []
    total = 0
    try:
        while total < limit:
            try:
                record = os.read(fd, KMSG_RECORD_BYTES)
            except OSError as exc:
                if exc.errno == errno.EINTR or exc.errno == errno.EPIPE:
                    continue
                if exc.errno == errno.EAGAIN:
                    break
                hint = DMESG_RESTRICT_HINT if exc.errno in (errno.EPERM, errno.EACCES) else ""
                raise CaptureUnavailable(f"{path}: {exc.strerror or exc}{hint}") from None
            if not record:
                break
            records.append(record)
            total += len(record)
    finally:
        os.close(fd)
    return records


#: The newest kernel records taken from the journal: more than a VM's ring buffer holds
#: (/dev/kmsg: 256 KiB, a few thousand records), and a bound on the work however many the
#: kernel logged since boot (a firewall's LOG rule writes one per dropped packet: all of
#: 300,000 took journalctl over the 10 s timeout and the reader 340 MB).
JOURNAL_LINES = 10000
#: The journal's newest kernel records of this boot, one JSON object per line (parsers/journal.py).
JOURNALCTL_ARGS = ("journalctl", "--dmesg", "--boot", "--lines=%d" % JOURNAL_LINES, "--output=json", "--no-pager",
                   "--quiet")


def kernel_log_text(path: Optional[str] = None, journal: Sequence[str] = JOURNALCTL_ARGS) -> str:
    """The kernel log as ``dmesg`` prints it: from /dev/kmsg (no dmesg binary needed), or,
    where that is hidden or denied (a sandboxed service, ``kernel.dmesg_restrict=1``), from
    the journal's kernel records (``_TRANSPORT=kernel``), which the ``systemd-journal``
    group may read. CaptureUnavailable names why neither could be read."""
    from accelnet.parsers.kmsg import parse_kmsg_record, render_dmesg

    try:
        parsed = (parse_kmsg_record(r) for r in read_kmsg(path))
        return render_dmesg(r for r in parsed if r is not None)
    except CaptureUnavailable as kmsg_problem:
        if not journal:
            raise
        try:
            return journal_kernel_log(journal)
        except CaptureUnavailable as journal_problem:
            raise CaptureUnavailable(f"{kmsg_problem}; the journal: {journal_problem}") from None


def journal_kernel_log(argv: Sequence[str] = JOURNALCTL_ARGS) -> str:
    """The journal's kernel records of this boot as ``dmesg`` prints them."""
    from accelnet.parsers.journal import parse_journal_kernel_records
    from accelnet.parsers.kmsg import render_dmesg

    text = run_command(list(argv), limit=KMSG_MAX_BYTES * 4)
    records = parse_journal_kernel_records(text or "")
    if not records:
        raise CaptureUnavailable("no kernel records readable in the journal (is the user in the systemd-journal group?)")
    return render_dmesg(records)


def read_sample(reader, name: str) -> CounterSample:
    """One ethtool reading, with the reader's errors turned into sample states."""
    stamp = time.monotonic()
    try:
        return CounterSample(reader.stats(name), SampleState.OK, "", stamp)
    except Exception as exc:
        return failed_sample(exc, stamp)


def failed_sample(exc: Exception, stamp: float) -> CounterSample:
    """The sample of a reading that raised ``exc``: its state says why (an error that is not
    the ethtool reader's is raised again). The error types are imported only here: the agent
    reads every interface at every scrape."""
    from accelnet.kernel.ethtool import CountersUnavailable, EthtoolError, NoStats, NoSuchInterface

    if isinstance(exc, NoStats):
        return CounterSample(None, SampleState.NO_STATS, str(exc), stamp)
    if isinstance(exc, NoSuchInterface):
        return CounterSample(None, SampleState.GONE, str(exc), stamp)
    if isinstance(exc, (CountersUnavailable, EthtoolError)):
        return CounterSample(None, SampleState.UNAVAILABLE, str(exc), stamp)
    raise exc


def sample_ethtool(
    names: Sequence[str], interval: float, wait: Callable[[float], None] = time.sleep
) -> Dict[str, List[CounterSample]]:
    """Two readings ``interval`` seconds apart (one when interval is 0). ``wait`` sleeps the
    interval (the command line passes one that shows a countdown on a terminal)."""
    from accelnet.kernel.ethtool import EthtoolReader

    result: Dict[str, List[CounterSample]] = {name: [] for name in names}
    with EthtoolReader() as reader:
        for name in names:
            result[name].append(read_sample(reader, name))
        if interval > 0:
            wait(interval)
            # a driver without stats, or a NIC already gone, is not read again: a bundle
            # records those as one sample too (snapshot.py stops at the first failed one)
            for name in names:
                if result[name][0].state == SampleState.OK:
                    result[name].append(read_sample(reader, name))
    return result


def _ethtool_capture(ifname: str, request: str, read: Callable[["EthtoolReader", str], T]) -> T:
    """One ethtool ioctl's answer for ``ifname``; CaptureUnavailable says which one failed."""
    from accelnet.kernel.ethtool import EthtoolError, EthtoolReader

    try:
        with EthtoolReader() as reader:
            return read(reader, ifname)
    except (EthtoolError, OSError) as exc:
        raise CaptureUnavailable(f"ETHTOOL_{request} on {ifname}: {exc}") from None


def permanent_address_text(ifname: str) -> Optional[str]:
    """``ethtool -P`` of an interface, from the GPERMADDR ioctl (no ethtool binary needed)."""
    from accelnet.parsers.ethtool_text import render_ethtool_permaddr

    address = _ethtool_capture(ifname, "GPERMADDR", lambda reader, name: reader.permanent_address(name))
    return render_ethtool_permaddr(address)


def driver_info_text(ifname: str) -> Optional[str]:
    """``ethtool -i`` of an interface, from the GDRVINFO ioctl (no ethtool binary needed)."""
    from accelnet.parsers.ethtool_text import render_ethtool_info

    info = _ethtool_capture(ifname, "GDRVINFO", lambda reader, name: reader.driver_info(name))
    return render_ethtool_info(info.driver, info.version, info.fw_version, info.bus_info, info.n_stats)
