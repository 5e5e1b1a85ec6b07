"""Shared test fixtures: namespaces on the real kernel, real tools, free loopback ports.

Tests that need root or a tool skip only when CI is unset: under CI=true (.ci/run, as root)
a missing privilege or tool is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from typing import Iterator

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


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


@pytest.fixture
def ns() -> Iterator[str]:
    """A fresh, uniquely named network namespace, deleted after the test whatever happens."""
    require(os.geteuid() == 0, "needs root for network namespaces")
    require(shutil.which("ip") is not None, "needs iproute2's ip")
    from accelnet import netns

    with netns.namespace() as name:
        yield name
    assert not netns.exists(name)


@pytest.fixture
def ethtool_bin() -> str:
    return require_tool("ethtool", "ethtool")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
