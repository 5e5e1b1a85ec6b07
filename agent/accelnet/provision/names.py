"""Azure naming rules, checked before any `az` call.

Names go to `az` as separate arguments (never through a shell) and into dry-run scripts
through shlex.quote, so metacharacters are harmless either way; we still refuse them early
because Azure would reject them halfway through a plan, after other steps already ran.
Rules: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Dict, Pattern

from accelnet.provision.errors import Refused
from accelnet.sizes import SizeParseError, parse_size


@dataclass(frozen=True)
class NameRule:
    what: str
    pattern: Pattern[str]
    max_len: int
    hint: str


def _rule(what: str, pattern: str, max_len: int, hint: str) -> NameRule:
    return NameRule(what, re.compile(pattern), max_len, hint)


# Letters/digits first and last where Azure demands it; ASCII only on purpose.
_NIC_LIKE = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$"
RULES: Dict[str, NameRule] = {
    "resource_group": _rule("resource group", r"^[A-Za-z0-9_().-]*[A-Za-z0-9_()-]$", 90,
                            "letters, digits, '_', '-', '.', '(', ')'; not ending in '.'"),
    "vm": _rule("VM name", r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$", 64,
                "letters, digits, '_', '-', '.'; starting with a letter or digit, "
                "not ending in '.' or '-'"),
    "vmss": _rule("scale set name", r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$", 64,
                  "letters, digits, '_', '-', '.'; not ending in '.' or '-'"),
    "nic": _rule("NIC name", _NIC_LIKE, 80, "letters, digits, '_', '-', '.'"),
    "vnet": _rule("virtual network name", _NIC_LIKE, 64, "letters, digits, '_', '-', '.'"),
    "subnet": _rule("subnet name", _NIC_LIKE, 80, "letters, digits, '_', '-', '.'"),
    "nsg": _rule("network security group name", _NIC_LIKE, 80,
                 "letters, digits, '_', '-', '.'"),
    "public_ip": _rule("public IP name", _NIC_LIKE, 80, "letters, digits, '_', '-', '.'"),
    "availability_set": _rule("availability set name", _NIC_LIKE, 80,
                              "letters, digits, '_', '-', '.'"),
    "location": _rule("location", r"^[a-z][a-z0-9]*$", 40,
                      "a short region name such as centralus (see `az account list-locations "
                      "--query [].name`)"),
    "image": _rule("image", r"^[A-Za-z0-9][A-Za-z0-9._:/+-]*$", 256,
                   "an alias (Ubuntu2204) or URN (publisher:offer:sku:version)"),
    "admin_username": _rule("admin user name", r"^[a-z_][a-z0-9_-]*$", 64,
                            "lowercase letters, digits, '_', '-'"),
}


def check_name(kind: str, value: str) -> str:
    """Return ``value`` if it is a valid name of ``kind``; raise Refused saying why not."""
    rule = RULES[kind]
    if not isinstance(value, str) or not value:
        raise Refused(f"{rule.what} is empty")
    if len(value) > rule.max_len:
        raise Refused(f"{rule.what} is {len(value)} characters long; Azure allows at most "
                      f"{rule.max_len}")
    if not rule.pattern.match(value):
        raise Refused(f"invalid {rule.what} {value!r}: use {rule.hint}")
    return value


def check_size(value: str) -> str:
    """A size name in canonical spelling, refusing anything that is not one."""
    if not isinstance(value, str) or len(value) > 64 or not re.match(r"^[A-Za-z0-9_-]+$", value):
        raise Refused(f"invalid VM size {value!r}: expected a name like Standard_DS4_v2")
    try:
        return parse_size(value).name
    except SizeParseError as exc:
        raise Refused(str(exc)) from None


def check_prefix(what: str, value: str) -> str:
    """An address prefix in CIDR form (192.168.0.0/16), host bits clear."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise Refused(f"invalid {what} {value!r}: {exc}") from None
    if "/" not in value:
        raise Refused(f"invalid {what} {value!r}: give the prefix length, e.g. "
                      f"{network.with_prefixlen}")
    return network.with_prefixlen


def check_path(what: str, value: str) -> str:
    if not value or "\0" in value or "\n" in value:
        raise Refused(f"invalid {what} {value!r}")
    return value
