"""--timeout (SIGALRM) and SIGTERM raise wherever the run is, so that every ``finally`` runs:
a timeout at any moment of ``--collect`` or of reading a ``.tar.gz`` snapshot leaves no
temporary directory and no partial bundle. The signal used to land between mkdtemp and its
``try``, or halfway through the removal of the directory (found on Python 3.6: an
``accelnet-collect-*`` and an ``accelnet-snapshot-*`` left in TMPDIR by a timeout swept
over the run)."""

import contextlib
import io
import os
import tarfile
import tempfile
import time

import goldens
from accelnet.cli import check

FIXTURE = os.path.join(goldens.FIXTURES, "ubuntu2204-cx5-2nics")


def _quiet_main(args):
    """The first line of the output (stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        check.main(args)
    return out.getvalue().split("\n", 1)[0]


def _sweep(args, tmp_path, monkeypatch, points=30):
    """ARGS run with --timeout at POINTS moments spread over a whole run and a little past it;
    after each, nothing of the run is left in TMPDIR or next to the output."""
    scratch, out = tmp_path / "tmp", tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    started = time.monotonic()
    assert "timed out" not in _quiet_main(args)
    whole = time.monotonic() - started
    cut = 0
    for point in range(points):
        cut += "timed out" in _quiet_main(args + ["--timeout", "%.4f" % (whole * 1.1 * (point + 1) / points)])
        assert os.listdir(str(scratch)) == [], point
        assert [n for n in os.listdir(str(out)) if n.endswith(".partial")] == [], point
    assert cut  # some runs were cut short


def test_a_timeout_at_any_moment_of_collect_leaves_nothing(tmp_path, monkeypatch):
    bundle = str(tmp_path / "out" / "bundle.tar.gz")
    _sweep(["--collect", bundle, "--force", "--sample-seconds", "0", "--no-imds"], tmp_path, monkeypatch)


def test_a_timeout_at_any_moment_of_reading_an_archive_leaves_nothing(tmp_path, monkeypatch):
    bundle = str(tmp_path / "bundle.tar.gz")
    with tarfile.open(bundle, "w:gz") as tar:
        tar.add(FIXTURE, arcname="snapshot")
    _sweep(["--snapshot", bundle], tmp_path, monkeypatch)
