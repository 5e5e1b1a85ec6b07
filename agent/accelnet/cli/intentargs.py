"""The intent flags, spelt the same for ``accelnet-check`` and ``accelnet-agent``.

``--expect-an on|off`` declares the whole VM, ``--ignore-nic NAME|MAC`` (repeatable) leaves a
NIC out of every check; both override /etc/accelnet/accelnet.conf, which overrides the VM tag
``accelnet``. An NRPE command line is where a check's flags live, so they are here too.
"""

import argparse

from accelnet.parsers.intent import EXPECT_VALUES, IntentError, nic_selector


def _nic(text: str) -> str:
    try:
        return nic_selector(text)
    except IntentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_intent_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expect-an", dest="expect_an", choices=EXPECT_VALUES, metavar="on|off",
        help="declare Accelerated Networking on or off on purpose on this VM (overrides "
             "/etc/accelnet/accelnet.conf and the VM tag accelnet)",
    )
    parser.add_argument(
        "--ignore-nic", dest="ignore_nics", action="append", default=[], type=_nic, metavar="NAME|MAC",
        help="leave this NIC (interface name or MAC) out of every check; repeatable",
    )
