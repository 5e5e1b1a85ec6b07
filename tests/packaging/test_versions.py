"""One version everywhere: the Python package, the Debian changelog and the rpm spec."""

import re

from packaging_helpers import REPO_ROOT


def _package_version() -> str:
    text = (REPO_ROOT / "agent" / "accelnet" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def test_debian_changelog_is_at_the_package_version() -> None:
    first = (REPO_ROOT / "packaging" / "debian" / "changelog").read_text(encoding="utf-8").splitlines()[0]
    match = re.match(r"accelnet \(([^)]+)\) \w+; urgency=\w+$", first)
    assert match, first
    assert match.group(1).split("-")[0] == _package_version()


def test_rpm_spec_is_at_the_package_version() -> None:
    spec = (REPO_ROOT / "packaging" / "rpm" / "accelnet.spec").read_text(encoding="utf-8")
    assert re.search(r"^Version:\s+(\S+)$", spec, re.M).group(1) == _package_version()
    changelog = spec.split("%changelog", 1)[1]
    assert re.search(r"^\* .* - %s-1$" % re.escape(_package_version()), changelog, re.M)
