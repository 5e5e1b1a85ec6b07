"""A whole diagnosis in one call: read the facts, run the checks, build the report."""

from typing import Dict

from .checks import run_checks
from .facts import Facts, Options, gather
from .host import Host
from .report import build_report


def diagnose_facts(facts: Facts) -> Dict[str, object]:
    return build_report(facts, run_checks(facts))


def diagnose(host: Host, options: Options) -> Dict[str, object]:
    return diagnose_facts(gather(host, options))
