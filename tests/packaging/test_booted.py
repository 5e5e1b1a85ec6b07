"""The .deb under a booted systemd: what an operator sees after `apt-get install`.

One Debian 12 container (booted_tree.py's cached tree, copied per run) boots with systemd as
PID 1 under `systemd-nspawn -b --register=no --keep-unit --private-network` (no host systemd
needed, its own network namespace: nothing it serves reaches the host). The .deb built from
this tree is installed inside with apt-get; every check below shares that one boot, in order:
the agent active and READY (Type=notify), the watchdog fed, the `systemd-analyze security`
exposure the unit documents, /metrics served, reload and restart keep serving, the kernel
log through the journal (a container has no kernel records of its own: the agent says so with
accelnet_kernel_log_up 0 and the reason, records forged with systemd-cat do not count, and the
unit's sandbox does read the journal with the systemd-journal group), the textfile timer
feeding the real prometheus-node-exporter through start, restart, stop and purge with
node_textfile_scrape_error 0 throughout, and a purge that leaves nothing.

Runs under CI=true or ACCELNET_TEST_PACKAGES=1, as root (debootstrap, nspawn). The first run
builds the tree (a few minutes); later runs copy it.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List

import pytest

from booted_tree import cached_tree
from packaging_helpers import REPO_ROOT, require, require_tool

pytestmark = pytest.mark.skipif(
    os.environ.get("CI") != "true" and os.environ.get("ACCELNET_TEST_PACKAGES") != "1",
    reason="boots a container and installs the package: set ACCELNET_TEST_PACKAGES=1 (always on under CI=true)",
)

PORT = 9837
TEXTFILE = "/var/lib/prometheus/node-exporter/accelnet.prom"
#: What the agent's unit says its exposure is (its comment and packaging/README.md).
DOCUMENTED_EXPOSURE = "1.1"


class Container:
    """A booted container: commands run inside it through nsenter into PID 1's namespaces."""

    def __init__(self, root: Path, nspawn: subprocess.Popen, pid1: int) -> None:
        self.root, self.nspawn, self.pid1 = root, nspawn, pid1

    def run(self, *argv: str, check: bool = True, timeout: float = 300, stdin: str = "") -> subprocess.CompletedProcess:
        result = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", "--", "env", "-i",
                                 "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive",
                                 *argv], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, timeout=timeout)
        if check:
            assert result.returncode == 0, (argv, result.stdout[-3000:], result.stderr[-3000:])
        return result

    def show(self, unit: str, prop: str) -> str:
        return self.run("systemctl", "show", "--value", "-p", prop, unit).stdout.strip()

    def get(self, port: int, path: str = "/metrics") -> str:
        """GET http://127.0.0.1:PORT/PATH inside the container's network namespace (the host's
        Python: the image has no HTTP client)."""
        code = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
                "'http://127.0.0.1:%d%s', timeout=20).read().decode())" % (port, path))
        result = subprocess.run(["nsenter", "-t", str(self.pid1), "-n", "--", "/usr/bin/python3", "-c", code],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def wait_for(self, what, timeout: float = 90.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = what()
                if value:
                    return value
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting")
            time.sleep(1)


def _children(pid: int) -> List[int]:
    found: List[int] = []
    for task in Path("/proc/%d/task" % pid).iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


@pytest.fixture(scope="module")
def container():
    require(os.geteuid() == 0, "booting a container needs root")
    require_tool("debootstrap", "debootstrap")
    nspawn = require_tool("systemd-nspawn", "systemd-container")
    require_tool("nsenter", "util-linux")
    work = Path(tempfile.mkdtemp(prefix="accelnet-booted-"))
    process = None
    try:
        out = work / "out"
        built = subprocess.run(["bash", str(REPO_ROOT / "packaging" / "build-deb.sh")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, timeout=900,
                               env=dict(os.environ, ACCELNET_PACKAGE_OUT=str(out), LINTIAN="0"))
        assert built.returncode == 0, built.stdout[-3000:]
        deb = next(out.glob("accelnet_*_all.deb"))
        root = work / "root"
        assert subprocess.run(["cp", "-a", "--reflink=auto", cached_tree(), str(root)]).returncode == 0
        shutil.copy(str(deb), str(root / "root" / "accelnet.deb"))
        process = subprocess.Popen([nspawn, "-D", str(root), "-b", "--register=no", "--keep-unit", "--private-network",
                                    "-q"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not _children(process.pid):
            assert process.poll() is None and time.monotonic() < deadline, "systemd-nspawn did not start the container"
            time.sleep(0.2)
        box = Container(root, process, _children(process.pid)[0])
        # multi-user.target reached (systemd-logind may still be starting: its job does not
        # block anything the package needs); until PID 1 answers at all, systemctl prints nothing
        deadline = time.monotonic() + 180
        state = ""
        while state != "active" and time.monotonic() < deadline:
            time.sleep(1)
            state = box.run("systemctl", "is-active", "multi-user.target", check=False, timeout=60).stdout.strip()
        assert state == "active", box.run("systemctl", "list-jobs", "--no-pager", check=False).stdout
        box.run("apt-get", "install", "-y", "--no-install-recommends", "/root/accelnet.deb", timeout=600)
        yield box
    finally:
        if process is not None and process.poll() is None:
            pid1 = (_children(process.pid) or [None])[0]
            if pid1:
                os.kill(pid1, signal.SIGRTMIN + 4)  # systemd: power off
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        shutil.rmtree(str(work), ignore_errors=True)


def _value(body: str, series: str) -> float:
    for line in body.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("%s not in the scrape" % series)


def test_the_agent_is_active_ready_and_feeds_the_watchdog(container: Container) -> None:
    assert container.run("systemctl", "is-active", "accelnet-agent").stdout.strip() == "active"
    assert container.run("systemctl", "is-enabled", "accelnet-agent").stdout.strip() == "enabled"
    # Type=notify: "active" only after READY=1; a watchdog timestamp only after WATCHDOG=1
    assert container.show("accelnet-agent", "Type") == "notify"
    assert container.show("accelnet-agent", "WatchdogUSec") == "30s"
    first = int(container.wait_for(lambda: container.show("accelnet-agent", "WatchdogTimestampMonotonic") not in ("", "0")
                                   and container.show("accelnet-agent", "WatchdogTimestampMonotonic")))
    later = container.wait_for(lambda: int(container.show("accelnet-agent", "WatchdogTimestampMonotonic")) > first,
                               timeout=60)
    assert later
    assert container.show("accelnet-agent", "NRestarts") == "0"


def test_exposure_is_what_the_unit_documents(container: Container) -> None:
    for unit in ("accelnet-agent", "accelnet-agent-textfile"):
        security = container.run("systemd-analyze", "security", "--no-pager", unit).stdout
        exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security).group(1)
        print("%s: exposure %s (booted systemd 252)" % (unit, exposure))
        assert exposure == DOCUMENTED_EXPOSURE, security[-2000:]
    assert "exposure %s" % DOCUMENTED_EXPOSURE in (REPO_ROOT / "packaging" / "README.md").read_text()


def test_metrics_are_served_and_survive_reload_and_restart(container: Container) -> None:
    body = container.wait_for(lambda: container.get(PORT))
    assert _value(body, 'accelnet_build_info{version="%s"}' % _version()) == 1
    assert _value(body, 'accelnet_scrape_collector_success{collector="checks"}') == 1
    pid = container.show("accelnet-agent", "MainPID")
    container.run("systemctl", "reload", "accelnet-agent")
    assert container.show("accelnet-agent", "MainPID") == pid
    assert container.run("systemctl", "is-active", "accelnet-agent").stdout.strip() == "active"
    assert "accelnet_build_info" in container.get(PORT)
    container.run("systemctl", "restart", "accelnet-agent")
    assert container.show("accelnet-agent", "MainPID") != pid
    assert "accelnet_build_info" in container.wait_for(lambda: container.get(PORT))


def _version() -> str:
    text = (REPO_ROOT / "agent" / "accelnet" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def test_kernel_log_through_the_journal(container: Container) -> None:
    """A container's journal has no kernel records (its /dev/kmsg does not exist, and no
    process can write _TRANSPORT=kernel records): the agent exports accelnet_kernel_log_up 0
    and says why. A VF line logged as 'kernel' with systemd-cat is a stdout record and is not
    taken. The unit's sandbox reads the journal with the systemd-journal group, and not
    without it."""
    forged = "hv_netvsc 00000000-0000-0000-0000-000000000000 eth0: VF unregistering: enP1s1"
    container.run("systemd-cat", "-t", "kernel", "-p", "info", stdin=forged + "\n")
    assert forged in container.run("journalctl", "-t", "kernel", "-o", "cat", "--no-pager").stdout
    container.run("systemctl", "restart", "accelnet-agent")
    body = container.wait_for(lambda: container.get(PORT))
    assert _value(body, "accelnet_kernel_log_up") == 0
    assert 'event="removed"' not in body or _value(body, 'accelnet_vf_events_total{device="eth0",event="removed"}') == 0
    report = container.run("accelnet-check", "--json", "--no-imds", "--sample-seconds", "0", check=False).stdout
    assert '"history_state": "unreadable: /dev/kmsg is not readable' in report and "the journal: " in report
    sandbox = ["systemd-run", "--wait", "--pipe", "--quiet", "-p", "DynamicUser=yes", "-p", "PrivateUsers=yes",
               "-p", "ProtectSystem=strict", "-p", "PrivateDevices=yes", "-p", "ProtectKernelLogs=yes"]
    query = ["journalctl", "-t", "kernel", "-o", "cat", "--no-pager"]
    with_group = container.run(*sandbox, "-p", "SupplementaryGroups=systemd-journal", *query, check=False)
    without = container.run(*sandbox, *query, check=False)
    assert forged in with_group.stdout, with_group.stderr
    assert forged not in without.stdout


def _node_exporter(container: Container) -> str:
    return container.wait_for(lambda: container.get(9100))


def test_textfile_timer_feeds_node_exporter_from_start_to_purge(container: Container) -> None:
    """Enabling the timer is all it takes: the file appears in node_exporter's directory,
    written atomically; scrape errors stay 0 through runs, a restart, the stop and the purge,
    and nothing of the run stays in /run."""
    container.run("systemctl", "enable", "--now", "accelnet-agent-textfile.timer")
    container.run("systemctl", "start", "accelnet-agent-textfile.service", timeout=120)
    assert container.run("sh", "-c", 'test -f "$0" && ! test -L "$0"', TEXTFILE, check=False).returncode == 0
    assert oct(os.stat(str(container.root) + TEXTFILE).st_mode & 0o777) == "0o644"
    metrics = _node_exporter(container)
    assert _value(metrics, "node_textfile_scrape_error") == 0
    assert 'accelnet_build_info{version="%s"}' % _version() in metrics
    assert not container.run("sh", "-c", "ls -d /run/accelnet-agent-textfile /run/private/accelnet-agent-textfile "
                             "/var/lib/prometheus/node-exporter/.accelnet* 2>/dev/null", check=False).stdout
    mtime = os.stat(str(container.root) + TEXTFILE).st_mtime
    container.run("systemctl", "restart", "accelnet-agent-textfile.timer")
    container.run("systemctl", "start", "accelnet-agent-textfile.service", timeout=120)
    assert os.stat(str(container.root) + TEXTFILE).st_mtime >= mtime
    assert _value(_node_exporter(container), "node_textfile_scrape_error") == 0
    container.run("systemctl", "restart", "prometheus-node-exporter")
    assert _value(_node_exporter(container), "node_textfile_scrape_error") == 0
    container.run("systemctl", "stop", "accelnet-agent-textfile.timer")
    assert _value(_node_exporter(container), "node_textfile_scrape_error") == 0


def _start_textfile_run(container: Container) -> subprocess.CompletedProcess:
    started = container.run("systemctl", "start", "accelnet-agent-textfile.service", check=False, timeout=120)
    container.run("systemctl", "reset-failed", "accelnet-agent-textfile.service", check=False)
    return started


def _journal_of_last_run(container: Container) -> str:
    return container.run("journalctl", "-u", "accelnet-agent-textfile", "-n", "5", "-o", "cat", "--no-pager").stdout


def test_the_publishing_step_follows_no_link(container: Container) -> None:
    """The publishing step runs as root between two places others own. A sandboxed run (here
    a drop-in standing for code that took over the --once run) leaves a link to /etc/shadow as
    its file: nothing is published (with coreutils' install, /etc/shadow was, mode 0644).
    node_exporter's user, who owns /var/lib/prometheus on Debian, puts a link to /etc in place
    of the textfile directory: nothing is written in /etc."""
    dropin = "/etc/systemd/system/accelnet-agent-textfile.service.d"
    shadow_mode = os.stat(str(container.root) + "/etc/shadow").st_mode
    container.run("mkdir", "-p", dropin)
    container.run("sh", "-c", 'printf "[Service]\nExecStart=\nExecStart=/bin/ln -sf /etc/shadow '
                  '/run/accelnet-agent-textfile/accelnet.prom\n" > "$0/link.conf"', dropin)
    container.run("systemctl", "daemon-reload")
    try:
        assert _start_textfile_run(container).returncode != 0
        assert "accelnet.prom: a symbolic link" in _journal_of_last_run(container)
    finally:
        container.run("rm", "-rf", dropin)
        container.run("systemctl", "daemon-reload")
    assert "root:" not in (container.root / TEXTFILE.lstrip("/")).read_text()
    assert os.stat(str(container.root) + "/etc/shadow").st_mode == shadow_mode
    directory = os.path.dirname(TEXTFILE)
    container.run("su", "-s", "/bin/sh", "prometheus", "-c", "mv {0} {0}.away && ln -s /etc {0}".format(directory))
    try:
        assert _start_textfile_run(container).returncode != 0
        assert "a symbolic link or not a directory" in _journal_of_last_run(container)
        assert container.run("sh", "-c", "ls -d /etc/*accelnet.prom* 2>/dev/null", check=False).stdout == ""
    finally:
        container.run("sh", "-c", 'rm "$0" && mv "$0.away" "$0"', directory)
    assert _start_textfile_run(container).returncode == 0


def test_removal_deletes_what_was_published_wherever_it_went(container: Container) -> None:
    """ACCELNET_TEXTFILE_DIR set by a `systemctl edit` drop-in, or single-quoted in
    /etc/default/accelnet-agent: `apt-get remove` deletes the published file there too (a
    stale accelnet.prom of a removed agent would keep its last verdict forever)."""
    dropin = "/etc/systemd/system/accelnet-agent-textfile.service.d"
    container.run("mkdir", "-p", dropin, "/srv/by-dropin", "/srv/quoted")
    container.run("sh", "-c", 'printf "[Service]\nEnvironment=ACCELNET_TEXTFILE_DIR=/srv/by-dropin\n" > "$0/dir.conf"',
                  dropin)
    container.run("systemctl", "daemon-reload")
    assert _start_textfile_run(container).returncode == 0
    assert (container.root / "srv/by-dropin/accelnet.prom").is_file()
    container.run("apt-get", "remove", "-y", "accelnet", timeout=300)
    assert not (container.root / "srv/by-dropin/accelnet.prom").exists()
    container.run("rm", "-rf", dropin)
    container.run("apt-get", "install", "-y", "--no-install-recommends", "/root/accelnet.deb", timeout=600)
    container.run("sh", "-c", "echo \"ACCELNET_TEXTFILE_DIR='/srv/quoted'\" >> /etc/default/accelnet-agent")
    assert _start_textfile_run(container).returncode == 0
    assert (container.root / "srv/quoted/accelnet.prom").is_file()
    container.run("apt-get", "remove", "-y", "accelnet", timeout=300)
    assert not (container.root / "srv/quoted/accelnet.prom").exists()
    # removal keeps the configuration: back to the default directory before the next install
    container.run("sed", "-i", "/^ACCELNET_TEXTFILE_DIR=/d", "/etc/default/accelnet-agent")
    container.run("rm", "-rf", "/srv/by-dropin", "/srv/quoted")
    container.run("apt-get", "install", "-y", "--no-install-recommends", "/root/accelnet.deb", timeout=600)


def test_purge_leaves_nothing(container: Container) -> None:
    container.run("apt-get", "purge", "-y", "accelnet", timeout=300)
    metrics = _node_exporter(container)
    assert _value(metrics, "node_textfile_scrape_error") == 0 and "accelnet_" not in metrics
    left = container.run("sh", "-c", "ls -d /run/accelnet* /run/private/accelnet* /var/lib/private/accelnet* "
                         "/var/lib/prometheus/node-exporter/*accelnet* /etc/default/accelnet-agent /usr/bin/accelnet-* "
                         "/lib/systemd/system/accelnet* /usr/lib/systemd/system/accelnet* 2>/dev/null; "
                         "find /etc/systemd /var/lib/systemd -name '*accelnet*' 2>/dev/null", check=False).stdout
    assert left == ""
    status = container.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "accelnet", check=False)
    assert status.returncode != 0 or status.stdout.strip() in ("", "un", "pn")
    assert "accelnet" not in container.run("systemctl", "--failed", "--no-legend", "--no-pager").stdout
