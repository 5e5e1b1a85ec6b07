"""A dead event monitor shows (accelnet_event_monitor_up 0), is started again, and the VF
changes it missed while down are still counted: ``vf_events_total`` never freezes silently.

The agent runs in a child process inside a network namespace (a bridge as the synthetic NIC,
a veth as its VF). The child breaks the rtnetlink socket as the kernel could (EIO from recv),
and the first restart fails too, so the "down" state lasts long enough to be scraped.
"""

import json
import textwrap

from accelnet.kernel import netns

CHILD = textwrap.dedent(
    """
    import errno, json, subprocess, sys, time, urllib.request
    from accelnet.agent import daemon
    from accelnet.kernel import events, netlink
    from accelnet.agent.daemon import Agent, AgentConfig

    NS = sys.argv[1]
    out = {}
    armed = {"recv": False, "start": False}
    real_recv = netlink.RtnlSocket.recv_messages
    real_start = events.VfMonitor.start

    def recv_messages(self):
        if armed["recv"]:
            armed["recv"] = False
            # A change the dying socket will never deliver: only the restarted monitor's
            # comparison with the dead one's links can count it.
            subprocess.run(["ip", "link", "set", "vf0", "nomaster"], check=True)
            raise OSError(errno.EIO, "simulated socket failure")
        return real_recv(self)

    def start(self, previous=None):
        if armed["start"]:
            armed["start"] = False
            raise OSError(errno.ENOMEM, "simulated start failure")
        return real_start(self, previous)

    netlink.RtnlSocket.recv_messages = recv_messages
    events.VfMonitor.start = start

    def scrape():
        url = "http://127.0.0.1:%d/metrics" % agent.server.port
        return urllib.request.urlopen(url, timeout=10).read().decode()

    def series(body, name):
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait(predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = scrape()
            if predicate(body):
                return body
            time.sleep(0.05)
        raise SystemExit("timed out; last scrape:\\n" + "\\n".join(l for l in body.splitlines() if "monitor" in l or "vf_" in l))

    UP = 'accelnet_event_monitor_up{monitor="rtnetlink"}'
    RESTARTS = 'accelnet_event_monitor_restarts_total{monitor="rtnetlink"}'
    REMOVED = 'accelnet_vf_events_total{device="syn0",event="removed"}'
    ADDED = 'accelnet_vf_events_total{device="syn0",event="added"}'

    agent = Agent(AgentConfig(listen="127.0.0.1:0", synthetic_drivers=("bridge",), imds=False, interval=60))
    agent.start()
    try:
        body = scrape()
        out["before"] = [series(body, UP), series(body, RESTARTS), series(body, REMOVED)]
        armed["recv"] = armed["start"] = True
        subprocess.run(["ip", "link", "set", "vf0peer", "mtu", "1400"], check=True)  # wakes the monitor
        body = wait(lambda b: series(b, UP) == 0)
        out["down"] = [series(body, UP), series(body, RESTARTS), series(body, REMOVED)]
        body = wait(lambda b: series(b, UP) == 1)
        body = wait(lambda b: series(b, REMOVED) == 1)
        out["restarted"] = [series(body, UP), series(body, RESTARTS), series(body, REMOVED), series(body, ADDED)]
        subprocess.run(["ip", "link", "set", "vf0", "master", "syn0"], check=True)
        body = wait(lambda b: series(b, ADDED) == 1 and series(b, 'accelnet_vf_present{device="syn0"}') == 1)
        out["after"] = [series(body, UP), series(body, RESTARTS), series(body, REMOVED), series(body, ADDED)]
    finally:
        agent.stop()
    print(json.dumps(out))
    """
)


def test_a_dead_monitor_shows_restarts_and_counts_what_it_missed(ns):
    netns.ip("link", "set", "lo", "up", netns=ns)
    netns.add_bridge(ns, "syn0")
    netns.ip("link", "set", "syn0", "up", netns=ns)
    netns.add_veth(ns, "vf0", "vf0peer")
    netns.set_master(ns, "vf0", "syn0")
    done = netns.run_python(ns, CHILD.replace("sys.argv[1]", repr(ns)), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["before"] == [1, 0, 0]
    assert out["down"][0] == 0  # the dead monitor shows, it does not freeze silently
    assert out["restarted"] == [1, 1, 1, 0]  # restarted once; the removal while down counted
    assert out["after"] == [1, 1, 1, 1]  # and it follows new events
    assert "rtnetlink event monitor stopped (OSError: [Errno 5] simulated socket failure)" in done.stderr
    assert "Traceback" not in done.stderr
