"""``accelnet-check --collect``: capture this host as a snapshot (the support bundle).

Only what the checks read is captured (CONTRACT.md's snapshot layout, every file listed in
docs/bundle.md): a few /etc and /proc files, the sysfs attributes of network interfaces, PCI
and VMBus devices and DMI, ``lspci``, ``ip -o addr``, the kernel log, ``ethtool -i/-P`` per
interface, two ``ethtool -S`` samples, the AN modules (/sys/module, modules.dep, modules.builtin)
and the IMDS document. sysfs symlinks are kept as the kernel lays
them out (relative), so a snapshot is read by the same code as the live host. DMI serial
numbers and UUIDs are left out on purpose: a support bundle travels.
"""

import datetime
import errno
import json
import os
import re
import stat
import tarfile
import tempfile
from typing import Callable, Dict, List, Optional

from accelnet import __version__
from accelnet.parsers.imds import redact_imds
from accelnet.parsers.intent import CONF_PATH as INTENT_CONF
from accelnet.readers import capturenames
from accelnet.readers.host import CounterSample, Host, SampleState
from accelnet.readers.options import Options
from accelnet.readers.platform import read_dmi
from accelnet.readers.tempdir import held_signals, temporary_directory, unlink_held
from accelnet.records import dataclass

#: Attributes that must not be read (side effects, binary blobs such as a bridge's forwarding
#: table ``brforward``, slow or private). scripts/accelnet-collect skips the same list.
SKIP_ATTRS = {
    "config", "rom", "remove", "rescan", "reset", "new_id", "remove_id", "bind", "unbind",
    "product_uuid", "product_serial", "board_serial", "chassis_serial", "driver_override",
    "vpd", "label", "brforward",
}
#: PCI BAR files (``resource0``, ``resource1_wc``…): reading an I/O BAR does port I/O on the
#: device, and none of them is text the diagnosis reads.
SKIP_ATTR_PATTERN = re.compile(r"resource[0-9]+(_wc)?\Z")
FOLLOW_LINKS = ("driver", "subsystem", "device", "master")
FOLLOW_PREFIXES = ("upper_", "lower_")
MAX_ATTR_BYTES = 65536


class _Tree:
    """Copies host paths into ``<dest>/root`` keeping every symlink on the way."""

    def __init__(self, host: Host, dest_root: str) -> None:
        self.host = host
        self.dest = dest_root
        self._done: Dict[str, Optional[str]] = {}

    def _src(self, path: str) -> str:
        return self.host.path(path)

    def materialize(self, path: str) -> Optional[str]:
        """Recreate the directories and links leading to ``path``; its canonical host path."""
        if path in self._done:
            return self._done[path]
        self._done[path] = None  # guards against link loops while we work on it
        current = "/"
        for part in [p for p in path.split("/") if p]:
            candidate = os.path.join(current, part)
            try:
                st = os.lstat(self._src(candidate))
            except OSError:
                return None
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(self._src(candidate))
                link_dest = self.dest + candidate
                if not os.path.lexists(link_dest):
                    os.makedirs(os.path.dirname(link_dest), exist_ok=True)
                    relative = os.path.relpath(target, current) if target.startswith("/") else target
                    os.symlink(relative, link_dest)
                resolved = self.materialize(os.path.normpath(os.path.join(current, target)))
                if resolved is None:
                    return None
                current = resolved
            else:
                if stat.S_ISDIR(st.st_mode):
                    os.makedirs(self.dest + candidate, exist_ok=True)
                current = candidate
        self._done[path] = current
        return current

    def copy_file(self, path: str, limit: int = MAX_ATTR_BYTES) -> bool:
        real = self.materialize(path)
        if real is None:
            return False
        text = self.host.read_text(real, limit=limit)
        if text is None:
            return False
        os.makedirs(os.path.dirname(self.dest + real), exist_ok=True)
        with open(self.dest + real, "w", encoding="utf-8") as out:
            out.write(text)
        return True

    def copy_attrs(self, directory: str, follow: bool = True) -> Optional[str]:
        """A sysfs directory's readable attributes, and its identity links (driver, master…)."""
        real = self.materialize(directory)
        if real is None:
            return None
        for name in self.host.list_dir(real):
            if name in SKIP_ATTRS or SKIP_ATTR_PATTERN.match(name):
                continue
            full = f"{real}/{name}"
            try:
                st = os.lstat(self._src(full))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_mode & stat.S_IRUSR:
                self.copy_file(full)
            elif stat.S_ISLNK(st.st_mode) and follow and (
                name in FOLLOW_LINKS or name.startswith(FOLLOW_PREFIXES)
            ):
                self.materialize(full)
        return real


def _format_ethtool(sample: CounterSample) -> str:
    """The text ``ethtool -S`` prints, so captures read the same whoever made them."""
    from accelnet.parsers.ethtool_text import render_ethtool_stats

    if sample.stats is None:
        return "no stats available\n" if sample.state == SampleState.NO_STATS else ""
    return render_ethtool_stats(sample.stats)


def collect_tree(host: Host, top: str, options: Options) -> None:
    """Write the snapshot directory ``top`` from ``host``: every file docs/bundle.md lists.

    Command outputs come through ``host.capture(name)``, the same call a live check makes, so
    a live check and its bundle read the same things. A capture that cannot be made leaves
    no file, and its reason in snapshot.json's ``not_captured``.
    """
    root = os.path.join(top, "root")
    cmd = os.path.join(top, "cmd")
    os.makedirs(root)
    os.makedirs(cmd)
    tree = _Tree(host, root)
    not_captured: Dict[str, str] = {}

    def capture(name: str) -> None:
        text = host.capture(name)
        if text is None:
            why = host.capture_problem(name)
            if why:
                not_captured[f"cmd/{capturenames.file_name(name)}"] = why
            return
        _write_capture(cmd, capturenames.file_name(name), text)

    # captured_at and /proc/uptime together: with both, kernel-log times become wall-clock times
    captured_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    tree.copy_file("/proc/uptime")
    for path in ("/etc/os-release", "/usr/lib/os-release", "/proc/sys/kernel/osrelease", "/proc/sys/kernel/hostname",
                 INTENT_CONF):
        tree.copy_file(path)
    tree.copy_file("/proc/cpuinfo", limit=4 << 20)
    tree.copy_attrs("/sys/class/dmi/id", follow=False)
    capture(capturenames.DMESG)
    capture(capturenames.IP_ADDR)
    interfaces: List[str] = host.list_dir("/sys/class/net")
    for name in interfaces:
        base = f"/sys/class/net/{name}"
        capture(capturenames.of_interface(capturenames.ETHTOOL_INFO, name))
        capture(capturenames.of_interface(capturenames.ETHTOOL_PERMADDR, name))
        tree.copy_attrs(base)
        tree.copy_attrs(f"{base}/statistics", follow=False)
        if host.exists(f"{base}/device"):
            tree.copy_attrs(f"{base}/device")
        ifindex = host.read_attr(f"{base}/ifindex")
        if ifindex:
            tree.copy_file(f"/run/udev/data/n{ifindex}")
            tree.copy_file(f"/run/systemd/netif/links/{ifindex}")
            tree.copy_file(f"/run/NetworkManager/devices/{ifindex}")
    tree.materialize("/run/NetworkManager")  # whether it exists: NetworkManager has run
    for bus in ("pci", "vmbus"):
        for device in host.list_dir(f"/sys/bus/{bus}/devices"):
            tree.copy_attrs(f"/sys/bus/{bus}/devices/{device}")
    for slot in host.list_dir("/sys/bus/pci/slots"):
        tree.copy_file(f"/sys/bus/pci/slots/{slot}/address")
    _copy_modules(host, tree, capture)

    capture(capturenames.LSPCI)
    if read_dmi(host).is_azure and options.imds:
        _write_capture(cmd, capturenames.file_name(capturenames.IMDS), redact_imds(host.capture(capturenames.IMDS)))
    wanted = [n for n in interfaces if n != "lo"]
    samples = host.sample_counters(wanted, options.sample_seconds)
    for name, readings in samples.items():
        for index, sample in enumerate(readings):
            _write_capture(cmd, capturenames.file_name(capturenames.stats_sample(name, index)), _format_ethtool(sample) or None)
    meta: Dict[str, object] = {
        "format": 1,
        "captured_at": captured_at,
        "sample_interval_s": float(options.sample_seconds),
        "collector": f"accelnet-check {__version__}",
    }
    if not_captured:
        meta["not_captured"] = not_captured
    with open(os.path.join(top, "snapshot.json"), "w", encoding="utf-8") as out:
        json.dump(meta, out, indent=2)
        out.write("\n")


def _copy_modules(host: Host, tree: _Tree, capture: Callable[[str], None]) -> None:
    """Which AN modules are loaded (/sys/module/<name>), built in or installed (the AN lines
    of modules.builtin and modules.dep): what tells a missing module from a failed probe."""
    from accelnet.parsers.kmod import AN_MODULES

    tree.materialize("/sys/module")  # whether it exists: /sys/module was read
    for name in AN_MODULES:
        if host.is_dir(f"/sys/module/{name}"):
            tree.copy_attrs(f"/sys/module/{name}", follow=False)
    capture(capturenames.MODULES_DEP)
    capture(capturenames.MODULES_BUILTIN)


def _write_capture(cmd: str, name: str, text: Optional[str]) -> None:
    if text is None:
        return
    with open(os.path.join(cmd, name), "w", encoding="utf-8") as out:
        out.write(text)


class BundleExists(Exception):
    """The bundle's file exists and ``force`` was not given, or it is a symlink or a
    directory (refused whatever ``force`` says)."""


@dataclass
class BundleSummary:
    """What a written bundle holds, for the one line telling the user."""

    path: str
    files: int
    captures: int
    imds: bool

    def describe(self) -> str:
        imds = ("the IMDS document reduced to the fields the diagnosis reads (userData, "
                "customData, tags other than accelnet*, public keys, subscription id and IP "
                "addresses left out)"
                if self.imds else "no IMDS document")
        return (f"bundle {self.path} written (mode 0600): {self.files} files, of which "
                f"{self.captures} command captures; {imds}; DMI serial numbers and UUIDs "
                "left out")


def collect(host: Host, archive: str, options: Options, force: bool = False) -> BundleSummary:
    """Capture ``host`` into the ``.tar.gz`` at ``archive``, mode 0600.

    The archive is written to a randomly named file created ``O_EXCL|O_NOFOLLOW`` in the
    target directory (mkstemp), so a symlink planted there is never written through, then
    renamed into place. Without ``force`` an existing ``archive`` (of any kind, a dangling
    link too) is never replaced, also not one that appears while we collect (the final
    step is a hard link, which fails on an existing name). An ``archive`` that is a symlink
    or a directory is refused also with ``force``, as scripts/accelnet-collect does; one that
    becomes a symlink at the last moment is replaced by the rename, never followed.
    Raises BundleExists or OSError.
    """
    _refuse_special(archive)
    if not force and os.path.lexists(archive):
        raise BundleExists(f"{archive} exists: refusing to overwrite it (use --force)")
    directory = os.path.dirname(os.path.abspath(archive))
    with temporary_directory("accelnet-collect-") as work:
        top = os.path.join(work, "snapshot")
        collect_tree(host, top, options)
        summary = _summarise(archive, top)
        partial = ""
        try:
            with held_signals():  # the name is known to the finally before a signal can land
                fd, partial = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(archive)}.",
                                               suffix=".partial")
                raw = os.fdopen(fd, "wb")
            with raw:
                with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                    tar.add(top, arcname="snapshot")
                raw.flush()
                os.fsync(raw.fileno())
            _publish(partial, archive, force)
        finally:
            unlink_held(partial)
    return summary


def _refuse_special(archive: str) -> None:
    if os.path.islink(archive):
        raise BundleExists(f"{archive} is a symbolic link: refusing to write through or replace it")
    if os.path.isdir(archive):
        raise BundleExists(f"{archive} is a directory")


def _publish(partial: str, archive: str, force: bool) -> None:
    """Give ``partial`` the name ``archive``: replacing it only when ``force``, and never
    when it is a symlink or a directory."""
    try:
        os.link(partial, archive)  # atomic, and fails if the name exists
        return
    except FileExistsError:
        pass
    except OSError as exc:  # a filesystem without hard links: best effort below
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    if os.path.lexists(archive):  # what appeared while we collected
        _refuse_special(archive)
        if not force:
            raise BundleExists(f"{archive} exists: refusing to overwrite it (use --force)")
    os.replace(partial, archive)  # replaces the name itself, never what a link points to


def _summarise(archive: str, top: str) -> BundleSummary:
    files = in_cmd = 0
    for directory, dirs, names in os.walk(top):
        links = [d for d in dirs if os.path.islink(os.path.join(directory, d))]
        files += len(names) + len(links)
        if directory == os.path.join(top, "cmd"):
            in_cmd += len(names)
    return BundleSummary(path=archive, files=files, captures=in_cmd,
                         imds=os.path.isfile(os.path.join(top, "cmd", capturenames.file_name(capturenames.IMDS))))
