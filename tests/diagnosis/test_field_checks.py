"""The field classes of issue 10 on facts built in memory: what each piece of evidence alone
makes of a NIC without a VF, VF state, and user-space ownership."""

import errno

import pytest

from accelnet.diagnosis import checks
from accelnet.diagnosis.facts import Facts, Options, gather, parse_rfc3339, rfc3339
from accelnet.parsers.ipaddr import Address
from accelnet.parsers.kernellog import parse_kernel_log
from accelnet.readers import live
from accelnet.readers.host import CounterSample, Host, RecordedCaptures
from accelnet.readers.netdev import NetInterface, VmbusNic, mac_of_netvsc_guid, pair_interfaces
from accelnet.readers.pci import PciDevice, known_vf
from accelnet.readers.platform import Dmi

MAC = "00:0d:3a:f5:76:bd"
GUID = "000d3af5-76bd-000d-3af5-76bd000d3af5"
AZURE = Dmi("Microsoft Corporation", "Virtual Machine", "7783-7084-3265-9085-8269-3286-77", "090008")


def stats(vf_packets):
    return {"vf_rx_packets": vf_packets, "vf_rx_bytes": vf_packets * 900, "vf_tx_packets": vf_packets // 2,
            "vf_tx_bytes": vf_packets * 200, "vf_tx_dropped": 0, "rx_queue_0_packets": 10, "tx_queue_0_packets": 5}


def facts_for(interfaces, vf_packets=0, log="", pci=(), addresses=None, vmbus=()):
    facts = Facts(dmi=AZURE, interfaces=list(interfaces), pci_devices=list(pci), addresses=addresses,
                  vmbus_nics=list(vmbus))
    facts.pairings = pair_interfaces(facts.interfaces, facts.pci_devices)
    facts.samples = {"eth0": [CounterSample(stats(vf_packets))]}
    facts.history = parse_kernel_log(log)
    facts.epoch, facts.uptime = parse_rfc3339("2025-06-03T17:43:12Z"), 1000.0
    return facts


def syn(mtu=1500):
    return NetInterface(name="eth0", mac=MAC, driver="hv_netvsc", bus="vmbus", device=GUID, mtu=mtu, ifindex=2)


def vf(flags=0x1803, operstate="up", mtu=1500, master="eth0"):
    return NetInterface(name="enP1s1", mac=MAC, driver="mlx5_core", bus="pci", device="0001:00:02.0",
                        master=master, flags=flags, operstate=operstate, mtu=mtu, ifindex=3)


def cx5(slot="0001:00:02.0", driver="mlx5_core", nets=("enP1s1",)):
    return PciDevice(slot=slot, vendor_id="15b3", device_id="1018", class_code="020000", driver=driver,
                     net_names=list(nets), vf_model=known_vf("15b3", "1018"))


def finding(facts, check_id):
    return next(f for f in checks.run_checks(facts) if f.id == check_id)


REMOVAL = (
    f"[  900.000000] hv_netvsc {GUID} eth0: VF slot 1 removed\n"
    f"[  900.000912] hv_netvsc {GUID} eth0: Data path switched from VF: enP1s1\n"
    f"[  900.001846] hv_netvsc {GUID} eth0: VF unregistering: enP1s1\n"
)


def test_counters_alone_prove_a_vf_that_was_there():
    present = finding(facts_for([syn()], vf_packets=5_000_000), "vf.present")
    assert present.status == "warning" and "7,500,000 packets" in present.summary
    assert "redeploy" in present.remedy and "--accelerated-networking" not in present.remedy


def test_the_log_alone_proves_it_too():
    present = finding(facts_for([syn()], log=REMOVAL), "vf.present")
    assert present.status == "warning"
    assert "'VF unregistering: enP1s1' at 2025-06-03T17:41:32.001846Z" in present.summary


def test_no_trace_of_a_vf_is_an_off_with_the_nics_mac():
    present = finding(facts_for([syn()]), "vf.present")
    assert present.status == "critical" and "macAddress=='00-0D-3A-F5-76-BD'" in present.remedy
    datapath = finding(facts_for([syn()]), "datapath.vf")
    assert datapath.status == "warning" and datapath.evidence["interfaces"][0]["datapath"] == "synthetic"


def test_a_vf_up_whose_link_is_down():
    facts = facts_for([syn(), vf(operstate="down")], vf_packets=10, pci=[cx5()])
    bonded = finding(facts, "vf.bonded")
    assert bonded.status == "warning" and "link is down" in bonded.summary


def test_link_local_addresses_are_fine_global_ones_are_not():
    fe80 = Address(3, "enP1s1", "inet6", "fe80::20d:3aff:fef5:76bd/64", "link", False)
    facts = facts_for([syn(), vf()], vf_packets=10, pci=[cx5()], addresses=[fe80])
    assert finding(facts, "vf.bonded").status == "ok"
    lease = Address(3, "enP1s1", "inet", "10.0.0.4/24", "global", True)
    facts = facts_for([syn(), vf()], vf_packets=10, pci=[cx5()], addresses=[fe80, lease])
    bonded = finding(facts, "vf.bonded")
    assert bonded.status == "warning" and "sudo ip addr flush dev enP1s1 scope global" in bonded.remedy


def test_a_dpdk_nic_whose_guid_hides_its_mac_still_owns_the_lone_vf():
    other = NetInterface(name="enP2s2", mac="00:0d:3a:00:00:99", driver="mlx5_core", bus="pci",
                         device="0002:00:02.0", flags=0x1003, operstate="up", ifindex=4)
    owner = VmbusNic("f8615163-0000-0000-0000-000000000001", "uio_hv_generic", None)
    facts = facts_for([syn(), vf(), other], vf_packets=10, pci=[cx5(), cx5("0002:00:02.0", nets=("enP2s2",))],
                      vmbus=[owner])
    bonded = finding(facts, "vf.bonded")
    assert bonded.status == "ok" and "DPDK" in bonded.summary and "upgrade" not in (bonded.remedy or "")


def test_vfio_vf_without_a_kernel_log_is_still_owned_not_missing():
    facts = facts_for([syn()], pci=[cx5(driver="vfio-pci", nets=())])
    assert finding(facts, "vf.driver").status == "ok"
    assert "user space" in finding(facts, "vf.driver").summary


def test_netvsc_guid_convention():
    assert mac_of_netvsc_guid(GUID) == MAC
    assert mac_of_netvsc_guid("7c1e5225-55d2-7c1e-5225-55d27c1e5225") == "7c:1e:52:25:55:d2"
    assert mac_of_netvsc_guid("9970f259-1a65-4a22-bce2-500aee5b8543") is None
    assert mac_of_netvsc_guid("not-a-guid") is None


def test_rfc3339_both_ways():
    assert rfc3339(parse_rfc3339("2025-06-03T17:43:12Z")) == "2025-06-03T17:43:12Z"
    assert parse_rfc3339("2025-06-03T19:43:12+02:00") == parse_rfc3339("2025-06-03T17:43:12Z")
    assert rfc3339(parse_rfc3339("2025-06-03T17:43:12.250000+00:00")) == "2025-06-03T17:43:12.250000Z"
    assert parse_rfc3339("2025-06-03 16:13:12-01:30") == parse_rfc3339("2025-06-03t17:43:12z")
    assert rfc3339(parse_rfc3339(" 2025-06-03T17:43:12.25Z\n")) == "2025-06-03T17:43:12.250000Z"
    # RFC 3339 puts no bound on a fraction's digits: nanoseconds (date --rfc-3339=ns, Go's
    # RFC3339Nano) and any longer run are read to the microsecond, as fromisoformat reads them.
    nanos = "2025-06-03T17:43:12.123456789Z"
    assert rfc3339(parse_rfc3339(nanos)) == "2025-06-03T17:43:12.123456Z"
    assert parse_rfc3339("2025-06-03T17:43:12." + "9" * 100000 + "+00:00") == parse_rfc3339("2025-06-03T17:43:12.999999Z")
    for bad in (None, 5, "", "yesterday", "2025-13-03T17:43:12Z", "2025-06-03T17:43:12+24:00",
                "2025-06-03T17:43:12", "2025-06-03T17:43:12.Z", "2025-06-03T17:43:12Z trailing",
                "\u0662025-06-03T17:43:12Z", "2025-06-03T17:43:12+00:60", "2025-06-03T17:43:12-01:99",
                "2016-12-31T23:59:60Z", "\uff12\uff10\uff12\uff15-06-03T17:43:12Z", "9" * 100000):
        assert parse_rfc3339(bad) is None


def test_unreadable_kernel_log_is_said_as_such(monkeypatch, tmp_path):
    def refuse(*_args, **_kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    with pytest.raises(live.CaptureUnavailable, match="No such file or directory"):
        live.kernel_log_text(str(tmp_path / "missing"))
    monkeypatch.setattr(live.os, "open", refuse)
    with pytest.raises(live.CaptureUnavailable, match="dmesg_restrict"):
        live.kernel_log_text()


def test_history_state_of_a_live_host_that_cannot_read_the_log(monkeypatch):
    def refuse(path=None):
        raise live.CaptureUnavailable("/dev/kmsg: Operation not permitted (kernel.dmesg_restrict=1)")

    monkeypatch.setattr(live, "kernel_log_text", refuse)
    only_the_log = live.LiveCaptures(lambda name: live.produce_capture(name, "") if name == "dmesg" else None)
    host = Host(root="/", live=True, captures=only_the_log)
    facts = gather(host, Options(sample_seconds=0, imds=False))
    assert facts.history_state.text == "unreadable: /dev/kmsg: Operation not permitted (kernel.dmesg_restrict=1)"
    assert facts.history == []
    assert gather(Host(root="/nonexistent", live=False), Options()).history_state.text == "not captured"


def test_one_sample_and_the_log_tell_the_path():
    up = f"[    6.450363] hv_netvsc {GUID} eth0: Data path switched to VF: enP1s1\n"
    facts = facts_for([syn(), vf()], vf_packets=10, pci=[cx5()], log=up)
    row = finding(facts, "datapath.vf").evidence["interfaces"][0]
    assert (row["datapath"], row["source"]) == ("vf", "kernel log: " + up.split("] ", 1)[1].strip())
    down = up + f"[  900.000912] hv_netvsc {GUID} eth0: Data path switched from VF: enP1s1\n"
    assert finding(facts_for([syn(), vf()], vf_packets=10, pci=[cx5()], log=down), "datapath.vf").status == "warning"
    # a switch naming another VF (an older one, since renamed or replaced) says nothing now
    other = up.replace("enP1s1", "enP9s9")
    assert finding(facts_for([syn(), vf()], vf_packets=10, pci=[cx5()], log=other),
                   "datapath.vf").evidence["interfaces"][0]["datapath"] == "unknown"


def test_absurd_uptime_and_times_give_no_wall_clock(tmp_path):
    (tmp_path / "root/proc").mkdir(parents=True)
    (tmp_path / "root/proc/uptime").write_text("1e400 5\n")
    (tmp_path / "cmd").mkdir()
    (tmp_path / "cmd/dmesg.txt").write_text("[999999999999.000000] hv_netvsc g eth0: VF slot 1 added\n")
    host = Host(root=str(tmp_path / "root"), live=False, captures=RecordedCaptures(str(tmp_path / "cmd")),
                meta={"captured_at": "2025-06-03T17:43:12Z"})
    facts = gather(host, Options(sample_seconds=0))
    assert facts.uptime is None and facts.history_state.ok
    assert wall_clock_times(facts) == [None]
    facts.uptime = 5.0  # a time past year 9999 is no time either
    assert wall_clock_times(facts) == [None]


def wall_clock_times(facts):
    from accelnet.diagnosis.vfhistory import history_rows

    return [row["time"] for row in history_rows(facts)]
