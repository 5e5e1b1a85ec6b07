"""Build the .deb and the .rpm from the tree, install the .deb on this machine, remove it.

Slow and changes the machine (apt-get install/remove): runs only under CI=true or with
ACCELNET_TEST_PACKAGES=1, as root. This is issue 6's "done when": build both packages,
`apt-get install ./packaging/out/accelnet_*.deb`, `accelnet-check --version`,
`systemd-analyze verify` on the installed unit, and a clean remove and purge. Issue 12.9: the
.deb starts the service on install as Debian's prometheus-node-exporter does (its maintainer
scripts are compared, and run where systemd is faked). Issue 11.4: the packages install
accelnet-collect as /usr/bin/accelnet-collect once scripts/accelnet-collect is in the tree, and
their commands run on a bare Python 3.6 (the package needs no dataclasses backport, and the
packages carry none). Both install the textfile timer and its --once
service (accelnet-agent-textfile.*) without enabling or starting them.
"""

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, Iterable, List

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
DEB_DEPENDS = {"python3", "python3-bcrypt", "python3-pyudev", "python3-yaml"}
COLLECT = REPO_ROOT / "scripts" / "accelnet-collect"
TEXTFILE_UNITS = ("accelnet-agent-textfile.service", "accelnet-agent-textfile.timer")
NODE_EXPORTER_SCRIPTS = Path("/var/lib/dpkg/info")
# Wait for dpkg's lock rather than fail when another apt-get runs on the machine.
APT = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]


def _version() -> str:
    text = (REPO_ROOT / "agent" / "accelnet" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match
    return match.group(1)


def _console_scripts() -> Dict[str, str]:
    """command -> module of setup.cfg's console_scripts."""
    text = (REPO_ROOT / "setup.cfg").read_text(encoding="utf-8")
    return dict(re.findall(r"^\s+(accelnet-[a-z]+)\s*=\s*([\w.]+):\w+\s*$", text, re.M))


def _package_files() -> List[str]:
    """Every module and data file of the package, relative to agent/ (accelnet/parsers/lspci.py …):
    the packages must carry all of them, subpackages included, not only accelnet/*.py."""
    top = REPO_ROOT / "agent"
    files = [p for p in (top / "accelnet").rglob("*") if p.suffix in (".py", ".json") and "__pycache__" not in p.parts]
    return sorted(str(p.relative_to(top)) for p in files)


def _assert_no_backport(paths: Iterable[str]) -> None:
    """No dataclasses module, nor the py36 directory and .pth that once put one on sys.path."""
    carried = [p for p in paths if p.endswith(("/dataclasses.py", ".pth")) or "/py36" in p]
    assert carried == []


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
    assert not {d for d in depends if "prometheus" in d}, "the agent writes its own exposition"
    assert "python3 (>= 3.6)" in fields
    # Nothing that Debian 10 or Ubuntu 18.04 cannot give (test_package_deps checks the bounds).
    assert not {"python3-psutil", "python3-pyroute2", "python3-dataclasses"} & depends
    assert not re.search(r"init-system-helpers \(>= 1\.5[4-9]|python3 \(>= 3\.[7-9]|python3 \(>= 3\.1\d", fields), fields
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
    missing = [f for f in _package_files() if "/usr/lib/python3/dist-packages/" + f not in paths]
    assert not missing, missing
    assert not any("__pycache__" in p or "/tests/" in p for p in paths)
    # The unit where every target looks (Debian 10 and Ubuntu 18.04 have no /usr/lib merge).
    assert "/lib/systemd/system/accelnet-agent.service" in paths
    for unit in TEXTFILE_UNITS:
        assert "/lib/systemd/system/" + unit in paths, unit
    assert "/usr/share/man/man1/accelnet-collect.1.gz" in paths
    _assert_no_backport(paths)
    modes = {line.split()[5].lstrip("."): line.split()[0] for line in listing.splitlines()}
    if COLLECT.is_file():
        assert modes.get("/usr/bin/accelnet-collect") == "-rwxr-xr-x"
    else:
        print("scripts/accelnet-collect is not in this tree yet: the .deb has no accelnet-collect")
        assert "/usr/bin/accelnet-collect" not in paths
    conffiles = _run(["dpkg-deb", "-I", str(deb), "conffiles"]).stdout.split()
    assert conffiles == ["/etc/default/accelnet-agent"]


def test_lintian_finds_nothing_but_justified_overrides(deb: Path) -> None:
    """lintian, pedantic and informational tags included: every tag it still finds is an
    override of packaging/debian/accelnet.lintian-overrides, each with its reason above it."""
    result = _run(["lintian", "--pedantic", "-I", "--show-overrides", str(deb)])
    print(result.stdout)
    tags = [line for line in result.stdout.splitlines() if re.match(r"[EWIPX]: ", line)]
    assert tags == [], tags
    overrides = (REPO_ROOT / "packaging" / "debian" / "accelnet.lintian-overrides").read_text().splitlines()
    for number, line in enumerate(overrides):
        if line.startswith("accelnet: "):
            assert number > 0 and overrides[number - 1].startswith("#"), "override without a reason: " + line
            assert "O: " + line in result.stdout, "an override lintian no longer needs: " + line


def test_rpmlint_finds_nothing_but_justified_filters(rpm: Path) -> None:
    rpmlint = require_tool("rpmlint", "rpmlint")
    rc = REPO_ROOT / "packaging" / "rpm" / "accelnet.rpmlintrc"
    srpm = next(OUT.glob("accelnet-*.src.rpm"))
    result = _run([rpmlint, "-r", str(rc), str(rpm), str(srpm)])
    print(result.stdout)
    assert re.search(r"0 errors, 0 warnings", result.stdout), result.stdout
    lines = rc.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.startswith("addFilter("):
            above = next(l for l in reversed(lines[:number]) if not l.startswith("addFilter("))
            assert above.startswith("#"), "filter without a reason above its group: " + line


def _docs_list() -> List[str]:
    """Every file packaging/docs.list installs, relative to the documentation directory."""
    found = []
    for line in (REPO_ROOT / "packaging" / "docs.list").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        src, dest = line.split()
        path = REPO_ROOT / src
        found += [dest + "/" + f.name for f in sorted(path.iterdir()) if f.is_file()] if path.is_dir() else [dest]
    return found


def test_both_packages_ship_what_they_refer_to(deb: Path, rpm: Path) -> None:
    """credentials.conf (named by the configuration file), the JSON Schemas, and the rules,
    dashboard, runbook and fleet configs as examples, at the same place in both."""
    wanted = _docs_list()
    assert {"credentials.conf", "schema/report.schema.json", "examples/prometheus/accelnet-alerts.rules.yml",
            "examples/prometheus/accelnet-fleet.rules.yml", "examples/grafana/accelnet.json", "examples/runbook.md",
            "examples/fleet/prometheus-azure-sd.yml"} <= set(wanted)
    deb_paths = {line.split()[5].lstrip(".") for line in _run(["dpkg-deb", "-c", str(deb)]).stdout.splitlines()}
    rpm_paths = set(_run(["rpm", "-qp", "--list", str(rpm)]).stdout.split())
    for name in wanted:
        if name != "README.md":  # compressed in the .deb (README.md.gz), as Debian policy wants
            assert "/usr/share/doc/accelnet/" + name in deb_paths, name
        assert "/usr/share/doc/accelnet/" + name in rpm_paths, name
    assert "/usr/share/doc/accelnet/credentials.conf" in (REPO_ROOT / "systemd" / "accelnet-agent.default").read_text()


def _control(deb: Path, where: Path) -> Path:
    control = where / "control"
    if not control.is_dir():
        assert _run(["dpkg-deb", "-e", str(deb), str(control)]).returncode == 0
    return control


def _debhelper_blocks(text: str, tool: str) -> List[str]:
    return re.findall(r"# Automatically added by %s/[\d.]+\n(.*?)# End automatically added section" % tool, text, re.S)


def test_deb_starts_on_install_and_stops_on_removal(deb: Path, tmp_path: Path) -> None:
    control = _control(deb, tmp_path)
    postinst = (control / "postinst").read_text()
    prerm = (control / "prerm").read_text()
    postrm = (control / "postrm").read_text()
    assert "deb-systemd-helper enable 'accelnet-agent.service'" in postinst
    # A first install ($2 empty) starts the agent; an upgrade restarts it.
    assert re.search(r'if \[ -n "\$2" \]; then\s+_dh_action=restart\s+else\s+_dh_action=start\s+fi\s+'
                     r"deb-systemd-invoke \$_dh_action 'accelnet-agent\.service'", postinst), postinst
    assert re.search(r'"\$1" = remove .*\n\s+deb-systemd-invoke stop .accelnet-agent\.service.', prerm)
    assert "deb-systemd-helper purge 'accelnet-agent.service'" in postrm
    for script in ("postinst", "prerm", "postrm"):
        assert _run(["sh", "-n", str(control / script)]).returncode == 0, script


@pytest.mark.parametrize("script", ["postinst", "prerm", "postrm"])
def test_deb_service_handling_is_node_exporters(deb: Path, tmp_path: Path, script: str) -> None:
    """The systemd parts of the maintainer scripts are those of Debian's
    prometheus-node-exporter (built by the same debhelper), but for the unit's name."""
    theirs_path = NODE_EXPORTER_SCRIPTS / ("prometheus-node-exporter." + script)
    require(theirs_path.is_file(), "needs prometheus-node-exporter installed (Debian package)")
    theirs = _debhelper_blocks(theirs_path.read_text().replace("prometheus-node-exporter.service", "accelnet-agent.service"),
                               "dh_installsystemd")
    ours = _debhelper_blocks((_control(deb, tmp_path) / script).read_text(), "dh_installsystemd")
    # The textfile units have blocks of their own (not enabled), which node-exporter has no
    # counterpart of, and repeat the blocks that name no unit (daemon-reload): compared
    # without them and without repeats.
    agent = _unique([block for block in ours if "accelnet-agent-textfile" not in block])
    assert agent and agent == _unique(theirs)


def _unique(blocks: List[str]) -> List[str]:
    """BLOCKS in order, each once."""
    seen: List[str] = []
    for block in blocks:
        if block not in seen:
            seen.append(block)
    return seen


def test_deb_never_enables_the_textfile_units(deb: Path, tmp_path: Path) -> None:
    """Installed, not enabled: the postinst enables the timer again only where the package
    had installed it before and the operator had enabled it (debian-installed, was-enabled),
    and starts or restarts the units only through deb-systemd-invoke, which starts no
    disabled or static unit. Removal stops both; purge forgets the timer's enablement."""
    control = _control(deb, tmp_path)
    blocks = [b for b in _debhelper_blocks((control / "postinst").read_text(), "dh_installsystemd")
              if "accelnet-agent-textfile" in b]
    assert blocks
    for block in blocks:
        if "deb-systemd-helper enable 'accelnet-agent-textfile" in block:
            assert "if deb-systemd-helper debian-installed 'accelnet-agent-textfile.timer'; then" in block, block
            assert "if deb-systemd-helper --quiet was-enabled 'accelnet-agent-textfile.timer'; then" in block, block
    textfile_lines = [line.strip() for b in blocks for line in b.splitlines() if "accelnet-agent-textfile" in line]
    assert not [line for line in textfile_lines if re.search(r"\b(start|restart)\b", line)
                and not line.startswith("deb-systemd-invoke ")], textfile_lines
    remove = _run_with_fake_systemd(control, "prerm", ["remove"], tmp_path)
    assert "deb-systemd-invoke stop accelnet-agent-textfile.service accelnet-agent-textfile.timer" in remove, remove
    assert "deb-systemd-helper purge 'accelnet-agent-textfile.timer'" in (control / "postrm").read_text()


def _run_with_fake_systemd(control: Path, script: str, args: List[str], where: Path) -> List[str]:
    """SCRIPT ARGS in a private mount namespace where /run/systemd/system exists and the
    systemd helpers are stand-ins that log their arguments: what the script asks systemd."""
    _require_root()
    unshare = require_tool("unshare", "util-linux")
    fake = where / "fakebin"
    fake.mkdir(exist_ok=True)
    log = where / ("%s-%s.log" % (script, "-".join(args)))
    for tool in ("deb-systemd-helper", "deb-systemd-invoke", "systemctl", "py3compile", "py3clean", "pypy3compile"):
        stub = fake / tool
        stub.write_text('#!/bin/sh\necho "%s $*" >> "%s"\n' % (tool, log))
        stub.chmod(0o755)
    inner = 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec sh "$0" "$@"'
    env = dict(SYSTEM_ENV, PATH="%s:%s" % (fake, SYSTEM_ENV["PATH"]), DPKG_MAINTSCRIPT_PACKAGE="accelnet")
    result = _run([unshare, "--mount", "--propagation", "private", "sh", "-c", inner, str(control / script)] + args,
                  env=env, cwd=str(where))
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_deb_scripts_start_restart_and_stop_the_agent(deb: Path, tmp_path: Path) -> None:
    control = _control(deb, tmp_path)
    install = _run_with_fake_systemd(control, "postinst", ["configure"], tmp_path)
    assert "deb-systemd-helper enable accelnet-agent.service" in install
    assert "deb-systemd-invoke start accelnet-agent.service" in install
    upgrade = _run_with_fake_systemd(control, "postinst", ["configure", "0.0.9"], tmp_path)
    assert "deb-systemd-invoke restart accelnet-agent.service" in upgrade
    assert not any(" start " in line for line in upgrade)
    remove = _run_with_fake_systemd(control, "prerm", ["remove"], tmp_path)
    assert "deb-systemd-invoke stop accelnet-agent.service" in remove
    upgrading = _run_with_fake_systemd(control, "prerm", ["upgrade", "0.1.1"], tmp_path)
    assert not any("stop" in line for line in upgrading)


def _dpkg_status(package: str) -> str:
    result = _run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package], env=SYSTEM_ENV)
    return result.stdout.strip() if result.returncode == 0 else "absent"


@pytest.fixture
def installed(deb: Path):
    """The .deb installed with apt-get; purged afterwards whatever the test did."""
    _require_root()
    require_tool("apt-get", "apt")
    relative = "./" + str(deb.relative_to(REPO_ROOT))
    result = _run(APT + ["install", "-y", relative], cwd=str(REPO_ROOT), env=SYSTEM_ENV)
    try:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        yield deb
    finally:
        _run(APT + ["purge", "-y", "accelnet"], env=SYSTEM_ENV)


def test_install_check_verify_remove_purge(installed: Path) -> None:
    assert _dpkg_status("accelnet") == "ii"
    version = _run(["/usr/bin/accelnet-check", "--version"], env=SYSTEM_ENV)
    assert version.returncode == 3, version.stderr  # UNKNOWN, as a monitoring plugin's -V
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
    timer_wants = Path("/etc/systemd/system/timers.target.wants/accelnet-agent-textfile.timer")
    assert not timer_wants.exists() and not timer_wants.is_symlink(), "the textfile timer is enabled after install"
    for name in TEXTFILE_UNITS:
        textfile_unit = next(p for p in files if p.endswith("/system/" + name))
        verify = _run([analyze, "verify", textfile_unit], env=SYSTEM_ENV, cwd="/")
        assert verify.returncode == 0 and "accelnet-agent" not in verify.stderr, verify.stderr
    default = Path("/etc/default/accelnet-agent")
    assert default.read_text() == (REPO_ROOT / "systemd" / "accelnet-agent.default").read_text()

    remove = _run(APT + ["remove", "-y", "accelnet"], env=SYSTEM_ENV)
    assert remove.returncode == 0, remove.stderr
    assert _dpkg_status("accelnet") == "rc"
    assert not Path("/usr/bin/accelnet-check").exists()
    assert not Path(unit).exists()
    assert default.exists(), "remove (not purge) keeps the configuration"

    purge = _run(APT + ["purge", "-y", "accelnet"], env=SYSTEM_ENV)
    assert purge.returncode == 0, purge.stderr
    assert _dpkg_status("accelnet") in ("absent", "un", "pn")
    assert not default.exists()
    assert not wants.is_symlink() and not wants.exists()


def test_rpm_metadata_and_scriptlets(rpm: Path) -> None:
    assert rpm.name == "accelnet-%s-1.noarch.rpm" % _version()
    requires = set(_run(["rpm", "-qp", "--requires", str(rpm)]).stdout.split("\n"))
    for dist in ("pyudev", "pyyaml", "bcrypt"):
        assert any(r.startswith("python3dist(%s) >= " % dist) for r in requires), dist
    assert "python(abi) >= 3.6" in requires
    assert not {r for r in requires if "psutil" in r or "pyroute2" in r or "dataclasses" in r or "prometheus" in r}
    provides = _run(["rpm", "-qp", "--provides", str(rpm)]).stdout.split("\n")
    assert not [p for p in provides if p.startswith("bundled(")], provides
    assert _run(["rpm", "-qp", "--queryformat", "%{LICENSE}", str(rpm)]).stdout == "MIT"
    files = set(_run(["rpm", "-qp", "--list", str(rpm)]).stdout.split())
    assert "/usr/lib/systemd/system/accelnet-agent.service" in files
    for unit in TEXTFILE_UNITS:
        assert "/usr/lib/systemd/system/" + unit in files, unit
    # Compressed by brp-compress where the build host has it (EL, SUSE), not by Debian's rpmbuild.
    assert {"/usr/share/man/man1/accelnet-collect.1", "/usr/share/man/man1/accelnet-collect.1.gz"} & files
    assert "/etc/sysconfig/accelnet-agent" in files
    assert "/usr/lib/accelnet/accelnet/__init__.py" in files
    missing = [f for f in _package_files() if "/usr/lib/accelnet/" + f not in files]
    assert not missing, missing
    _assert_no_backport(files)
    if COLLECT.is_file():
        assert "/usr/bin/accelnet-collect" in files
    else:
        print("scripts/accelnet-collect is not in this tree yet: the .rpm has no accelnet-collect")
        assert "/usr/bin/accelnet-collect" not in files
    configs = _run(["rpm", "-qp", "--configfiles", str(rpm)]).stdout.split()
    assert configs == ["/etc/sysconfig/accelnet-agent"]
    scripts = _run(["rpm", "-qp", "--scripts", str(rpm)]).stdout
    post = scripts.split("postinstall scriptlet")[1].split("preuninstall scriptlet")[0]
    assert "preset accelnet-agent.service accelnet-agent-textfile.timer" in post and "start" not in post
    assert "disable --now accelnet-agent.service" in scripts
    assert "try-restart accelnet-agent.service" in scripts


def _extract_rpm(rpm: Path, tmp_path: Path) -> Path:
    archive = tmp_path / "payload.tgz"
    with rpm.open("rb") as source, archive.open("wb") as target:
        assert subprocess.run(["rpm2archive", "-"], stdin=source, stdout=target, timeout=120).returncode == 0
    root = tmp_path / "root"
    with tarfile.open(archive) as tar:
        tar.extractall(root)
    return root


def _local_wrapper(root: Path, command: str, where: Path) -> Path:
    """The rpm's wrapper of COMMAND, pointed at the extracted tree instead of /usr/lib/accelnet."""
    text = (root / "usr" / "bin" / command).read_text()
    local = where / command
    lib = root / "usr" / "lib" / "accelnet"
    local.write_text(text.replace('"/usr/lib/accelnet"', repr(str(lib))))
    return local


def test_rpm_commands_run(rpm: Path, tmp_path: Path) -> None:
    """Each wrapper of the rpm starts its command from the private module directory."""
    root = _extract_rpm(rpm, tmp_path)
    scripts = _console_scripts()
    assert scripts
    for command, module in scripts.items():
        text = (root / "usr" / "bin" / command).read_text()
        assert text.startswith("#!/usr/bin/python3 -I\n"), command
        assert "from %s import" % module in text
        assert "version_info" not in text and "py36" not in text, command
        local = _local_wrapper(root, command, tmp_path)
        args = ["--version"] if command == "accelnet-check" else ["--help"]
        result = _run([sys.executable, "-I", str(local), *args], cwd=str(tmp_path))
        assert result.returncode == (3 if command == "accelnet-check" else 0), (command, result.stderr[-2000:])
    for name in ("accelnet-agent.service",) + TEXTFILE_UNITS:
        unit = (root / "usr/lib/systemd/system" / name).read_text()
        assert unit == (REPO_ROOT / "systemd" / name).read_text(), name
    # No preset file: systemd.preset(5) leaves enablement to the distribution's presets.
    assert not (root / "usr/lib/systemd/system-preset").exists()
    sysconfig = (root / "etc/sysconfig/accelnet-agent").read_text()
    assert "\nACCELNET_TEXTFILE_DIR=/var/lib/node_exporter/textfile_collector\n" in sysconfig


def _python36() -> str:
    candidates = [Path.home() / ".pyenv" / "versions" / "3.6.15" / "bin" / "python3.6", Path("/usr/bin/python3.6")]
    found = next((str(p) for p in candidates if p.is_file()), None)
    require(found is not None, "needs a Python 3.6 (pyenv 3.6.15), as tests/run.sh does")
    return found


def _bare_python36() -> str:
    """A Python 3.6 with the standard library only, as python3 is on Ubuntu 18.04, EL 8 and
    SLES 15 before any python3-* package: no dataclasses module to fall back on."""
    python36 = _python36()
    bare = _run([python36, "-I", "-c", "import dataclasses"])
    require(bare.returncode != 0, "this Python 3.6 has dataclasses installed: not a bare one")
    return python36


FIXTURE = REPO_ROOT / "fixtures" / "hosts" / "ubuntu2204-cx5-2nics"


def _assert_diagnosed(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert json.loads(result.stdout)["status"] == "ok"


def test_rpm_check_runs_on_a_bare_python36(rpm: Path, tmp_path: Path) -> None:
    """EL 8 and SLES 15: python3 is 3.6 without dataclasses. The rpm's accelnet-check, with
    nothing but the standard library, diagnoses a fixture host."""
    python36 = _bare_python36()
    root = _extract_rpm(rpm, tmp_path)
    local = _local_wrapper(root, "accelnet-check", tmp_path)
    _assert_diagnosed(_run([python36, "-I", str(local), "--snapshot", str(FIXTURE), "--json"], cwd=str(tmp_path)))


def test_deb_check_runs_on_a_bare_python36(deb: Path, tmp_path: Path) -> None:
    """Ubuntu 18.04: python3 is 3.6 without dataclasses. The deb's /usr/bin/accelnet-check,
    its package directory in place of /usr/lib/python3/dist-packages (where Debian's python3
    looks), diagnoses a fixture host with nothing but the standard library."""
    python36 = _bare_python36()
    root = tmp_path / "root"
    assert _run(["dpkg-deb", "-x", str(deb), str(root)]).returncode == 0
    dist_packages = root / "usr" / "lib" / "python3" / "dist-packages"
    script = root / "usr" / "bin" / "accelnet-check"
    assert script.read_text().startswith("#!/usr/bin/python3")
    launch = "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); del sys.argv[0]; runpy.run_path(sys.argv[0], run_name='__main__')"
    result = _run([python36, "-I", "-c", launch, str(dist_packages), str(script), "--snapshot", str(FIXTURE), "--json"],
                  cwd=str(tmp_path))
    _assert_diagnosed(result)
