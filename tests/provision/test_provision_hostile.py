"""Hostile values in every name and path flag: refused before any call, or carried through
the --dry-run script as data.

The property (issue 9, item 9): for any value of any flag, either accelnet-provision refuses
(exit 1) before any change, or the plan it prints, run by ``sh`` with a logging stand-in
``az`` alone on PATH in an empty directory, executes exactly the planned ``az`` argv (as
``--output json`` lists it) and nothing else: no other command runs (none is on PATH, and
``set -e`` stops at a "not found"), nothing is written to stderr, no file appears.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import given, settings, strategies as st

from provision_fakes import TIME_RE, FakeAz
from test_provision_scenarios import CREATE_ARGS

# Values people (or attackers) type: shell syntax, quotes, line breaks, options, unicode.
NASTY = ["rg\n", "x\ny", "$(touch pwned)", "`touch pwned`", "'", '"', "-x", "--help", "-",
         "a;touch pwned", "\n touch pwned", "caf\u00e9", "\u2028", "a b", "x\r", "${IFS}",
         "*", "~", "a\\", "#", "a#b", "a&b", "a|touch pwned", "$HOME", "!", "\x00", "\x1b[2J",
         "\u202e", "K", "\u212a", ")", "(", "a.", "."]
SUFFIXES = ["", "\n", "'", "$(touch pwned)", "`touch pwned`", " ", ";touch pwned", "\r",
            "\u00e9"]

hostile = st.one_of(
    st.sampled_from(NASTY),
    st.builds(lambda base, tail: base + tail,
              st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.()-]{0,12}[A-Za-z0-9_]", fullmatch=True),
              st.sampled_from(SUFFIXES)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)

CREATE_FLAGS = ["-g", "-l", "--vnet-name", "--subnet-name", "--nsg", "--nic", "--vm",
                "--size", "--image", "--admin-username", "--public-ip", "--ssh-key-value",
                "--subscription", "--address-prefix", "--subnet-prefix"]
LOGGER = """#!/bin/sh
# the az stand-in of the property: one record per call, each argument NUL-terminated
{ printf '%s\\0' "$#"; printf '%s\\0' "$@"; } >> "$AZ_LOG"
"""


def _logged(path: Path) -> List[List[str]]:
    if not path.exists():
        return []
    words = path.read_bytes().decode("utf-8").split("\0")[:-1]
    calls = []
    while words:
        count = int(words.pop(0))
        calls.append(words[:count])
        del words[:count]
    return calls


def _untimed(calls: List[List[str]]) -> List[List[str]]:
    return [[TIME_RE.sub("TIME", word) for word in call] for call in calls]


def _check(fake: FakeAz, args: List[str], tmp: Path) -> None:
    code, out, err = fake.provision(*args, "--dry-run", "--output", "json")
    assert "Traceback" not in out + err
    if code != 0:
        assert code == 1 and json.loads(out)["result"] == "refused"
        assert fake.changes() == []
        return
    planned = [step["argv"] for step in json.loads(out)["steps"]]
    assert planned
    code, script, err = fake.provision(*args, "--dry-run")
    assert code == 0, err
    header = script.split("\nset -eu\n", 1)[0].splitlines()
    assert header[0] == "#!/bin/sh" and all(line.startswith("# ") for line in header[1:])
    assert fake.changes() == []
    work, bindir = tmp / "work", tmp / "bin"
    work.mkdir()
    bindir.mkdir()
    (bindir / "az").write_text(LOGGER)
    (bindir / "az").chmod(0o755)
    (tmp / "plan.sh").write_text(script, encoding="utf-8")
    log = tmp / "az.log"
    proc = subprocess.run(["/bin/sh", str(tmp / "plan.sh")], cwd=str(work),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={"PATH": str(bindir), "AZ_LOG": str(log), "HOME": str(work),
                               "LC_ALL": "C.UTF-8"}, timeout=60)
    assert (proc.returncode, proc.stderr, proc.stdout) == (0, b"", b"")
    # the two dry runs may straddle a second: the journal tags' times compare as TIME
    assert _untimed(_logged(log)) == _untimed([argv[1:] for argv in planned])
    assert sorted(os.listdir(str(work))) == [] and sorted(os.listdir(str(bindir))) == ["az"]


def _run_property(args: List[str], state: Dict[str, Any]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as tmp:
        fake = FakeAz(Path(tmp), monkeypatch)
        fake.in_process()
        fake.load(state)
        _check(fake, args, Path(tmp))


def _replace(args: List[str], flag: str, value: str) -> List[str]:
    args = list(args)
    if flag in args:
        index = args.index(flag)
        del args[index:index + 2]
    return args + [f"{flag}={value}"]  # the = form: a value may start with '-'


@settings(max_examples=150, deadline=None)
@given(flag=st.sampled_from(CREATE_FLAGS), value=hostile)
def test_create_with_a_hostile_value(flag: str, value: str) -> None:
    args = list(CREATE_ARGS)
    if flag == "--subscription":
        args.append("--subscription=fake subscription")  # the stand-in knows this one
    _run_property(_replace(args, flag, value), {"groups": {}})


def _vm_world(rg: str, name: str, size: str = "Standard_DS4_v2",
              accelerated: bool = False) -> Dict[str, Any]:
    """A world where the (hostile) names exist, so the plan is not a plain 'not found'."""
    def key(n: str) -> str:
        return f"{rg.lower()}/{n.lower()}"
    return {"groups": {rg: {"location": "centralus"}},
            "vms": {key(name): {"name": name, "rg": rg, "size": size, "nics": ["nic0"],
                                "power": "running", "availabilitySet": None}},
            "nics": {key("nic0"): {"name": "nic0", "rg": rg, "vm": name,
                                   "accelerated": accelerated}},
            "avsets": {}, "vmss": {}}


@settings(max_examples=120, deadline=None)
@given(action=st.sampled_from(["enable", "disable", "resize"]),
       flag=st.sampled_from(["-g", "--vm", "--size", "--also-start", "--subscription"]),
       value=hostile)
def test_enable_disable_resize_with_a_hostile_value(action: str, flag: str,
                                                    value: str) -> None:
    rg, name = "rg", "vm"
    if flag == "-g":
        rg = value
    elif flag == "--vm":
        name = value
    args = [action, f"--resource-group={rg}", f"--vm={name}"]
    if action == "resize":
        args.append("--size=Standard_A4_v2")
    if flag in ("--size", "--also-start", "--subscription") and \
            (flag != "--size" or action == "resize"):
        args = _replace(args, flag, value)
    _run_property(args, _vm_world(rg, name, accelerated=action != "enable"))


@pytest.mark.parametrize("flag, value", [("-g", "rg\n"), ("--vm", "vm\n"),
                                         ("--ssh-key-value", "key\n$(touch pwned)"),
                                         ("--ssh-key-value", "-key.pub"),
                                         ("-g", "-rg"), ("--nic", "-nic")])
def test_the_issue_examples_are_refused(flag: str, value: str) -> None:
    args = _replace(list(CREATE_ARGS), flag, value)
    with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as tmp:
        fake = FakeAz(Path(tmp), monkeypatch)
        fake.in_process()
        fake.load({"groups": {}})
        code, _, err = fake.provision(*args)
        assert code == 1 and "refused" in err and fake.calls() == []


def test_a_quoted_hostile_path_reaches_az_as_one_argument() -> None:
    """A legal file name full of shell syntax is data in the script, not code."""
    value = "k'ey $(touch pwned) `touch pwned`;\u00e9.pub"
    with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as tmp:
        fake = FakeAz(Path(tmp), monkeypatch)
        fake.in_process()
        fake.load({"groups": {}})
        args = _replace(list(CREATE_ARGS), "--ssh-key-value", value)
        _check(fake, args, Path(tmp))
        code, out, _ = fake.provision(*args, "--dry-run", "--output", "json")
        create = json.loads(out)["steps"][-1]["argv"]
        assert create[create.index("--ssh-key-values") + 1] == value
