"""What comes back from a VM, parsed: Run Command's document, the answer lines, the reduced
bundle, the report. All of it is hostile input: every refusal below is a clear error, never
a traceback, and nothing is written outside the directory given."""

import base64
import gzip
import os
import zlib

import pytest

from accelnet.diagnosis.facts import Options
from accelnet.fleet import answer, minibundle, verdict
from accelnet.fleet.events import platform_events

TOKEN = "0123456789abcdef"


def b64gz(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data)).decode()


def line(kind: str, part: int, parts: int, data: str, token: str = TOKEN, length: int = None) -> str:
    return f"ACCELNET-FLEET 1 {token} {kind} {part}/{parts} {len(data) if length is None else length} {data}"


# -- Run Command's document ---------------------------------------------------------------------

def test_linux_message_split_into_stdout_and_stderr():
    doc = {"value": [{"code": "ProvisioningState/succeeded", "level": "Info",
                      "message": "Enable succeeded: \n[stdout]\nhello\nworld\n\n[stderr]\noh no\n"}]}
    assert answer.run_command_streams(doc) == ("hello\nworld\n", "oh no\n")


def test_markers_printed_by_the_vm_do_not_move_the_split():
    message = "Enable succeeded: \n[stdout]\nA\n[stderr]\nfake\n[stdout]\nB\n[stderr]\nreal"
    assert answer.split_message(message) == ("A\n[stderr]\nfake\n[stdout]\nB", "real")


def test_windows_form_and_bad_documents():
    doc = {"value": [{"code": "ComponentStatus/StdOut/succeeded", "message": "out"},
                     {"code": "ComponentStatus/StdErr/succeeded", "message": "err"}]}
    assert answer.run_command_streams(doc) == ("out", "err")
    for bad in (None, [], {"value": []}, {"value": "x"}, "text"):
        with pytest.raises(answer.AnswerError):
            answer.run_command_streams(bad)


# -- answer lines -------------------------------------------------------------------------------

def test_only_this_runs_token_counts_and_parts_assemble():
    data = b64gz(b"x" * 5000)
    one, two = data[:len(data) // 2], data[len(data) // 2:]
    stdout = "\n".join([line("report", 1, 1, "QUJD", token="f" * 16),  # another run's
                        line("report", 1, 2, one, length=len(data))])
    known = {}
    answer.collect(known, answer.find_frames(stdout, TOKEN))
    assert answer.missing(known) == [2]
    answer.collect(known, answer.find_frames(line("part", 2, 2, two, length=len(data)), TOKEN))
    assert answer.missing(known) == []
    assert answer.inflate(answer.assemble(known)) == b"x" * 5000


@pytest.mark.parametrize("frames, message", [
    ([("report", 1, 2, "QUJD", 8), ("part", 2, 2, "QUJ", 8)], "announced"),
    ([("report", 1, 3, "QUJD", 12), ("part", 3, 3, "QUJD", 12)], "fit together"),
])
def test_parts_that_do_not_fit(frames, message):
    known = {}
    for kind, part, parts, data, length in frames:
        answer.collect(known, answer.find_frames(line(kind, part, parts, data, length=length), TOKEN))
    with pytest.raises(answer.AnswerError, match=message):
        answer.assemble(known)


def test_two_different_answers_for_one_part_are_refused():
    known = {}
    answer.collect(known, answer.find_frames(line("report", 1, 1, "QUJD"), TOKEN))
    with pytest.raises(answer.AnswerError, match="two different"):
        answer.collect(known, answer.find_frames(line("report", 1, 1, "QUJE"), TOKEN))


def test_malformed_lines_are_not_answers():
    for text in (line("report", 0, 1, "QUJD"), line("report", 3, 2, "QUJD")):
        with pytest.raises(answer.AnswerError):
            answer.find_frames(text, TOKEN)
    assert answer.find_frames(line("report", 1, 1, "QUJD") + " trailing", TOKEN) == []
    assert answer.find_frames("ACCELNET-FLEET 1 %s report 1/1 4 \x1b[2J" % TOKEN, TOKEN) == []
    with pytest.raises(answer.AnswerError, match="unknown answer kind"):
        answer.find_frames(line("shell", 1, 1, "QUJD"), TOKEN)


def test_inflate_refuses_bombs_and_broken_data():
    bomb = base64.b64encode(gzip.compress(b"\0" * (answer.MAX_INFLATED + 10))).decode()
    with pytest.raises(answer.AnswerError, match="more than"):
        answer.inflate(bomb)
    with pytest.raises(answer.AnswerError, match="not base64"):
        answer.inflate("%%%")
    with pytest.raises(answer.AnswerError, match="not gzip"):
        answer.inflate(base64.b64encode(b"plain text").decode())
    cut = base64.b64encode(gzip.compress(os.urandom(2000))[:-100]).decode()
    with pytest.raises(answer.AnswerError, match="cut short"):
        answer.inflate(cut)
    raw_deflate = zlib.compress(b"abc")
    with pytest.raises(answer.AnswerError):
        answer.inflate(base64.b64encode(raw_deflate).decode())


def test_a_cut_off_answer_is_recognised():
    assert answer.cut_off("QUJD" * 300 + "\nmotd: xxx\n")
    assert not answer.cut_off("Welcome to Ubuntu\n")


def test_last_line_of_junk_says_what_it_is():
    assert answer.last_line("first\nsecond line\n\n") == "second line"
    assert "not text" in answer.last_line("\ufffd\x01\x02\ufffd\ufffd\ufffd")
    assert len(answer.last_line("x" * 1000)) == 200


# -- the reduced bundle -------------------------------------------------------------------------

def blob(*lines: str, data: bytes = b"") -> bytes:
    return ("ACCELNET-MINIBUNDLE 1\n" + "".join(l + "\n" for l in lines) + "DATA\n").encode() + data


def test_parse_and_write_a_small_bundle(tmp_path):
    entries = minibundle.parse(blob("D root", "D root/etc", "F root/etc/os-release 8", "D cmd",
                                    "L root/lnk ../x", "F cmd/lspci.txt 3", "F snapshot.json 2",
                                    data=b"ID=test\nabc{}"))
    assert [(e.kind, e.path) for e in entries][:3] == [("D", "root"), ("D", "root/etc"), ("F", "root/etc/os-release")]
    minibundle.write(entries, str(tmp_path))
    assert (tmp_path / "root/etc/os-release").read_bytes() == b"ID=test\n"
    assert (tmp_path / "cmd/lspci.txt").read_bytes() == b"abc"
    assert os.readlink(str(tmp_path / "root/lnk")) == "../x"
    assert oct((tmp_path / "snapshot.json").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("lines, data, message", [
    (["F ../etc/passwd 1"], b"x", "not relative"),
    (["F /etc/passwd 1"], b"x", "not relative"),
    (["F root/./x 1"], b"x", "not relative"),
    (["F etc/passwd 1"], b"x", "outside root"),
    (["L root 1"], b"", "outside root"),
    (["F root/a b 1"], b"x", "unreadable"),
    (["F root/a 5"], b"x", "announced"),
    (["F root/a 1"], b"xy", "announced"),
    (["F root/a -1"], b"", "unreadable"),
    (["L root/a /etc/\x1bpasswd"], b"", "unusable link target"),
    (["X root/a"], b"", "unreadable"),
])
def test_hostile_bundles_are_refused(lines, data, message):
    with pytest.raises(minibundle.MiniBundleError, match=message):
        minibundle.parse(blob(*lines, data=data))


def test_bundle_without_data_line_or_header_is_refused():
    with pytest.raises(minibundle.MiniBundleError, match="header"):
        minibundle.parse(b"garbage")
    with pytest.raises(minibundle.MiniBundleError, match="DATA"):
        minibundle.parse(b"ACCELNET-MINIBUNDLE 1\nD root\n")
    many = "\n".join(f"D root/{i}" for i in range(minibundle.MAX_ENTRIES + 1))
    with pytest.raises(minibundle.MiniBundleError, match="more than"):
        minibundle.parse(blob(many))


def test_nothing_is_written_through_a_link_of_the_bundle(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    top = tmp_path / "top"
    top.mkdir()
    entries = minibundle.parse(blob("D root", f"L root/evil {outside}", "F root/evil/planted 1", data=b"x"))
    with pytest.raises(minibundle.MiniBundleError, match="cannot be written"):
        minibundle.write(entries, str(top))
    assert list(outside.iterdir()) == []
    again = tmp_path / "again"
    again.mkdir()
    twice = minibundle.parse(blob("D root", "F root/a 1", "F root/a 1", data=b"xy"))
    with pytest.raises(minibundle.MiniBundleError, match="cannot be written"):
        minibundle.write(twice, str(again))
    assert (again / "root" / "a").read_bytes() == b"x"


def test_links_out_of_the_bundle_read_nothing_of_this_machine():
    """A bundle whose os-release links to /etc/os-release: the snapshot reader resolves the
    link inside the snapshot, so the report knows no distribution (not this machine's)."""
    entries = minibundle.parse(blob(
        "D root", "D root/etc", "L root/etc/os-release /etc/os-release", "D root/proc", "D root/proc/sys",
        "D root/proc/sys/kernel", "L root/proc/sys/kernel/osrelease ../../../../../../proc/sys/kernel/osrelease"))
    report = verdict.diagnose_entries(entries, Options())
    assert report["host"]["os_id"] is None and report["host"]["kernel"] is None


# -- reports ------------------------------------------------------------------------------------

REPORT = {"schema": 1, "status": "warning", "summary": "s",
          "host": {"vm_size": "Standard_D4s_v5", "os_id": "ubuntu", "os_version": "22.04", "kernel": "6.8.0"},
          "checks": [{"id": "vf.present", "status": "ok", "summary": "x"},
                     {"id": "datapath.vf", "status": "warning",
                      "summary": "eth0: traffic on the synthetic path, not the VF enP1s1 (fallback); eth1: x"}],
          "interfaces": [{"name": "eth0", "vf": {"name": "enP1s1"}}],
          "history": [{"event": "vf_slot_removed", "device": "eth0", "time": "2025-06-03T11:19:20.4Z"},
                      {"event": "vf_unregistered", "device": "eth0", "time": "2025-06-03T11:19:20.5Z"},
                      {"event": "vf_unregistered", "device": "eth0", "time": "2025-06-03T12:19:20Z"},
                      {"event": "vf_registered", "device": "eth0", "time": "2025-06-03T12:20:00Z"}]}


def test_report_becomes_a_verdict_with_a_general_cause_and_removals():
    found = verdict.from_report(REPORT, verdict.VIA_CHECK)
    assert (found.status, found.vm_size, found.os_id) == ("warning", "Standard_D4s_v5", "ubuntu")
    assert found.cause == "datapath.vf: <nic>: traffic on the synthetic path, not the VF <nic> (fallback)"
    assert [(r.device, round(r.epoch)) for r in found.removals] == [("eth0", 1748949560), ("eth0", 1748953160)]


@pytest.mark.parametrize("change", [
    {"schema": 2}, {"status": "fine"}, {"checks": "none"}, {"checks": [{"id": "x", "status": "bad"}]},
    {"checks": [7]},
])
def test_reports_that_are_not_reports(change):
    with pytest.raises(answer.AnswerError):
        verdict.from_report(dict(REPORT, **change), verdict.VIA_CHECK)
    with pytest.raises(answer.AnswerError):
        verdict.from_report([REPORT], verdict.VIA_CHECK)


def test_long_and_odd_fields_are_bounded():
    report = dict(REPORT, summary="A" * 100000, host={"vm_size": ["list"], "kernel": "k" * 1000},
                  history=[{"event": "vf_unregistered", "device": "eth0", "time": "not a time"}] * 10)
    found = verdict.from_report(report, verdict.VIA_CHECK)
    assert len(found.summary) == verdict.MAX_TEXT and found.vm_size is None and len(found.kernel) == 128
    assert found.removals == []


def test_general_cause_hides_what_differs_between_vms():
    cause = verdict.general_cause("os.kernel", "kernel 4.4.0-116-generic is older than 4.11.0-1013, the "
                                  "minimum for Ubuntu; install linux-azure", [])
    assert cause == "os.kernel: kernel <version> is older than <version>, the minimum for Ubuntu"
    assert verdict.general_cause("vf.driver", "VF at c41b:00:02.0 (MAC 00:0d:3a:12:34:56) has 3,649 packets",
                                 []) == "vf.driver: VF at <pci> (MAC <mac>) has N packets"


# -- platform events ----------------------------------------------------------------------------

def test_removals_within_minutes_on_several_vms_are_one_event():
    base = 1_750_000_000.0
    found = platform_events({"a": [base], "b": [base + 60], "c": [base + 200], "d": [base + 3600],
                             "e": [base + 3700], "f": [base + 90000], "g": []})
    assert [(e.vms, e.removals) for e in found] == [(("a", "b", "c"), 3), (("d", "e"), 2)]
    assert found[0].end - found[0].start == 200


def test_one_vm_flapping_is_not_a_platform_event():
    assert platform_events({"a": [1.0, 30.0, 60.0, 90.0]}) == []
