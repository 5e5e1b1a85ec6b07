"""What the host is: Azure or not (DMI), distribution, kernel, and the IMDS document.

IMDS is only asked when DMI says Azure: on any other machine 169.254.169.254 is someone
else's address (or a black hole that costs a timeout), so a diagnostic must not touch it.
"""

from dataclasses import dataclass
from typing import Optional

from accelnet.readers.host import Host

DMI = "/sys/class/dmi/id"
#: The asset tag Hyper-V sets on every Azure VM (and only there); on-premises Hyper-V VMs
#: carry a per-VM serial in that field instead.
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"
MICROSOFT = "Microsoft Corporation"

IMDS_DEFAULT_URL = "http://169.254.169.254/metadata/instance?api-version=2021-02-01"
IMDS_TIMEOUT_S = 2.0
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


def fetch_imds(url: str = IMDS_DEFAULT_URL, timeout: float = IMDS_TIMEOUT_S) -> str:
    """The IMDS instance document, asked the way Azure requires: ``Metadata: true``, no proxy.

    Raises OSError (including urllib's URLError and timeouts) on any failure.
    """
    import urllib.request  # only the live host on Azure pays for it

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Metadata": "true"})
    with opener.open(request, timeout=timeout) as response:
        data = response.read(IMDS_MAX_BYTES + 1)
    if len(data) > IMDS_MAX_BYTES:
        raise OSError("IMDS answer larger than 1 MiB")
    return data.decode("utf-8", errors="replace")
