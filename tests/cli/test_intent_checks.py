"""Declared intent in the diagnosis: a host healthy by design is OK and says why; flags beat
the file, which beats the tag; a declaration that cannot be read leaves the checks it could
excuse unknown (naming the file and line), never a traceback; bundles carry it."""

import contextlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import List, Optional

import pytest

import goldens
from accelnet.cli.check import main
from accelnet.diagnosis.facts import Options
from accelnet.readers.collect import collect
from accelnet.readers.snapshot import open_snapshot

SCHEMA = Path(goldens.REPO) / "docs" / "schema" / "report.schema.json"


def _host(tmp_path: Path, fixture: str, conf: Optional[str] = None, tags=None) -> Path:
    target = tmp_path / fixture
    shutil.copytree(os.path.join(goldens.FIXTURES, fixture), str(target), symlinks=True)
    if conf is not None:
        path = target / "root" / "etc" / "accelnet" / "accelnet.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(conf)
    if tags is not None:
        imds = target / "cmd" / "imds.json"
        doc = json.loads(imds.read_text())
        doc["compute"]["tagsList"] = [{"name": n, "value": v} for n, v in tags]
        imds.write_text(json.dumps(doc))
    return target


def _run(snapshot: Path, *flags: str):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--snapshot", str(snapshot), "--json", "--sample-seconds", "0"] + list(flags))
    report = json.loads(out.getvalue())
    _valid(report)
    return code, report


def _valid(report: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))


def _check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == check_id)


def _statuses(report: dict) -> List[str]:
    return [c["status"] for c in report["checks"]]


def test_the_tag_declares_an_off_on_the_vm(tmp_path):
    code, report = _run(_host(tmp_path, "centos7-an-off", tags=[("accelnet", "off")]))
    assert code == 0 and report["status"] == "ok"
    assert report["summary"] == "Accelerated Networking is off by design: tag accelnet=off."
    present = _check(report, "vf.present")
    assert present["status"] == "ok" and present["remedy"] is None
    assert present["summary"].startswith("off by design (tag accelnet=off): no Accelerated Networking VF")
    assert report["intent"] == {"vm": {"expect": "off", "source": "tag", "reason": "tag accelnet=off"},
                                "nics": {"eth0": {"expect": "off", "source": "tag", "reason": "tag accelnet=off"}},
                                "error": None, "unmatched": []}


def test_a_size_without_an_declared_off_is_ok_with_its_reason(tmp_path):
    code, report = _run(_host(tmp_path, "ubuntu2004-size-a2v2", tags=[("Accelnet", "disabled")]))
    assert code == 0
    size = _check(report, "platform.vm_size")
    assert size["status"] == "ok" and "does not support Accelerated Networking" in size["summary"]
    assert size["summary"].startswith("off by design (tag accelnet=off): ")


def test_without_intent_the_verdict_stays(tmp_path):
    code, report = _run(_host(tmp_path, "centos7-an-off", tags=[("accelnet-provision", "start again")]))
    assert code == 2 and "intent" not in report
    code, report = _run(_host(tmp_path / "on", "centos7-an-off", tags=[("accelnet", "on")]))
    assert code == 2 and report["intent"]["vm"] == {"expect": "on", "source": "tag", "reason": "tag accelnet=on"}


@pytest.mark.parametrize("spelling", ["name", "mac", "portal mac"])
def test_the_file_declares_one_nic(tmp_path, spelling):
    host = _host(tmp_path, "ubuntu2204-2nics-one-vf")
    mac = (host / "root" / "sys" / "class" / "net" / "eth1" / "address").read_text().strip()
    selector = {"name": "eth1", "mac": mac, "portal mac": mac.replace(":", "-").upper()}[spelling]
    conf = host / "root" / "etc" / "accelnet" / "accelnet.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("# eth1 carries backups only\n\nexpect-an off %s\n" % selector)
    code, report = _run(host)
    assert code == 0, report["summary"]
    assert _check(report, "vf.present")["summary"].endswith(
        "; eth1 off by design: /etc/accelnet/accelnet.conf line 3")
    assert report["summary"] == ("Accelerated Networking is working: eth0 via enP58033s1; "
                                 "eth1 off by design: /etc/accelnet/accelnet.conf line 3.")
    assert _check(report, "datapath.vf")["summary"] == "eth0: traffic on the VF enP58033s1"
    # the NIC is still reported as it is
    assert [i["name"] for i in report["interfaces"]] == ["eth0", "eth1"]


def test_declared_off_yet_working_says_so(tmp_path):
    """A stale tag or file on a VM where AN works: still ok, but never "off" alone about a
    VF that carries the traffic."""
    code, report = _run(_host(tmp_path, "ubuntu2204-cx5-2nics", tags=[("accelnet", "off")]))
    assert code == 0
    assert report["summary"] == ("Accelerated Networking is off by design: tag accelnet=off; declared off but "
                                 "working: eth0 via enP37498s1, eth1 via enP6757s2.")
    code, report = _run(_host(tmp_path / "one", "ubuntu2204-cx5-2nics", conf="expect-an off eth1\n"))
    assert code == 0
    assert report["summary"] == ("Accelerated Networking is working: eth0 via enP37498s1; eth1 off by design: "
                                 "/etc/accelnet/accelnet.conf line 1; declared off but working: eth1 via enP6757s2.")


def test_ignore_nic_flag_leaves_the_nic_out(tmp_path):
    code, report = _run(_host(tmp_path, "ubuntu2204-2nics-one-vf"), "--ignore-nic", "eth1")
    assert code == 0 and "eth1 ignored: --ignore-nic eth1" in report["summary"]


def test_flags_override_the_file_which_overrides_the_tag(tmp_path):
    host = _host(tmp_path, "centos7-an-off", conf="expect-an on\n", tags=[("accelnet", "off")])
    code, report = _run(host)
    assert code == 2 and report["intent"]["vm"]["source"] == "file"
    code, report = _run(host, "--expect-an", "off")
    assert code == 0 and report["summary"] == "Accelerated Networking is off by design: --expect-an off."


def test_every_nic_off_is_the_vm_off(tmp_path):
    code, report = _run(_host(tmp_path, "ubuntu2004-size-a2v2", conf="expect-an off eth0\n"))
    assert code == 0 and set(_statuses(report)) <= {"ok", "skipped"}
    assert _check(report, "platform.vm_size")["summary"].startswith(
        "off by design (eth0 off by design: /etc/accelnet/accelnet.conf line 1): ")


def test_a_broken_vf_on_a_nic_declared_off_is_not_judged(tmp_path):
    """The NIC and its VF are left out together: no half judgement (vf.bonded on its VF)."""
    code, report = _run(_host(tmp_path, "rhel8-cx5-not-enslaved"), "--ignore-nic", "eth0")
    assert code == 0, report["summary"]


def test_a_selector_naming_no_nic_is_reported_not_fatal(tmp_path):
    code, report = _run(_host(tmp_path, "ubuntu2204-cx5-2nics"), "--ignore-nic", "eth7")
    assert code == 0 and report["intent"]["unmatched"] == ["--ignore-nic eth7 names no NIC of this VM (eth7)"]


@pytest.mark.parametrize("conf, words", [
    ("expect-an of\n", "/etc/accelnet/accelnet.conf line 1: expect-an 'of': expected on or off"),
    ("ignore-nic eth1\nignore-nic eth1\n", "/etc/accelnet/accelnet.conf line 2: NIC eth1 is already declared on line 1"),
    ("\x00\x1b[2J garbage", "/etc/accelnet/accelnet.conf line 1: unknown statement"),
    ("x" * 70000, "cannot be read (not a regular file, not readable, or larger than 65536 bytes)"),
])
def test_a_bad_file_makes_the_checks_unknown_and_says_where(tmp_path, conf, words):
    code, report = _run(_host(tmp_path, "centos7-an-off", conf=conf))
    assert code == 3 and report["status"] == "unknown"
    assert words in report["summary"] and words in report["intent"]["error"]
    assert [c["status"] for c in report["checks"] if c["id"] != "platform.azure"] == ["unknown"] * 8
    assert _check(report, "platform.azure")["status"] == "ok"


def test_a_directory_in_place_of_the_file_is_an_error(tmp_path):
    host = _host(tmp_path, "ubuntu2204-cx5-2nics")
    (host / "root" / "etc" / "accelnet" / "accelnet.conf").mkdir(parents=True)
    code, report = _run(host)
    assert code == 3 and "accelnet.conf cannot be read" in report["summary"]


def test_a_bad_tag_value_makes_the_checks_unknown(tmp_path):
    code, report = _run(_host(tmp_path, "ubuntu2204-cx5-2nics", tags=[("accelnet", "of")]))
    assert code == 3 and "tag accelnet='of'" in report["summary"]


def test_text_output_says_why_on_its_first_line(tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--snapshot", str(_host(tmp_path, "centos7-an-off", tags=[("accelnet", "off")])),
                     "--sample-seconds", "0"])
    assert code == 0 and out.getvalue().startswith("OK: Accelerated Networking is off by design: tag accelnet=off. |")


@pytest.mark.parametrize("flags", [["--expect-an", "maybe"], ["--ignore-nic", "eth0/1"], ["--ignore-nic", "a" * 16],
                                   ["--ignore-nic", "00:0d:3a:zz:00:01"]])
def test_bad_flags_are_unknown(tmp_path, flags):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--snapshot", os.path.join(goldens.FIXTURES, "centos7-an-off")] + flags)
    assert code == 3 and out.getvalue().startswith("UNKNOWN: accelnet-check: bad arguments: argument ")


def test_a_bundle_carries_the_intent_and_gives_the_same_verdict(tmp_path):
    host = _host(tmp_path, "ubuntu2204-2nics-one-vf", conf="expect-an off eth1\n",
                 tags=[("accelnet", "on"), ("owner", "secret-team")])
    with open_snapshot(str(host)) as snapshot:
        collect(snapshot, str(tmp_path / "b.tar.gz"), Options(sample_seconds=0))
    direct, bundled = _run(host), _run(tmp_path / "b.tar.gz")
    assert direct[0] == bundled[0] == 0
    assert direct[1]["intent"] == bundled[1]["intent"]
    assert "secret-team" not in json.dumps(bundled[1])
