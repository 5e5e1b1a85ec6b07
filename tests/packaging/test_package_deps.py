"""The .deb and the .rpm require what setup.cfg requires, under the names and lower bounds of
the distributions they serve (issue 11.4): Debian 10+/Ubuntu 18.04+ for the deb; EL 8 and 9
(python3dist names) and SLES 15 (python3-* names) for the one rpm spec. Fast: reads the
control file, and the spec through rpmspec for each distribution; no build."""

import hashlib
import re
import subprocess
from typing import Dict, List, Tuple

import pytest

from packaging_helpers import REPO_ROOT, require_tool

CONTROL = REPO_ROOT / "packaging" / "debian" / "control"
SPEC = REPO_ROOT / "packaging" / "rpm" / "accelnet.spec"
VENDOR = REPO_ROOT / "packaging" / "vendor" / "dataclasses"
# setup.cfg's distribution name -> (Debian, EL python3dist, SUSE) package names.
NAMES = {
    "prometheus-client": ("python3-prometheus-client", "python3dist(prometheus-client)", "python3-prometheus_client"),
    "pyudev": ("python3-pyudev", "python3dist(pyudev)", "python3-pyudev"),
    "pyyaml": ("python3-yaml", "python3dist(pyyaml)", "python3-PyYAML"),
    "bcrypt": ("python3-bcrypt", "python3dist(bcrypt)", "python3-bcrypt"),
}
# Declared by setup.cfg but not runtime dependencies of the packages: the backport is carried
# (packaging/vendor/dataclasses) for the Python 3.6 targets.
VENDORED = {"dataclasses": "0.8"}
NOT_RUNTIME = {"psutil", "pyroute2"}
DATACLASSES_SHA256 = "4c1b7676ee2a931c57759e68956173c07a629b6721e23ee42898b6552feaa19c"


def _setup_requires() -> Tuple[str, Dict[str, str]]:
    """python_requires' lower bound and {normalised name: lower bound} of install_requires."""
    text = (REPO_ROOT / "setup.cfg").read_text(encoding="utf-8")
    python = re.search(r"^python_requires\s*=\s*>=\s*([\d.]+)", text, re.M).group(1)
    block = re.search(r"^install_requires\s*=\s*\n((?:[ \t]+.*\n)+)", text, re.M).group(1)
    requires = {}
    for line in block.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*(?:>=\s*([\d.]+))?", line)
        requires[match.group(1).lower().replace("_", "-")] = match.group(2) or ""
    return python, requires


def _rpmspec_requires(*defines: str) -> List[str]:
    rpmspec = require_tool("rpmspec", "rpm")
    args = [rpmspec, "-q", "--requires"]
    for define in defines:
        args += ["--define", define]
    result = subprocess.run(args + [str(SPEC)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def test_every_setup_requirement_has_package_names() -> None:
    _, requires = _setup_requires()
    assert set(requires) - set(VENDORED) <= set(NAMES), sorted(set(requires) - set(VENDORED) - set(NAMES))
    assert not NOT_RUNTIME & set(requires), "psutil and pyroute2 are test oracles, not runtime dependencies"


def test_deb_depends_are_setup_cfg_under_debian_names() -> None:
    python, requires = _setup_requires()
    control = CONTROL.read_text(encoding="utf-8")
    depends = re.search(r"^Depends:(.*?)(?=^\S)", control, re.M | re.S).group(1)
    fields = [e.strip() for e in depends.split(",") if e.strip() and not e.strip().startswith("${")]
    entries = {re.match(r"([\w.+-]+)", e).group(1): e for e in fields}
    assert entries["python3"] == "python3 (>= %s)" % python
    for name, bound in requires.items():
        if name in VENDORED:
            continue
        deb = NAMES[name][0]
        assert entries.get(deb) == "%s (>= %s)" % (deb, bound), (name, entries.get(deb))
    for oracle in NOT_RUNTIME:
        assert "python3-%s" % oracle not in depends


@pytest.mark.parametrize("distribution, defines, column", [
    ("EL 8", ["rhel 8"], 1),
    ("EL 9", ["rhel 9"], 1),
    ("SLES 15", ["suse_version 1500", "sle_version 150500"], 2),
])
def test_rpm_requires_for_each_distribution(distribution: str, defines: List[str], column: int) -> None:
    python, requires = _setup_requires()
    lines = _rpmspec_requires(*defines)
    assert "python(abi) >= %s" % python in lines, (distribution, lines)
    for name, bound in requires.items():
        if name in VENDORED:
            continue
        assert "%s >= %s" % (NAMES[name][column], bound) in lines, (distribution, name, lines)
    assert not any(oracle in line for line in lines for oracle in NOT_RUNTIME)


def test_rpm_declares_the_bundled_backport() -> None:
    spec = SPEC.read_text(encoding="utf-8")
    assert "Provides:       bundled(python3dist(dataclasses)) = %s" % VENDORED["dataclasses"] in spec
    assert re.search(r"^License:\s+MIT AND Apache-2\.0$", spec, re.M)


def test_vendored_backport_is_the_released_file() -> None:
    digest = hashlib.sha256((VENDOR / "dataclasses.py").read_bytes()).hexdigest()
    assert digest == DATACLASSES_SHA256
    assert (VENDOR / "LICENSE.txt").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    assert DATACLASSES_SHA256 in (VENDOR / "README.md").read_text(encoding="utf-8")
    assert "Files: packaging/vendor/dataclasses/*" in (REPO_ROOT / "packaging" / "debian" / "copyright").read_text()
