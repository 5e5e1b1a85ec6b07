"""Render a plan as a POSIX sh script (what --dry-run prints).

Every value goes through shlex.quote, so a name cannot become shell syntax; the script runs
the very argument lists the direct run would, so running it gives the same end state.
"""

import shlex
from typing import List, Sequence

from accelnet.provision.plan import Plan, Step



def shell_join(argv: Sequence[str]) -> str:
    """shlex.join() of Python 3.8+, for Python 3.6: each word quoted for POSIX sh."""
    return " ".join(shlex.quote(word) for word in argv)

def az_argv(step: Step) -> List[str]:
    """The full argv of a step, as both the backend and the script run it."""
    return ["az", *step.args, "--output", "json"]


def _comment(text: str) -> List[str]:
    return ["# " + line for line in text.splitlines() or [""]]


def render_script(plan: Plan, read_calls: Sequence[Sequence[str]] = ()) -> str:
    lines = ["#!/bin/sh",
             "# Plan of: accelnet-provision " + shell_join(plan.command),
             "# Built from the state these read-only calls returned; run it soon after."]
    lines += ["#   az " + shell_join(call) for call in read_calls]
    for warning in plan.warnings:
        lines += _comment("WARNING: " + warning)
    for note in plan.notes:
        lines += _comment("Found: " + note)
    lines += ["set -eu", ""]
    if not plan.steps:
        lines += ["# Nothing to do: everything is already as asked.", ":"]
    for number, step in enumerate(plan.steps, 1):
        lines += _comment(f"Step {number}: {step.why}")
        lines.append(shell_join(az_argv(step)))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
