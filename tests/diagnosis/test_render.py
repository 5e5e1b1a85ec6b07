"""Human output: one aligned line per check, colour only on a terminal, NO_COLOR honoured."""

import io
import json
import re

import goldens
from accelnet.diagnosis.report import render_text, use_colour


class Tty(io.StringIO):
    def isatty(self):
        return True


def report(name="rhel8-cx5-not-enslaved"):
    _, out = goldens.check_json(name)
    return json.loads(out)


def test_one_aligned_line_per_check():
    lines = render_text(report()).splitlines()
    check_lines = [l for l in lines if l.split(" ", 1)[0] in ("OK", "WARNING", "CRITICAL", "UNKNOWN", "SKIPPED")]
    assert len(check_lines) == 9
    columns = {len(re.match(r"^\S+\s+\S+\s+", l).group(0)) for l in check_lines}  # where summaries start
    assert len(columns) == 1
    assert any(l.strip().startswith("fix: ") for l in lines)
    assert "\033[" not in "".join(lines)


def test_colour_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Tty()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())
    assert "\033[31m" in render_text(report(), colour=True)
