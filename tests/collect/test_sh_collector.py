"""scripts/accelnet-collect, the POSIX sh collector: shellcheck-clean, runs under dash and
busybox sh, writes the bundle accelnet-check --collect writes (same files, same verdicts),
0600, never overwrites without --force, one stderr line on failure, and keeps IMDS secrets
out of the bundle (a local server stands in for IMDS; DMI is faked for the script only)."""

import json
import os
import re
import stat
import subprocess
import sys

import pytest

import accelnet
from accelnet.kernel import netns
from agentproc import env
from imdsserver import FakeImds
from shcollect import AZURE_ASSET_TAG, SCRIPT, fake_dmi, members, run_sh, shells, tool_dir
from testutil import require, require_tool

#: Keys of a report that change from one run to the next whatever was captured.
TIME_LIKE = {"time", "captured_at", "uptime_s", "boot_time", "collected_at", "checked_at"}


@pytest.fixture(params=["dash", "busybox"])
def shell(request):
    return dict(shells())[request.param]


def test_shellcheck_clean():
    shellcheck = require_tool("shellcheck", "shellcheck")
    proc = subprocess.run([shellcheck, "--shell=sh", "--severity=style", SCRIPT], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_posix_sh_only_tools():
    """No bash-isms a POSIX sh lacks (dash -n parses it) and the version is the package's."""
    dash = require_tool("dash", "dash")
    assert subprocess.run([dash, "-n", SCRIPT]).returncode == 0
    with open(SCRIPT, encoding="utf-8") as handle:
        text = handle.read()
    assert text.startswith("#!/bin/sh\n")
    assert "\nVERSION=%s\n" % accelnet.__version__ in text
    code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    for word in ("[[", "local ", "function ", "$'", "pipefail", "<<<"):
        assert word not in code, word
    # coreutils, sed, tar, gzip (and the optional tools) only: no awk, grep, find, python
    assert not re.search(r"(^|[|;&(`]\s*|\s)(awk|grep|find|python3?|perl|bash)\s", code, re.M)


def _namespace_host(ns):
    netns.add_bridge(ns, "syn0")
    netns.add_veth(ns, "enP1s1", "peer0")
    netns.set_master(ns, "enP1s1", "syn0")
    netns.add_veth(ns, "eth7", "peer7")
    netns.ip("addr", "add", "192.0.2.7/24", "dev", "syn0", netns=ns)
    netns.ip("link", "set", "syn0", "up", netns=ns)


def _strip_time(value):
    if isinstance(value, dict):
        return {k: _strip_time(v) for k, v in value.items() if k not in TIME_LIKE}
    if isinstance(value, list):
        return [_strip_time(v) for v in value]
    return value


def _diagnose(bundle):
    proc = subprocess.run([sys.executable, "-m", "accelnet.cli.check", "--snapshot", str(bundle), "--json",
                           "--synthetic-drivers", "bridge"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env(), timeout=120)
    return proc.returncode, json.loads(proc.stdout)


def test_same_bundle_as_accelnet_check_collect(ns, tmp_path, shell):
    require(os.geteuid() == 0, "needs root")
    require_tool("ethtool", "ethtool")
    _namespace_host(ns)
    ours = tmp_path / "sh.tar.gz"
    theirs = tmp_path / "py.tar.gz"
    proc = run_sh(shell, str(ours), "--sample-seconds", "0.3", "--no-imds", netns_name=ns)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    py = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "accelnet.cli.check", "--collect", str(theirs),
                         "--sample-seconds", "0.3", "--no-imds", "--json", "--synthetic-drivers", "bridge"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), timeout=120)
    assert py.returncode == 3, py.stderr
    assert stat.S_IMODE(os.stat(str(ours)).st_mode) == 0o600

    sh_members, sh_files = members(ours)
    py_members, py_files = members(theirs)
    assert sorted(sh_members) == sorted(py_members)
    for name, member in py_members.items():  # links kept the same way
        assert member.type == sh_members[name].type, name
        if member.issym():
            assert member.linkname == sh_members[name].linkname, name
    differing = {"snapshot/snapshot.json", "snapshot/root/proc/uptime", "snapshot/cmd/dmesg.txt"}
    for name, data in py_files.items():
        if name in differing or name.startswith(("snapshot/cmd/ethtool-i.", "snapshot/cmd/ethtool-S.")):
            continue  # documented in docs/bundle.md (and counters move between two runs)
        if "/statistics/" in name or name.endswith(("/uevent",)):
            continue  # counters move
        assert sh_files[name] == data, name
    meta = json.loads(sh_files["snapshot/snapshot.json"])
    assert meta["format"] == 1 and meta["sample_interval_s"] == 0.3
    assert meta["collector"] == "accelnet-collect %s" % accelnet.__version__
    assert sh_files["snapshot/cmd/ethtool-S.syn0.0.txt"] == b"no stats available\n"
    assert sh_files["snapshot/cmd/ethtool-S.eth7.1.txt"].startswith(b"NIC statistics:\n")

    code_sh, report_sh = _diagnose(ours)
    code_py, report_py = _diagnose(theirs)
    assert code_sh == code_py == 3
    assert _strip_time(report_sh) == _strip_time(report_py)
    assert report_sh["interfaces"][0]["vf"]["name"] == "enP1s1"


def test_mode_overwrite_and_force(tmp_path):
    shell = shells()[0][1]
    bundle = tmp_path / "b.tar.gz"
    bundle.write_bytes(b"precious")
    proc = run_sh(shell, str(bundle), "--sample-seconds", "0", "--no-imds")
    assert proc.returncode != 0 and bundle.read_bytes() == b"precious"
    assert len(proc.stderr.strip().splitlines()) == 1 and "--force" in proc.stderr
    proc = run_sh(shell, str(bundle), "--sample-seconds", "0", "--no-imds", "--force")
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(os.stat(str(bundle)).st_mode) == 0o600
    assert "snapshot/snapshot.json" in members(bundle)[0]
    assert sorted(os.listdir(str(tmp_path))) == ["b.tar.gz"]  # no partial file left


@pytest.mark.parametrize("args", [
    [],
    ["a.tar.gz", "b.tar.gz"],
    ["x.tar.gz", "--sample-seconds", "-1"],
    ["x.tar.gz", "--sample-seconds", "abc"],
    ["x.tar.gz", "--sample-seconds", "3601"],
    ["x.tar.gz", "--sample-seconds"],
    ["x.tar.gz", "--bogus"],
    ["/nonexistent/dir/x.tar.gz", "--no-imds", "--sample-seconds", "0"],
])
def test_failures_are_one_line_on_stderr(args, tmp_path, shell):
    proc = subprocess.run(list(shell) + [SCRIPT] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, cwd=str(tmp_path), timeout=60)
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("accelnet-collect: "), proc.stderr
    assert os.listdir(str(tmp_path)) == []


# -- IMDS: a local stand-in full of secrets -------------------------------------------------------------

SECRETS = ["c2VjcmV0LXVzZXItZGF0YQ==", "Y3VzdG9tLWRhdGEtc2VjcmV0", "tag-password-hunter2", "ssh-rsa AAAAB3NzaC1yc2ETOPSECRET",
           "11111111-2222-3333-4444-555555555555", "203.0.113.77", "10.0.0.4", "/subscriptions/11111111"]
IMDS_DOC = {
    "compute": {
        "vmSize": "Standard_D8s_v5", "location": "westeurope", "name": "vm\"quoted\\name", "osType": "Linux",
        "vmId": "0d3a7e31-5b7c-4c7e-9d39-1f1e0c2f8a11", "resourceGroupName": "rg-prod", "vmScaleSetName": "",
        "zone": "2", "publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "24.04.202411",
        "userData": SECRETS[0], "customData": SECRETS[1], "tags": "password:" + SECRETS[2],
        "tagsList": [{"name": "password", "value": SECRETS[2]}, {"name": "accelnet", "value": "off"},
                     {"name": "accelnet-provision", "value": 'start again; by "accelnet-provision"'}],
        "publicKeys": [{"keyData": SECRETS[3], "path": "/home/azureuser/.ssh/authorized_keys"}],
        "subscriptionId": SECRETS[4], "resourceId": SECRETS[7] + "/resourceGroups/rg-prod",
        "storageProfile": {"imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                              "version": "latest", "id": ""},
                           "osDisk": {"name": "disk-" + SECRETS[4]}},
    },
    "network": {"interface": [
        {"macAddress": "000D3A2B3C4D", "ipv4": {"ipAddress": [{"privateIpAddress": SECRETS[6], "publicIpAddress": SECRETS[5]}]}},
        {"macAddress": "000D3A2B3C4E", "ipv4": {"ipAddress": [{"privateIpAddress": "10.0.1.4", "publicIpAddress": ""}]}},
    ]},
}
KEPT = {
    "compute": {k: IMDS_DOC["compute"][k] for k in (
        "vmSize", "location", "name", "osType", "vmId", "resourceGroupName", "vmScaleSetName", "zone",
        "publisher", "offer", "sku", "version")},
    "network": {"interface": [{"macAddress": "000D3A2B3C4D"}, {"macAddress": "000D3A2B3C4E"}]},
}
KEPT["compute"]["tagsList"] = IMDS_DOC["compute"]["tagsList"][1:]  # accelnet's own: the declared intent
KEPT["compute"]["storageProfile"] = {"imageReference": {k: IMDS_DOC["compute"]["storageProfile"]["imageReference"][k]
                                                        for k in ("publisher", "offer", "sku", "version")}}


@pytest.fixture
def imds():
    with FakeImds(IMDS_DOC) as server:
        yield server


@pytest.mark.parametrize("client", ["curl", "wget"])
def test_imds_is_redacted_to_the_allow_list(tmp_path, imds, client, shell):
    tool = require_tool(client, client)
    bindir = tool_dir(str(tmp_path), ("ethtool", "ip", "lspci", "dmesg"))
    os.symlink(tool, os.path.join(bindir, client))  # only this HTTP client on PATH
    bundle = tmp_path / "out" / "b.tar.gz"
    bundle.parent.mkdir()
    extra = {"ACCELNET_COLLECT_TEST_DMI_DIR": fake_dmi(str(tmp_path)), "PATH": bindir,
             "http_proxy": "http://127.0.0.1:9/", "HTTP_PROXY": "http://127.0.0.1:9/"}
    proc = run_sh(shell, str(bundle), "--sample-seconds", "0", "--imds-url", imds.url, extra_env=extra)
    assert proc.returncode == 0, proc.stderr
    _, files = members(bundle)
    assert json.loads(files["snapshot/cmd/imds.json"]) == KEPT
    everything = b"".join(files.values())
    with open(str(bundle), "rb") as handle:
        everything += handle.read()
    for secret in SECRETS:
        assert secret.encode() not in everything, secret
    # only leaves of the allow-list were asked for, each as text, with the Metadata header
    assert imds.requests and all(q.get("format") == ["text"] and h == "true" for _, q, h in imds.requests)
    asked = {p for p, _, _ in imds.requests}
    assert not any(p.rstrip("/").endswith(("instance", "compute", "network")) for p in asked)
    assert not any(s in p for p in asked for s in ("userData", "customData", "publicKeys", "ipv4"))
    # of the tags, each name, and the value of accelnet's own only (not the password's)
    tags = sorted(p.split("/tagsList/", 1)[1] for p in asked if "tags" in p)
    assert tags == ["0/name", "1/name", "1/value", "2/name", "2/value", "3/name"], tags  # 3: the end


def test_imds_never_asked_off_azure_or_with_no_imds(tmp_path, imds):
    shell = shells()[0][1]
    for tag, args in ((AZURE_ASSET_TAG, ["--no-imds"]), ("not-azure", [])):
        bundle = tmp_path / ("b-%s.tar.gz" % tag)
        dmi_root = tmp_path / ("dmi-" + tag)
        dmi_root.mkdir()
        extra = {"ACCELNET_COLLECT_TEST_DMI_DIR": fake_dmi(str(dmi_root), tag)}
        proc = run_sh(shell, str(bundle), "--sample-seconds", "0", "--imds-url", imds.url, *args, extra_env=extra)
        assert proc.returncode == 0, proc.stderr
        assert "snapshot/cmd/imds.json" not in members(bundle)[1]
    assert imds.requests == []
