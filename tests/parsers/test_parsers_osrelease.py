"""os-release files of the distributions Azure AN supports (and their relatives)."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.parsers.osrelease import OsReleaseError, parse_os_release

DATA = Path(__file__).parent / "data" / "os-release"

# file: (id, id_like, version_id, version, name, pretty_name, variant_id, version_codename)
EXPECTED = {
    "ubuntu-16.04": ("ubuntu", ("debian",), "16.04", "16.04.7 LTS (Xenial Xerus)", "Ubuntu",
                     "Ubuntu 16.04.7 LTS", None, "xenial"),
    "ubuntu-20.04": ("ubuntu", ("debian",), "20.04", "20.04.6 LTS (Focal Fossa)", "Ubuntu",
                     "Ubuntu 20.04.6 LTS", None, "focal"),
    "ubuntu-22.04": ("ubuntu", ("debian",), "22.04", "22.04.5 LTS (Jammy Jellyfish)", "Ubuntu",
                     "Ubuntu 22.04.5 LTS", None, "jammy"),
    "debian-12": ("debian", (), "12", "12 (bookworm)", "Debian GNU/Linux",
                  "Debian GNU/Linux 12 (bookworm)", None, "bookworm"),
    "rhel-7.4": ("rhel", ("fedora",), "7.4", "7.4 (Maipo)", "Red Hat Enterprise Linux Server",
                 "Red Hat Enterprise Linux Server 7.4 (Maipo)", "server", None),
    "rhel-8.9": ("rhel", ("fedora",), "8.9", "8.9 (Ootpa)", "Red Hat Enterprise Linux",
                 "Red Hat Enterprise Linux 8.9 (Ootpa)", None, None),
    "centos-7": ("centos", ("rhel", "fedora"), "7", "7 (Core)", "CentOS Linux",
                 "CentOS Linux 7 (Core)", None, None),
    "oracle-7.9": ("ol", ("fedora",), "7.9", "7.9", "Oracle Linux Server", "Oracle Linux Server 7.9",
                   "server", None),
    "sles-12-sp3": ("sles", (), "12.3", "12-SP3", "SLES", "SUSE Linux Enterprise Server 12 SP3",
                    None, None),
    "sles-15-sp5": ("sles", ("suse",), "15.5", "15-SP5", "SLES", "SUSE Linux Enterprise Server 15 SP5",
                    None, None),
    "opensuse-leap-15.5": ("opensuse-leap", ("suse", "opensuse"), "15.5", "15.5", "openSUSE Leap",
                           "openSUSE Leap 15.5", None, None),
    "alpine-3.19": ("alpine", (), "3.19.1", None, "Alpine Linux", "Alpine Linux v3.19", None, None),
    "coreos-1688": ("coreos", (), "1688.5.3", "1688.5.3", "Container Linux by CoreOS",
                    "Container Linux by CoreOS 1688.5.3 (Rhyolite)", None, None),
    "flatcar-3815": ("flatcar", ("coreos",), "3815.2.0", "3815.2.0", "Flatcar Container Linux by Kinvolk",
                     "Flatcar Container Linux by Kinvolk 3815.2.0 (Oklo)", None, None),
    "mariner-2.0": ("mariner", (), "2.0", "2.0.20240123", "Common Base Linux Mariner",
                    "CBL-Mariner/Linux", None, None),
    "azurelinux-3.0": ("azurelinux", (), "3.0", "3.0.20240824", "Microsoft Azure Linux",
                       "Microsoft Azure Linux 3.0", None, None),
}


@pytest.mark.parametrize("fname", sorted(EXPECTED))
def test_real_files(fname):
    osr = parse_os_release((DATA / fname).read_text())
    got = (osr.id, osr.id_like, osr.version_id, osr.version, osr.name, osr.pretty_name,
           osr.variant_id, osr.version_codename)
    assert got == EXPECTED[fname]
    assert osr.raw["ID"] == osr.id


def test_raw_keeps_every_assignment():
    osr = parse_os_release((DATA / "rhel-7.4").read_text())
    assert osr.raw["REDHAT_BUGZILLA_PRODUCT_VERSION"] == "7.4"
    assert osr.raw["CPE_NAME"] == "cpe:/o:redhat:enterprise_linux:7.4:GA:server"
    assert len(osr.raw) == 16


def test_all_files_present():
    assert sorted(p.name for p in DATA.iterdir()) == sorted(EXPECTED)


def test_quoting_and_escapes():
    text = "\n".join([
        "# comment line",
        "   # indented comment",
        "",
        r'NAME="Foo \"quoted\" \$HOME \\ \`x\` \n"',
        "ID='it''s'",
        'VERSION="1.0"-beta',
        "VERSION_ID=2\\ 0",
        "PRETTY_NAME='single \"double\" \\ kept'",
        "this is junk",
        "=novalue",
        "1BAD=x",
        'VARIANT_ID="never closed',
        "VERSION_CODENAME = spaced  ",
        "ID_LIKE=\"rhel  centos\tfedora\"",
        "ID=later\r",
    ])
    osr = parse_os_release(text)
    assert osr.name == 'Foo "quoted" $HOME \\ `x` \\n'
    assert osr.version == "1.0-beta"
    assert osr.version_id == "2 0"
    assert osr.pretty_name == 'single "double" \\ kept'
    assert osr.variant_id is None
    assert "VARIANT_ID" not in osr.raw
    assert osr.version_codename == "spaced"
    assert osr.id_like == ("rhel", "centos", "fedora")
    assert osr.id == "later"  # the last assignment wins


def test_defaults_from_the_spec():
    osr = parse_os_release("VERSION_ID=1\n")
    assert (osr.id, osr.name, osr.pretty_name, osr.id_like) == ("linux", "Linux", "Linux", ())
    assert parse_os_release('ID=""\nVERSION_ID=1').id == "linux"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "garbage\nmore garbage", 'ID="open'])
def test_nothing_usable_raises(text):
    with pytest.raises(OsReleaseError):
        parse_os_release(text)


def test_non_text_raises():
    with pytest.raises(OsReleaseError):
        parse_os_release(None)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_random_text(text):
    try:
        osr = parse_os_release(text)
    except ParseError:
        return
    assert osr.raw and isinstance(osr.id, str)


@settings(max_examples=300)
@given(st.sampled_from(sorted(EXPECTED)), st.data())
def test_truncated_real_files(fname, data):
    text = (DATA / fname).read_text()
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    try:
        osr = parse_os_release(text[:cut])
    except OsReleaseError:
        return
    # every key that survived truncation is a prefix of the real value or the value itself
    full = parse_os_release(text).raw
    for key, value in osr.raw.items():
        assert key in full or any(k.startswith(key) for k in full)


def test_inside_double_quotes_only_shell_specials_are_escaped():
    # sh keeps a backslash before any other character inside "..." (os-release(5) follows sh).
    osr = parse_os_release('NAME="a\\Xb\\$c\\"d\\\\e\\`f\\nX"\nID=x\n')
    assert osr.name == 'a\\Xb$c"d\\e`f\\nX'


def test_parsed_os_release_is_a_value():
    a = parse_os_release("ID=ubuntu\nVERSION_ID=22.04\n")
    b = parse_os_release('ID="ubuntu"\nVERSION_ID="22.04"\n# a comment\n')
    assert a == b and len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.id = "debian"


@pytest.mark.parametrize("line, value", [
    ("NAME='Red Hat \"Enterprise\" Linux'", 'Red Hat "Enterprise" Linux'),
    ("NAME='a'b'c'", "abc"),                 # adjacent words join, as in sh
    ("NAME='a\\b'", "a\\b"),                 # no escapes inside single quotes
    ("NAME=''x", "x"),
    ("NAME='x'\"y\"z", "xyz"),
])
def test_single_quotes(line, value):
    assert parse_os_release(line + "\nID=x\n").name == value


@pytest.mark.parametrize("line", ["NAME='open", "NAME=\"open", "NAME=ok'open", "NAME=\"open\\"])
def test_an_open_quote_leaves_the_line_out(line):
    osr = parse_os_release(f"ID=x\n{line}\n")
    assert osr.name == "Linux" and "NAME" not in osr.raw


def test_no_assignment_is_an_error_that_says_so():
    with pytest.raises(OsReleaseError) as info:
        parse_os_release("# only a comment\n\n")
    assert str(info.value) == "no KEY=VALUE assignment found in os-release text"


def test_a_trailing_backslash_outside_quotes_is_dropped():
    assert parse_os_release("ID=x\nNAME=abc\\\n").name == "abc"


def test_a_backslash_outside_quotes_keeps_the_next_character():
    assert parse_os_release("ID=x\nNAME=a\\b\n").name == "ab"
    assert parse_os_release("ID=x\nNAME=a\\ b\n").name == "a b"
