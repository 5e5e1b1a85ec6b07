"""Fixtures of the provisioning tests.

Every test that uses the stand-in az leaves the argvs it saw (and those a run printed as
planned) in provision_fakes.CORPUS; test_real_az.py, ordered last, gives them all to the
real Azure CLI's parser.
"""

from pathlib import Path
from typing import Iterator, List

import pytest

from provision_fakes import FakeAz, record

REAL_AZ_MODULE = "test_real_az.py"


@pytest.fixture
def fake_az(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            request: pytest.FixtureRequest) -> Iterator[FakeAz]:
    fake = FakeAz(tmp_path, monkeypatch)
    yield fake
    record(request.node.nodeid, fake.calls() + fake.planned)


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """The real-CLI test last: it reads what the stand-in tests before it recorded."""
    last = [item for item in items if item.nodeid.split("::")[0].endswith(REAL_AZ_MODULE)]
    if last:
        items[:] = [item for item in items if item not in last] + last
