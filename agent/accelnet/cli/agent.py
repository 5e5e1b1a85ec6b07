"""``accelnet-agent``: the Prometheus exporter daemon (flags spelled like node_exporter's)."""

import argparse
import logging
import os
import signal
import sys
import threading
from typing import List, Optional

from .. import __version__

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    from ..daemon import DEFAULT_PORT

    parser = argparse.ArgumentParser(
        prog="accelnet-agent",
        description="Export Azure Accelerated Networking state and counters to Prometheus.",
    )
    add = parser.add_argument
    add("--web.listen-address", dest="listen", default=f":{DEFAULT_PORT}", metavar="ADDR",
        help=f"address to serve on, host:port (default :{DEFAULT_PORT}, all addresses)")
    add("--web.telemetry-path", dest="telemetry_path", default="/metrics", metavar="PATH",
        help="path of the metrics (default /metrics)")
    add("--web.config.file", dest="web_config", metavar="FILE",
        help="TLS and basic auth, in the Prometheus exporter-toolkit web-config format "
             "(default: $CREDENTIALS_DIRECTORY/web-config.yml when systemd passes it)")
    add("--snapshot", metavar="PATH", help="serve a captured host (directory or .tar.gz) instead of this one")
    add("--synthetic-drivers", default="hv_netvsc", metavar="LIST",
        help="comma-separated drivers whose interfaces are synthetic NICs (default hv_netvsc)")
    add("--textfile", metavar="PATH", help="also write the metrics atomically to PATH (node_exporter textfile collector)")
    add("--ethtool.device-include", dest="ethtool_include", metavar="REGEX",
        help="also export every ethtool stat of the interfaces matching REGEX")
    add("--ethtool.device-exclude", dest="ethtool_exclude", metavar="REGEX",
        help="leave out the interfaces matching REGEX from the ethtool export")
    add("--ethtool.metrics-include", dest="ethtool_metrics_include", metavar="REGEX",
        help="export only the ethtool stats whose name matches REGEX (e.g. '^(rx|tx)_queue_')")
    add("--ethtool.metrics-exclude", dest="ethtool_metrics_exclude", metavar="REGEX",
        help="leave out the ethtool stats whose name matches REGEX")
    add("--check.interval", dest="interval", type=float, default=30.0, metavar="SECONDS",
        help="how often discovery and the checks run in the background (default 30)")
    add("--imds-url", metavar="URL", help="Azure Instance Metadata Service URL (asked only when DMI says Azure)")
    add("--no-imds", action="store_true", help="never ask the Instance Metadata Service")
    add("--no-events", action="store_true", help="do not watch rtnetlink for VF events")
    add("--log.level", dest="log_level", default="info", choices=["debug", "info", "warn", "error"])
    add("--version", action="version", version=f"accelnet-agent {__version__}")
    return parser


class _JournalFormatter(logging.Formatter):
    """Under systemd, stderr goes to the journal: prefix the syslog priority, no timestamp."""

    PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.PRIORITIES.get(record.levelno, 6)}>{super().format(record)}"


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel({"warn": "WARNING"}.get(level, level.upper()))


def config_from_args(args: argparse.Namespace):
    import re

    from ..daemon import AgentConfig
    from ..webconfig import credential_web_config

    patterns = (
        ("--ethtool.device-include", args.ethtool_include),
        ("--ethtool.device-exclude", args.ethtool_exclude),
        ("--ethtool.metrics-include", args.ethtool_metrics_include),
        ("--ethtool.metrics-exclude", args.ethtool_metrics_exclude),
    )
    for flag, pattern in patterns:
        if pattern:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{flag}: bad regular expression {pattern!r}: {exc}") from None
    if not args.interval > 0:
        raise ValueError("--check.interval must be positive")
    drivers = tuple(d.strip() for d in args.synthetic_drivers.split(",") if d.strip())
    if not drivers:
        raise ValueError("--synthetic-drivers: empty list")
    return AgentConfig(
        listen=args.listen,
        telemetry_path=args.telemetry_path,
        web_config_file=args.web_config or credential_web_config(os.environ),
        snapshot=args.snapshot,
        synthetic_drivers=drivers,
        textfile=args.textfile,
        ethtool_include=args.ethtool_include,
        ethtool_exclude=args.ethtool_exclude,
        ethtool_metrics_include=args.ethtool_metrics_include,
        ethtool_metrics_exclude=args.ethtool_metrics_exclude,
        interval=args.interval,
        imds=not args.no_imds,
        imds_url=args.imds_url,
        events=not args.no_events,
    )


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    log = logging.getLogger("accelnet.agent")
    from ..daemon import Agent
    from ..errors import ParseError, SnapshotError
    from ..sdnotify import notify, watchdog_interval

    # Handlers first: a SIGTERM during start-up (systemd stopping a unit that is still
    # starting) must end in a clean exit, not the default action.
    stop = threading.Event()
    started = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: agent.reload() if started.is_set() else None)
    agent = None
    try:
        agent = Agent(config_from_args(args))
        agent.start()
        started.set()
    except Exception as exc:  # noqa: BLE001 - bad flags, snapshot, web config, address in use
        known = isinstance(exc, (ValueError, ParseError, SnapshotError, OSError))
        print(f"accelnet-agent: {exc if known else f'{type(exc).__name__}: {exc}'}", file=sys.stderr)
        if agent is not None:
            agent.stop()  # whatever had started (server, monitors) stops with it
        return EXIT_USAGE

    log.info("accelnet-agent %s serving on %s%s", __version__, agent.server.url, args.telemetry_path)
    notify("READY=1\nSTATUS=serving")

    interval = watchdog_interval()
    tick = interval if interval else 3600.0
    while not stop.wait(tick):
        # Only pet the watchdog while the refresh loop is alive: a stuck agent gets restarted.
        if interval and agent.healthy(max_age=agent.config.interval + 2 * tick + 60):
            notify("WATCHDOG=1")
    notify("STOPPING=1")
    log.info("stopping")
    agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
