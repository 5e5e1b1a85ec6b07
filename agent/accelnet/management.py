"""udev properties of a network interface.

On a live host with udevd, pyudev (libudev) answers; libudev itself reads the database under
``/run/udev/data/n<ifindex>``, so snapshots (and hosts without libudev) parse that file.
Only the properties that decide who manages a VF are kept: a VF managed by NetworkManager or
networkd gets addresses and routes of its own and breaks the bond with the synthetic NIC.
"""

from __future__ import annotations

from typing import Dict

from .errors import ParseError
from .host import Host

#: NM_UNMANAGED: NetworkManager leaves the device alone. ID_NET_MANAGED_BY: systemd-networkd
#: (v255+) leaves it to the named manager. AZURE_UNMANAGED_SRIOV: set by Azure's own rule
#: (azure-vm-utils' 10-azure-unmanaged-sriov.rules) on the VFs it unmanages.
MANAGEMENT_PROPERTIES = (
    "NM_UNMANAGED",
    "ID_NET_MANAGED_BY",
    "AZURE_UNMANAGED_SRIOV",
    "ID_NET_DRIVER",
    "ID_NET_NAME",
    "ID_NET_NAME_SLOT",
    "ID_NET_NAME_PATH",
)


def udev_properties(host: Host, name: str, ifindex: int) -> Dict[str, str]:
    if host.live and host.exists("/run/udev/control"):
        props = _pyudev_properties(name)
        if props is not None:
            return props
    text = host.read_text(f"/run/udev/data/n{ifindex}", limit=65536)
    if text is None:
        return {}
    from .udevdb import parse_udev_db

    try:
        record = parse_udev_db(text)
    except ParseError:
        return {}
    return {k: v for k, v in record.properties.items() if k in MANAGEMENT_PROPERTIES}


def _pyudev_properties(name: str):
    try:
        import pyudev
    except ImportError:
        return None
    try:
        device = pyudev.Devices.from_name(pyudev.Context(), "net", name)
        return {k: device.properties[k] for k in MANAGEMENT_PROPERTIES if k in device.properties}
    except Exception:  # pyudev raises several libudev-specific errors; any means "no answer"
        return None


def nm_unmanaged(props: Dict[str, str]) -> bool:
    return props.get("NM_UNMANAGED") == "1" or props.get("ID_NET_MANAGED_BY", "") not in (
        "",
        "org.freedesktop.NetworkManager",
    )
