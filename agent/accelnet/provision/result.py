"""The machine-readable result of a run (``--output json``): one JSON document on stdout.

It holds what a script needs to act without parsing prose: the outcome and exit status, each
step with its full `az` argv and how it ended (a wait step: the count its argv prints when
done, and the most seconds a run asks it), the state read before planning and, after a
run that changed something, the same resources read again.
"""

from typing import Any, Callable, Dict, List, Optional, Sequence

from accelnet.provision.plan import Plan
from accelnet.provision.runner import NOT_RUN, Outcome, left_deallocated

SCHEMA = 1
# result -> exit status (CONTRACT: 0 done or nothing to do, 1 refused, 2 failed halfway)
EXIT = {"done": 0, "nothing-to-do": 0, "planned": 0, "refused": 1, "failed": 2}


def document(result: str, command: Sequence[str], message: Optional[str] = None,
             subscription: Optional[str] = None, plan: Optional[Plan] = None,
             outcome: Optional[Outcome] = None,
             full_argv: Callable[[Sequence[str]], List[str]] = lambda a: [*a],
             after: Optional[Dict[str, Any]] = None,
             after_error: Optional[str] = None) -> Dict[str, Any]:
    steps: List[Dict[str, Any]] = []
    if plan is not None:
        for index, step in enumerate(plan.steps):
            status = outcome.status[index] if outcome else (
                "planned" if result != "refused" else NOT_RUN)
            steps.append({"number": index + 1, "argv": ["az", *full_argv(step.args)],
                          "why": step.why, "batch": step.batch, "resumed": step.resumed,
                          "status": status,
                          "error": outcome.errors.get(index) if outcome else None,
                          "wait": None if step.poll is None else {
                              "until": step.poll.until, "at_most_seconds": step.poll.limit}})
    return {
        "schema": SCHEMA,
        "command": ["accelnet-provision", *command],
        "result": result,
        "exit_status": EXIT[result],
        "message": message,
        "subscription": subscription,
        "warnings": list(plan.warnings) if plan else [],
        "notes": list(plan.notes) if plan else [],
        "resumed": list(plan.resumed) if plan else [],
        "not_resumed": list(plan.ignored) if plan else [],
        "steps": steps,
        "left_deallocated": left_deallocated(outcome) if outcome else [],
        "state_before": plan.before if plan else None,
        "state_after": after,
        "state_after_error": after_error,
    }
