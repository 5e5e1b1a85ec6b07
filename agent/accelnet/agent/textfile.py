"""Write the metrics for node_exporter's textfile collector (``--textfile PATH``).

node_exporter reads every ``*.prom`` file in its directory at each scrape, at any moment:
a file it reads half-written yields a scrape error or, worse, silently missing series. So
the file is written next to its target under a random name the collector ignores
(``.NAME.XXXXXXXX.tmp``, created like mkstemp: ``O_CREAT|O_EXCL|O_NOFOLLOW``, mode 0600, so
a symlink planted in a writable directory can never make us write elsewhere), flushed to
disk, made world-readable (node_exporter often runs as another user) and renamed over the
target, which is atomic within one filesystem.
"""

import os
import tempfile
import threading
from typing import Any

__all__ = ["TextfileError", "write_textfile"]

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
    from prometheus_client.exposition import generate_latest

    if not path.endswith(".prom"):
        raise TextfileError(f"textfile {path}: the name must end in .prom "
                            "(node_exporter's textfile collector reads only *.prom files)")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise TextfileError(f"textfile {path}: directory {directory} does not exist")
    try:
        data = generate_latest(registry)
    except Exception as e:  # a collector bug must not leave a file behind or kill the caller
        raise TextfileError(f"textfile {path}: collecting metrics failed: "
                            f"{type(e).__name__}: {e}") from None
    tmp = ""
    with _LOCK:
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
                os.fchmod(fd, 0o644)  # regardless of the umask
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as e:
            try:
                if tmp:
                    os.unlink(tmp)
            except OSError:
                pass
            raise TextfileError(f"textfile {path}: {e.strerror or e}") from None
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    """Make the rename durable; best effort (some filesystems refuse fsync on a dir)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
