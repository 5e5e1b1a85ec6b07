"""VF event latency: deletion of the stand-in VF -> the change seen by VfMonitor in-process.

200 flaps on a bridge standing in for the synthetic NIC. Two measurements:
- kernel path: the delete is an RTM_DELLINK sent from this process (what `ip link del`
  sends), t0 just before the send; latency = the event's monotonic stamp - t0;
- end to end: `ip link del` as a subprocess, t0 before spawning it (includes the process).
Baseline in the same run: the same deletion with no monitor, t0 -> the delete request's ACK,
so the ratio shows what the monitor adds on top of the kernel's own work. Target p99 < 50 ms.

Run as root: PYTHONPATH=agent python3 bench/bench_events.py
"""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))

from accelnet.kernel import netns  # noqa: E402
from accelnet.kernel.events import REMOVED, VfMonitor  # noqa: E402

FLAPS = 200


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main() -> None:
    from pyroute2 import IPRoute

    with netns.namespace() as ns:
        netns.add_bridge(ns, "eth0")
        removed = threading.Event()
        stamps = []

        def on_event(event):
            if event.kind == REMOVED:
                stamps.append(event.monotonic)
                removed.set()

        with netns.entered(ns):
            ipr = IPRoute()
            mon = VfMonitor(synthetic_drivers=("bridge",), on_event=on_event)
            mon.start()
        master = ipr.link_lookup(ifname="eth0")[0]

        def make_vf():
            ipr.link("add", ifname="vf0", kind="veth", peer="vfp0")
            ipr.link("set", index=ipr.link_lookup(ifname="vf0")[0], master=master)

        def flap_inproc():
            make_vf()
            index = ipr.link_lookup(ifname="vf0")[0]
            removed.clear()
            t0 = time.monotonic()
            ipr.link("del", index=index)
            t_ack = time.monotonic()
            if not removed.wait(1.0):
                raise SystemExit("no removal event within 1 s")
            return stamps[-1] - t0, t_ack - t0

        def flap_ip():
            make_vf()
            removed.clear()
            t0 = time.monotonic()
            subprocess.run(["ip", "-n", ns, "link", "del", "dev", "vf0"], check=True)
            if not removed.wait(1.0):
                raise SystemExit("no removal event within 1 s")
            return stamps[-1] - t0

        results = [flap_inproc() for _ in range(FLAPS)]
        lat = [r[0] * 1e3 for r in results]
        ack = [r[1] * 1e3 for r in results]
        e2e = [flap_ip() * 1e3 for _ in range(FLAPS)]
        mon.stop()
        ipr.close()
        counts = mon.counts

    print("%d flaps, counts %s, ENOBUFS %d" % (FLAPS, counts, mon.enobufs))
    print("delete sent in-process -> event seen: p50 %.2f ms  p99 %.2f ms  max %.2f ms"
          % (pct(lat, 50), pct(lat, 99), max(lat)))
    print("baseline delete sent -> kernel ACK:   p50 %.2f ms  p99 %.2f ms"
          % (pct(ack, 50), pct(ack, 99)))
    print("  ratio event/ACK at p50: %.2fx" % (pct(lat, 50) / pct(ack, 50)))
    print("`ip link del` subprocess -> event:    p50 %.2f ms  p99 %.2f ms  max %.2f ms"
          % (pct(e2e, 50), pct(e2e, 99), max(e2e)))
    print("target p99 < 50 ms: %s" % ("met" if pct(lat, 99) < 50 and pct(e2e, 99) < 50 else "MISSED"))


if __name__ == "__main__":
    main()
