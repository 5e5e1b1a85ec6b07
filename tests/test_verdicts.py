"""Each fixture host gets the verdict a person reading the Microsoft article would give
(fixtures/hosts/README.md), independently of the golden files' wording."""

import json

import pytest

import goldens

# fixture: (overall status, exit code, {check id: status} that decide the verdict)
EXPECTED = {
    "ubuntu1604-cx3-healthy": ("ok", 0, {"vf.present": "ok", "vf.bonded": "ok", "datapath.vf": "ok", "os.kernel": "ok"}),
    "ubuntu2004-cx3-8nics": ("ok", 0, {"vf.present": "ok", "vf.bonded": "ok", "datapath.vf": "ok"}),
    "ubuntu2204-cx5-2nics": ("ok", 0, {"vf.present": "ok", "vf.bonded": "ok", "datapath.vf": "ok"}),
    "ubuntu2204-mana-healthy": ("ok", 0, {"vf.present": "ok", "vf.driver": "ok", "os.kernel": "ok"}),
    "sles12sp3-cx3-healthy": ("ok", 0, {"os.distribution": "ok", "os.kernel": "ok", "vf.bonded": "ok"}),
    "rhel74-cx3-healthy": ("ok", 0, {"os.distribution": "ok", "os.kernel": "ok", "vf.bonded": "ok"}),
    "ubuntu1804-cx4lx-vf-eth1": ("ok", 0, {"vf.bonded": "ok", "datapath.vf": "ok"}),
    "centos7-an-off": ("critical", 2, {"vf.present": "critical", "platform.vm_size": "ok", "vf.driver": "skipped"}),
    "ubuntu1804-cx4lx-no-driver": ("critical", 2, {"vf.present": "ok", "vf.driver": "critical"}),
    "rhel8-cx5-not-enslaved": ("critical", 2, {"vf.driver": "ok", "vf.bonded": "critical"}),
    "ubuntu1604-kernel-4.4": ("critical", 2, {"os.kernel": "critical", "vf.bonded": "critical"}),
    "alpine-cx5-unsupported-distro": ("warning", 1, {"os.distribution": "warning", "vf.bonded": "ok", "datapath.vf": "ok"}),
    "ubuntu2004-size-a2v2": ("critical", 2, {"platform.vm_size": "critical", "vf.present": "critical"}),
    "ubuntu2204-cx5-fallback": ("warning", 1, {"vf.bonded": "ok", "datapath.vf": "warning"}),
    "ubuntu2204-2nics-one-vf": ("warning", 1, {"vf.present": "warning", "vf.bonded": "ok"}),
    "rhel8-cx5-nm-manages-vf": ("warning", 1, {"vf.bonded": "warning", "datapath.vf": "ok"}),
    "ubuntu2004-hbv3-ib-and-an": ("ok", 0, {"vf.present": "ok", "vf.driver": "ok", "vf.bonded": "ok"}),
    "debian12-kvm-not-azure": ("unknown", 3, {"platform.azure": "unknown", "vf.present": "skipped"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdict(name):
    status, code, checks = EXPECTED[name]
    exit_code, out = goldens.check_json(name)
    report = json.loads(out)
    got = {c["id"]: c["status"] for c in report["checks"]}
    assert (report["status"], exit_code) == (status, code), report["summary"]
    assert {k: got[k] for k in checks} == checks
    for check in report["checks"]:
        if check["status"] in ("warning", "critical"):
            assert check["remedy"], f"{check['id']} has no remedy"


def test_every_fixture_has_an_expected_verdict():
    assert sorted(goldens.fixture_names()) == sorted(EXPECTED)


def test_report_shape_follows_the_contract():
    _, out = goldens.check_json("ubuntu1604-cx3-healthy")
    report = json.loads(out)
    assert list(report) == ["schema", "status", "summary", "host", "checks", "interfaces", "history", "history_state"]
    assert report["schema"] == 1
    assert set(report["host"]) == {"azure", "vm_size", "os_id", "os_version", "kernel",
                                   "hostname", "vm_id", "time", "tool_version"}
    assert [c["id"] for c in report["checks"]] == [
        "platform.azure", "platform.vm_size", "os.distribution", "os.kernel", "nic.synthetic",
        "vf.present", "vf.driver", "vf.bonded", "datapath.vf",
    ]
    eth0 = report["interfaces"][0]
    assert eth0["vf"] == {"name": "enP1s1", "pci_slot": "0001:00:02.0", "vendor_id": "15b3", "device_id": "1004",
                          "model": "ConnectX-3 Virtual Function", "driver": "mlx4_core"}
    assert set(eth0["counters"]) == {"vf_rx_packets", "vf_rx_bytes", "vf_tx_packets", "vf_tx_bytes", "vf_tx_dropped"}
    assert eth0["datapath"] == "vf"


def test_infiniband_vf_is_not_an_an_vf():
    _, out = goldens.check_json("ubuntu2004-hbv3-ib-and-an")
    present = next(c for c in json.loads(out)["checks"] if c["id"] == "vf.present")
    assert [v["pci_slot"] for v in present["evidence"]["virtual_functions"]] == ["31b9:00:02.0"]


def _copy_fixture(tmp_path, name):
    import shutil

    target = tmp_path / name
    shutil.copytree(goldens.FIXTURES + "/" + name, target, symlinks=True)
    return target


def _report(path):
    import contextlib
    import io

    from accelnet.cli.check import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--snapshot", str(path), "--json"])
    return code, json.loads(out.getvalue())


def test_sysfs_alone_answers_without_lspci(tmp_path):
    snap = _copy_fixture(tmp_path, "ubuntu2204-cx5-2nics")
    (snap / "cmd/lspci.txt").unlink()
    code, report = _report(snap)
    full_code, full = goldens.check_json("ubuntu2204-cx5-2nics")
    assert (code, report) == (full_code, json.loads(full))


def test_lspci_alone_finds_the_vf(tmp_path):
    import shutil

    snap = _copy_fixture(tmp_path, "ubuntu1604-cx3-healthy")
    shutil.rmtree(snap / "root/sys/bus/pci")
    code, report = _report(snap)
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["vf.present"]["status"] == "ok"
    assert checks["vf.present"]["evidence"]["virtual_functions"][0]["source"] == "lspci"
    assert checks["vf.present"]["evidence"]["virtual_functions"][0]["model"] == "ConnectX-3 Virtual Function"


def test_bundle_made_by_hand_from_the_articles_commands(tmp_path):
    """No /sys and no DMI: `lspci`, `ethtool -S eth0` twice, `uname -r`, os-release and the
    IMDS document, as a support engineer would get them pasted. The verdict still follows."""
    data = goldens.REPO + "/tests/parsers/data/"

    def sample(name):  # the real outputs, without their "# source:" line
        with open(data + name, encoding="utf-8") as handle:
            return "".join(l for l in handle if not l.startswith("# source:"))

    (tmp_path / "cmd").mkdir()
    (tmp_path / "root/etc").mkdir(parents=True)
    (tmp_path / "root/proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "cmd/lspci.txt").write_text(sample("docs_lspci_gen1_cx3-vf_create-vm-cli.txt"))
    grep_vf = sample("docs_ethtool-S-eth0-grep-vf_create-vm-cli.txt")
    (tmp_path / "cmd/ethtool-S.eth0.0.txt").write_text(grep_vf)
    (tmp_path / "cmd/ethtool-S.eth0.1.txt").write_text(grep_vf.replace("992956", "993956"))
    (tmp_path / "cmd/imds.json").write_text(sample("imds_instance_linux_sample-response_azure-docs.json")
                                            .replace("Standard_A3", "Standard_DS4_v2"))
    (tmp_path / "root/etc/os-release").write_text(
        'NAME="Ubuntu"\nVERSION_ID="16.04"\nID=ubuntu\nPRETTY_NAME="Ubuntu 16.04.4 LTS"\n')
    (tmp_path / "root/proc/sys/kernel/osrelease").write_text("4.15.0-1013-azure\n")
    code, report = _report(tmp_path)
    checks = {c["id"]: c["status"] for c in report["checks"]}
    assert (code, report["status"]) == (0, "ok"), report["summary"]
    assert checks["platform.azure"] == "ok" and checks["vf.present"] == "ok" and checks["datapath.vf"] == "ok"
    assert checks["vf.bonded"] == "unknown"  # honest: no /sys to show the pairing
    assert report["interfaces"][0]["counters"]["vf_rx_packets"] == 992956

    (tmp_path / "cmd/ethtool-S.eth0.1.txt").write_text(grep_vf)  # VF counters stand still now
    code, report = _report(tmp_path)
    assert report["status"] == "unknown" and code == 3


def test_hyperv_without_asset_tag_needs_the_imds_document(tmp_path):
    snap = _copy_fixture(tmp_path, "ubuntu2204-cx5-2nics")
    (snap / "root/sys/devices/virtual/dmi/id/chassis_asset_tag").unlink()
    code, report = _report(snap)
    azure = next(c for c in report["checks"] if c["id"] == "platform.azure")
    assert (code, azure["status"]) == (0, "ok") and "IMDS" in azure["summary"]
    (snap / "cmd/imds.json").unlink()
    code, report = _report(snap)
    assert (code, report["status"]) == (3, "unknown") and "asset tag" in report["summary"]


def test_netvsc_known_by_its_counters_when_sysfs_names_no_driver(tmp_path):
    """A hand-made tree where eth0 is a plain directory with no device link."""
    import shutil

    snap = _copy_fixture(tmp_path, "ubuntu1604-cx3-healthy")
    net = snap / "root/sys/class/net"
    real = (net / "eth0").resolve()
    (net / "eth0").unlink()
    shutil.copytree(real, net / "eth0", symlinks=True, ignore=shutil.ignore_patterns("device", "subsystem"))
    code, report = _report(snap)
    assert report["interfaces"][0]["name"] == "eth0" and report["interfaces"][0]["driver"] == "hv_netvsc"
    assert (code, report["status"]) == (0, "ok")


def test_imds_nics_held_against_the_synthetic_nics(tmp_path):
    snap = _copy_fixture(tmp_path, "ubuntu2204-cx5-2nics")
    imds = snap / "cmd/imds.json"
    imds.write_text(imds.read_text().replace('"7C1E52255CA6"', '"7C1E5225FFFF"'))
    code, report = _report(snap)
    synthetic = next(c for c in report["checks"] if c["id"] == "nic.synthetic")
    assert synthetic["status"] == "warning" and code == 1
    assert "7c:1e:52:25:ff:ff" in synthetic["summary"] and "eth1 not in the IMDS NIC list" in synthetic["summary"]
