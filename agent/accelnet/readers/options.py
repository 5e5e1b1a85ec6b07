"""What a reading of a host asks for: the same for a diagnosis (diagnosis/facts.py) and for a
bundle (collect.py), so a live check and its bundle read the host alike."""

from typing import Optional, Sequence

from accelnet.readers.netdev import HV_NETVSC
from accelnet.records import dataclass


@dataclass
class Options:
    #: Seconds between the two counter samples (0: one sample).
    sample_seconds: float = 2.0
    #: Whether IMDS may be asked (only ever on an Azure VM).
    imds: bool = True
    #: Drivers whose interfaces are synthetic NICs (tests stand a bridge in for hv_netvsc).
    synthetic_drivers: Sequence[str] = (HV_NETVSC,)
    #: Declared intent on the command line (--expect-an on|off, --ignore-nic NAME|MAC):
    #: overrides /etc/accelnet/accelnet.conf, which overrides the VM tag ``accelnet``.
    expect_an: Optional[str] = None
    ignore_nics: Sequence[str] = ()
