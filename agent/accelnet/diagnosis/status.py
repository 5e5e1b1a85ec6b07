"""The statuses of a check and of a report, how bad each is, and which of several decides.

Plain strings, as the JSON report and the metrics spell them; defined here once.
"""

from typing import Iterable

OK, WARNING, CRITICAL, UNKNOWN, SKIPPED = "ok", "warning", "critical", "unknown", "skipped"

#: How bad a status is; the same numbers are the Nagios exit code of the overall status and
#: the value of accelnet_check_status (a skipped check counts as ok).
SEVERITY = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3, SKIPPED: 0}

#: Which of several results decides a check: as monitoring-plugins' max_state_alt, a broken
#: part (critical) is never hidden by one that could not be read (unknown).
RANK = {SKIPPED: 0, OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}


def worst_status(statuses: Iterable[str]) -> str:
    """The status that decides among several: critical, then warning, then unknown, then ok
    (ok when there are none)."""
    return max(statuses, key=lambda status: RANK[status], default=OK)
