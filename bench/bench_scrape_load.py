"""Scrape load: N concurrent scrapers against accelnet's server and, as the baseline in the
same process, prometheus_client's own ``start_http_server`` on the same registry.

    PYTHONPATH=agent python3 bench/bench_scrape_load.py [--clients 50] [--seconds 30]

Prints requests, errors, p50/p99/mean latency and throughput for both, then accelnet/baseline
ratios. With scrapers that send back to back, the mean latency is clients/throughput
(Little's law) whatever the server does; what a server decides is how fairly that wait is
shared: a first-come-first-served pool gives everyone about the mean (low p99), a
thread-per-connection free-for-all gives some scrapers a fast p50 and starves others. Scrapers are keep-alive HTTP/1.1 clients that reconnect when the server says
``Connection: close``; any other failure (status != 200, reset, timeout) is an error.
The tests import :func:`run_load` for a short version of the same run.
"""

import argparse
import http.client
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))


@dataclass
class LoadResult:
    requests: int = 0
    errors: List[str] = field(default_factory=list)
    latencies: List[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]

    def summary(self, name: str) -> str:
        mean = sum(self.latencies) / len(self.latencies) if self.latencies else float("nan")
        return (f"{name}: {self.requests} scrapes, {len(self.errors)} errors, "
                f"p50 {self.percentile(50) * 1e3:.2f} ms, p99 {self.percentile(99) * 1e3:.2f} ms, "
                f"mean {mean * 1e3:.2f} ms, "
                f"{self.requests / self.seconds:.0f} scrapes/s")


def _scraper(host: str, port: int, path: str, headers: Dict[str, str], deadline: float,
             result: LoadResult, lock: threading.Lock) -> None:
    conn: Optional[http.client.HTTPConnection] = None
    latencies: List[float] = []
    errors: List[str] = []
    while time.monotonic() < deadline:
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            latencies.append(time.perf_counter() - t0)
            if resp.status != 200 or not body:
                errors.append(f"status {resp.status}")
            if resp.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"{type(e).__name__}: {e}")
            conn.close()
            conn = None
    if conn is not None:
        conn.close()
    with lock:
        result.requests += len(latencies)
        result.latencies.extend(latencies)
        result.errors.extend(errors)


def run_load(host: str, port: int, clients: int = 50, seconds: float = 5.0,
             path: str = "/metrics", headers: Optional[Dict[str, str]] = None) -> LoadResult:
    """``clients`` threads scraping ``path`` back to back for ``seconds``."""
    result = LoadResult()
    lock = threading.Lock()
    hdrs = headers if headers is not None else {"Accept-Encoding": "gzip"}
    start = time.monotonic()
    deadline = start + seconds
    threads = [threading.Thread(target=_scraper, args=(host, port, path, hdrs, deadline, result, lock),
                                daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    result.seconds = time.monotonic() - start
    return result


def agent_like_registry(interfaces: int = 32):
    """A registry the size of the agent's on a VM with ``interfaces`` NICs."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    class Collector:
        def collect(self):
            present = GaugeMetricFamily("accelnet_vf_present", "VF present.", labels=["interface"])
            for i in range(interfaces):
                present.add_metric([f"eth{i}"], 1)
            yield present
            for name in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "tx_dropped"):
                fam = CounterMetricFamily(f"accelnet_vf_{name}", f"VF {name}.", labels=["interface"])
                for i in range(interfaces):
                    fam.add_metric([f"eth{i}"], 1234567 * (i + 1))
                yield fam

    reg = CollectorRegistry()
    reg.register(Collector())
    return reg


def _baseline(registry) -> Tuple[int, object]:
    from prometheus_client import start_http_server

    started = start_http_server(0, addr="127.0.0.1", registry=registry)
    if not started:  # prometheus_client < 0.20 returns nothing
        raise SystemExit("prometheus_client too old for the baseline: needs start_http_server -> (server, thread)")
    server = started[0]
    return server.server_address[1], server


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--interfaces", type=int, default=32)
    args = ap.parse_args(argv)

    from accelnet.agent import web

    registry = agent_like_registry(args.interfaces)
    port, baseline_server = _baseline(registry)
    base = run_load("127.0.0.1", port, args.clients, args.seconds)
    baseline_server.shutdown()  # type: ignore[attr-defined]
    print(base.summary("prometheus_client start_http_server (baseline)"))

    srv = web.serve("127.0.0.1:0", registry)
    try:
        ours = run_load("127.0.0.1", srv.port, args.clients, args.seconds)
    finally:
        srv.shutdown()
    print(ours.summary("accelnet web.serve"))
    print(f"ratios accelnet/baseline: p50 {ours.percentile(50) / base.percentile(50):.2f}x, "
          f"p99 {ours.percentile(99) / base.percentile(99):.2f}x, "
          f"throughput {(ours.requests / ours.seconds) / (base.requests / base.seconds):.2f}x")
    for name, res in (("baseline", base), ("accelnet", ours)):
        if res.errors:
            print(f"{name} errors (first 5): {res.errors[:5]}")
    return 1 if ours.errors else 0


if __name__ == "__main__":
    sys.exit(main())
