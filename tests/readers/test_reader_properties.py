"""Property tests of the readers' pure functions: any input gives a value or their one error,
never another exception."""

from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import SnapshotError
from accelnet.readers.pci import parse_hex_id
from accelnet.readers.safetar import Member, link_problem, member_parts
from accelnet.readers.snapshot import read_meta


@given(st.text(max_size=20) | st.none())
def test_hex_ids(text):
    value = parse_hex_id(text)
    assert value is None or (len(value) == 4 and int(value, 16) >= 0)


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
