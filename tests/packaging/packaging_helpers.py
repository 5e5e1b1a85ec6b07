"""Shared helpers of the packaging tests: where the tree is, and tools that must be there.

Not a conftest.py: test modules import it by a name no other test directory uses.

Tools are skipped only outside CI: under CI=true a missing tool is a failure, because .ci/run
installs them and a silent skip would hide that the packaging is no longer checked.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def require_tool(name: str, package: str) -> str:
    """Path of `name`, or skip (fail under CI) naming the Debian package that has it."""
    path = shutil.which(name)
    if path is None:
        why = "needs %s (Debian package %s)" % (name, package)
        if os.environ.get("CI") == "true":
            pytest.fail(why + "; CI=true: packaging tests must run")
        pytest.skip(why)
    return path
