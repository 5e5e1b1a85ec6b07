"""``accelnet-check``: one-shot diagnosis of this host or of a captured snapshot.

A monitoring plugin (monitoring-plugins guidelines, Nagios/Icinga/NRPE): the exit status is
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, and stdout's first line is the verdict,
``STATUS: summary | perfdata``. Every way of not reaching a verdict (bad arguments, an
unreadable snapshot, the ``--timeout``, an internal error, a signal) still prints an
``UNKNOWN: …`` first line and exits 3; with ``--json`` it prints a report with status
``unknown`` instead. Heavy modules are imported only on the path that needs them: a support
engineer runs this many times in a row.
"""

import argparse
import json
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, TextIO, TypeVar

from accelnet import __version__
from accelnet.cli.argtypes import help_formatter
from accelnet.cli.intentargs import add_intent_arguments
from accelnet.errors import SnapshotError, Terminated

if TYPE_CHECKING:  # the readers are imported on the path that needs them
    from typing import NoReturn  # 3.6.2+ only: named as a string where used

    from accelnet.readers.host import Host

T = TypeVar("T")

EXIT_UNKNOWN = 3
DEFAULT_TIMEOUT_S = 30.0
#: Sampling longer than this on a terminal shows a countdown on stderr.
PROGRESS_AFTER_S = 1.0


class Failure(Exception):
    """A run that cannot reach a verdict; the message becomes the UNKNOWN line."""


class Interrupted(BaseException):
    """--timeout expired (SIGALRM) or SIGTERM arrived: raised by the signal handler wherever
    the run is. A BaseException, so that no ``except Exception`` on the way swallows it."""


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments; for a monitoring plugin that would read CRITICAL."""

    def error(self, message: str) -> "NoReturn":
        self.print_usage(sys.stderr)
        raise Failure(f"bad arguments: {message}")

    def exit(self, status: int = 0, message: Optional[str] = None) -> "NoReturn":
        """-h and -V end here: the monitoring-plugins guidelines have a plugin exit UNKNOWN
        (3) after either, since it diagnosed nothing."""
        if message:
            self._print_message(message, sys.stderr)
        sys.exit(EXIT_UNKNOWN if status == 0 else status)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="accelnet-check",
        description="Diagnose Azure Accelerated Networking on this VM (or on a captured snapshot).",
        formatter_class=help_formatter,
    )
    parser.add_argument("--snapshot", metavar="PATH", help="diagnose a captured host (directory or .tar.gz) instead of this one")
    parser.add_argument("--json", action="store_true", help="print the JSON report (schema 1) and nothing else")
    parser.add_argument("--collect", metavar="FILE.tar.gz", help="capture this host as a snapshot (support bundle, mode 0600), then diagnose it")
    parser.add_argument("--force", action="store_true", help="with --collect: overwrite FILE.tar.gz if it exists")
    parser.add_argument(
        "--sample-seconds", type=_seconds, default=2.0, metavar="N",
        help="read the counters twice, N seconds apart (default 2; 0 = read once)",
    )
    parser.add_argument(
        "-t", "--timeout", type=_timeout, default=None, metavar="SECONDS",
        help=f"give up with UNKNOWN after SECONDS (default {DEFAULT_TIMEOUT_S:g} plus --sample-seconds; 0 = never)",
    )
    parser.add_argument("--imds-url", metavar="URL", help="Azure Instance Metadata Service URL (asked only when DMI says Azure)")
    parser.add_argument("--no-imds", action="store_true", help="never ask the Instance Metadata Service")
    parser.add_argument(
        "--synthetic-drivers", default="hv_netvsc", metavar="LIST",
        help="comma-separated drivers whose interfaces are synthetic NICs (default hv_netvsc)",
    )
    add_intent_arguments(parser)
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="more detail: each check's evidence and the whole VF history; twice: also each stage of the run on stderr",
    )
    parser.add_argument("-V", "--version", action="version", version=f"accelnet-check {__version__}")
    parser.add_argument(
        "--watch", nargs="?", type=_interval, const=1.0, default=None, metavar="SECONDS",
        help="live per-NIC view (VF and synthetic traffic per second, drops, data path, VF events) "
        "every SECONDS (default 1) until Ctrl-C (exit 0): redrawn in place on a terminal, one line "
        "per interval into a pipe, JSON lines with --json; --timeout ends it after that long",
    )
    return parser


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value != value:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def _seconds(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600: {text!r}")
    return value


def _interval(text: str) -> float:
    value = _number(text)
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0.1 and 3600: {text!r}")
    return value


def _timeout(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400: {text!r}")
    return value


class _Stage:
    """What the run is doing now, so that a timeout says where it struck; with ``-vv`` each
    stage is also written to ``trace`` as it starts, with the time since the run began."""

    def __init__(self, trace: Optional[TextIO] = None) -> None:
        self.trace = trace
        self._started = time.monotonic()
        self._name = "starting"

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value
        if self.trace is not None:
            from accelnet.diagnosis.safetext import safe_text

            self.trace.write(f"accelnet-check: +{time.monotonic() - self._started:.3f} s {safe_text(value, keep_pipes=True)}\n")
            self.trace.flush()

    def wrap(self, what: Callable[..., str], fn: Callable[..., T]) -> Callable[..., T]:
        def staged(*args, **kwargs):
            previous, self.name = self.name, what(*args)
            try:
                return fn(*args, **kwargs)
            finally:
                self.name = previous
        return staged


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    stage = _Stage()
    restore = _install_signals(stage)
    try:
        try:
            args = build_parser().parse_args(argv)
            if args.watch is not None:
                return _watch(args)
            if args.verbose >= 2:
                stage.trace = sys.stderr
            if args.timeout is None:
                args.timeout = DEFAULT_TIMEOUT_S + args.sample_seconds
            _arm_timeout(args.timeout)
            return _run(args, stage)
        finally:
            _arm_timeout(0)
    except (Failure, Interrupted) as exc:
        return _fail(str(exc), as_json)
    except SnapshotError as exc:
        return _fail(str(exc), as_json)
    except KeyboardInterrupt:
        return _fail(f"interrupted while {stage.name}", as_json)
    except Terminated as exc:
        return _fail(str(exc), as_json)
    except Exception as exc:  # noqa: BLE001 - a monitoring plugin answers UNKNOWN, not a traceback
        if os.environ.get("ACCELNET_DEBUG"):
            raise
        return _fail(f"internal error while {stage.name} ({type(exc).__name__}: {exc}); "
                     "set ACCELNET_DEBUG=1 for details", as_json)
    finally:
        restore()


def _install_signals(stage: _Stage) -> Callable[[], None]:
    """SIGALRM is the --timeout, SIGTERM ends the run as a failure: both raise where the
    run is, so every ``finally`` (temporary directories, a half-written bundle) runs."""

    def on_alarm(_signum, _frame):
        raise Interrupted(f"timed out after {_Timeout.seconds:g} s while {stage.name}")

    def on_term(_signum, _frame):
        raise Interrupted(f"terminated by SIGTERM while {stage.name}")

    try:
        previous = {sig: signal.signal(sig, handler) for sig, handler in ((signal.SIGALRM, on_alarm), (signal.SIGTERM, on_term))}
    except ValueError:  # not the main thread: no signals, and so no timeout
        return lambda: None

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


class _Timeout:
    """The --timeout armed now, for the message when it strikes."""

    seconds = 0.0


def _arm_timeout(seconds: float) -> None:
    _Timeout.seconds = seconds
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    except ValueError:
        pass


def _run(args: argparse.Namespace, stage: _Stage) -> int:
    from accelnet.diagnosis.facts import Options

    if args.snapshot and args.collect:
        raise Failure("--snapshot and --collect exclude each other")
    if args.timeout and args.sample_seconds >= args.timeout and not args.snapshot:
        raise Failure(f"--sample-seconds {args.sample_seconds:g} does not fit in --timeout {args.timeout:g}")
    drivers = tuple(d.strip() for d in args.synthetic_drivers.split(",") if d.strip())
    options = Options(sample_seconds=args.sample_seconds, imds=not args.no_imds, synthetic_drivers=drivers or ("hv_netvsc",),
                      expect_an=args.expect_an, ignore_nics=tuple(args.ignore_nics))
    if args.snapshot:
        from accelnet.readers.snapshot import open_snapshot

        stage.name = f"opening snapshot {args.snapshot}"
        with open_snapshot(args.snapshot) as host:
            return _diagnose(host, options, args, stage)
    from accelnet.readers.platform import IMDS_DEFAULT_URL

    host = _live_host(args.imds_url or IMDS_DEFAULT_URL, stage)
    if args.collect:
        from accelnet.readers.collect import BundleExists, collect

        stage.name = f"writing {args.collect}"
        try:
            summary = collect(host, args.collect, options, force=args.force)
        except BundleExists as exc:
            raise Failure(str(exc)) from None
        except OSError as exc:
            raise Failure(f"cannot write {args.collect}: {exc}") from None
        from accelnet.readers.snapshot import open_snapshot

        print(summary.describe(), file=sys.stderr)
        with open_snapshot(args.collect) as snap:
            return _diagnose(snap, options, args, stage)
    return _diagnose(host, options, args, stage)


def _watch(args: argparse.Namespace) -> int:
    """--watch: until Ctrl-C, SIGTERM or a closed pipe (exit 0), or --timeout seconds; nothing
    to diagnose."""
    from accelnet.cli import watch

    if args.collect:
        raise Failure("--watch and --collect exclude each other")
    drivers = tuple(d.strip() for d in args.synthetic_drivers.split(",") if d.strip()) or ("hv_netvsc",)
    terminal = _is_tty(sys.stdout)
    from accelnet.diagnosis.report import use_colour

    screen = watch.Screen(sys.stdout, terminal and not args.json, use_colour(sys.stdout) and not args.json,
                          args.json, args.watch)
    try:
        if args.snapshot:
            from accelnet.readers.snapshot import open_snapshot

            with open_snapshot(args.snapshot) as host:
                return watch.frozen(host, drivers, screen)
        from accelnet.readers.live import live_host

        return watch.live(live_host(), drivers, screen, args.watch, duration=args.timeout or None)
    except (KeyboardInterrupt, Interrupted):
        return 0
    except BrokenPipeError:  # the reader went away (`| head`): the watch is over, as on Ctrl-C
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 0


def _live_host(imds_url: str, stage: _Stage) -> "Host":
    """This host, every capture and the sampling named as stages (for the timeout message),
    with a countdown on a terminal while sampling lasts long enough to look stuck."""
    from functools import partial

    from accelnet.readers.live import live_host, producer, sample_ethtool

    wait = _progress_wait if _is_tty(sys.stderr) else time.sleep
    return live_host(
        produce=stage.wrap(lambda name: f"reading {name}", producer(imds_url)),
        sampler=stage.wrap(lambda names, interval: f"sampling counters ({interval:g} s)",
                           partial(sample_ethtool, wait=wait)),
    )


def _is_tty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _progress_wait(seconds: float) -> None:
    """time.sleep with a countdown on stderr (a terminal): sampling for several seconds must
    not look like a hang."""
    if seconds <= PROGRESS_AFTER_S:
        time.sleep(seconds)
        return
    end = time.monotonic() + seconds
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            sys.stderr.write(f"\raccelnet-check: sampling counters, {left:4.0f} s left ")
            sys.stderr.flush()
            time.sleep(min(1.0, left))
    finally:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _diagnose(host, options, args: argparse.Namespace, stage: _Stage) -> int:
    from accelnet.diagnosis.checks import run_checks
    from accelnet.diagnosis.facts import gather
    from accelnet.diagnosis.report import build_report, exit_code, render_text, synthetic_packets, use_colour

    stage.name = "reading the host"
    facts = gather(host, options)
    stage.name = "diagnosing"
    report = build_report(facts, run_checks(facts))
    # The verdict is reached: printing it, and removing an unpacked snapshot after it (200,000
    # members take a while), are not timed, or a second status line would follow the first.
    _arm_timeout(0)
    if args.json:
        _write(json.dumps(report, indent=2, sort_keys=False) + "\n")
    else:
        _write(render_text(report, colour=use_colour(sys.stdout), synthetic=synthetic_packets(facts),
                           terminal=_is_tty(sys.stdout), verbose=args.verbose))
    return exit_code(report)


def _write(text: str) -> None:
    """stdout in the stream's own encoding; what it cannot encode (Python 3.6 under LANG=C,
    as Nagios often runs plugins, is ASCII) is written as backslash escapes, never a crash."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text = text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        pass
    sys.stdout.write(text)
    sys.stdout.flush()


def _fail(message: str, as_json: bool) -> int:
    """The UNKNOWN answer: a first line on stdout (a report under --json, the message also on
    stderr then), exit 3."""
    from accelnet.diagnosis.report import status_line, unknown_report
    from accelnet.diagnosis.status import UNKNOWN

    message = f"accelnet-check: {message}"
    if as_json:
        from accelnet.diagnosis.safetext import safe_text

        print(safe_text(message, keep_pipes=True), file=sys.stderr)
        _write(json.dumps(unknown_report(message), indent=2) + "\n")
    else:
        _write(status_line(UNKNOWN, message, keep_pipes=_is_tty(sys.stdout)) + "\n")
    return EXIT_UNKNOWN


if __name__ == "__main__":
    sys.exit(main())
