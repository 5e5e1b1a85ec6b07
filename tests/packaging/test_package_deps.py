"""The .deb and the .rpm require what setup.cfg requires, under the names and lower bounds of
the distributions they serve (issue 11.4): Debian 10+/Ubuntu 18.04+ for the deb; EL 8 and 9
(python3dist names) and SLES 15 (python3-* names) for the one rpm spec. Fast: reads the
control file, and the spec through rpmspec for each distribution; no build."""

import ast
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from packaging_helpers import REPO_ROOT, require_tool

CONTROL = REPO_ROOT / "packaging" / "debian" / "control"
SPEC = REPO_ROOT / "packaging" / "rpm" / "accelnet.spec"
# setup.cfg's distribution name -> (Debian, EL python3dist, SUSE) package names.
NAMES = {
    "pyudev": ("python3-pyudev", "python3dist(pyudev)", "python3-pyudev"),
    "pyyaml": ("python3-yaml", "python3dist(pyyaml)", "python3-PyYAML"),
    "bcrypt": ("python3-bcrypt", "python3dist(bcrypt)", "python3-bcrypt"),
}
NOT_RUNTIME = {"psutil", "pyroute2", "prometheus-client", "prometheus_client"}


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
    assert set(requires) <= set(NAMES), sorted(set(requires) - set(NAMES))
    assert not NOT_RUNTIME & set(requires), "psutil and pyroute2 are test oracles, not runtime dependencies"


def test_deb_depends_are_setup_cfg_under_debian_names() -> None:
    python, requires = _setup_requires()
    control = CONTROL.read_text(encoding="utf-8")
    depends = re.search(r"^Depends:(.*?)(?=^\S)", control, re.M | re.S).group(1)
    fields = [e.strip() for e in depends.split(",") if e.strip() and not e.strip().startswith("${")]
    entries = {re.match(r"([\w.+-]+)", e).group(1): e for e in fields}
    assert entries["python3"] == "python3 (>= %s)" % python
    for name, bound in requires.items():
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
        assert "%s >= %s" % (NAMES[name][column], bound) in lines, (distribution, name, lines)
    assert not any(oracle in line for line in lines for oracle in NOT_RUNTIME)


def _imported_modules(path: Path) -> List[str]:
    """Top-level names of the modules PATH imports, wherever in it (functions included)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return names


def test_the_package_never_imports_dataclasses() -> None:
    """Why the packages carry no dataclasses backport for Python 3.6 (Ubuntu 18.04, EL 8,
    SLES 15): no module of the package imports it (accelnet.records stands in for it)."""
    modules = sorted((REPO_ROOT / "agent" / "accelnet").rglob("*.py"))
    assert len(modules) > 50, modules
    importers = [str(m.relative_to(REPO_ROOT)) for m in modules if "dataclasses" in _imported_modules(m)]
    assert importers == []


def test_nothing_is_bundled() -> None:
    """The packages are accelnet's own MIT code and nothing else: no bundled() Provides, no
    second license in the spec or in debian/copyright, no vendored tree."""
    spec = SPEC.read_text(encoding="utf-8")
    assert "bundled(" not in spec
    assert re.search(r"^License:\s+MIT$", spec, re.M)
    assert (REPO_ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    copyright_text = (REPO_ROOT / "packaging" / "debian" / "copyright").read_text(encoding="utf-8")
    assert re.findall(r"^Files: .*$", copyright_text, re.M) == ["Files: *"]
    assert re.findall(r"^License: .*$", copyright_text, re.M) == ["License: MIT", "License: MIT"]
    assert not (REPO_ROOT / "packaging" / "vendor").exists()
