"""Fixtures of the fleet tests: the fixture hosts' answers (built once) and the stand-in az."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_fakes import FleetAz, build_answers  # noqa: E402


@pytest.fixture(scope="session")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("answers")
    build_answers(directory)
    return directory


@pytest.fixture
def fleet_az(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: Path) -> FleetAz:
    return FleetAz(tmp_path, monkeypatch, answers)
