"""Regular expressions compiled when first used, not when their module is imported.

Why: ``accelnet-check`` is a one-shot command, so compiling a pattern it never runs is pure
start-up cost. The driver log's classifying patterns wait for a line of a VF driver, the
kernel log's for a captured log, lspci's for the format it was given; compiled at import,
the ones a diagnosis did not run were ~3 ms of a 70 ms snapshot check (Python 3.13). A :class:`LazyPattern` is declared
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
