"""Open captured hosts (a directory or a ``.tar.gz``) as a :class:`~accelnet.host.Host`.

A support engineer runs ``accelnet-check --snapshot bundle.tar.gz`` on a customer's bundle:
the archive is untrusted input, so extraction refuses every member that could land outside
the snapshot (absolute names, ``..``, links pointing outside, devices, hard links to
elsewhere) and caps the total size instead of trusting the archive.
"""

import json
import os
import shutil
import tarfile
import tempfile
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

from .errors import ParseError, SnapshotError
from .host import CounterSample, Host

SNAPSHOT_FORMAT = 1
MAX_ARCHIVE_BYTES = 256 << 20
MAX_ARCHIVE_MEMBERS = 200_000
DEFAULT_SAMPLE_INTERVAL = 2.0


@contextmanager
def open_snapshot(path: str) -> Iterator[Host]:
    """A Host reading only from the snapshot at ``path``; temporary files go when it closes."""
    if os.path.isdir(path):
        yield _host_from_dir(path)
        return
    if not os.path.exists(path):
        raise SnapshotError(f"snapshot {path!r} does not exist")
    if not tarfile.is_tarfile(path):
        raise SnapshotError(f"snapshot {path!r} is neither a directory nor a tar archive")
    workdir = tempfile.mkdtemp(prefix="accelnet-snapshot-")
    try:
        top = _safe_extract(path, workdir)
        yield _host_from_dir(top)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _host_from_dir(top: str) -> Host:
    """Accept the snapshot dir itself, or an archive's single top-level dir holding it."""
    if not _looks_like_snapshot(top):
        entries = [e for e in os.listdir(top) if not e.startswith(".")]
        if len(entries) == 1 and _looks_like_snapshot(os.path.join(top, entries[0])):
            top = os.path.join(top, entries[0])
        else:
            raise SnapshotError(
                f"{top!r} is not an accelnet snapshot (no snapshot.json, root/ or cmd/)"
            )
    meta = read_meta(top)
    captures = os.path.join(top, "cmd")
    host = Host(
        root=os.path.join(top, "root"),
        live=False,
        captures_dir=captures,
        meta=meta,
    )
    host.sampler = lambda names, interval: _recorded_samples(host, names)
    return host


def _looks_like_snapshot(path: str) -> bool:
    return os.path.isdir(path) and any(
        os.path.exists(os.path.join(path, marker)) for marker in ("snapshot.json", "root", "cmd")
    )


def read_meta(top: str) -> Dict[str, object]:
    """snapshot.json, with defaults: every file of a snapshot is optional (CONTRACT.md)."""
    meta: Dict[str, object] = {"format": SNAPSHOT_FORMAT, "sample_interval_s": DEFAULT_SAMPLE_INTERVAL}
    try:
        with open(os.path.join(top, "snapshot.json"), "rb") as handle:
            loaded = json.loads(handle.read(65536).decode("utf-8"))
    except FileNotFoundError:
        return meta
    except (OSError, ValueError) as exc:
        meta["error"] = f"snapshot.json unreadable: {exc}"
        return meta
    if isinstance(loaded, dict):
        interval = loaded.get("sample_interval_s")
        if isinstance(interval, (int, float)) and not isinstance(interval, bool) and interval >= 0:
            meta["sample_interval_s"] = float(interval)
        for key in ("format", "captured_at"):
            if key in loaded:
                meta[key] = loaded[key]
    return meta


def _recorded_samples(host: Host, names: Sequence[str]) -> Dict[str, List[CounterSample]]:
    """The ethtool captures of a snapshot as samples spaced by snapshot.json's interval."""
    from .ethtool_text import NoStatsAvailable, parse_ethtool_stats

    interval = float(host.meta.get("sample_interval_s", DEFAULT_SAMPLE_INTERVAL))  # type: ignore[arg-type]
    result: Dict[str, List[CounterSample]] = {}
    for name in names:
        samples: List[CounterSample] = []
        for index in (0, 1):
            text = host.capture(f"ethtool-S.{name}.{index}")
            if text is None:
                if index == 0:
                    samples.append(CounterSample(None, "missing", "no ethtool -S capture"))
                break
            try:
                stats = parse_ethtool_stats(text)
            except NoStatsAvailable as exc:
                samples.append(CounterSample(None, "no-stats", str(exc), index * interval))
                break
            except ParseError as exc:
                samples.append(CounterSample(None, "unparsable", str(exc), index * interval))
                break
            samples.append(CounterSample(stats, "ok", "", index * interval))
        result[name] = samples
    return result


# -- archive safety -----------------------------------------------------------------------------


def _safe_extract(archive: str, dest: str) -> str:
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _checked_members(tar)
            for member in members:
                _extract_member(tar, member, dest)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read snapshot archive {archive!r}: {exc}") from None
    return dest


def _checked_members(tar: tarfile.TarFile) -> List[tarfile.TarInfo]:
    members: List[tarfile.TarInfo] = []
    total = 0
    for member in tar:
        if len(members) >= MAX_ARCHIVE_MEMBERS:
            raise SnapshotError(f"archive has more than {MAX_ARCHIVE_MEMBERS} members")
        name = member.name
        problem = unsafe_member_reason(member)
        if problem:
            raise SnapshotError(f"refusing archive member {name!r}: {problem}")
        total += max(member.size, 0)
        if total > MAX_ARCHIVE_BYTES:
            raise SnapshotError(f"archive unpacks to more than {MAX_ARCHIVE_BYTES >> 20} MiB")
        members.append(member)
    return members


def unsafe_member_reason(member: tarfile.TarInfo) -> Optional[str]:
    """Why a tar member could escape the snapshot, or None when it is safe."""
    name = member.name
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return "path with '..'"
    if member.isdev() or member.isfifo():
        return "device or fifo"
    if member.issym():
        target = member.linkname
        if target.startswith("/"):
            return f"absolute link target {target!r}"
        base = os.path.dirname(name)
        joined = os.path.normpath(os.path.join(base, target))
        if joined == ".." or joined.startswith("../") or joined.startswith("/"):
            return f"link target {target!r} points outside the snapshot"
    if member.islnk():
        target = os.path.normpath(member.linkname)
        if target.startswith("/") or target == ".." or target.startswith("../"):
            return f"hard link target {member.linkname!r} points outside the snapshot"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "unsupported member type"
    return None


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: str) -> None:
    target = os.path.join(dest, member.name)
    if not os.path.realpath(os.path.dirname(target)).startswith(os.path.realpath(dest)):
        raise SnapshotError(f"refusing archive member {member.name!r}: parent is a link outside")
    if member.isdir():
        os.makedirs(target, exist_ok=True)
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if member.issym():
        if os.path.lexists(target):
            os.remove(target)
        os.symlink(member.linkname, target)
        return
    if member.islnk():
        source = os.path.realpath(os.path.join(dest, member.linkname))
        if not source.startswith(os.path.realpath(dest) + os.sep):
            raise SnapshotError(f"refusing archive member {member.name!r}: hard link outside")
        shutil.copyfile(source, target)
        return
    extracted = tar.extractfile(member)
    if extracted is None:
        return
    with extracted, open(target, "wb") as out:
        shutil.copyfileobj(extracted, out)
    os.chmod(target, 0o644)
