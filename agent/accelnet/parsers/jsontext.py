"""JSON text from untrusted places (an IMDS answer, a bundle's snapshot.json or imds.json).

``json.loads`` alone is not bounded: nesting 60,000 deep raises RecursionError (not
ValueError), a number of 5,000 digits is refused on Python >= 3.11 and costs quadratic time
before it, and a megabyte of ``[{},{},…]`` is a third of a million objects. Here every
failure is a :class:`JsonTextError` naming what was read, numbers are short, and the
arrays and objects are counted before anything is built.
"""

import json

from accelnet.errors import ParseError

#: Arrays and objects in one document (the IMDS instance document has a few dozen).
MAX_JSON_CONTAINERS = 10_000
#: Characters of one number (a 64-bit integer has 20 digits).
MAX_NUMBER_CHARS = 40


class JsonTextError(ParseError):
    """Text that is not JSON, or JSON beyond what a real document holds."""


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters")
    return float(text)


def _constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def load_json(text: str, what: str) -> object:
    """The JSON value of ``text``; JsonTextError (saying ``what``) for anything else."""
    if text.count("[") + text.count("{") > MAX_JSON_CONTAINERS:
        raise JsonTextError(f"{what} holds more than {MAX_JSON_CONTAINERS} arrays and objects")
    try:
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise JsonTextError(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise JsonTextError(f"{what} is not valid JSON: {exc}") from None
