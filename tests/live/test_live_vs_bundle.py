"""A live check and the check of its own bundle give the same report (issue 10 item 6): on a
namespace host (a bridge standing in for hv_netvsc, a veth "VF" enslaved to it), the live
check, ``--collect`` and ``--snapshot`` of the bundle agree on everything but the time."""

import json
import subprocess
import sys

from accelnet.kernel import netns
from agentproc import env

COMMON = ["--synthetic-drivers", "bridge", "--sample-seconds", "0.2", "--no-imds", "--json"]


def _time_free(value):
    """The report without the fields that say when (they differ between two runs)."""
    if isinstance(value, dict):
        return {k: _time_free(v) for k, v in value.items()
                if k not in ("time", "captured_at", "uptime_s") and not k.endswith("_at")}
    if isinstance(value, list):
        return [_time_free(v) for v in value]
    return value


def _check(ns, *args):
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "accelnet.cli.check", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), timeout=120)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


def test_live_check_equals_the_check_of_its_bundle(ns, tmp_path):
    netns.add_bridge(ns, "syn0")
    netns.add_veth(ns, "enP1s1", "peer0")
    netns.set_master(ns, "enP1s1", "syn0")
    netns.ip("link", "set", "dev", "enP1s1", "address", "00:0d:3a:00:00:01", netns=ns)
    netns.add_bridge(ns, "syn1")  # a second synthetic NIC, without a VF
    netns.add_veth(ns, "eth7", "peer7")  # not enslaved: not a VF
    netns.ip("link", "set", "dev", "syn0", "up", netns=ns)
    netns.ip("addr", "add", "192.0.2.10/24", "dev", "syn0", netns=ns)
    bundle = tmp_path / "bundle.tar.gz"

    live_code, live_report = _check(ns, *COMMON)
    collect_code, collected = _check(ns, "--collect", str(bundle), *COMMON)
    snap_code, from_bundle = _check(ns, "--snapshot", str(bundle), *COMMON)

    assert live_code == collect_code == snap_code == 3  # not an Azure VM: unknown, by contract
    assert _time_free(collected) == _time_free(from_bundle)
    assert _time_free(live_report) == _time_free(from_bundle)
    names = [(i["name"], (i["vf"] or {}).get("name")) for i in live_report["interfaces"]]
    assert names == [("syn0", "enP1s1"), ("syn1", None)]
