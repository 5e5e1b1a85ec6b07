"""Helpers of the kernel tests: an independent reading of `ethtool -S` text (the product's
own snapshot parser lives elsewhere; here we only need a witness) and polling."""

import subprocess
import time
from typing import Callable, List, Tuple

import pytest


def parse(text: str) -> List[Tuple[str, int]]:
    lines = text.splitlines()
    assert lines and lines[0].strip() == "NIC statistics:", "unexpected ethtool -S output: %r" % text[:200]
    out = []
    for line in lines[1:]:
        if not line.strip():
            continue
        name, value = line.strip().rsplit(":", 1)
        out.append((name.strip(), int(value)))
    return out


def ethtool_s_text(netns_name: str, ifname: str) -> str:
    proc = subprocess.run(["ip", "netns", "exec", netns_name, "ethtool", "-S", ifname],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True)
    return proc.stdout


def ethtool_s(netns_name: str, ifname: str) -> List[Tuple[str, int]]:
    return parse(ethtool_s_text(netns_name, ifname))


def ethtool(netns_name: str, *args: str) -> str:
    proc = subprocess.run(["ip", "netns", "exec", netns_name, "ethtool", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, "ethtool %s: %s" % (" ".join(args), proc.stderr)
    return proc.stdout


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll until ``predicate()`` holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(0.01)
