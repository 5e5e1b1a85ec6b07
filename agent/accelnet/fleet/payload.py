"""The script accelnet-fleet sends to each VM through Run Command (payload.sh, filled in).

Run Command's limits shape it (MicrosoftDocs azure-docs, virtual-machines/linux/run-command.md,
and the Linux handler Azure/run-command-extension-linux): only the last 4,096 bytes of stdout
(and of stderr) come back, one script runs at a time per VM, a run takes about 20 s at least
and cannot be cancelled, the script may be up to 256 KiB. So the answer is one line of at
most ``CHUNK`` bytes of data, longer answers come in parts fetched by later calls, and the
script itself carries the POSIX collector for VMs without accelnet.

Only numbers and a random hex token are put into the script: nothing that came from Azure or
from a VM is ever part of what runs on another VM.
"""

import os
import re
import shutil
import sys
from accelnet.records import dataclass
from typing import Optional

from accelnet.fleet.minibundle import DMESG_PATTERN, ETHTOOL_PATTERN, SYS_ATTRS, VF_ETHTOOL_PATTERN

#: Base64 characters of one answer line: with the header the line stays well inside the
#: 4,096 bytes of stdout Run Command returns.
CHUNK = 3900
#: Run Command calls one answer may take (each takes ~20 s or more): 8 x 3,900 bytes of
#: base64 hold about 23 KB of gzip, several times what the largest fixture host needs.
MAX_PARTS = 8
#: What the Linux handler accepts (maxScriptSize in run-command-extension-linux main/cmds.go).
MAX_SCRIPT_BYTES = 256 * 1024
COLLECTOR_END = "ACCELNET_FLEET_COLLECTOR_END"
_TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "payload.sh")
_TOKEN = re.compile(r"[0-9a-f]{16}\Z")


class PayloadError(Exception):
    """The script cannot be built (no collector where one is needed, a template problem)."""


@dataclass(frozen=True)
class Question:
    """What one Run Command call asks: part 1 runs the diagnosis, later parts fetch the rest."""

    token: str
    part: int = 1
    sample_seconds: float = 2.0
    #: seconds the diagnosis on the VM may take (accelnet-check --timeout, timeout(1))
    limit: int = 60


def find_collector() -> Optional[str]:
    """scripts/accelnet-collect as installed beside this Python (pip, venv), on PATH (the
    packages' /usr/bin), or in a source checkout; None when there is none."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.join(os.path.dirname(sys.executable), "accelnet-collect"),
                  shutil.which("accelnet-collect") or "",
                  os.path.join(here, os.pardir, os.pardir, os.pardir, "scripts", "accelnet-collect")]
    for path in candidates:
        if path and os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    head = handle.read(256)
            except (OSError, UnicodeDecodeError):
                continue
            if head.startswith("#!/bin/sh") and "accelnet-collect" in head:
                return os.path.realpath(path)
    return None


def read_collector(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if any(line.strip() == COLLECTOR_END for line in text.splitlines()):
        raise PayloadError(f"{path} contains the line {COLLECTOR_END}, which ends its here-document")
    return text.rstrip("\n")


def build(question: Question, collector: Optional[str]) -> str:
    """The script for ``question``; ``collector`` is the text of accelnet-collect (part 1
    only: later parts only read what the first left)."""
    if not _TOKEN.match(question.token):
        raise PayloadError(f"bad token {question.token!r}")
    if question.part < 1 or question.part > MAX_PARTS:
        raise PayloadError(f"part {question.part} out of 1..{MAX_PARTS}")
    with open(_TEMPLATE, encoding="utf-8") as handle:
        script = "#!/bin/sh\n" + handle.read()
    values = {
        "TOKEN": question.token,
        "PART": str(int(question.part)),
        "SAMPLE": format(float(question.sample_seconds), "g"),
        "LIMIT": str(max(1, int(question.limit))),
        "CHUNK": str(CHUNK),
        "MAX_PARTS": str(MAX_PARTS),
        "SYS_ATTRS": "|".join(sorted(SYS_ATTRS)),
        "DMESG": DMESG_PATTERN,
        "ETHTOOL": ETHTOOL_PATTERN,
        "VF_ETHTOOL": VF_ETHTOOL_PATTERN,
        "COLLECTOR": (collector or "") if question.part == 1 else "",
    }
    for name, value in values.items():
        if name != "COLLECTOR" and ("'" in value or "\n" in value):
            raise PayloadError(f"{name} cannot be quoted in the script: {value!r}")
        script = script.replace(f"@{name}@", value)
    if len(script.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise PayloadError(f"the script is {len(script)} bytes; Run Command takes {MAX_SCRIPT_BYTES}")
    return script
