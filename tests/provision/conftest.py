"""Fixtures of the provisioning tests."""

from pathlib import Path

import pytest

from provision_fakes import FakeAz


@pytest.fixture
def fake_az(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAz:
    return FakeAz(tmp_path, monkeypatch)
