"""The type checker over the package, as Python 3.6 sees it (setup.cfg's [mypy]): the types
the code declares hold, and every ``# type: ignore[...]`` left says why it is there.

mypy 1.5.1 is the last release that checks code for Python 3.6, and it runs on 3.8+: the
3.6 venv has none (setup.cfg's test extra), so there this test has nothing to run."""

import os
import re
import sys

import pytest

from testutil import require

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "agent", "accelnet")


def _sources():
    for directory, _dirs, names in os.walk(PACKAGE):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(directory, name)


@pytest.mark.skipif(sys.version_info < (3, 8), reason="mypy 1.5.1 runs on Python 3.8+ (it checks for 3.6)")
def test_mypy_finds_nothing_in_the_package(tmp_path):
    try:
        from mypy import api
    except ImportError:
        require(False, "needs mypy (pip install -e '.[test]')")
    out, err, status = api.run(["--config-file", os.path.join(ROOT, "setup.cfg"),
                                "--cache-dir", str(tmp_path / "mypy-cache"), PACKAGE])
    assert status == 0, out + err


IGNORE = re.compile(r"#\s*type:\s*ignore\b(\[[^\]]*\])?(.*)$")


def test_every_type_ignore_names_its_error_and_says_why():
    unexplained = []
    for path in _sources():
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                found = IGNORE.search(line)
                if found and (not found.group(1) or not re.match(r"\s*#\s*\w", found.group(2))):
                    unexplained.append(f"{os.path.relpath(path, ROOT)}:{number}: {line.strip()}")
    assert unexplained == []
