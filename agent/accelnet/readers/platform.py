"""What the host is: Azure or not (DMI), distribution, kernel, and the IMDS document.

IMDS is only asked when DMI says Azure: on any other machine 169.254.169.254 is someone
else's address (or a black hole that costs a timeout), so a diagnostic must not touch it.
"""

import io
import time
from typing import TYPE_CHECKING, Any, Optional

from accelnet.readers.host import Host
from accelnet.records import dataclass

if TYPE_CHECKING:  # imported where IMDS is asked, not by importing this
    import socket

DMI = "/sys/class/dmi/id"
#: The asset tag Hyper-V sets on every Azure VM (and only there); on-premises Hyper-V VMs
#: carry a per-VM serial in that field instead.
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"
MICROSOFT = "Microsoft Corporation"

IMDS_DEFAULT_URL = "http://169.254.169.254/metadata/instance?api-version=2021-02-01"
#: One deadline for the whole fetch (connect, request, status line, headers, body): a
#: per-read timeout lets a server that drips a byte a second hold the caller for ever.
IMDS_DEADLINE_S = 5.0
IMDS_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Dmi:
    sys_vendor: Optional[str]
    product_name: Optional[str]
    chassis_asset_tag: Optional[str]
    bios_version: Optional[str]

    @property
    def readable(self) -> bool:
        return any((self.sys_vendor, self.product_name, self.chassis_asset_tag))

    @property
    def is_azure(self) -> Optional[bool]:
        """True/False from DMI; None when DMI cannot tell: unreadable, or a Hyper-V VM whose
        asset tag is missing (Azure and on-premises Hyper-V differ only there)."""
        if not self.readable:
            return None
        if self.chassis_asset_tag == AZURE_ASSET_TAG:
            return True
        if self.chassis_asset_tag is None and self.is_hyperv:
            return None
        return False

    @property
    def is_hyperv(self) -> bool:
        return self.sys_vendor == MICROSOFT and self.product_name == "Virtual Machine"

    @property
    def generation(self) -> Optional[int]:
        """Hyper-V generation: Gen2 firmware calls itself "Hyper-V UEFI"."""
        if not self.is_hyperv or not self.bios_version:
            return None
        return 2 if "UEFI" in self.bios_version else 1


def read_dmi(host: Host) -> Dmi:
    return Dmi(
        sys_vendor=host.read_attr(f"{DMI}/sys_vendor"),
        product_name=host.read_attr(f"{DMI}/product_name"),
        chassis_asset_tag=host.read_attr(f"{DMI}/chassis_asset_tag"),
        bios_version=host.read_attr(f"{DMI}/bios_version"),
    )


def read_os_release_text(host: Host) -> Optional[str]:
    """os-release(5): /etc/os-release, falling back to /usr/lib/os-release."""
    return host.read_text("/etc/os-release", limit=65536) or host.read_text(
        "/usr/lib/os-release", limit=65536
    )


def read_kernel_release(host: Host) -> Optional[str]:
    """What ``uname -r`` prints; /proc keeps it for us, so snapshots have it too."""
    return host.read_attr("/proc/sys/kernel/osrelease")


def count_cpus(host: Host) -> Optional[int]:
    text = host.read_text("/proc/cpuinfo")
    if not text:
        return None
    count = sum(1 for line in text.splitlines() if line.split(":")[0].strip() == "processor")
    return count or None


def fetch_imds(url: str = IMDS_DEFAULT_URL, deadline_s: float = IMDS_DEADLINE_S) -> str:
    """The IMDS instance document, asked the way Azure requires: ``Metadata: true``, no proxy.

    Only a ``200`` is an answer: Azure's IMDS never redirects, so a 3xx is a failure and is
    never followed (the header and the trust would go to whoever it points at). The whole
    fetch has one deadline, ``deadline_s``, and the body at most IMDS_MAX_BYTES.

    Raises OSError (timeouts and refused answers included) on any failure.
    """
    import http.client  # only the live host on Azure pays for these
    import socket
    import urllib.parse

    deadline = time.monotonic() + deadline_s
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OSError(f"IMDS URL {url!r} is not an http:// URL")
    try:
        port = parts.port
    except ValueError:
        raise OSError(f"IMDS URL {url!r} has a bad port") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    base = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = _deadline_connection(base)(parts.hostname, port, timeout=deadline_s)
    conn.deadline = deadline
    try:
        conn.request("GET", target, headers={"Metadata": "true"})
        response = conn.getresponse()
        if response.status != 200:
            redirect = " (a redirect: never followed)" if 300 <= response.status < 400 else ""
            raise OSError(f"IMDS answered {response.status} {response.reason}{redirect}")
        data = response.read(IMDS_MAX_BYTES + 1)
    except socket.timeout:
        raise OSError(f"no answer within {deadline_s:g} s") from None
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP answer: {type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
        if conn.raw is not None:
            conn.raw.close()
    if len(data) > IMDS_MAX_BYTES:
        raise OSError(f"IMDS answer larger than {IMDS_MAX_BYTES >> 20} MiB")
    return data.decode("utf-8", errors="replace")


def _time_left(deadline: float) -> float:
    import socket

    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("deadline passed")
    return left


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, each read given what is left of one deadline (http.client reads
    the status line and headers a line at a time, each line perhaps many reads)."""

    def __init__(self, sock: "socket.socket", deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(_time_left(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What http.client uses of a socket, every operation within one deadline."""

    def __init__(self, sock: "socket.socket", deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_time_left(self._deadline))
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        """http.client closes the connection while the response still reads (``Connection:
        close``); the socket is closed by ``fetch_imds`` once it is done."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _deadline_connection(base: Any) -> Any:
    """``base`` (HTTPConnection or HTTPSConnection) whose socket keeps one deadline. Both are
    ``Any`` to the checker: the class is made from a base chosen at run time."""

    class DeadlineConnection(base):
        deadline = 0.0
        raw: Any = None
        sock: Any

        def connect(self) -> None:
            self.timeout = max(0.001, self.deadline - time.monotonic())
            super().connect()
            self.raw = self.sock
            self.sock = _DeadlineSocket(self.sock, self.deadline)

    return DeadlineConnection
