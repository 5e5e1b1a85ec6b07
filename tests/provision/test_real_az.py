"""Every argv accelnet-provision plans or runs parses in the real Azure CLI (issue 20, item 7).

The argvs are not a list written here: they are every call the real planners made, and
every step they printed as planned, in every scenario of the stand-in az tests of this
directory (every mode, --subscription as id and name, odd legal names, failures and
resumes). This test runs last (conftest.py orders it) and reads what those tests recorded;
run on its own, it runs them first in a subprocess. Each distinct argv (journal times and
proofs do not make an argv distinct) then goes to PyPI's azure-cli, pinned, installed once
into a cached venv, logged out: it must end at the login error, with no deprecation.
Nothing reaches Azure (see real_az.py): a loopback proxy counts every request az tries.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

import real_az
from provision_fakes import CORPUS, TIME_RE

HERE = Path(__file__).resolve().parent
# Argvs az must refuse (an unknown option, a bad value, a missing required option): the
# check would pass nothing if it could not tell.
PROBES = [("vm", "show", "--resource-group", "rg", "--name", "vm", "--bogus", "x"),
          ("vm", "show", "--resource-group", "rg", "--name", "vm", "--output", "jsn"),
          ("vm", "show", "--resource-group", "rg")]
# Floor of distinct argvs (issue 20: 105 parsed when it was filed); the corpus only grows.
MIN_DISTINCT = 105


def _recorded_here(request: pytest.FixtureRequest) -> bool:
    """Did every stand-in test of this session run before this one (so CORPUS is whole)?"""
    needed = [item.nodeid for item in request.session.items
              if "fake_az" in getattr(item, "fixturenames", ()) and item is not request.node]
    return bool(needed) and all(nodeid in CORPUS for nodeid in needed)


def _record_in_a_subprocess(tmp_path: Path) -> Dict[str, List[List[str]]]:
    corpus = tmp_path / "corpus.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE),
         "--ignore", str(Path(__file__).resolve()),
         "--ignore", str(HERE / "test_provision_hostile.py")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
        env=dict(os.environ, ACCELNET_ARGV_CORPUS=str(corpus)), cwd=str(HERE.parents[1]),
        timeout=1800)
    assert proc.returncode == 0, "the stand-in az tests failed:\n" + proc.stdout[-4000:]
    found: Dict[str, List[List[str]]] = {}
    for line in corpus.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        found.setdefault(item["test"], []).append(item["argv"])
    return found


def _normal(argv: List[str]) -> str:
    return TIME_RE.sub("TIME", json.dumps(argv))


def test_every_planned_argv_parses_in_the_real_azure_cli(request, tmp_path):
    install = real_az.installed_or_skip()
    corpus = dict(CORPUS) if _recorded_here(request) else _record_in_a_subprocess(tmp_path)
    argvs = real_az.distinct((argv for test in sorted(corpus) for argv in corpus[test]),
                             _normal)
    commands = sorted({real_az.command_words(argv) for argv in argvs})
    assert len(argvs) >= MIN_DISTINCT, (len(argvs), commands)

    # one argv of each command, and argvs az must refuse, also one process each, as a user
    # runs them: the one-process driver must give the very same verdicts
    sample = real_az.distinct(iter(argvs), real_az.command_words) + PROBES
    proxy, aliases = real_az.CountingProxy(), real_az.AliasServer(install.az)
    try:
        verdicts = real_az.run_batched(install.az, list(argvs) + PROBES, tmp_path / "az",
                                       proxy, aliases.url)
        each = real_az.run_each(install.az, sample, tmp_path / "az", proxy, aliases.url)
    finally:
        proxy.close()
        aliases.close()
    by_argv = {v.argv: v for v in verdicts}
    assert [(v.argv, v.accepted, v.reason) for v in each] == \
        [(v.argv, by_argv[v.argv].accepted, by_argv[v.argv].reason) for v in each]
    assert [by_argv[tuple(p)].accepted for p in PROBES] == [False] * len(PROBES)
    rejected = [by_argv[tuple(a)] for a in argvs if not by_argv[tuple(a)].accepted]
    assert rejected == [], "\n\n".join(
        f"az {' '.join(v.argv)}\n  -> {v.reason}\n  stderr: {v.stderr.strip()}"
        for v in rejected)
    assert proxy.attempts == [], "az tried to reach the network"
    print(f"\nreal az {real_az.VERSION}: {len(argvs)} distinct argvs accepted "
          f"({len(commands)} commands: {', '.join(commands)}) from {len(corpus)} tests")


@pytest.mark.parametrize("returncode, stderr, accepted, reason", [
    (1, "ERROR: Please run 'az login' to setup account.\n", True, ""),
    (1, "WARNING: Subscription 'x' not recognized.\nERROR: Please run 'az login' to setup "
        "account.\n", True, ""),
    (2, "ERROR: unrecognized arguments: --bogus x\n\nhttps://aka.ms/cli_ref\n", False,
     "exit 2 (a wrong argument): ERROR: unrecognized arguments: --bogus x"),
    (2, "ERROR: az vm show: 'jsn' is not a valid value for '--output'.\n", False,
     "exit 2 (a wrong argument): ERROR: az vm show: 'jsn' is not a valid value for '--output'."),
    (1, "ERROR: (--name | --ids) are required\n", False,
     "a required option is missing: ERROR: (--name | --ids) are required"),
    (1, "WARNING: This command has been deprecated and will be removed in a future release.\n"
        "ERROR: Please run 'az login' to setup account.\n", False, "deprecation: WARNING: "
        "This command has been deprecated and will be removed in a future release."),
    (1, "WARNING: Argument '--x' has been deprecated.\nERROR: Please run 'az login' to setup "
        "account.\n", False, "deprecation: WARNING: Argument '--x' has been deprecated."),
    (1, "WARNING: something new\nERROR: Please run 'az login' to setup account.\n", False,
     "unexpected warning: WARNING: something new"),
    (0, "", False, "exit 0, not the login error: "),
])
def test_classification_by_text(returncode, stderr, accepted, reason):
    verdict = real_az.classify(["vm", "show"], returncode, stderr)
    assert (verdict.accepted, verdict.reason) == (accepted, reason)


@pytest.mark.parametrize("zones, accepted", [([], True), (["--zone", "1"], False)])
def test_the_public_ip_warning_is_expected_only_without_zones(zones, accepted):
    stderr = real_az.IP_WITHOUT_ZONES + ": ...\nERROR: Please run 'az login' to setup account.\n"
    argv = ["network", "public-ip", "create", "--name", "ip", "--sku", "Standard", *zones]
    assert real_az.classify(argv, 1, stderr).accepted is accepted
    assert not real_az.classify(["vm", "show"], 1, stderr).accepted
