#!/usr/bin/env python3
"""Cold start of ``accelnet-check --snapshot <fixture> --json --sample-seconds 0`` as a ratio
to ``python -c pass`` of the same interpreter, both run side by side, alternating, in this
one command — per venv, so the oldest and the newest Python are measured the same way.

    python3 bench/bench_cold_start.py [--runs 20] [--fixture ubuntu2004-cx3-8nics]
                                      [--venv .venv-py3.6 --venv .venv ...]

The command is started as an installed package starts it: a launcher as pip writes for a wheel
(and packaging/rpm for the rpm), ``#!<venv>/bin/python``, ``from accelnet.cli.check import
main``, written to a temporary directory. The venv's own ``bin/accelnet-check`` may be an
editable install's (``setup.py develop``) launcher, which scans every installed distribution's
metadata before importing anything of ours; when it is, its ratio is printed too, apart.
The baseline is that venv's ``bin/python -c pass`` — never a version manager's shim, which would
flatter the ratio. Without --venv, the venv of the interpreter running this script.

Printed per venv: medians of wall time and of CPU time (user + system of the child); the CPU
ratio is the steadier one on a loaded machine. Target: ratio <= 4, on the largest host
(--fixture, 8 NICs). Rows for scale: the same check on a one-NIC host (--small-fixture), the
imports of a snapshot diagnosis without the diagnosis, and the stdlib modules the check cannot
do without; the differences say what is start-up, what is per-NIC work, and what is ours.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import List, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


#: As an installed package runs: bytecode compiled and read from __pycache__ (pip compiles at
#: install time; PYTHONDONTWRITEBYTECODE in the caller's environment would make every run
#: compile the whole package again and measure the compiler, not the check).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


TARGET = 4.0
FLOOR = "argparse, json, re, typing"
#: What a snapshot diagnosis imports, without diagnosing anything.
OURS = ("accelnet.cli.check, accelnet.readers.snapshot, accelnet.diagnosis.facts, "
        "accelnet.diagnosis.checks, accelnet.diagnosis.report")

LAUNCHER = """#!{python}
import sys
from accelnet.cli.check import main
if __name__ == "__main__":
    sys.exit(main())
"""


def timed(argv: List[str]) -> Tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compile_package(python: str) -> None:
    """Byte-compile the venv's accelnet package as pip does on install."""
    where = subprocess.run([python, "-c", "import accelnet, os; print(os.path.dirname(accelnet.__file__))"],
                           stdout=subprocess.PIPE, universal_newlines=True, env=ENV, check=True).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", where], env=ENV, check=True)


def version(python: str) -> str:
    out = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return out.stdout.strip()


def launcher(python: str, where: str) -> str:
    path = os.path.join(where, "accelnet-check")
    with open(path, "w") as handle:
        handle.write(LAUNCHER.format(python=python))
    os.chmod(path, 0o755)
    return path


def measure(venv: str, fixture: str, small: str, runs: int) -> float:
    """Print and return the CPU ratio of the wheel-style launcher to ``python -c pass``."""
    python = os.path.join(venv, "bin", "python")
    args = ["--snapshot", fixture, "--json", "--sample-seconds", "0"]
    small_args = ["--snapshot", small, "--json", "--sample-seconds", "0"]
    installed = os.path.join(venv, "bin", "accelnet-check")
    compile_package(python)
    with tempfile.TemporaryDirectory(prefix="accelnet-bench-") as where:
        script = launcher(python, where)
        with open(installed) as handle:
            editable = "load_entry_point" in handle.read()
        commands = [("python -c pass", [python, "-c", "pass"]),
                    ("accelnet-check --snapshot", [script] + args)]
        if editable:
            commands.append(("  (venv's own launcher)", [installed] + args))
        # For scale: a one-NIC host, our imports alone, and the stdlib the check cannot do without.
        commands.append(("  (one-NIC host: %s)" % os.path.basename(small), [script] + small_args))
        commands.append(("  (imports of a diagnosis, no diagnosis)", [python, "-c", "import " + OURS]))
        commands.append(("  (import %s)" % FLOOR, [python, "-c", "import " + FLOOR]))
        for _, argv in commands:
            timed(argv)  # warm the page cache
        walls: List[List[float]] = [[] for _ in commands]
        cpus: List[List[float]] = [[] for _ in commands]
        for _ in range(runs):
            for i, (_, argv) in enumerate(commands):
                wall, cpu = timed(argv)
                walls[i].append(wall)
                cpus[i].append(cpu)
    base_wall, base_cpu = statistics.median(walls[0]), statistics.median(cpus[0])
    print("Python %s (%s), %d runs each, medians" % (version(python), venv, runs))
    for (name, _), wall_runs, cpu_runs in zip(commands, walls, cpus):
        wall, cpu = statistics.median(wall_runs), statistics.median(cpu_runs)
        print("  %-44s wall %7.1f ms %5.1fx   CPU %7.1f ms %5.1fx" % (
            name, wall * 1000, wall / base_wall, cpu * 1000, cpu / base_cpu))
    ratio = statistics.median(cpus[1]) / base_cpu
    print("  cold-start ratio: %.1fx CPU, %.1fx wall  (target <= %gx)" % (
        ratio, statistics.median(walls[1]) / base_wall, TARGET))
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fixture", default="ubuntu2004-cx3-8nics")
    parser.add_argument("--small-fixture", default="ubuntu2204-mana-healthy")
    parser.add_argument("--venv", action="append", default=[],
                        help="a venv with accelnet installed (repeat for several interpreters)")
    args = parser.parse_args()
    fixture = os.path.join(REPO, "fixtures", "hosts", args.fixture)
    small = os.path.join(REPO, "fixtures", "hosts", args.small_fixture)
    venvs = args.venv or [sys.prefix]
    for venv in venvs:
        if not os.path.exists(os.path.join(venv, "bin", "accelnet-check")):
            print("%s: no bin/accelnet-check (pip install . into it first)" % venv, file=sys.stderr)
            return 2
    for venv in venvs:
        measure(venv, fixture, small, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
