"""Build the .deb and the .rpm from the tree, install the .deb on this machine, remove it.

Slow and changes the machine (apt-get install/remove): runs only under CI=true or with
ACCELNET_TEST_PACKAGES=1, as root. This is issue 6's "done when": build both packages,
`apt-get install ./packaging/out/accelnet_*.deb`, `accelnet-check --version`,
`systemd-analyze verify` on the installed unit, and a clean remove and purge.
"""

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, List

import pytest

from packaging_helpers import REPO_ROOT, require, require_tool

pytestmark = pytest.mark.skipif(
    os.environ.get("CI") != "true" and os.environ.get("ACCELNET_TEST_PACKAGES") != "1",
    reason="builds and installs packages: set ACCELNET_TEST_PACKAGES=1 (always on under CI=true)",
)

OUT = REPO_ROOT / "packaging" / "out"
# The distribution's own tools and interpreter only: the installed package must work without
# the test's PYTHONPATH, virtualenv or pyenv.
SYSTEM_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
DEB_DEPENDS = {"python3-bcrypt", "python3-prometheus-client",
               "python3-pyudev", "python3-yaml"}


def _version() -> str:
    text = (REPO_ROOT / "agent" / "accelnet" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match
    return match.group(1)


def _console_scripts() -> Dict[str, str]:
    """command -> module of setup.cfg's console_scripts."""
    text = (REPO_ROOT / "setup.cfg").read_text(encoding="utf-8")
    return dict(re.findall(r"^\s+(accelnet-[a-z]+)\s*=\s*([\w.]+):\w+\s*$", text, re.M))


def _run(args: List[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("timeout", 900)
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **kwargs)


def _require_root() -> None:
    require(os.geteuid() == 0, "installing the .deb needs root")


def _build(script: str, pattern: str) -> Path:
    result = _run(["bash", str(REPO_ROOT / "packaging" / script)], cwd=str(REPO_ROOT))
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built = sorted(OUT.glob(pattern))
    assert len(built) == 1, built
    return built[0]


@pytest.fixture(scope="module")
def deb() -> Path:
    for tool, package in (("dpkg-buildpackage", "dpkg-dev"), ("dh", "debhelper"), ("lintian", "lintian")):
        require_tool(tool, package)
    return _build("build-deb.sh", "accelnet_*_all.deb")


@pytest.fixture(scope="module")
def rpm() -> Path:
    require_tool("rpmbuild", "rpm")
    return _build("build-rpm.sh", "accelnet-*.noarch.rpm")


def test_deb_name_and_fields(deb: Path) -> None:
    assert deb.name == "accelnet_%s_all.deb" % _version()
    fields = _run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture", "Depends"]).stdout
    depends = {dep.strip().split()[0] for dep in re.search(r"^Depends: (.*)$", fields, re.M).group(1).split(",")}
    assert DEB_DEPENDS <= depends, sorted(DEB_DEPENDS - depends)
    assert "Architecture: all" in fields


def test_deb_contents(deb: Path) -> None:
    listing = _run(["dpkg-deb", "-c", str(deb)]).stdout
    paths = {line.split()[5].lstrip(".") for line in listing.splitlines()}
    for command in _console_scripts():
        assert "/usr/bin/" + command in paths, command
    assert "/etc/default/accelnet-agent" in paths
    assert {"/lib/systemd/system/accelnet-agent.service", "/usr/lib/systemd/system/accelnet-agent.service"} & paths
    assert any(p.endswith("/dist-packages/accelnet/__init__.py") for p in paths)
    assert any(re.search(r"/dist-packages/accelnet/rules/[^/]+\.json$", p) for p in paths), "package data missing"
    assert not any("__pycache__" in p or "/tests/" in p for p in paths)
    conffiles = _run(["dpkg-deb", "-I", str(deb), "conffiles"]).stdout.split()
    assert conffiles == ["/etc/default/accelnet-agent"]


def test_lintian_finds_no_errors(deb: Path) -> None:
    result = _run(["lintian", str(deb)])
    print(result.stdout)
    errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
    assert errors == [], errors


def test_deb_enables_but_does_not_start_and_stops_on_removal(deb: Path, tmp_path: Path) -> None:
    control = tmp_path / "control"
    assert _run(["dpkg-deb", "-e", str(deb), str(control)]).returncode == 0
    postinst = (control / "postinst").read_text()
    prerm = (control / "prerm").read_text()
    postrm = (control / "postrm").read_text()
    assert "deb-systemd-helper enable 'accelnet-agent.service'" in postinst
    # Only upgrades ($2 = old version) touch a running agent, and only with try-restart.
    assert re.search(r'if \[ -n "\$2" \]; then\s+deb-systemd-invoke try-restart .accelnet-agent\.service.', postinst)
    assert not re.search(r"deb-systemd-invoke (start|restart) ", postinst)
    assert re.search(r'"\$1" = remove .*\n\s+deb-systemd-invoke stop .accelnet-agent\.service.', prerm)
    assert "deb-systemd-helper purge 'accelnet-agent.service'" in postrm
    for script in ("postinst", "prerm", "postrm"):
        assert _run(["sh", "-n", str(control / script)]).returncode == 0, script


def _dpkg_status(package: str) -> str:
    result = _run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package], env=SYSTEM_ENV)
    return result.stdout.strip() if result.returncode == 0 else "absent"


@pytest.fixture
def installed(deb: Path):
    """The .deb installed with apt-get; purged afterwards whatever the test did."""
    _require_root()
    require_tool("apt-get", "apt")
    relative = "./" + str(deb.relative_to(REPO_ROOT))
    result = _run(["apt-get", "install", "-y", relative], cwd=str(REPO_ROOT), env=SYSTEM_ENV)
    try:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        yield deb
    finally:
        _run(["apt-get", "purge", "-y", "accelnet"], env=SYSTEM_ENV)


def test_install_check_verify_remove_purge(installed: Path) -> None:
    assert _dpkg_status("accelnet") == "ii"
    version = _run(["/usr/bin/accelnet-check", "--version"], env=SYSTEM_ENV)
    assert version.returncode == 0, version.stderr
    assert _version() in version.stdout + version.stderr
    where = _run(["/usr/bin/python3", "-c", "import accelnet; print(accelnet.__file__)"], env=SYSTEM_ENV, cwd="/")
    assert where.stdout.startswith("/usr/lib/python3/dist-packages/accelnet/"), where.stdout + where.stderr

    files = _run(["dpkg", "-L", "accelnet"], env=SYSTEM_ENV).stdout.split()
    unit = next(p for p in files if p.endswith("/system/accelnet-agent.service"))
    analyze = require_tool("systemd-analyze", "systemd")
    verify = _run([analyze, "verify", unit], env=SYSTEM_ENV, cwd="/")
    assert verify.returncode == 0 and "accelnet-agent" not in verify.stderr, verify.stderr
    security = _run([analyze, "security", "--offline=true", "--no-pager", unit], env=SYSTEM_ENV, cwd="/")
    exposure = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout).group(1))
    print("installed unit %s: exposure %.1f" % (unit, exposure))
    assert exposure <= 2.0
    wants = Path("/etc/systemd/system/multi-user.target.wants/accelnet-agent.service")
    assert wants.is_symlink(), "the unit is not enabled after install"
    default = Path("/etc/default/accelnet-agent")
    assert default.read_text() == (REPO_ROOT / "systemd" / "accelnet-agent.default").read_text()

    remove = _run(["apt-get", "remove", "-y", "accelnet"], env=SYSTEM_ENV)
    assert remove.returncode == 0, remove.stderr
    assert _dpkg_status("accelnet") == "rc"
    assert not Path("/usr/bin/accelnet-check").exists()
    assert not Path(unit).exists()
    assert default.exists(), "remove (not purge) keeps the configuration"

    purge = _run(["apt-get", "purge", "-y", "accelnet"], env=SYSTEM_ENV)
    assert purge.returncode == 0, purge.stderr
    assert _dpkg_status("accelnet") in ("absent", "un", "pn")
    assert not default.exists()
    assert not wants.is_symlink() and not wants.exists()


def test_rpm_metadata_and_scriptlets(rpm: Path) -> None:
    assert rpm.name == "accelnet-%s-1.noarch.rpm" % _version()
    requires = set(_run(["rpm", "-qp", "--requires", str(rpm)]).stdout.split("\n"))
    for dist in ("prometheus-client", "pyudev", "pyyaml", "bcrypt"):
        assert "python3dist(%s)" % dist in requires, dist
    assert "python(abi) >= 3.9" in requires
    files = set(_run(["rpm", "-qp", "--list", str(rpm)]).stdout.split())
    assert "/usr/lib/systemd/system/accelnet-agent.service" in files
    assert "/etc/sysconfig/accelnet-agent" in files
    assert "/usr/lib/accelnet/accelnet/__init__.py" in files
    configs = _run(["rpm", "-qp", "--configfiles", str(rpm)]).stdout.split()
    assert configs == ["/etc/sysconfig/accelnet-agent"]
    scripts = _run(["rpm", "-qp", "--scripts", str(rpm)]).stdout
    post = scripts.split("postinstall scriptlet")[1].split("preuninstall scriptlet")[0]
    assert "preset accelnet-agent.service" in post and "start" not in post
    assert "disable --now accelnet-agent.service" in scripts
    assert "try-restart accelnet-agent.service" in scripts


def test_rpm_commands_run(rpm: Path, tmp_path: Path) -> None:
    """Each wrapper of the rpm starts its command from the private module directory."""
    archive = tmp_path / "payload.tgz"
    with rpm.open("rb") as source, archive.open("wb") as target:
        assert subprocess.run(["rpm2archive", "-"], stdin=source, stdout=target, timeout=120).returncode == 0
    root = tmp_path / "root"
    with tarfile.open(archive) as tar:
        tar.extractall(root)
    scripts = _console_scripts()
    assert scripts
    for command, module in scripts.items():
        wrapper = root / "usr" / "bin" / command
        text = wrapper.read_text()
        assert text.startswith("#!/usr/bin/python3 -I\n"), command
        assert "from %s import" % module in text
        local = tmp_path / command
        local.write_text(text.replace('"/usr/lib/accelnet"', repr(str(root / "usr" / "lib" / "accelnet"))))
        args = ["--version"] if command == "accelnet-check" else ["--help"]
        result = _run([sys.executable, "-I", str(local), *args], cwd=str(tmp_path))
        assert result.returncode == 0, (command, result.stderr[-2000:])
    unit = (root / "usr/lib/systemd/system/accelnet-agent.service").read_text()
    assert unit == (REPO_ROOT / "systemd" / "accelnet-agent.service").read_text()
