"""The JSON contract in the repository: docs/schema/report.schema.json (accelnet-check
--json) and docs/schema/snapshot.schema.json (a snapshot's snapshot.json), checked with a
real validator (jsonschema, Draft 7) against every golden report, every fixture's
snapshot.json, the UNKNOWN report of a failed run, a live report and both writers' bundles.
The schemas forbid undocumented fields, so a new field fails here until it is documented."""

import copy
import json
import os
import subprocess
import sys
import tarfile

import jsonschema
import pytest

import goldens
from accelnet.diagnosis.finding import CHECK_IDS
from accelnet.diagnosis.counters import DATAPATH_IDLE, DATAPATH_SYNTHETIC, DATAPATH_UNKNOWN, DATAPATH_VF, VF_COUNTERS
from accelnet.diagnosis.facts import parse_rfc3339
from accelnet.parsers.kernellog import EVENTS



SCHEMA_DIR = os.path.join(goldens.REPO, "docs", "schema")


def _load(name):
    with open(os.path.join(SCHEMA_DIR, name), encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


REPORT = _load("report.schema.json")
SNAPSHOT = _load("snapshot.schema.json")


def _errors(validator, document):
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message) for e in validator.iter_errors(document)]


def _run(*args, env=None):
    full_env = dict(os.environ, PYTHONPATH=os.path.join(goldens.REPO, "agent"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "accelnet.cli.check", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=full_env, timeout=300)


@pytest.mark.parametrize("name", goldens.fixture_names())
def test_every_golden_report_is_valid(name):
    path, _ = goldens.golden_paths(name)
    with open(path, encoding="utf-8") as handle:
        golden = json.load(handle)
    assert _errors(REPORT, golden["report"]) == []


@pytest.mark.parametrize("name", goldens.fixture_names())
def test_every_fixture_snapshot_json_is_valid(name):
    with open(os.path.join(goldens.FIXTURES, name, "snapshot.json"), encoding="utf-8") as handle:
        meta = json.load(handle)
    assert _errors(SNAPSHOT, meta) == []
    assert parse_rfc3339(meta["captured_at"]) is not None


def test_the_unknown_report_of_a_failed_run_is_valid(tmp_path):
    for args in (["--timeout", "soon"], ["--snapshot", str(tmp_path / "missing")]):
        proc = _run("--json", *args)
        report = json.loads(proc.stdout)
        assert proc.returncode == 3 and report["status"] == "unknown"
        assert _errors(REPORT, report) == []


def _snapshot_meta(bundle):
    with tarfile.open(bundle) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/snapshot.json") or m.name == "snapshot.json")
        return json.loads(archive.extractfile(member).read().decode("utf-8"))


def test_this_host_and_both_writers_bundles_are_valid(tmp_path):
    """The live report, and snapshot.json as accelnet-check --collect and the POSIX sh
    accelnet-collect write it (this machine: no Azure, so IMDS is never asked)."""
    live = _run("--json", "--no-imds", "--sample-seconds", "0")
    assert _errors(REPORT, json.loads(live.stdout)) == []
    bundle = str(tmp_path / "check.tar.gz")
    collected = _run("--collect", bundle, "--json", "--no-imds", "--sample-seconds", "0")
    assert os.path.exists(bundle), collected.stderr
    assert _errors(REPORT, json.loads(collected.stdout)) == []
    meta = _snapshot_meta(bundle)
    assert _errors(SNAPSHOT, meta) == [] and meta["collector"].startswith("accelnet-check ")
    sh_bundle = str(tmp_path / "sh.tar.gz")
    sh = subprocess.run(["sh", os.path.join(goldens.REPO, "scripts", "accelnet-collect"), sh_bundle, "--no-imds",
                         "--sample-seconds", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert sh.returncode == 0, sh.stderr
    meta = _snapshot_meta(sh_bundle)
    assert _errors(SNAPSHOT, meta) == [] and meta["collector"].startswith("accelnet-collect ")


def _properties(schema, path="$"):
    """Every (path, property schema) of a schema, through definitions, items and anyOf."""
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            yield "%s.%s" % (path, name), sub
            yield from _properties(sub, "%s.%s" % (path, name))
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                yield from _properties(schema[key], path + "[]")
        for key in ("anyOf", "allOf"):
            for sub in schema.get(key) or []:
                yield from _properties(sub, path)
        for name, sub in (schema.get("definitions") or {}).items():
            yield from _properties(sub, "#" + name)


@pytest.mark.parametrize("validator", [REPORT, SNAPSHOT], ids=["report", "snapshot"])
def test_every_field_is_documented_and_no_other_is_allowed(validator):
    undocumented = [path for path, sub in _properties(validator.schema) if not (sub.get("description") or "").strip()]
    assert undocumented == []
    open_objects = [path for path, sub in _properties(validator.schema)
                    if sub.get("type") in ("object", ["object", "null"]) and "properties" in sub
                    and sub.get("additionalProperties") is not False]
    assert open_objects == []


def test_a_field_the_schema_does_not_document_is_refused():
    _, text = goldens.check_json("ubuntu2204-cx5-vf-flapping")
    report = json.loads(text)
    assert _errors(REPORT, report) == []
    for path in ((), ("host",), ("interfaces", 0), ("interfaces", 0, "vf"), ("history", 0), ("checks", 5, "evidence"),
                 ("checks", 7, "evidence", "pairs", 0, "mtu"), ("checks", 8, "evidence", "interfaces", 0)):
        changed = copy.deepcopy(report)
        target = changed
        for step in path:
            target = target[step]
        target["undocumented"] = 1
        assert any("undocumented" in e for e in _errors(REPORT, changed)), path
    wrong = copy.deepcopy(report)
    wrong["checks"][0]["status"] = "fine"
    wrong["interfaces"][0]["datapath"] = "fast"
    assert len(_errors(REPORT, wrong)) == 2


def test_the_schema_names_what_the_code_does():
    definitions = REPORT.schema["definitions"]
    assert definitions["check"]["properties"]["id"]["enum"] == list(CHECK_IDS)
    assert sorted(definitions["history_row"]["properties"]["event"]["enum"]) == sorted(EVENTS)
    interface = REPORT.schema["properties"]["interfaces"]["items"]
    assert interface["properties"]["datapath"]["enum"] == [DATAPATH_VF, DATAPATH_SYNTHETIC, DATAPATH_IDLE, DATAPATH_UNKNOWN]
    assert list(interface["properties"]["counters"]["properties"]) == list(VF_COUNTERS)
    evidence = {rule["if"]["properties"]["id"]["const"] for rule in definitions["check"]["allOf"]}
    assert evidence == set(CHECK_IDS)
