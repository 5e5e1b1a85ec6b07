"""Version comparison against the expectations of dpkg's and rpm's own test suites."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.parsers.versions import (
    VersionError,
    compare,
    dpkg_compare,
    parse_dpkg_version,
    rpm_compare,
    rpmvercmp,
)

# dpkg: scripts/t/100_Dpkg_Version.t (__DATA__: a b expected) and lib/dpkg/t/t-version.c.
DPKG_CASES = """
1.0-1 2.0-2 -1
2.2~rc-4 2.2-1 -1
2.2-1 2.2~rc-4 1
1.0000-1 1.0-1 0
1 0:1 0
0 0:0-0 0
2:2.5 1:7.5 1
1:foo foo 1
0:foo foo 0
foo foo 0
foo- foo 0
foo- foo-0 0
foo fo 1
foo- foo+ -1
foo~1 foo -1
foo~foo+Bar foo~foo+bar -1
foo~~ foo~ -1
1~ 1 -1
12345+that-really-is-some-ver-0 12345+that-really-is-some-ver-10 -1
foo-0 foo-01 -1
foo.bar foobar 1
foo.bar foo1bar 1
foo.bar foo0bar 1
1foo-1 foo-1 -1
foo2.0 foo2 1
foo2.0.0 foo2.10.0 -1
foo2.0 foo2.0.0 -1
foo2.0 foo2.10 -1
foo2.1 foo2.10 -1
1.09 1.9 0
1.0.8+nmu1 1.0.8 1
3.11 3.10+nmu1 1
0.9j-20080306-4 0.9i-20070324-2 1
1.2.0~b7-1 1.2.0~b6-1 1
1.011-1 1.06-2 1
0.0.9+dfsg1-1 0.0.8+dfsg1-3 1
4.6.99+svn6582-1 4.6.99+svn6496-1 1
53 52 1
0.9.9~pre122-1 0.9.9~pre111-1 1
2:2.3.2-2+lenny2 2:2.3.2-2 1
1:3.8.1-1 3.8.GA-1 1
1.0.1+gpl-1 1.0.1-2 1
1a 1000a -1
0-0 00-0 0
0-00 00-0 0
1:2-3 1:2-3 0
0:0-0 1:0-0 -1
a-0 b-0 -1
0-a 0-b -1
0:0-0-0 0-0-0 0
0:0:0-0 0:0:0-0 0
0:09azAZ.-+~:-0 0:09azAZ.-+~:-0 0
0:0-azAZ09.+~ 0:0-azAZ09.+~ 0
"""

# rpm: tests/rpmvercmp.at (rpm >= 4.15, with the caret cases).
RPM_CASES = """
1.0 1.0 0
1.0 2.0 -1
2.0 1.0 1
2.0.1 2.0.1 0
2.0 2.0.1 -1
2.0.1 2.0 1
2.0.1a 2.0.1a 0
2.0.1a 2.0.1 1
2.0.1 2.0.1a -1
5.5p1 5.5p1 0
5.5p1 5.5p2 -1
5.5p2 5.5p1 1
5.5p10 5.5p10 0
5.5p1 5.5p10 -1
5.5p10 5.5p1 1
10xyz 10.1xyz -1
10.1xyz 10xyz 1
xyz10 xyz10 0
xyz10 xyz10.1 -1
xyz10.1 xyz10 1
xyz.4 xyz.4 0
xyz.4 8 -1
8 xyz.4 1
xyz.4 2 -1
2 xyz.4 1
5.5p2 5.6p1 -1
5.6p1 5.5p2 1
5.6p1 6.5p1 -1
6.5p1 5.6p1 1
6.0.rc1 6.0 1
6.0 6.0.rc1 -1
10b2 10a1 1
10a2 10b2 -1
1.0aa 1.0aa 0
1.0a 1.0aa -1
1.0aa 1.0a 1
10.0001 10.0001 0
10.0001 10.1 0
10.1 10.0001 0
10.0001 10.0039 -1
10.0039 10.0001 1
4.999.9 5.0 -1
5.0 4.999.9 1
20101121 20101121 0
20101121 20101122 -1
20101122 20101121 1
2_0 2_0 0
2.0 2_0 0
2_0 2.0 0
a a 0
a+ a+ 0
a+ a_ 0
a_ a+ 0
+a +a 0
+a _a 0
_a +a 0
+_ +_ 0
_+ +_ 0
_+ _+ 0
+ _ 0
_ + 0
1.0~rc1 1.0~rc1 0
1.0~rc1 1.0 -1
1.0 1.0~rc1 1
1.0~rc1 1.0~rc2 -1
1.0~rc2 1.0~rc1 1
1.0~rc1~git123 1.0~rc1~git123 0
1.0~rc1~git123 1.0~rc1 -1
1.0~rc1 1.0~rc1~git123 1
1.0^ 1.0^ 0
1.0^ 1.0 1
1.0 1.0^ -1
1.0^git1 1.0^git1 0
1.0^git1 1.0 1
1.0 1.0^git1 -1
1.0^git1 1.0^git2 -1
1.0^git2 1.0^git1 1
1.0^git1 1.01 -1
1.01 1.0^git1 1
1.0^20160101 1.0^20160101 0
1.0^20160101 1.0.1 -1
1.0.1 1.0^20160101 1
1.0^20160101^git1 1.0^20160101^git1 0
1.0^20160102 1.0^20160101^git1 1
1.0^20160101^git1 1.0^20160102 -1
1.0~rc1^git1 1.0~rc1^git1 0
1.0~rc1^git1 1.0~rc1 1
1.0~rc1 1.0~rc1^git1 -1
1.0^git1~pre 1.0^git1~pre 0
1.0^git1 1.0^git1~pre 1
1.0^git1~pre 1.0^git1 -1
"""


def _cases(table: str):
    rows = []
    for line in table.strip().splitlines():
        a, b, expected = line.split()
        rows.append((a, b, int(expected)))
    return rows


@pytest.mark.parametrize("a,b,expected", _cases(DPKG_CASES))
def test_dpkg_suite_pairs(a, b, expected):
    assert dpkg_compare(a, b) == expected
    assert dpkg_compare(b, a) == -expected
    assert compare("dpkg", a, b) == expected


@pytest.mark.parametrize("a,b,expected", _cases(RPM_CASES))
def test_rpmvercmp_suite_pairs(a, b, expected):
    assert rpmvercmp(a, b) == expected
    assert rpm_compare(a, b) == expected
    assert compare("rpm", a, b) == expected


def test_dpkg_parse_splits_like_dpkg():
    assert parse_dpkg_version("0:0-0-0").upstream == "0-0"
    v = parse_dpkg_version("  1:4.15.0-1013.14~16.04.1  ")
    assert (v.epoch, v.upstream, v.revision) == (1, "4.15.0", "1013.14~16.04.1")
    assert parse_dpkg_version("0:0:0:0-0").upstream == "0:0:0"


@pytest.mark.parametrize(
    "bad",
    ["", "  ", "0:", "0:0 0-1", "-1:0-1", "999999999999999999999999:0-1", "a:0-0", "A:0-0",
     "-0", "0:-0", "0:0-0:0", "0:0!-0", "0:0-0_", "5.2@3-2"],
)
def test_dpkg_rejects_what_dpkg_rejects(bad):
    with pytest.raises(VersionError):
        dpkg_compare(bad, "1.0")


def test_rpm_epoch_and_release_rules():
    assert rpm_compare("1:1.0-1", "2.0-1") == 1
    assert rpm_compare("0:1.0-1", "1.0-1") == 0
    # rpmverCmp: a release on only one side is ignored.
    assert rpm_compare("3.10.0", "3.10.0-693.el7") == 0
    assert rpm_compare("3.10.0-693.el7", "3.10.0-514.el7") == 1
    assert rpm_compare("4.18.0-513.5.1.el8_9", "4.18.0-513.el8") == 1
    assert rpm_compare("5.4.17-2136.307.3.1.el7uek", "5.4.17-2136.307.3.el7uek") == 1


def test_kernel_abi_examples():
    assert dpkg_compare("4.15.0-1013", "4.11.0-1013") == 1
    assert dpkg_compare("4.11.0-1009", "4.11.0-1013") == -1
    assert dpkg_compare("6.9.0~rc3", "6.9.0") == -1
    assert rpm_compare("4.4.92-6.18", "4.4.92-6.9") == 1
    # Segments compare numerically: the RHEL image minimum has more digits.
    assert rpm_compare("7.4.2017120423", "7.4.20171206") == 1


@pytest.mark.parametrize("bad", ["", "   ", "1.0 2", "-1"])
def test_rpm_rejects_unusable(bad):
    with pytest.raises(VersionError):
        rpm_compare(bad, "1.0")


def test_unknown_family_and_non_strings():
    with pytest.raises(VersionError):
        compare("apk", "1", "2")
    with pytest.raises(VersionError):
        dpkg_compare(None, "1")  # type: ignore[arg-type]
    with pytest.raises(ParseError):
        rpm_compare(3, "1")  # type: ignore[arg-type]


_dpkg_chars = st.text(alphabet="0123456789abcAZ.+~-:", min_size=0, max_size=12)
_rpm_chars = st.text(alphabet="0123456789abxyz.~^_+-:", min_size=0, max_size=12)


@settings(max_examples=400)
@given(_dpkg_chars, _dpkg_chars)
def test_dpkg_total_and_antisymmetric(a, b):
    try:
        ab = dpkg_compare(a, b)
    except VersionError:
        return
    assert ab in (-1, 0, 1)
    assert dpkg_compare(b, a) == -ab
    assert dpkg_compare(a, a) == 0


@settings(max_examples=400)
@given(_rpm_chars, _rpm_chars)
def test_rpm_total_and_antisymmetric(a, b):
    assert rpmvercmp(a, b) in (-1, 0, 1)
    assert rpmvercmp(b, a) == -rpmvercmp(a, b)
    try:
        ab = rpm_compare(a, b)
    except VersionError:
        return
    assert rpm_compare(b, a) == -ab


@settings(max_examples=300)
@given(st.text(max_size=20), st.text(max_size=20), st.sampled_from(["dpkg", "rpm"]))
def test_random_input_returns_or_raises_parse_error(a, b, family):
    try:
        assert compare(family, a, b) in (-1, 0, 1)
    except ParseError:
        pass


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["1.0", "1.0~rc1", "1.0-1", "1:0.9", "1.0.1", "1.0+b1", "0.9"]),
                min_size=3, max_size=3))
def test_dpkg_transitive(vs):
    a, b, c = vs
    if dpkg_compare(a, b) <= 0 and dpkg_compare(b, c) <= 0:
        assert dpkg_compare(a, c) <= 0


def test_huge_epoch_is_a_version_error():
    with pytest.raises(VersionError):
        dpkg_compare("9" * 5000 + ":1", "1")
    assert dpkg_compare("0" * 5000 + "1:1", "1:1") == 0
    assert rpm_compare("9" * 5000, "1") == 1


def test_every_family_compares():
    from accelnet.parsers.versions import FAMILIES, compare

    assert FAMILIES == ("dpkg", "rpm")
    assert [compare(f, "1:2.0-1", "1:2.0-1") for f in FAMILIES] == [0, 0]
    assert [compare(f, "1:2.0-2", "1:2.0-1") for f in FAMILIES] == [1, 1]


@pytest.mark.parametrize("a, b, expected", [
    ("1:2.0a", "2.0a", 1),        # an epoch before a version that ends in a letter
    ("1:2.0a", "2:1.0", -1),
    ("0:3.10.0-693.el7", "3.10.0-693.el7", 0),
])
def test_rpm_epochs_whatever_the_version_ends_with(a, b, expected):
    from accelnet.parsers.versions import rpm_compare

    assert rpm_compare(a, b) == expected
    assert rpm_compare(b, a) == -expected


@pytest.mark.parametrize("epoch, ok", [("2147483647", True), ("2147483648", False), ("02147483647", True)])
def test_dpkg_epoch_at_the_int_limit(epoch, ok):
    from accelnet.parsers.versions import VersionError, parse_dpkg_version

    if ok:
        assert parse_dpkg_version(f"{epoch}:1.0").epoch == 2**31 - 1
    else:
        with pytest.raises(VersionError, match="epoch is too big"):
            parse_dpkg_version(f"{epoch}:1.0")


def test_rpm_empty_epoch_is_zero():
    from accelnet.parsers.versions import rpm_compare

    assert rpm_compare(":1.0", "1.0") == 0
    assert rpm_compare(":1.0", "0:1.0") == 0


def test_an_epoch_is_digits_only_else_the_colon_belongs_to_the_version():
    from accelnet.parsers.versions import rpm_compare

    # rpmverParse(): "a:2.0" has no epoch (0) and the version "a:2.0", which is newer than "a.1";
    # read as epoch "a" it would be older than epoch 0.
    assert rpm_compare("a:2.0", "0:a.1") == 1
    assert rpm_compare("0:a.1", "a:2.0") == -1


@pytest.mark.parametrize("compare_in", [dpkg_compare, rpm_compare])
@pytest.mark.parametrize("bad", ["", "  \t"])
def test_an_empty_version_is_refused_as_empty(compare_in, bad):
    with pytest.raises(VersionError, match=r"^(dpkg|rpm) version is empty$"):
        compare_in(bad, "1.0")
    with pytest.raises(VersionError, match=r"^(dpkg|rpm) version is empty$"):
        compare_in("1.0", bad)


@pytest.mark.parametrize("bad, reason", [
    (":1.0", "epoch is empty"), ("x:1.0", "epoch 'x' is not a number"), ("1:", "nothing after the epoch"),
    ("1:-1", "upstream version is empty"),
])
def test_dpkg_says_which_part_of_a_version_is_wrong(bad, reason):
    # dpkg's parseversion() has one message for each of these.
    with pytest.raises(VersionError, match=re.escape(f"dpkg version {bad!r}: {reason}")):
        dpkg_compare(bad, "1.0")


def test_a_digit_against_a_tilde_is_the_later():
    # verrevcmp() weighs a digit as 0 where the other side has a non-digit: after "~" (-1),
    # before letters ("1a1" > "1a~" and "1a1" < "1aa", as dpkg --compare-versions says).
    assert dpkg_compare("1a1", "1a~") == 1
    assert dpkg_compare("1a~", "1a1") == -1
    assert dpkg_compare("1a1", "1aa") == -1


@pytest.mark.parametrize("bad", ["1:", "1:-2"])
def test_rpm_refuses_an_epoch_with_nothing_after_it(bad):
    with pytest.raises(VersionError, match="version part is empty"):
        rpm_compare(bad, "1.0")
