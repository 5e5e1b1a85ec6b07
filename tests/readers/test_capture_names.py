"""One table of capture names (readers/capturenames.py) for every writer and reader of a
bundle's cmd/: the POSIX sh collector, docs/bundle.md and the fleet payload's filter are held
to it here; the Python collector, the snapshot reader and the diagnosis use the table itself."""

import fnmatch
import os
import re

from accelnet.readers import capturenames

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def _templates(names, variables):
    """File names with their shell (or doc) variables replaced by the table's fields, in order."""
    out = set()
    for name in names:
        fields = iter(("{ifname}", "{index}"))
        out.add(re.sub(variables, lambda _m: next(fields), name))
    return out


def test_the_sh_collector_writes_exactly_the_files_of_the_table():
    script = _read("scripts", "accelnet-collect")
    written = set(re.findall(r'\$CMD/([\w.$-]+\.(?:txt|json))', script))
    written |= set(re.findall(r'^\s*capture(?:_modules)?\s+"?([\w.$-]+\.(?:txt|json))', script, re.M))
    written |= set(re.findall(r'not_captured\s+"?cmd/([\w.$-]+\.(?:txt|json))', script))
    assert _templates(written, r"\$\w+") == set(capturenames.FILES.values())


def test_docs_bundle_lists_every_file_of_the_table():
    table = _read("docs", "bundle.md").split("## cmd/", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([^`]+)`", table, re.M))
    listed |= set(re.findall(r"^\| `[^`]+`, `([^`]+)`", table, re.M))
    documented = _templates(listed, r"<if>|(?<=\.)[01](?=\.txt)")
    assert documented == set(capturenames.FILES.values())


def test_the_fleet_payload_keeps_files_of_the_table():
    """payload.sh filters the sh collector's bundle by cmd/ file name: each pattern it names
    must still match a file of the table, or a renamed capture silently leaves the fleet."""
    payload = _read("agent", "accelnet", "fleet", "payload.sh")
    patterns = re.findall(r"^\s*(cmd/[\w.*-]+)\)", payload, re.M)
    assert patterns, "payload.sh names no cmd/ file"
    files = {"cmd/" + t.format(ifname="eth0", index=0) for t in capturenames.FILES.values()}
    assert [p for p in patterns if not fnmatch.filter(files, p)] == []


def test_names_and_files():
    eth = capturenames.of_interface(capturenames.ETHTOOL_INFO, "eth0.100")
    assert eth == "ethtool-i.eth0.100"
    assert capturenames.interface_of(capturenames.ETHTOOL_INFO, eth) == "eth0.100"
    assert capturenames.interface_of(capturenames.ETHTOOL_PERMADDR, eth) is None
    assert capturenames.interface_of(capturenames.ETHTOOL_INFO, "ethtool-i.") is None
    assert capturenames.file_name(capturenames.IMDS) == "imds.json"
    assert capturenames.file_name(capturenames.stats_sample("eth0", 1)) == "ethtool-S.eth0.1.txt"
    for kind, template in capturenames.FILES.items():
        name = kind if "{" not in template else (
            capturenames.stats_sample("eth0", 1) if kind == capturenames.ETHTOOL_STATS
            else capturenames.of_interface(kind, "eth0"))
        assert capturenames.file_name(name) == template.format(ifname="eth0", index=1)


def test_the_interfaces_a_bundle_sampled():
    names = ["lspci", "ethtool-S.eth0.0", "ethtool-S.eth0.1", "ethtool-S.eth0.100.0", "ethtool-S.lo",
             "ethtool-i.eth1", "ethtool-S..0"]
    assert capturenames.sampled_interfaces(names) == ["", "eth0", "eth0.100"]
