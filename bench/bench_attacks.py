"""What attacks cost: accelnet-check on hostile snapshots, scrapes under slow clients, and
hostile IMDS answers.

    python3 bench/bench_attacks.py [--scrapes 200] [--slow-clients 64] [--guessers 150]
                                   [--pipeliners 20] [--skip-snapshots] [--skip-scrapes] [--skip-imds]

Part 1 runs ``accelnet-check --snapshot`` in a fresh child per input and reads that child's
peak RSS and CPU from ``getrusage(RUSAGE_CHILDREN)`` of a measuring process that has no other
child: a well-formed bundle (the baseline), a 0.5 MiB archive with a 512 MiB PAX header, the
same with a GNU long name, a 1,500-deep directory tree, a snapshot of symlink chains built to
burn CPU in link resolution, back-to-back PAX headers of fresh keys, and archives the limits
accept built to cost memory (PAX metadata at its bounds, 1 MiB ethtool captures of fresh
names, 199,000 entries in one directory): every one must stay within 64 MiB.

Part 2 starts the real agent on a fixture and times sequential scrapes with no attacker (the
baseline, before and after the attacks), then while N clients hold connections (one header
line every 3 s, or idle TCP connections), 150 clients from 150 addresses sending a wrong
basic-auth password, and 20 connections each pipelining 1,500 GETs and never reading, on
plain HTTP and on TLS, basic auth on (the scraper's credentials cached, as Prometheus's are
after its first scrape). The attackers run in a forked child (the scraper here shares no
interpreter lock with them); ratios are against the two unloaded runs of the same server,
pooled (the target: p99 within 3x).

Part 3 times what a hostile IMDS (a stand-in on loopback) costs each client against an
honest one: accelnet-collect under dash and busybox sh (the whole run, curl), the check's
fetch, and the agent's --once refresh; the servers redirect elsewhere, answer 1 MiB, or drip
one byte every 1.5 s; and the agent's refresh against an IMDS that never answers at all (its
refresh deadline).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(REPO, "agent"), os.path.join(REPO, "tests", "security"),
                os.path.join(REPO, "tests", "web"), os.path.join(REPO, "tests", "collect"),
                os.path.join(REPO, "tests")]

from agent import Agent, SlowClients, scrape_latencies  # noqa: E402
from webhelpers import PipeliningReaders, WrongPasswordClients  # noqa: E402
from hostile import (FIXTURES, big_captures_archive, deep_tree_archive, fixture_archive, header_bomb,  # noqa: E402
                     pax_pileup, run_check, wide_archive)
from imdsserver import FakeImds, fixture_host, recorded_capture  # noqa: E402


def link_chain_snapshot(top: str, chains: int = 200, hops: int = 38) -> str:
    """A snapshot directory with ``chains`` extra interfaces, each a link of ``hops`` link
    hops and ~1,600 path components (``/a/a/.../d/../d/../sys``, ``a -> .``), so that every
    attribute read of every interface pays a long resolution."""
    import shutil

    shutil.copytree(os.path.join(REPO, "fixtures", "hosts", "ubuntu2204-cx5-2nics"), top, symlinks=True)
    net = os.path.join(top, "root", "sys", "class", "net")
    os.symlink(".", os.path.join(top, "root", "a"))
    os.mkdir(os.path.join(top, "root", "d"))
    for i in range(chains):
        os.symlink("/" + "a/" * hops + "d/../" * 790 + "sys", os.path.join(net, f"chain{i}"))
    return top


def part1(work: str) -> None:
    inputs = [
        ("well-formed bundle (baseline)", fixture_archive(os.path.join(work, "good.tar.gz"))),
        ("512 MiB PAX header bomb", header_bomb(os.path.join(work, "pax.tar.gz"), b"x")),
        ("512 MiB GNU long-name bomb", header_bomb(os.path.join(work, "gnu.tar.gz"), b"L")),
        ("1,500-deep directory tree", deep_tree_archive(os.path.join(work, "deep.tar.gz"), 1500)),
        ("symlink chains (directory)", link_chain_snapshot(os.path.join(work, "chains"))),
        ("PAX pile-up, 600 x 60 KiB fresh keys", pax_pileup(os.path.join(work, "pileup.tar.gz"), headers=600)),
        ("PAX at its limits, 500 members", pax_pileup(os.path.join(work, "paxok.tar.gz"), headers=1, members=500)),
        ("1 MiB ethtool -S of fresh names", big_captures_archive(os.path.join(work, "stats.tar.gz"))),
        ("199,000 interfaces in a directory", wide_archive(os.path.join(work, "net.tar.gz"))),
        ("199,000 PCI devices in a directory", wide_archive(os.path.join(work, "pci.tar.gz"),
                                                             where="sys/bus/pci/devices")),
    ]
    print("accelnet-check --snapshot, one fresh child each (any archive: peak RSS at most 64 MiB)")
    print(f"{'input':34} {'size':>10} {'rc':>3} {'peak RSS':>11} {'CPU s':>7} {'wall s':>7} {'RSS x':>6} {'wall x':>6}")
    base = None
    for name, path in inputs:
        size = os.path.getsize(path) if os.path.isfile(path) else 0
        r = run_check(["--snapshot", path, "--sample-seconds", "0", "-t", "600"], env={"TMPDIR": work}, timeout=1800)
        if base is None:
            base = r
        print(f"{name:34} {size / 1024:>8.0f}Ki {r['rc']:>3} {r['maxrss_kib'] / 1024:>8.1f}MiB "
              f"{r['cpu_s']:>7.2f} {r['wall_s']:>7.2f} {r['maxrss_kib'] / base['maxrss_kib']:>6.2f} "
              f"{r['wall_s'] / base['wall_s']:>6.2f}")
        first = (r["stderr"].strip().splitlines() or r["stdout"].strip().splitlines() or [""])[0]
        if r["rc"] == 3 and first:
            print(f"{'':34} -> {first[:110]}")
        if r["maxrss_kib"] > 64 * 1024:
            print(f"{'':34} !! over 64 MiB")
    left = [n for n in os.listdir(work) if n.startswith("accelnet-snapshot-")]
    print(f"temporary directories left behind: {len(left)}")


def _pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


class _InChild:
    """Attackers run by a forked child: the scraper measured here shares no interpreter (GIL)
    with 150 attacker threads, so its latencies are the server's. ``close`` stops them and
    returns what they got (the statuses of their answers, when they count them)."""

    def __init__(self, start) -> None:
        import multiprocessing

        fork = multiprocessing.get_context("fork")
        self._conn, child_end = fork.Pipe()
        self._proc = fork.Process(target=self._run, args=(start, child_end), daemon=True)
        self._proc.start()
        self._receive(120)  # connected and sending

    @staticmethod
    def _run(start, conn) -> None:
        try:
            attackers = start()
        except Exception as e:  # the parent says why instead of waiting for "ready" forever
            conn.send(RuntimeError("attackers did not start: %r" % (e,)))
            return
        conn.send("ready")
        conn.recv()
        attackers.close()
        conn.send(dict(getattr(attackers, "statuses", {})))

    def _receive(self, timeout: float):
        if not self._conn.poll(timeout):
            self._proc.terminate()
            raise RuntimeError("the attackers' process did not answer within %g s" % timeout)
        got = self._conn.recv()
        if isinstance(got, Exception):
            self._proc.join(60)
            raise got
        return got

    def close(self) -> dict:
        self._conn.send("stop")
        got = self._receive(120)
        self._proc.join(60)
        return got


def part2(work: str, scrapes: int, slow: int, guessers: int, pipeliners: int) -> None:
    import bcrypt
    from webhelpers import make_pki

    pki_dir = os.path.join(work, "pki")
    os.mkdir(pki_dir)
    pki = make_pki(pki_dir)
    users = "basic_auth_users:\n  alice: %s\n" % bcrypt.hashpw(b"secret", bcrypt.gensalt(10)).decode()
    alice = {"Authorization": "Basic YWxpY2U6c2VjcmV0"}
    print(f"\nscrape latency of the real agent (basic auth, bcrypt cost 10; the scraper's credentials "
          f"cached), {scrapes} sequential scrapes each, attackers in another process; ratios against "
          f"the unloaded runs before and after them, pooled")
    print(f"{'server':6} {'attackers':44} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p50 x':>6} {'p99 x':>6}  answers to the attackers")
    modes = [
        (None, "none (baseline, before)"),
        ("drip", f"{slow} x one header line / 3 s"),
        ("idle", f"{slow} x idle TCP connection"),
        ("guess", f"{guessers} x wrong password, {guessers} addresses"),
        ("pipeline", f"{pipeliners} x 1,500 pipelined GETs, never read"),
        (None, "none (baseline, after)"),
    ]
    for tls in (False, True):
        config = os.path.join(work, f"web-{tls}.yml")
        with open(config, "w") as f:
            f.write((f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
                     if tls else "") + users)
        agent = Agent(work, config)
        ctx = pki.client_context() if tls else None
        port = agent.port
        starts = {
            "drip": lambda: SlowClients(port, slow, "drip", every=3.0, context=ctx),
            "idle": lambda: SlowClients(port, slow, "idle", every=3.0, context=ctx),
            "guess": lambda: WrongPasswordClients(port, guessers, sources=guessers, context=ctx),
            "pipeline": lambda: PipeliningReaders(port, pipeliners, 1500, context=ctx,
                                                  headers="Authorization: Basic YWxpY2U6c2VjcmV0\r\n"),
        }
        rows = []
        try:
            agent.wait_serving(ctx)
            assert agent.status(context=ctx, headers=alice) == 200
            for mode, label in modes:
                attackers = _InChild(starts[mode]) if mode else None
                got = {}
                try:
                    time.sleep(1.0 if mode else 0)
                    lat = scrape_latencies(agent, scrapes, ctx, headers=alice, timeout=30.0, interval=0.05)
                finally:
                    if attackers is not None:
                        got = attackers.close()
                assert agent.proc.poll() is None, agent.log()[-2000:]
                rows.append((mode, label, lat, got))
        finally:
            agent.stop()
        unloaded = [x for mode, _, lat, _ in rows if mode is None for x in lat]
        base = (statistics.median(unloaded), _pct(unloaded, 99))
        for mode, label, lat, got in rows:
            p50, p99 = statistics.median(lat), _pct(lat, 99)
            answers = ", ".join(f"{n} x {status}" for status, n in sorted(got.items()))
            print(f"{'TLS' if tls else 'HTTP':6} {label:44} {p50 * 1000:>8.1f} {p99 * 1000:>8.1f} "
                  f"{max(lat) * 1000:>8.1f} {p50 / base[0]:>6.2f} {p99 / base[1]:>6.2f}  {answers}")
        print(f"{'TLS' if tls else 'HTTP':6} {'none (baseline, pooled)':44} {base[0] * 1000:>8.1f} {base[1] * 1000:>8.1f}")


def _timed(action) -> float:
    started = time.monotonic()
    try:
        action()
    except OSError:
        pass
    return time.monotonic() - started


def part3(work: str) -> None:
    import json
    import threading

    from shcollect import fake_dmi, run_sh, shells

    from accelnet.agent.daemon import REFRESH_DEADLINE_S, Agent as InProcessAgent, AgentConfig
    from accelnet.readers.platform import fetch_imds

    fixture = os.path.join(FIXTURES, "ubuntu2204-cx5-2nics")
    doc = json.loads(recorded_capture(fixture, "imds") or "{}")
    dmi = fake_dmi(work)
    runs = [0]

    def collect(shell, url: str) -> None:
        runs[0] += 1
        out = os.path.join(work, f"collect-{runs[0]}.tar.gz")
        proc = run_sh(shell, out, "--sample-seconds", "0", "--imds-url", url,
                      extra_env={"ACCELNET_COLLECT_TEST_DMI_DIR": dmi}, timeout=600)
        assert proc.returncode == 0, proc.stderr

    def once(url: str) -> None:
        runs[0] += 1
        config = AgentConfig(textfile=os.path.join(work, f"once-{runs[0]}.prom"), web=False)
        agent = InProcessAgent(config, open_host=lambda bound: fixture_host(fixture, url, bound=bound))
        try:
            agent.run_once()
        finally:
            agent.stop()

    clients = [(f"accelnet-collect ({name} sh)", lambda url, sh=sh: collect(sh, url)) for name, sh in shells()]
    clients += [("accelnet-check IMDS fetch", fetch_imds), ("accelnet-agent --once", once)]
    print("\nIMDS answers: wall seconds per client, and against the honest IMDS")
    print(f"{'client':30} {'honest':>8} {'redirect':>9} {'1 MiB':>8} {'drip':>8} {'drip x':>7}")
    with FakeImds(doc) as elsewhere:
        for label, client in clients:
            times = []
            for mode in ("azure", "redirect", "huge", "drip"):
                with FakeImds(doc, mode=mode, redirect_to=elsewhere.url, huge_bytes=1 << 20, drip_s=1.5) as imds:
                    times.append(_timed(lambda: client(imds.url)))
            print(f"{label:30} {times[0]:>8.2f} {times[1]:>9.2f} {times[2]:>8.2f} {times[3]:>8.2f} "
                  f"{times[3] / times[0]:>7.1f}")
        assert elsewhere.requests == [], "a redirect was followed"
    release = threading.Event()
    agent = InProcessAgent(AgentConfig(web=False, events=False),
                           open_host=lambda bound: fixture_host(fixture, imds=lambda: release.wait(600) and None,
                                                                bound=bound))
    try:
        spent = _timed(agent.start)
    finally:
        release.set()
        agent.stop()
    print(f"{'agent refresh, IMDS hung':30} {spent:>8.2f} s (refresh deadline {REFRESH_DEADLINE_S:g} s; "
          f"heartbeat {'moved' if agent.heartbeat is not None else 'STOPPED'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--slow-clients", type=int, default=64)
    parser.add_argument("--guessers", type=int, default=150)
    parser.add_argument("--pipeliners", type=int, default=20)
    parser.add_argument("--skip-snapshots", action="store_true")
    parser.add_argument("--skip-scrapes", action="store_true")
    parser.add_argument("--skip-imds", action="store_true")
    args = parser.parse_args()
    print("python %s, %d CPUs, load average %.1f %.1f %.1f (figures are this machine's, under that load)"
          % ((sys.version.split()[0], os.cpu_count()) + os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="bench-attacks-") as work:
        if not args.skip_snapshots:
            part1(work)
        if not args.skip_scrapes:
            part2(work, args.scrapes, args.slow_clients, args.guessers, args.pipeliners)
        if not args.skip_imds:
            part3(work)


if __name__ == "__main__":
    main()
