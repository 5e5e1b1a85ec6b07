"""argparse types the commands share."""

import argparse
import os
import sys
from typing import Callable, TypeVar

N = TypeVar("N", int, float)


def number_in(convert: Callable[[str], N], low: N, high: N,
              unit: str = "") -> Callable[[str], N]:
    """A number from ``low`` to ``high``, else argparse's usage error saying so (NaN is in no
    range, so it is refused as well)."""
    def parse(value: str) -> N:
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"give {low:g} to {high:g}{unit}")
        return number
    return parse


def help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's help formatter, told the terminal's width.

    argparse makes a formatter for every ``add_argument`` (to check its metavar), and a
    formatter left to find the width itself imports ``shutil`` (and with it bz2, lzma and
    fnmatch): a millisecond or two of every run of a one-shot command, for help text it
    rarely prints. The width comes from where shutil.get_terminal_size looks: ``COLUMNS``,
    then standard output's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return argparse.HelpFormatter(prog, width=(columns or 80) - 2)
