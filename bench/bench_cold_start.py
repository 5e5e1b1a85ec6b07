#!/usr/bin/env python3
"""Cold start of ``accelnet-check --snapshot <fixture> --json --sample-seconds 0`` as a ratio
to ``python -c pass`` of the same interpreter, both run side by side, alternating, in this
one command — per venv, so the oldest and the newest Python are measured the same way.

    python3 bench/bench_cold_start.py [--runs 20] [--fixture ubuntu2004-cx3-8nics]
                                      [--venv .venv-py3.6 --venv .venv ...]

Each venv's own ``bin/accelnet-check`` (as installed, bytecode cached) is timed against that
venv's ``bin/python -c pass`` — never a version manager's shim, which would flatter the ratio.
Without --venv, the venv of the interpreter running this script.

Target: ratio <= 10 (the check imports lazily what a command does not need).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


#: As an installed package runs: bytecode compiled and read from __pycache__ (pip compiles at
#: install time; PYTHONDONTWRITEBYTECODE in the caller's environment would make every run
#: compile the whole package again and measure the compiler, not the check).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(argv: List[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=False)
    return time.perf_counter() - started


def compile_package(python: str) -> None:
    """Byte-compile the venv's accelnet package as pip does on install."""
    where = subprocess.run([python, "-c", "import accelnet, os; print(os.path.dirname(accelnet.__file__))"],
                           stdout=subprocess.PIPE, universal_newlines=True, env=ENV, check=True).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", where], env=ENV, check=True)


def version(python: str) -> str:
    out = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return out.stdout.strip()


def measure(venv: str, fixture: str, runs: int) -> float:
    python = os.path.join(venv, "bin", "python")
    check = [os.path.join(venv, "bin", "accelnet-check"), "--snapshot", fixture, "--json",
             "--sample-seconds", "0"]
    baseline = [python, "-c", "pass"]
    compile_package(python)
    timed(check)  # warm the page cache
    ours, base = [], []
    for _ in range(runs):
        base.append(timed(baseline))
        ours.append(timed(check))
    b, o = statistics.median(base), statistics.median(ours)
    print("Python %s (%s)" % (version(python), venv))
    print("  python -c pass:            median %7.1f ms over %d runs" % (b * 1000, runs))
    print("  accelnet-check --snapshot: median %7.1f ms over %d runs" % (o * 1000, runs))
    print("  cold-start ratio: %.1fx  (target <= 10x)" % (o / b))
    return o / b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fixture", default="ubuntu2004-cx3-8nics")
    parser.add_argument("--venv", action="append", default=[],
                        help="a venv with accelnet installed (repeat for several interpreters)")
    args = parser.parse_args()
    fixture = os.path.join(REPO, "fixtures", "hosts", args.fixture)
    venvs = args.venv or [sys.prefix]
    for venv in venvs:
        if not os.path.exists(os.path.join(venv, "bin", "accelnet-check")):
            print("%s: no bin/accelnet-check (pip install . into it first)" % venv, file=sys.stderr)
            return 2
    for venv in venvs:
        measure(venv, fixture, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
