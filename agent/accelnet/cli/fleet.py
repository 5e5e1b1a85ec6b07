"""accelnet-fleet: diagnose Accelerated Networking on many VMs at once, through Run Command.

Read-only: it lists VMs, reads what Azure says of each and runs a diagnosis script on each
running Linux VM through Azure Run Command (accelnet-check where it is installed, else the
POSIX collector, whose reduced bundle is diagnosed here); it starts, stops or changes nothing.

Exit status (Nagios): the worst verdict, 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also when a
VM could not be diagnosed, and when no VM could be asked at all or the arguments are bad, and
when the run is interrupted: Ctrl-C, SIGTERM or SIGHUP end the az calls in flight, and the
table still says what was found).
"""

import argparse
import json
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, TextIO

from accelnet import __version__
from accelnet import records
from accelnet.cli.argtypes import number_in

if TYPE_CHECKING:
    from typing import NoReturn  # 3.6.2+ only: named as a string where used

EXIT_UNKNOWN = 3
EXAMPLE = ("examples:\n"
           "  accelnet-fleet -g myResourceGroup\n"
           "  accelnet-fleet -g myResourceGroup --vm web1 web2 --json\n"
           "  accelnet-fleet -g myResourceGroup --vmss myScaleSet --max-parallel 16 --csv > fleet.csv\n")


class BadArguments(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> "NoReturn":
        raise BadArguments(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    from accelnet.fleet.ask import DEFAULT_PARALLEL, DEFAULT_TIMEOUT_S

    parser = _Parser(prog="accelnet-fleet", description=__doc__, epilog=EXAMPLE,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-g", "--resource-group", required=True, metavar="NAME")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--vm", nargs="+", action="append", default=[], metavar="NAME",
                        help="only these VMs (default: every VM of the group)")
    target.add_argument("--vmss", metavar="NAME",
                        help="the instances of this scale set (Uniform or Flexible)")
    parser.add_argument("--subscription", metavar="ID",
                        help="subscription id or name for every az call (default: az's default, "
                        "read once and pinned)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON document on stdout")
    output.add_argument("--csv", action="store_true", help="one CSV row per VM on stdout")
    parser.add_argument("--max-parallel", type=number_in(int, 1, 64), default=DEFAULT_PARALLEL,
                        metavar="N", help=f"VMs asked at once (default {DEFAULT_PARALLEL}; 1 = one after "
                        "the other)")
    parser.add_argument("--timeout", type=number_in(float, 5.0, 7200.0), default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"per VM, all its az calls included (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--sample-seconds", type=number_in(float, 0.0, 60.0), default=2.0, metavar="N",
                        help="counter sampling on each VM (default 2)")
    parser.add_argument("--version", action="version", version=f"accelnet-fleet (accelnet) {__version__}")
    return parser


class Progress:
    """One line on stderr (a terminal only), rewritten as VMs are asked and answer."""

    def __init__(self, stream: TextIO, total: int, enabled: bool) -> None:
        self.stream, self.total, self.enabled = stream, total, enabled
        self.running = self.done = self.without = 0
        self._lock = threading.Lock()

    def start(self, _target: object) -> None:
        with self._lock:
            self.running += 1
            self._show()

    def finish(self, result: Any) -> None:
        with self._lock:
            self.running -= 1
            self.done += 1
            self.without += result.verdict is None
            self._show()

    def _show(self) -> None:
        if self.enabled:
            self.stream.write(f"\r\033[Kaccelnet-fleet: {self.done}/{self.total} answered, "
                              f"{self.running} being asked, {self.without} without a verdict")
            self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _isatty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _validated(args: argparse.Namespace) -> List[str]:
    from accelnet.provision.names import check_name, check_subscription

    check_name("resource_group", args.resource_group)
    if args.subscription is not None:
        check_subscription(args.subscription)
    if args.vmss is not None:
        check_name("vmss", args.vmss)
    names = list(dict.fromkeys(n for group in args.vm for n in group))
    for name in names:
        check_name("vm", name)
    return names


def run(argv: Optional[Sequence[str]], out: TextIO, err: TextIO, cli: Any = None) -> int:
    """The command. ``cli``: the AzCli to use (tests pass one with their spawn); default
    make_cli() (ACCELNET_AZ_* environment values)."""
    from accelnet.diagnosis.status import UNKNOWN
    from accelnet.provision.errors import ProvisionError

    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv

    def refuse(message: str) -> int:
        err.write(f"accelnet-fleet: {message}\n")
        if as_json:
            out.write(json.dumps({"schema": 1, "read_only": True, "status": UNKNOWN,
                                  "exit_status": EXIT_UNKNOWN, "error": message, "vms": []}, indent=2) + "\n")
        return EXIT_UNKNOWN

    try:
        args = build_parser().parse_args(argv)
        names = _validated(args)
    except (BadArguments, ProvisionError) as exc:
        return refuse(str(exc))
    from accelnet.diagnosis.facts import Options
    from accelnet.fleet import render
    from accelnet.fleet.ask import Fleet, Interrupted, Settings
    from accelnet.fleet.payload import PayloadError, find_collector, read_collector
    from accelnet.fleet.processes import AzProcesses
    from accelnet.provision.azcli import make_cli
    from accelnet.provision.reader import Reader

    processes = AzProcesses()
    cli = cli or make_cli()
    if cli.spawn is None:  # az as processes: those in flight are ended on an interrupt
        cli = records.replace(cli, spawn=processes.spawn)
    collector_path = find_collector()
    try:
        collector = read_collector(collector_path) if collector_path else None
    except (OSError, PayloadError) as exc:
        return refuse(f"cannot read {collector_path}: {exc}")
    if collector is None:
        err.write("accelnet-fleet: warning: accelnet-collect not found: VMs without accelnet "
                  "installed will say so instead of a verdict\n")
    err.write(f"accelnet-fleet: {render.READ_ONLY}\n")
    settings = Settings(timeout=args.timeout, sample_seconds=args.sample_seconds,
                        max_parallel=args.max_parallel, options=Options())
    fleet = Fleet(cli, settings, collector, stop_calls=processes.stop)
    try:
        cli.resolve()
        cli.subscription = Reader(cli).subscription(args.subscription)
        targets = fleet.targets(args.resource_group, names, args.vmss)
    except (ProvisionError, ValueError) as exc:  # ParseError (bad az output) is a ValueError
        return refuse(f"nothing asked: {exc}")
    if not targets:
        return refuse("nothing asked: no VM found" + (f" in scale set {args.vmss}" if args.vmss else
                                                      f" in resource group {args.resource_group}"))
    progress = Progress(err, len(targets), _isatty(err))
    interrupted = False
    try:
        results = fleet.run(targets, on_done=progress.finish, on_start=progress.start)
    except Interrupted as exc:
        results, interrupted = exc.results, True
    finally:
        progress.clear()
    if fleet.aborted:
        err.write(f"accelnet-fleet: stopped asking: {fleet.aborted}\n")
    try:
        if args.json:
            doc = render.document(results, args.resource_group, args.vmss, cli.subscription)
            out.write(json.dumps(doc, indent=2) + "\n")
        elif args.csv:
            out.write(render.csv_text(results))
        else:
            out.write(_encodable(render.text(results), out))
        out.flush()
    except BrokenPipeError:  # the reader went away (`| head`): it had what it wanted
        _discard_output(out)
    if interrupted:
        err.write("accelnet-fleet: interrupted: the VMs not asked, and those whose answer was still "
                  "awaited, are marked so\n")
    return render.exit_status(results)


def _encodable(text: str, stream: TextIO) -> str:
    """What the stream's encoding can print (LANG=C on Python 3.6 is ASCII): the rest as
    backslash escapes, never a crash."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text


def _discard_output(stream: TextIO) -> None:
    """Nothing more reaches a closed pipe, not even the interpreter's flush at exit (which
    would print a BrokenPipeError of its own)."""
    try:
        fileno = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.StringIO and such: nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


def _interrupt(signum: int, _frame: Any) -> None:
    """SIGTERM and SIGHUP (a closed ssh session) end the run as Ctrl-C does: the calls in
    flight ended, the table printed, exit 3."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Optional[Sequence[str]] = None) -> int:
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return run(argv, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write("accelnet-fleet: interrupted\n")
        return EXIT_UNKNOWN
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if isinstance(exc.code, int) else 0
    except Exception as exc:  # noqa: BLE001 - a plugin answers UNKNOWN, not a traceback
        if os.environ.get("ACCELNET_DEBUG"):
            raise
        sys.stderr.write(f"accelnet-fleet: internal error ({type(exc).__name__}: {exc}); "
                         "set ACCELNET_DEBUG=1 for details\n")
        return EXIT_UNKNOWN
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
