"""systemd's notify protocol (sd_notify(3)) without libsystemd.

The unit is ``Type=notify`` with a watchdog: the agent says READY=1 after its first
discovery, WATCHDOG=1 on half the unit's interval as long as its background refresh last
succeeded recently (the ping vouches for that refresh, never for a loop that merely runs),
STOPPING=1 on the way out. The protocol is
one datagram per message to the AF_UNIX socket named by $NOTIFY_SOCKET, so a dependency on
python-systemd would buy nothing. Outside systemd every call is a cheap no-op returning
False, so the daemon needs no "am I under systemd" branches.
"""

import logging
import os
import socket
from typing import Mapping, Optional

__all__ = ["notify", "notify_socket_address", "watchdog_interval"]

log = logging.getLogger("accelnet.agent.sdnotify")


def notify_socket_address(value: Optional[str]) -> Optional[str]:
    """The AF_UNIX address for a $NOTIFY_SOCKET value: a path, or "@name" for the abstract
    namespace (a leading NUL byte). None when unset or of a kind not spoken here
    (systemd 254+ also allows ``vsock:CID:PORT`` for VMs, which a guest agent does not need)."""
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def notify(state: str, environ: Optional[Mapping[str, str]] = None) -> bool:
    """Send ``state`` (e.g. "READY=1", "WATCHDOG=1", "STATUS=...", several joined by
    newlines) to systemd. True when the datagram was sent; False when not under systemd or
    the send failed (logged at debug: losing a notification must never stop the agent)."""
    env = os.environ if environ is None else environ
    address = notify_socket_address(env.get("NOTIFY_SOCKET"))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode("utf-8"), address)
        return True
    except OSError as e:
        log.debug("sd_notify %r to %r failed: %s", state, env.get("NOTIFY_SOCKET"), e)
        return False


def watchdog_interval(environ: Optional[Mapping[str, str]] = None,
                      pid: Optional[int] = None) -> Optional[float]:
    """Seconds between WATCHDOG=1 pings, or None when no watchdog is asked of this process.

    Follows sd_watchdog_enabled(3): $WATCHDOG_USEC must be a positive integer and, when
    $WATCHDOG_PID is set, it must be this process's pid (else the watchdog is meant for
    another process). The result is half of WATCHDOG_USEC, the interval systemd recommends.
    """
    env = os.environ if environ is None else environ
    usec_text = env.get("WATCHDOG_USEC")
    if not usec_text:
        return None
    try:
        usec = int(usec_text)
    except ValueError:
        log.debug("ignoring WATCHDOG_USEC=%r: not an integer", usec_text)
        return None
    if usec <= 0:
        return None
    pid_text = env.get("WATCHDOG_PID")
    if pid_text:
        try:
            owner = int(pid_text)
        except ValueError:
            log.debug("ignoring WATCHDOG_PID=%r: not an integer", pid_text)
            return None
        if owner != (os.getpid() if pid is None else pid):
            return None
    return usec / 2e6
