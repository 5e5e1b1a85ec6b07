"""Run a plan; when a step fails, say exactly where that leaves things.

Steps run in order, except that consecutive steps of one batch (see plan.py) run together on
at most ``max_parallel`` threads, one `az` process each: deallocating 20 VMs of a set takes
about as long as deallocating one. After a failure no new step starts; steps already running
are waited for, so the report is true.

The report names the steps that ran, those that failed, those that did not run, the VMs (or
scale set) left deallocated, and the command that resumes. That command is the same one: the
journal tags (journal.py) on what the run stopped tell the next run to start it again.
"""

import concurrent.futures
import time
from typing import Callable, Dict, List, Sequence, TextIO

from accelnet.errors import ParseError
from accelnet.provision.azcli import AzCli
from accelnet.provision.errors import AzOutputError, ProvisionError
from accelnet.provision.plan import Plan, Poll, Step
from accelnet.provision.script import shell_join
from accelnet.records import dataclass, field

DEFAULT_PARALLEL = 8  # az processes at once: each is a ~100 MB Python; ARM takes far more
DONE, FAILED, NOT_RUN = "done", "failed", "not-run"
# What a failed step raises: az failed, timed out, or printed something that is not JSON.
STEP_ERRORS = (ProvisionError, ParseError, OSError)


@dataclass
class Outcome:
    steps: List[Step]
    status: List[str] = field(default_factory=list)  # per step: done, failed, not-run
    errors: Dict[int, str] = field(default_factory=dict)  # step index -> message
    interrupted: bool = False

    def __post_init__(self) -> None:
        if not self.status:
            self.status = [NOT_RUN] * len(self.steps)

    @property
    def ok(self) -> bool:
        return FAILED not in self.status and not self.interrupted

    def of(self, wanted: str) -> List[Step]:
        return [s for s, st in zip(self.steps, self.status) if st == wanted]

    @property
    def done(self) -> List[Step]:
        return self.of(DONE)


def batches(steps: Sequence[Step]) -> List[List[int]]:
    """Indexes of the steps, grouped: consecutive steps of one batch, else one by one."""
    groups: List[List[int]] = []
    for index, step in enumerate(steps):
        if groups and step.batch and steps[groups[-1][-1]].batch == step.batch:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


class WaitTimeout(ProvisionError):
    """A wait step (Step.poll) ran out of time: the state awaited may still come."""


def execute(plan: Plan, cli: AzCli, out: TextIO, max_parallel: int = DEFAULT_PARALLEL,
            clock: Callable[[], float] = time.monotonic) -> Outcome:
    """Run the steps; ``clock`` measures the waits (cli.sleep spends them)."""
    outcome = Outcome(plan.steps)
    total = len(plan.steps)
    try:
        for group in batches(plan.steps):
            for index in group:
                step = plan.steps[index]
                together = " (together with the others of this batch)" if len(group) > 1 \
                    and max_parallel > 1 else ""
                out.write(f"[{index + 1}/{total}] {step.why}{together}\n"
                          f"    {shell_join(['az', *cli.full_argv(step.args)])}\n")
            out.flush()
            if len(group) == 1 or max_parallel <= 1:
                _run_in_turn(plan.steps, group, cli, outcome, out, clock)
            else:
                _run_together(plan.steps, group, cli, outcome, max_parallel, out, clock)
            if not outcome.ok:
                break
    except KeyboardInterrupt:
        outcome.interrupted = True
        for index, status in enumerate(outcome.status):
            if status == "running":
                outcome.status[index] = FAILED
                outcome.errors[index] = "interrupted (Ctrl-C) while this step ran"
    for index, status in enumerate(outcome.status):
        if status == "running":  # pragma: no cover - only after an interruption
            outcome.status[index] = NOT_RUN
    return outcome


def _wait(step: Step, poll: Poll, cli: AzCli, out: TextIO, clock: Callable[[], float]) -> None:
    """Ask until the answer is poll.until, saying what is awaited each time; give up (a
    failed step: the same command waits again) once the next try would pass the limit."""
    start = clock()
    while True:
        answer = cli.run(step.args)
        if not isinstance(answer, int) or isinstance(answer, bool) or answer < 0:
            raise AzOutputError(f"az {step.args[0]} {step.args[1]} --query: expected a count, "
                                f"got {type(answer).__name__}")
        if answer == poll.until:
            return
        waited = clock() - start
        if waited + cli.poll >= poll.limit:
            raise WaitTimeout(f"{poll.what.format(answer)} after {waited:.0f} s, the most this "
                              f"run waits ({poll.limit:g} s); Azure may still be at it: the "
                              "same command waits again")
        out.write(f"    waiting: {poll.what.format(answer)} ({waited:.0f} s of at most "
                  f"{poll.limit:g} s)\n")
        out.flush()
        cli.sleep(cli.poll)


def _run_one(step: Step, index: int, cli: AzCli, outcome: Outcome, out: TextIO,
             clock: Callable[[], float]) -> None:
    outcome.status[index] = "running"
    try:
        if step.poll is not None:
            _wait(step, step.poll, cli, out, clock)
        else:
            cli.run(step.args)
    except STEP_ERRORS as exc:
        outcome.status[index] = FAILED
        outcome.errors[index] = str(exc) or type(exc).__name__
        return
    outcome.status[index] = DONE


def _run_in_turn(steps: Sequence[Step], group: List[int], cli: AzCli, outcome: Outcome,
                 out: TextIO, clock: Callable[[], float]) -> None:
    for index in group:
        _run_one(steps[index], index, cli, outcome, out, clock)
        if outcome.status[index] == FAILED:
            return


def _run_together(steps: Sequence[Step], group: List[int], cli: AzCli, outcome: Outcome,
                  max_parallel: int, out: TextIO, clock: Callable[[], float]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(max_parallel, len(group))) \
            as pool:
        futures = [pool.submit(_run_one, steps[i], i, cli, outcome, out, clock) for i in group]
        for future in concurrent.futures.as_completed(futures):
            if not future.cancelled():
                future.result()
            if not outcome.ok:
                for pending in futures:
                    pending.cancel()  # not started yet: stays not-run


def left_deallocated(outcome: Outcome) -> List[str]:
    """Names deallocated by steps that ran (or failed: they may have taken effect) and not
    started again by steps that ran."""
    names: List[str] = []
    for step, status in zip(outcome.steps, outcome.status):
        if status == NOT_RUN:
            continue
        if step.deallocates and step.deallocates not in names:
            names.append(step.deallocates)
        if step.starts and step.starts in names and status == DONE:
            names.remove(step.starts)
    return names


def failure_report(plan: Plan, outcome: Outcome, resume: Sequence[str]) -> str:
    total = len(plan.steps)
    failed = [i for i, st in enumerate(outcome.status) if st == FAILED]
    lines = ["accelnet-provision: interrupted (Ctrl-C)"] if outcome.interrupted else []
    for index in failed:
        lines.append(f"accelnet-provision: step {index + 1} of {total} failed: "
                     f"{outcome.errors[index]}")
        lines.append(f"  failed: {_show(plan.steps[index])}")
    for title, wanted in (("steps done", DONE), ("steps not run", NOT_RUN)):
        numbered = [(i, s) for i, (s, st) in enumerate(zip(plan.steps, outcome.status))
                    if st == wanted]
        lines.append(f"{title}:" if numbered else f"{title}: none")
        lines += [f"  {i + 1}. {_show(s)}" for i, s in numbered]
    left = left_deallocated(outcome)
    if left:
        lines.append("state left: deallocated by this run and not started again (each "
                     "carries the tag accelnet-provision): " + ", ".join(left))
    else:
        lines.append("state left: nothing was deallocated by this run")
    lines.append("resume with the same command (it reads the tags and starts what this run "
                 "stopped):")
    lines.append("  " + shell_join(resume))
    return "\n".join(lines) + "\n"


def _show(step: Step) -> str:
    return shell_join(["az", *step.args])

