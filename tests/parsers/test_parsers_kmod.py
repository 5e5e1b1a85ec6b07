"""modules.dep / modules.builtin lines as depmod writes them (kmod's depmod.c: ``<path>:
<deps>`` per module, paths relative to /lib/modules/<release>, any compression suffix)."""

import pytest

from accelnet.parsers.kmod import AN_MODULES, an_module_lines, module_name, parse_modules_builtin, parse_modules_dep

# Lines in the forms of Ubuntu's linux-azure (zstd), Fedora (xz) and an uncompressed custom kernel.
MODULES_DEP = """\
kernel/drivers/net/hyperv/hv_netvsc.ko.zst:
kernel/drivers/pci/controller/pci-hyperv.ko.zst: kernel/drivers/pci/controller/pci-hyperv-intf.ko.zst
kernel/drivers/pci/controller/pci-hyperv-intf.ko.zst:
kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko.zst: kernel/drivers/net/ethernet/mellanox/mlxfw/mlxfw.ko.zst kernel/net/psample/psample.ko.zst
kernel/drivers/net/ethernet/mellanox/mlxfw/mlxfw.ko.zst:
kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_en.ko.xz: kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_core.ko.xz
kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_core.ko.xz:
kernel/drivers/net/ethernet/microsoft/mana/mana.ko:
kernel/drivers/net/ethernet/intel/e1000/e1000.ko:
kernel/drivers/infiniband/hw/mana/mana_ib.ko: kernel/drivers/net/ethernet/microsoft/mana/mana.ko
"""


def test_module_names_are_normalised():
    assert module_name("kernel/drivers/pci/controller/pci-hyperv.ko.zst") == "pci_hyperv"
    assert module_name("kernel/drivers/pci/host/pci-hyperv.ko") == "pci_hyperv"  # before 4.17's move
    assert module_name("updates/dkms/mlx5_core.ko.gz") == "mlx5_core"
    for not_a_module in ("", "kernel/drivers/net/hyperv", "a.ko.lzma", "x/" + "y" * 65 + ".ko", "hv_netvsc.ko.zst.bak"):
        assert module_name(not_a_module) is None, not_a_module


def test_dep_and_builtin_parse():
    found = parse_modules_dep(MODULES_DEP)
    assert {name: found[name] for name in AN_MODULES} == {
        "hv_netvsc": "kernel/drivers/net/hyperv/hv_netvsc.ko.zst",
        "pci_hyperv": "kernel/drivers/pci/controller/pci-hyperv.ko.zst",
        "pci_hyperv_intf": "kernel/drivers/pci/controller/pci-hyperv-intf.ko.zst",
        "mlx4_core": "kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_core.ko.xz",
        "mlx4_en": "kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_en.ko.xz",
        "mlx5_core": "kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko.zst",
        "mana": "kernel/drivers/net/ethernet/microsoft/mana/mana.ko",
    }
    assert parse_modules_builtin("kernel/drivers/net/hyperv/hv_netvsc.ko\nkernel/drivers/hv/hv_vmbus.ko\n") == {
        "hv_netvsc", "hv_vmbus"}


def test_bundle_keeps_only_the_an_lines_whole():
    kept = an_module_lines(MODULES_DEP)
    assert "e1000" not in kept and "mlxfw.ko.zst:\n" not in kept and "mana_ib" not in kept
    assert kept.count("\n") == 7
    assert "kernel/drivers/pci/controller/pci-hyperv.ko.zst: kernel/drivers/pci/controller/pci-hyperv-intf.ko.zst\n" in kept
    assert parse_modules_dep(kept) == {k: v for k, v in parse_modules_dep(MODULES_DEP).items() if k in AN_MODULES}
    assert an_module_lines("") == ""


@pytest.mark.parametrize("garbage", ["\x00\xff", ":::", "kernel/mana.ko: " * 10000, "\n" * 100])
def test_garbage_gives_nothing_or_what_it_names(garbage):
    assert set(parse_modules_dep(garbage)) <= {"mana"}
    assert set(parse_modules_builtin(garbage)) <= set()
