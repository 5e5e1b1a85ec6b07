"""Regular expressions compiled when first used, not when their module is imported.

Why: ``accelnet-check`` is a one-shot command, so compiling a pattern it never runs is pure
start-up cost. The driver log's classifying patterns wait for a line of a VF driver, the
kernel log's for a captured log, lspci's for the format it was given; compiled at import,
the ones a diagnosis did not run were ~3 ms of a 70 ms snapshot check (Python 3.13). A :class:`LazyPattern` is declared
where ``re.compile`` was and used as a compiled pattern is.

Once compiled, ``match``, ``search`` and the others are the compiled pattern's own methods,
stored in the instance's dict, where they hide the class's: a call then costs what it costs on
``re``'s pattern, with no Python call in between. That matters in the per-line loops of a
kernel log (tens of thousands of lines, four patterns a line), which the wrapping methods made
a third slower on Python 3.13 and half on 3.6. (No ``__getattr__``: a class with one has every
attribute read go through it, which costs as much again on Python 3.6.)
"""

import re
import sys
from typing import Callable, Iterator, List, Match, Optional, Pattern, Union

__all__ = ["LazyPattern"]

#: The methods of a compiled pattern a LazyPattern answers with directly once it is compiled.
_METHODS = ("match", "fullmatch", "search", "finditer", "findall", "sub")


class LazyPattern:
    """``re.compile(source, flags)``, done on the first match, search or substitution."""

    # __dict__ only for the compiled pattern's methods: made on the first use, not at import.
    __slots__ = ("_source", "_flags", "_compiled", "__dict__")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled = None  # type: Optional[Pattern[str]]

    @property
    def compiled(self) -> "Pattern[str]":
        compiled = self._compiled
        if compiled is None:
            compiled = re.compile(self._source, self._flags)
            self.__dict__.update((name, getattr(compiled, name)) for name in _METHODS)
            self._compiled = compiled
        return compiled

    @property
    def pattern(self) -> str:
        return self._source

    # Used until the first compile (or by a thread racing it); then hidden by the instance's.
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
