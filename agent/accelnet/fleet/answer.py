"""What a VM answered through Run Command: pure parsers, text in, values out.

`az vm run-command invoke` prints ``{"value": [{"code": "ProvisioningState/succeeded",
"message": "Enable succeeded: \\n[stdout]\\n<stdout>\\n[stderr]\\n<stderr>"}]}`` for a Linux
VM (the handler builds the message from the last 4,096 bytes of each stream; Windows VMs
answer with one ``ComponentStatus/StdOut`` and one ``StdErr`` item instead). The payload
answers with one line (payload.sh):

    ACCELNET-FLEET 1 TOKEN KIND PART/PARTS LENGTH DATA

Everything here comes from a VM and is hostile: only a line with this run's token counts,
every field is checked, the data is base64 of gzip and is inflated within a bound.
"""

import base64
import binascii
import re
import zlib
from typing import Any, Dict, List, Mapping, Tuple

from accelnet.errors import ParseError
from accelnet.records import dataclass

KINDS = ("report", "bundle", "error", "part")
#: What an answer may inflate to (a report is ~10-30 KB, a reduced bundle ~15-90 KB).
MAX_INFLATED = 8 << 20
_FRAME = re.compile(r"ACCELNET-FLEET 1 ([0-9a-f]{16}) ([a-z]{1,10}) ([0-9]{1,3})/([0-9]{1,3}) "
                    r"([0-9]{1,9}) ([A-Za-z0-9+/=]*)\Z")


class AnswerError(ParseError):
    """No usable answer; the message says what was wrong, in words for the fleet table."""


@dataclass(frozen=True)
class Frame:
    kind: str
    part: int
    parts: int
    length: int  # of the whole base64 answer
    data: str


def run_command_streams(doc: Any) -> Tuple[str, str]:
    """(stdout, stderr) of `az vm|vmss run-command invoke`'s JSON document."""
    values = doc.get("value") if isinstance(doc, Mapping) else None
    if not isinstance(values, list) or not values:
        raise AnswerError("Run Command returned no output (no 'value' list)")
    stdout, stderr = [], []
    for item in values:
        if not isinstance(item, Mapping):
            continue
        code, message = item.get("code"), item.get("message")
        code = code if isinstance(code, str) else ""
        message = message if isinstance(message, str) else ""
        if "StdOut" in code:
            stdout.append(message)
        elif "StdErr" in code:
            stderr.append(message)
        else:
            out, err = split_message(message)
            stdout.append(out)
            stderr.append(err)
    return "\n".join(stdout), "\n".join(stderr)


def split_message(message: str) -> Tuple[str, str]:
    """stdout and stderr of the Linux handler's message (``\\n[stdout]\\n…\\n[stderr]\\n…``).
    The streams are the VM's and may hold the markers themselves: stdout runs to the last
    ``[stderr]`` marker, which is the handler's own."""
    start = message.find("[stdout]\n")
    if start < 0:
        return message, ""
    body = message[start + len("[stdout]\n"):]
    cut = body.rfind("\n[stderr]\n")
    if cut < 0:
        return body, ""
    return body[:cut], body[cut + len("\n[stderr]\n"):]


def find_frames(text: str, token: str) -> List[Frame]:
    """This run's answer lines in ``text`` (one stream), in order. Lines of other runs (an
    earlier token) are ignored."""
    found: List[Frame] = []
    for line in text.splitlines():
        match = _FRAME.match(line.strip())
        if not match or match.group(1) != token:
            continue
        kind, part, parts, length, data = match.group(2, 3, 4, 5, 6)
        if kind not in KINDS:
            raise AnswerError(f"unknown answer kind {kind!r}")
        frame = Frame(kind, int(part), int(parts), int(length), data)
        if not 1 <= frame.part <= frame.parts:
            raise AnswerError(f"part {frame.part} of {frame.parts}")
        found.append(frame)
    return found


def collect(known: Dict[int, Frame], frames: List[Frame]) -> None:
    """Add ``frames`` to the parts ``known`` so far (part number -> frame); a part that
    comes again must say the same."""
    for frame in frames:
        if known.get(frame.part, frame) != frame:
            raise AnswerError(f"two different answers for part {frame.part}")
        known[frame.part] = frame


def cut_off(stdout: str) -> bool:
    """Whether stdout looks like an answer line whose start Run Command cut away (only the
    last 4,096 bytes come back): a long base64 run where a line should begin."""
    first = stdout.lstrip("\n").split("\n", 1)[0]
    return len(first) > 512 and re.fullmatch(r"[A-Za-z0-9+/=]+", first) is not None


def missing(known: Dict[int, Frame]) -> List[int]:
    """The parts still to fetch (none before the first part is known)."""
    if 1 not in known:
        return [1]
    return [p for p in range(1, known[1].parts + 1) if p not in known]


def assemble(known: Dict[int, Frame]) -> str:
    """The base64 answer from its parts, checked for order, count and length."""
    frames = [known[p] for p in sorted(known)]
    if not frames:
        raise AnswerError("no answer")
    parts = frames[0].parts
    if [f.part for f in frames] != list(range(1, parts + 1)) or any(f.parts != parts for f in frames):
        raise AnswerError("the parts of the answer do not fit together")
    data = "".join(f.data for f in frames)
    if len(data) != frames[0].length or any(f.length != frames[0].length for f in frames):
        raise AnswerError(f"the answer is {len(data)} bytes, {frames[0].length} were announced")
    return data


def inflate(data: str, limit: int = MAX_INFLATED) -> bytes:
    """base64 of gzip -> bytes, refusing more than ``limit`` bytes once inflated."""
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AnswerError(f"the answer is not base64 ({exc})") from None
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise AnswerError(f"the answer inflates to more than {limit} bytes")
        out += inflater.flush()
    except zlib.error as exc:
        raise AnswerError(f"the answer is not gzip ({exc})") from None
    if not inflater.eof:
        raise AnswerError("the answer's gzip stream is cut short")
    if len(out) > limit:
        raise AnswerError(f"the answer inflates to more than {limit} bytes")
    return out


def last_line(text: str, width: int = 200) -> str:
    """The last non-empty line of a stream, shortened (for a reason in the table)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    readable = sum(1 for c in line if c.isprintable() and c != "\ufffd")
    if readable < 0.8 * len(line):
        return f"{len(text.encode('utf-8', 'replace'))} bytes of something that is not text"
    return line if len(line) <= width else line[:width - 1] + "…"
