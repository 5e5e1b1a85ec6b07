"""The script accelnet-fleet sends to VMs (accelnet/fleet/payload.sh), run here under dash and
busybox sh as Run Command would run it, on every fixture host's bundle: every answer fits Run
Command's output, and the reduced bundle gives the same report as the whole bundle."""

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from accelnet.diagnosis.facts import Options
from accelnet.fleet import answer, minibundle, payload, verdict
from fleet_fakes import fixture_hosts
from testutil import require_tool

TOKEN = "0123456789abcdef"
TAIL = 4096  # bytes of each stream Run Command returns
VOLATILE = ("time",)  # when the report was made, differs between two runs


def collector() -> str:
    path = payload.find_collector()
    assert path is not None, "scripts/accelnet-collect not found"
    return payload.read_collector(path)


def shells() -> List[Tuple[str, List[str]]]:
    return [("dash", [require_tool("dash", "dash")]), ("busybox", [require_tool("busybox", "busybox"), "sh"])]


def run(shell: List[str], script: str, env: Dict[str, str], tmp: Path) -> Tuple[str, str]:
    path = tmp / "script.sh"
    path.write_text(script)
    proc = subprocess.run(shell + [str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          timeout=120, cwd=str(tmp))
    assert len(proc.stdout) <= TAIL and len(proc.stderr) <= TAIL, (len(proc.stdout), len(proc.stderr))
    return proc.stdout.decode(), proc.stderr.decode()


def ask(shell: List[str], bundle: Path, tmp: Path, chunk: int = payload.CHUNK,
        collector_text: str = None) -> Tuple[Dict[int, answer.Frame], int]:
    """Every part of the answer for ``bundle``, as accelnet-fleet fetches them."""
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp), "ACCELNET_FLEET_TEST_BUNDLE": str(bundle),
           "ACCELNET_FLEET_TEST_CHECK": ""}
    known: Dict[int, answer.Frame] = {}
    calls, part = 0, 1
    while True:
        script = payload.build(payload.Question(TOKEN, part, 0, 30),
                               (collector_text if collector_text is not None else collector()) if part == 1 else None)
        script = script.replace(f"CHUNK='{payload.CHUNK}'", f"CHUNK='{chunk}'")
        out, err = run(shell, script, env, tmp)
        calls += 1
        frames = answer.find_frames(out, TOKEN) + answer.find_frames(err, TOKEN)
        assert frames, (out[-500:], err[-500:])
        answer.collect(known, frames)
        if frames[0].kind == "error" or not answer.missing(known):
            return known, calls
        part = answer.missing(known)[0]


def without_volatile(report: dict) -> dict:
    report = json.loads(json.dumps(report))
    for key in VOLATILE:
        report["host"].pop(key, None)
    return report


def test_script_is_clean_posix_sh_within_run_commands_size():
    shellcheck = require_tool("shellcheck", "shellcheck")
    script = payload.build(payload.Question(TOKEN, 1, 2, 60), collector())
    assert script.startswith("#!/bin/sh\n")  # the handler runs the file itself (bash -c FILE)
    assert len(script.encode()) < 128 * 1024  # also one argv string (MAX_ARG_STRLEN)
    assert "@" not in re.sub(r"'[^']*'|\$@|\"\$@\"|[\w.-]+@[\w.-]+", "", script.split("ACCELNET_FLEET_COLLECTOR_END")[0])
    template = Path(payload.__file__).with_name("payload.sh")
    proc = subprocess.run([shellcheck, "--shell=sh", "--severity=style", str(template)],
                          stdout=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    for _name, shell in shells():
        assert subprocess.run(shell + ["-n", "-c", script]).returncode == 0
    code = "\n".join(l for l in template.read_text().splitlines() if not l.lstrip().startswith("#"))
    for word in ("[[", "local ", "function ", "$'", "pipefail", "<<<", "python", "bash"):
        assert word not in code, word


def test_only_numbers_and_the_token_are_filled_in():
    with pytest.raises(payload.PayloadError):
        payload.build(payload.Question("'; rm -rf / #", 1), None)
    with pytest.raises(payload.PayloadError):
        payload.build(payload.Question(TOKEN, payload.MAX_PARTS + 1), None)
    part = payload.build(payload.Question(TOKEN, 3), collector())
    assert "accelnet-collect: capture this host" not in part  # later parts carry no collector


@pytest.mark.parametrize("host", fixture_hosts())
def test_every_fixture_host_answers_within_two_calls_with_the_same_report(host, answers, tmp_path):
    bundle = answers / f"{host}.tar.gz"
    known, calls = ask(shells()[0][1], bundle, tmp_path)
    assert known[1].kind == "bundle"
    assert calls <= 2 and len(known) <= 4  # part 2 (and 4) ride on stderr
    if host != "ubuntu2004-cx3-8nics":
        assert calls == 1, "a one- or two-NIC VM answers in one call"
    reduced = verdict.diagnose_entries(minibundle.parse(answer.inflate(answer.assemble(known))), Options())
    whole = json.loads(subprocess.run(
        [os.environ.get("PYTHON", __import__("sys").executable), "-m", "accelnet.cli.check", "--snapshot",
         str(bundle), "--json"], stdout=subprocess.PIPE, universal_newlines=True).stdout)
    assert without_volatile(reduced) == without_volatile(whole)
    assert not [f for f in os.listdir(str(tmp_path)) if f.startswith("accelnet-fleet.")]


@pytest.mark.parametrize("name, shell", shells())
def test_long_answer_in_parts_waits_in_a_private_file_removed_by_the_last_call(name, shell, answers, tmp_path):
    known, calls = ask(shell, answers / "ubuntu2004-cx3-8nics.tar.gz", tmp_path, chunk=2000)
    parts = known[1].parts
    assert parts > 4 and calls == (parts + 1) // 2  # two parts per call: stdout and stderr
    entries = minibundle.parse(answer.inflate(answer.assemble(known)))
    assert verdict.diagnose_entries(entries, Options())["status"] == "ok"
    assert not [f for f in os.listdir(str(tmp_path)) if f.startswith("accelnet-fleet.")]


def test_a_part_asked_for_after_the_file_is_gone_says_so(answers, tmp_path):
    shell = shells()[0][1]
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    out, _err = run(shell, payload.build(payload.Question(TOKEN, 3), None), env, tmp_path)
    (frame,) = answer.find_frames(out, TOKEN)
    assert frame.kind == "error" and b"gone" in answer.inflate(frame.data)


def test_an_answer_longer_than_max_parts_is_refused_and_nothing_is_left(answers, tmp_path):
    known, calls = ask(shells()[0][1], answers / "ubuntu2004-cx3-8nics.tar.gz", tmp_path, chunk=40)
    assert (known[1].kind, calls) == ("error", 1)
    assert b"more than 8 parts" in answer.inflate(known[1].data)
    assert os.listdir(str(tmp_path)) == ["script.sh"]


def test_stale_parts_of_runs_that_gave_up_are_removed(answers, tmp_path):
    old, fresh = tmp_path / "accelnet-fleet.aaaaaaaaaaaaaaaa", tmp_path / "accelnet-fleet.bbbbbbbbbbbbbbbb"
    for path in (old, fresh):
        path.write_text("x")
    hours_ago = time.time() - 7200
    os.utime(str(old), (hours_ago, hours_ago))
    ask(shells()[0][1], answers / "centos7-an-off.tar.gz", tmp_path)
    assert not old.exists() and fresh.exists()


def test_without_accelnet_and_without_a_collector_the_vm_says_so(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "ACCELNET_FLEET_TEST_CHECK": ""}
    out, _err = run(shells()[0][1], payload.build(payload.Question(TOKEN, 1), None), env, tmp_path)
    (frame,) = answer.find_frames(out, TOKEN)
    assert frame.kind == "error" and b"no accelnet-collect to send" in answer.inflate(frame.data)


def test_installed_accelnet_check_answers_with_its_report(answers, tmp_path):
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    report = answers / "ubuntu2204-cx5-vf-flapping.report.json"
    (fakebin / "accelnet-check").write_text(f"#!/bin/sh\necho \"$*\" > {tmp_path}/args\ncat '{report}'\nexit 1\n")
    (fakebin / "accelnet-check").chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path),
           "ACCELNET_FLEET_TEST_CHECK": str(fakebin / "accelnet-check")}
    out, err = run(shells()[0][1], payload.build(payload.Question(TOKEN, 1, 5, 40), collector()), env, tmp_path)
    known: Dict[int, answer.Frame] = {}
    answer.collect(known, answer.find_frames(out, TOKEN) + answer.find_frames(err, TOKEN))
    assert known[1].kind == "report" and not answer.missing(known)
    assert json.loads(answer.inflate(answer.assemble(known))) == json.loads(report.read_text())
    assert (tmp_path / "args").read_text().split() == ["--json", "--sample-seconds", "5", "--timeout", "40"]


def test_the_collector_runs_on_a_namespace_host_and_its_answer_diagnoses(ns, tmp_path):
    """The whole payload with the real collector, on a live (namespace) host: a bridge stands
    in for hv_netvsc, a veth is its VF; the reduced bundle pairs them as the live check does."""
    from accelnet.kernel import netns

    netns.add_bridge(ns, "syn0")
    netns.add_veth(ns, "enP1s1", "peer0")
    netns.set_master(ns, "enP1s1", "syn0")
    script = tmp_path / "script.sh"
    script.write_text(payload.build(payload.Question(TOKEN, 1, 0.2, 30), collector()))
    proc = subprocess.run(["ip", "netns", "exec", ns, require_tool("dash", "dash"), str(script)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR": str(tmp_path),
                               "ACCELNET_FLEET_TEST_CHECK": ""})
    known: Dict[int, answer.Frame] = {}
    answer.collect(known, answer.find_frames(proc.stdout.decode(), TOKEN) + answer.find_frames(proc.stderr.decode(), TOKEN))
    assert known[1].kind == "bundle", proc.stdout[-300:]
    if answer.missing(known):  # the rest waits in TMPDIR
        out, err = run(["dash"], payload.build(payload.Question(TOKEN, answer.missing(known)[0]), None),
                       {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}, tmp_path)
        answer.collect(known, answer.find_frames(out, TOKEN) + answer.find_frames(err, TOKEN))
    entries = minibundle.parse(answer.inflate(answer.assemble(known)))
    report = verdict.diagnose_entries(entries, Options(synthetic_drivers=("bridge",)))
    assert [(i["name"], i["vf"]["name"]) for i in report["interfaces"]] == [("syn0", "enP1s1")]
