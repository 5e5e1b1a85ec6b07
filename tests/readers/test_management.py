"""Who manages a VF: networkd's and NetworkManager's state files and the udev properties."""

from accelnet.readers.host import Host
from accelnet.readers.management import Management, key_value, read_management

NETWORKD_LINK = "# This is private data. Do not parse.\nADMIN_STATE=unmanaged\nOPER_STATE=enslaved\n"


def test_key_value():
    assert key_value(NETWORKD_LINK, "ADMIN_STATE") == "unmanaged"
    assert key_value("[device]\nmanaged=true\n", "managed") == "true"
    assert key_value("garbage\n=\nADMIN_STATE=\n", "ADMIN_STATE") is None
    assert key_value(None, "x") is None


def test_problems():
    assert Management(networkd_state="unmanaged").problem() is None
    assert "networkd" in Management(networkd_state="configured").problem()
    assert "NetworkManager" in Management(nm_managed=True).problem()
    # NetworkManager runs, udev knows the VF, but nothing marks it unmanaged.
    assert Management(udev={"ID_NET_DRIVER": "mlx5_core"}, udev_known=True, networkmanager=True).problem()
    assert Management(udev={"NM_UNMANAGED": "1"}, udev_known=True, networkmanager=True).problem() is None
    assert Management(udev={"ID_NET_MANAGED_BY": "unmanaged"}, udev_known=True, networkmanager=True).problem() is None
    # No udev record at all: cannot tell, so no accusation.
    assert Management(networkmanager=True).problem() is None


def test_read_from_a_host_tree(tmp_path):
    root = tmp_path / "root"
    (root / "run/systemd/netif/links").mkdir(parents=True)
    (root / "run/systemd/netif/links/5").write_text(NETWORKD_LINK)
    (root / "run/udev/data").mkdir(parents=True)
    (root / "run/udev/data/n5").write_text("I:123\nE:NM_UNMANAGED=1\nE:ID_NET_DRIVER=mlx5_core\nE:OTHER=x\n")
    (root / "run/NetworkManager/devices").mkdir(parents=True)
    (root / "run/NetworkManager/devices/5").write_text("[device]\nmanaged=false\n")
    found = read_management(Host(root=str(root), live=False), "enP1s1", 5)
    assert found.networkd_state == "unmanaged" and found.networkmanager and found.nm_managed is False
    assert found.udev == {"NM_UNMANAGED": "1", "ID_NET_DRIVER": "mlx5_core"} and found.problem() is None
