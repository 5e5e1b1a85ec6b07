"""Which AN modules a host has and runs: read through the Host (a bundle's captures and
/sys/module), and made live from /lib/modules/$(uname -r) by the same filter both bundle
writers use (the sh collector's copy of it runs here too)."""

import os
import re
import subprocess

import pytest

from accelnet.parsers.kmod import an_module_lines
from accelnet.readers import live
from accelnet.readers.host import Host, RecordedCaptures
from accelnet.readers.modules import read_modules
from agentproc import REPO
from testutil import require_tool

DEP = ("kernel/drivers/net/hyperv/hv_netvsc.ko.zst:\n"
       "kernel/drivers/pci/controller/pci-hyperv.ko.zst: kernel/drivers/pci/controller/pci-hyperv-intf.ko.zst\n"
       "kernel/drivers/pci/controller/pci-hyperv-intf.ko.zst:\n")


def _bundle(tmp_path, dep=None, builtin=None, loaded=(), sys_module=True):
    top = tmp_path / "snap"
    (top / "root").mkdir(parents=True)
    (top / "cmd").mkdir()
    if sys_module:
        (top / "root/sys/module").mkdir(parents=True)
    for name in loaded:
        (top / "root/sys/module" / name).mkdir(parents=True)
        (top / "root/sys/module" / name / "initstate").write_text("live\n")
    if dep is not None:
        (top / "cmd/modules-dep.txt").write_text(dep)
    if builtin is not None:
        (top / "cmd/modules-builtin.txt").write_text(builtin)
    return Host(root=str(top / "root"), live=False, captures=RecordedCaptures(str(top / "cmd")))


def test_loaded_installed_builtin_and_missing(tmp_path):
    host = _bundle(tmp_path, dep=DEP, builtin="kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko\n",
                   loaded=("hv_netvsc", "pci_hyperv"))
    states = read_modules(host)
    assert (states["pci_hyperv"].loaded, states["pci_hyperv"].available) == (True, True)
    assert states["mlx5_core"].as_evidence() == {"loaded": False, "builtin": True, "file": ""}
    assert (states["mana"].loaded, states["mana"].builtin, states["mana"].file, states["mana"].available) == (
        False, False, "", False)


def test_what_was_not_captured_stays_unknown(tmp_path):
    states = read_modules(_bundle(tmp_path, sys_module=False))
    assert {(s.loaded, s.builtin, s.file, s.available) for s in states.values()} == {(None, None, None, None)}
    # a module file known, builtin not: available (a file is enough); no file and builtin unknown: unknown
    states = read_modules(_bundle(tmp_path / "b", dep=DEP))
    assert states["pci_hyperv"].available is True and states["mana"].available is None


def test_live_capture_reads_the_running_kernels_files(tmp_path):
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/osrelease").write_text("6.8.0-1029-azure\n")
    modules = tmp_path / "lib/modules/6.8.0-1029-azure"
    modules.mkdir(parents=True)
    (modules / "modules.dep").write_text(DEP + "kernel/fs/ext4/ext4.ko.zst: kernel/fs/jbd2/jbd2.ko.zst\n")
    assert live.module_list_text("modules.dep", root=str(tmp_path)) == DEP
    with pytest.raises(live.CaptureUnavailable, match="modules.builtin: No such file"):
        live.module_list_text("modules.builtin", root=str(tmp_path))
    (tmp_path / "proc/sys/kernel/osrelease").write_text("../../etc\n")
    with pytest.raises(live.CaptureUnavailable, match="not a kernel release"):
        live.module_list_text("modules.dep", root=str(tmp_path))


def _sh_filter():
    """The sh collector's an_module_lines function, cut out of the script as it is."""
    with open(os.path.join(REPO, "scripts", "accelnet-collect"), encoding="utf-8") as handle:
        text = handle.read()
    match = re.search(r"^an_module_lines\(\) \{\n.*?^\}\n", text, re.M | re.S)
    assert match, "an_module_lines() not found in scripts/accelnet-collect"
    return match.group(0)


@pytest.mark.parametrize("shell", ["dash", "busybox"])
def test_sh_collector_keeps_the_same_lines(tmp_path, shell):
    path = require_tool(shell, shell)
    argv = [path, "sh"] if shell == "busybox" else [path]
    lines = DEP + (
        "kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko.xz: kernel/x/mlxfw.ko.xz\n"
        "kernel/drivers/net/ethernet/mellanox/mlx4/mlx4-core.ko.gz:\n"
        "kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_en.ko.bz2:\n"
        "kernel/drivers/net/ethernet/microsoft/mana/mana.ko:\n"
        "kernel/drivers/infiniband/hw/mana/mana_ib.ko: kernel/drivers/net/ethernet/microsoft/mana/mana.ko\n"
        "kernel/drivers/net/ethernet/mellanox/mlxfw/mlxfw.ko.zst:\n"
        "kernel/drivers/net/hyperv/hv_netvsc.ko.lzma:\n"
        "no newline at the end: kernel/drivers/net/hyperv/hv_netvsc.ko"
    )
    source = tmp_path / "modules.dep"
    source.write_text(lines)
    script = _sh_filter() + 'an_module_lines "$1"\n'
    proc = subprocess.run(argv + ["-c", script, "sh", str(source)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == an_module_lines(lines)
    assert proc.stdout.count("\n") == 7
