#!/usr/bin/env python3
"""Wall time of ``accelnet-fleet`` over N VMs asked together (``--max-parallel P``) as a ratio to
the same run one VM after the other (``--max-parallel 1``), both here against the stand-in az
(tests/fleet/fake_az/az) whose Run Command takes a fixed delay and then really runs the
script sent, on the fixture hosts' reports and bundles (half the VMs with accelnet, half
answering through the collector's reduced bundle, diagnosed here).

    python3 bench/bench_fleet.py [--vms 200] [--delay 1.0] [--parallel 8] [--processes]

The delay models Run Command's own time (Azure's documentation: about 20 s at least; 1 s
here keeps the sequential run within minutes). By default the stand-in runs in this process
(AzCli's spawn passed in); ``--processes`` starts one stand-in az process per call, as an
operator's az is started.

Like with like: both runs ask the same VMs of the same stand-in in this process, after a
warm-up run over two of them (imports, the page cache), and the bench checks that they end
with the same verdict per VM and the same number of Run Command calls. Each run's CPU
seconds (this process and its children: the stand-in's scripts) are printed beside its wall
time: on a machine with fewer cores than --parallel the parallel run is bound by them, not
by Run Command's delay.
"""

import argparse
import io
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "agent"))
sys.path.insert(0, os.path.join(REPO, "tests", "fleet"))

from fleet_fakes import FAKE_AZ_DIR, RG, build_answers, fixture_hosts, spawn_in_process, vm, world  # noqa: E402


def _cpu() -> float:
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def run_fleet(parallel: int, processes: bool, only=()) -> dict:  # type: ignore[no-untyped-def]
    from accelnet.cli.fleet import run
    from accelnet.provision.azcli import AzCli

    cli = AzCli(spawn=None if processes else spawn_in_process, backoff=0.0)
    out, err = io.StringIO(), io.StringIO()
    argv = ["-g", RG, "--json", "--max-parallel", str(parallel), "--timeout", "600"]
    argv += ["--vm", *only] if only else []
    cpu, start = _cpu(), time.monotonic()
    code = run(argv, out, err, cli=cli)
    wall, cpu = time.monotonic() - start, _cpu() - cpu
    doc = json.loads(out.getvalue())
    return {"wall": wall, "cpu": cpu, "code": code, "verdicts": sum(1 for v in doc["vms"] if v["verdict"]),
            "calls": sum(v["run_command_calls"] for v in doc["vms"]),
            "per_vm": {v["name"]: (v["verdict"], v["cause"], v["run_command_calls"]) for v in doc["vms"]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds each Run Command takes")
    parser.add_argument("--parallel", type=int, default=8, help="--max-parallel of the parallel run")
    parser.add_argument("--processes", action="store_true", help="one stand-in az process per call")
    args = parser.parse_args()
    hosts = fixture_hosts()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        answers, work = Path(tmp) / "answers", Path(tmp) / "work"
        build_answers(answers)
        work.mkdir()
        state = Path(tmp) / "state.json"
        state.write_text(json.dumps(world([
            vm(f"vm-{i:03d}", hosts[i % len(hosts)], "installed" if i % 2 else "collector") for i in range(args.vms)])))
        os.environ.update({"PATH": f"{FAKE_AZ_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
                           "FAKE_AZ_STATE": str(state), "FAKE_AZ_LOG": str(Path(tmp) / "calls.log"),
                           "FAKE_AZ_ANSWERS": str(answers), "FAKE_AZ_WORK": str(work),
                           "FAKE_AZ_RUN_DELAY": str(args.delay), "ACCELNET_AZ_BACKOFF": "0"})
        load = os.getloadavg()[0]
        run_fleet(2, args.processes, only=("vm-000", "vm-001"))  # warm-up, not measured
        together = run_fleet(args.parallel, args.processes)
        one_by_one = run_fleet(1, args.processes)
    for result in (together, one_by_one):
        assert result["verdicts"] == args.vms, {k: v for k, v in result.items() if k != "per_vm"}
    assert together["per_vm"] == one_by_one["per_vm"], "the two runs differ in verdicts or calls"
    print(f"accelnet-fleet over {args.vms} VMs, Run Command taking {args.delay:g} s + the script "
          f"({'az processes' if args.processes else 'stand-in in this process'}); "
          f"{os.cpu_count()} CPUs, load average {load:.1f} before:")
    for label, result in ((f"--max-parallel {args.parallel}", together), ("--max-parallel 1", one_by_one)):
        print(f"  {label:<18} {result['wall']:8.1f} s wall  {result['cpu']:7.1f} s CPU  "
              f"({result['calls']} Run Command calls, exit {result['code']})")
    ratio = together["wall"] / one_by_one["wall"]
    ideal = math.ceil(args.vms / args.parallel) / args.vms
    print(f"  ratio parallel/sequential: {ratio:.3f} (speed-up x{1 / ratio:.1f}; ideal {ideal:.3f} "
          "when Run Command's delay, not this machine's CPU, is the cost)")
    print(f"  sequential per VM: {one_by_one['wall'] / args.vms:.2f} s "
          f"({args.delay:g} s delay + {one_by_one['wall'] / args.vms - args.delay:.2f} s script and diagnosis)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
