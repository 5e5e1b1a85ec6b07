"""Helpers: a fleet of VMs behind the stand-in az (fake_az/az), whose Run Command answers come
from the fixture hosts through the real check and collector code.

For each fixture host, ``build_answers`` writes what a VM of that host gives: the report
`accelnet-check --json` prints there (the check's own code on the fixture snapshot) and the
bundle accelnet-collect writes there (collect_tree, the code of `accelnet-check --collect`,
whose bundle is the collector's by contract). The stand-in runs the script accelnet-fleet
sends against those, with bash, as Azure's handler does.
"""

import io
import json
import os
import runpy
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from accelnet.provision.azcli import AzCli

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FAKE_AZ_DIR = HERE / "fake_az"
FIXTURES = REPO / "fixtures" / "hosts"
RG = "fleet-rg"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def fixture_hosts() -> List[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "snapshot.json").exists() or (p / "root").is_dir())


def build_answers(directory: Path) -> None:
    """<host>.report.json and <host>.tar.gz for every fixture host: the report of the check's
    code, and the fixture as a bundle (fixtures are bundles) with the IMDS document reduced
    as both collectors reduce it (redact_imds)."""
    from accelnet.diagnosis.checks import run_checks
    from accelnet.diagnosis.facts import Options, gather
    from accelnet.diagnosis.report import build_report
    from accelnet.parsers.imds import redact_imds
    from accelnet.readers.snapshot import open_snapshot

    directory.mkdir(parents=True, exist_ok=True)
    for host_name in fixture_hosts():
        with open_snapshot(str(FIXTURES / host_name)) as host:
            facts = gather(host, Options())
            report = build_report(facts, run_checks(facts))
        (directory / f"{host_name}.report.json").write_text(json.dumps(report, indent=2) + "\n")
        imds = FIXTURES / host_name / "cmd" / "imds.json"
        with tarfile.open(str(directory / f"{host_name}.tar.gz"), "w:gz", compresslevel=1) as tar:
            tar.add(str(FIXTURES / host_name), arcname="snapshot",
                    filter=lambda info: None if info.name == "snapshot/cmd/imds.json" else info)
            if imds.exists():
                data = (redact_imds(imds.read_text()) or "").encode()
                info = tarfile.TarInfo("snapshot/cmd/imds.json")
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))


def vm(name: str, host: str, mode: str = "collector", behaviour: str = "normal", power: str = "running",
       agent: Optional[str] = "Ready", os_type: str = "Linux", size: str = "Standard_D4s_v5",
       rg: str = RG, scale_set: Optional[str] = None) -> Dict[str, Any]:
    return {"name": name, "rg": rg, "size": size, "os": os_type, "power": power, "agent": agent,
            "os_name": "Windows Server 2022 Datacenter" if os_type == "Windows" else "ubuntu",
            "os_version": "10.0.20348" if os_type == "Windows" else "22.04",
            "host": host, "mode": mode, "behaviour": behaviour, "scale_set": scale_set}


def world(vms=(), vmss=(), groups=(RG,)) -> Dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"groups": {g: {"location": "westus2"} for g in groups},
            "vms": {f"{v['rg'].lower()}/{v['name'].lower()}": v for v in vms},
            "vmss": {f"{s['rg'].lower()}/{s['name'].lower()}": s for s in vmss}}


#: The stand-in's code, to call it in-process (no interpreter start per call).
FAKE_MAIN = runpy.run_path(str(FAKE_AZ_DIR / "az"))["main"]


def spawn_in_process(path: str, argv: List[str], env: Dict[str, str], timeout: float) -> Tuple[int, str, str]:
    """AzCli's spawn through the stand-in's own code in a thread of this process; a call that
    outlives ``timeout`` raises TimeoutExpired as subprocess.run would (the thread ends by
    itself when its hang is over)."""
    box: Dict[str, Any] = {}

    def call() -> None:
        out, err = io.StringIO(), io.StringIO()
        try:
            box["code"] = FAKE_MAIN(list(argv), out, err)
        except BaseException as exc:  # handed over
            box["error"] = exc
        box["out"], box["err"] = out.getvalue(), err.getvalue()

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise subprocess.TimeoutExpired(["az", *argv], timeout)
    if "error" in box:
        raise box["error"]
    return box["code"], box["out"], box["err"]


class FleetAz:
    """The stand-in's state and environment for one test (monkeypatch restores it)."""

    def __init__(self, tmp: Path, monkeypatch: Any, answers: Path) -> None:
        self.tmp = tmp
        self.state_path = tmp / "state.json"
        self.log_path = tmp / "calls.log"
        (tmp / "work").mkdir()
        monkeypatch.setenv("PATH", f"{FAKE_AZ_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
        for name, value in (("FAKE_AZ_STATE", self.state_path), ("FAKE_AZ_LOG", self.log_path),
                            ("FAKE_AZ_ANSWERS", answers), ("FAKE_AZ_WORK", tmp / "work"),
                            ("ACCELNET_AZ_BACKOFF", "0")):
            monkeypatch.setenv(name, str(value))
        for name in ("FAKE_AZ_RUN_DELAY", "FAKE_AZ_HANG_S", "FAKE_AZ_FAIL_AT", "FAKE_AZ_FAIL_MATCH",
                     "FAKE_AZ_FAIL_KIND", "FAKE_AZ_FAIL_TIMES", "FAKE_AZ_FAIL_CMD"):
            monkeypatch.delenv(name, raising=False)
        self.monkeypatch = monkeypatch

    def load(self, state: Dict[str, Any]) -> None:
        self.state_path.write_text(json.dumps(state))

    def set_env(self, name: str, value: Any) -> None:
        self.monkeypatch.setenv(name, str(value))

    def calls(self) -> List[List[str]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def leftovers(self) -> List[str]:
        """Files a run left in the VMs' temporary directories (waiting parts of answers)."""
        found = []
        for directory, _dirs, files in os.walk(str(self.tmp / "work")):
            found += [os.path.join(directory, f) for f in files if f.startswith("accelnet-fleet.")]
        return found

    def fleet(self, *argv: str, in_process: bool = True, spawn: Any = None) -> Tuple[int, str, str]:
        """accelnet-fleet's run() here; the stand-in in-process (threads) or as processes."""
        from accelnet.cli.fleet import run

        cli = AzCli(spawn=spawn or (spawn_in_process if in_process else None), backoff=0.0)
        out, err = io.StringIO(), io.StringIO()
        code = run(list(argv), out, err, cli=cli)
        return code, out.getvalue(), err.getvalue()
