"""tests/run.sh runs the newest interpreter the machine has, whatever Python an existing .venv
holds (the README's quick start makes .venv with the system's python3), and leaves that
.venv alone. ACCELNET_RUN_DRY=1 prints the plan (interpreter and venv) without installing."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List

from packaging_helpers import REPO_ROOT, require


def _interpreters() -> Dict[str, str]:
    """minor version -> a real interpreter of it (pyenv's or the system's)."""
    found: Dict[str, str] = {}
    for pattern in (str(Path.home() / ".pyenv/versions/3.*/bin/python3.[0-9]*"), "/usr/bin/python3.[0-9]*"):
        for path in sorted(Path("/").glob(pattern.lstrip("/"))):
            if not re.match(r"python3\.[0-9]+\Z", path.name) or not os.access(str(path), os.X_OK):
                continue
            out = subprocess.run([str(path), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 stdout=subprocess.PIPE, universal_newlines=True)
            if out.returncode == 0:
                found.setdefault(out.stdout.strip(), str(path))
    return found


def _plan(repo: Path, pythons: List[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, ACCELNET_RUN_DRY="1", ACCELNET_PYTHONS=" ".join(pythons))
    env.pop("ACCELNET_VENV", None)
    return subprocess.run(["bash", str(repo / "tests" / "run.sh")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=120)


def test_the_newest_python_runs_even_when_dot_venv_holds_another(tmp_path: Path) -> None:
    found = _interpreters()
    versions = sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))
    require(len(versions) >= 3, "needs three Python versions (pyenv), as CI has")
    oldest, middle, newest = versions[0], versions[-2], versions[-1]
    repo = tmp_path / "clone"
    (repo / "tests").mkdir(parents=True)
    shutil.copy(str(REPO_ROOT / "tests" / "run.sh"), str(repo / "tests" / "run.sh"))
    pythons = [found[oldest], found[newest]]

    fresh = _plan(repo, pythons)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.splitlines() == ["Python %s: .venv-py%s (%s)" % (oldest, oldest, found[oldest]),
                                         "Python %s: .venv (%s)" % (newest, found[newest])]

    # the README's first command made .venv with another Python: it stays, the newest runs elsewhere
    subprocess.run([found[middle], "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    planned = _plan(repo, pythons)
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines()[-1] == "Python %s: .venv-py%s (%s)" % (newest, newest, found[newest])
    assert ".venv holds Python %s, not the newest (%s)" % (middle, newest) in planned.stderr
    assert (repo / ".venv" / "bin" / "python").exists()

