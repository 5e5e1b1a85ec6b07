#!/usr/bin/env python3
"""accelnet-agent vs node_exporter 1.5's ethtool collector on the same 32 veth pairs.

Both run in one network namespace made here (and removed after), both export every ethtool
stat of every interface (``--ethtool.device-include .`` vs ``--collector.disable-defaults
--collector.ethtool``), and both are scraped the same number of times by the same client
inside the namespace (20 to warm up, then --scrapes measured). Printed: scrape latency p50/p99,
CPU milliseconds per scrape, RSS after all the scrapes (200 by default), the ethtool series
each serves (node_exporter adds one node_ethtool_info per interface on top of the same stats),
and the ratios accelnet / node_exporter. Targets: p50 ratio <= 0.1, agent RSS after 200 scrapes
<= 24 MiB. Needs root.

    python3 bench/bench_vs_node_exporter.py [--pairs 32] [--scrapes 180]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "agent"))

from accelnet.kernel import netns  # noqa: E402

CLIENT = r"""
import json, sys, time, urllib.request
url, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for _ in range(200):
    try:
        urllib.request.urlopen(url, timeout=2).read(); break
    except Exception:
        time.sleep(0.05)
lat = []
for _ in range(n):
    t = time.perf_counter()
    body = urllib.request.urlopen(url, timeout=10).read()
    lat.append(time.perf_counter() - t)
lines = [l for l in body.decode().splitlines() if l.startswith(prefix)]
print(json.dumps({"lat": lat, "samples": len(lines)}))
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(ns: str, argv, url: str, scrapes: int, env, prefix: str) -> dict:
    proc = subprocess.Popen(["ip", "netns", "exec", ns] + argv, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # the server process: `ip netns exec` execs it, so the pid is the server's own
        warm = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT, url, "20", prefix],
                              stdout=subprocess.PIPE, check=True, env=env)
        cpu0 = cpu_seconds(proc.pid)
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT, url, str(scrapes), prefix],
                             stdout=subprocess.PIPE, check=True, env=env)
        cpu1 = cpu_seconds(proc.pid)
        data = json.loads(out.stdout)
        lat = sorted(data["lat"])
        return {
            "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
            "cpu_ms_per_scrape": (cpu1 - cpu0) / scrapes * 1000,
            "rss_mib": rss_mib(proc.pid),
            "samples": data["samples"],
            "warm": bool(warm.stdout),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--scrapes", type=int, default=180)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 1
    node_exporter = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if not node_exporter:
        print("needs node_exporter (Debian package prometheus-node-exporter)", file=sys.stderr)
        return 1
    # As an installed package runs: bytecode compiled beforehand and read from __pycache__ (with
    # PYTHONDONTWRITEBYTECODE and stale caches, the agent would compile its modules at start,
    # and the compiler's memory would stay in its RSS).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.path.join(REPO, "agent")
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(REPO, "agent", "accelnet")],
                   env=env, check=True)
    with netns.namespace() as ns:
        netns.ip("link", "set", "lo", "up", netns=ns)
        netns.ip_batch([f"link add name v{i}a type veth peer name v{i}b" for i in range(args.pairs)], netns=ns)
        netns.ip_batch([f"link set v{i}{s} up" for i in range(args.pairs) for s in "ab"], netns=ns)
        agent = measure(ns, [sys.executable, "-m", "accelnet.cli.agent", "--web.listen-address", "127.0.0.1:19837",
                             "--ethtool.device-include", ".", "--no-imds", "--no-events"],
                        "http://127.0.0.1:19837/metrics", args.scrapes, env, "accelnet_ethtool_")
        node = measure(ns, [node_exporter, "--collector.disable-defaults", "--collector.ethtool",
                            "--web.listen-address", "127.0.0.1:19100"],
                       "http://127.0.0.1:19100/metrics", args.scrapes, env, "node_ethtool_")
    print(f"Python {sys.version.split()[0]}; {args.pairs} veth pairs ({2 * args.pairs} interfaces), "
          f"{args.scrapes} sequential scrapes each after 20 to warm up (RSS after {args.scrapes + 20})")
    print(f"{'':16}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/scrape':>15}{'RSS MiB':>9}{'ethtool series':>15}")
    for name, row in (("accelnet-agent", agent), ("node_exporter", node)):
        print(f"{name:16}{row['p50_ms']:9.2f}{row['p99_ms']:9.2f}{row['cpu_ms_per_scrape']:15.2f}"
              f"{row['rss_mib']:9.1f}{row['samples']:15d}")
    print(f"ratios accelnet/node_exporter: p50 {agent['p50_ms'] / node['p50_ms']:.2f} (target <= 0.1), "
          f"p99 {agent['p99_ms'] / node['p99_ms']:.2f}, CPU/scrape "
          f"{agent['cpu_ms_per_scrape'] / max(node['cpu_ms_per_scrape'], 1e-9):.2f}, "
          f"RSS {agent['rss_mib'] / node['rss_mib']:.2f}; agent RSS {agent['rss_mib']:.1f} MiB (target <= 24)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
