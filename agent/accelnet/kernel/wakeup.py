"""A self-pipe, so that ``stop()`` can interrupt a monitor thread blocked in ``select()``.

Both event monitors wait on a kernel socket with no timeout (an idle VM must not wake up
for nothing); the thread also selects on this pipe's ``fd`` and returns when it is readable.
"""

import os


class WakePipe:
    def __init__(self) -> None:
        self._read, self._write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)

    @property
    def fd(self) -> int:
        return self._read

    def wake(self) -> None:
        if self._write >= 0:
            try:
                os.write(self._write, b"x")
            except OSError:
                pass  # already full: the thread is woken anyway

    def close(self) -> None:
        for fd in (self._read, self._write):
            if fd >= 0:
                os.close(fd)
        self._read = self._write = -1
