"""Open captured hosts (a directory or a ``.tar.gz``) as a :class:`~accelnet.readers.host.Host`.

A support engineer runs ``accelnet-check --snapshot bundle.tar.gz`` on a customer's bundle:
the archive is untrusted input. It is unpacked by :mod:`accelnet.readers.safetar` (bounded headers,
size, member count and depth; nothing written through a link) into a private temporary
directory that goes when the snapshot closes, also on SIGTERM; the Host then reads only
below the snapshot's real ``root/`` (see :class:`~accelnet.readers.host.Host`). Only a regular file
or a directory is opened: a FIFO or a device would block or never end.
"""

import io
import os
import signal
import stat
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

from accelnet.errors import ParseError, SnapshotError, Terminated
from accelnet.parsers.jsontext import load_json
from accelnet.readers.capturenames import file_name, stats_sample
from accelnet.readers.host import Captures, CounterSample, Host, RecordedCaptures, Sampler, SampleState

SNAPSHOT_FORMAT = 1
DEFAULT_SAMPLE_INTERVAL = 2.0
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(f"terminated by signal {signum}")


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while we own a temporary directory, unless the
    program has a SIGTERM handler of its own (the agent stops through its own path)."""
    import threading  # only an archive gets here; a directory's check never starts a thread

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def open_snapshot(path: str) -> Iterator[Host]:
    """A Host reading only from the snapshot at ``path``; temporary files go when it closes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SnapshotError(f"snapshot {path!r} does not exist") from None
    except OSError as exc:
        raise SnapshotError(f"snapshot {path!r}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        yield _host_from_dir(path)
        return
    if not stat.S_ISREG(st.st_mode):
        raise SnapshotError(f"snapshot {path!r} is neither a directory nor a regular file "
                            "(a device, FIFO or socket is never read)")
    # Only an archive needs the tar reader and a temporary tree: a directory is read in place,
    # and the one-shot check does not pay for importing them.
    from accelnet.readers.safetar import extract
    from accelnet.readers.tempdir import temporary_directory

    handle = _open_regular(path)
    with _sigterm_unwinds(), temporary_directory("accelnet-snapshot-") as workdir:
        try:
            with handle:
                extract(handle, workdir)
        except SnapshotError as exc:
            raise SnapshotError(f"snapshot {path!r}: {exc}") from None
        yield _host_from_dir(workdir)


def open_snapshot_dir(path: str) -> Host:
    """A Host over the snapshot directory at ``path`` (or the directory a link there names),
    read afresh: a directory needs no cleanup, so this needs no ``with``. Raises SnapshotError
    when ``path`` is not a directory holding a snapshot."""
    if not os.path.isdir(path):
        raise SnapshotError(f"snapshot {path!r} is not a directory")
    return _host_from_dir(path)


def _open_regular(path: str) -> io.BufferedReader:
    """Open without blocking (a FIFO swapped in after the stat would block a plain open),
    then insist on a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _O_CLOEXEC)
    except OSError as exc:
        raise SnapshotError(f"snapshot {path!r}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SnapshotError(f"snapshot {path!r} is neither a directory nor a regular file")
        if os.fstat(fd).st_size == 0:
            raise SnapshotError(f"snapshot {path!r} is an empty file")
    except BaseException:
        os.close(fd)
        raise
    return io.open(fd, "rb")


def _inside(top: str, name: str) -> Optional[str]:
    """The real path of ``top/name`` when it is a directory really inside ``top``."""
    real_top = os.path.realpath(top)
    real = os.path.realpath(os.path.join(real_top, name))
    if real.startswith(real_top + os.sep) and os.path.isdir(real):
        return real
    return None


def _host_from_dir(top: str) -> Host:
    """Accept the snapshot dir itself, or an archive's single top-level dir holding it.

    ``root/`` and ``cmd/`` are used by their real paths and must really lie inside the
    snapshot: a ``root`` that is a link (or a chain of links) to ``/`` would otherwise
    make us diagnose this machine instead of the snapshot.
    """
    top = os.path.realpath(top)
    if not _looks_like_snapshot(top):
        entries = [e for e in os.listdir(top) if not e.startswith(".")]
        inner = _inside(top, entries[0]) if len(entries) == 1 else None
        if inner is not None and not os.path.islink(os.path.join(top, entries[0])) \
                and _looks_like_snapshot(inner):
            top = inner
        else:
            raise SnapshotError(
                f"{top!r} is not an accelnet snapshot (no snapshot.json, root/ or cmd/)"
            )
    for name in ("root", "cmd"):
        if os.path.lexists(os.path.join(top, name)) and _inside(top, name) is None:
            raise SnapshotError(f"snapshot {top!r}: {name}/ is not a directory inside the "
                                "snapshot (a link leading out of it?)")
    meta = read_meta(top)
    root = _inside(top, "root") or os.path.join(top, "root")
    recorded = meta.get("not_captured")
    captures = RecordedCaptures(_inside(top, "cmd") or os.path.join(top, "cmd"),
                                recorded if isinstance(recorded, dict) else None)
    return Host(root=root, live=False, captures=captures, meta=meta,
                sampler=recorded_sampler(captures, _sample_interval(meta)))


def _looks_like_snapshot(path: str) -> bool:
    return os.path.isdir(path) and any(
        os.path.exists(os.path.join(path, marker)) for marker in ("snapshot.json", "root", "cmd")
    )


#: The longest sampling interval a bundle may claim (the writers allow 3600 s).
MAX_SAMPLE_INTERVAL_S = 86400.0


def read_meta(top: str) -> Dict[str, object]:
    """snapshot.json, with defaults: every file of a snapshot is optional (CONTRACT.md)."""
    meta: Dict[str, object] = {"format": SNAPSHOT_FORMAT, "sample_interval_s": DEFAULT_SAMPLE_INTERVAL}
    try:
        fd = os.open(os.path.join(top, "snapshot.json"),
                     os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _O_CLOEXEC)
        with io.open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError("not a regular file")
            loaded = load_json(handle.read(65536).decode("utf-8"), "snapshot.json")
    except FileNotFoundError:
        return meta
    except (OSError, ValueError) as exc:  # JsonTextError and UnicodeDecodeError are ValueErrors
        meta["error"] = f"snapshot.json unreadable: {exc}"
        return meta
    if isinstance(loaded, dict):
        interval = loaded.get("sample_interval_s")
        if isinstance(interval, (int, float)) and not isinstance(interval, bool) and \
                0 <= interval <= MAX_SAMPLE_INTERVAL_S:
            meta["sample_interval_s"] = float(interval)
        for key in ("format", "captured_at"):
            if key in loaded:
                meta[key] = loaded[key]
    return meta


#: ``ethtool -S`` statistics read from one capture, and from all captures of one reading
#: (an M-series VM with 416 vCPUs counts ~3,900 per synthetic NIC; hostile captures of 1 MiB
#: of fresh names would cost ~100 MiB per interface): past them a sample is unparsable.
MAX_CAPTURE_STATS = 16384
MAX_READING_STATS = 100_000


def _sample_interval(meta: Dict[str, object]) -> float:
    """snapshot.json's sample interval (read_meta checked it is a number >= 0)."""
    interval = meta.get("sample_interval_s", DEFAULT_SAMPLE_INTERVAL)
    return float(interval) if isinstance(interval, (int, float)) else DEFAULT_SAMPLE_INTERVAL


def recorded_sampler(captures: Captures, interval: float) -> Sampler:
    """A bundle's counter samples: its ethtool captures, ``interval`` seconds apart, whatever
    interval a caller asks for (the samples were taken when the bundle was made)."""
    return lambda names, _asked: recorded_samples(captures, names, interval)


def recorded_samples(captures: Captures, names: Sequence[str], interval: float) -> Dict[str, List[CounterSample]]:
    """The ethtool captures of a snapshot as samples spaced by snapshot.json's interval."""
    from accelnet.parsers.ethtool_text import NoStatsAvailable, parse_ethtool_stats

    result: Dict[str, List[CounterSample]] = {}
    budget = MAX_READING_STATS
    for name in names:
        samples: List[CounterSample] = []
        for index in (0, 1):
            text = captures.text(stats_sample(name, index))
            if text is None:
                if index == 0:
                    samples.append(CounterSample(None, SampleState.MISSING, "no ethtool -S capture"))
                break
            where = f"cmd/{file_name(stats_sample(name, index))}"
            try:
                stats = parse_ethtool_stats(text, max_stats=MAX_CAPTURE_STATS)
            except NoStatsAvailable as exc:
                samples.append(CounterSample(None, SampleState.NO_STATS, str(exc), index * interval))
                break
            except ParseError as exc:
                samples.append(CounterSample(None, SampleState.UNPARSABLE, f"{where}: {exc}", index * interval))
                break
            if len(stats) > budget:
                samples.append(CounterSample(None, SampleState.UNPARSABLE, f"{where}: the captures hold more "
                                             f"than {MAX_READING_STATS} statistics in all", index * interval))
                break
            budget -= len(stats)
            samples.append(CounterSample(stats, SampleState.OK, "", index * interval))
        result[name] = samples
    return result
