"""Property tests of the core's pure functions: any input gives a value, never an exception."""


from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.diagnosis.counters import DATAPATH_IDLE, DATAPATH_SYNTHETIC, DATAPATH_UNKNOWN, DATAPATH_VF, classify_datapath, synthetic_totals
from accelnet.errors import SnapshotError
from accelnet.readers.pci import parse_hex_id
from accelnet.readers.safetar import Member, link_problem, member_parts
from accelnet.readers.snapshot import read_meta

STAT_NAMES = st.sampled_from(
    ["vf_rx_packets", "vf_tx_packets", "vf_rx_bytes", "tx_queue_0_packets", "rx_queue_1_packets",
     "rx_queue_12_bytes", "cpu0_vf_rx_packets", "tx_scattered"]
) | st.text(max_size=30)
STATS = st.dictionaries(STAT_NAMES, st.integers(min_value=0, max_value=2**64 - 1), max_size=20)


@given(st.text(max_size=20) | st.none())
def test_hex_ids(text):
    value = parse_hex_id(text)
    assert value is None or (len(value) == 4 and int(value, 16) >= 0)


@given(STATS, STATS)
def test_datapath_is_always_one_of_four(before, after):
    assert classify_datapath(before, after) in (DATAPATH_VF, DATAPATH_SYNTHETIC, DATAPATH_IDLE, DATAPATH_UNKNOWN)
    assert all(v >= 0 for v in synthetic_totals(after).values())


@settings(max_examples=50)
@given(st.binary(max_size=300))
def test_snapshot_meta_from_any_bytes(tmp_path_factory, data):
    top = tmp_path_factory.mktemp("snap")
    (top / "snapshot.json").write_bytes(data)
    meta = read_meta(str(top))
    assert isinstance(meta["sample_interval_s"], float) and meta["sample_interval_s"] >= 0


@given(st.text(min_size=1, max_size=60), st.sampled_from(["file", "symlink", "hardlink", "dir"]),
       st.text(max_size=60))
def test_member_safety_never_lets_escapes_through(name, kind, target):
    member = Member(name=name, kind=kind, linkname=target)
    try:
        parts = member_parts(name)
    except SnapshotError:
        return
    assert ".." not in parts and not name.startswith("/")
    if link_problem(member) is None and kind == "symlink":
        assert not target.startswith("/")
