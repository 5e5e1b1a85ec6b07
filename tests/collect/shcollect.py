"""Running scripts/accelnet-collect under dash and busybox sh (shared by the collector's tests
and bench/bench_attacks.py; a module name no other test directory uses)."""

import os
import subprocess
import sys
import tarfile
from typing import Dict, List, Optional, Sequence, Tuple

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from agentproc import REPO, env  # noqa: E402
from testutil import require_tool  # noqa: E402

SCRIPT = os.path.join(REPO, "scripts", "accelnet-collect")
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"

#: What the collector needs besides the optional tools (tests that narrow PATH link these).
TOOLS = ("tar", "gzip", "mktemp", "head", "wc", "tr", "sed", "tail", "date", "readlink", "ln", "mv", "rm", "mkdir",
         "rmdir", "chmod", "ls", "id", "sleep", "cat", "timeout")


def shells() -> List[Tuple[str, List[str]]]:
    return [("dash", [require_tool("dash", "dash")]), ("busybox", [require_tool("busybox", "busybox"), "sh"])]


def run_sh(shell: Sequence[str], *args: str, extra_env: Optional[Dict[str, str]] = None,
           netns_name: Optional[str] = None, timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    argv = list(shell) + [SCRIPT] + list(args)
    if netns_name:
        argv = ["ip", "netns", "exec", netns_name] + argv
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env(extra_env), timeout=timeout)


def members(path) -> Tuple[dict, dict]:
    with tarfile.open(str(path)) as tar:
        return {m.name: m for m in tar.getmembers()}, {
            m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def fake_dmi(directory: str, tag: str = AZURE_ASSET_TAG) -> str:
    """A DMI directory whose asset tag says Azure (or ``tag``), for ACCELNET_COLLECT_TEST_DMI_DIR."""
    dmi = os.path.join(directory, "dmi")
    os.mkdir(dmi)
    with open(os.path.join(dmi, "chassis_asset_tag"), "w") as handle:
        handle.write(tag + "\n")
    return dmi


def tool_dir(directory: str, tools: Sequence[str]) -> str:
    """A directory of links to ``tools`` (the collector's own and the optional ones named),
    for a PATH that holds nothing else."""
    bindir = os.path.join(directory, "bin")
    os.mkdir(bindir)
    for name in tuple(TOOLS) + tuple(tools):
        path = subprocess.run(["sh", "-c", "command -v %s" % name], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.strip()
        if path and not os.path.lexists(os.path.join(bindir, name)):
            os.symlink(path, os.path.join(bindir, name))
    return bindir
