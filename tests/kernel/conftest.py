"""Fixtures for tests on the real kernel: each test gets its own network namespace.

These tests need root (namespaces, links). They skip only when not root *and* CI is unset:
under CI=true a missing privilege or tool is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
from typing import Iterator

import pytest

from accelnet import netns


def _require(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("%s (CI=true: kernel tests must run)" % why)
    pytest.skip(why)


@pytest.fixture
def ns() -> Iterator[str]:
    """A fresh, uniquely named namespace, deleted after the test whatever happens."""
    _require(os.geteuid() == 0, "needs root for network namespaces")
    _require(shutil.which("ip") is not None, "needs iproute2's ip")
    with netns.namespace() as name:
        yield name
    assert not netns.exists(name)


@pytest.fixture
def ethtool_bin() -> str:
    path = shutil.which("ethtool")
    _require(path is not None, "needs the ethtool command (Debian package ethtool)")
    return path
