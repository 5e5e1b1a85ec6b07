"""What reaches users names nothing outside the repository: the rules' sources (shown in
each check's evidence, the JSON report and -v) cite the public documents themselves, never
the development notes a user does not have (../shared, CONTRACT.md, DESIGN.md)."""

import glob
import json
import os

import pytest

import goldens

RULES = sorted(glob.glob(os.path.join(goldens.REPO, "agent", "accelnet", "rules", "*.json")))
PRIVATE = ("../shared", "/work/", "shared/reference", "CONTRACT.md", "DESIGN.md")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("path", RULES, ids=os.path.basename)
def test_rules_cite_public_sources_only(path):
    with open(path, encoding="utf-8") as handle:
        rules = json.load(handle)
    assert [s for s in _strings(rules) if any(p in s for p in PRIVATE)] == []


def test_no_golden_report_points_outside_the_repository():
    goldens_dir = os.path.join(goldens.REPO, "tests", "golden")
    leaking = []
    for name in sorted(os.listdir(goldens_dir)):
        with open(os.path.join(goldens_dir, name), encoding="utf-8") as handle:
            text = handle.read()
        leaking += [name] if any(p in text for p in PRIVATE) else []
    assert leaking == []
