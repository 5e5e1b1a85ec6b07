"""accelnet-check on a live host: a namespace with a bridge standing in for hv_netvsc."""

import json
import subprocess
import sys

from accelnet.diagnosis.facts import Options, gather
from accelnet.kernel import netns
from accelnet.parsers.ethtool_text import parse_ethtool_permaddr
from accelnet.readers import live
from accelnet.readers.netdev import read_interfaces
from agentproc import env


def test_live_check_pairs_and_samples_in_a_namespace(ns):
    netns.add_bridge(ns, "syn0")
    netns.add_veth(ns, "enP1s1", "peer0")
    netns.set_master(ns, "enP1s1", "syn0")
    netns.add_veth(ns, "eth7", "peer7")  # not enslaved: not a VF
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "accelnet.cli.check", "--synthetic-drivers", "bridge",
         "--sample-seconds", "0.2", "--json", "--no-imds"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), timeout=60,
    )
    assert proc.returncode == 3, proc.stderr.decode()  # not an Azure VM: unknown, by contract
    report = json.loads(proc.stdout)
    assert [(i["name"], i["driver"], i["vf"]["name"], i["vf"]["driver"]) for i in report["interfaces"]] == [
        ("syn0", "bridge", "enP1s1", "veth")
    ]
    assert report["interfaces"][0]["datapath"] == "unknown"  # a bridge has no ethtool stats


def test_live_sampler_reads_twice_apart(ns):
    netns.add_veth(ns, "va", "vb")
    with netns.entered(ns):
        samples = live.sample_ethtool(["va", "gone0"], 0.2)
    first, second = samples["va"]
    assert first.state == second.state == "ok"
    assert list(first.stats) == list(second.stats) and "peer_ifindex" in first.stats
    assert 0.15 < second.monotonic - first.monotonic < 2
    assert [s.state for s in samples["gone0"]] == ["gone"]  # not read again, as a bundle records it


def test_virtual_drivers_come_from_ethtool(ns):
    netns.add_bridge(ns, "br9")
    netns.add_veth(ns, "va", "vb")

    def read():
        facts = gather(live.live_host(), Options(sample_seconds=0, imds=False))
        return {i.name: i.driver for i in facts.interfaces}

    drivers = netns.call_in_netns(ns, read, remount_sys=True)
    assert drivers == {"br9": "bridge", "va": "veth", "vb": "veth", "lo": None}  # lo: EOPNOTSUPP


def test_collect_then_snapshot_reads_like_live(ns, tmp_path):
    """--collect in a namespace, then --snapshot of the bundle: the same pairing and checks."""
    netns.add_bridge(ns, "syn0")
    netns.add_veth(ns, "enP1s1", "peer0")
    netns.set_master(ns, "enP1s1", "syn0")
    bundle = tmp_path / "bundle.tar.gz"
    common = ["--synthetic-drivers", "bridge", "--sample-seconds", "0", "--json", "--no-imds"]
    collected = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "accelnet.cli.check", "--collect", str(bundle)] + common,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), timeout=60,
    )
    live_run = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "accelnet.cli.check"] + common,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), timeout=60,
    )
    from_bundle, from_live = json.loads(collected.stdout), json.loads(live_run.stdout)
    assert from_bundle["interfaces"] == from_live["interfaces"]
    assert from_bundle["interfaces"][0]["vf"]["name"] == "enP1s1"
    assert [c["status"] for c in from_bundle["checks"]] == [c["status"] for c in from_live["checks"]]


def test_permanent_macs_from_the_gpermaddr_ioctl(ns):
    netns.add_veth(ns, "va", "vb")
    netns.ip("link", "set", "dev", "va", "address", "00:0d:3a:00:00:01", netns=ns)

    def read():
        host = live.live_host()
        interfaces = {i.name: i for i in read_interfaces(host)}
        return interfaces["va"].mac, host.capture("ethtool-P.va"), host.capture("ethtool-P.nonexistent")

    mac, perm, missing = netns.call_in_netns(ns, read, remount_sys=True)
    assert mac == "00:0d:3a:00:00:01"
    # veth has no permanent address: ethtool -P says "not set", which reads as no address;
    # an interface that does not exist has no capture at all
    assert parse_ethtool_permaddr(perm) is None and missing is None
