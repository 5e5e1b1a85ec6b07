"""Hostile snapshots can neither write outside the extraction directory, nor make the check
read this machine, nor grow memory, nor take unbounded work, nor hang, nor leave files.

Every archive is built here; each test is one class of attack.
"""

import glob
import json
import os
import pathlib
import signal
import subprocess
import sys
import tarfile
import threading
import time

import pytest

from accelnet.errors import SnapshotError
from accelnet.readers import safetar, tempdir
from accelnet.readers.host import MAX_SNAPSHOT_STEPS, Host
from accelnet.readers.snapshot import open_snapshot

from hostile import (FIXTURES, REPO, pax_record, big_captures_archive, climbing_chain, deep_tree_archive,
                     fixture_archive, header_bomb, pax_pileup, run_check, snapshot_json, wide_archive,
                     write_archive)


@pytest.fixture
def victim(tmp_path):
    """A root-owned-like 0600 file outside any extraction directory."""
    path = tmp_path / "outside" / "victim"
    path.parent.mkdir()
    path.write_text("precious\n")
    os.chmod(str(path), 0o600)
    return path


def _unchanged(victim):
    assert victim.read_text() == "precious\n"
    assert victim.stat().st_mode & 0o777 == 0o600


def _open(archive):
    with open_snapshot(str(archive)) as host:
        return host


# -- 1. links: nothing is written through one, hard links included --------------------------


def _through_chain(victim, kind, data=b"owned\n", link=""):
    """Members: a chain climbing far above the extraction dir, then one through it."""
    hops = len(str(victim).split("/")) + 12  # more than enough to reach /
    chain = climbing_chain("snap/root", hops)
    through = f"snap/root/l{hops}/{str(victim).lstrip('/')}"
    return [snapshot_json()] + chain + [(through, kind, data, link)]


@pytest.mark.parametrize("kind", [tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE])
def test_symlink_chain_cannot_carry_a_later_member_outside(tmp_path, victim, kind):
    link = {tarfile.SYMTYPE: ".", tarfile.LNKTYPE: "snap/snapshot.json"}.get(kind, "")
    members = _through_chain(victim, kind, b"owned\n" if kind == tarfile.REGTYPE else b"", link)
    archive = write_archive(str(tmp_path / "chain.tar.gz"), members)
    with pytest.raises(SnapshotError) as err:
        _open(archive)
    assert "is a link or a file, not a directory" in str(err.value)
    _unchanged(victim)


def test_hard_link_through_a_chain_cannot_read_outside(tmp_path, victim):
    hops = len(str(victim).split("/")) + 12
    members = [snapshot_json()] + climbing_chain("snap/root", hops) + [
        ("snap/root/copy", tarfile.LNKTYPE, b"", f"snap/root/l{hops}/{str(victim).lstrip('/')}")]
    archive = write_archive(str(tmp_path / "hard.tar.gz"), members)
    with pytest.raises(SnapshotError):
        _open(archive)


def test_a_member_replacing_a_link_replaces_the_link_not_its_target(tmp_path, victim):
    """tar semantics (a later member of the same name wins) without writing through."""
    members = [snapshot_json(), ("snap/root/x", tarfile.SYMTYPE, b"", "../../../../../../../" + str(victim)),
               ("snap/root/x", tarfile.REGTYPE, b"mine\n", "")]
    # the lexical check refuses the obvious escape; build one it lets through instead
    members[1] = ("snap/root/x", tarfile.SYMTYPE, b"", ".")
    archive = write_archive(str(tmp_path / "replace.tar.gz"), members)
    with open_snapshot(str(archive)) as host:
        assert host.read_text("/x") == "mine\n"
    _unchanged(victim)


def test_root_as_a_chain_to_slash_never_reads_this_machine(tmp_path):
    members = [snapshot_json()] + climbing_chain("snap", 40) + [("snap/root", tarfile.SYMTYPE, b"", "l40")]
    archive = write_archive(str(tmp_path / "rootchain.tar.gz"), members)
    with pytest.raises(SnapshotError) as err:
        _open(archive)
    assert "root/ is not a directory inside the snapshot" in str(err.value)
    result = run_check(["--snapshot", str(archive), "--sample-seconds", "0"])
    assert result["rc"] == 3 and "root/" in (result["stdout"] + result["stderr"]), result
    assert "internal error" not in (result["stdout"] + result["stderr"])


def test_root_link_to_slash_in_a_directory_snapshot(tmp_path):
    top = tmp_path / "snap"
    top.mkdir()
    os.symlink("/", str(top / "root"))
    with pytest.raises(SnapshotError):
        with open_snapshot(str(top)):
            pass


def test_reads_are_jailed_by_the_real_path_of_what_is_opened(tmp_path):
    """Even when the resolved path is swapped for a link after resolution (a race with a
    writer of a directory snapshot), the file opened is checked, not the name."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=inside\n")
    outside = tmp_path / "secret"
    outside.write_text("ID=outside\n")
    host = Host(root=str(root), live=False)
    assert host.read_text("/etc/os-release") == "ID=inside\n"  # resolution cached
    os.unlink(str(root / "etc/os-release"))
    os.symlink(str(outside), str(root / "etc/os-release"))  # last component: O_NOFOLLOW
    assert host.read_text("/etc/os-release") is None
    os.unlink(str(root / "etc/os-release"))
    os.rmdir(str(root / "etc"))
    os.symlink(str(tmp_path), str(root / "etc"))  # a parent swapped: the opened path is outside
    (tmp_path / "os-release").write_text("ID=outside\n")
    assert host.read_text("/etc/os-release") is None
    assert host.list_dir("/etc") == []


def test_legitimate_relative_sysfs_links_still_work(tmp_path):
    archive = fixture_archive(str(tmp_path / "good.tar.gz"))
    direct = run_check(["--snapshot", os.path.join(FIXTURES, "ubuntu2204-cx5-2nics"), "--json"])
    packed = run_check(["--snapshot", archive, "--json"])
    assert packed["rc"] == direct["rc"] and packed["stdout"] == direct["stdout"]


# -- 2. header bombs: bounded before they are read --------------------------------------------


@pytest.mark.parametrize("kind", [b"x", b"L", b"K", b"g"])
def test_header_bombs_are_refused_before_being_read(tmp_path, kind):
    bomb = header_bomb(str(tmp_path / "bomb.tar.gz"), kind, claimed=512 << 20, written=1 << 20)
    with pytest.raises(SnapshotError) as err:
        _open(bomb)
    assert "limit 64 KiB" in str(err.value)


def test_header_bomb_does_not_grow_memory(tmp_path):
    """The whole check on the 512 MiB PAX-header bomb stays near a normal check's RSS."""
    bomb = header_bomb(str(tmp_path / "bomb.tar.gz"), b"x", claimed=512 << 20)
    assert os.path.getsize(bomb) < 1 << 20
    normal = run_check(["--snapshot", fixture_archive(str(tmp_path / "good.tar.gz")), "--sample-seconds", "0"])
    attacked = run_check(["--snapshot", bomb, "--sample-seconds", "0"])
    assert attacked["rc"] == 3 and "PAX header" in (attacked["stdout"] + attacked["stderr"]), attacked
    print(f"peak RSS: normal {normal['maxrss_kib']} KiB, header bomb {attacked['maxrss_kib']} KiB")
    assert attacked["maxrss_kib"] < normal["maxrss_kib"] + 32 * 1024


def test_data_and_member_count_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(safetar, "MAX_DATA_BYTES", 1000)
    big = write_archive(str(tmp_path / "big.tar.gz"), [snapshot_json(), ("snap/root/f", tarfile.REGTYPE, b"x" * 2000, "")])
    with pytest.raises(SnapshotError, match="unpacks to more than"):
        _open(big)
    monkeypatch.setattr(safetar, "MAX_MEMBERS", 5)
    many = write_archive(str(tmp_path / "many.tar.gz"),
                         [snapshot_json()] + [(f"snap/root/f{i}", tarfile.REGTYPE, b"", "") for i in range(10)])
    with pytest.raises(SnapshotError, match="more than 5 members"):
        _open(many)


# -- 3. depth and work --------------------------------------------------------------------------


def test_deep_tree_is_a_clear_unknown_and_leaves_nothing(tmp_path):
    archive = deep_tree_archive(str(tmp_path / "deep.tar.gz"), depth=1500)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    result = run_check(["--snapshot", archive, "--sample-seconds", "0"], env={"TMPDIR": str(tmpdir)})
    assert result["rc"] == 3, result
    assert "levels deep (limit 64)" in (result["stdout"] + result["stderr"]) and "internal error" not in (result["stdout"] + result["stderr"])
    assert os.listdir(str(tmpdir)) == []


def _deep_dirs(top, depth, name):
    """``depth`` nested directories under ``top``, made with directory descriptors (their
    path can exceed PATH_MAX), a file and a link at the bottom."""
    fd = os.open(str(top), os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    os.symlink("/", "up", dir_fd=fd)
    os.close(fd)


@pytest.mark.parametrize("depth,name", [(1500, "d"), (300, "n" * 60)])
def test_remove_tree_is_iterative_and_ignores_path_max(tmp_path, depth, name):
    top = tmp_path / "deep"
    top.mkdir()
    _deep_dirs(top, depth, name)
    safetar.remove_tree(str(top))
    assert not top.exists()


def test_link_resolution_work_is_bounded_per_snapshot(tmp_path, monkeypatch):
    """Chains of links (each resolution up to the hop limit) cost at most the snapshot's
    budget of lstat calls in all, then read as missing."""
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(".", str(root / "a"))
    (root / "f").write_text("x")
    host = Host(root=str(root), live=False)
    calls = []
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: calls.append(p) or real_lstat(p, *a, **k))
    answers = [host.read_text("/" + "a/" * 39 + "d/.." * (i % 500) + f"/f{'/.' * i}") for i in range(3000)]
    assert len(calls) <= MAX_SNAPSHOT_STEPS
    assert answers[0] is None or answers[0] == "x"
    assert answers[-1] is None
    # resolved prefixes are remembered, so the chain costs its hops once, not once per path
    assert len(calls) < 1000
    # and once a snapshot's budget is spent, every further path reads as missing
    spent = Host(root=str(root), live=False)
    for i in range(MAX_SNAPSHOT_STEPS):
        spent.read_text("/missing-%d" % i)
    assert spent.files.steps_left == 0 and spent.read_text("/f") is None


# -- 4. only regular files and directories are opened -------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "socket"])
def test_special_files_are_refused_without_blocking(tmp_path, kind):
    if kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    elif kind == "socket":
        import socket
        path = str(tmp_path / "sock")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path)
    else:
        path = kind
    result = run_check(["--snapshot", path, "--sample-seconds", "0"], timeout=60)
    assert result["rc"] == 3 and "neither a directory nor a regular file" in (result["stdout"] + result["stderr"]), result


# -- SIGTERM: the temporary directory goes -------------------------------------------------------

_SLOW_CHECK = r"""
import sys, time
import accelnet.diagnosis.facts as facts
def slow(host, options):
    print("extracted", flush=True)
    time.sleep(60)
facts.gather = slow
from accelnet.cli.check import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_removes_the_temporary_directory(tmp_path):
    archive = fixture_archive(str(tmp_path / "good.tar.gz"))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir),
               PYTHONPATH=os.pathsep.join(filter(None, [os.path.join(REPO, "agent"), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_CHECK, "--snapshot", archive], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        assert proc.stdout.readline().strip() == "extracted"
        assert glob.glob(str(tmpdir / "accelnet-snapshot-*"))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3 and "terminated by" in out, (out, err)
    assert os.listdir(str(tmpdir)) == []


# -- 5. metadata that piles up, and archives at every limit: 64 MiB at most -------------------

#: What any archive the limits accept may cost the whole check (README).
MAX_RSS_KIB = 64 * 1024


def test_pax_headers_piling_up_are_refused_within_the_memory_bound(tmp_path):
    """Back-to-back PAX headers of fresh keys (each under the per-header limit): 2.8 GiB RSS
    before, when every key was kept; now the headers before one member are bounded."""
    pileup = pax_pileup(str(tmp_path / "pileup.tar.gz"), headers=400)
    attacked = run_check(["--snapshot", pileup, "--sample-seconds", "0"])
    assert attacked["rc"] == 3 and "of headers before one member" in attacked["stdout"], attacked
    assert attacked["maxrss_kib"] < MAX_RSS_KIB, attacked["maxrss_kib"]


def test_metadata_is_bounded_per_member_and_per_archive_and_counts_as_members(tmp_path, monkeypatch):
    twice = pax_pileup(str(tmp_path / "twice.tar.gz"), headers=2, per_header=40 << 10)
    with pytest.raises(SnapshotError, match="more than 64 KiB of headers before one member"):
        _open(twice)
    spread = pax_pileup(str(tmp_path / "spread.tar.gz"), headers=1, per_header=40 << 10, members=30)
    monkeypatch.setattr(safetar, "MAX_META_BYTES", 1 << 20)
    with pytest.raises(SnapshotError, match="more than 1 MiB of headers"):
        _open(spread)
    monkeypatch.setattr(safetar, "MAX_META_BYTES", 32 << 20)
    monkeypatch.setattr(safetar, "MAX_MEMBERS", 40)  # 30 members, 30 headers
    with pytest.raises(SnapshotError, match="more than 40 members"):
        _open(spread)


def test_only_the_pax_keys_the_reader_uses_are_kept():
    records = b"".join(pax_record(k, v) for k, v in (("mtime", "1"), ("path", "a/b"), ("k1", "x" * 100),
                                                         ("linkpath", "c"), ("size", "7"), ("SCHILY.xattr.x", "y")))
    assert safetar._pax_records(records) == {"path": "a/b", "linkpath": "c", "size": "7"}
    assert safetar._pax_records(records, ()) == {}
    with pytest.raises(SnapshotError, match="malformed PAX"):
        safetar._pax_records(b"99 path=x\n")


@pytest.mark.parametrize("size", ["\u0661\u0662", "1" * 21, "-1", "0x10", ""])
def test_a_pax_size_is_plain_decimal_digits(tmp_path, size):
    block = _pax_size_archive(size)
    archive = tmp_path / "size.tar"
    archive.write_bytes(block)
    with pytest.raises(SnapshotError, match="bad PAX size"):
        _open(str(archive))


def _pax_size_archive(size: str) -> bytes:
    records = pax_record("size", size)
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type = tarfile.XHDTYPE
    pax.size = len(records)
    member = tarfile.TarInfo("snap/root/f")
    return (pax.tobuf(format=tarfile.USTAR_FORMAT) + records + bytes(-len(records) % 512)
            + member.tobuf(format=tarfile.USTAR_FORMAT) + bytes(1024))


def test_fresh_statistics_in_every_capture_stay_within_the_memory_bound(tmp_path):
    """1 MiB of fresh names in each ethtool -S capture: each is read up to its bound, the
    samples read as unparsable naming the file, and the check stays within 64 MiB."""
    archive = big_captures_archive(str(tmp_path / "stats.tar.gz"))
    result = run_check(["--snapshot", archive, "--sample-seconds", "0", "--json"])
    assert result["maxrss_kib"] < MAX_RSS_KIB, result["maxrss_kib"]
    report = json.loads(result["stdout"])
    datapath = next(c for c in report["checks"] if c["id"] == "datapath.vf")
    assert datapath["status"] == "unknown"
    assert "cmd/ethtool-S.eth0.0.txt: more than 16384 statistics" in datapath["summary"]


@pytest.mark.parametrize("where", ["sys/class/net", "sys/bus/pci/devices"])
def test_a_directory_of_many_entries_is_read_within_the_memory_bound(tmp_path, where):
    archive = wide_archive(str(tmp_path / "wide.tar.gz"), entries=30_000, where=where)
    result = run_check(["--snapshot", archive, "--sample-seconds", "0", "--json", "-t", "300"], timeout=900)
    assert result["maxrss_kib"] < MAX_RSS_KIB, result["maxrss_kib"]
    report = json.loads(result["stdout"])  # one report, not two status lines
    assert report["status"] in ("unknown", "critical")


def test_directory_listings_and_path_memory_of_a_snapshot_are_bounded(tmp_path, monkeypatch):
    from accelnet.readers import host as host_module

    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    for i in range(50):
        (root / "d" / ("e%02d" % i)).mkdir()
    monkeypatch.setattr(host_module, "MAX_DIR_ENTRIES", 20)
    monkeypatch.setattr(host_module, "MAX_CACHED_PATHS", 30)
    host = Host(root=str(root), live=False)
    names = host.list_dir("/d")
    assert len(names) == 20 and names == sorted(names)
    for i in range(50):
        host.read_text("/d/e%02d/attr" % i)
    assert len(host.files._resolved) <= 30 and len(host.files._prefixes) <= 30
    assert host.is_dir("/d/e07")  # forgetting costs work again, never an answer


def _alarm_during_removal(top, monkeypatch, when=100):
    """Build a tree in ``top`` removed by temporary_directory; SIGALRM (the check's --timeout,
    raising Timeout) strikes at the ``when``-th unlink of the removal. Returns the unlinks."""

    class Timeout(Exception):
        pass

    def on_alarm(signum, frame):
        raise Timeout()

    real_unlink = os.unlink
    calls = []

    def unlink(*args, **kwargs):
        calls.append(1)
        if len(calls) == when:  # the timeout strikes halfway
            os.kill(os.getpid(), signal.SIGALRM)
        return real_unlink(*args, **kwargs)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with pytest.raises(Timeout):
            with tempdir.temporary_directory("accelnet-test-", dir=str(top)) as work:
                for i in range(300):
                    with open(os.path.join(work, "f%03d" % i), "w") as handle:
                        handle.write("x")
                _deep_dirs(pathlib.Path(work), 50, "d")
                monkeypatch.setattr(os, "unlink", unlink)
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGALRM, previous)
    return calls


def test_a_timeout_during_the_removal_waits_until_the_tree_is_gone(tmp_path, monkeypatch):
    """accelnet-check's --timeout is SIGALRM raising where it strikes: in the middle of
    removing an unpacked snapshot (or a bundle's work directory) it left the rest behind.
    The signal now waits until the tree is gone, then raises."""
    calls = _alarm_during_removal(tmp_path, monkeypatch)
    assert len(calls) > 100 and os.listdir(str(tmp_path)) == []


def test_the_removal_is_held_also_while_another_thread_runs(tmp_path, monkeypatch):
    """A signal sent to the process goes to any thread that does not block it: blocking it
    in the main thread alone let another thread take it, and Python ran the raising handler
    in the main thread, halfway through the removal, all the same."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        calls = _alarm_during_removal(tmp_path, monkeypatch)
    finally:
        stop.set()
        other.join()
    assert len(calls) > 100 and os.listdir(str(tmp_path)) == []
