"""What a check says: its id (one table), the problems it found, and the one rule that turns
them into a finding.

A check collects :class:`Problem` values (an ``ok`` one is a note: it is named in the summary
and decides nothing) and hands them to :func:`decide`, so every check picks its status and
its remedy the same way.
"""

from typing import Dict, Optional, Sequence

from accelnet.diagnosis.status import OK, worst_status
from accelnet.records import dataclass, field


class CheckId:
    """The check ids of CONTRACT.md, one table: code names a check by these, never by text."""

    PLATFORM_AZURE = "platform.azure"
    PLATFORM_VM_SIZE = "platform.vm_size"
    OS_DISTRIBUTION = "os.distribution"
    OS_KERNEL = "os.kernel"
    NIC_SYNTHETIC = "nic.synthetic"
    VF_PRESENT = "vf.present"
    VF_DRIVER = "vf.driver"
    VF_BONDED = "vf.bonded"
    DATAPATH_VF = "datapath.vf"


#: Every check, in report order; each appears in every report.
CHECK_IDS = (
    CheckId.PLATFORM_AZURE,
    CheckId.PLATFORM_VM_SIZE,
    CheckId.OS_DISTRIBUTION,
    CheckId.OS_KERNEL,
    CheckId.NIC_SYNTHETIC,
    CheckId.VF_PRESENT,
    CheckId.VF_DRIVER,
    CheckId.VF_BONDED,
    CheckId.DATAPATH_VF,
)

@dataclass
class Finding:
    id: str
    status: str
    summary: str
    evidence: Dict[str, object] = field(default_factory=dict)
    remedy: Optional[str] = None

    def as_dict(self) -> Dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "evidence": self.evidence,
            "remedy": self.remedy,
        }


@dataclass(frozen=True)
class Problem:
    """One thing a check found: its status, the words for it, and how to fix it."""

    status: str
    text: str
    remedy: Optional[str] = None


def decide(check_id: str, parts: Sequence[Problem], evidence: Optional[Dict[str, object]] = None,
           healthy: str = "") -> Finding:
    """The finding of a check from what it found.

    The worst part decides the status (critical, warning, unknown, ok; see status.RANK), so
    a milder problem named first never hides a worse one. The summary names every part in
    order; when all are ok, ``healthy`` (if given) says it instead. The remedy is the first
    one among the parts of the deciding status: the fix for what is worst.
    """
    status = worst_status(p.status for p in parts)
    summary = healthy if status == OK and healthy else "; ".join(p.text for p in parts)
    remedy = next((p.remedy for p in parts if p.status == status and p.remedy), None)
    return Finding(check_id, status, summary, evidence if evidence is not None else {}, remedy)
