"""Every fixture host's report and metrics equal their golden files (tests/regen_golden.py)."""

import os

import pytest

import goldens

NAMES = goldens.fixture_names()


def _read(path):
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: run python3 tests/regen_golden.py")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.parametrize("name", NAMES)
def test_check_json_equals_golden(name):
    check_path, _ = goldens.golden_paths(name)
    assert goldens.render_check(name) == _read(check_path)


@pytest.mark.parametrize("name", NAMES)
def test_metrics_equal_golden(name):
    _, metrics_path = goldens.golden_paths(name)
    assert goldens.same_values(goldens.agent_metrics(name)) == goldens.same_values(_read(metrics_path))


def test_there_are_fixtures_and_goldens():
    assert len(NAMES) >= 10
    assert sorted(f for f in os.listdir(goldens.GOLDEN) if f.endswith(".check.json")) == sorted(
        f"{n}.check.json" for n in NAMES
    )
