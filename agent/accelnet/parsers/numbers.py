"""Numbers in untrusted text (a bundle's files, names in a directory, IMDS values).

``int()`` alone is not a parser for them: it takes any script's digits (``"٣"``) but not
every character ``str.isdigit`` calls a digit (``"²"`` raises), it is quadratic in the length
of its input before Python 3.11 and refuses more than 4,300 digits after. Here a number is
ASCII digits, few of them once leading zeros are set aside, or it is not a number.
"""

import re
from typing import Optional

#: A 64-bit counter has 20 digits.
MAX_DIGITS = 20

_DIGITS = re.compile(r"[0-9]+\Z")


def decimal(text: str, max_digits: int = MAX_DIGITS) -> Optional[int]:
    """The value of ``text`` when it is ASCII digits with at most ``max_digits`` significant
    ones; None otherwise (empty, a sign, spaces, other scripts, too long)."""
    if not _DIGITS.match(text):
        return None
    significant = text.lstrip("0")
    if len(significant) > max_digits:
        return None
    return int(significant or "0")
