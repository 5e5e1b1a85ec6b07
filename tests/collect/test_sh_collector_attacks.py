"""scripts/accelnet-collect under attack.

1. Names others can swap: the output directory may be writable by someone else (a sticky
   world-writable directory they own, the worst case: they may rename or delete any name in
   it). A user who swaps every name the collector makes for a symlink, in a loop while it
   runs, never gets a file outside that directory written, replaced or chmod'ed; an output
   path that is, or becomes at the worst moment, a symlink or a directory is refused, with
   and without --force (each window is also hit deterministically, by wrapping the tool that
   runs just before it).
2. IMDS answers are bounded: a redirect is a failure and is never followed, an answer over
   the size bound or one that drips bytes becomes a ``not_captured`` reason, all of IMDS
   shares one deadline, and JSON escaping is linear.
"""

import json
import os
import shutil
import stat
import tempfile

import pytest

from imdsserver import FakeImds
from shcollect import SCRIPT, fake_dmi, members, run_sh, shells, tool_dir
from testutil import require, require_tool

NOBODY = 65534
SHELLS = ["dash", "busybox"]


def _shell(name):
    return dict(shells())[name]


def _collect(shell, out, *args, extra_env=None):
    return run_sh(shell, str(out), "--sample-seconds", "0", "--no-imds", *args, extra_env=extra_env)


def _one_line(proc):
    assert proc.stderr.startswith("accelnet-collect: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# -- 1. the output path -------------------------------------------------------------------------


@pytest.fixture
def victim(tmp_path):
    """A file and a directory outside the output directory that must stay as they are."""
    place = tmp_path / "elsewhere"
    place.mkdir()
    path = place / "victim"
    path.write_text("precious\n")
    os.chmod(str(path), 0o644)
    inside = tmp_path / "victim-dir"
    inside.mkdir()
    return path, inside


def _untouched(victim):
    path, directory = victim
    assert path.read_text() == "precious\n" and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(str(directory)) == []


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
@pytest.mark.parametrize("kind", ["link-to-file", "link-to-dir", "dangling-link", "directory"])
@pytest.mark.parametrize("shell_name", SHELLS)
def test_an_output_path_that_is_a_link_or_a_directory_is_refused(tmp_path, victim, shell_name, kind, force):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "b.tar.gz"
    if kind == "directory":
        out.mkdir()
    else:
        target = {"link-to-file": victim[0], "link-to-dir": victim[1], "dangling-link": tmp_path / "nothing"}[kind]
        os.symlink(str(target), str(out))
    proc = _collect(_shell(shell_name), out, *force)
    assert proc.returncode == 1
    _one_line(proc)
    assert ("symbolic link" if kind != "directory" else "is a directory") in proc.stderr
    _untouched(victim)
    assert not (tmp_path / "nothing").exists()
    assert sorted(os.listdir(str(out_dir))) == ["b.tar.gz"]  # no work directory left


def _wrapped(tmp_path, tool, script):
    """A PATH whose ``tool`` runs the real one, then ``script`` (sh) with $REAL_RC set."""
    bindir = tool_dir(str(tmp_path), ("ethtool", "ip", "lspci", "dmesg"))
    real = os.path.realpath(os.path.join(bindir, tool))
    os.unlink(os.path.join(bindir, tool))
    with open(os.path.join(bindir, tool), "w") as handle:
        handle.write('#!/bin/sh\n"%s" "$@"\nREAL_RC=$?\n%s\nexit $REAL_RC\n' % (real, script))
    os.chmod(os.path.join(bindir, tool), 0o755)
    return bindir


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
@pytest.mark.parametrize("became", ["link-to-file", "link-to-dir", "directory"])
@pytest.mark.parametrize("shell_name", SHELLS)
def test_an_output_path_that_becomes_a_link_or_a_directory_before_publishing_is_refused(
        tmp_path, victim, shell_name, became, force):
    """The output name is swapped right after the archive is made, the last step before
    publishing: the bundle is not published through it, whatever it became."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "b.tar.gz"
    plant = {"link-to-file": 'ln -s "%s" "%s"' % (victim[0], out),
             "link-to-dir": 'ln -s "%s" "%s"' % (victim[1], out),
             "directory": 'mkdir "%s"' % out}[became]
    bindir = _wrapped(tmp_path, "tar", plant)
    proc = _collect(_shell(shell_name), out, *force, extra_env={"PATH": bindir})
    assert proc.returncode == 1, proc.stderr
    _one_line(proc)
    _untouched(victim)
    assert (out.is_symlink() if became != "directory" else out.is_dir() and os.listdir(str(out)) == [])
    assert sorted(os.listdir(str(out_dir))) == ["b.tar.gz"]


@pytest.mark.parametrize("shell_name", SHELLS)
def test_a_link_planted_in_the_last_window_is_replaced_never_followed(tmp_path, victim, shell_name):
    """--force over an existing bundle: a link that appears between the last check and the
    rename (here: planted by a wrapper around ``mv`` itself) is replaced or refused (busybox
    mv -T refuses what resolves to a directory), never written through."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "b.tar.gz"
    for target in (victim[0], victim[1]):
        out.write_text("old bundle\n")
        shutil.rmtree(str(tmp_path / "bin"), ignore_errors=True)
        real_mv = shutil.which("mv")
        bindir = tool_dir(str(tmp_path), ("ethtool", "ip", "lspci", "dmesg"))
        os.unlink(os.path.join(bindir, "mv"))
        with open(os.path.join(bindir, "mv"), "w") as handle:
            handle.write('#!/bin/sh\nrm -f "%s"; ln -s "%s" "%s"\nexec "%s" "$@"\n' % (out, target, out, real_mv))
        os.chmod(os.path.join(bindir, "mv"), 0o755)
        proc = _collect(_shell(shell_name), out, "--force", extra_env={"PATH": bindir})
        _untouched(victim)
        if proc.returncode == 0:
            assert not out.is_symlink() and "snapshot/snapshot.json" in members(out)[0]
            assert stat.S_IMODE(out.stat().st_mode) == 0o600
        else:
            _one_line(proc)
            assert out.is_symlink()
            os.unlink(str(out))
        assert sorted(n for n in os.listdir(str(out_dir)) if n != "b.tar.gz") == []


@pytest.mark.parametrize("replacement", ["link-to-dir", "full-dir"])
@pytest.mark.parametrize("shell_name", SHELLS)
def test_a_work_directory_swapped_as_it_is_made_is_never_written_into(tmp_path, victim, shell_name, replacement):
    """mktemp made the work directory; before the collector enters it, the name is moved
    away and replaced by a link to another directory, or by a directory holding links to
    the victim where the collector's files would go. The collector notices (physical
    path, owner, mode, emptiness) and writes nothing."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    if replacement == "link-to-dir":
        swap = 'mv "$d" "$d.moved" && ln -s "%s" "$d"' % victim[1]
    else:
        swap = ('mv "$d" "$d.moved" && mkdir -m 700 "$d" && ln -s "%s" "$d/snapshot" && ln -s "%s" "$d/bundle.tar.gz"'
                % (victim[1], victim[0]))
    bindir = tool_dir(str(tmp_path), ("ethtool", "ip", "lspci", "dmesg"))
    real = os.path.realpath(os.path.join(bindir, "mktemp"))
    os.unlink(os.path.join(bindir, "mktemp"))
    with open(os.path.join(bindir, "mktemp"), "w") as handle:
        handle.write('#!/bin/sh\nd=$("%s" "$@") || exit 1\n%s\nprintf "%%s\\n" "$d"\n' % (real, swap))
    os.chmod(os.path.join(bindir, "mktemp"), 0o755)
    proc = _collect(_shell(shell_name), out_dir / "b.tar.gz", extra_env={"PATH": bindir})
    assert proc.returncode == 1 and "replaced" in proc.stderr, proc.stderr
    _one_line(proc)
    _untouched(victim)
    assert not (out_dir / "b.tar.gz").exists()


def _swap_names(arena, out_name, victim, victim_dir, stop):
    """The attacker's loop (run as another user who owns ``arena``). Each name root makes
    there is moved away and a link to the victim (or to its directory) put in its place,
    except one work directory in two, which is left alone so that the run gets to publish:
    while such a directory exists the bundle's own name flips between absent and a link
    to the victim or its directory, and otherwise it is kept absent. Returns how many
    names it swapped or planted."""
    me = os.getuid()
    swaps = n = 0
    out = os.path.join(arena, out_name)
    while not stop():
        n += 1
        try:
            names = os.listdir(arena)
        except OSError:
            continue
        publishing = False
        for name in names:
            if name.startswith("moved-") or name == out_name:
                continue
            path = os.path.join(arena, name)
            try:
                st = os.lstat(path)
                if st.st_uid == me:
                    continue
                if stat.S_ISDIR(st.st_mode) and sum(name.encode()) % 2:
                    publishing = True
                    continue
                os.rename(path, os.path.join(arena, "moved-%d-%s" % (n, name)))
                os.symlink(victim_dir if stat.S_ISDIR(st.st_mode) else victim, path)
                swaps += 1
            except OSError:
                pass
        try:
            if publishing and not os.path.lexists(out):
                os.symlink(victim if n % 4 < 2 else victim_dir, out)
                swaps += 1
            else:
                os.unlink(out)
        except OSError:
            pass
    return swaps


def _attacker(arena, victim, victim_dir):
    """Fork a child that becomes nobody and swaps names until told to stop (a byte on its
    pipe); returns (pid, stop pipe, result pipe)."""
    stop_r, stop_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest, no exceptions out of here
        code = 1
        try:
            os.close(stop_w)
            os.close(out_r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.set_blocking(stop_r, False)

            def stopped():
                try:
                    return os.read(stop_r, 1) != b"" or True
                except BlockingIOError:
                    return False

            swaps = _swap_names(arena, "b.tar.gz", victim, victim_dir, stopped)
            os.write(out_w, str(swaps).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(stop_r)
    os.close(out_w)
    return pid, stop_w, out_r


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_a_user_swapping_names_in_a_loop_never_gets_a_file_written(force):
    """Root collects into a sticky world-writable directory owned by another user (so the
    kernel's protected_symlinks does not step in, and that user may rename anything in it),
    while that user swaps every name root makes for a symlink to a root-owned file or
    directory elsewhere, in a tight loop. Whatever each run ends with, the file stays as it
    was (content and mode) and nothing lands in the directory."""
    require(os.geteuid() == 0, "needs root (the collector as root, the attacker as nobody)")
    base = tempfile.mkdtemp(prefix="accelnet-race-", dir="/tmp")
    try:
        os.chmod(base, 0o755)
        victim_dir = os.path.join(base, "victim-dir")
        os.mkdir(victim_dir, 0o755)
        victim = os.path.join(base, "victim")
        with open(victim, "w") as handle:
            handle.write("precious\n")
        os.chmod(victim, 0o644)
        arena = os.path.join(base, "arena")
        os.mkdir(arena)
        os.chown(arena, NOBODY, NOBODY)
        os.chmod(arena, 0o1777)
        pid, stop_w, out_r = _attacker(arena, victim, victim_dir)
        results = []
        try:
            for _ in range(3):
                for name in SHELLS:
                    proc = _collect(_shell(name), os.path.join(arena, "b.tar.gz"), *force)
                    results.append(proc.stderr.strip()[18:70] or "ok")
                    assert proc.returncode in (0, 1), proc.stderr
                    if proc.returncode:
                        _one_line(proc)
        finally:
            os.write(stop_w, b"x")
            os.close(stop_w)
            _, status = os.waitpid(pid, 0)
            with os.fdopen(out_r) as handle:
                answer = handle.read()
        assert status == 0 and answer.isdigit(), (status, answer)
        swaps = int(answer)
        with open(victim) as handle:
            assert handle.read() == "precious\n"
        st = os.stat(victim)
        assert stat.S_IMODE(st.st_mode) == 0o644 and st.st_uid == 0
        assert os.listdir(victim_dir) == []
        assert swaps > 0, "the attacker never swapped a name (runs: %s): the test attacked nothing" % results
        print("runs %s, swaps %d" % (results, swaps))
    finally:
        shutil.rmtree(base)


# -- 2. IMDS answers ------------------------------------------------------------------------------

IMDS_DOC = {"compute": {"vmSize": "Standard_D8s_v5", "location": "westeurope", "name": "vm1"},
            "network": {"interface": [{"macAddress": "000D3A2B3C4D"}]}}


def _imds_run(tmp_path, shell, url, client):
    tool = require_tool(client, client)
    bindir = tool_dir(str(tmp_path), ("ethtool", "ip", "lspci", "dmesg"))
    os.symlink(tool, os.path.join(bindir, client))
    bundle = tmp_path / "b.tar.gz"
    extra = {"ACCELNET_COLLECT_TEST_DMI_DIR": fake_dmi(str(tmp_path)), "PATH": bindir}
    proc = run_sh(shell, str(bundle), "--sample-seconds", "0", "--imds-url", url, extra_env=extra)
    assert proc.returncode == 0, proc.stderr
    _, files = members(bundle)
    meta = json.loads(files["snapshot/snapshot.json"])
    return files, meta.get("not_captured", {})


@pytest.mark.parametrize("client", ["curl", "wget"])
@pytest.mark.parametrize("shell_name", SHELLS)
def test_a_redirect_is_a_failure_and_never_followed(tmp_path, shell_name, client):
    with FakeImds({"compute": {"vmSize": "Attacker_Size"}}) as elsewhere, FakeImds(mode="redirect") as imds:
        imds.redirect_to = elsewhere.url
        files, missing = _imds_run(tmp_path, _shell(shell_name), imds.url, client)
    assert imds.requests and elsewhere.requests == []
    assert "snapshot/cmd/imds.json" not in files
    assert "IMDS did not answer" in missing["cmd/imds.json"]


@pytest.mark.parametrize("client", ["curl", "wget"])
@pytest.mark.parametrize("shell_name", SHELLS)
def test_a_1_mib_answer_becomes_a_reason(tmp_path, shell_name, client):
    with FakeImds(mode="huge", huge_bytes=1 << 20) as imds:
        files, missing = _imds_run(tmp_path, _shell(shell_name), imds.url, client)
    assert "snapshot/cmd/imds.json" not in files
    assert "larger than 4096 bytes" in missing["cmd/imds.json"] and "compute/vmSize" in missing["cmd/imds.json"]
    assert len(imds.requests) == 1, "the first answer over the bound ends IMDS"


@pytest.mark.parametrize("client", ["curl", "wget"])
def test_a_dripping_answer_is_cut_and_all_of_imds_shares_one_deadline(tmp_path, client):
    """One byte every 1.5 s: each answer is cut after 2 s, and after 10 s of IMDS no more
    field is asked (17 fields and up to 64 MACs would otherwise take minutes)."""
    with FakeImds(mode="drip", drip_s=1.5) as imds:
        files, missing = _imds_run(tmp_path, _shell("dash"), imds.url, client)
        asked = len(imds.requests)
    assert "snapshot/cmd/imds.json" not in files
    assert "did not answer within 10 s" in missing["cmd/imds.json"]
    assert 1 <= asked <= 6, asked


def test_busybox_wget_is_not_used_it_follows_redirects(tmp_path):
    busybox = require_tool("busybox", "busybox")
    bindir = tool_dir(str(tmp_path), ("ethtool", "ip", "lspci", "dmesg"))
    os.symlink(busybox, os.path.join(bindir, "wget"))
    bundle = tmp_path / "b.tar.gz"
    with FakeImds(IMDS_DOC) as imds:
        extra = {"ACCELNET_COLLECT_TEST_DMI_DIR": fake_dmi(str(tmp_path)), "PATH": bindir}
        proc = run_sh(_shell("busybox"), str(bundle), "--sample-seconds", "0", "--imds-url", imds.url,
                      extra_env=extra)
        assert imds.requests == []
    assert proc.returncode == 0, proc.stderr
    _, files = members(bundle)
    reason = json.loads(files["snapshot/snapshot.json"])["not_captured"]["cmd/imds.json"]
    assert "cannot refuse redirects" in reason


@pytest.mark.parametrize("shell_name", SHELLS)
def test_escaping_is_linear_and_exact(tmp_path, shell_name):
    """A field of 4,000 quotes, backslashes and control characters (the per-character loop
    took 9 s for 4 KiB) comes out as valid JSON of the same text, control characters dropped."""
    nasty = ('"\\' * 1000) + "\t\x01end" + ("\\\"" * 999)
    doc = {"compute": {"vmSize": "Standard_D8s_v5", "name": nasty}}
    with FakeImds(doc) as imds:
        files, missing = _imds_run(tmp_path, _shell(shell_name), imds.url, "curl")
    assert "cmd/imds.json" not in missing
    kept = json.loads(files["snapshot/cmd/imds.json"])
    assert kept["compute"]["name"] == nasty.replace("\t", "").replace("\x01", "")
    assert kept["compute"]["vmSize"] == "Standard_D8s_v5"


def test_every_shell_keeps_its_work_directory_private(tmp_path):
    """The work directory is 0700 while it exists, and the archive in it 0600."""
    seen = []
    for name, shell in shells():
        (tmp_path / name).mkdir()
        bindir = _wrapped(tmp_path / name, "tar", 'ls -ldn . bundle.tar.gz >> "%s"' % (tmp_path / "modes"))
        proc = _collect(shell, tmp_path / ("%s.tar.gz" % name), extra_env={"PATH": bindir})
        assert proc.returncode == 0, proc.stderr
        seen.append(name)
    with open(str(tmp_path / "modes")) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 2 * len(seen)
    for line in lines:
        mode, name = line.split()[0], line.split()[-1]
        assert mode == ("drwx------" if name == "." else "-rw-------"), line
