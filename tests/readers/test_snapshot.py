"""Snapshots: directories and archives open the same way; unsafe archives are refused."""

import io
import json
import tarfile

import pytest

from accelnet.errors import SnapshotError
from accelnet.readers.snapshot import open_snapshot


def write_snapshot(top):
    (top / "root/proc/sys/kernel").mkdir(parents=True)
    (top / "root/proc/sys/kernel/osrelease").write_text("5.15.0-1089-azure\n")
    (top / "cmd").mkdir()
    (top / "snapshot.json").write_text(json.dumps({"format": 1, "sample_interval_s": 5}))


def test_directory_and_archive_read_alike(tmp_path):
    top = tmp_path / "snap"
    write_snapshot(top)
    archive = tmp_path / "snap.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(top, arcname="bundle")
    with open_snapshot(str(top)) as host:
        assert host.read_attr("/proc/sys/kernel/osrelease") == "5.15.0-1089-azure"
        assert host.meta["sample_interval_s"] == 5.0
    with open_snapshot(str(archive)) as host:
        assert host.read_attr("/proc/sys/kernel/osrelease") == "5.15.0-1089-azure"
        root = host.root
    assert not (tmp_path / root).exists()  # temporary extraction removed


def _archive_with(tmp_path, member: tarfile.TarInfo, data: bytes = b""):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("snap/snapshot.json")
        payload = b"{}"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data) if data else None)
    return str(archive)


@pytest.mark.parametrize(
    "name,kind,target",
    [
        ("/etc/passwd", tarfile.REGTYPE, ""),
        ("snap/../../escape", tarfile.REGTYPE, ""),
        ("snap/root/abs", tarfile.SYMTYPE, "/etc/passwd"),
        ("snap/root/up", tarfile.SYMTYPE, "../../../etc/passwd"),
        ("snap/root/hard", tarfile.LNKTYPE, "../outside"),
        ("snap/root/dev", tarfile.CHRTYPE, ""),
    ],
)
def test_unsafe_members_refused(tmp_path, name, kind, target):
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = target
    archive = _archive_with(tmp_path, member, b"x" if kind == tarfile.REGTYPE else b"")
    with pytest.raises(SnapshotError) as err:
        with open_snapshot(archive):
            pass
    assert "refusing" in str(err.value)


def test_not_a_snapshot(tmp_path):
    (tmp_path / "random").mkdir()
    with pytest.raises(SnapshotError):
        with open_snapshot(str(tmp_path / "random")):
            pass
    (tmp_path / "file.txt").write_text("hello")
    with pytest.raises(SnapshotError):
        with open_snapshot(str(tmp_path / "file.txt")):
            pass
    with pytest.raises(SnapshotError):
        with open_snapshot(str(tmp_path / "missing")):
            pass


def test_truncated_archive(tmp_path):
    top = tmp_path / "snap"
    write_snapshot(top)
    archive = tmp_path / "snap.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(top, arcname="bundle")
    data = archive.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SnapshotError):
        with open_snapshot(str(cut)):
            pass
