#!/usr/bin/env python3
"""Rewrite tests/golden/ from the fixture hosts: run after a deliberate change, then review
the diff (git diff tests/golden) before committing it.

    python3 tests/regen_golden.py
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "agent"))

import goldens  # noqa: E402


def main() -> int:
    os.makedirs(goldens.GOLDEN, exist_ok=True)
    for name in goldens.fixture_names():
        check_path, metrics_path = goldens.golden_paths(name)
        with open(check_path, "w", encoding="utf-8") as out:
            out.write(goldens.render_check(name))
        with open(metrics_path, "w", encoding="utf-8") as out:
            out.write(goldens.agent_metrics(name))
        print(f"wrote {os.path.relpath(check_path)} and {os.path.relpath(metrics_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
