"""Run a plan step by step; when a step fails, say exactly where that leaves things.

The report names the steps that ran, the one that failed, those that did not run, the VMs
(or scale set) left deallocated, and the command that resumes: the same command plus
``--also-start`` for whatever the plan still meant to start, because a re-read cannot tell
a VM we deallocated from one that was deallocated all along.
"""

from dataclasses import dataclass, field
from typing import List, Optional, TextIO

from accelnet.provision.azcli import AzCli
from accelnet.provision.errors import AzError
from accelnet.provision.plan import Plan, Step
from accelnet.provision.script import az_argv, shell_join


@dataclass
class Outcome:
    done: List[Step] = field(default_factory=list)
    failed: Optional[Step] = None
    error: Optional[AzError] = None
    not_run: List[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None


def execute(plan: Plan, cli: AzCli, out: TextIO) -> Outcome:
    outcome = Outcome()
    total = len(plan.steps)
    for index, step in enumerate(plan.steps):
        out.write(f"[{index + 1}/{total}] {step.why}\n    {shell_join(az_argv(step))}\n")
        out.flush()
        try:
            cli.run(step.args)
        except AzError as exc:
            outcome.failed, outcome.error = step, exc
            outcome.not_run = plan.steps[index + 1:]
            return outcome
        outcome.done.append(step)
    return outcome


def left_deallocated(outcome: Outcome) -> List[str]:
    """Names deallocated by steps that ran and not started again by steps that ran."""
    names: List[str] = []
    for step in outcome.done:
        if step.deallocates and step.deallocates not in names:
            names.append(step.deallocates)
        if step.starts and step.starts in names:
            names.remove(step.starts)
    return names


def resume_command(plan: Plan, outcome: Outcome) -> List[str]:
    pending = [s.starts for s in [outcome.failed, *outcome.not_run] if s and s.starts]
    command = ["accelnet-provision", *plan.command]
    if pending:
        command += ["--also-start", ",".join(dict.fromkeys(pending))]
    return command


def failure_report(plan: Plan, outcome: Outcome) -> str:
    assert outcome.failed is not None and outcome.error is not None
    total = len(plan.steps)
    failed_no = len(outcome.done) + 1
    lines = [f"accelnet-provision: step {failed_no} of {total} failed: {outcome.error}",
             f"  failed: {shell_join(az_argv(outcome.failed))}"]
    lines.append("steps done:" if outcome.done else "steps done: none")
    lines += [f"  {i}. {shell_join(az_argv(s))}" for i, s in enumerate(outcome.done, 1)]
    lines.append("steps not run:" if outcome.not_run else "steps not run: none")
    lines += [f"  {i}. {shell_join(az_argv(s))}"
              for i, s in enumerate(outcome.not_run, failed_no + 1)]
    left = left_deallocated(outcome)
    if left:
        lines.append("state left: deallocated by this run and not started again: "
                     + ", ".join(left))
    else:
        lines.append("state left: nothing was deallocated by this run")
    if outcome.failed.deallocates:
        lines.append(f"  (the failed step may have deallocated {outcome.failed.deallocates} "
                     "before it failed)")
    lines.append("resume with:")
    lines.append("  " + shell_join(resume_command(plan, outcome)))
    return "\n".join(lines) + "\n"
