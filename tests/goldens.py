"""Golden outputs of every fixture host: the check's JSON report and the agent's /metrics.

Shared by tests/test_golden.py (compare) and tests/regen_golden.py (rewrite after a
deliberate change).
"""

import contextlib
import io
import json
import os
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "fixtures", "hosts")
GOLDEN = os.path.join(REPO, "tests", "golden")
#: Series that depend on the process running the agent, not on the host it describes.
VOLATILE_PREFIXES = ("process_", "python_")
#: Series whose presence is golden but whose value is a clock's: written as 0 in goldens.
CLOCK_SERIES = ("accelnet_scrape_collector_duration_seconds", "accelnet_last_refresh_timestamp_seconds")


def fixture_names():
    if not os.path.isdir(FIXTURES):
        return []
    return sorted(
        name for name in os.listdir(FIXTURES)
        if os.path.isdir(os.path.join(FIXTURES, name)) and not name.startswith(".")
    )


def check_json(name: str):
    """(exit code, stdout) of ``accelnet-check --snapshot <fixture> --json``."""
    from accelnet.cli.check import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--snapshot", os.path.join(FIXTURES, name), "--json", "--sample-seconds", "0"])
    return code, out.getvalue()


def strip_volatile(text: str) -> str:
    kept = []
    for line in text.splitlines():
        fields = line.split()
        metric = fields[2] if line.startswith("# ") and len(fields) > 2 else (fields[0] if fields else "")
        if metric.startswith(VOLATILE_PREFIXES):
            continue
        if not line.startswith("#") and metric.split("{")[0] in CLOCK_SERIES:
            line = line.rpartition(" ")[0] + " 0.0"
        kept.append(line)
    return "\n".join(kept) + "\n"


def same_values(text: str) -> str:
    """Exposition text with every sample value in one spelling.

    prometheus_client formats large floats differently across releases (0.17.1, the last for
    Python 3.6, writes ``1.2e+010`` where newer ones write ``1.2e+10``): both are the same
    number to Prometheus, so goldens compare values, not their spelling.
    """
    lines = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            head, _, value = line.rpartition(" ")
            try:
                line = head + " " + repr(float(value))
            except ValueError:
                pass
        lines.append(line)
    return "\n".join(lines) + "\n"


def agent_metrics(name: str) -> str:
    """/metrics of ``accelnet-agent --snapshot <fixture>``, served over HTTP on loopback."""
    from accelnet.agent.daemon import Agent, AgentConfig

    agent = Agent(AgentConfig(listen="127.0.0.1:0", snapshot=os.path.join(FIXTURES, name)))
    agent.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{agent.server.port}/metrics", timeout=10) as resp:
            body = resp.read().decode()
    finally:
        agent.stop()
    return strip_volatile(body)


def golden_paths(name: str):
    return (
        os.path.join(GOLDEN, f"{name}.check.json"),
        os.path.join(GOLDEN, f"{name}.metrics.txt"),
    )


def render_check(name: str) -> str:
    code, out = check_json(name)
    report = json.loads(out)
    return json.dumps({"exit_code": code, "report": report}, indent=2) + "\n"
