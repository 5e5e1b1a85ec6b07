"""A temporary directory that goes whatever interrupts the run.

Why: accelnet-check's ``--timeout`` (SIGALRM), SIGTERM and Ctrl-C raise wherever the run is,
so that every ``finally`` runs. But an exception raised between ``mkdtemp`` and its ``try``,
or halfway through the removal in the ``finally``, leaves the directory (a timeout swept over
``--collect`` left ``accelnet-collect-*`` and ``accelnet-snapshot-*`` in TMPDIR). So those
signals are held while a name is made and while it is removed, and delivered right after;
they are let through inside the ``try``, where the ``finally`` is in place.

Holding is done by the handlers, not the signal mask: a signal sent to the process goes to
any thread that does not block it, and Python runs the handler in the main thread wherever
that one is, so blocking it in the main thread alone held nothing once another thread ran.
"""

import os
import signal
import threading
from contextlib import contextmanager
from typing import Iterator, List, Optional

from accelnet.readers.safetar import remove_tree

__all__ = ["held_signals", "temporary_directory", "unlink_held"]

#: The signals that raise in accelnet-check (the --timeout, a stop, Ctrl-C).
_HELD = (signal.SIGALRM, signal.SIGTERM, signal.SIGINT)


@contextmanager
def held_signals() -> Iterator[None]:
    """SIGALRM, SIGTERM and SIGINT wait until the block ends, then arrive as they would have
    (to the handler in place before, a default action included)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python runs signal handlers in the main thread only: nothing raises here
        return
    received: List[int] = []
    previous = {}
    try:
        for sig in _HELD:
            handler = signal.getsignal(sig)
            if handler is not None:  # None: a handler not set from Python, left alone
                signal.signal(sig, lambda signum, frame: received.append(signum))
                previous[sig] = handler
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(received):  # each once, in the order they came
            os.kill(os.getpid(), signum)


@contextmanager
def temporary_directory(prefix: str, dir: Optional[str] = None) -> Iterator[str]:
    """``tempfile.mkdtemp(prefix=prefix, dir=dir)``, removed (links never followed) when the block
    ends, however it ends."""
    import tempfile  # here: a snapshot directory's check (the common one) needs none

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
