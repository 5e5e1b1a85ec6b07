"""--log.format logfmt|json (node_exporter's lines), --log.level, and the journal default."""

import json
import logging
import os
import re
import subprocess
import sys

import pytest

import goldens
from accelnet.agent.logformat import JsonFormatter, LogfmtFormatter, logfmt_value, make_formatter
from agentproc import command, env

FIXTURE = os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-2nics")
LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def record(msg: str, level: int = logging.INFO, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("accelnet.agent", level, "/x/accelnet/agent/daemon.py", 42, msg, (), exc_info)


def parse_logfmt(line: str) -> dict:
    out = {}
    for key, raw in LOGFMT_PAIR.findall(line):
        out[key] = json.loads(raw) if raw.startswith('"') else raw
    return out


def test_logfmt_values_are_quoted_only_when_needed():
    assert logfmt_value("serving") == "serving"
    assert logfmt_value("a b") == '"a b"'
    assert logfmt_value('say "hi"') == '"say \\"hi\\""'
    assert logfmt_value("a=b") == '"a=b"'
    assert logfmt_value("") == '""'
    assert logfmt_value("two\nlines") == '"two\\nlines"'


def test_logfmt_line_has_node_exporters_keys_and_stays_one_line():
    line = LogfmtFormatter().format(record('textfile "x": no\nway'))
    assert "\n" not in line
    assert re.match(r"ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z caller=daemon\.py:42 level=info ", line), line
    fields = parse_logfmt(line)
    assert fields["msg"] == 'textfile "x": no\nway'
    assert fields["logger"] == "accelnet.agent"


def test_json_line_has_the_same_fields_and_the_traceback_as_err():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        line = JsonFormatter().format(record("refresh failed", logging.ERROR, sys.exc_info()))
    doc = json.loads(line)
    assert doc["level"] == "error" and doc["msg"] == "refresh failed" and doc["caller"] == "daemon.py:42"
    assert "RuntimeError: boom" in doc["err"]
    assert list(doc) == sorted(doc)  # keys sorted, as go-kit's JSON logger writes them


def test_journal_gets_the_priority_prefix_in_every_format():
    assert make_formatter(None, journal=True).format(record("hi", logging.WARNING)) == "<4>hi"
    assert make_formatter("logfmt", journal=True).format(record("hi", logging.ERROR)).startswith("<3>ts=")
    assert make_formatter("json", journal=True).format(record("hi")).startswith('<6>{"caller"')
    with pytest.raises(ValueError):
        make_formatter("xml", journal=False)


def run_once(tmp_path, *args: str, extra_env=None) -> subprocess.CompletedProcess:
    target = str(tmp_path / "accelnet.prom")
    environ = env()
    environ.pop("JOURNAL_STREAM", None)  # the test may itself run under systemd
    environ.update(extra_env or {})
    return subprocess.run(command("--once", "--snapshot", FIXTURE, "--textfile", target, *args),
                          env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=60)


def test_agent_logs_json_lines(tmp_path):
    done = run_once(tmp_path, "--log.format", "json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert any(doc["level"] == "info" and doc["msg"].startswith("wrote ") for doc in lines), lines


def test_agent_logs_logfmt_and_honours_the_level(tmp_path):
    done = run_once(tmp_path, "--log.format", "logfmt")
    assert done.returncode == 0, done.stderr
    fields = [parse_logfmt(line) for line in done.stderr.splitlines()]
    assert any(f["level"] == "info" and f["msg"].startswith("wrote ") for f in fields), done.stderr
    quiet = run_once(tmp_path, "--log.format", "logfmt", "--log.level", "warn")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_default_under_the_journal_is_the_bare_message_with_its_priority(tmp_path):
    done = run_once(tmp_path, extra_env={"JOURNAL_STREAM": "8:1234"})
    assert done.returncode == 0, done.stderr
    assert f"<6>wrote {tmp_path / 'accelnet.prom'}" in done.stderr.splitlines()
