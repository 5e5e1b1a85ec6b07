"""Helpers: run the real accelnet-provision entry point against the stand-in az on PATH."""

import copy
import importlib.machinery
import importlib.util
import io
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from accelnet.cli.provision import run

FAKE_AZ_DIR = Path(__file__).resolve().parent / "fake_az"
RG = "rg(test).1"  # parentheses and a dot: legal in Azure, must be quoted in sh
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # what the stand-in's account show says
ACCOUNT = "account show"
READ_WORDS = (" show ", " get-instance-view ", " list-vm-resize-options ", " list-instances ",
              "group exists ", " list-skus ", "vm list ")


# in journal tags: a time, and the proof that depends on it
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ(?:; proof [0-9a-f]{16})?")
VM_TYPE = "Microsoft.Compute/virtualMachines"


def rid(name: str, kind: str = VM_TYPE) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/{kind}/{name}"


def tag_on(name: str, by: str, intent: str = "start again",
           kind: str = VM_TYPE) -> str:
    """The command that writes the journal tag on a VM (as commands() shows it)."""
    return (f"tag update --resource-id {rid(name, kind)} --operation Merge --tags "
            f"accelnet-provision={intent}; by accelnet-provision {by}; TIME")


def tag_off(name: str, by: str, intent: str = "start again", kind: str = VM_TYPE) -> str:
    return tag_on(name, by, intent, kind).replace("--operation Merge", "--operation Delete")


def skus(size: str, location: str = "centralus") -> str:
    """The call that asks Azure whether a size has AN there (as commands() shows it)."""
    return (f"vm list-skus --location {location} --size {size} --all "
            "--resource-type virtualMachines")


def is_read(command: str) -> bool:
    return command == ACCOUNT or any(w in f" {command} " for w in READ_WORDS)


def vm(name: str, size: str, nics: List[str], power: str = "running",
       avset: str = None) -> Dict[str, Any]:  # type: ignore[assignment]
    return {"name": name, "rg": RG, "size": size, "nics": nics, "power": power,
            "availabilitySet": avset}


def nic(name: str, vm_name: str, accelerated: bool = False) -> Dict[str, Any]:
    return {"name": name, "rg": RG, "vm": vm_name, "accelerated": accelerated}


def key(name: str) -> str:
    return f"{RG.lower()}/{name.lower()}"


def world(vms=(), nics=(), avsets=None, vmss=None) -> Dict[str, Any]:  # type: ignore[no-untyped-def]
    state: Dict[str, Any] = {"groups": {RG: {"location": "centralus"}}, "vms": {}, "nics": {},
                             "avsets": {}, "vmss": {}}
    for item in vms:
        state["vms"][key(item["name"])] = item
    for item in nics:
        state["nics"][key(item["name"])] = item
    for name, members in (avsets or {}).items():
        state["avsets"][key(name)] = {"name": name, "rg": RG, "vms": members}
    for item in vmss or ():
        state["vmss"][key(item["name"])] = item
    return state


def _load_fake_module() -> Any:
    """The stand-in az as a module, to call it in-process (no interpreter start per call)."""
    loader = importlib.machinery.SourceFileLoader("fake_az_module", str(FAKE_AZ_DIR / "az"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


FAKE_MODULE = _load_fake_module()


def spawn_in_process(path: str, argv: List[str], env: Dict[str, str],
                     timeout: float) -> Tuple[int, str, str]:
    """AzCli's spawn, through the very same stand-in code, without a new process."""
    out, err = io.StringIO(), io.StringIO()
    code = FAKE_MODULE.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


# Every az argv the stand-in saw, or a run printed as planned, by test (conftest.py fills
# it after each test; test_real_az.py gives them all to the real Azure CLI).
CORPUS: Dict[str, List[List[str]]] = {}


def record(test: str, argvs: List[List[str]]) -> None:
    CORPUS[test] = argvs
    path = os.environ.get("ACCELNET_ARGV_CORPUS")
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            for argv in argvs:
                stream.write(json.dumps({"test": test, "argv": argv}) + "\n")


class FakeAz:
    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch):
        self.planned: List[List[str]] = []  # argvs of --output json documents' steps
        self.state_path = tmp / "state.json"
        self.log_path = tmp / "calls.log"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PATH", f"{FAKE_AZ_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
        monkeypatch.setenv("FAKE_AZ_STATE", str(self.state_path))
        monkeypatch.setenv("FAKE_AZ_LOG", str(self.log_path))
        monkeypatch.setenv("ACCELNET_AZ_BACKOFF", "0")
        monkeypatch.setenv("ACCELNET_AZ_POLL", "0")
        for name in ("FAKE_AZ_FAIL_AT", "FAKE_AZ_FAIL_MATCH", "FAKE_AZ_FAIL_KIND",
                     "FAKE_AZ_FAIL_TIMES", "FAKE_AZ_FAIL_CMD", "FAKE_AZ_DELAY"):
            monkeypatch.delenv(name, raising=False)

    def in_process(self) -> None:
        """Call the stand-in in-process (hundreds of runs in the fault matrix)."""
        self.monkeypatch.setattr("accelnet.provision.azcli.spawn_subprocess", spawn_in_process)

    def load(self, state: Dict[str, Any]) -> None:
        self.state_path.write_text(json.dumps(state))

    @property
    def state(self) -> Dict[str, Any]:
        return json.loads(self.state_path.read_text())

    def calls(self) -> List[List[str]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def commands(self) -> List[str]:
        """Each call without --subscription X and --output json, as one space-joined string
        (easy to compare; the form FAKE_AZ_FAIL_CMD takes). Asserts that every call but
        `az account show` (which finds it) names the subscription."""
        calls = self.calls()
        for call in calls:
            if call[:2] != ["account", "show"]:
                assert call[-4:] == ["--subscription", SUBSCRIPTION, "--output", "json"], call
        return [TIME_RE.sub("TIME", " ".join(
            c[:-4] if c[-4:-2] == ["--subscription", SUBSCRIPTION] and c[:2] != ["account", "show"]
            else c[:-2])) for c in calls]

    def changes(self) -> List[str]:
        """The commands that change something (no show, list, exists)."""
        return [c for c in self.commands() if not is_read(c)]

    def reset_log(self) -> None:
        for path in (self.log_path, Path(str(self.log_path) + ".failed")):
            if path.exists():
                path.unlink()

    def set_env(self, name: str, value: Any) -> None:
        self.monkeypatch.setenv(name, str(value))

    def fail(self, **env: Any) -> None:
        for name, value in env.items():
            self.monkeypatch.setenv(f"FAKE_AZ_FAIL_{name.upper()}", str(value))

    def no_fail(self) -> None:
        for name in ("AT", "MATCH", "KIND", "TIMES", "CMD"):
            self.monkeypatch.delenv(f"FAKE_AZ_FAIL_{name}", raising=False)

    def provision(self, *argv: str, stdin: Any = None) -> Tuple[int, str, str]:
        """Run accelnet-provision in-process; stdin is no terminal unless given."""
        out, err = io.StringIO(), io.StringIO()
        code = run(list(argv), out, err, stdin=io.StringIO("") if stdin is None else stdin)
        self._keep_planned(out.getvalue())
        return code, out.getvalue(), err.getvalue()

    def _keep_planned(self, out: str) -> None:
        try:
            doc = json.loads(out)
        except ValueError:
            return
        if isinstance(doc, dict):
            self.planned += [step["argv"][1:] for step in doc.get("steps") or ()]


def clone(state: Dict[str, Any]) -> Dict[str, Any]:
    return copy.deepcopy(state)
