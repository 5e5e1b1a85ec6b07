"""Helpers shared by test modules (import these; pytest owns the conftest modules).

Tests that need root or a tool skip only when CI is unset: under CI=true (.ci/run, as root)
a missing privilege or tool is a failure, never a silent skip.
"""

import os
import shutil
import socket

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
