"""Azure naming rules, checked before any `az` call.

Names go to `az` as separate arguments (never through a shell) and into dry-run scripts
through shlex.quote, so metacharacters are harmless either way; we still refuse them early
because Azure would reject them halfway through a plan, after other steps already ran.
Rules: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules

Every pattern must match the whole value (``fullmatch``): ``re.match`` with ``$`` also
accepts a trailing newline, which once turned a resource group name into the end of a
comment line of a dry-run script. A value that starts with '-' is refused whatever the kind:
`az` (argparse) would read it as an option.
"""

import ipaddress
import re
from typing import Dict, Pattern

from accelnet.diagnosis.sizes import SizeParseError, parse_size
from accelnet.provision.errors import Refused
from accelnet.records import dataclass


@dataclass(frozen=True)
class NameRule:
    what: str
    pattern: Pattern[str]
    max_len: int
    hint: str


def _rule(what: str, pattern: str, max_len: int, hint: str) -> NameRule:
    return NameRule(what, re.compile(pattern), max_len, hint)


# Letters/digits first and last where Azure demands it; ASCII only on purpose.
_NIC_LIKE = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
RULES: Dict[str, NameRule] = {
    "resource_group": _rule("resource group", r"[A-Za-z0-9_().-]*[A-Za-z0-9_()-]", 90,
                            "letters, digits, '_', '-', '.', '(', ')'; not ending in '.'"),
    "vm": _rule("VM name", r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?", 64,
                "letters, digits, '_', '-', '.'; starting with a letter or digit, "
                "not ending in '.' or '-'"),
    "vmss": _rule("scale set name", r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?", 64,
                  "letters, digits, '_', '-', '.'; not ending in '.' or '-'"),
    "nic": _rule("NIC name", _NIC_LIKE, 80, "letters, digits, '_', '-', '.'"),
    "vnet": _rule("virtual network name", _NIC_LIKE, 64, "letters, digits, '_', '-', '.'"),
    "subnet": _rule("subnet name", _NIC_LIKE, 80, "letters, digits, '_', '-', '.'"),
    "nsg": _rule("network security group name", _NIC_LIKE, 80,
                 "letters, digits, '_', '-', '.'"),
    "public_ip": _rule("public IP name", _NIC_LIKE, 80, "letters, digits, '_', '-', '.'"),
    "availability_set": _rule("availability set name", _NIC_LIKE, 80,
                              "letters, digits, '_', '-', '.'"),
    "location": _rule("location", r"[a-z][a-z0-9]*", 40,
                      "a short region name such as centralus (see `az account list-locations "
                      "--query [].name`)"),
    "image": _rule("image", r"[A-Za-z0-9][A-Za-z0-9._:/+-]*", 256,
                   "an alias (Ubuntu2204) or URN (publisher:offer:sku:version)"),
    "admin_username": _rule("admin user name", r"[a-z_][a-z0-9_-]*", 64,
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
    if value.startswith("-"):
        raise Refused(f"invalid {rule.what} {value!r}: a name cannot start with '-' "
                      "(az would take it for an option)")
    if not rule.pattern.fullmatch(value):
        raise Refused(f"invalid {rule.what} {value!r}: use {rule.hint}")
    return value


def check_size_word(value: str) -> str:
    """A word that can be a size name (letters, digits, '_', '-'; at most 64), unparsed."""
    if not isinstance(value, str) or len(value) > 64 or \
            not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", value):
        raise Refused(f"invalid VM size {value!r}: expected a name like Standard_DS4_v2")
    return value


def check_size(value: str) -> str:
    """A size name in canonical spelling, refusing anything that is not one."""
    check_size_word(value)
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


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_path(what: str, value: str) -> str:
    """A file name for az: any characters but control characters and line breaks (they
    have no place in a path someone types, and would garble the plan a person reads), and
    not starting with '-' (az would take it for an option)."""
    if not value:
        raise Refused(f"{what} is empty")
    if value.startswith("-"):
        raise Refused(f"invalid {what} {value!r}: cannot start with '-' (az would take it "
                      f"for an option); write ./{value} for a file of that name")
    if _CONTROL.search(value):
        raise Refused(f"invalid {what} {value!r}: control characters and line breaks are "
                      "not allowed")
    if len(value) > 4096:
        raise Refused(f"invalid {what}: longer than 4096 characters")
    return value


_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"


def check_subscription(value: str) -> str:
    """A subscription id (GUID) or name, as `az --subscription` takes them."""
    if re.fullmatch(_GUID, value or ""):
        return value
    if value.startswith("-") or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.()-]{0,63}", value) \
            or value.endswith(" "):
        raise Refused(f"invalid subscription {value!r}: give its id (a GUID, see "
                      "`az account list --query [].id`) or a name of letters, digits, "
                      "spaces, '_', '-', '.', '(', ')'")
    return value
