"""Helpers shared by test modules (import these; pytest owns the conftest modules).

Tests that need root or a tool skip only when CI is unset: under CI=true (.ci/run, as root)
a missing privilege or tool is a failure, never a silent skip.
"""

import os
import shutil
import socket
from typing import Dict, List, Tuple

import pytest


def require(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI=true: this test must run)")
    pytest.skip(why)


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"needs {name} (Debian package {package})")
    return path  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_unit(text: str) -> List[Tuple[str, str, str]]:
    """A systemd unit as (section, key, value) in order; keys repeat in units, so no dict."""
    entries, section = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep, "not a key=value line: %r" % raw
        entries.append((section, key.strip(), value.strip()))
    return entries


def unit_sections(path: str) -> Dict[str, Dict[str, List[str]]]:
    """A systemd unit file as section -> key -> every value of that key, in order."""
    out = {}  # type: Dict[str, Dict[str, List[str]]]
    with open(path, encoding="utf-8") as handle:
        for section, key, value in parse_unit(handle.read()):
            out.setdefault(section, {}).setdefault(key, []).append(value)
    return out
