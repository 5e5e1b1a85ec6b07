"""Who will configure a VF interface: NetworkManager, systemd-networkd, or nobody.

A VF must be left alone: hv_netvsc enslaves it and carries the addresses on the synthetic
NIC. A network manager that takes the VF (DHCP on it, routes through it) breaks that, which is
why Azure images ship udev rules marking VFs unmanaged. Three sources say what will happen:

* udev properties (``NM_UNMANAGED``, ``ID_NET_MANAGED_BY``, ``AZURE_UNMANAGED_SRIOV``): from
  the database file libudev itself reads, ``/run/udev/data/n<ifindex>`` (through the Host
  only, so a bundle that holds the file gives the live host's answer);
* NetworkManager: whether it runs (``/run/NetworkManager`` exists once it has run since
  boot) and its device state file ``/run/NetworkManager/devices/<ifindex>`` (``managed=``);
* systemd-networkd's own state of the link, ``/run/systemd/netif/links/<ifindex>``
  (``ADMIN_STATE=unmanaged`` or ``configured``...).
"""

from typing import Dict, Optional

from accelnet.errors import ParseError
from accelnet.readers.host import Host
from accelnet.records import dataclass, field

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
#: networkd ADMIN_STATE values meaning "networkd configures (or tries to configure) this link".
NETWORKD_MANAGING = ("pending", "initialized", "configuring", "configured", "failed")
NM_DBUS_NAME = "org.freedesktop.NetworkManager"


@dataclass
class Management:
    udev: Dict[str, str] = field(default_factory=dict)
    udev_known: bool = False  # a udev record was found at all
    networkmanager: bool = False
    nm_managed: Optional[bool] = None  # NetworkManager's own word, where it wrote one
    networkd_state: Optional[str] = None

    @property
    def nm_unmanaged(self) -> bool:
        return self.udev.get("NM_UNMANAGED") == "1" or self.udev.get("ID_NET_MANAGED_BY", "") not in ("", NM_DBUS_NAME)

    def problem(self) -> Optional[str]:
        """Why a manager will touch this VF, or None when it is (known to be) left alone."""
        if self.networkd_state in NETWORKD_MANAGING:
            return f"systemd-networkd manages it (ADMIN_STATE={self.networkd_state})"
        if self.nm_managed:
            return "NetworkManager manages it (managed=true in its device state)"
        if self.networkmanager and self.udev_known and not self.nm_unmanaged:
            return "NetworkManager runs and the VF is not marked NM_UNMANAGED"
        return None

    def as_evidence(self) -> Dict[str, object]:
        return {
            "udev": self.udev if self.udev_known else None,
            "networkmanager_running": self.networkmanager,
            "networkmanager_managed": self.nm_managed,
            "networkd_state": self.networkd_state,
        }


def read_management(host: Host, name: str, ifindex: int) -> Management:
    result = Management(networkmanager=host.is_dir("/run/NetworkManager"))
    props = _udev_db_properties(host, ifindex)
    if props is not None:
        result.udev, result.udev_known = props, True
    links = host.read_text(f"/run/systemd/netif/links/{ifindex}", limit=65536)
    result.networkd_state = key_value(links, "ADMIN_STATE")
    nm_state = key_value(host.read_text(f"/run/NetworkManager/devices/{ifindex}", limit=65536), "managed")
    if nm_state in ("true", "false"):
        result.nm_managed = nm_state == "true"
    return result


def key_value(text: Optional[str], key: str) -> Optional[str]:
    """The value of ``key`` in KEY=VALUE lines (networkd's and NetworkManager's state files)."""
    for line in (text or "").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip() or None
    return None


def _udev_db_properties(host: Host, ifindex: int) -> Optional[Dict[str, str]]:
    text = host.read_text(f"/run/udev/data/n{ifindex}", limit=65536)
    if text is None:
        return None
    from accelnet.parsers.udevdb import parse_udev_db

    try:
        record = parse_udev_db(text)
    except ParseError:
        return None
    return {k: v for k, v in record.properties.items() if k in MANAGEMENT_PROPERTIES}


def udev_rule_remedy() -> str:
    return (
        "Keep NetworkManager and systemd-networkd off the VF with a udev rule, e.g. "
        "/etc/udev/rules.d/68-azure-sriov-nm-unmanaged.rules: "
        "SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"hv_pci\", ENV{NM_UNMANAGED}=\"1\", "
        "ENV{ID_NET_MANAGED_BY}=\"unmanaged\"; then sudo udevadm control --reload && "
        "sudo udevadm trigger --subsystem-match=net --action=add. Do not match the VF in netplan "
        "or .network files (match the synthetic NIC by driver hv_netvsc)"
    )
