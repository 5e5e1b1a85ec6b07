"""The real Azure CLI, for tests: installed once from PyPI into a cached venv, run logged out.

Logged out (a private, empty AZURE_CONFIG_DIR), `az` parses and validates a command's
arguments before it asks for credentials, so each argv tells its own verdict without any
request: an accepted command ends with "Please run 'az login' to setup account." (exit 1);
a wrong one exits 2 ("unrecognized arguments", "is not a valid value") or 1 with "are
required". Nothing reaches Azure: the CLI's one call that needs no login (its version check,
made when the config directory is new) is answered from a seeded versionCheck.json,
telemetry is off, and every HTTP(S) request would go to a loopback proxy that counts them.
"""

import concurrent.futures
import datetime
import fcntl
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

VERSION = "2.91.0"  # PyPI azure-cli, pinned: a new release is a deliberate change here
MIN_PYTHON = (3, 10)  # azure-cli 2.91.0: Requires-Python >=3.10.0
LOGIN = "ERROR: Please run 'az login' to setup account."
# Warnings a logged-out az prints for an argv it accepts (anything else fails the test).
EXPECTED_WARNINGS = ("WARNING: Subscription '",)
# az 2.91.0 announces a change of default for every Standard public IP created without
# --zone; the plan gives the zones wherever Azure lists some for the region, and a region
# without zones has none to give (and keeps today's behaviour), so only there is it expected.
IP_WITHOUT_ZONES = "WARNING: [Coming breaking change] In the coming release, the default " \
    "behavior will be changed as follows when sku is Standard and zone is not provided"
INSTALL_TIMEOUT = 1800.0


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "accelnet"


def _python_version(python: str) -> Optional[Tuple[int, int]]:
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=60).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def find_python() -> Optional[Tuple[str, Tuple[int, int]]]:
    """An interpreter azure-cli installs under: the system python3 first (what CI's apt
    installs, one cached venv for every test interpreter), then this one, then others."""
    seen = []
    for name in ("/usr/bin/python3", sys.executable, "python3", "python3.13", "python3.12",
                 "python3.11", "python3.10"):
        path = shutil.which(name)
        if path is None or path in seen:
            continue
        seen.append(path)
        version = _python_version(path)
        if version is not None and version >= MIN_PYTHON:
            return path, version
    return None


@dataclass(frozen=True)
class Install:
    az: Path
    fresh: bool  # installed by this call
    log: str


def installed_or_skip() -> Install:
    """azure-cli VERSION, installed when missing; the test is skipped (failed under CI=true)
    where it cannot be."""
    from testutil import require

    python = find_python()
    require(python is not None, f"needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ "
            "with venv (Debian python3-venv) for azure-cli")
    try:
        return ensure(*python)  # type: ignore[misc]
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        require(False, f"cannot install azure-cli {VERSION} from the package index: {exc}")
        raise


def ensure(python: str, version: Tuple[int, int]) -> Install:
    """The cached venv of azure-cli VERSION for this Python minor version, installed when
    missing (under a lock: parallel runs install once) and marked complete last, so a
    half-done install is redone rather than used."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"azure-cli-{VERSION}-py{version[0]}.{version[1]}"
    marker = venv / ".accelnet-complete"
    with open(str(venv) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return Install(venv / "bin" / "az", False, "")
        if venv.exists():
            shutil.rmtree(str(venv))
        steps = [[python, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                  "--disable-pip-version-check", f"azure-cli=={VERSION}"]]
        log = []
        for step in steps:
            proc = subprocess.run(step, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True, timeout=INSTALL_TIMEOUT)
            log.append(f"$ {' '.join(step)}\n{proc.stdout}")
            if proc.returncode != 0:
                raise RuntimeError(f"installing azure-cli {VERSION} failed:\n" + "\n".join(log))
        marker.write_text(VERSION + "\n")
        return Install(venv / "bin" / "az", True, "\n".join(log))


class CountingProxy:
    """A loopback listener given to az as its HTTP(S) proxy: it answers nothing and counts
    every connection, so a test can assert that no request was even tried."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.attempts: List[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.attempts.append(conn.recv(256))
                except OSError:
                    self.attempts.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class AliasServer:
    """The VM image alias document on loopback. `az vm create --image Ubuntu2204` fetches
    it (from azcliprod.blob.core.windows.net) before it asks for a login; this serves the
    copy az ships (azure.cli.command_modules.vm._alias), so the verdict is the one az would
    give online, and nothing leaves the machine."""

    def __init__(self, az: Path) -> None:
        python = az.parent / "python"
        self.document = subprocess.run(
            [str(python), "-c", "from azure.cli.command_modules.vm._alias import alias_json; "
             "import sys; sys.stdout.write(alias_json)"], stdout=subprocess.PIPE,
            universal_newlines=True, timeout=120, check=True).stdout.encode("utf-8")
        json.loads(self.document.decode("utf-8"))  # it is the JSON az expects
        self.requests = 0
        document = self.document
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server name)
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/aliases.json"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def config_dir(path: Path, az_version: str, alias_doc: str) -> Path:
    """An empty az config directory whose version check is already answered (a new one
    otherwise makes az fetch the latest version number from the internet) and whose cloud
    takes the image alias document from ``alias_doc``."""
    path.mkdir(parents=True)
    (path / "versionCheck.json").write_text(json.dumps({
        "versions": {"azure-cli": {"local": az_version}, "core": {"local": az_version}},
        "update_time": str(datetime.datetime.now())}))
    (path / "clouds.config").write_text(
        f"[AzureCloud]\nendpoint_vm_image_alias_doc = {alias_doc}\n")
    return path


def environment(config: Path, home: Path, proxy: CountingProxy) -> Dict[str, str]:
    """Every request but those to loopback (the alias document) goes to the counting
    proxy."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "LC_ALL": "C.UTF-8", "AZURE_CONFIG_DIR": str(config),
           "AZURE_CORE_COLLECT_TELEMETRY": "false", "AZURE_CORE_NO_COLOR": "true",
           "AZURE_CORE_SURVEY_MESSAGE": "false", "NO_PROXY": "127.0.0.1",
           "no_proxy": "127.0.0.1"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = proxy.url
    return env


@dataclass(frozen=True)
class Verdict:
    argv: Tuple[str, ...]
    accepted: bool
    reason: str  # why not, or ""
    returncode: int
    stderr: str


def classify(argv: Sequence[str], returncode: int, stderr: str) -> Verdict:
    """By text, as the issue says: only an argv that got as far as asking for a login was
    accepted; a deprecation (or any warning we do not expect) fails it too."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    warnings = [line for line in lines if line.startswith("WARNING")]
    deprecated = [line for line in lines if ("deprecat" in line.lower()
                                             or "will be removed" in line.lower())
                  and not line.startswith(IP_WITHOUT_ZONES)]
    expected = EXPECTED_WARNINGS
    if command_words(argv) == "network public-ip create" and "--zone" not in argv:
        expected += (IP_WITHOUT_ZONES,)
    unexpected = [w for w in warnings if not w.startswith(expected)]
    reason = ""
    if deprecated:
        reason = "deprecation: " + " | ".join(deprecated)
    elif unexpected:
        reason = "unexpected warning: " + " | ".join(unexpected)
    elif returncode == 2:
        reason = "exit 2 (a wrong argument): " + " | ".join(errors or lines[-1:])
    elif any("are required" in line or "is required" in line for line in errors):
        reason = "a required option is missing: " + " | ".join(errors)
    elif returncode != 1 or errors != [LOGIN]:
        reason = f"exit {returncode}, not the login error: " + " | ".join(lines[-3:])
    return Verdict(tuple(argv), not reason, reason, returncode, stderr)


DRIVER = Path(__file__).resolve().parent / "real_az_driver.py"


def _slots(work: Path, name: str, count: int, proxy: CountingProxy,
           alias_doc: str) -> List[Dict[str, str]]:
    """An environment per worker, each with its own config directory (az rewrites its
    caches there on every call)."""
    slots = []
    for index in range(count):
        base = work / f"{name}{index}"
        home = base / "home"
        home.mkdir(parents=True)
        slots.append(environment(config_dir(base / "azure", VERSION, alias_doc), home, proxy))
    return slots


def run_batched(az: Path, argvs: Sequence[Sequence[str]], work: Path, proxy: CountingProxy,
                alias_doc: str, workers: int = 2, timeout: float = 1200.0) -> List[Verdict]:
    """Every argv through real_az_driver.py: ``workers`` processes, each given its share."""
    slots = _slots(work, "batch", workers, proxy, alias_doc)
    shares = [list(argvs[index::workers]) for index in range(workers)]

    def one(index: int) -> List[Verdict]:
        proc = subprocess.run([str(az.parent / "python"), str(DRIVER)],
                              input="".join(json.dumps(list(a)) + "\n" for a in shares[index]),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=slots[index], timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"real_az_driver.py failed: {proc.stderr[-2000:]}")
        results = [json.loads(line) for line in proc.stdout.splitlines()]
        return [classify(r["argv"], r["code"], r["stderr"]) for r in results]

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(one, range(workers)))
    by_argv = {v.argv: v for share in done for v in share}
    return [by_argv[tuple(argv)] for argv in argvs]


def run_each(az: Path, argvs: Sequence[Sequence[str]], work: Path, proxy: CountingProxy,
             alias_doc: str, workers: int = 4, timeout: float = 300.0) -> List[Verdict]:
    """Each argv in its own az process, as a user runs it, ``workers`` at once."""
    slots = _slots(work, "each", workers, proxy, alias_doc)
    free: "List[int]" = list(range(workers))
    lock = threading.Lock()

    def one(argv: Sequence[str]) -> Verdict:
        with lock:
            slot = free.pop()
        try:
            proc = subprocess.run([str(az), *argv], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, env=slots[slot], timeout=timeout)
        finally:
            with lock:
                free.append(slot)
        return classify(argv, proc.returncode, proc.stderr)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, argvs))


def command_words(argv: Sequence[str]) -> str:
    """``vm get-instance-view`` of an argv: the words before the first option."""
    words = []
    for word in argv:
        if word.startswith("-"):
            break
        words.append(word)
    return " ".join(words)


def distinct(argvs: Iterator[Sequence[str]],
             key: Callable[[Sequence[str]], object]) -> List[Tuple[str, ...]]:
    """One argv per key (the first seen), in first-seen order."""
    kept: Dict[object, Tuple[str, ...]] = {}
    for argv in argvs:
        kept.setdefault(key(argv), tuple(argv))
    return list(kept.values())
