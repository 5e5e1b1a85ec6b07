"""argparse types the commands share."""

import argparse
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
