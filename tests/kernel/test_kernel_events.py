"""VfMonitor against real link events, with a bridge standing in for the synthetic NIC."""

import threading
import time

import pytest

from accelnet.kernel import netlink, netns
from accelnet.kernel.events import ADDED, REMOVED, VfMonitor
from kernel_helpers import wait_for


@pytest.fixture
def monitor_factory(ns):
    started = []

    def make(**kwargs):
        kwargs.setdefault("synthetic_drivers", ("bridge",))
        mon = VfMonitor(**kwargs)
        with netns.entered(ns):
            mon.start()
        started.append(mon)
        return mon

    yield make
    for mon in started:
        mon.stop()


def _kinds(mon):
    return [(e.synthetic, e.vf, e.kind) for e in mon.history()]


def _fresh_state(ns):
    with netns.entered(ns):
        return {l.index: (l.name, l.master) for l in netlink.dump_links()}


def _monitor_state(mon):
    return {i: (l.name, l.master) for i, l in mon.links().items()}


def test_initial_dump_sets_pairs_without_events(ns, monitor_factory):
    netns.add_bridge(ns, "eth0")
    netns.add_bridge(ns, "eth1")
    netns.add_veth(ns, "enP1s1", "peer1")
    netns.set_master(ns, "enP1s1", "eth0")
    mon = monitor_factory()
    assert mon.pairs() == {"eth0": "enP1s1", "eth1": None}
    assert mon.counts == {} and mon.history() == []
    assert _monitor_state(mon) == _fresh_state(ns)


def test_added_removed_renamed_readded_each_once_in_order(ns, monitor_factory):
    netns.add_bridge(ns, "eth0")
    seen = []
    mon = monitor_factory(on_event=seen.append)

    netns.add_veth(ns, "eth1", "p1")
    netns.set_master(ns, "eth1", "eth0")                 # added
    netns.rename_link(ns, "eth1", "enP53091s1np0")       # rename: no event
    wait_for(lambda: mon.pairs() == {"eth0": "enP53091s1np0"}, what="rename seen")
    netns.set_master(ns, "enP53091s1np0", None)          # removed (nomaster)
    wait_for(lambda: mon.pairs() == {"eth0": None}, what="nomaster seen")
    netns.set_master(ns, "enP53091s1np0", "eth0")        # re-added
    netns.delete_link(ns, "enP53091s1np0")               # removed (deleted)
    netns.add_veth(ns, "eth2", "p2")
    netns.rename_link(ns, "eth2", "enP53091s1np0")
    netns.set_master(ns, "enP53091s1np0", "eth0")        # re-added, new ifindex
    expected = [("eth0", "eth1", ADDED), ("eth0", "enP53091s1np0", REMOVED),
                ("eth0", "enP53091s1np0", ADDED), ("eth0", "enP53091s1np0", REMOVED),
                ("eth0", "enP53091s1np0", ADDED)]
    wait_for(lambda: len(mon.history()) >= len(expected), what="five events")
    time.sleep(0.1)  # nothing more may follow
    assert _kinds(mon) == expected
    assert [(e.synthetic, e.vf, e.kind) for e in seen] == expected
    stamps = [e.monotonic for e in mon.history()]
    assert stamps == sorted(stamps) and stamps[-1] <= time.monotonic()
    assert mon.history()[-1].ifindex != mon.history()[0].ifindex
    assert mon.counts == {("eth0", ADDED): 3, ("eth0", REMOVED): 2}
    assert mon.pairs() == {"eth0": "enP53091s1np0"}
    assert mon.enobufs == 0


def test_moving_between_masters_and_deleting_the_master(ns, monitor_factory):
    netns.add_bridge(ns, "eth0")
    netns.add_bridge(ns, "eth1")
    netns.add_veth(ns, "vf", "p")
    netns.set_master(ns, "vf", "eth0")
    mon = monitor_factory()
    netns.set_master(ns, "vf", "eth1")
    wait_for(lambda: len(mon.history()) == 2, what="move seen")
    netns.delete_link(ns, "eth1")  # the kernel releases the port first
    wait_for(lambda: len(mon.history()) == 3, what="master deletion seen")
    time.sleep(0.1)
    assert _kinds(mon) == [("eth0", "vf", REMOVED), ("eth1", "vf", ADDED), ("eth1", "vf", REMOVED)]
    assert mon.pairs() == {"eth0": None}


def test_non_synthetic_master_is_not_a_vf(ns, monitor_factory):
    netns.add_bridge(ns, "br0")
    mon = monitor_factory(synthetic_drivers=("hv_netvsc",))
    netns.add_veth(ns, "vf", "p")
    netns.set_master(ns, "vf", "br0")
    wait_for(lambda: any(l.master for l in mon.links().values()), what="enslavement seen")
    assert mon.history() == [] and mon.pairs() == {}


def test_a_failing_callback_does_not_stop_the_monitor(ns, monitor_factory):
    netns.add_bridge(ns, "eth0")

    def explode(event):
        raise RuntimeError("callback bug")

    mon = monitor_factory(on_event=explode)
    netns.add_veth(ns, "vf", "p")
    netns.set_master(ns, "vf", "eth0")
    netns.delete_link(ns, "vf")
    wait_for(lambda: len(mon.history()) == 2, what="both events despite the callback")
    assert mon.running and mon.error is None


def test_stop_joins_within_a_second(ns):
    mon = VfMonitor(synthetic_drivers=("bridge",))
    with netns.entered(ns):
        mon.start()
    assert mon.running
    t0 = time.monotonic()
    mon.stop()
    assert time.monotonic() - t0 < 1.0
    assert not mon.running
    assert not [t for t in threading.enumerate() if t.name == "accelnet-vf-monitor"]


def test_burst_past_a_tiny_receive_buffer_loses_no_transition(ns, monitor_factory):
    """ENOBUFS resync. Design of the burst: within one batch every link makes at most one
    transition (or only renames), so the difference between the state before and after any
    blind window shows each one; a link that flaps *and* reverts within one blind window on
    the same ifindex could not be seen by any resync (documented in accelnet.kernel.events)."""
    n = 60
    netns.add_bridge(ns, "eth0")
    netns.add_bridge(ns, "eth1")
    netns.ip_batch(["link add old%d type veth peer name oldp%d" % (i, i) for i in range(n)]
                   + ["link set old%d master eth0" % i for i in range(n)], netns=ns)
    mon = monitor_factory(rcvbuf=1024)
    assert mon.counts == {}

    def settle():
        wait_for(lambda: _monitor_state(mon) == _fresh_state(ns), timeout=30,
                 what="monitor state equal to a fresh dump")

    # batch 1: new VFs created and enslaved (added), old ones deleted (removed), some released
    # (removed), some renamed (nothing), unrelated churn to overflow the queue
    third = n // 3
    netns.ip_batch(
        ["link add new%d type veth peer name newp%d" % (i, i) for i in range(n)]
        + ["link set new%d master eth1" % i for i in range(n)]
        + ["link del old%d" % i for i in range(third)]
        + ["link set old%d nomaster" % i for i in range(third, 2 * third)]
        + ["link set old%d name ren%d" % (i, i) for i in range(2 * third, n)]
        + ["link set newp%d up" % i for i in range(n)],
        netns=ns)
    settle()
    # batch 2: re-enslave the released ones (added), delete the renamed (removed)
    netns.ip_batch(["link set old%d master eth1" % i for i in range(third, 2 * third)]
                   + ["link del ren%d" % i for i in range(2 * third, n)], netns=ns)
    settle()
    assert mon.enobufs > 0, "the burst did not overflow the receive buffer: test proves nothing"
    assert mon.running and mon.error is None
    assert mon.counts == {
        ("eth1", ADDED): n + third,
        ("eth0", REMOVED): third + third + (n - 2 * third),
    }
    assert mon.pairs()["eth0"] is None and mon.pairs()["eth1"] is not None
    # no event is counted twice: each (vf ifindex, kind, synthetic) appears once
    keys = [(e.ifindex, e.kind, e.synthetic) for e in mon.history()]
    assert len(keys) == len(set(keys))
