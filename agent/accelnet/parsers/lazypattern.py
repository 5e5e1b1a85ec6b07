"""Regular expressions compiled when first used, not when their module is imported.

Why: ``accelnet-check`` is a one-shot command, so compiling a pattern it never runs is pure
start-up cost. A healthy host never runs the sixteen failure patterns of the driver log, nor
the kernel log's when no log was captured, nor lspci's for a format it was not given; compiled
at import they cost about a tenth of a snapshot diagnosis. A :class:`LazyPattern` is declared
where ``re.compile`` was and used as a compiled pattern is; a loop over many lines takes
:attr:`LazyPattern.compiled` once, outside the loop.
"""

import re
import sys
from typing import Callable, Iterator, List, Match, Optional, Pattern, Union

__all__ = ["LazyPattern"]


class LazyPattern:
    """``re.compile(source, flags)``, done on the first match, search or substitution."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled = None  # type: Optional[Pattern[str]]

    @property
    def compiled(self) -> "Pattern[str]":
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._source, self._flags)
        return compiled

    @property
    def pattern(self) -> str:
        return self._source

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> "Optional[Match[str]]":
        return self.compiled.match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> "Optional[Match[str]]":
        return self.compiled.fullmatch(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> "Optional[Match[str]]":
        return self.compiled.search(string, pos, endpos)

    def finditer(self, string: str) -> "Iterator[Match[str]]":
        return self.compiled.finditer(string)

    def findall(self, string: str) -> List[object]:
        return self.compiled.findall(string)

    def sub(self, repl: "Union[str, Callable[[Match[str]], str]]", string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count)

    def __repr__(self) -> str:
        return "LazyPattern(%r, %d)" % (self._source, self._flags)
