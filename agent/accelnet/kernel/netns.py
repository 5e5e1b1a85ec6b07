"""Throw-away network namespaces for tests, benchmarks and tools.

Why three ways in: the readers in this package (ethtool ioctl, rtnetlink) take the namespace
of the thread that opens their socket, so ``entered()`` (setns of the calling thread, undone
on exit) is enough for them and keeps the test in-process. Code that reads sysfs needs a
``/sys`` mounted from inside the namespace (``unshare -n`` alone keeps the parent's), which
``call_in_netns(..., remount_sys=True)`` provides in a dedicated thread with a private mount
namespace, and ``run_python()`` provides in a child process via ``ip netns exec``.

Names are unique (``an-test-`` + random) and the namespace is always deleted, also when the
body raises.
"""

import contextlib
import ctypes
import ctypes.util
import os
import secrets
import subprocess
import sys
import threading
from typing import Any, Callable, Iterator, List, Optional, Sequence

CLONE_FS = 0x00000200
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
NETNS_RUN_DIR = "/run/netns"
PREFIX = "an-test-"

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class NetnsError(Exception):
    """A namespace operation failed (message carries the command and its stderr)."""


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise NetnsError("%s: %s" % (what, os.strerror(err)))


def _setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def ip(*args: str, netns: Optional[str] = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``ip [-n NS] ARGS``; a failure raises NetnsError with ip's own message."""
    cmd = ["ip"] + (["-n", netns] if netns else []) + list(args)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if check and proc.returncode != 0:
        raise NetnsError("%s: %s" % (" ".join(cmd), proc.stderr.strip()))
    return proc


def ip_batch(lines: Sequence[str], netns: Optional[str] = None, force: bool = False) -> None:
    """Many ip commands in one process (``ip -batch -``), to make event bursts fast."""
    cmd = ["ip"] + (["-n", netns] if netns else []) + (["-force"] if force else []) + ["-batch", "-"]
    proc = subprocess.run(cmd, input="\n".join(lines) + "\n", stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    if proc.returncode != 0 and not force:
        raise NetnsError("ip -batch: %s" % proc.stderr.strip())


def unique_name(prefix: str = PREFIX) -> str:
    return prefix + secrets.token_hex(4)


def create(name: Optional[str] = None) -> str:
    name = name or unique_name()
    ip("netns", "add", name)
    ip("link", "set", "lo", "up", netns=name)
    return name


def delete(name: str) -> None:
    """Delete the namespace; interfaces inside it go with it. Missing is not an error."""
    if os.path.exists(os.path.join(NETNS_RUN_DIR, name)):
        ip("netns", "del", name, check=False)


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_RUN_DIR, name))


@contextlib.contextmanager
def namespace(name: Optional[str] = None) -> Iterator[str]:
    """A fresh namespace for the duration of the block, deleted however the block ends."""
    created = create(name)
    try:
        yield created
    finally:
        delete(created)


def add_veth(netns: str, name: str, peer: str, queues: Optional[int] = None) -> None:
    """A veth pair; ``queues`` sets the maximum channel count (``ethtool -L`` limit)."""
    q = ["numtxqueues", str(queues), "numrxqueues", str(queues)] if queues else []
    ip("link", "add", "name", name, *q, "type", "veth", "peer", "name", peer, *q, netns=netns)


def add_bridge(netns: str, name: str) -> None:
    ip("link", "add", "name", name, "type", "bridge", netns=netns)


def set_master(netns: str, ifname: str, master: Optional[str]) -> None:
    if master is None:
        ip("link", "set", "dev", ifname, "nomaster", netns=netns)
    else:
        ip("link", "set", "dev", ifname, "master", master, netns=netns)


def delete_link(netns: str, ifname: str) -> None:
    ip("link", "del", "dev", ifname, netns=netns)


def rename_link(netns: str, old: str, new: str) -> None:
    ip("link", "set", "dev", old, "name", new, netns=netns)


def link_names(netns: str) -> List[str]:
    out = ip("-o", "link", "show", netns=netns).stdout
    return [line.split(":", 2)[1].strip().split("@", 1)[0] for line in out.splitlines() if line.strip()]


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Move the calling thread into namespace ``name`` for the block, then back.

    Sockets opened inside keep the namespace after the block; threads started inside inherit
    it. /sys is *not* remounted: only netlink/ioctl code sees the namespace correctly.
    """
    with open(os.path.join(NETNS_RUN_DIR, name), "rb") as target, \
            open("/proc/thread-self/ns/net", "rb") as home:
        _setns(target.fileno(), CLONE_NEWNET)
        try:
            yield
        finally:
            _setns(home.fileno(), CLONE_NEWNET)


def _private_sysfs() -> None:
    """Give this thread its own mount namespace with a /sys of its current netns."""
    _check(_libc.unshare(CLONE_FS | CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_SLAVE, None), "mount --make-rslave /")
    _check(_libc.umount2(b"/sys", 2), "umount -l /sys")  # MNT_DETACH
    _check(_libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mount sysfs")


def call_in_netns(name: str, fn: Callable[..., Any], *args: Any, remount_sys: bool = False,
                  timeout: Optional[float] = 60.0) -> Any:
    """Run ``fn(*args)`` in a dedicated thread inside namespace ``name`` and return its result
    (its exception is re-raised here). With ``remount_sys`` the thread also gets a private
    mount namespace whose /sys shows the namespace's interfaces; the thread never returns to
    the host namespace, it simply ends."""
    result: dict = {}

    def runner() -> None:
        try:
            with open(os.path.join(NETNS_RUN_DIR, name), "rb") as target:
                _setns(target.fileno(), CLONE_NEWNET)
            if remount_sys:
                _private_sysfs()
            result["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    thread = threading.Thread(target=runner, name="netns-%s" % name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise NetnsError("call_in_netns(%s): still running after %ss" % (name, timeout))
    if "error" in result:
        raise result["error"]
    return result.get("value")


def run_python(name: str, code: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run Python ``code`` in a child process inside ``name`` (own /sys via ip netns exec),
    with this package importable."""
    agent_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = agent_dir + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", code],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env, timeout=timeout)
