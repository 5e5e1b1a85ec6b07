"""The agent on the real kernel: a network namespace, veth "VFs", a bridge standing in for
hv_netvsc (``--synthetic-drivers bridge``). Every VF flap between two scrapes is counted."""

import re
import subprocess
import sys
import time

import pytest

from accelnet.kernel import netns
from agentproc import REPO, command, env, stop

PORT = 9837
SCRAPE = (
    "import sys, urllib.request\n"
    "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())\n"
)


def scrape(ns: str, path: str = "/metrics") -> str:
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", SCRAPE, f"http://127.0.0.1:{PORT}{path}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, env=env(),
    )
    if proc.returncode != 0:
        raise OSError(proc.stderr.decode())
    return proc.stdout.decode()


def value(body: str, metric: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in body.splitlines():
        match = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
        if match and match.group(1) == metric and ",".join(sorted(match.group(2).split(","))) == wanted:
            return float(match.group(3))
    raise KeyError(f"{metric}{{{wanted}}} not in scrape")


#: The names the agent's interfaces get: (synthetic bridge, VF). A name is bytes, not always
#: UTF-8; subprocess writes os.listdir's surrogates back as the bytes they stand for.
NAMES = ("syn0", "vf0")


@pytest.fixture
def agent_in_ns(ns, request):
    syn, vf = getattr(request, "param", NAMES)
    netns.ip("link", "set", "lo", "up", netns=ns)
    netns.add_bridge(ns, syn)
    netns.ip("link", "set", syn, "up", netns=ns)
    netns.add_veth(ns, vf, "vf0peer")
    netns.set_master(ns, vf, syn)
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns] + command(
            "--synthetic-drivers", "bridge", "--web.listen-address", f"127.0.0.1:{PORT}", "--no-imds",
            "--check.interval", "5",
        ),
        env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            scrape(ns, "/-/ready")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                pytest.fail(f"agent did not come up in {ns}: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    yield ns, proc
    stop(proc)


def test_vf_discovered_with_bridge_as_master(agent_in_ns):
    ns, _ = agent_in_ns
    body = scrape(ns)
    assert value(body, "accelnet_vf_present", device="syn0") == 1
    assert 'accelnet_vf_info{' in body and 'vf="vf0"' in body
    assert value(body, "accelnet_vf_events_total", device="syn0", event="removed") == 0
    assert "accelnet_vf_event_resyncs_total 0.0" in body


@pytest.mark.parametrize("agent_in_ns", [("syn\udcff", 'vf\udcfe"\\')], indirect=True)
def test_interface_names_that_are_not_utf8_are_served(agent_in_ns):
    """The agent once stopped at start-up (UnicodeEncodeError in the ethtool ioctl), and a
    page could not hold the name: each byte that is not UTF-8 is written \\xff."""
    ns, proc = agent_in_ns
    body = scrape(ns)
    assert value(body, "accelnet_vf_present", device="syn\\\\xff") == 1
    assert 'vf="vf\\\\xfe\\"\\\\"' in body
    assert proc.poll() is None


def test_200_flaps_between_two_scrapes_are_all_counted(agent_in_ns):
    ns, proc = agent_in_ns
    before = scrape(ns)
    assert value(before, "accelnet_vf_events_total", device="syn0", event="removed") == 0
    flaps = 200
    for _ in range(flaps):  # one `ip` per change, as a host servicing event would pace them
        netns.set_master(ns, "vf0", None)
        netns.set_master(ns, "vf0", "syn0")
    deadline = time.monotonic() + 30
    while True:
        after = scrape(ns)
        removed = value(after, "accelnet_vf_events_total", device="syn0", event="removed")
        added = value(after, "accelnet_vf_events_total", device="syn0", event="added")
        present = value(after, "accelnet_vf_present", device="syn0")
        if ((removed, added), present) == ((flaps, flaps), 1) or time.monotonic() > deadline:
            break  # discovery settles a moment after the last event
        time.sleep(0.2)
    assert (removed, added) == (flaps, flaps)
    assert present == 1
    assert proc.poll() is None


def test_vf_deleted_and_recreated_under_a_new_name(agent_in_ns):
    ns, _ = agent_in_ns
    netns.delete_link(ns, "vf0")
    netns.add_veth(ns, "enP1s1", "enP1s1peer")
    netns.set_master(ns, "enP1s1", "syn0")
    deadline = time.monotonic() + 30
    while True:
        body = scrape(ns)
        if 'vf="enP1s1"' in body or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert 'vf="enP1s1"' in body  # rediscovered after the event, without waiting a period
    assert value(body, "accelnet_vf_events_total", device="syn0", event="removed") == 1
    assert value(body, "accelnet_vf_events_total", device="syn0", event="added") == 1
