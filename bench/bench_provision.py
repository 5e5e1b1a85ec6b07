#!/usr/bin/env python3
"""Wall time of ``accelnet-provision enable`` on a VM of an availability set of N VMs, with the
set's VMs deallocated and started together (the default) as a ratio to one after the other
(``--max-parallel 1``), both run here against the stand-in az (tests/provision/fake_az/az)
taking a fixed delay per change.

    python3 bench/bench_provision.py [--delay 0.5] [--sizes 3,20] [--runs 1] [--processes]

By default the stand-in's code runs in this process (AzCli's spawn replaced), so the delay
models Azure's time per operation and the ratio does not measure how fast this machine
starts interpreters; ``--processes`` runs accelnet-provision and one stand-in az process per
call instead, as an operator would (on a loaded machine that adds ~0.1-1 s of start-up to
every call, reads included).

Target: ratio <= 0.5 on 20 VMs (issue 13: downtime that does not grow with the set).
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE_AZ_DIR = os.path.join(REPO, "tests", "provision", "fake_az")
RG = "benchrg"


def world(size: int) -> dict:
    names = [f"vm{i}" for i in range(1, size + 1)]
    key = lambda name: f"{RG}/{name}"  # noqa: E731
    return {"groups": {RG: {"location": "centralus"}},
            "vms": {key(n): {"name": n, "rg": RG, "size": "Standard_DS4_v2", "nics": [f"nic-{n}"],
                             "power": "running", "availabilitySet": "set"} for n in names},
            "nics": {key(f"nic-{n}"): {"name": f"nic-{n}", "rg": RG, "vm": n, "accelerated": False}
                     for n in names},
            "avsets": {key("set"): {"name": "set", "rg": RG, "vms": names}}, "vmss": {}}


def _in_process(argv, env) -> Tuple[int, str]:
    """accelnet-provision's run() here, the stand-in's main() per az call, same code."""
    sys.path.insert(0, os.path.join(REPO, "agent"))
    sys.path.insert(0, os.path.join(REPO, "tests", "provision"))
    import accelnet.provision.azcli as azcli
    from accelnet.cli.provision import run
    from provision_fakes import spawn_in_process
    saved, spawn = dict(os.environ), azcli.spawn_subprocess
    os.environ.update(env)
    azcli.spawn_subprocess = spawn_in_process
    try:
        out, err = io.StringIO(), io.StringIO()
        return run(argv, out, err, stdin=io.StringIO("")), err.getvalue()
    finally:
        azcli.spawn_subprocess = spawn
        os.environ.clear()
        os.environ.update(saved)


def timed_enable(size: int, delay: float, parallel: bool, processes: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state.json")
        with open(state, "w") as out:
            json.dump(world(size), out)
        env = dict(PATH=FAKE_AZ_DIR + os.pathsep + os.environ.get("PATH", ""),
                   PYTHONPATH=os.path.join(REPO, "agent"), FAKE_AZ_STATE=state,
                   FAKE_AZ_LOG=os.path.join(tmp, "calls.log"), FAKE_AZ_DELAY=str(delay),
                   ACCELNET_AZ_BACKOFF="0")
        argv = ["enable", "-g", RG, "--vm", "vm1", "--yes"] + \
            ([] if parallel else ["--max-parallel", "1"])
        started = time.perf_counter()
        if processes:
            proc = subprocess.run([sys.executable, "-m", "accelnet.cli.provision", *argv],
                                  env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, universal_newlines=True)
            code, err = proc.returncode, proc.stderr
        else:
            code, err = _in_process(argv, env)
        elapsed = time.perf_counter() - started
        if code != 0:
            raise SystemExit(f"enable failed ({code}): {err}")
        with open(state) as stream:
            end = json.load(stream)
        assert end["nics"][f"{RG}/nic-vm1"]["accelerated"] is True
        assert {v["power"] for v in end["vms"].values()} == {"running"}
        return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per change")
    parser.add_argument("--sizes", default="3,20")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--processes", action="store_true",
                        help="a process per az call (and for accelnet-provision)")
    args = parser.parse_args()
    print(f"stand-in az: {args.delay:g} s per change (tag, deallocate, NIC update, start), "
          + ("a process per call" if args.processes else "in-process"))
    for size in [int(s) for s in args.sizes.split(",")]:
        sequential, parallel = [], []
        for _ in range(args.runs):  # alternate, so both see the same machine load
            sequential.append(timed_enable(size, args.delay, False, args.processes))
            parallel.append(timed_enable(size, args.delay, True, args.processes))
        s, p = statistics.median(sequential), statistics.median(parallel)
        print(f"set of {size:2d} VMs: one after the other {s:6.2f} s, together {p:6.2f} s, "
              f"ratio {p / s:.2f}x" + ("  (target <= 0.5x)" if size >= 20 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
