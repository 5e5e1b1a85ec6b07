"""``accelnet-agent --publish``: the root step of accelnet-agent-textfile.service, which copies
the sandboxed run's file into node_exporter's directory.

Both ends belong to others: the run's directory to the service's dynamic user (code that reads
hostile input), node_exporter's directory or its parent to node_exporter's user (on Debian
/var/lib/prometheus is prometheus's). The unit first did this with coreutils as root:
`install` read the run's file through a symlink the dynamic user planted (a sandboxed run
published /etc/shadow, mode 0644) and chmodded the temporary file by name after writing it
(a user owning the directory who swapped that name for a link made /etc/shadow
world-readable within 46 runs). Each test here is one of those attacks, run with the
command line the unit has."""

import os
import shlex
import stat
import subprocess
import threading

import pytest

import goldens
from accelnet.agent.textfile import PUBLISH_MAX_BYTES, TextfileError, publish_textfile
from agentproc import REPO, command, env
from testutil import unit_sections

UNIT = os.path.join(REPO, "systemd", "accelnet-agent-textfile.service")
METRICS = b"# HELP accelnet_build_info Build.\n# TYPE accelnet_build_info gauge\naccelnet_build_info{version=\"1\"} 1.0\n"


def unit_publish(run_dir, textfile_dir):
    """The unit's ExecStartPost command line, run here: this venv's agent, the test's two directories."""
    service = unit_sections(UNIT)["Service"]
    (line,) = service["ExecStartPost"]
    argv = shlex.split(line)
    assert argv[0] == "+/usr/bin/accelnet-agent"
    runtime = "/run/%s" % service["RuntimeDirectory"][0]
    args = [a.replace(runtime, str(run_dir)).replace("${ACCELNET_TEXTFILE_DIR}", str(textfile_dir)) for a in argv[1:]]
    return subprocess.run(command(*args), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)


@pytest.fixture
def dirs(tmp_path):
    run_dir, textfile_dir = tmp_path / "run", tmp_path / "node-exporter"
    run_dir.mkdir()
    textfile_dir.mkdir()
    (textfile_dir / "accelnet.prom").write_bytes(b"accelnet_previous 1\n")
    secret = tmp_path / "secret"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n")
    secret.chmod(0o600)
    return run_dir, textfile_dir, secret


def refused(result, textfile_dir, needle):
    assert result.returncode == 1, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (textfile_dir / "accelnet.prom").read_bytes() == b"accelnet_previous 1\n"
    assert os.listdir(str(textfile_dir)) == ["accelnet.prom"]


def test_what_a_once_run_writes_is_published_world_readable(dirs):
    run_dir, textfile_dir, _ = dirs
    once = subprocess.run(command("--once", "--snapshot", os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-2nics"),
                                  "--textfile", str(run_dir / "accelnet.prom")),
                          env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert once.returncode == 0, once.stderr
    old = os.umask(0o077)  # the unit's UMask= applies to the + command too
    try:
        result = unit_publish(run_dir, textfile_dir)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    published = textfile_dir / "accelnet.prom"
    assert published.read_bytes() == (run_dir / "accelnet.prom").read_bytes()
    assert stat.S_IMODE(published.stat().st_mode) == 0o644 and not published.is_symlink()
    assert os.listdir(str(textfile_dir)) == ["accelnet.prom"]


def test_a_symlink_left_by_the_sandboxed_run_is_not_followed(dirs):
    run_dir, textfile_dir, secret = dirs
    os.symlink(str(secret), str(run_dir / "accelnet.prom"))
    refused(unit_publish(run_dir, textfile_dir), textfile_dir, "a symbolic link")


def test_a_hard_link_a_fifo_and_a_directory_are_refused(dirs):
    run_dir, textfile_dir, secret = dirs
    source = run_dir / "accelnet.prom"
    os.link(str(secret), str(source))
    refused(unit_publish(run_dir, textfile_dir), textfile_dir, "has 2 links")
    source.unlink()
    os.mkfifo(str(source))  # opened without blocking: nobody writes to it
    refused(unit_publish(run_dir, textfile_dir), textfile_dir, "not a regular file")
    source.unlink()
    source.mkdir()
    refused(unit_publish(run_dir, textfile_dir), textfile_dir, "not a regular file")


def test_a_file_of_another_user_than_the_runs_is_refused(dirs):
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("needs root (chown) under CI")
        pytest.skip("needs root (chown)")
    run_dir, textfile_dir, _ = dirs
    os.chown(str(run_dir), 65534, 65534)  # the dynamic user's directory
    (run_dir / "accelnet.prom").write_bytes(METRICS)  # root's file in it
    refused(unit_publish(run_dir, textfile_dir), textfile_dir, "owned by uid 0, its directory by uid 65534")
    os.chown(str(run_dir / "accelnet.prom"), 65534, 65534)
    assert unit_publish(run_dir, textfile_dir).returncode == 0


@pytest.mark.parametrize("content,needle", [
    (METRICS + b"node_cpu_seconds_total{cpu=\"0\"} 1\n", "line 4 is not an accelnet_* metric"),
    (b"root:$6$hash:19000:0:99999:7:::\n", "line 1 is not an accelnet_* metric"),
    (b"# HELP node_load1 x\n", "line 1 is not an accelnet_* metric"),
])
def test_anything_but_the_agents_metrics_is_refused(dirs, content, needle):
    run_dir, textfile_dir, _ = dirs
    (run_dir / "accelnet.prom").write_bytes(content)
    refused(unit_publish(run_dir, textfile_dir), textfile_dir, needle)


def test_a_file_larger_than_the_bound_is_refused(dirs):
    run_dir, textfile_dir, _ = dirs
    line = b"accelnet_x 1\n"
    (run_dir / "accelnet.prom").write_bytes(line * (PUBLISH_MAX_BYTES // len(line) + 1))
    refused(unit_publish(run_dir, textfile_dir), textfile_dir, "larger than %d bytes" % PUBLISH_MAX_BYTES)


def test_a_textfile_directory_swapped_for_a_symlink_is_refused(dirs, tmp_path):
    """On Debian /var/lib/prometheus is prometheus's: that user can rename node-exporter away
    and put a link to any directory in its place."""
    run_dir, textfile_dir, _ = dirs
    (run_dir / "accelnet.prom").write_bytes(METRICS)
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    os.rename(str(textfile_dir), str(tmp_path / "moved"))
    os.symlink(str(elsewhere), str(textfile_dir))
    result = unit_publish(run_dir, textfile_dir)
    assert result.returncode == 1 and "a symbolic link or not a directory" in result.stderr, result.stderr
    assert os.listdir(str(elsewhere)) == []


def test_a_missing_directory_is_one_line(dirs):
    run_dir, _, _ = dirs
    (run_dir / "accelnet.prom").write_bytes(METRICS)
    with pytest.raises(TextfileError, match="directory /nonexistent/dir does not exist"):
        publish_textfile(str(run_dir / "accelnet.prom"), "/nonexistent/dir/accelnet.prom")


def test_names_swapped_in_the_directory_while_publishing_never_reach_another_file(dirs):
    """A user owning node_exporter's directory swaps every temporary name for a link to a
    secret as fast as it can while root publishes: the secret keeps its mode and content
    (coreutils' install chmodded it 0644 through such a link)."""
    run_dir, textfile_dir, secret = dirs
    (run_dir / "accelnet.prom").write_bytes(METRICS)
    before = secret.read_bytes()
    stop = threading.Event()
    swaps = []

    def attacker() -> None:
        while not stop.is_set():
            for name in os.listdir(str(textfile_dir)):
                if name.endswith(".tmp"):
                    try:
                        os.rename(str(textfile_dir / name), str(textfile_dir / ("x" + name)))
                        os.symlink(str(secret), str(textfile_dir / name))
                        swaps.append(name)
                    except OSError:
                        pass

    thread = threading.Thread(target=attacker)
    thread.start()
    try:
        for _ in range(300):
            try:
                publish_textfile(str(run_dir / "accelnet.prom"), str(textfile_dir / "accelnet.prom"))
            except TextfileError:
                pass
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    finally:
        stop.set()
        thread.join()
    assert secret.read_bytes() == before and stat.S_IMODE(secret.stat().st_mode) == 0o600
    print("%d names swapped for links during 300 publications" % len(swaps))


def test_publish_needs_textfile():
    result = subprocess.run(command("--publish", __file__), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=60)
    assert result.returncode == 2 and "--publish needs --textfile" in result.stderr
