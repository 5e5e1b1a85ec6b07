"""accelnet-fleet end to end against the stand-in az: 200 VMs whose Run Command answers come from
the fixture hosts, with and without accelnet, and every way a VM can fail to answer."""

import csv
import io
import json
import threading
from typing import Any, Dict, List, Tuple

import pytest

from fleet_fakes import RG, SUBSCRIPTION, fixture_hosts, spawn_in_process, vm, world

READ_ONLY_CALLS = ("account show", "vm list", "vm get-instance-view", "vm run-command invoke",
                   "vmss show", "vmss list-instances", "vmss run-command invoke")
# behaviour -> the reason kind it must end with (None: a verdict)
SPECIAL = {"deallocated": "not running", "stopped": "not running", "windows": "windows",
           "not-ready": "agent", "no-agent": "agent", "agent-error": "agent", "hang": "timeout",
           "garbage": "no answer", "cut": "cut", "busy": "busy", "denied": "denied",
           "hostile": None, "fail-check": None}


def command_of(call: List[str]) -> str:
    words = []
    for word in call:
        if word.startswith("-"):
            break
        words.append(word)
    return " ".join(words)


def big_fleet(answers) -> Tuple[List[Dict[str, Any]], Dict[str, str]]:
    """200 VMs: each fixture host with and without accelnet, and the special cases."""
    hosts = fixture_hosts()
    plan = (["deallocated"] * 8 + ["stopped"] * 2 + ["windows"] * 6 + ["not-ready"] * 4 + ["no-agent"] * 2
            + ["agent-error"] * 3 + ["hang"] * 4 + ["garbage"] * 4 + ["cut"] * 3 + ["busy"] * 2
            + ["denied"] * 2 + ["hostile"] * 3 + ["fail-check"] * 3)
    vms, behaviour = [], {}
    for index in range(200):
        host = hosts[index % len(hosts)]
        mode = "installed" if index % 2 else "collector"
        special = plan[index // 3] if index % 3 == 2 and index // 3 < len(plan) else "normal"
        if host.endswith(("vf-removed", "debian12-kvm-not-azure")) and special != "normal":
            special = "normal"  # kept whole: the platform event and the non-Azure verdict
        name = f"vm-{index:03d}"
        kwargs: Dict[str, Any] = {}
        if special in ("deallocated", "stopped"):
            kwargs["power"] = special
        elif special == "windows":
            kwargs["os_type"] = "Windows"
        elif special == "not-ready":
            kwargs["agent"] = "Not Ready"
        elif special == "no-agent":
            kwargs["agent"] = None
        elif special in ("hostile",):
            mode = "installed"
        if special in ("agent-error", "hang", "garbage", "cut", "busy", "denied", "hostile", "fail-check"):
            kwargs["behaviour"] = special
        if special == "fail-check":
            mode = "installed"
        vms.append(vm(name, host, mode, **kwargs))
        behaviour[name] = special
    return vms, behaviour


class Concurrency:
    """AzCli's spawn counting Run Command calls at once (the stand-in in this process)."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, path, argv, env, timeout):
        counted = "run-command" in argv
        if counted:
            with self.lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
        try:
            return spawn_in_process(path, argv, env, timeout)
        finally:
            if counted:
                with self.lock:
                    self.now -= 1


def test_200_vms_each_end_with_a_verdict_or_the_reason_none(fleet_az, answers):
    vms, behaviour = big_fleet(answers)
    fleet_az.load(world(vms))
    # a budget that a loaded machine (CI's, 2 cores shared) does not make normal VMs miss; hung
    # runs outlast it
    fleet_az.set_env("FAKE_AZ_HANG_S", 156)
    spawn = Concurrency()
    code, out, err = fleet_az.fleet("-g", RG, "--json", "--max-parallel", "16", "--timeout", "150", spawn=spawn)
    doc = json.loads(out)
    assert "read-only" in err and doc["read_only"] is True
    by_name = {v["name"]: v for v in doc["vms"]}
    assert len(by_name) == 200
    reports = {h: json.loads((answers / f"{h}.report.json").read_text()) for h in fixture_hosts()}
    timeouts = [(v["name"], behaviour[v["name"]], v["seconds"], v["reason"]["message"]) for v in doc["vms"]
                if v["reason"] and v["reason"]["kind"] == "timeout" and behaviour[v["name"]] != "hang"]
    assert timeouts == []
    for spec in vms:
        row, special = by_name[spec["name"]], behaviour[spec["name"]]
        assert (row["verdict"] is None) != (row["reason"] is None), row
        expected = SPECIAL.get(special)
        if special == "normal" or expected is None:
            assert row["verdict"] == reports[spec["host"]]["status"], (row, special)
            via = "accelnet-check" if spec["mode"] == "installed" and special != "fail-check" else "accelnet-collect"
            assert row["via"] == via, row
        else:
            assert row["reason"]["kind"] == expected, (row, special)
    assert spawn.peak <= 16
    statuses = {v["verdict"] for v in doc["vms"] if v["verdict"]}
    assert statuses == {"ok", "warning", "critical", "unknown"}
    assert code == doc["exit_status"] == 2 and doc["status"] == "critical"
    # the VMs of the VF-removed fixture lost their VF at the same minute: one platform event
    removed = sorted(v["name"] for v in vms if v["host"] == "ubuntu2204-cx5-vf-removed")
    assert len(removed) >= 4
    assert any(set(removed) <= set(e["vms"]) for e in doc["platform_events"]), doc["platform_events"]
    # groups by cause cover every VM once
    assert sum(g["count"] for g in doc["causes"]) == 200
    # read-only: reads and Run Command only, each naming the pinned subscription; VMs that are
    # not running, Windows or without a ready agent were never sent a script
    calls = fleet_az.calls()
    assert {command_of(c) for c in calls} <= set(READ_ONLY_CALLS)
    assert all(c[c.index("--subscription") + 1] == SUBSCRIPTION for c in calls if command_of(c) != "account show")
    asked = {c[c.index("--name") + 1] for c in calls if command_of(c) == "vm run-command invoke"}
    never = {n for n, s in behaviour.items() if s in ("deallocated", "stopped", "windows", "not-ready", "no-agent")}
    assert never and not asked & never
    assert fleet_az.leftovers() == []


def test_text_table_groups_and_hostile_text(fleet_az):
    vms = [vm("vm-a", "ubuntu2204-cx5-vf-removed"), vm("vm-b", "ubuntu2204-cx5-vf-removed", "installed"),
           vm("vm-c", "centos7-an-off"), vm("vm-d", "ubuntu2204-cx5-fallback", "installed", behaviour="hostile"),
           vm("vm-e", "centos7-an-off", power="deallocated")]
    fleet_az.load(world(vms))
    code, out, err = fleet_az.fleet("-g", RG)
    assert code == 2
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b[2J" in out
    header, *rest = out.splitlines()
    assert header.split() == ["VM", "SIZE", "DISTRIBUTION", "AND", "KERNEL", "VERDICT", "CAUSE"]
    assert "By cause:" in out and "Platform events" in out
    assert "VF removed on 2 VMs" in out and "vm-a, vm-b" in out
    assert out.rstrip().endswith("Fleet status: CRITICAL.")
    assert "1 not running" in out


def test_csv_and_formula_cells(fleet_az):
    fleet_az.load(world([vm("=cmd", "centos7-an-off"), vm("vm-b", "ubuntu2204-cx5-2nics", "installed")]))
    code, out, _err = fleet_az.fleet("-g", RG, "--csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["vm", "resource_group", "kind"] and len(rows) == 3
    # "=cmd" is not a valid VM name: refused before any call, and never a formula
    assert rows[1][0] == "'=cmd" and "not asked" in rows[1][9]
    assert rows[2][7] == "ok" and code == 3  # one VM could not be asked: unknown


def test_uniform_scale_set_instances_are_asked_by_instance_id(fleet_az):
    instances = [dict(vm(str(i), "ubuntu2204-cx5-2nics", "installed" if i % 2 else "collector"), id=str(i))
                 for i in range(4)]
    instances[3]["power"] = "deallocated"
    ss = {"name": "ss", "rg": RG, "size": "Standard_D8s_v5", "mode": "Uniform", "os": "Linux", "instances": instances}
    fleet_az.load(world(vmss=[ss]))
    code, out, _err = fleet_az.fleet("-g", RG, "--vmss", "ss", "--json")
    doc = json.loads(out)
    assert [(v["name"], v["instance_id"], v["verdict"]) for v in doc["vms"]] == [
        ("ss_0", "0", "ok"), ("ss_1", "1", "ok"), ("ss_2", "2", "ok"), ("ss_3", "3", None)]
    assert code == 0  # a deallocated instance is not a failure
    invokes = [c for c in fleet_az.calls() if command_of(c).endswith("run-command invoke")]
    assert {command_of(c) for c in invokes} == {"vmss run-command invoke"}
    assert sorted(c[c.index("--instance-id") + 1] for c in invokes) == ["0", "1", "2"]


def test_flexible_scale_set_members_are_ordinary_vms(fleet_az):
    members = [vm(f"flex-{i}", "ubuntu2204-mana-healthy", scale_set="flex") for i in range(3)]
    other = vm("loner", "centos7-an-off")
    ss = {"name": "flex", "rg": RG, "size": "Standard_D4s_v6", "mode": "Flexible", "os": "Linux"}
    fleet_az.load(world(members + [other], vmss=[ss]))
    code, out, _err = fleet_az.fleet("-g", RG, "--vmss", "flex", "--json")
    doc = json.loads(out)
    assert [(v["name"], v["kind"], v["verdict"]) for v in doc["vms"]] == [
        ("flex-0", "flexible", "ok"), ("flex-1", "flexible", "ok"), ("flex-2", "flexible", "ok")]
    commands = [command_of(c) for c in fleet_az.calls()]
    assert "vmss list-instances" not in commands and "vmss run-command invoke" not in commands
    assert code == 0


def test_named_vms_only_and_a_missing_one(fleet_az):
    fleet_az.load(world([vm("a", "centos7-an-off"), vm("b", "ubuntu2204-cx5-2nics"), vm("c", "centos7-an-off")]))
    code, out, _err = fleet_az.fleet("-g", RG, "--vm", "b", "--vm", "nope", "--json")
    doc = json.loads(out)
    assert [(v["name"], v["verdict"], (v["reason"] or {}).get("kind")) for v in doc["vms"]] == [
        ("b", "ok", None), ("nope", None, "gone")]
    assert code == 3


@pytest.mark.parametrize("argv, message", [
    (["--vm", "a"], "required: -g"),
    (["-g", RG, "--vm", "-rf"], "expected at least one argument"),
    (["-g", RG, "--vm", "a;reboot"], "invalid VM name"),
    (["-g", RG, "--vmss", "s", "--vm", "a"], "not allowed with"),
    (["-g", RG, "--max-parallel", "0"], "give 1 to 64"),
    (["-g", RG, "--timeout", "nan"], "give 5 to 7200"),
    (["-g", RG, "--json", "--csv"], "not allowed with"),
    (["-g", "bad\nname"], "invalid resource group"),
])
def test_bad_arguments_are_unknown_with_a_reason(fleet_az, argv, message):
    code, out, err = fleet_az.fleet(*argv)
    assert code == 3 and message in err
    if "--json" not in argv:
        assert out == ""
        code, out, err = fleet_az.fleet(*argv, "--json")
    assert code == 3 and json.loads(out)["status"] == "unknown" and message in json.loads(out)["error"]


def test_nothing_asked_is_unknown(fleet_az):
    fleet_az.load(world([vm("a", "centos7-an-off", power="deallocated")]))
    assert fleet_az.fleet("-g", RG)[0] == 3
    code, _out, err = fleet_az.fleet("-g", "other-rg")
    assert code == 3 and "nothing asked" in err and "not found" in err
    fleet_az.load(world([]))
    code, _out, err = fleet_az.fleet("-g", RG)
    assert code == 3 and "no VM found" in err


def test_not_logged_in_stops_at_once(fleet_az):
    fleet_az.load(world([vm("a", "centos7-an-off")]))
    fleet_az.set_env("FAKE_AZ_FAIL_MATCH", "account show")
    fleet_az.set_env("FAKE_AZ_FAIL_KIND", "login")
    code, _out, err = fleet_az.fleet("-g", RG)
    assert code == 3 and "az login" in err
    assert [command_of(c) for c in fleet_az.calls()] == ["account show"]


def test_names_azure_would_refuse_never_reach_az(fleet_az):
    """A listing (from Azure, but still input) with names that az would read as options or
    that hold control characters: those VMs are not asked, and say so."""
    fleet_az.load(world([vm("--debug", "centos7-an-off"), vm("evil\x1b]0;x\x07", "centos7-an-off"),
                         vm("fine", "ubuntu2204-cx5-2nics")]))
    code, out, _err = fleet_az.fleet("-g", RG, "--json")
    doc = json.loads(out)
    assert [(v["verdict"], (v["reason"] or {}).get("kind")) for v in doc["vms"]] == [
        (None, "refused"), (None, "refused"), ("ok", None)]
    for call in fleet_az.calls():
        assert "--debug" not in call and not any("\x1b" in word for word in call)
    assert code == 3


def test_with_az_processes_and_a_run_that_hangs(fleet_az):
    """The stand-in as a process per call, as an operator's az is: the hung run's az is
    stopped at the timeout and the VM says so; the others answer."""
    fleet_az.load(world([vm("a", "ubuntu2204-cx5-2nics", "installed"), vm("b", "centos7-an-off"),
                         vm("h", "centos7-an-off", behaviour="hang")]))
    fleet_az.set_env("FAKE_AZ_HANG_S", 600)
    code, out, _err = fleet_az.fleet("-g", RG, "--json", "--timeout", "15", in_process=False)
    doc = json.loads(out)
    assert [(v["name"], v["verdict"], (v["reason"] or {}).get("kind")) for v in doc["vms"]] == [
        ("a", "ok", None), ("b", "critical", None), ("h", None, "timeout")]
    assert "may still run there" in doc["vms"][2]["reason"]["message"]
    assert code == 2


def test_busy_vm_is_asked_again_until_its_budget_is_spent(fleet_az):
    fleet_az.load(world([vm("b", "centos7-an-off", behaviour="busy")]))
    code, out, _err = fleet_az.fleet("-g", RG, "--json", "--timeout", "5")
    row = json.loads(out)["vms"][0]
    assert row["reason"]["kind"] == "busy" and "one at a time" in row["reason"]["message"]
    invokes = [c for c in fleet_az.calls() if command_of(c) == "vm run-command invoke"]
    assert 3 <= len(invokes) <= 12  # asked again every ~0.5 s or more, not in a tight loop
    assert code == 3


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_only(fleet_az):
    from accelnet.cli.fleet import run
    from accelnet.provision.azcli import AzCli

    fleet_az.load(world([vm(f"vm-{i}", "centos7-an-off") for i in range(3)]))
    out, err = io.StringIO(), Terminal()
    code = run(["-g", RG], out, err, cli=AzCli(spawn=spawn_in_process, backoff=0.0))
    progress = [p for p in err.getvalue().split("\r\x1b[K") if p.startswith("accelnet-fleet: ") and "answered" in p]
    assert progress[-1] == "accelnet-fleet: 3/3 answered, 0 being asked, 0 without a verdict"
    assert err.getvalue().endswith("\r\x1b[K")  # cleared before the table
    assert "\x1b" not in out.getvalue() and code == 2
    code, _out, plain = fleet_az.fleet("-g", RG)
    assert "answered" not in plain and "\x1b" not in plain
