"""Error types shared by the parsers and readers.

Every parser raises a subclass of :class:`ParseError` (and nothing else) on input it cannot
read, so callers can turn any bad input into an ``unknown`` finding with one ``except``.
"""


class ParseError(ValueError):
    """Input that a pure parser cannot make sense of."""


class SnapshotError(Exception):
    """A snapshot that cannot be opened at all (missing, not a snapshot, unsafe archive)."""


class Terminated(BaseException):
    """SIGTERM arrived while temporary files were ours (an unpacked snapshot): unwinds, so
    every ``finally`` cleans up, past each ``except Exception`` of the diagnosis."""
