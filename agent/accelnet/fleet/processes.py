"""The az processes of a fleet run, so that an interrupted run waits for none of them and
leaves none behind.

A Run Command call lasts minutes. On Ctrl-C or SIGTERM accelnet-fleet ends the calls in
flight itself (stop(): SIGTERM to each az's process group, SIGKILL after a grace) and starts
no more. Each az runs in a session of its own, so that a terminal's Ctrl-C reaches
accelnet-fleet alone: every VM being asked then says it was interrupted, rather than each az
dying on its own and its VM reading as an az failure. The output is decoded as UTF-8 (az
prints JSON with ensure_ascii off, and a VM's output in it), whatever the locale: Python 3.6
under LANG=C would read ASCII and fail on the first byte above 127.
"""

import os
import signal
import subprocess
import threading
from typing import Dict, List, Tuple

#: What a call that was stopped, or never started because the run was, reports as its status.
STOPPED = -int(signal.SIGTERM)
#: Seconds az has to end after SIGTERM before it is killed.
GRACE_S = 2.0


class AzProcesses:
    """AzCli's spawn (``spawn``) that keeps the az processes it runs, and ``stop`` for all."""

    def __init__(self, grace: float = GRACE_S) -> None:
        self.grace = grace
        self._lock = threading.Lock()
        self._running: Dict[int, "subprocess.Popen[bytes]"] = {}
        self._stopped = False

    def spawn(self, path: str, argv: List[str], env: Dict[str, str], timeout: float) -> Tuple[int, str, str]:
        """Run az; (status, stdout, stderr). Raises subprocess.TimeoutExpired (az ended) and
        OSError, as spawn_subprocess does."""
        with self._lock:
            if self._stopped:
                return STOPPED, "", "not started: accelnet-fleet was interrupted\n"
            proc = subprocess.Popen([path, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, start_new_session=True)
            self._running[proc.pid] = proc
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except BaseException:  # the timeout, or Ctrl-C in the thread that waits
            _signal(proc, signal.SIGKILL)
            proc.communicate()
            raise
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)
        return proc.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")

    def stop(self) -> None:
        """End every az still running (SIGTERM now, SIGKILL after the grace) and start none."""
        with self._lock:
            self._stopped = True
            running = list(self._running.values())
        for proc in running:
            _signal(proc, signal.SIGTERM)
        if running:
            timer = threading.Timer(self.grace, self._kill_left)
            timer.daemon = True
            timer.start()

    def _kill_left(self) -> None:
        with self._lock:
            left = list(self._running.values())
        for proc in left:
            _signal(proc, signal.SIGKILL)

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)


def _signal(proc: "subprocess.Popen[bytes]", sig: int) -> None:
    """``sig`` to az's process group (its session: az and anything it started), unless it has
    been reaped already (its pid may be another process's by now)."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except OSError:  # gone meanwhile
        pass
