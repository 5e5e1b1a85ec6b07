"""accelnet-check as a monitoring plugin (Nagios/Icinga/NRPE): the verdict line with
perfdata first, UNKNOWN on every failure, -t/--timeout, progress only on a terminal, and no
control byte of a hostile snapshot on the terminal."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

import goldens
from accelnet.cli import check
from accelnet.diagnosis.report import render_text
from accelnet.diagnosis.safetext import safe_label, safe_text
from accelnet.readers import live

REPO = goldens.REPO

#: The monitoring-plugins perfdata format, strictly: 'label'=value[UOM][;warn[;crit[;min[;max]]]]
#: (label: printable, no quote or '='; value: decimal, no exponent; UOM one of the known ones).
PERF_VALUE = re.compile(
    r"'(?P<label>[^'=\s][^'=]*)'=(?P<value>-?[0-9]+(?:\.[0-9]+)?)(?P<uom>s|ms|us|%|B|KB|MB|TB|c)?"
    r"(?:;(?P<warn>[0-9.:~@-]*)(?:;(?P<crit>[0-9.:~@-]*)(?:;(?P<min>-?[0-9.]*)(?:;(?P<max>-?[0-9.]*))?)?)?)?\Z"
)
STATUS_LINE = re.compile(r"\A(OK|WARNING|CRITICAL|UNKNOWN): ([^|\n]+?)(?: \| (.+))?\Z")
#: C0 controls but newline, DEL, C1 controls (as characters), and ESC in any form.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def run_cli(*args, env=None, timeout=120):
    full_env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "agent"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "accelnet.cli.check", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=full_env, timeout=timeout)


def parse_perfdata(text):
    values = {}
    for item in text.split(" "):
        match = PERF_VALUE.match(item)
        assert match, "not monitoring-plugins perfdata: %r" % item
        values[match.group("label")] = (int(match.group("value")), match.group("uom") or "",
                                        match.group("min"), match.group("max"))
    return values


@pytest.mark.parametrize("name", goldens.fixture_names())
def test_first_line_is_the_verdict_with_strict_perfdata(name):
    proc = run_cli("--snapshot", os.path.join(goldens.FIXTURES, name))
    _, golden = goldens.check_json(name)
    report = json.loads(golden)
    lines = proc.stdout.decode("utf-8").splitlines()
    match = STATUS_LINE.match(lines[0])
    assert match, lines[0]
    assert match.group(1) == report["status"].upper()
    assert proc.returncode == {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}[report["status"]]
    check_lines = [l for l in lines[1:] if re.match(r"(OK|WARNING|CRITICAL|UNKNOWN|SKIPPED) +\S", l)]
    assert [l.split()[1] for l in check_lines] == [c["id"] for c in report["checks"]]
    assert not any("|" in l for l in lines[1:]), "a '|' after the first line starts perfdata for Nagios"
    perf = parse_perfdata(match.group(3)) if match.group(3) else {}
    for iface in report["interfaces"]:
        nic = iface["name"]
        assert perf[nic + "_vf_present"][:1] == (1 if iface["vf"] else 0,)
        assert perf[nic + "_vf_present"][2:] == ("0", "1")
        for counter in ("vf_rx_packets", "vf_tx_packets"):
            if counter in iface["counters"]:
                assert perf["%s_%s" % (nic, counter)] == (iface["counters"][counter], "c", "0", None)
        if iface["datapath"] in ("vf", "synthetic", "idle"):
            assert perf[nic + "_datapath_vf"][0] == (iface["datapath"] == "vf")
            assert perf[nic + "_datapath_synthetic"][0] == (iface["datapath"] == "synthetic")


def test_synthetic_packets_are_counters_from_the_queues():
    proc = run_cli("--snapshot", os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-fallback"))
    perf = parse_perfdata(proc.stdout.decode().splitlines()[0].split(" | ", 1)[1])
    stats = {}
    with open(os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-fallback", "cmd", "ethtool-S.eth0.0.txt")) as handle:
        for line in handle:
            name, _, value = line.strip().rpartition(": ")
            if re.match(r"rx_queue_\d+_packets$", name):
                stats[name] = int(value)
    assert stats and perf["eth0_synthetic_rx_packets"] == (sum(stats.values()), "c", "0", None)


def test_history_timeline_is_rendered_short_and_safe():
    _, golden = goldens.check_json("ubuntu2204-cx5-fallback")
    report = json.loads(golden)
    report["history"] = [
        {"boot_s": 5.0 + i, "time": "2026-11-28T09:00:%02d+00:00" % i, "event": "vf_added" if i % 2 else "vf_removed",
         "device": "eth0", "vf": "enP1s1\x1b[2J", "slot": "0001:00:02.0", "text": "hv_netvsc: VF registering"}
        for i in range(25)
    ]
    text = render_text(report)
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("VF history"))
    assert "newest 10 of 25" in lines[start]
    assert len(lines[start + 1:]) == 10
    assert lines[-1].startswith("  [   29.000000] 2026-11-28T09:00:24+00:00 eth0 vf_removed enP1s1\\x1b[2J 0001:00:02.0")
    assert not CONTROL.search(text)


HOSTILE = "\x1b[2J\x1b]52;c;cHduZWQ=\x07\x9b31m\u202eevil\x00|x"


def _hostile_snapshot(tmp_path):
    src = os.path.join(goldens.FIXTURES, "rhel8-cx5-not-enslaved")
    dest = str(tmp_path / "hostile")
    shutil.copytree(src, dest, symlinks=True)
    with open(os.path.join(dest, "root/etc/os-release"), "w", encoding="utf-8") as out:
        out.write('NAME="Red Hat %s"\nPRETTY_NAME="RHEL %s"\nID="rhel"\nVERSION_ID="8.9%s"\n' % (HOSTILE, HOSTILE, HOSTILE))
    vf_dev = os.path.join(dest, "root/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/"
                                "e9ac9b28-cf63-4466-9ae3-4b849c3ee03b/pcicf63:00/cf63:00:02.0/driver")
    target = os.readlink(vf_dev)
    os.unlink(vf_dev)
    os.symlink(target + HOSTILE.replace("\x00", ""), vf_dev)
    with open(os.path.join(dest, "cmd/imds.json"), encoding="utf-8") as handle:
        imds = json.load(handle)
    imds["compute"]["vmSize"] = "Standard_D4s_v4" + HOSTILE
    imds["compute"]["name"] = "vm" + HOSTILE
    with open(os.path.join(dest, "cmd/imds.json"), "w", encoding="utf-8") as out:
        json.dump(imds, out)
    return dest


def test_hostile_snapshot_puts_no_control_byte_on_the_terminal(tmp_path):
    snap = _hostile_snapshot(tmp_path)
    proc = run_cli("--snapshot", snap)
    text = proc.stdout.decode("utf-8")
    assert "\\x1b" in text and "\\u202e" in text  # the hostile text is shown, escaped
    assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout and b"\x00" not in proc.stdout
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    first = text.splitlines()[0]
    assert STATUS_LINE.match(first) and first.count("|") == 1
    parse_perfdata(first.split(" | ", 1)[1])
    # JSON stays faithful: the same values, escaped by JSON itself
    report = json.loads(run_cli("--snapshot", snap, "--json").stdout)
    assert report["host"]["vm_size"] == "Standard_D4s_v4" + HOSTILE
    assert report["host"]["os_version"] == "8.9" + HOSTILE


def test_safe_text_keeps_printable_unicode_and_escapes_the_rest():
    assert safe_text("Ubuntu 22.04 ✓ façade 東京") == "Ubuntu 22.04 ✓ façade 東京"
    assert safe_text("a\x1b[31mb\x9bc\u202ed\ud800e\n") == "a\\x1b[31mb\\x9bc\\u202ed\\ud800e\\x0a"
    assert safe_text("dmesg | grep") == "dmesg \u00a6 grep" and safe_text("a|b", keep_pipes=True) == "a|b"
    label = safe_label("eth0'=\x1b x|y")
    assert PERF_VALUE.match("'%s'=1" % label) and "\x1b" not in label


def test_interface_names_with_reserved_characters_make_valid_labels():
    report = {"status": "ok", "summary": "s", "checks": [], "host": {},
              "interfaces": [{"name": "e'th=0 \x1b", "vf": None, "datapath": "idle", "counters": {"vf_rx_packets": 3}}]}
    first = render_text(report).splitlines()[0]
    parse_perfdata(first.split(" | ", 1)[1])


def test_every_failure_path_prints_an_unknown_line(tmp_path):
    unreadable = tmp_path / "denied"
    unreadable.mkdir()
    cases = [
        ["--timeout", "-1"],
        ["--timeout", "soon"],
        ["--sample-seconds", "5", "--timeout", "2"],
        ["--snapshot", str(tmp_path / "missing")],
        ["--collect", str(tmp_path / "no" / "such" / "dir" / "b.tar.gz"), "--sample-seconds", "0", "--no-imds"],
    ]
    for args in cases:
        proc = run_cli(*args)
        lines = proc.stdout.decode().splitlines()
        assert proc.returncode == 3, args
        assert len(lines) == 1 and STATUS_LINE.match(lines[0]) and lines[0].startswith("UNKNOWN: "), (args, lines)
        assert b"Traceback" not in proc.stderr


def test_internal_error_is_unknown(monkeypatch, capsys):
    import accelnet.diagnosis.facts

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.delenv("ACCELNET_DEBUG", raising=False)
    monkeypatch.setattr(accelnet.diagnosis.facts, "gather", broken)
    code = check.main(["--snapshot", os.path.join(goldens.FIXTURES, "ubuntu1604-cx3-healthy")])
    out = capsys.readouterr().out
    assert code == 3 and out.startswith("UNKNOWN: accelnet-check: internal error while reading the host (ZeroDivisionError: boom)")
    code = check.main(["--snapshot", os.path.join(goldens.FIXTURES, "ubuntu1604-cx3-healthy"), "--json"])
    assert code == 3 and json.loads(capsys.readouterr().out)["status"] == "unknown"


def test_timeout_gives_unknown_and_says_where(monkeypatch, capsys):
    import accelnet.diagnosis.facts

    def stuck(names, interval, wait=time.sleep):
        time.sleep(30)

    def gather(host, options):
        host.sample_counters(["eth0"], options.sample_seconds)

    monkeypatch.setattr(live, "sample_ethtool", stuck)
    monkeypatch.setattr(accelnet.diagnosis.facts, "gather", gather)
    started = time.monotonic()
    code = check.main(["--timeout", "0.5", "--sample-seconds", "0.1", "--no-imds"])
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 3 and elapsed < 10
    assert out.startswith("UNKNOWN: accelnet-check: timed out after 0.5 s while sampling counters (0.1 s)"), out
    code = check.main(["--timeout", "0.5", "--sample-seconds", "0.1", "--no-imds", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 3 and report["status"] == "unknown" and "timed out" in report["summary"]
    assert [c["id"] for c in report["checks"]] == list(check_ids())


def check_ids():
    from accelnet.diagnosis.checks import CHECK_IDS

    return CHECK_IDS


def test_timeout_in_a_subprocess_leaves_no_temporary_directory(tmp_path):
    """A timeout while writing a bundle still removes the work directory (finally clauses run)."""
    env = {"TMPDIR": str(tmp_path)}
    proc = run_cli("--collect", str(tmp_path / "b.tar.gz"), "--sample-seconds", "3", "--timeout", "3.5",
                   "--no-imds", env=env)
    # sampling 3 s inside a 3.5 s budget may or may not finish on a loaded machine: either a
    # verdict or UNKNOWN, never a leftover directory
    assert proc.stdout.decode().split(":", 1)[0] in ("OK", "WARNING", "CRITICAL", "UNKNOWN")
    assert not [p for p in os.listdir(str(tmp_path)) if p.startswith("accelnet-")]


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_only(monkeypatch):
    import accelnet.diagnosis.facts

    real_gather = accelnet.diagnosis.facts.gather

    def gather(host, options):  # this machine has no synthetic NIC to sample: sample lo
        host.sample_counters(["lo"], options.sample_seconds)
        return real_gather(host, options)

    monkeypatch.setattr(accelnet.diagnosis.facts, "gather", gather)
    monkeypatch.setattr(sys, "stderr", Tty())
    check._progress_wait(1.3)
    shown = sys.stderr.getvalue()
    assert "sampling counters," in shown and "s left" in shown and shown.endswith("\r\033[K")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    code = check.main(["--sample-seconds", "1.2", "--no-imds", "--json"])
    assert code == 3 and sys.stderr.getvalue() == ""
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    check.main(["--sample-seconds", "1.2", "--no-imds", "--json"])
    assert "sampling counters" in tty.getvalue()
