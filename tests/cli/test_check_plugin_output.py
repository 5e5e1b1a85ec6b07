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
from testutil import free_port, require

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


def nagios_parts(output):
    """Nagios Core's reading of a plugin's output (base/utils.c parse_check_output): the first
    line's text and perfdata, the long output up to the first '|' after it, and every value
    after that '|' as perfdata. Asserts the shape this plugin keeps: the long output's only
    '|' starts its last line."""
    lines = output.splitlines()
    match = STATUS_LINE.match(lines[0])
    assert match, lines[0]
    long_lines = lines[1:]
    with_pipe = [i for i, line in enumerate(long_lines) if "|" in line]
    assert with_pipe in ([], [len(long_lines) - 1]), "a '|' in the long output's text starts perfdata for Nagios"
    rest = ""
    if with_pipe:
        assert long_lines[-1].startswith("| ")
        rest = long_lines.pop()[2:]
    perf = " ".join(p for p in (match.group(3), rest) if p)
    return match, long_lines, perf


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
    output = proc.stdout.decode("utf-8")
    assert len(output.splitlines()[0].encode()) <= 1022
    match, long_lines, perf_text = nagios_parts(output)
    assert match.group(1) == report["status"].upper()
    assert proc.returncode == {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}[report["status"]]
    check_lines = [l for l in long_lines if re.match(r"(OK|WARNING|CRITICAL|UNKNOWN|SKIPPED) +\S", l)]
    assert [l.split()[1] for l in check_lines] == [c["id"] for c in report["checks"]]
    perf = parse_perfdata(perf_text) if perf_text else {}
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
    from accelnet.diagnosis.finding import CHECK_IDS

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


# -- NRPE 2's 1,024 bytes, the NICs at fault first, the rest in the long output -----------------

EIGHT_NICS = os.path.join(goldens.FIXTURES, "ubuntu2004-cx3-8nics")


def _groups(perf_text):
    """perfdata values by NIC (the label's part before the first '_')."""
    groups = {}
    for item in perf_text.split(" "):
        groups.setdefault(item[1:].split("_", 1)[0], []).append(item)
    return groups


def test_eight_nics_fit_the_first_line_and_lose_no_value():
    proc = run_cli("--snapshot", EIGHT_NICS)
    output = proc.stdout.decode("utf-8")
    first = output.splitlines()[0]
    assert len(first.encode()) <= 1022
    match, _, perf_text = nagios_parts(output)
    first_groups = _groups(match.group(3))
    all_groups = _groups(perf_text)
    assert sorted(all_groups) == ["eth%d" % i for i in range(8)]
    assert all(len(values) == 7 for values in all_groups.values())
    # whole NICs: each one's values are all in the first line or all in the long output
    assert first_groups and all(first_groups[nic] == all_groups[nic] for nic in first_groups)
    assert 0 < len(first_groups) < 8


def _report_with_nics(count, broken=(), name="eth%d"):
    interfaces = []
    for i in range(count):
        nic = name % i
        vf = None if i in broken else {"name": "enP%ds%d" % (i + 1, i), "pci_slot": "%04x:00:02.0" % (i + 1),
                                       "vendor_id": "15b3", "device_id": "1004", "model": "CX-3 VF", "driver": "mlx4_core"}
        interfaces.append({"name": nic, "driver": "hv_netvsc", "mac": None, "vf": vf,
                           "datapath": "synthetic" if i in broken else "vf",
                           "counters": {"vf_rx_packets": 10 ** 12 + i, "vf_tx_packets": 10 ** 12 + i}})
    status = "critical" if broken else "ok"
    checks = [{"id": "vf.present", "status": status, "summary": "s", "evidence": {"without_vf": [name % i for i in broken]},
               "remedy": None}]
    return {"status": status, "summary": "vf.present: %d NICs without a VF." % len(broken), "checks": checks,
            "host": {}, "interfaces": interfaces}


def test_the_nics_at_fault_come_first():
    report = _report_with_nics(16, broken=(6, 13))
    synthetic = {"eth%d" % i: {"rx_packets": 10 ** 12, "tx_packets": 10 ** 12} for i in range(16)}
    match, _, perf_text = nagios_parts(render_text(report, synthetic=synthetic))
    first = list(_groups(match.group(3)))
    assert first[:2] == ["eth6", "eth13"]
    assert len(_groups(perf_text)) == 16
    # a NIC the evidence names comes before the healthy ones
    report["status"] = "warning"
    report["interfaces"][9]["vf"] = dict(report["interfaces"][8]["vf"], name="enP99s9")
    report["checks"][0]["evidence"] = {"pairs": [{"synthetic": "eth11", "mtu": 9000}], "vf": "enP99s9"}
    assert list(_groups(nagios_parts(render_text(report))[0].group(3)))[:4] == ["eth6", "eth13", "eth9", "eth11"]


def test_a_host_with_many_nics_and_long_names_keeps_the_first_line_within_nrpe2():
    from hypothesis import HealthCheck, given, settings, strategies as st

    names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(count=st.integers(0, 40), summary=st.text(min_size=1, max_size=3000), name=names, terminal=st.booleans(),
           broken=st.sets(st.integers(0, 39), max_size=10), status=st.sampled_from(["ok", "warning", "critical", "unknown"]))
    def check(count, summary, name, terminal, broken, status):
        report = _report_with_nics(count, broken={b for b in broken if b < count}, name=name.replace("%", "") + "%d")
        report["summary"], report["status"] = summary, status
        text = render_text(report, terminal=terminal)
        assert len(text.splitlines()[0].encode("ascii", "backslashreplace")) <= 1022
        if not terminal:
            _, _, perf_text = nagios_parts(text)
            values = perf_text.split(" ") if perf_text else []
            assert len(values) == 5 * count  # present, two data paths, two counters per NIC
            for value in values:
                assert PERF_VALUE.match(value), value

    check()


def test_an_unknown_line_of_any_length_fits():
    from accelnet.diagnosis.report import status_line

    line = status_line("unknown", "accelnet-check: cannot open " + "/x" * 2000)
    assert line.startswith("UNKNOWN: accelnet-check: cannot open /x/x") and line.endswith("...")
    assert len(line.encode()) <= 1022


def _plugin_outputs():
    """Every fixture's text output, as a monitoring system gets it (not a terminal)."""
    for name in goldens.fixture_names():
        proc = run_cli("--snapshot", os.path.join(goldens.FIXTURES, name))
        yield name, proc.returncode, proc.stdout


def test_perfdata_reads_the_same_with_monitoring_plugin_perl():
    """Monitoring::Plugin::Performance (the Perl library most plugins and their graphers use)
    parses every fixture's perfdata, first line and long output, into the same values."""
    found = subprocess.run(["perl", "-MMonitoring::Plugin::Performance", "-e", "1"], stderr=subprocess.DEVNULL)
    require(found.returncode == 0, "needs Monitoring::Plugin (Debian package libmonitoring-plugin-perl)")
    script = (
        "use Monitoring::Plugin::Performance; while (my $line = <STDIN>) { chomp $line;"
        " my @p = Monitoring::Plugin::Performance->parse_perfstring($line); print scalar(@p), ' ',"
        " join(' ', map { $_->label . '=' . $_->value . ($_->uom // '') . ',' . ($_->min // '') . ',' . ($_->max // '') } @p), \"\\n\" }"
    )
    ours, chunks = [], []
    for _, _, stdout in _plugin_outputs():
        _, _, perf_text = nagios_parts(stdout.decode("utf-8"))
        if perf_text:
            chunks.append(perf_text)
            ours.append(parse_perfdata(perf_text))
    proc = subprocess.run(["perl", "-e", script], input="\n".join(chunks).encode() + b"\n", stdout=subprocess.PIPE, timeout=60)
    theirs = proc.stdout.decode().splitlines()
    assert len(theirs) == len(ours) == len(chunks) and len(chunks) > 20
    for mine, line in zip(ours, theirs):
        count, _, values = line.partition(" ")
        assert int(count) == len(mine)
        expected = ["%s=%d%s,%s,%s" % (label, v, uom, lo or "", hi or "") for label, (v, uom, lo, hi) in mine.items()]
        assert values.split(" ") == expected


def _nrpe_binaries():
    found = [shutil.which("nrpe") or "/usr/sbin/nrpe", "/usr/lib/nagios/plugins/check_nrpe"]
    require(all(os.access(p, os.X_OK) for p in found), "needs NRPE (Debian packages nagios-nrpe-server, nagios-nrpe-plugin)")
    return found


def test_through_real_nrpe_v2_gets_the_first_line_whole_and_v4_everything():
    """The real NRPE daemon serves the 8-NIC fixture's output (captured first, so that the
    daemon's unprivileged user needs no access to this checkout): check_nrpe -2 (NRPE 2's
    1,024-byte packet) receives the whole first line, the default packets (NRPE 3+) the whole
    output, and the exit status passes through."""
    import tempfile

    nrpe, check_nrpe = _nrpe_binaries()
    proc = run_cli("--snapshot", EIGHT_NICS)
    output = proc.stdout.decode("utf-8")
    work = tempfile.mkdtemp(prefix="accelnet-nrpe-")
    daemon = None
    try:
        os.chmod(work, 0o755)
        with open(os.path.join(work, "out.txt"), "w", encoding="utf-8") as handle:
            handle.write(output)
        port = free_port()
        user = "nobody" if os.geteuid() == 0 else None
        config = os.path.join(work, "nrpe.cfg")
        with open(config, "w") as handle:
            handle.write("server_address=127.0.0.1\nserver_port=%d\nallowed_hosts=127.0.0.1\ncommand_timeout=30\n"
                         "command[accelnet]=/bin/sh -c 'cat %s/out.txt; exit %d'\n" % (port, work, proc.returncode))
            if user:
                handle.write("nrpe_user=nobody\nnrpe_group=nogroup\n")
        daemon = subprocess.Popen([nrpe, "-c", config, "-n", "-f"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def ask(*extra):
            for _ in range(100):
                got = subprocess.run([check_nrpe, "-H", "127.0.0.1", "-p", str(port), "-n", "-t", "30", *extra,
                                      "-c", "accelnet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
                if b"Connection refused" not in got.stdout:
                    return got
                time.sleep(0.1)
            raise AssertionError(got.stdout)

        v2 = ask("-2")
        assert v2.returncode == proc.returncode == 0, v2.stdout
        assert len(v2.stdout) <= 1024 and v2.stdout.decode().splitlines()[0] == output.splitlines()[0]
        assert output.count("\n") > 10 and len(output.encode()) > 1024  # the rest was cut, as NRPE 2 does
        v4 = ask()
        assert v4.returncode == 0 and v4.stdout.decode() == output
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=30)
            daemon.stdout.close()
        shutil.rmtree(work, ignore_errors=True)


FLAPPING = os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-vf-flapping")
PIPELINE = "dmesg -T | grep -E 'VF slot|VF (un)?registering|Data path switched'"


def _on_a_terminal(*args):
    """The command's output as a terminal shows it (stdout a pseudo-terminal)."""
    import pty

    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "agent"), NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "accelnet.cli.check", *args], stdout=slave, stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_command_text_keeps_its_pipes_except_where_a_monitoring_system_reads_it():
    """The remedy's pipeline is the real one on a terminal, with -v and in JSON; only the text a
    monitoring system parses (stdout not a terminal) carries the stand-in, and there the only
    '|' left are the perfdata separators."""
    terminal = _on_a_terminal("--snapshot", FLAPPING)
    assert PIPELINE in terminal and "\u00a6" not in terminal
    assert PIPELINE in _on_a_terminal("--snapshot", FLAPPING, "-v")
    report = json.loads(run_cli("--snapshot", FLAPPING, "--json").stdout)
    assert any(PIPELINE in (c["remedy"] or "") for c in report["checks"])
    plugin = run_cli("--snapshot", FLAPPING).stdout.decode("utf-8")
    assert PIPELINE.replace("|", "\u00a6") in plugin
    nagios_parts(plugin)


def test_verbose_shows_the_evidence_and_the_whole_history():
    plain = run_cli("--snapshot", FLAPPING).stdout.decode("utf-8")
    verbose = run_cli("--snapshot", FLAPPING, "-v").stdout.decode("utf-8")
    report = json.loads(run_cli("--snapshot", FLAPPING, "--json").stdout)
    assert "evidence: " not in plain and "newest 10 of %d" % len(report["history"]) in plain
    evidence = [l.split("evidence: ", 1)[1] for l in verbose.splitlines() if l.lstrip().startswith("evidence: ")]
    assert len(evidence) == sum(1 for c in report["checks"] if c["evidence"])
    assert json.loads(evidence[0].replace("\u00a6", "|")) == next(c["evidence"] for c in report["checks"] if c["evidence"])
    assert "VF history (kernel log):" in verbose
    assert sum(1 for l in verbose.splitlines() if l.startswith("  [")) == len(report["history"]) > 10
    nagios_parts(verbose)
    assert verbose.splitlines()[0] == plain.splitlines()[0]
    traced = run_cli("--snapshot", FLAPPING, "-vv")
    assert traced.stdout.decode("utf-8") == verbose
    stages = traced.stderr.decode().splitlines()
    assert stages and all(re.match(r"accelnet-check: \+\d+\.\d{3} s \S", l) for l in stages), stages
    assert any("diagnosing" in l for l in stages)
