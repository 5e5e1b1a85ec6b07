"""Distribution and kernel rules (rules/distributions.json) on real os-release files and real
``uname -r`` strings: one verdict each, boundaries exactly at each minimum, and the kernel
lines (el8/el9, SUSE, UEK) that backport drivers judged in their own numbering."""

import json
from pathlib import Path

import pytest

from accelnet.diagnosis import distros
from accelnet.parsers.kernelrelease import parse_kernel_release
from accelnet.parsers.osrelease import parse_os_release

OS_RELEASE = Path(__file__).resolve().parents[1] / "parsers" / "data" / "os-release"

# Real /etc/os-release files of distributions the parser data does not hold.
ROCKY_93 = """NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.3"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.3"
"""
ALMA_93 = """NAME="AlmaLinux"
VERSION="9.3 (Shamrock Pampas Cat)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.3 (Shamrock Pampas Cat)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:9::baseos"
HOME_URL="https://almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"
REDHAT_SUPPORT_PRODUCT="AlmaLinux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.3"
"""
RHEL_92 = """NAME="Red Hat Enterprise Linux"
VERSION="9.2 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.2"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.2 (Plow)"
"""
RHEL_86 = """NAME="Red Hat Enterprise Linux"
VERSION="8.6 (Ootpa)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="8.6"
PRETTY_NAME="Red Hat Enterprise Linux 8.6 (Ootpa)"
"""
RHEL_73 = """NAME="Red Hat Enterprise Linux Server"
VERSION="7.3 (Maipo)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="7.3"
PRETTY_NAME="Red Hat Enterprise Linux Server 7.3 (Maipo)"
"""
ORACLE_90 = """NAME="Oracle Linux Server"
VERSION="9.0"
ID="ol"
ID_LIKE="fedora"
VARIANT="Server"
VARIANT_ID="server"
VERSION_ID="9.0"
PRETTY_NAME="Oracle Linux Server 9.0"
"""
UBUNTU_1804 = """NAME="Ubuntu"
VERSION="18.04.6 LTS (Bionic Beaver)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 18.04.6 LTS"
VERSION_ID="18.04"
VERSION_CODENAME=bionic
UBUNTU_CODENAME=bionic
"""
DEBIAN_11 = """PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
NAME="Debian GNU/Linux"
VERSION_ID="11"
VERSION="11 (bullseye)"
VERSION_CODENAME=bullseye
ID=debian
"""
DEBIAN_8 = """PRETTY_NAME="Debian GNU/Linux 8 (jessie)"
NAME="Debian GNU/Linux"
VERSION_ID="8"
VERSION="8 (jessie)"
ID=debian
"""
# A RHEL derivative no rule names: its ID_LIKE says where it comes from.
VIRTUOZZO_8 = """NAME="Virtuozzo Linux"
VERSION="8.8"
ID="virtuozzo"
ID_LIKE="rhel fedora"
VERSION_ID="8.8"
PRETTY_NAME="Virtuozzo Linux 8.8"
"""
NO_RULE = """NAME="Gentoo"
ID=gentoo
PRETTY_NAME="Gentoo Linux"
"""


def osr(name_or_text):
    if "\n" in name_or_text:
        return parse_os_release(name_or_text)
    return parse_os_release((OS_RELEASE / name_or_text).read_text())


# ---- distributions ---------------------------------------------------------------------


@pytest.mark.parametrize("os_release, status, rule", [
    ("ubuntu-16.04", "ok", "ubuntu"),
    ("rhel-7.4", "ok", "rhel"),           # exactly the first documented release
    (RHEL_73, "critical", "rhel"),        # one point release before it
    ("centos-7", "ok", "centos"),
    ("oracle-7.9", "ok", "ol"),
    ("sles-12-sp3", "ok", "sles"),
    ("debian-12", "ok", "debian"),
    (DEBIAN_8, "critical", "debian"),
    ("mariner-2.0", "ok", "mariner"),     # no 'since': any release
    ("azurelinux-3.0", "ok", "azurelinux"),
    (ROCKY_93, "ok", "rocky"),
    (ALMA_93, "ok", "almalinux"),
    (VIRTUOZZO_8, "warning", "rhel"),     # derived via ID_LIKE, not documented itself
    ("opensuse-leap-15.5", "warning", None),
    (NO_RULE, "warning", None),
])
def test_distribution_verdicts(os_release, status, rule):
    verdict = distros.evaluate_distribution(osr(os_release))
    assert verdict.status == status, verdict.summary
    assert verdict.evidence.get("rule") == rule
    if rule:
        assert verdict.evidence["source"], "every rule names its source"
    if status in ("warning", "critical") and rule != "rhel":
        assert verdict.remedy


def test_older_release_names_the_first_documented_one():
    verdict = distros.evaluate_distribution(osr(RHEL_73))
    assert verdict.summary == ("Red Hat Enterprise Linux Server 7.3 (Maipo) is older than Red Hat Enterprise "
                               "Linux 7.4, the first release documented for Accelerated Networking")
    assert verdict.remedy == "Move to Red Hat Enterprise Linux 7.4 or later"


def test_derived_distribution_says_what_it_derives_from():
    verdict = distros.evaluate_distribution(osr(VIRTUOZZO_8))
    assert verdict.summary == ("Virtuozzo Linux 8.8 is derived from Red Hat Enterprise Linux but is not "
                               "itself documented for Accelerated Networking")
    assert verdict.evidence["id_like"] == ["rhel", "fedora"]


def test_rebuilds_are_judged_as_what_they_rebuild():
    verdict = distros.evaluate_distribution(osr(ROCKY_93))
    assert verdict.summary == ("Rocky Linux 9.3 (Blue Onyx) rebuilds Red Hat Enterprise Linux from its "
                               "sources and supports Accelerated Networking as it does")
    assert "rebuild" in verdict.evidence["source"]


def test_unknown_distribution_has_a_reason():
    assert distros.evaluate_distribution(None, "os-release unreadable").summary == \
        "distribution unknown: os-release unreadable"
    assert distros.evaluate_distribution(None).summary == "distribution unknown: no os-release"


def test_name_falls_back_to_name_and_version_then_id():
    class Os:
        id, id_like, version_id, pretty_name, name = "gentoo", (), "2.15", None, "Gentoo"
    assert distros._os_name(Os()) == "Gentoo 2.15"
    Os.name = Os.version_id = None
    assert distros._os_name(Os()) == "gentoo"
    Os.id = None
    assert distros._os_name(Os()) == "unknown distribution"


def test_version_tuple_stops_at_the_first_part_without_digits():
    assert distros._version_tuple("12.3.1") == (12, 3, 1)
    assert distros._version_tuple("15.x.1") == (15,)
    assert distros._version_tuple("15-SP5") == (155,)  # digits of one part are read together
    assert distros._version_tuple(None) == ()


# ---- kernel minimums per distribution ---------------------------------------------------


@pytest.mark.parametrize("os_release, kernel, status", [
    # Ubuntu: the linux-azure ABI at the minimum, one below, and a generic 4.4.
    ("ubuntu-16.04", "4.11.0-1013-azure", "ok"),
    ("ubuntu-16.04", "4.11.0-1012-azure", "critical"),
    ("ubuntu-16.04", "4.4.0-116-generic", "critical"),
    # RHEL: 3.10.0-693 is the minimum itself; 3.10.0-514 (7.3) is below.
    ("rhel-7.4", "3.10.0-693.el7.x86_64", "ok"),
    ("rhel-7.4", "3.10.0-514.el7.x86_64", "critical"),
    ("rhel-8.9", "4.18.0-513.5.1.el8_9.x86_64", "ok"),
    # SLES 12 SP3: 4.4.92-6.18 exactly, and 6.17 below it.
    ("sles-12-sp3", "4.4.92-6.18-default", "ok"),
    ("sles-12-sp3", "4.4.92-6.17-default", "critical"),
    # Oracle Linux: RHCK against RHEL's minimum, UEK against UEK R5's own.
    ("oracle-7.9", "3.10.0-1160.el7.x86_64", "ok"),
    ("oracle-7.9", "4.14.35-1818.3.3.el7uek.x86_64", "ok"),
    ("oracle-7.9", "4.1.12-124.48.6.el7uek.x86_64", "critical"),   # UEK R4
    ("oracle-7.9", "5.4.17-2136.307.3.1.el7uek.x86_64", "ok"),
    # Debian cloud kernels by their mainline number; 4.14 exactly is enough.
    ("debian-12", "6.1.0-18-cloud-amd64", "ok"),
    (DEBIAN_11, "5.10.0-28-cloud-amd64", "ok"),
    ("debian-12", "4.14.0-1-cloud-amd64", "ok"),
    ("debian-12", "4.9.0-19-cloud-amd64", "critical"),
    # Azure Linux 2 and 3: mainline numbers.
    ("mariner-2.0", "5.15.153.1-2.cm2", "ok"),
    ("azurelinux-3.0", "6.6.47.1-1.azl3", "ok"),
    (ROCKY_93, "5.14.0-362.8.1.el9_3.x86_64", "ok"),
    (ALMA_93, "5.14.0-362.8.1.el9_3.x86_64", "ok"),
])
def test_kernel_minimums(os_release, kernel, status):
    verdict = distros.evaluate_kernel(osr(os_release), kernel, None, ["mlx5"])
    assert verdict.status == status, verdict.summary
    assert verdict.evidence["source"]
    if status == "critical":
        assert verdict.remedy.startswith("Upgrade the kernel: ")


def test_uek_is_its_own_line_with_its_own_source():
    verdict = distros.evaluate_kernel(osr("oracle-7.9"), "4.1.12-124.48.6.el7uek.x86_64", None, ["mlx4"])
    assert verdict.evidence["minimum"] == "4.14.35"
    assert "UEK version 5" in verdict.evidence["source"]
    assert verdict.summary.startswith("kernel 4.1.12-124.48.6.el7uek.x86_64 is older than 4.14.35, "
                                      "the minimum for Oracle Linux (")
    rhck = distros.evaluate_kernel(osr("oracle-7.9"), "3.10.0-1160.el7.x86_64", None, ["mlx4"])
    assert rhck.evidence["minimum"] == "3.10.0-693" and "UEK" not in rhck.evidence["source"]


def test_without_a_documented_distribution_an_el7_kernel_is_judged_as_el7():
    # 3.10 is far below mainline 4.14, but el7 kernels from 3.10.0-693 pair the VF.
    verdict = distros.evaluate_kernel(osr(NO_RULE), "3.10.0-1160.108.1.el7.x86_64", None, ["mlx4"])
    assert verdict.status == "ok", verdict.summary
    assert verdict.evidence["compared_as"] == "rpm" and verdict.evidence["minimum"] == "3.10.0-693"
    assert "RHEL 7.4" in verdict.evidence["source"]
    assert distros.evaluate_kernel(osr(NO_RULE), "3.10.0-514.el7.x86_64", None, ["mlx4"]).status == "critical"


def test_without_any_rule_mainline_decides():
    ok = distros.evaluate_kernel(None, "4.14.0", None, [])
    assert ok.status == "ok" and ok.evidence["compared_as"] == "mainline"
    bad = distros.evaluate_kernel(None, "4.13.16", None, [])
    assert bad.summary == "kernel 4.13.16 is older than 4.14, whose hv_netvsc pairs the VF"
    assert bad.remedy == "Upgrade the kernel: install your distribution's current kernel and reboot"


def test_image_minimum_applies_to_rhel_images():
    old = distros.evaluate_kernel(osr("rhel-7.4"), "3.10.0-693.el7.x86_64", "7.4.2017110100", ["mlx4"])
    assert old.status == "critical" and "image version 7.4.2017110100 is older than 7.4.2017120423" in old.summary
    exact = distros.evaluate_kernel(osr("rhel-7.4"), "3.10.0-693.el7.x86_64", "7.4.2017120423", ["mlx4"])
    assert exact.status == "ok" and "image 7.4.2017120423" in exact.summary
    # An image version IMDS reports for marketplace-less images ("") or a word is no version.
    assert distros.evaluate_kernel(osr("rhel-7.4"), "3.10.0-693.el7.x86_64", "latest", ["mlx4"]).status == "ok"


def test_several_problems_at_once_are_all_named():
    verdict = distros.evaluate_kernel(osr("rhel-7.4"), "3.10.0-514.el7.x86_64", "7.3.2017032020", ["mana"])
    assert verdict.status == "critical"
    parts = verdict.summary.split("; ")
    assert len(parts) == 3, verdict.summary
    assert parts[0].startswith("kernel 3.10.0-514.el7.x86_64 is an el7 kernel: no kernel of that line has the MANA driver")
    assert parts[1].startswith("kernel 3.10.0-514.el7.x86_64 is older than 3.10.0-693")
    assert parts[2] == "image version 7.3.2017032020 is older than 7.4.2017120423"


@pytest.mark.parametrize("kernel", ["", None])
def test_missing_kernel_is_unknown(kernel):
    assert distros.evaluate_kernel(osr("ubuntu-22.04"), kernel, None, []).status == "unknown"


def test_unparseable_kernel_is_unknown_with_the_reason():
    verdict = distros.evaluate_kernel(osr("ubuntu-22.04"), "linux", None, [])
    assert verdict.status == "unknown" and verdict.summary.startswith("kernel release 'linux' not understood")


def test_kernel_that_cannot_be_compared_is_unknown(monkeypatch):
    rules = json.loads(json.dumps(distros.rules()))
    for row in rules["distributions"]:
        if row["id"] == "ubuntu":
            row["kernel_min"] = "4.11.0-1013:x"   # not a version dpkg accepts
    monkeypatch.setattr(distros, "rules", lambda: rules)
    verdict = distros.evaluate_kernel(osr("ubuntu-22.04"), "5.15.0-1064-azure", None, [])
    assert verdict.status == "unknown" and "cannot be compared with 4.11.0-1013:x" in verdict.summary


# ---- MANA: the kernel's own line, never a mainline number for a backporting kernel ------


@pytest.mark.parametrize("os_release, kernel, status, minimum", [
    # RHEL 9 kernels carry mana from 9.0 (5.14.0-70), below mainline 5.15.
    (RHEL_92, "5.14.0-284.11.1.el9_2.x86_64", "ok", "5.14.0-70"),
    (RHEL_92, "5.14.0-70.13.1.el9_0.x86_64", "ok", "5.14.0-70"),
    (RHEL_92, "5.14.0-69.el9.x86_64", "critical", "5.14.0-70"),
    (ROCKY_93, "5.14.0-362.8.1.el9_3.x86_64", "ok", "5.14.0-70"),
    (ALMA_93, "5.14.0-362.8.1.el9_3.x86_64", "ok", "5.14.0-70"),
    (ORACLE_90, "5.14.0-70.13.1.0.3.el9_0.x86_64", "ok", "5.14.0-70"),
    # el8: the RHEL 8.8 kernel is the first with mana.
    ("rhel-8.9", "4.18.0-513.5.1.el8_9.x86_64", "ok", "4.18.0-477"),
    ("rhel-8.9", "4.18.0-477.10.1.el8_8.x86_64", "ok", "4.18.0-477"),
    (RHEL_86, "4.18.0-372.9.1.el8.x86_64", "critical", "4.18.0-477"),
    # SUSE: SLES 15 SP4's kernel and later; SP5's azure kernel.
    ("sles-15-sp5", "5.14.21-150500.33.29-azure", "ok", "5.14.21-150400"),
    ("sles-15-sp5", "5.14.21-150400.14.49-azure", "ok", "5.14.21-150400"),
    ("sles-15-sp5", "5.3.18-150300.38.75-azure", "critical", "5.14.21-150400"),
    # UEK: R7 (5.15.0) has mana, R6 (5.4.17) has not.
    (ORACLE_90, "5.15.0-200.131.27.el9uek.x86_64", "ok", "5.15.0"),
    (ORACLE_90, "5.4.17-2136.307.3.1.el8uek.x86_64", "critical", "5.15.0"),
])
def test_mana_minimum_per_kernel_line(os_release, kernel, status, minimum):
    verdict = distros.evaluate_kernel(osr(os_release), kernel, None, ["mana"])
    assert verdict.status == status, verdict.summary
    assert verdict.evidence["mana_minimum"] == minimum
    assert verdict.evidence["mana_source"]


@pytest.mark.parametrize("os_release, kernel, status", [
    ("ubuntu-22.04", "5.15.0-1064-azure", "ok"),       # exactly mainline 5.15
    ("ubuntu-22.04", "6.8.0-1029-azure", "ok"),
    ("ubuntu-20.04", "5.4.0-1109-azure", "critical"),  # 20.04's old 5.4 azure kernel
    ("debian-12", "6.1.0-18-cloud-amd64", "ok"),
    (DEBIAN_11, "5.10.0-28-cloud-amd64", "critical"),
    ("mariner-2.0", "5.15.153.1-2.cm2", "ok"),
    ("azurelinux-3.0", "6.6.47.1-1.azl3", "ok"),
])
def test_mana_on_mainline_numbered_kernels(os_release, kernel, status):
    verdict = distros.evaluate_kernel(osr(os_release), kernel, None, ["mana"])
    assert verdict.status == status, verdict.summary
    assert "mana_minimum" not in verdict.evidence
    if status == "ok":
        assert "MANA needs 5.15" in verdict.summary


def test_mana_summary_names_the_documented_releases():
    verdict = distros.evaluate_kernel(osr(RHEL_86), "4.18.0-372.9.1.el8.x86_64", None, ["mana"])
    assert verdict.summary.startswith(
        "kernel 4.18.0-372.9.1.el8.x86_64 is older than 4.18.0-477, the first el8 kernel with the MANA driver "
        "(Microsoft documents MANA on Red Hat Enterprise Linux from 8.8, 9.2)")
    ubuntu = distros.evaluate_kernel(osr(UBUNTU_1804), "5.4.0-1109-azure", None, ["mana"])
    assert "(Microsoft documents MANA on Ubuntu from 20.04)" in ubuntu.summary
    centos = distros.evaluate_kernel(osr("centos-7"), "3.10.0-1160.el7.x86_64", None, ["mana"])
    assert "(Microsoft documents MANA on CentOS for no release of it)" in centos.summary
    # A documented release with an old kernel: the kernel is the problem, the release is fine.
    focal = distros.evaluate_kernel(osr("ubuntu-20.04"), "5.4.0-1109-azure", None, ["mana"])
    assert "Microsoft documents" not in focal.summary


@pytest.mark.parametrize("os_release, documented", [
    ("ubuntu-20.04", True), ("ubuntu-22.04", True), (UBUNTU_1804, False), ("ubuntu-16.04", False),
    (RHEL_86, False), (RHEL_92, True), ("rhel-8.9", True), ("rhel-7.4", False),
    ("sles-15-sp5", True), ("sles-12-sp3", False), ("debian-12", True), (DEBIAN_11, False),
    (ORACLE_90, True), ("oracle-7.9", False), ("centos-7", False), (ROCKY_93, False),
    (VIRTUOZZO_8, None), (NO_RULE, None), (None, None),
])
def test_mana_documented_per_release(os_release, documented):
    got, _ = distros.mana_documented(osr(os_release) if os_release else None)
    assert got is documented


def test_mana_documented_counts_later_majors():
    class Os:
        id, id_like, version_id = "rhel", (), "10.0"
    assert distros.mana_documented(Os()) == (True, ["8.8", "9.2"])
    Os.version_id = "9.0"      # the last listed major, before its listed point release
    assert distros.mana_documented(Os()) == (False, ["8.8", "9.2"])
    Os.version_id = "9.2"
    assert distros.mana_documented(Os()) == (True, ["8.8", "9.2"])
    Os.version_id = None
    assert distros.mana_documented(Os()) == (None, ["8.8", "9.2"])


def test_kernel_lines_by_dist_tag():
    line = distros.kernel_line(parse_kernel_release("4.18.0-513.5.1.el8_9.x86_64"))
    assert line["id"] == "el8"
    assert distros.kernel_line(parse_kernel_release("5.14.0-427.13.1.el9_4.aarch64"))["id"] == "el9"
    assert distros.kernel_line(parse_kernel_release("3.10.0-693.el7.x86_64"))["id"] == "el7"
    assert distros.kernel_line(parse_kernel_release("5.4.17-2136.307.3.1.el7uek.x86_64"))["id"] == "uek"
    assert distros.kernel_line(parse_kernel_release("6.5.6-300.fc39.x86_64")) is None
    assert distros.kernel_line(parse_kernel_release("6.8.0-1029-azure")) is None


def test_upgrade_commands_per_distribution():
    assert distros.upgrade_command(osr("ubuntu-22.04")).startswith("sudo apt-get update")
    assert distros.upgrade_command(osr("mariner-2.0")) == "sudo tdnf update -y kernel && sudo reboot"
    assert distros.upgrade_command(osr(ROCKY_93)) == "sudo dnf update -y kernel && sudo reboot"
    assert distros.upgrade_command(osr("coreos-1688")) == "sudo update_engine_client -update && sudo systemctl reboot"
    assert distros.upgrade_command(None) == "install your distribution's current kernel and reboot"


def test_every_rule_names_a_known_source():
    data = distros.rules()
    keys = set(data["sources"])
    for row in data["distributions"]:
        for field in ("support_source", "kernel_source", "flavour_source", "image_source"):
            if row.get(field):
                assert row[field] in keys, (row["id"], field)
    for line in data["kernel_lines"]:
        if "id" in line:
            assert line["kernel_source"] in keys and line["mana_source"] in keys, line["id"]


def test_ids_are_matched_case_insensitively_and_id_like_in_order():
    class Os:
        id, id_like, version_id, pretty_name, name = "RHEL", (), "9.2", None, None
    assert distros.find_rule(Os()) == (distros.find_rule(osr(RHEL_92))[0], "id")
    Os.id, Os.id_like = "myrhel", ("Fedora", "RHEL", "debian")
    rule, how = distros.find_rule(Os())
    assert (rule["id"], how) == ("rhel", "id_like")
    assert distros.find_rule(None) == (None, "")


def test_evidence_of_a_distribution_verdict():
    verdict = distros.evaluate_distribution(osr(VIRTUOZZO_8))
    assert verdict.evidence == {"id": "virtuozzo", "id_like": ["rhel", "fedora"], "version_id": "8.8",
                                "rule": "rhel", "source": distros.source("article-2018")}
    assert verdict.remedy is None
    unknown = distros.evaluate_distribution(osr(NO_RULE))
    assert unknown.evidence == {"id": "gentoo", "id_like": [], "version_id": None}
    assert unknown.summary == ("Gentoo Linux is not a distribution Microsoft documents for Accelerated Networking "
                               "(it may still work with a recent kernel)")


def test_a_release_without_version_or_without_a_first_release_is_not_older():
    no_version = osr('NAME="Red Hat Enterprise Linux"\nID="rhel"\n')
    assert distros.evaluate_distribution(no_version).status == "ok"
    assert distros.evaluate_distribution(osr("coreos-1688")).status == "ok"   # CoreOS: no first release
    assert distros.source(None) is None and distros.source("") is None


def test_the_ubuntu_note_is_named_only_where_a_rule_has_one():
    ubuntu = distros.evaluate_kernel(osr("ubuntu-16.04"), "4.4.0-116-generic", None, [])
    assert ubuntu.summary == ("kernel 4.4.0-116-generic is older than 4.11.0-1013, the minimum for Ubuntu "
                              "(Ubuntu 16.04 with the linux-azure kernel (4.11.0-1013 or later))")
    sles = distros.evaluate_kernel(osr("sles-12-sp3"), "4.4.92-6.17-default", None, [])
    assert sles.summary == ("kernel 4.4.92-6.17-default is older than 4.4.92-6.18, the minimum for "
                            "SUSE Linux Enterprise Server")
    el7 = distros.evaluate_kernel(osr(NO_RULE), "3.10.0-514.el7.x86_64", None, [])
    assert el7.summary == "kernel 3.10.0-514.el7.x86_64 is older than 3.10.0-693, the minimum for an el7 kernel"


def test_ok_summary_lists_what_was_checked():
    verdict = distros.evaluate_kernel(osr(RHEL_92), "5.14.0-284.11.1.el9_2.x86_64", "9.2.2023062703", ["mana"])
    assert verdict.summary == ("kernel 5.14.0-284.11.1.el9_2.x86_64 meets the minimum (MANA needs 5.14.0-70 (el9), "
                               "Red Hat Enterprise Linux needs 3.10.0-693, image 7.4.2017120423)")
    assert verdict.evidence["image_version"] == "9.2.2023062703"
    # An image version with a blank in it is not one rpm compares: the image check is left out.
    odd = distros.evaluate_kernel(osr(RHEL_92), "5.14.0-284.11.1.el9_2.x86_64", "9.2 beta", [])
    assert odd.status == "ok" and "image_minimum" in odd.evidence


def test_mana_evidence_names_the_line_and_its_source():
    verdict = distros.evaluate_kernel(osr(RHEL_92), "5.14.0-69.el9.x86_64", None, ["mana", "mlx5"])
    assert verdict.summary.startswith("kernel 5.14.0-69.el9.x86_64 is older than 5.14.0-70, the first el9 kernel "
                                      "with the MANA driver")
    assert "merge_requests/124" in verdict.evidence["mana_source"]
    assert verdict.remedy == "Upgrade the kernel: sudo yum update -y kernel && sudo reboot"
    mainline = distros.evaluate_kernel(osr("ubuntu-20.04"), "5.4.0-1109-azure", None, ["mana"])
    assert mainline.summary.startswith("kernel 5.4.0-1109-azure is older than 5.15, the first with the MANA driver")


def test_a_rule_without_a_kernel_minimum_defers_to_the_kernels_own_line():
    # A bundle taken inside an Azure Linux container on an el8 host: os-release is the image's
    # (no kernel minimum in its rule), the kernel the host's.
    verdict = distros.evaluate_kernel(osr("azurelinux-3.0"), "4.18.0-513.5.1.el8_9.x86_64", None, [])
    assert verdict.status == "ok"
    assert (verdict.evidence["minimum"], verdict.evidence["compared_as"]) == ("4.18.0", "rpm")
    assert verdict.summary == "kernel 4.18.0-513.5.1.el8_9.x86_64 meets the minimum (an el8 kernel needs 4.18.0)"


def test_a_distributions_own_mainline_minimum_wins_over_the_fallback(monkeypatch):
    rules = json.loads(json.dumps(distros.rules()))
    for row in rules["distributions"]:
        if row["id"] == "debian":
            row["kernel_min_mainline"] = "4.19"
    monkeypatch.setattr(distros, "rules", lambda: rules)
    verdict = distros.evaluate_kernel(osr("debian-12"), "4.14.0-1-cloud-amd64", None, [])
    assert verdict.status == "critical" and verdict.evidence["minimum"] == "4.19"


def test_no_rule_and_no_kernel_say_so_exactly():
    assert distros.find_rule(osr(NO_RULE)) == (None, "")
    assert distros.evaluate_kernel(osr("ubuntu-22.04"), None, None, []).summary == \
        "kernel release unknown (no /proc/sys/kernel/osrelease)"


@pytest.mark.parametrize("version_id, ours", [("9" * 9, (999999999,)), ("22." + "0" * 20 + "4", (22, 4)),
                                               ("9" * 10, None), ("22." + "1" * 10, None)])
def test_a_version_component_has_at_most_nine_significant_digits(version_id, ours):
    assert distros._version_tuple(version_id) == ours


@pytest.mark.parametrize("version_id, shown", [
    ("1" * 10, "'" + "1" * 10 + "'"),
    ("1" * 40, "'" + "1" * 40 + "'"),
    ("1" * 40 + "0", "'" + "1" * 40 + "…'"),
    ("2" * 39 + "1" * 10, "'" + "2" * 39 + "1…'"),
])
def test_a_version_id_that_is_no_version_is_unknown_and_shown_at_most_40_characters(version_id, shown):
    verdict = distros.evaluate_distribution(osr(f'PRETTY_NAME="Ubuntu X"\nID=ubuntu\nVERSION_ID="{version_id}"\n'))
    assert (verdict.status, verdict.summary) == (
        "unknown", f"Ubuntu X: VERSION_ID {shown} in /etc/os-release is not a version")
    assert verdict.evidence["rule"] == "ubuntu"


def test_mainline_minimums_have_two_numbers_as_mainline_releases_do():
    # A kernel's version has three numbers (4.14.0), so it never equals a minimum of two
    # (tools/mutants-equivalent.txt relies on it for "<" against "<=").
    rules = distros.rules()
    minimums = [rules["fallback"]["kernel_min_mainline"], rules["mana"]["kernel_min_mainline"]]
    minimums += [row["kernel_min_mainline"] for row in rules["distributions"] if "kernel_min_mainline" in row]
    assert len(minimums) >= 3
    assert all(len(distros._rule_version(m)) == 2 for m in minimums), minimums


FCOS_40 = """NAME="Fedora Linux"
VERSION="40.20240504.3.0 (CoreOS)"
ID=fedora
VERSION_ID=40
VARIANT="CoreOS"
VARIANT_ID=coreos
PRETTY_NAME="Fedora CoreOS 40.20240504.3.0"
"""
RHCOS_414 = """NAME="Red Hat Enterprise Linux CoreOS"
ID="rhcos"
ID_LIKE="rhel fedora"
VERSION="414.92.202402130420-0"
VERSION_ID="4.14"
VARIANT="CoreOS"
VARIANT_ID=coreos
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux CoreOS 414.92.202402130420-0 (Plow)"
OPENSHIFT_VERSION="4.14"
"""
SILVERBLUE = FCOS_40.replace("VARIANT_ID=coreos", "VARIANT_ID=silverblue")
SLE_MICRO = """NAME="SLE Micro"
VERSION="5.5"
ID="sle-micro"
ID_LIKE="suse"
VERSION_ID="5.5"
"""


@pytest.mark.parametrize("text, command", [
    (FCOS_40, "sudo rpm-ostree upgrade && sudo systemctl reboot"),
    (SILVERBLUE, "sudo rpm-ostree upgrade && sudo systemctl reboot"),
    (RHCOS_414, "oc adm upgrade: an OpenShift node's kernel comes with the cluster's release, never from yum on the node"),
    (SLE_MICRO, "sudo transactional-update up && sudo reboot"),
    ("flatcar-3815", "sudo update_engine_client -update && sudo systemctl reboot"),
], ids=["fcos", "silverblue", "rhcos", "sle-micro", "flatcar"])
def test_image_based_systems_update_their_image_not_a_package(text, command):
    """Red Hat CoreOS names rhel in ID_LIKE, whose rule says 'yum update': on an OpenShift
    node there is no yum, and the kernel is the cluster's."""
    assert distros.image_update(osr(text)) == command
    assert distros.upgrade_command(osr(text)) == command


def test_package_based_systems_are_not_image_based():
    for name in ("rhel-8.9", "ubuntu-22.04", "sles-15-sp5", "mariner-2.0", "azurelinux-3.0"):
        assert distros.image_update(osr(name)) is None, name
    assert distros.image_update(None) is None
