"""A small reading of `ethtool -S` text, local to the kernel tests (the product's own
snapshot parser lives elsewhere; here we only need an independent witness)."""

from __future__ import annotations

import subprocess
from typing import List, Tuple


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


def ethtool_s(netns_name: str, ifname: str) -> List[Tuple[str, int]]:
    proc = subprocess.run(["ip", "netns", "exec", netns_name, "ethtool", "-S", ifname],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    return parse(proc.stdout)


def ethtool(netns_name: str, *args: str) -> str:
    proc = subprocess.run(["ip", "netns", "exec", netns_name, "ethtool", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, "ethtool %s: %s" % (" ".join(args), proc.stderr)
    return proc.stdout
