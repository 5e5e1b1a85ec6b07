"""udev database files in systemd's format (device-private.c)."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.parsers.udevdb import UdevDbError, UdevRecord, parse_udev_db

DATA = Path(__file__).parent / "data" / "udev"


def test_synthetic_nic_record():
    rec = parse_udev_db((DATA / "n2_eth0_hv_netvsc_constructed").read_text())
    assert rec.properties["ID_NET_DRIVER"] == "hv_netvsc"
    assert rec.properties["ID_NET_NAME"] == "eth0"
    assert len(rec.properties) == 7
    assert rec.tags == ("systemd",)
    assert rec.current_tags == ("systemd",)
    assert rec.usec_initialized == 5046517
    assert rec.database_version == 1
    assert rec.devlinks == () and rec.devlink_priority is None


def test_vf_record_keeps_rule_decisions():
    rec = parse_udev_db((DATA / "n3_enP6757s1_mlx5_vf_constructed").read_text())
    assert rec.properties["NM_UNMANAGED"] == "1"
    assert rec.properties["ID_MODEL_FROM_DATABASE"] == "MT27800 Family [ConnectX-5 Virtual Function]"
    assert rec.properties["ID_PATH"] == "pci-1a65:00:02.0"
    assert list(rec.properties)[0] == "ID_NET_NAMING_SCHEME"  # file order kept


def test_devlinks_priority_and_watch():
    rec = parse_udev_db((DATA / "b8_0_sda_old_udev_constructed").read_text())
    assert rec.devlinks[1] == "/dev/disk/azure/root"
    assert len(rec.devlinks) == 3
    assert rec.devlink_priority == 0
    assert rec.current_tags == ()  # version-0 database: no Q entries
    assert rec.database_version is None
    assert rec.properties["ID_MODEL"] == "Virtual_Disk"


def test_systemd_rules_for_odd_entries():
    text = ("E:A=1\nE:B=x=y\nE:NOEQUALS\nE:=nokey\nE:A=\n"   # empty value unsets A
            "X:unknown letter\nGG:not a key\nG\n\nQ:current\nG:any\nG:any\n"
            "I:not-a-number\nI:-5\nV:4294967296\nL:-10\nI:42")  # last line unterminated: used
    rec = parse_udev_db(text)
    assert rec.properties == {"B": "x=y"}
    assert rec.tags == ("current", "any")
    assert rec.current_tags == ("current",)
    assert rec.usec_initialized == 42
    assert rec.database_version is None
    assert rec.devlink_priority == -10


def test_empty_text_is_an_empty_record():
    assert parse_udev_db("") == UdevRecord()
    assert parse_udev_db("\n\n") == UdevRecord()


@pytest.mark.parametrize("text", ["garbage", "hello world\nfoo bar\n", "I:abc\n", "E:novalue\n"])
def test_nothing_usable_raises(text):
    with pytest.raises(UdevDbError):
        parse_udev_db(text)


def test_non_text_raises():
    with pytest.raises(UdevDbError):
        parse_udev_db(None)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_random_text(text):
    try:
        rec = parse_udev_db(text)
    except ParseError:
        return
    assert all("=" not in k for k in rec.properties)


@settings(max_examples=300)
@given(st.sampled_from(sorted(p.name for p in DATA.iterdir())), st.data())
def test_truncated_files(name, data):
    text = (DATA / name).read_text()
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    try:
        rec = parse_udev_db(text[:cut])
    except UdevDbError:
        return
    full = parse_udev_db(text)
    # whole lines survive unchanged
    for key, value in rec.properties.items():
        assert full.properties[key].startswith(value)


@settings(max_examples=200)
@given(st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,15}", fullmatch=True),
                       st.text(alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)),
                               min_size=1, max_size=20), max_size=10))
def test_roundtrip_properties(props):
    text = "".join(f"E:{k}={v}\n" for k, v in props.items()) + "V:1\n"
    assert parse_udev_db(text).properties == props


def test_huge_numbers_are_ignored_like_systemd():
    rec = parse_udev_db("I:" + "9" * 5000 + "\nE:A=1\nL:" + "1" * 30 + "\n")
    assert (rec.usec_initialized, rec.devlink_priority, rec.properties) == (None, None, {"A": "1"})


@pytest.mark.parametrize("line, field, value", [
    ("L:2147483647", "devlink_priority", 2147483647), ("L:2147483648", "devlink_priority", None),
    ("L:-2147483648", "devlink_priority", -2147483648), ("L:-2147483649", "devlink_priority", None),
    ("L:-5", "devlink_priority", -5), ("L:+5", "devlink_priority", 5), ("L:0", "devlink_priority", 0),
    ("V:4294967295", "database_version", 4294967295), ("V:4294967296", "database_version", None),
    ("V:-1", "database_version", None), ("V:0", "database_version", 0),
    ("I:18446744073709551615", "usec_initialized", 2 ** 64 - 1), ("I:18446744073709551616", "usec_initialized", None),
    ("I:" + "0" * 30 + "7", "usec_initialized", 7),
])
def test_numbers_within_their_c_types(line, field, value):
    # systemd stores L: as an int, V: as an unsigned and I: as a usec_t (uint64_t).
    rec = parse_udev_db(line + "\nE:A=1\n")
    assert getattr(rec, field) == value


def test_an_entry_with_an_empty_value_is_an_entry():
    assert parse_udev_db("G:\n") == UdevRecord()
    assert parse_udev_db("E:A=1\nE:A=\n").properties == {}
