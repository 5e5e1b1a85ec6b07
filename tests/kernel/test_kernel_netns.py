"""The namespace helper: unique names, always deleted, three ways in that see the namespace."""

import os
import shutil
import sys

import pytest

from accelnet.kernel import netlink, netns


def _agent_dir():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(netlink.__file__))))


def _netns_inode():
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_namespace_is_deleted_even_when_the_body_fails(ns):
    # `ns` proves root; make a second one under our control
    with pytest.raises(RuntimeError):
        with netns.namespace() as other:
            assert other.startswith("an-test-") and other != ns
            assert netns.exists(other)
            raise RuntimeError("test body failed")
    assert not netns.exists(other)


def test_entered_switches_and_restores_the_thread_namespace(ns):
    netns.add_bridge(ns, "br-in-ns")
    home = _netns_inode()
    with netns.entered(ns):
        assert _netns_inode() != home
        names = {l.name for l in netlink.dump_links()}
    assert _netns_inode() == home
    assert names == {"lo", "br-in-ns"}
    assert "br-in-ns" not in {l.name for l in netlink.dump_links()}


def test_entered_restores_after_an_exception(ns):
    home = _netns_inode()
    with pytest.raises(ValueError):
        with netns.entered(ns):
            raise ValueError("boom")
    assert _netns_inode() == home


def test_call_in_netns_with_private_sysfs(ns):
    netns.add_veth(ns, "va", "vb")
    listing = netns.call_in_netns(ns, lambda: sorted(os.listdir("/sys/class/net")), remount_sys=True)
    assert listing == ["lo", "va", "vb"]
    # the caller's /sys is untouched
    assert "va" not in os.listdir("/sys/class/net")
    with pytest.raises(KeyError):
        netns.call_in_netns(ns, lambda: {}["missing"])


def test_run_python_in_child_process(ns):
    netns.add_bridge(ns, "br9")
    proc = netns.run_python(ns, "from accelnet.kernel import netlink; print(sorted(l.name for l in netlink.dump_links()))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['br9', 'lo']"


def test_ip_errors_carry_ip_message(ns):
    with pytest.raises(netns.NetnsError, match="Cannot find device|does not exist"):
        netns.delete_link(ns, "nonexistent0")


def test_reader_and_monitor_need_no_capability(ns):
    """The agent can run with no capabilities: a child with an empty bounding set (CapEff 0,
    so `ip link add` fails there) still reads GSTATS and follows link events."""
    if shutil.which("setpriv") is None and os.environ.get("CI") != "true":
        pytest.skip("needs setpriv (util-linux)")
    netns.add_bridge(ns, "eth0")
    netns.add_veth(ns, "enP1s1", "peer")
    netns.set_master(ns, "enP1s1", "eth0")
    code = (
        "import subprocess\n"
        "from accelnet.kernel.ethtool import EthtoolReader\n"
        "from accelnet.kernel.events import VfMonitor\n"
        "cap = open('/proc/self/status').read().split('CapEff:')[1].split()[0]\n"
        "denied = subprocess.run(['ip', 'link', 'add', 'x', 'type', 'bridge'],"
        " stdout=subprocess.PIPE, stderr=subprocess.PIPE).returncode != 0\n"
        "stats = EthtoolReader().stats('enP1s1')\n"
        "mon = VfMonitor(synthetic_drivers=('bridge',)); mon.start(); pairs = mon.pairs(); mon.stop()\n"
        "print(cap, denied, len(stats), stats['peer_ifindex'] > 0, pairs)\n"
    )
    proc = netns.ip("netns", "exec", ns, "setpriv", "--inh-caps=-all", "--bounding-set=-all",
                    "--no-new-privs", "env", "PYTHONPATH=" + _agent_dir(), sys.executable, "-c", code)
    cap, denied, count, peer_ok, pairs = proc.stdout.split(" ", 4)
    assert int(cap, 16) == 0 and denied == "True"
    assert int(count) > 1 and peer_ok == "True"
    assert pairs.strip() == "{'eth0': 'enP1s1'}"
