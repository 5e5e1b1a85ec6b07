"""`uname -r` strings of every family Azure images ship."""

import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.parsers.kernelrelease import KernelReleaseError, parse_kernel_release

DATA = Path(__file__).parent / "data"

# raw: (family, version, distro, flavour, arch, comparable, comparator)
CASES = {
    "4.15.0-1013-azure": ("ubuntu", (4, 15, 0), "1013", "azure", None, "4.15.0-1013", "dpkg"),
    "6.8.0-1029-azure": ("ubuntu", (6, 8, 0), "1029", "azure", None, "6.8.0-1029", "dpkg"),
    "4.4.0-116-generic": ("ubuntu", (4, 4, 0), "116", "generic", None, "4.4.0-116", "dpkg"),
    "5.15.0-1050-azure-fde": ("ubuntu", (5, 15, 0), "1050", "azure-fde", None, "5.15.0-1050", "dpkg"),
    "6.1.0-0.deb11.21-cloud-amd64": ("debian", (6, 1, 0), "0.deb11.21", "cloud-amd64", "amd64",
                                     "6.1.0-0.deb11.21", "dpkg"),
    "5.10.0-28-cloud-amd64": ("debian", (5, 10, 0), "28", "cloud-amd64", "amd64", "5.10.0-28", "dpkg"),
    "4.9.0-0.bpo.6-amd64": ("debian", (4, 9, 0), "0.bpo.6", "amd64", "amd64", "4.9.0-0.bpo.6", "dpkg"),
    "6.1.0-18-arm64": ("debian", (6, 1, 0), "18", "arm64", "arm64", "6.1.0-18", "dpkg"),
    "3.10.0-693.el7.x86_64": ("rhel", (3, 10, 0), "693.el7", None, "x86_64", "3.10.0-693.el7", "rpm"),
    "4.18.0-513.5.1.el8_9.x86_64": ("rhel", (4, 18, 0), "513.5.1.el8_9", None, "x86_64",
                                    "4.18.0-513.5.1.el8_9", "rpm"),
    "4.18.0-513.el8.x86_64+debug": ("rhel", (4, 18, 0), "513.el8", "debug", "x86_64", "4.18.0-513.el8", "rpm"),
    "5.14.0-427.13.1.el9_4.aarch64": ("rhel", (5, 14, 0), "427.13.1.el9_4", None, "aarch64",
                                      "5.14.0-427.13.1.el9_4", "rpm"),
    "5.4.17-2136.307.3.1.el7uek.x86_64": ("uek", (5, 4, 17), "2136.307.3.1.el7uek", None, "x86_64",
                                          "5.4.17-2136.307.3.1.el7uek", "rpm"),
    "4.4.92-6.18-default": ("suse", (4, 4, 92), "6.18", "default", None, "4.4.92-6.18", "rpm"),
    "5.3.18-150300.59.112-default": ("suse", (5, 3, 18), "150300.59.112", "default", None,
                                     "5.3.18-150300.59.112", "rpm"),
    "5.14.21-150500.55.39-azure": ("suse", (5, 14, 21), "150500.55.39", "azure", None,
                                   "5.14.21-150500.55.39", "rpm"),
    "6.6.14-0-virt": ("alpine", (6, 6, 14), "0", "virt", None, "6.6.14-0", "dpkg"),
    "6.5.6-300.fc39.x86_64": ("fedora", (6, 5, 6), "300.fc39", None, "x86_64", "6.5.6-300.fc39", "rpm"),
    "5.15.153.1-2.cm2": ("mariner", (5, 15, 153), "2.cm2", None, None, "5.15.153.1-2.cm2", "rpm"),
    "6.6.47.1-1.azl3": ("mariner", (6, 6, 47), "1.azl3", None, None, "6.6.47.1-1.azl3", "rpm"),
    "5.10.219-208.866.amzn2.x86_64": ("amazon", (5, 10, 219), "208.866.amzn2", None, "x86_64",
                                      "5.10.219-208.866.amzn2", "rpm"),
    "6.18.44": ("mainline", (6, 18, 44), None, None, None, "6.18.44", "dpkg"),
    "6.9.0-rc3+": ("mainline", (6, 9, 0), None, None, None, "6.9.0~rc3", "dpkg"),
    "6.9.0-rc3": ("mainline", (6, 9, 0), None, None, None, "6.9.0~rc3", "dpkg"),
    "5.4.0+": ("mainline", (5, 4, 0), None, None, None, "5.4.0", "dpkg"),
    "3.2": ("mainline", (3, 2, 0), None, None, None, "3.2", "dpkg"),
    "6.1.0-custom": ("unknown", (6, 1, 0), None, None, None, "6.1.0", "dpkg"),
}


@pytest.mark.parametrize("raw", sorted(CASES))
def test_families(raw):
    k = parse_kernel_release(raw)
    family, version, distro, flavour, arch, comparable, comparator = CASES[raw]
    assert (k.family, k.version, k.distro, k.flavour, k.arch) == (family, version, distro, flavour, arch)
    assert k.comparable() == comparable
    assert k.comparator == comparator
    assert k.raw == raw


def test_mainline_local_part():
    assert parse_kernel_release("6.9.0-rc3+").local == "rc3+"
    assert parse_kernel_release("6.1.0-custom").local == "custom"
    assert parse_kernel_release("6.18.44").local is None


def test_uname_sample_and_proc_newline():
    line = (DATA / "uname-vrmo_ubuntu22.04-6.8.0-1029-azure.txt").read_text().split("\n")[1]
    k = parse_kernel_release(line.split()[0])
    assert (k.family, k.distro, k.flavour) == ("ubuntu", "1029", "azure")
    assert parse_kernel_release("6.8.0-1029-azure\n").raw == "6.8.0-1029-azure"
    with pytest.raises(KernelReleaseError):
        parse_kernel_release(line)  # the whole `uname -vrmo` line is not a release


def test_minimums_from_the_article():
    # Ubuntu 16.04: 4.11.0-1013 ; SLES 12 SP3: 4.4.92-6.18
    assert parse_kernel_release("4.15.0-1013-azure").compare_to("4.11.0-1013") == 1
    assert parse_kernel_release("4.11.0-1013-azure").compare_to("4.11.0-1013") == 0
    assert parse_kernel_release("4.11.0-1009-azure").compare_to("4.11.0-1013") == -1
    assert parse_kernel_release("4.4.92-6.18-default").compare_to("4.4.92-6.18") == 0
    assert parse_kernel_release("4.4.92-6.9-default").compare_to("4.4.92-6.18") == -1
    assert parse_kernel_release("4.4.103-6.38-default").compare_to("4.4.92-6.18") == 1
    assert parse_kernel_release("3.10.0-693.el7.x86_64").compare_to("3.10.0-514.el7") == 1
    assert parse_kernel_release("6.9.0-rc3+").compare_to("6.9.0") == -1


@pytest.mark.parametrize("bad", ["", "   ", "linux", "6", "6.", "v6.8.0", "6.8.0 #34", "6.8.0-1029-azure\x00",
                                 "６.8.0", "6.8.0-1029-azure (x)", "-6.8.0"])
def test_rejects(bad):
    with pytest.raises(KernelReleaseError):
        parse_kernel_release(bad)


def test_non_string():
    with pytest.raises(KernelReleaseError):
        parse_kernel_release(608)  # type: ignore[arg-type]


@settings(max_examples=500)
@given(st.text(max_size=40))
def test_random_text(s):
    try:
        k = parse_kernel_release(s)
    except ParseError:
        return
    assert len(k.version) == 3
    try:
        assert k.compare_to(k.comparable()) == 0
    except ParseError:
        pass


@settings(max_examples=500)
@given(st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}(\.[0-9]{1,3})?[-.+a-z0-9_~]{0,30}", fullmatch=True))
@example("0.1000000000")  # found by hypothesis: '0.10' and a suffix of zeros
@example("5.15.0001234567890-azure")
def test_release_like_text(s):
    """Parsed, unless the suffix's digits run on into the version ('0.10' + '00000000') and
    make one of its three numbers longer than nine significant digits: then refused as
    implausibly long (by design), never a wrong version."""
    numbers = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", s).groups()
    if max(len(n.lstrip("0")) for n in numbers if n) > 9:
        with pytest.raises(KernelReleaseError, match="implausibly long"):
            parse_kernel_release(s)
        return
    k = parse_kernel_release(s)
    assert k.family in {"ubuntu", "debian", "rhel", "uek", "fedora", "mariner", "amazon", "suse", "alpine",
                        "mainline", "unknown"}
    assert k.upstream and s.startswith(k.upstream)
    try:
        assert k.compare_to(k.comparable()) == 0
    except ParseError:
        pass


@settings(max_examples=300)
@given(st.sampled_from(sorted(CASES)), st.data())
def test_truncated(raw, data):
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    try:
        k = parse_kernel_release(raw[:cut])
    except KernelReleaseError:
        return
    assert raw.startswith(k.raw)


@pytest.mark.parametrize("bad", ["9" * 5000 + ".1", "6." + "1" * 5000, "6.1." + "2" * 10 + "-1-azure"])
def test_huge_components_raise(bad):
    with pytest.raises(KernelReleaseError):
        parse_kernel_release(bad)


def test_component_length_limit_is_nine_digits():
    assert parse_kernel_release("5.123456789.0").version == (5, 123456789, 0)
    with pytest.raises(KernelReleaseError):
        parse_kernel_release("5.1234567890.0")


def test_rpm_shape_without_a_known_dist_tag():
    k = parse_kernel_release("4.18.0-80.x86_64")
    assert (k.family, k.distro, k.arch) == ("unknown", "80", "x86_64")


@pytest.mark.parametrize("raw, local", [("6.8.0-", None), ("6.8.0rc1", "rc1"), ("6.8.0x", "x")])
def test_odd_tails_are_unknown_and_kept(raw, local):
    k = parse_kernel_release(raw)
    assert (k.family, k.local, k.distro) == ("unknown", local, None)


@pytest.mark.parametrize("flavour", ["virt", "lts", "edge", "rpi", "rpi2", "rpi4"])
def test_alpine_flavours(flavour):
    k = parse_kernel_release(f"6.6.14-0-{flavour}")
    assert (k.family, k.flavour, k.comparable()) == ("alpine", flavour, "6.6.14-0")


def test_empty_rpm_release_is_refused():
    with pytest.raises(KernelReleaseError, match="empty release before the arch"):
        parse_kernel_release("5.15.0-.x86_64")


def test_dashed_release_that_is_no_known_shape():
    k = parse_kernel_release("5.10.0-1a-custom")
    assert (k.family, k.distro, k.flavour) == ("unknown", "1a", "custom")


def test_leading_zeros_are_not_a_long_version():
    """Found by hypothesis: '0.0000000000' is version 0.0.0, not an implausibly long one."""
    assert parse_kernel_release("0.0000000000").version == (0, 0, 0)
    assert parse_kernel_release("5.015.0" + "0" * 5000 + "-1-azure").version[:2] == (5, 15)
    with pytest.raises(KernelReleaseError, match="implausibly long"):
        parse_kernel_release("5.15." + "9" * 5000)


def test_an_implausibly_long_version_is_shown_by_its_first_40_characters():
    raw = "1" * 50 + ".0"
    with pytest.raises(KernelReleaseError,
                       match=r"^kernel release '%s'\.\.\. has an implausibly long version number$" % ("1" * 40)):
        parse_kernel_release(raw)


@pytest.mark.parametrize("bad", ["", " \n"])
def test_an_empty_release_says_so(bad):
    with pytest.raises(KernelReleaseError, match=r"^kernel release is empty$"):
        parse_kernel_release(bad)


@pytest.mark.parametrize("raw, family, distro, flavour", [
    ("5.15.0-1064-azure+", "ubuntu", "1064", "azure"),   # a "+" (a dirty tree) after a dashed release
    ("5.4.0-5", "ubuntu", "5", None),                    # a one-character release is still a release
    ("5.14.0-el9", "rhel", "el9", None),                 # a dist tag first in the release, no arch
])
def test_short_and_dirty_releases_keep_their_family(raw, family, distro, flavour):
    k = parse_kernel_release(raw)
    assert (k.family, k.distro, k.flavour) == (family, distro, flavour)
