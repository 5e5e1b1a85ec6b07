"""The one place that reads a host.

Every other module gets a :class:`Host` and asks it for files, links, directory listings,
command captures and counter samples, so that the live host (root ``/``) and a captured
snapshot (root ``<snapshot>/root``) are diagnosed by exactly the same code.

Reads are bounded and never raise: a missing file, a permission error, a symlink loop or a
hostile 1 GB file are all just "no value" (``None`` / empty), because a diagnostic tool must
report what it could not read instead of crashing on it.

A snapshot is a jail: links are resolved by us against the root (never by the kernel), the
last component is opened ``O_NOFOLLOW`` and the file really opened must lie under the real
root, and the work spent on resolving links is bounded per path and per snapshot.
"""

import errno
import itertools
import os
import stat
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from accelnet.compat import Protocol
from accelnet.records import dataclass, field

#: Largest file we read. sysfs attributes are at most a page; /proc/cpuinfo on a 416-vCPU
#: M-series VM is about 600 KiB; anything bigger is not something we need.
MAX_READ_BYTES = 1 << 20

#: Same limit as the kernel's MAXSYMLINKS: more hops than this is a loop.
MAX_SYMLINK_HOPS = 40

#: Path components one resolution may visit (links expanded): a sysfs path takes ~30.
MAX_RESOLVE_STEPS = 1024

#: Path components all resolutions of one snapshot may visit: a whole diagnosis of the
#: largest fixture takes a few thousand; a snapshot of link chains built to burn CPU
#: stops here and reads as missing files.
MAX_SNAPSHOT_STEPS = 100_000

#: A snapshot directory is read as at most this many entries (a VM has a few dozen NICs and
#: PCI devices; an archive of 200,000 entries in one directory must not cost their memory).
MAX_DIR_ENTRIES = 4096

#: Resolved paths and prefixes remembered per snapshot; past it the memory starts over (a
#: diagnosis of the largest fixture remembers a few hundred, and the work stays bounded
#: by MAX_SNAPSHOT_STEPS).
MAX_CACHED_PATHS = 16384

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: A descriptor that names a directory for *at() calls without opening it for reading (Linux).
_O_PATH = getattr(os, "O_PATH", os.O_RDONLY)


class SampleState:
    """Why a counter sample has no stats, in the words a report uses ("counters gone")."""

    OK = "ok"
    MISSING = "missing"            # not captured
    NO_STATS = "no-stats"          # the driver has none
    UNAVAILABLE = "unavailable"    # netvsc re-attaching (ENODEV)
    GONE = "gone"                  # the interface vanished
    UNPARSABLE = "unparsable"      # a capture we could not read


@dataclass
class CounterSample:
    """One reading of an interface's ethtool stats; ``stats`` is None when nothing could be
    read, and ``state`` (a SampleState) then says why."""

    stats: Optional[Dict[str, int]]
    state: str = SampleState.OK
    detail: str = ""
    monotonic: float = 0.0


Sampler = Callable[[Sequence[str], float], Dict[str, List[CounterSample]]]
#: Makes one live capture by name: its text, None where there is nothing to capture, or
#: CaptureUnavailable with the reason.
Produce = Callable[[str], Optional[str]]


class CaptureUnavailable(Exception):
    """A live capture that cannot be made; the message says why (the report and a bundle's
    ``not_captured`` keep it)."""


class Captures(Protocol):
    """Where a host's command captures (``lspci``, ``imds``, ``ethtool-S.eth0.0``) come from:
    a bundle's ``cmd/`` files, or the live host making them on demand."""

    def text(self, name: str) -> Optional[str]:
        """The capture's text, or None where there is none."""

    def problem(self, name: str) -> Optional[str]:
        """Why the capture is missing (``/dev/kmsg is not readable: …``), where known."""

    def names(self) -> List[str]:
        """The captures there are (a bundle's); none where they are made on demand."""


class NoCaptures:
    """A host with no command captures at all (a bare root directory)."""

    def text(self, name: str) -> Optional[str]:
        return None

    def problem(self, name: str) -> Optional[str]:
        return None

    def names(self) -> List[str]:
        return []


class RecordedCaptures:
    """A bundle's ``cmd/`` directory (``<name>.txt`` or ``.json``, never through a link), and
    the reasons its snapshot.json gives (``not_captured``) for what it lacks."""

    def __init__(self, directory: str, not_captured: Optional[Mapping[str, object]] = None) -> None:
        self.directory = directory
        self.not_captured = dict(not_captured or {})

    def text(self, name: str) -> Optional[str]:
        for candidate in (name + ".txt", name + ".json", name):
            text = _read_bounded(os.path.join(self.directory, candidate))
            if text is not None:
                return text
        return None

    def problem(self, name: str) -> Optional[str]:
        for key in (name, f"cmd/{name}.txt", f"cmd/{name}.json"):
            reason = self.not_captured.get(key)
            if isinstance(reason, str):
                return reason
        return None

    def names(self) -> List[str]:
        try:
            entries = sorted(os.listdir(self.directory))
        except OSError:
            return []
        return [os.path.splitext(e)[0] if e.endswith((".txt", ".json")) else e for e in entries]


class LiveFiles:
    """The running host's files, at their own paths: nothing to jail, nothing to cache
    (sysfs changes under a long-running agent)."""

    def open(self, path: str, flags: int) -> Optional[int]:
        try:
            return os.open(path, flags | _O_CLOEXEC)
        except OSError:
            return None

    def path(self, path: str) -> str:
        return path

    def read_link(self, path: str) -> Optional[str]:
        try:
            return os.readlink(path)
        except OSError:
            return None

    def resolve(self, path: str) -> Optional[str]:
        real = os.path.realpath(path)
        return real if os.path.exists(real) else None

    def list_dir(self, path: str) -> List[str]:
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)


@dataclass
class JailedFiles:
    """A snapshot's files below ``root``: links resolved by us against the root, never by the
    kernel, so a hostile snapshot cannot make us read this machine's files."""

    root: str
    _resolved: Dict[str, Optional[str]] = field(default_factory=dict, repr=False)
    _prefixes: Dict[Tuple[str, ...], Optional[Tuple[str, ...]]] = field(default_factory=dict, repr=False)
    #: resolution steps left for this snapshot (see MAX_SNAPSHOT_STEPS)
    steps_left: int = field(default=MAX_SNAPSHOT_STEPS, repr=False)

    def __post_init__(self) -> None:
        # Every jail check compares real paths: the root must be one too.
        self.root = os.path.realpath(self.root)

    def _real(self, path: str) -> Optional[str]:
        """Map a host path to a real path on this machine, following links inside the root:
        every symlink (relative or absolute) is resolved against the snapshot root and can
        never leave it."""
        cached = self._resolved.get(path)
        if cached is not None or path in self._resolved:
            return cached
        real = self._resolve_in_root(path)
        if len(self._resolved) >= MAX_CACHED_PATHS:
            self._resolved.clear()
        self._resolved[path] = real
        return real

    def _resolve_in_root(self, path: str) -> Optional[str]:
        parts = self._canonical(tuple(p for p in path.split("/") if p and p != "."), [0], 0)
        if parts is None:
            return None
        return self.root + "".join("/" + p for p in parts) if parts else self.root

    def _canonical(self, parts: Tuple[str, ...], steps: List[int], hops: int) -> Optional[Tuple[str, ...]]:
        """The canonical host path (its components) of ``parts``, links resolved in the root.

        Each prefix is resolved once per snapshot (``_prefixes``): a diagnosis reads hundreds
        of sysfs paths under the same few directories. ``..`` applies to the resolved parent,
        as the kernel does. Work is bounded per path (``steps``, MAX_RESOLVE_STEPS), per
        snapshot (``steps_left``) and in link hops (MAX_SYMLINK_HOPS, the only recursion).
        """
        if len(parts) > MAX_RESOLVE_STEPS:
            return None
        known = len(parts)
        while known and parts[:known] not in self._prefixes:
            known -= 1
        current = self._prefixes[parts[:known]] if known else ()  # type: Optional[Tuple[str, ...]]
        for index in range(known, len(parts)):
            if current is None:
                return None
            steps[0] += 1
            if steps[0] > MAX_RESOLVE_STEPS or self.steps_left <= 0:
                return None
            self.steps_left -= 1
            name = parts[index]
            if name == "..":
                current = current[:-1]
            else:
                candidate = self.root + "".join("/" + p for p in current) + "/" + name
                try:
                    mode = os.lstat(candidate).st_mode
                except OSError:
                    current = None
                else:
                    if stat.S_ISLNK(mode):
                        if hops >= MAX_SYMLINK_HOPS:
                            return None
                        try:
                            target = os.readlink(candidate)
                        except OSError:
                            return None
                        base = () if target.startswith("/") else current
                        current = self._canonical(
                            base + tuple(p for p in target.split("/") if p and p != "."), steps, hops + 1)
                        if current is None:
                            return None  # a bound, or a dangling link: not remembered
                    else:
                        current = current + (name,)
            if len(self._prefixes) >= MAX_CACHED_PATHS:
                self._prefixes.clear()
            self._prefixes[parts[:index + 1]] = current
        return current

    def _jailed(self, real: str) -> bool:
        """Whether the real path of ``real`` is the root or below it."""
        resolved = os.path.realpath(real)
        return resolved == self.root or resolved.startswith(self.root.rstrip("/") + "/")

    def open(self, path: str, flags: int) -> Optional[int]:
        """A descriptor of the host file ``path``: links resolved in the root, the last
        component opened O_NOFOLLOW, and what was opened checked to be inside the root."""
        real = self._real(path)
        if real is None:
            return None
        try:
            fd = os.open(real, flags | os.O_NOFOLLOW | _O_CLOEXEC)
        except OSError:
            return None
        if not self._fd_jailed(fd, real):
            os.close(fd)
            return None
        return fd

    def _fd_jailed(self, fd: int, real: str) -> bool:
        """The path the kernel opened (``/proc/self/fd``), or the real path without /proc."""
        try:
            opened = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return self._jailed(real)
        return opened == self.root or opened.startswith(self.root.rstrip("/") + "/")

    def path(self, path: str) -> str:
        """The real path of a host path without following its last link (for readlink)."""
        head, tail = os.path.split(path.rstrip("/"))
        real_head = self._real(head) if head not in ("", "/") else self.root
        if real_head is None or not self._jailed(real_head):
            return os.path.join(self.root, path.lstrip("/"))
        return os.path.join(real_head, tail)

    def read_link(self, path: str) -> Optional[str]:
        """A link's target as stored, read relative to its directory as opened (and checked)
        in the jail: nothing can swap the directory between the check and the read, and no
        realpath walk per link (sysfs names drivers and devices by links, ~100 a diagnosis).
        The directory is opened O_PATH: readlink needs search permission on it, not read
        permission, and a user without root reads a 0711 directory's links as before."""
        head, tail = os.path.split(path.rstrip("/"))
        if tail in ("", ".", ".."):
            return None
        fd = self.open(head or "/", _O_PATH | os.O_DIRECTORY)
        if fd is None:
            return None
        try:
            return os.readlink(tail, dir_fd=fd)
        except OSError:
            return None
        finally:
            os.close(fd)

    def resolve(self, path: str) -> Optional[str]:
        real = self._real(path)
        if real is None:
            return None
        rel = os.path.relpath(real, self.root)
        return "/" if rel == "." else "/" + rel

    def list_dir(self, path: str) -> List[str]:
        fd = self.open(path, os.O_RDONLY | os.O_DIRECTORY)
        if fd is None:
            return []
        try:
            if os.scandir in os.supports_fd:  # Python >= 3.7: stop reading at the bound
                with os.scandir(fd) as entries:
                    return sorted(itertools.islice((e.name for e in entries), MAX_DIR_ENTRIES))
            return sorted(os.listdir(fd))[:MAX_DIR_ENTRIES]
        except OSError:
            return []
        finally:
            os.close(fd)

    def is_dir(self, path: str) -> bool:
        real = self._real(path)
        if real is None:
            return False
        try:
            st = os.lstat(real)
        except OSError:
            return False
        return stat.S_ISDIR(st.st_mode) and self._jailed(real)

    def exists(self, path: str) -> bool:
        real = self._real(path)
        return real is not None and os.path.lexists(real) and self._jailed(real)


@dataclass
class Host:
    """A host seen through a root directory.

    ``root`` is ``/`` for the live host (``live``), read where it is; a snapshot's root is a
    jail (:class:`JailedFiles`). ``captures`` gives the command captures (a bundle's files, or
    the live host's commands run on demand); ``sampler`` reads counters (twice, some seconds
    apart) for a list of interfaces. Both are given at construction and never replaced.
    """

    root: str
    live: bool
    captures: Captures = field(default_factory=NoCaptures)
    sampler: Optional[Sampler] = None
    meta: Dict[str, object] = field(default_factory=dict)
    files: Union[LiveFiles, JailedFiles] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.live:
            self.files = LiveFiles()
        else:
            jail = JailedFiles(self.root)
            self.root = jail.root  # its real path
            self.files = jail

    def path(self, path: str) -> str:
        """The real path of a host path without following links (for lstat and readlink)."""
        return self.files.path(path)

    # -- reads -----------------------------------------------------------------------------

    def read_text(self, path: str, limit: int = MAX_READ_BYTES) -> Optional[str]:
        """The text of a file, or None when it is missing, unreadable or larger than ``limit``."""
        fd = self.files.open(path, os.O_RDONLY | os.O_NONBLOCK)
        if fd is None:
            return None
        return _read_fd(fd, limit)

    def read_attr(self, path: str) -> Optional[str]:
        """A sysfs-style attribute: the file's text stripped, None if absent or empty."""
        text = self.read_text(path, limit=65536)
        if text is None:
            return None
        text = text.strip()
        return text or None

    def read_link(self, path: str) -> Optional[str]:
        """The target of a symlink as stored (not resolved), or None."""
        return self.files.read_link(path)

    def link_name(self, path: str) -> Optional[str]:
        """The last component of a symlink's target: how sysfs names a driver or a device."""
        target = self.read_link(path)
        if not target:
            return None
        return os.path.basename(target.rstrip("/")) or None

    def resolve(self, path: str) -> Optional[str]:
        """The canonical host path of ``path`` (links followed), or None if it does not exist."""
        return self.files.resolve(path)

    def list_dir(self, path: str) -> List[str]:
        """Sorted entries of a directory; empty when it is missing or unreadable. A
        snapshot's directory gives at most MAX_DIR_ENTRIES of them."""
        return self.files.list_dir(path)

    def is_dir(self, path: str) -> bool:
        return self.files.is_dir(path)

    def exists(self, path: str) -> bool:
        return self.files.exists(path)

    def writable_by_others(self, path: str) -> Optional[str]:
        """Why a configuration file could have been written by someone other than root or
        this process's user (the file, a link's target or a directory above it writable by
        others, or owned by another user), or None. A snapshot's owners and modes are those
        of whoever unpacked it, so only the live host is judged."""
        if not self.live:
            return None
        # the file as opened (links followed), and the directory holding the name: whoever
        # can write there can swap the link
        for start in (os.path.realpath(path), os.path.realpath(os.path.dirname(path) or ".")):
            reason = _foreign_writable(start)
            if reason is not None:
                return reason
        return None

    # -- captures and counters ---------------------------------------------------------------

    def capture(self, name: str) -> Optional[str]:
        """Text a command printed (``lspci``) or a document fetched (``imds``), or None."""
        return self.captures.text(name)

    def capture_problem(self, name: str) -> Optional[str]:
        """Why capture ``name`` is missing (``/dev/kmsg is not readable: …``), where known."""
        return self.captures.problem(name)

    def capture_names(self) -> List[str]:
        """Names of a snapshot's captures (``ethtool-S.eth0.0``, ``lspci``…); none when live."""
        return self.captures.names()

    def sample_counters(
        self, interfaces: Sequence[str], interval: float
    ) -> Dict[str, List[CounterSample]]:
        """One or two counter samples per interface (two when ``interval`` > 0)."""
        if self.sampler is None or not interfaces:
            return {name: [] for name in interfaces}
        return self.sampler(interfaces, interval)


def _foreign_writable(real: str) -> Optional[str]:
    """Why ``real`` or a directory above it could be written by a user other than root or
    ours (a sticky directory such as /tmp protects what others own in it), or None."""
    uids = (0, os.geteuid())
    current = real
    while True:
        try:
            st = os.stat(current)
        except OSError:
            return None  # gone: the read says so
        sticky = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
        if st.st_uid not in uids:
            return f"{current} is owned by uid {st.st_uid}"
        if st.st_mode & stat.S_IWOTH and not sticky:
            return f"{current} is writable by every user (mode {stat.S_IMODE(st.st_mode):04o})"
        if st.st_mode & stat.S_IWGRP and st.st_gid != 0 and not sticky:
            return f"{current} is writable by group {st.st_gid} (mode {stat.S_IMODE(st.st_mode):04o})"
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _read_fd(fd: int, limit: int) -> Optional[str]:
    """Read and close ``fd``: a regular file of at most ``limit`` bytes, else None."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            try:
                chunk = os.read(fd, min(remaining, 65536))
            except OSError as exc:
                # sysfs answers some attributes with an errno (EINVAL, ENODEV, EIO):
                # the attribute exists but has no value now.
                if exc.errno == errno.EINTR:
                    continue
                return None
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > limit:
        return None
    return data.decode("utf-8", errors="replace")


def _read_bounded(path: str, limit: int = MAX_READ_BYTES) -> Optional[str]:
    """A capture file: a regular file, not a link, never a FIFO that would block."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _O_CLOEXEC)
    except OSError:
        return None
    return _read_fd(fd, limit)
