"""What each NIC of this VM is meant to be, from the three places an operator can say it.

Flags (``--expect-an``, ``--ignore-nic``) override the file ``/etc/accelnet/accelnet.conf``,
which overrides the VM tag ``accelnet``: the nearer to the run, the more specific the
operator's knowledge. Within one source a statement about a NIC beats one about the VM.
The result names, for every NIC with a declared intent, where it came from, so a report
can say why a host without a VF is fine ("off by design: tag accelnet=off").

Pure: the declarations come in as values (parsed by :mod:`accelnet.parsers.intent`), the
NICs as (name, MAC, VF name) triples. :func:`excuse` is the last word on the findings: what is
off by design is ok and says why; an intent that cannot be read leaves nothing it could
excuse decided (``unknown``), since a typo must not pass for a decision.
"""

from typing import Dict, List, Optional, Sequence, Tuple

from accelnet import records
from accelnet.diagnosis.finding import CheckId, Finding
from accelnet.diagnosis.status import CRITICAL, OK, UNKNOWN, WARNING
from accelnet.parsers.intent import CONF_PATH, IGNORE, OFF, ON, TAG_NAME, IntentError, Statement
from accelnet.records import dataclass, field

FLAGS, FILE, TAG = "flags", "file", "tag"
#: Strongest first.
PRECEDENCE = (FLAGS, FILE, TAG)


@dataclass(frozen=True)
class Source:
    """What one place declares: ``kind`` is flags, file or tag."""

    kind: str
    statements: Tuple[Statement, ...] = ()
    path: str = CONF_PATH  # the file's, for "line N" in reasons

    def reason(self, statement: Statement) -> str:
        """Where the operator said it, in the words they used."""
        target = f" {statement.nic}" if statement.nic else ""
        if self.kind == TAG:
            return f"tag {TAG_NAME}={statement.expect}"
        if self.kind == FILE:
            return f"{self.path} line {statement.line}"
        if statement.expect == IGNORE:
            return f"--ignore-nic {statement.nic}"
        return f"--expect-an {statement.expect}{target}"


@dataclass(frozen=True)
class Declared:
    """The intent in force for the VM or one NIC: on, off or ignore, and why."""

    expect: str = ON
    reason: Optional[str] = None  # None: nothing declared (AN expected, the default)
    source: Optional[str] = None  # FLAGS, FILE or TAG: where it was declared

    @property
    def declared(self) -> bool:
        return self.reason is not None

    def describe(self) -> str:
        """``off by design: tag accelnet=off``; ``ignored: --ignore-nic eth1``."""
        if self.expect == IGNORE:
            return f"ignored: {self.reason}"
        if self.expect == OFF:
            return f"off by design: {self.reason}"
        return f"expected on: {self.reason}" if self.reason else "expected on"


@dataclass
class Intent:
    """The resolved intent of a host. ``error`` set: a declaration could not be read, and the
    checks it could excuse are ``unknown`` (a typo must not pass for a decision)."""

    vm: Declared = field(default_factory=Declared)
    nics: Dict[str, Declared] = field(default_factory=dict)
    error: Optional[str] = None
    #: Selectors that named no NIC of this host (a shared NRPE line, a NIC since removed).
    unmatched: List[str] = field(default_factory=list)

    def nic(self, name: str) -> Declared:
        return self.nics.get(name) or self.vm

    @property
    def declared(self) -> bool:
        return self.vm.declared or any(d.declared for d in self.nics.values())

    @property
    def worth_reporting(self) -> bool:
        """Whether the report has an ``intent`` section: something declared, unreadable, or
        naming no NIC (reports of hosts that declare nothing stay as they were)."""
        return self.declared or self.error is not None or bool(self.unmatched)

    def notes(self) -> str:
        """``eth1 off by design: …; eth2 ignored: …`` for the NICs left out of the checks."""
        return "; ".join(f"{name} {d.describe()}" for name, d in sorted(self.excused.items()))

    @property
    def excused(self) -> Dict[str, Declared]:
        """The NICs not to judge: declared off (no VF expected) or ignored."""
        return {name: d for name, d in self.nics.items() if d.expect in (OFF, IGNORE)}

    def vm_off(self) -> Optional[str]:
        """Why AN is off on the whole VM (the VM declared off, or every NIC off or ignored),
        or None: then the VM's own prerequisites (size, distribution, kernel) do not matter."""
        if self.vm.expect == OFF:
            return self.vm.reason
        if self.nics and len(self.excused) == len(self.nics):
            return self.notes()
        return None

    def as_dict(self) -> Dict[str, object]:
        """The report's ``intent`` section."""
        def one(d: Declared) -> Dict[str, Optional[str]]:
            return {"expect": d.expect, "source": d.source, "reason": d.reason}

        return {
            "vm": one(self.vm) if self.vm.declared else None,
            "nics": {name: one(d) for name, d in sorted(self.nics.items()) if d.declared},
            "error": self.error,
            "unmatched": list(self.unmatched),
        }


@dataclass(frozen=True)
class Nic:
    """A synthetic NIC as intent can name it."""

    name: str
    mac: Optional[str] = None
    vf: Optional[str] = None  # the VF's interface name, which names the pair too

    def matches(self, selector: str) -> bool:
        return selector in (self.name, self.mac, self.vf)


def resolve(sources: Sequence[Source], nics: Sequence[Nic]) -> Intent:
    """The intent of the VM and of each NIC: the strongest source that says anything about
    it decides, and in a source a NIC's own statement beats the VM's. Raises IntentError
    when one source says two different things about one NIC (by name and by MAC)."""
    ranked = sorted(sources, key=lambda s: PRECEDENCE.index(s.kind))
    intent = Intent()
    for source in reversed(ranked):  # weakest first: stronger ones overwrite
        for statement in source.statements:
            if statement.nic is None:
                intent.vm = Declared(statement.expect, source.reason(statement), source.kind)
    for nic in nics:
        for source in ranked:
            decided = _for_nic(source, nic)
            if decided is not None:
                intent.nics[nic.name] = decided
                break
        else:
            intent.nics[nic.name] = intent.vm
    for source in ranked:
        for statement in source.statements:
            if statement.nic is not None and not any(n.matches(statement.nic) for n in nics):
                intent.unmatched.append(f"{source.reason(statement)} names no NIC of this VM ({statement.nic})")
    return intent


def _for_nic(source: Source, nic: Nic) -> Optional[Declared]:
    """What ``source`` says about ``nic``: its own statement, else the VM's, else None."""
    own = [s for s in source.statements if s.nic is not None and nic.matches(s.nic)]
    if len({s.expect for s in own}) > 1:
        where = " and ".join(source.reason(s) for s in own)
        raise IntentError(f"{where} declare different intents for {nic.name}")
    if own:
        return Declared(own[0].expect, source.reason(own[0]), source.kind)
    vm = [s for s in source.statements if s.nic is None]
    return Declared(vm[-1].expect, source.reason(vm[-1]), source.kind) if vm else None


def from_flags(expect_an: Optional[str], ignore_nics: Sequence[str]) -> Source:
    """The check's flags as a source (the selectors already validated by the parser)."""
    statements = [Statement(expect_an)] if expect_an else []
    statements += [Statement(IGNORE, nic) for nic in ignore_nics]
    return Source(FLAGS, tuple(statements))


def from_tag(tags: Sequence[Tuple[str, str]]) -> Source:
    """The VM tag ``accelnet`` (names compared as Azure does, ignoring case). Raises
    IntentError for a value that is neither on nor off."""
    from accelnet.parsers.intent import parse_tag_value

    values = [value for name, value in tags if name.lower() == TAG_NAME]
    if not values:
        return Source(TAG)
    return Source(TAG, (Statement(parse_tag_value(values[-1])),))


#: The check that always applies: whether this is Azure is never a matter of intent.
_NOT_EXCUSED = (CheckId.PLATFORM_AZURE,)


def excuse(findings: List[Finding], intent: Intent) -> List[Finding]:
    """The findings as the declared intent has them.

    An intent that could not be read: every check it could excuse is ``unknown`` and says why.
    AN off on the whole VM: a check that is not ok is ok, "off by design (tag accelnet=off):"
    and what it found. Some NICs off or ignored (the checks judged the others only): the VF
    check names them and why.
    """
    if intent.error is not None:
        return [f if f.id in _NOT_EXCUSED else records.replace(
            f, status=UNKNOWN, remedy=f"Fix the declaration or remove it; {CONF_PATH} is described in accelnet-check(1)",
            summary=f"cannot tell what is intended: {intent.error}") for f in findings]
    off = intent.vm_off()
    if off is not None:
        return [f if f.id in _NOT_EXCUSED or f.status not in (WARNING, CRITICAL, UNKNOWN) else records.replace(
            f, status=OK, remedy=None, summary=f"off by design ({off}): {f.summary}") for f in findings]
    notes = intent.notes()
    if not notes:
        return findings
    return [records.replace(f, summary=f"{f.summary}; {notes}" if f.summary else notes)
            if f.id == CheckId.VF_PRESENT else f for f in findings]
