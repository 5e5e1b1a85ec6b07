"""Every file the reader takes from a bundle, made hostile one at a time: the diagnosis still
ends in a report (never "internal error", never a traceback), within bounded work and
memory, and a bad file makes unknown only the checks that need it, naming it.

The files are the ones the reader really opens while diagnosing two fixture hosts (recorded,
then matched against docs/bundle.md's list, so a file read but not documented fails here
too); the hostile values are per format: every number of the file turned into 5,000 digits
(past Python's 4,300-digit limit), one number of 1 MiB, nesting 60,000 deep, NUL bytes,
invalid UTF-8, and a 10 MB line.
"""

import json
import os
import re
import shutil
import time
import tracemalloc

import pytest

from accelnet.diagnosis.checks import run_checks
from accelnet.diagnosis.facts import Options, gather
from accelnet.diagnosis.report import build_report, render_text
from accelnet.readers.snapshot import open_snapshot

from hostile import FIXTURES, REPO

HOSTS = ["ubuntu2204-cx5-2nics", "rhel8-cx5-nm-manages-vf"]
STATUSES = {"ok", "warning", "critical", "unknown", "skipped"}
#: Python memory one diagnosis of a hostile file may add (the 64 MiB of a whole process
#: hold the interpreter and the modules as well).
MAX_TRACED_BYTES = 32 << 20


def _every_number(data: bytes) -> bytes:
    return re.sub(rb"[0-9]+", b"9" * 5000, data)


def _nested(data: bytes) -> bytes:
    return b"[" * 60000 + b"]" * 60000


def _nul(data: bytes) -> bytes:
    return b"\0" * 64 + data.replace(b"\n", b"\0\n") + b"\0"


def _invalid_utf8(data: bytes) -> bytes:
    return b"\xff\xfe\xc3\x28\xa0\xa1" * 2000 + b"\n" + data


def _megabyte_number(data: bytes) -> bytes:
    return b"1" * ((1 << 20) - 1)


HOSTILE = {"every number 5,000 digits": _every_number, "a number of 1 MiB": _megabyte_number,
           "nested 60,000 deep": _nested, "NUL bytes": _nul, "invalid UTF-8": _invalid_utf8,
           "a 10 MB line": None}


def _diagnose(top: str) -> dict:
    """What accelnet-check --snapshot TOP --json does, in this process: the report and its text."""
    with open_snapshot(top) as host:
        facts = gather(host, Options(sample_seconds=0))
        report = build_report(facts, run_checks(facts))
        text = render_text(report, colour=False)
    return {"report": report, "text": text}


def _files_read(top: str, monkeypatch) -> list:
    """The files under ``top`` the reader opens while diagnosing it."""
    opened = set()
    real_open = os.open

    def recording(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        if isinstance(path, str):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                target = path
            if target.startswith(top + "/") and os.path.isfile(target):
                opened.add(os.path.relpath(target, top))
        return fd

    monkeypatch.setattr(os, "open", recording)
    try:
        _diagnose(top)
    finally:
        monkeypatch.undo()
    return sorted(opened)


def _documented(relative: str) -> bool:
    """Whether docs/bundle.md lists ``relative`` (a path in a snapshot)."""
    with open(os.path.join(REPO, "docs", "bundle.md"), encoding="utf-8") as handle:
        doc = handle.read()
    if relative == "snapshot.json" or relative.startswith("cmd/"):
        name = relative.split("/", 1)[-1]
        patterns = re.findall(r"`([^`]+\.(?:txt|json))`", doc)
        return any(re.fullmatch(re.escape(p).replace(re.escape("<if>"), r"[^/]+"), name) for p in patterns) \
            or name == "snapshot.json"
    path = relative[len("root/"):]
    patterns = re.findall(r"`((?:etc|usr|proc|sys|run)/[^`]*)`", doc)
    for pattern in patterns:
        regex = re.escape(pattern).replace(re.escape("<ifindex>"), r"[0-9]+").replace(re.escape("<if>"), r"[^/]+")
        regex = regex.replace(re.escape("*"), r"[^/]+")
        if re.fullmatch(regex, path) or re.match(regex.rstrip("/") + "/", path):
            return True
    return path.startswith("sys/devices/")  # what the documented sysfs links lead to


def _cases():
    for host in HOSTS:
        for label in HOSTILE:
            yield host, label


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    made = {}
    for host in HOSTS:
        top = str(tmp_path_factory.mktemp(host) / "snap")
        shutil.copytree(os.path.join(FIXTURES, host), top, symlinks=True)
        made[host] = os.path.realpath(top)
    return made


def _write(path: str, label: str, original: bytes) -> None:
    if HOSTILE[label] is None:  # a 10 MB line, sparse: every reader stops at its bound
        with open(path, "wb") as handle:
            handle.write(b"a" * 4096)
        os.truncate(path, 10_000_000)
        return
    with open(path, "wb") as handle:
        handle.write(HOSTILE[label](original))


@pytest.mark.parametrize("host, label", list(_cases()))
def test_every_file_the_reader_takes_survives_hostile_values(copies, host, label, monkeypatch):
    top = copies[host]
    files = _files_read(top, monkeypatch)
    assert len(files) > 50 and "snapshot.json" in files and "cmd/imds.json" in files, files
    undocumented = [f for f in files if not _documented(f)]
    assert not undocumented, f"read but not in docs/bundle.md: {undocumented}"
    started = time.process_time()
    baseline = _diagnose(top)
    base_cpu = max(time.process_time() - started, 0.01)
    worst_cpu = 0.0
    tracemalloc.start()
    try:
        for relative in files:
            path = os.path.join(top, relative)
            with open(path, "rb") as handle:
                original = handle.read()
            _write(path, label, original)
            try:
                if hasattr(tracemalloc, "reset_peak"):  # Python >= 3.9
                    tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                started = time.process_time()
                result = _diagnose(top)
                worst_cpu = max(worst_cpu, time.process_time() - started)
                peak = tracemalloc.get_traced_memory()[1] - before
            finally:
                with open(path, "wb") as handle:
                    handle.write(original)
            report, text = result["report"], result["text"]
            where = f"{relative} with {label}"
            assert report["status"] in STATUSES - {"skipped"}, where
            assert all(c["status"] in STATUSES for c in report["checks"]), where
            assert "internal error" not in text and "Traceback" not in text, where
            json.dumps(report)  # a report that can be printed as JSON
            if hasattr(tracemalloc, "reset_peak"):
                assert peak < MAX_TRACED_BYTES, (where, peak)
    finally:
        tracemalloc.stop()
    # bounded work: the worst hostile file costs a small multiple of a whole diagnosis
    assert worst_cpu < 50 * base_cpu + 2.0, (worst_cpu, base_cpu)
    assert _statuses(_diagnose(top)["report"]) == _statuses(baseline["report"])  # every file restored


# -- a bad file makes unknown only what needs it, and says which file --------------------------


def _statuses(report):
    return {c["id"]: c["status"] for c in report["checks"]}


def _with(copies, host, relative, data):
    top = copies[host]
    path = os.path.join(top, relative)
    with open(path, "rb") as handle:
        original = handle.read()
    with open(path, "wb") as handle:
        handle.write(data(original) if callable(data) else data)
    try:
        return _diagnose(top)["report"]
    finally:
        with open(path, "wb") as handle:
            handle.write(original)


@pytest.mark.parametrize("relative, data, needs, named", [
    ("root/etc/os-release", lambda o: re.sub(rb'VERSION_ID="?[^"\n]*"?', b'VERSION_ID="' + b"9" * 5000 + b'"', o),
     {"os.distribution"}, "/etc/os-release"),
    ("cmd/imds.json", b"[" * 60000 + b"]" * 60000, {"platform.vm_size"}, "IMDS unreadable"),
    ("cmd/imds.json", lambda o: o.replace(b'"Standard_D8s_v5"', b'"Standard_D' + b"9" * 5000 + b's_v5"'),
     {"platform.vm_size"}, "size"),
    ("cmd/ethtool-S.eth0.0.txt", lambda o: re.sub(rb"vf_rx_packets: [0-9]+", b"vf_rx_packets: " + b"9" * 5000, o),
     {"datapath.vf"}, "cmd/ethtool-S.eth0.0.txt"),
])
def test_a_bad_file_makes_unknown_only_the_checks_that_need_it(copies, relative, data, needs, named):
    """Only the check that reads the file changes, to unknown (or stays what other evidence
    proves: a VF present proves the size, whatever IMDS says), and says what was wrong."""
    host = "ubuntu2204-cx5-2nics"
    good = _statuses(_diagnose(copies[host])["report"])
    report = _with(copies, host, relative, data)
    bad = _statuses(report)
    changed = {check for check in good if good[check] != bad[check]}
    assert changed <= needs, (changed, bad)
    assert all(bad[c] in ("unknown", good[c]) for c in needs)
    summaries = " ".join(c["summary"] for c in report["checks"] if c["id"] in needs)
    assert named in summaries, summaries


def test_snapshot_json_nested_60000_deep_is_read_as_absent(copies):
    host = "ubuntu2204-cx5-2nics"
    good = _diagnose(copies[host])["report"]
    report = _with(copies, host, "snapshot.json", b"[" * 60000 + b"]" * 60000)
    assert _statuses(report) == _statuses(good)
