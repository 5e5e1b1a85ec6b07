"""Addresses of interfaces from ``ip -o addr show`` (one line per address): a pure parser.

Why it matters here: a VF must carry no IP address of its own (hv_netvsc moves traffic
between the VF and the synthetic NIC, which holds the addresses). A global address on a VF
means DHCP or a network manager configured the VF itself; link-local IPv6 addresses are
made by the kernel on every interface that is up and mean nothing.

Line form (iproute2 ``print_addrinfo`` with ``-o``)::

    2: eth0    inet 10.0.0.4/24 metric 100 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever
"""

import re
from typing import List

from accelnet.records import dataclass

_LINE = re.compile(r"^\s*(\d{1,10}):\s+(\S+?)(?:@\S+)?\s+(inet6?)\s+(\S+)(.*)$")


@dataclass
class Address:
    ifindex: int
    ifname: str
    family: str  # "inet" or "inet6"
    address: str  # with its prefix length: "10.0.0.4/24"
    scope: str  # "global", "link", "host", "site" or a number
    dynamic: bool  # a lease (DHCP) or a SLAAC address: valid_lft not forever

    @property
    def is_global(self) -> bool:
        return self.scope == "global"


def parse_ip_addr(text: str) -> List[Address]:
    """Every address line of ``ip -o addr show``; lines of another shape are skipped."""
    addresses = []
    for line in (text or "").splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        index, name, family, address, rest = match.groups()
        words = rest.replace("\\", " ").split()
        scope = words[words.index("scope") + 1] if "scope" in words[:-1] else ""
        dynamic = "dynamic" in words or (
            "valid_lft" in words[:-1] and words[words.index("valid_lft") + 1] != "forever"
        )
        addresses.append(Address(int(index), name, family, address, scope, dynamic))
    return addresses
