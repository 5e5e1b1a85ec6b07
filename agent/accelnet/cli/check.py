"""``accelnet-check``: one-shot diagnosis of this host or of a captured snapshot.

Exit status follows the Nagios plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), so
the command drops into any monitoring system as it is. Heavy modules are imported only on the
path that needs them: a support engineer runs this many times in a row.
"""

import argparse
import json
import os
import sys
from typing import List, Optional

from .. import __version__
from ..errors import SnapshotError, Terminated

EXIT_UNKNOWN = 3


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments; for a Nagios plugin that would read CRITICAL."""

    def error(self, message: str) -> "None":  # type: ignore[override]
        self.exit(EXIT_UNKNOWN, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="accelnet-check",
        description="Diagnose Azure Accelerated Networking on this VM (or on a captured snapshot).",
    )
    parser.add_argument("--snapshot", metavar="PATH", help="diagnose a captured host (directory or .tar.gz) instead of this one")
    parser.add_argument("--json", action="store_true", help="print the JSON report (schema 1) and nothing else")
    parser.add_argument("--collect", metavar="FILE.tar.gz", help="capture this host as a snapshot (support bundle, mode 0600), then diagnose it")
    parser.add_argument("--force", action="store_true", help="with --collect: overwrite FILE.tar.gz if it exists")
    parser.add_argument(
        "--sample-seconds", type=_seconds, default=2.0, metavar="N",
        help="read the counters twice, N seconds apart (default 2; 0 = read once)",
    )
    parser.add_argument("--imds-url", metavar="URL", help="Azure Instance Metadata Service URL (asked only when DMI says Azure)")
    parser.add_argument("--no-imds", action="store_true", help="never ask the Instance Metadata Service")
    parser.add_argument(
        "--synthetic-drivers", default="hv_netvsc", metavar="LIST",
        help="comma-separated drivers whose interfaces are synthetic NICs (default hv_netvsc)",
    )
    parser.add_argument("--version", action="version", version=f"accelnet-check {__version__}")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 3600 or value != value:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600: {text!r}")
    return value


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.snapshot and args.collect:
        return _fail("--snapshot and --collect exclude each other")
    try:
        return _run(args)
    except SnapshotError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except Terminated as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - a monitoring plugin answers UNKNOWN, not a traceback
        if os.environ.get("ACCELNET_DEBUG"):
            raise
        return _fail(f"internal error ({type(exc).__name__}: {exc}); set ACCELNET_DEBUG=1 for details")


def _run(args: argparse.Namespace) -> int:
    from ..facts import Options

    drivers = tuple(d.strip() for d in args.synthetic_drivers.split(",") if d.strip())
    options = Options(sample_seconds=args.sample_seconds, imds=not args.no_imds, synthetic_drivers=drivers or ("hv_netvsc",))
    if args.snapshot:
        from ..snapshot import open_snapshot

        with open_snapshot(args.snapshot) as host:
            return _diagnose(host, options, args.json)
    from ..live import live_host
    from ..platform import IMDS_DEFAULT_URL

    host = live_host(args.imds_url or IMDS_DEFAULT_URL)
    if args.collect:
        from ..collect import BundleExists, collect

        try:
            summary = collect(host, args.collect, options, force=args.force)
        except BundleExists as exc:
            print(f"UNKNOWN: {exc}")
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"cannot write {args.collect}: {exc}")
        from ..snapshot import open_snapshot

        print(summary.describe(), file=sys.stderr)
        with open_snapshot(args.collect) as snap:
            return _diagnose(snap, options, args.json)
    return _diagnose(host, options, args.json)


def _diagnose(host, options, as_json: bool) -> int:
    from ..diagnosis import diagnose
    from ..report import exit_code, render_text, use_colour

    report = diagnose(host, options)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=False) + "\n")
    else:
        sys.stdout.write(render_text(report, colour=use_colour(sys.stdout)))
    return exit_code(report)


def _fail(message: str) -> int:
    print(f"accelnet-check: {message}", file=sys.stderr)
    return EXIT_UNKNOWN


if __name__ == "__main__":
    sys.exit(main())
