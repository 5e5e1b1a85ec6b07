"""A temporary directory that goes whatever interrupts the run.

Why: accelnet-check's ``--timeout`` (SIGALRM), SIGTERM and Ctrl-C raise wherever the run is,
so that every ``finally`` runs. But an exception raised between ``mkdtemp`` and its ``try``,
or halfway through the removal in the ``finally``, leaves the directory (a timeout swept over
``--collect`` left ``accelnet-collect-*`` and ``accelnet-snapshot-*`` in TMPDIR). So those
signals are held (blocked, and delivered once let through) while a name is made and while it
is removed; they are let through inside the ``try``, where the ``finally`` is in place.
"""

import os
import signal
import tempfile
from contextlib import contextmanager
from typing import Iterator, Optional

from accelnet.readers.safetar import remove_tree

__all__ = ["held_signals", "temporary_directory", "unlink_held"]

#: The signals that raise in accelnet-check (the --timeout, a stop, Ctrl-C).
_HELD = {signal.SIGALRM, signal.SIGTERM, signal.SIGINT}


@contextmanager
def held_signals() -> Iterator[None]:
    """SIGALRM, SIGTERM and SIGINT wait until the block ends (then arrive as they would have)."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    except (AttributeError, OSError, ValueError):  # no pthread_sigmask here: nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def temporary_directory(prefix: str, dir: Optional[str] = None) -> Iterator[str]:
    """``tempfile.mkdtemp(prefix=prefix, dir=dir)``, removed (links never followed) when the block
    ends, however it ends."""
    path = ""
    try:
        with held_signals():
            path = tempfile.mkdtemp(prefix=prefix, dir=dir)
        yield path
    finally:
        if path:
            with held_signals():
                remove_tree(path)


def unlink_held(path: str) -> None:
    """Remove the file ``path`` if it is there, with the signals held."""
    with held_signals():
        if path and os.path.lexists(path):
            os.unlink(path)
