"""``accelnet-agent``: the Prometheus exporter daemon (flags spelled like node_exporter's).

Exit status: 0 after a clean stop (or, with ``--once``/``--publish``, once the textfile is
written); 1 when ``--once`` or ``--publish`` cannot write the textfile; 2 for bad flags or a
failed start.
"""

import argparse
import logging
import os
import signal
import sys
import threading
from typing import List, Optional

from accelnet import __version__
from accelnet.cli.intentargs import add_intent_arguments

EXIT_WRITE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    from accelnet.agent.daemon import DEFAULT_PORT
    from accelnet.agent.logformat import FORMATS, LEVELS

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
    add("--textfile", metavar="PATH",
        help="also write the accelnet_* metrics atomically to PATH, a *.prom file in node_exporter's "
             "textfile collector directory (rewritten at every refresh)")
    add("--once", action="store_true",
        help="discover once, write --textfile and exit (for a systemd timer or cron); serves nothing")
    add("--publish", metavar="FILE",
        help="copy FILE, the metrics an unprivileged --once run wrote, to --textfile following no "
             "link, then exit (the root step of accelnet-agent-textfile.service)")
    add("--no-web", dest="no_web", action="store_true",
        help="serve no HTTP endpoint: run only to keep --textfile up to date")
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
    add_intent_arguments(parser)
    add("--log.level", dest="log_level", default="info", choices=list(LEVELS),
        help="only log messages of this severity or above (default info)")
    add("--log.format", dest="log_format", choices=list(FORMATS),
        help="log lines as node_exporter's: logfmt or json (default: plain text, which the journal "
             "stamps itself)")
    add("--version", action="version", version=f"accelnet-agent {__version__}")
    return parser


def setup_logging(level: str, fmt: Optional[str] = None) -> None:
    from accelnet.agent.logformat import make_formatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(fmt, journal=bool(os.environ.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel({"warn": "WARNING"}.get(level, level.upper()))


def config_from_args(args: argparse.Namespace):
    import re

    from accelnet.agent.daemon import AgentConfig
    from accelnet.agent.webconfig import credential_web_config

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
    if (args.once or args.no_web) and not args.textfile:
        raise ValueError(f"{'--once' if args.once else '--no-web'} needs --textfile PATH (the only output then)")
    if args.textfile and not args.textfile.endswith(".prom"):
        raise ValueError(f"--textfile {args.textfile}: the name must end in .prom "
                         "(node_exporter's textfile collector reads only *.prom files)")
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
        expect_an=args.expect_an,
        ignore_nics=tuple(args.ignore_nics),
        events=not args.no_events,
        web=not (args.no_web or args.once),
        once=args.once,
    )


def run_once(args: argparse.Namespace) -> int:
    """``--once``: one discovery, one textfile. 0 written, 1 not written, 2 bad flags/snapshot."""
    from accelnet.agent.daemon import Agent
    from accelnet.agent.textfile import TextfileError

    try:
        agent = Agent(config_from_args(args))
    except ValueError as exc:
        print(f"accelnet-agent: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        agent.run_once()
    except TextfileError as exc:
        print(f"accelnet-agent: {exc}", file=sys.stderr)
        return EXIT_WRITE
    except Exception as exc:  # noqa: BLE001 - unreadable snapshot, bad host: one line
        print(f"accelnet-agent: {_describe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        agent.stop()
    logging.getLogger("accelnet.agent").info("wrote %s", args.textfile)
    return 0


def run_publish(args: argparse.Namespace) -> int:
    """``--publish FILE``: FILE copied to --textfile. 0 published, 1 refused or not written,
    2 bad flags."""
    from accelnet.agent.textfile import TextfileError, publish_textfile

    if not args.textfile:
        print("accelnet-agent: --publish needs --textfile PATH (where to publish)", file=sys.stderr)
        return EXIT_USAGE
    try:
        publish_textfile(args.publish, args.textfile)
    except TextfileError as exc:
        print(f"accelnet-agent: {exc}", file=sys.stderr)
        return EXIT_WRITE
    logging.getLogger("accelnet.agent").info("published %s", args.textfile)
    return 0


def _describe(exc: BaseException) -> str:
    from accelnet.errors import ParseError, SnapshotError

    known = isinstance(exc, (ValueError, ParseError, SnapshotError, OSError))
    return str(exc) if known else f"{type(exc).__name__}: {exc}"


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    if args.publish:
        return run_publish(args)
    if args.once:
        return run_once(args)
    log = logging.getLogger("accelnet.agent")
    from accelnet.agent.daemon import Agent
    from accelnet.agent.sdnotify import notify, watchdog_interval

    # Handlers first: a SIGTERM during start-up (systemd stopping a unit that is still
    # starting) must end in a clean exit, not the default action.
    stop = threading.Event()
    started = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    agent: Optional[Agent] = None
    signal.signal(signal.SIGHUP, lambda *_: agent.reload() if started.is_set() and agent is not None else None)
    try:
        agent = Agent(config_from_args(args))
        agent.start()
        started.set()
    except Exception as exc:  # noqa: BLE001 - bad flags, snapshot, web config, address in use
        print(f"accelnet-agent: {_describe(exc)}", file=sys.stderr)
        if agent is not None:
            agent.stop()  # whatever had started (server, monitors) stops with it
        return EXIT_USAGE

    if agent.server is not None:
        log.info("accelnet-agent %s serving on %s%s", __version__, agent.server.url, args.telemetry_path)
        notify("READY=1\nSTATUS=serving")
    else:
        log.info("accelnet-agent %s writing %s every %gs (no web endpoint)", __version__, args.textfile, args.interval)
        notify(f"READY=1\nSTATUS=writing {args.textfile}")

    interval = watchdog_interval()
    tick = interval if interval else 3600.0
    max_age = agent.config.interval + 2 * tick + 60
    while not stop.wait(tick):
        # WATCHDOG=1 vouches for a refresh that succeeded lately (heartbeat moves only after
        # one): an agent whose refreshes hang or keep failing gets restarted by systemd.
        if interval and agent.healthy(max_age=max_age):
            notify("WATCHDOG=1")
    notify("STOPPING=1")
    log.info("stopping")
    agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
