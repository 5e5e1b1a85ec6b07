"""Shared fixtures: network namespaces on the real kernel and real tools (testutil.py has
the helpers; under CI=true nothing here skips)."""

import os
import shutil
import sys
from typing import Iterator

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from testutil import require, require_tool  # noqa: E402


@pytest.fixture
def ns() -> Iterator[str]:
    """A fresh, uniquely named network namespace, deleted after the test whatever happens."""
    require(os.geteuid() == 0, "needs root for network namespaces")
    require(shutil.which("ip") is not None, "needs iproute2's ip")
    from accelnet.kernel import netns

    with netns.namespace() as name:
        yield name
    assert not netns.exists(name)


@pytest.fixture
def ethtool_bin() -> str:
    return require_tool("ethtool", "ethtool")
