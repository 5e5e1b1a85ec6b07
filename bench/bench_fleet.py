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
"""

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "agent"))
sys.path.insert(0, os.path.join(REPO, "tests", "fleet"))

from fleet_fakes import FAKE_AZ_DIR, RG, build_answers, fixture_hosts, spawn_in_process, vm, world  # noqa: E402


def run_fleet(parallel: int, processes: bool) -> dict:
    from accelnet.cli.fleet import run
    from accelnet.provision.azcli import AzCli

    cli = AzCli(spawn=None if processes else spawn_in_process, backoff=0.0)
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    code = run(["-g", RG, "--json", "--max-parallel", str(parallel), "--timeout", "600"], out, err, cli=cli)
    wall = time.monotonic() - start
    doc = json.loads(out.getvalue())
    return {"wall": wall, "code": code, "verdicts": sum(1 for v in doc["vms"] if v["verdict"]),
            "calls": sum(v["run_command_calls"] for v in doc["vms"])}


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
        together = run_fleet(args.parallel, args.processes)
        one_by_one = run_fleet(1, args.processes)
    for name, result in (("together", together), ("one by one", one_by_one)):
        assert result["verdicts"] == args.vms, result
    print(f"accelnet-fleet over {args.vms} VMs, Run Command taking {args.delay:g} s + the script "
          f"({'az processes' if args.processes else 'stand-in in this process'}):")
    print(f"  --max-parallel {args.parallel:<3} {together['wall']:8.1f} s  ({together['calls']} Run Command calls)")
    print(f"  --max-parallel 1   {one_by_one['wall']:8.1f} s  ({one_by_one['calls']} Run Command calls)")
    print(f"  ratio parallel/sequential: {together['wall'] / one_by_one['wall']:.3f} "
          f"(ideal 1/{args.parallel} = {1 / args.parallel:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
