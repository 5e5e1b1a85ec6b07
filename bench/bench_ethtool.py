"""Ethtool reader cost, printed as ratios against baselines run in the same process.

1. all stats of one veth: EthtoolReader.stats() vs an `ethtool -S` subprocess;
2. a full read of 64 interfaces (32 veth pairs): µs per interface, vs pyroute2's IoctlEthtool
   (one instance per interface, names cached: its best case);
3. what a stat-name refresh (GSTRINGS, on a count change or name_ttl expiry) costs, against
   reading the string set over ethtool netlink (ETHTOOL_MSG_STRSET_GET), to judge the latter.

Run as root: PYTHONPATH=agent python3 bench/bench_ethtool.py
"""

import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))

from accelnet.kernel import netns  # noqa: E402
from accelnet.kernel.ethtool import EthtoolReader  # noqa: E402


def per_call(fn, repeat: int) -> float:
    """Best-of-5 mean seconds per call."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best


def main() -> None:
    with netns.namespace() as ns:
        netns.ip_batch(["link add name va%d numtxqueues 4 numrxqueues 4 type veth peer name vb%d "
                        "numtxqueues 4 numrxqueues 4" % (i, i) for i in range(32)], netns=ns)
        names = ["va%d" % i for i in range(32)] + ["vb%d" % i for i in range(32)]
        with netns.entered(ns):
            reader = EthtoolReader()
            n_stats = len(reader.stats("va0"))

            ours = per_call(lambda: reader.stats("va0"), 2000)
            tool = per_call(lambda: subprocess.run(["ethtool", "-S", "va0"], stdout=subprocess.DEVNULL,
                                                   check=True), 20)
            print("one interface, %d stats" % n_stats)
            print("  EthtoolReader.stats   %9.1f µs" % (ours * 1e6))
            print("  ethtool -S subprocess %9.1f µs" % (tool * 1e6))
            print("  ratio subprocess/reader: %.0fx" % (tool / ours))

            from pyroute2.ethtool.ioctl import IoctlEthtool
            theirs_by_if = {name: IoctlEthtool(name) for name in names}
            for obj in theirs_by_if.values():
                obj.get_statistics()  # cache names

            def ours_all():
                for name in names:
                    reader.stats(name)

            def pyroute2_all():
                for obj in theirs_by_if.values():
                    obj.get_statistics()

            a = per_call(ours_all, 50) / len(names)
            b = per_call(pyroute2_all, 50) / len(names)
            print("full read of %d interfaces (%d stats each)" % (len(names), n_stats))
            print("  EthtoolReader         %9.1f µs/interface  (%.2f ms total)" % (a * 1e6, a * len(names) * 1e3))
            print("  pyroute2 IoctlEthtool %9.1f µs/interface" % (b * 1e6))
            print("  ratio pyroute2/reader: %.2fx" % (b / a))

            def refresh():
                reader.forget("va0")
                reader.stats("va0")
            r = per_call(refresh, 2000)
            print("names refresh (GSSET_INFO+GSTRINGS+GSTATS) %.1f µs vs cached read %.1f µs: "
                  "+%.1f µs, paid on a count change or once per name_ttl" % (r * 1e6, ours * 1e6, (r - ours) * 1e6))
            strict = EthtoolReader(name_ttl=0)
            s = per_call(lambda: strict.stats("va0"), 2000)
            strict.close()
            print("strict reader (name_ttl=0, names re-read every call): %.1f µs, ratio strict/cached %.1fx"
                  % (s * 1e6, s / ours))
            try:
                from pyroute2.netlink.generic.ethtool import NlEthtool
                nl = NlEthtool()
                nl.get_stringset(ifname="va0")
                g = per_call(lambda: nl.get_stringset(ifname="va0"), 100)
                nl.close()
                names_only = per_call(lambda: (reader.forget("va0"), reader.stat_names("va0")), 2000)
                print("string set over ethtool netlink (pyroute2 STRSET_GET) %.1f µs vs ioctl "
                      "GSSET_INFO+GSTRINGS %.1f µs: ratio %.0fx (values still need GSTATS)"
                      % (g * 1e6, names_only * 1e6, g / names_only))
            except Exception as exc:  # kernels < 5.6 have no ethtool netlink
                print("ethtool netlink not available: %s" % exc)
            for obj in theirs_by_if.values():
                obj.close()
            reader.close()

    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import accelnet.kernel.ethtool"], check=True,
                       env=dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "agent")))
        samples.append(time.perf_counter() - t0)
    base = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pyroute2.ethtool.ioctl"], check=True)
        base.append(time.perf_counter() - t0)
    print("cold start: python -c 'import accelnet.kernel.ethtool' %.0f ms, 'import pyroute2.ethtool.ioctl' %.0f ms "
          "(ratio %.1fx)" % (statistics.median(samples) * 1e3, statistics.median(base) * 1e3,
                             statistics.median(base) / statistics.median(samples)))


if __name__ == "__main__":
    main()
