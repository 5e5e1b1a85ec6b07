"""Load: 50 concurrent scrapers for 30 s against the agent get no error (p50/p99 printed)."""

import os
import statistics
import subprocess
import threading
import time
import urllib.request

import goldens
from agentproc import command, env, stop, wait_ready
from testutil import free_port

SCRAPERS = 50
DURATION_S = float(os.environ.get("ACCELNET_LOAD_SECONDS", "30"))


def test_fifty_concurrent_scrapers(capsys):
    port = free_port()
    fixture = os.path.join(goldens.FIXTURES, "ubuntu2004-cx3-8nics")
    proc = subprocess.Popen(
        command("--snapshot", fixture, "--web.listen-address", f"127.0.0.1:{port}"),
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    latencies, errors = [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + DURATION_S

    def scraper():
        while time.monotonic() < stop_at:
            started = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    body = resp.read()
                    ok = resp.status == 200 and b"accelnet_vf_present" in body
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                (latencies if ok else errors).append(time.monotonic() - started if ok else "bad body")

    try:
        wait_ready(url, proc)
        threads = [threading.Thread(target=scraper) for _ in range(SCRAPERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DURATION_S + 30)
        assert proc.poll() is None
    finally:
        stop(proc)
    assert not errors, f"{len(errors)} errors, first: {errors[:3]}"
    assert latencies
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    with capsys.disabled():
        print(f"\nload: {SCRAPERS} scrapers x {DURATION_S:.0f}s: {len(ordered)} scrapes, 0 errors, "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")
