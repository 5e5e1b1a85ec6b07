"""How a source of facts fared (IMDS, the kernel log): a kind a program can test, and a detail
for people. Its text (``not asked: not an Azure VM``, ``unreadable: …``) is what reports and
evidence show; code asks the kind, never the text.
"""

import enum

from accelnet.records import dataclass


class SourceKind(enum.Enum):
    OK = "ok"
    NOT_ASKED = "not asked"        # on purpose: not Azure, or DMI cannot tell
    DISABLED = "disabled"          # the user said not to (--no-imds)
    UNAVAILABLE = "unavailable"    # asked on the live host, no answer
    NOT_CAPTURED = "not captured"  # a bundle without it
    UNREADABLE = "unreadable"      # there, but not understood or not permitted


@dataclass(frozen=True)
class SourceState:
    kind: SourceKind
    detail: str = ""

    @property
    def text(self) -> str:
        """``kind``, ``kind: detail``, or for a source turned off, ``disabled (--no-imds)``."""
        if not self.detail:
            return self.kind.value
        if self.kind is SourceKind.DISABLED:
            return f"{self.kind.value} ({self.detail})"
        return f"{self.kind.value}: {self.detail}"

    @property
    def asked(self) -> bool:
        """Whether the source was asked at all (not when off on purpose)."""
        return self.kind not in (SourceKind.NOT_ASKED, SourceKind.DISABLED)

    @property
    def ok(self) -> bool:
        return self.kind is SourceKind.OK


SOURCE_OK = SourceState(SourceKind.OK)
NOT_ASKED = SourceState(SourceKind.NOT_ASKED)
NOT_CAPTURED = SourceState(SourceKind.NOT_CAPTURED)
UNAVAILABLE = SourceState(SourceKind.UNAVAILABLE)
