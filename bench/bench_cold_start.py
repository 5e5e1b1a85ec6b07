#!/usr/bin/env python3
"""Cold start of ``accelnet-check --snapshot <fixture> --json --sample-seconds 0`` as a ratio
to ``python3 -c pass``, both run side by side, alternating, in this one command.

    python3 bench/bench_cold_start.py [--runs 20] [--fixture ubuntu2004-cx3-8nics]

Target: ratio <= 10 (the check imports lazily what a command does not need).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(argv, env):
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fixture", default="ubuntu2004-cx3-8nics")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "agent"))
    fixture = os.path.join(REPO, "fixtures", "hosts", args.fixture)
    check = [sys.executable, "-m", "accelnet.cli.check", "--snapshot", fixture, "--json", "--sample-seconds", "0"]
    baseline = [sys.executable, "-c", "pass"]
    timed(check, env)  # warm the page cache and bytecode
    ours, base = [], []
    for _ in range(args.runs):
        base.append(timed(baseline, env))
        ours.append(timed(check, env))
    b, o = statistics.median(base), statistics.median(ours)
    print(f"python3 -c pass:          median {b * 1000:7.1f} ms over {args.runs} runs")
    print(f"accelnet-check --snapshot: median {o * 1000:7.1f} ms over {args.runs} runs ({args.fixture})")
    print(f"cold-start ratio: {o / b:.1f}x  (target <= 10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
