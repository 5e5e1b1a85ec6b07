"""Write the metrics for node_exporter's textfile collector (``--textfile PATH``).

node_exporter reads every ``*.prom`` file in its directory at each scrape, at any moment:
a file it reads half-written yields a scrape error or, worse, silently missing series. So
the file is written next to its target under a random name the collector ignores
(``.NAME.XXXXXXXX.tmp``, created like mkstemp: ``O_CREAT|O_EXCL|O_NOFOLLOW``, mode 0600, so
a symlink planted in a writable directory can never make us write elsewhere), flushed to
disk, made world-readable (node_exporter often runs as another user) and renamed over the
target, which is atomic within one filesystem.

:func:`publish_textfile` is the same write done by root for the textfile timer: it copies
the file a sandboxed ``--once`` run left in its runtime directory into node_exporter's
directory. Both places can be in the hands of others (the sandboxed user owns the first;
node_exporter's user often owns the second, or its parent), so nothing is followed there:
the source is opened ``O_NOFOLLOW`` and must be a regular file of its directory's owner
with one link, holding only accelnet_* metrics; the target directory is opened once
(``O_NOFOLLOW``) and every name in it is used relative to that descriptor, so a name
swapped for a symlink or a directory moved away never makes root read, write or chmod
anything else (coreutils' ``install`` chmods by name, after closing the file).
"""

import binascii
import errno
import os
import stat
import threading
from typing import Any

from accelnet.agent.exposition import text_format

__all__ = ["TextfileError", "publish_textfile", "write_textfile"]

#: The most a published file may hold: the agent's metrics with the whole ethtool export of
#: every NIC take a few MiB at most.
PUBLISH_MAX_BYTES = 16 << 20
#: What a line of the agent's textfile starts with (it writes only accelnet_* families).
_AGENT_LINE_PREFIXES = (b"accelnet_", b"# HELP accelnet_", b"# TYPE accelnet_")

# Two threads of one process take turns, so the newer metrics are renamed last.
_LOCK = threading.Lock()


class TextfileError(OSError):
    """The metrics file cannot be written; the message says which file and why.

    An OSError, as what it reports is one (a missing directory, a full disk, a permission):
    callers that handle I/O failures handle it too, with the message and no traceback."""


def write_textfile(path: str, registry: Any) -> None:
    """Write ``registry`` in the Prometheus text format to ``path`` atomically.

    Raises TextfileError (and leaves any previous file untouched) when the name is not a
    ``.prom`` file, its directory does not exist, writing fails or a collector raises.
    """
    if not path.endswith(".prom"):
        raise TextfileError(f"textfile {path}: the name must end in .prom "
                            "(node_exporter's textfile collector reads only *.prom files)")
    try:
        data = text_format(registry)
    except Exception as e:  # a collector bug must not leave a file behind or kill the caller
        raise TextfileError(f"textfile {path}: collecting metrics failed: "
                            f"{type(e).__name__}: {e}") from None
    _replace(path, data)


def publish_textfile(source: str, path: str) -> None:
    """Copy ``source``, the metrics file of an unprivileged ``--once`` run, to ``path`` as
    :func:`write_textfile` writes (atomically, mode 0644), following no link on either side.

    Raises TextfileError, and leaves ``path`` as it was, when ``source`` is not a regular
    file with one link owned by its directory's owner, is larger than PUBLISH_MAX_BYTES or
    holds anything but accelnet_* metrics, or when ``path`` cannot be written."""
    if not path.endswith(".prom"):
        raise TextfileError(f"textfile {path}: the name must end in .prom "
                            "(node_exporter's textfile collector reads only *.prom files)")
    data = _read_agent_metrics(source)
    _replace(path, data, follow=False)


def _read_agent_metrics(source: str) -> bytes:
    directory = os.path.dirname(os.path.abspath(source))
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise TextfileError(f"publish {source}: directory {directory}: {e.strerror or e}") from None
    try:
        try:
            fd = os.open(os.path.basename(source), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dir_fd)
        except OSError as e:
            reason = "a symbolic link" if e.errno == errno.ELOOP else (e.strerror or str(e))
            raise TextfileError(f"publish {source}: {reason}") from None
        try:
            owner = os.fstat(dir_fd).st_uid
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise TextfileError(f"publish {source}: not a regular file")
            if info.st_nlink != 1:
                raise TextfileError(f"publish {source}: has {info.st_nlink} links (a hard link to another file?)")
            if info.st_uid != owner:
                raise TextfileError(f"publish {source}: owned by uid {info.st_uid}, its directory by uid {owner}")
            chunks = []
            left = PUBLISH_MAX_BYTES + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        except OSError as e:
            if isinstance(e, TextfileError):
                raise
            raise TextfileError(f"publish {source}: {e.strerror or e}") from None
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
    data = b"".join(chunks)
    if len(data) > PUBLISH_MAX_BYTES:
        raise TextfileError(f"publish {source}: larger than {PUBLISH_MAX_BYTES} bytes")
    for number, line in enumerate(data.splitlines(), 1):
        if line and not line.startswith(_AGENT_LINE_PREFIXES):
            raise TextfileError(f"publish {source}: line {number} is not an accelnet_* metric")
    return data


def _replace(path: str, data: bytes, follow: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: a temporary name node_exporter ignores, created
    ``O_EXCL|O_NOFOLLOW`` in the directory opened once, then renamed over ``path`` relative to
    that descriptor (neither follows a link at the last name). Unless ``follow``, the
    directory itself must not be a symbolic link (root publishing into a directory whose
    parent another user owns: /var/lib/prometheus is prometheus's on Debian); its parents are
    the operator's choice and trusted."""
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW))
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise TextfileError(f"textfile {path}: directory {directory} does not exist") from None
        reason = "a symbolic link or not a directory" if e.errno in (errno.ELOOP, errno.ENOTDIR) else e.strerror
        raise TextfileError(f"textfile {path}: directory {directory}: {reason or e}") from None
    try:
        with _LOCK:
            _write_and_rename(dir_fd, name, data, path)
        try:
            os.fsync(dir_fd)  # the rename made durable; some filesystems refuse fsync on a dir
        except OSError:
            pass
    finally:
        os.close(dir_fd)


def _write_and_rename(dir_fd: int, name: str, data: bytes, path: str) -> None:
    tmp = ""
    try:
        for _ in range(100):
            candidate = f".{name}.{binascii.hexlify(os.urandom(4)).decode()}.tmp"
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                             dir_fd=dir_fd)
            except FileExistsError:
                continue
            tmp = candidate
            break
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            os.fchmod(fd, 0o644)  # on the descriptor, regardless of the umask
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as e:
        try:
            if tmp:
                os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise TextfileError(f"textfile {path}: {e.strerror or e}") from None
