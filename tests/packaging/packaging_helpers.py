"""Shared helpers of the packaging tests: where the tree is, and tools that must be there.

Not a conftest.py: test modules import it by a name no other test directory uses.

Tools are skipped only outside CI: under CI=true a missing tool is a failure, because .ci/run
installs them and a silent skip would hide that the packaging is no longer checked.
"""

from pathlib import Path

from testutil import require, require_tool  # noqa: F401 - re-exported for the packaging tests

REPO_ROOT = Path(__file__).resolve().parents[2]
