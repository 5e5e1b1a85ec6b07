"""Run the real ``accelnet-agent`` as a child process, as systemd or a user would."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(extra: Optional[dict] = None) -> dict:
    result = dict(os.environ)
    result["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(REPO, "agent"), result.get("PYTHONPATH")]))
    result.update(extra or {})
    return result


def command(*args: str) -> List[str]:
    return [sys.executable, "-m", "accelnet.cli.agent", *args]


def get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode()


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"agent exited with {proc.returncode}: {out}")
        try:
            get(url, timeout=1.0)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise AssertionError(f"agent not serving {url} after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
