"""Render a plan as a POSIX sh script (what --dry-run prints).

Every word of every command goes through shlex.quote, so no value can become shell syntax,
and every line of every comment starts with '#' (a value holding a line break is cut into
several comment lines, never continued as code). The script runs the very argument lists
the direct run would (the same ``full_argv``), so running it gives the same end state; it
runs them one after the other, where the direct run starts the VMs of a set together.
"""

import math
import shlex
from typing import Callable, List, Sequence

from accelnet.provision.plan import Plan, Poll


def shell_join(argv: Sequence[str]) -> str:
    """shlex.join() of Python 3.8+, for Python 3.6: each word quoted for POSIX sh."""
    return " ".join(shlex.quote(word) for word in argv)


def comment(text: str) -> List[str]:
    """``# `` before every line of ``text``: sh ends a comment at a newline only, and
    splitlines() cuts at every line break Python knows (a superset), so none is missed."""
    return ["# " + line for line in text.splitlines() or [""]]


def render_script(plan: Plan, read_calls: Sequence[Sequence[str]] = (),
                  full_argv: Callable[[Sequence[str]], List[str]] = lambda a: [*a],
                  interval: float = 30.0) -> str:
    """``interval``: seconds between the tries of a wait, as the direct run (AzCli.poll)."""
    lines = ["#!/bin/sh"]
    lines += comment("Plan of: " + shell_join(["accelnet-provision", *plan.command]))
    lines += comment("Built from the state these read-only calls returned; run it soon after.")
    for call in read_calls:
        lines += comment("  " + shell_join(["az", *call]))
    for warning in plan.warnings:
        lines += comment("WARNING: " + warning)
    for resumed in plan.resumed:
        lines += comment("Resuming an unfinished run: " + resumed)
    for ignored in plan.ignored:
        lines += comment("Not resumed: " + ignored)
    for note in plan.notes:
        lines += comment("Found: " + note)
    lines += ["set -eu", ""]
    if not plan.steps:
        lines += ["# Nothing to do: everything is already as asked.", ":"]
    for number, step in enumerate(plan.steps, 1):
        lines += comment(f"Step {number}: {step.why}")
        command = shell_join(["az", *full_argv(step.args)])
        lines += [command] if step.poll is None else _wait_loop(command, step.poll, interval)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _wait_loop(command: str, poll: Poll, interval: float) -> List[str]:
    """The wait of a Poll step in POSIX sh: the same command until it prints the awaited
    value, at most as many tries as the direct run makes within the limit."""
    tries = math.ceil(poll.limit / interval) if interval > 0 else math.ceil(poll.limit)
    give_up = shell_join([f"accelnet-provision: still waiting after {poll.limit:g} s: "
                          + poll.what.format("some")])
    return ["tries=0",
            f'until [ "$({command})" = {poll.until:d} ]; do',
            "  tries=$((tries + 1))",
            f'  if [ "$tries" -ge {max(tries, 1)} ]; then echo {give_up} >&2; exit 1; fi',
            f"  sleep {interval:g}",
            "done"]
