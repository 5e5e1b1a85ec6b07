"""The bundle writer of accelnet-check: every file docs/bundle.md lists is captured by
--collect and produced on demand live through Host.capture, with the same text; the new
renderers (ethtool -P, dmesg) print what the real tools print."""

import json
import os
import re
import subprocess
import sys
import tarfile

import pytest

from accelnet.kernel import netns
from accelnet.readers import live
from accelnet.parsers.ethtool_text import (EthtoolCommandError, EthtoolFormatError, parse_ethtool_permaddr,
                                           render_ethtool_permaddr)
from accelnet.parsers.kmsg import parse_kmsg_record, render_dmesg
from agentproc import REPO, env
from testutil import require_tool

BUNDLE_DOC = os.path.join(REPO, "docs", "bundle.md")


def documented_cmd_files():
    """The file column of docs/bundle.md's cmd/ table (``ethtool-S.<if>.0.txt``, …)."""
    with open(BUNDLE_DOC, encoding="utf-8") as handle:
        text = handle.read()
    table = text.split("## cmd/", 1)[1].split("\n## ", 1)[0]
    files = []
    for line in table.splitlines():
        cell = line.split("|")[1].strip() if line.startswith("|") else ""
        for name in re.findall(r"`([^`]+)`", cell):
            files.append(name)
    return files


def documented_root_files():
    with open(BUNDLE_DOC, encoding="utf-8") as handle:
        text = handle.read()
    table = text.split("## root/", 1)[1].split("\n## ", 1)[0]
    return [n for line in table.splitlines() if line.startswith("| `")
            for n in re.findall(r"`([^`]+)`", line.split("|")[1])]


def test_doc_lists_the_files_the_writers_write():
    cmd = documented_cmd_files()
    assert {"lspci.txt", "ethtool-i.<if>.txt", "ethtool-P.<if>.txt", "ethtool-S.<if>.0.txt", "ip-addr.txt",
            "dmesg.txt", "imds.json"} <= set(cmd), cmd
    assert {"proc/sys/kernel/hostname", "proc/uptime"} <= set(documented_root_files())


# -- ethtool -P ---------------------------------------------------------------------------------

@pytest.mark.parametrize("address, text, parsed", [
    (b"\x00\x0d\x3a\xf8\x06\xec", "Permanent address: 00:0d:3a:f8:06:ec\n", "00:0d:3a:f8:06:ec"),
    (b"\x00" * 6, "Permanent address: not set\n", None),
    (b"", "Permanent address: not set\n", None),
])
def test_permaddr_render_and_parse(address, text, parsed):
    assert render_ethtool_permaddr(address) == text
    assert parse_ethtool_permaddr(text) == parsed


def test_permaddr_parser_reads_old_and_pasted_forms_and_refuses_others():
    assert parse_ethtool_permaddr("Permanent address: 00:00:00:00:00:00\n") is None  # ethtool < 5.5
    assert parse_ethtool_permaddr("# ethtool -P eth0\nPermanent address: 00:0D:3A:F8:06:EC\n") == "00:0d:3a:f8:06:ec"
    assert parse_ethtool_permaddr("Permanent address:\n") is None  # addr_len 0, ioctl-era ethtool
    with pytest.raises(EthtoolCommandError):
        parse_ethtool_permaddr("Cannot read permanent address: No such device\n")
    for bad in ("", "driver: hv_netvsc\n", "Permanent address: zz:00\n"):
        with pytest.raises(EthtoolFormatError):
            parse_ethtool_permaddr(bad)


def test_permaddr_ioctl_renders_what_ethtool_prints():
    ethtool = require_tool("ethtool", "ethtool")
    names = sorted(os.listdir("/sys/class/net"))
    for name in names:
        real = subprocess.run([ethtool, "-P", name], stdout=subprocess.PIPE, universal_newlines=True)
        assert real.returncode == 0
        assert live.permanent_address_text(name) == real.stdout, name


def test_permaddr_of_an_interface_with_a_permanent_address(ns):
    """A bridge takes no permanent address, but the GPERMADDR answer of any NIC with one is
    rendered as ethtool prints it; checked where the machine has one (its NIC), else with the
    kernel's all-zero answer of veth."""
    ethtool = require_tool("ethtool", "ethtool")
    netns.add_veth(ns, "pa", "pb")
    with netns.entered(ns):
        ours = live.permanent_address_text("pa")
    real = subprocess.run(["ip", "netns", "exec", ns, ethtool, "-P", "pa"], stdout=subprocess.PIPE,
                          universal_newlines=True)
    assert ours == real.stdout == "Permanent address: not set\n"
    with netns.entered(ns):
        with pytest.raises(live.CaptureUnavailable, match="no such interface"):
            live.permanent_address_text("nope0")


# -- the kernel log ------------------------------------------------------------------------------

def test_kmsg_records_render_as_dmesg_prints_them():
    records = [b"6,339,5140900,-;NET: Registered PF_INET6 protocol family\n",
               b"4,340,5179203,-,caller=T1;hv_netvsc 000d3a: VF registering: enP1s1\n SUBSYSTEM=vmbus\n DEVICE=+vmbus:x\n",
               b"6,341,123456789012,c;Data path switched to VF: enP1s1\n",
               b"garbage without a separator", b"x,y,z;bad numbers"]
    parsed = [parse_kmsg_record(r) for r in records]
    assert parsed[3] is None and parsed[4] is None
    assert render_dmesg(p for p in parsed if p) == (
        "[    5.140900] NET: Registered PF_INET6 protocol family\n"
        "[    5.179203] hv_netvsc 000d3a: VF registering: enP1s1\n"
        "[123456.789012] Data path switched to VF: enP1s1\n"
    )


def test_live_kernel_log_is_what_dmesg_prints():
    dmesg = require_tool("dmesg", "util-linux")
    real = subprocess.run([dmesg], stdout=subprocess.PIPE, universal_newlines=True, errors="replace")
    ours = live.kernel_log_text()
    assert real.returncode == 0
    theirs = [l for l in real.stdout.splitlines() if "\\x" not in l]  # dmesg unescapes \xNN, we keep it
    mine = set(ours.splitlines())
    assert theirs, "empty kernel log"
    # the ring buffer may rotate between the two reads: nearly every line dmesg printed is ours
    assert sum(1 for l in theirs if l in mine) >= 0.9 * len(theirs)


def test_unreadable_kernel_log_says_why(tmp_path, monkeypatch):
    with pytest.raises(live.CaptureUnavailable, match="is not readable"):
        live.kernel_log_text(str(tmp_path / "no-kmsg"))
    monkeypatch.setattr(live, "KMSG_PATH", str(tmp_path / "no-kmsg"))
    host = live.live_host()
    assert host.capture("dmesg") is None
    assert "no-kmsg is not readable" in host.capture_problem("dmesg")


# -- collect: every documented file, the same text as the live capture ---------------------------------

def _namespace_host(ns):
    netns.add_bridge(ns, "syn0")
    netns.add_veth(ns, "enP1s1", "peer0")
    netns.set_master(ns, "enP1s1", "syn0")
    netns.ip("addr", "add", "192.0.2.1/24", "dev", "syn0", netns=ns)
    netns.ip("link", "set", "syn0", "up", netns=ns)


def test_collect_captures_every_documented_file_as_live_makes_it(ns, tmp_path):
    require_tool("ethtool", "ethtool")
    require_tool("lspci", "pciutils")
    _namespace_host(ns)
    bundle = tmp_path / "bundle.tar.gz"
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "accelnet.cli.check", "--collect", str(bundle),
         "--synthetic-drivers", "bridge", "--sample-seconds", "0.2", "--no-imds", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), timeout=120)
    assert proc.returncode == 3, proc.stderr.decode()  # not Azure: unknown by contract
    with tarfile.open(str(bundle)) as tar:
        names = set(tar.getnames())
        files = {m.name[len("snapshot/"):]: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}
    interfaces = ["enP1s1", "lo", "peer0", "syn0"]
    meta = json.loads(files["snapshot.json"])
    # a machine without /lib/modules/$(uname -r) (a container) has no depmod files: said why
    no_modules = {"cmd/%s.txt" % n for n in live.MODULE_LISTS if not os.path.isdir("/lib/modules/" + os.uname().release)}
    assert sorted(n.split("/")[-1] for n in names if re.match(r"snapshot/root/sys/class/net/[^/]+$", n)) == interfaces
    for pattern in documented_cmd_files():
        if pattern == "imds.json":
            assert "cmd/imds.json" not in files  # asked only on Azure
            continue
        per_if = [pattern.replace("<if>", i) for i in interfaces] if "<if>" in pattern else [pattern]
        for name in per_if:
            if name in ("ethtool-i.lo.txt", "ethtool-S.lo.0.txt", "ethtool-S.lo.1.txt", "ethtool-S.syn0.1.txt"):
                continue  # lo: no driver info (EOPNOTSUPP), never sampled; a bridge: no stats, one sample
            if "cmd/" + name in no_modules:
                assert "No such file" in meta["not_captured"]["cmd/" + name]
                continue
            assert "cmd/" + name in files, name
    for path in documented_root_files():
        if not path.startswith(("etc/", "proc/")):  # sysfs and /run paths are per device
            continue
        if not os.path.exists("/" + path):  # optional files this machine lacks (etc/accelnet/accelnet.conf)
            continue
        assert "snapshot/root/" + path in names, path  # a file, or a link kept as it is
    assert meta["collector"].startswith("accelnet-check ") and meta["sample_interval_s"] == 0.2
    assert set(meta.get("not_captured", {})) == {"cmd/ethtool-i.lo.txt"} | no_modules
    assert float(files["root/proc/uptime"].split()[0]) > 0
    assert "syn0" in files["cmd/ip-addr.txt"] and "192.0.2.1/24" in files["cmd/ip-addr.txt"]
    assert files["cmd/ethtool-S.syn0.0.txt"] == "no stats available\n"
    assert files["cmd/ethtool-P.enP1s1.txt"] == "Permanent address: not set\n"

    # the same captures, made live in the namespace now, give the same text
    code = ("import json; from accelnet.readers import live; h = live.live_host(); "
            "print(json.dumps({n: h.capture(n) for n in %r}))"
            % ["ip-addr", "ethtool-i.syn0", "ethtool-i.enP1s1", "ethtool-P.enP1s1", "ethtool-P.syn0"])
    now = netns.run_python(ns, code)
    assert now.returncode == 0, now.stderr
    for name, text in json.loads(now.stdout).items():
        assert files["cmd/%s.txt" % name] == text, name
