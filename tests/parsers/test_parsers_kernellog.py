"""The kernel-log parser on real hv_netvsc lines (shared/reference/samples, quoted here) in
both forms it reads: dmesg output and raw /dev/kmsg records."""

import pytest

from accelnet.parsers.kmsg import render_dmesg
from accelnet.parsers.kernellog import (
    DATAPATH_SYNTHETIC, DATAPATH_VF, VF_REGISTERED, VF_SLOT_ADDED, VF_SLOT_REMOVED, VF_UNREGISTERED,
    parse_kernel_log, split_record, vf_event_counts,
)

# samples/dmesg_cx5-vf_register_datapath-switch_ubuntu22.04-6.8.0-1029-azure.txt (excerpt)
CX5_DMESG = """\
[   14.982006] hv_netvsc 7c1e5225-5ca6-7c1e-5225-5ca67c1e5225 eth1: VF slot 2 added
[   14.996173] hv_pci 9970f259-1a65-4a22-bce2-500aee5b8543: PCI host bridge to bus 1a65:00
[   15.530389] hv_netvsc 7c1e5225-5ca6-7c1e-5225-5ca67c1e5225 eth1: VF registering: eth2
[   15.530413] mlx5_core 1a65:00:02.0 eth2: joined to eth1
[   15.552336] mlx5_core 1a65:00:02.0 enP6757s2: renamed from eth2
[   15.839794] hv_netvsc 7c1e5225-55d2-7c1e-5225-55d27c1e5225 eth0: VF slot 1 added
[   16.054384] hv_netvsc 7c1e5225-55d2-7c1e-5225-55d27c1e5225 eth0: VF registering: eth2
[   16.084344] mlx5_core 927a:00:02.0 enP37498s1: renamed from eth2
[   16.283546] hv_netvsc 7c1e5225-55d2-7c1e-5225-55d27c1e5225 eth0: Data path switched to VF: enP37498s1
[   16.559643] hv_netvsc 7c1e5225-55d2-7c1e-5225-55d27c1e5225 eth0: Data path switched from VF: enP37498s1
[   17.187223] hv_netvsc 7c1e5225-5ca6-7c1e-5225-5ca67c1e5225 eth1: Data path switched to VF: enP6757s2
"""


def test_dmesg_lines_give_events_with_udev_names():
    events = parse_kernel_log(CX5_DMESG)
    assert [(e.boot_s, e.event, e.device, e.vf, e.slot) for e in events] == [
        (14.982006, VF_SLOT_ADDED, "eth1", None, 2),
        (15.530389, VF_REGISTERED, "eth1", "enP6757s2", None),
        (15.839794, VF_SLOT_ADDED, "eth0", None, 1),
        (16.054384, VF_REGISTERED, "eth0", "enP37498s1", None),
        (16.283546, DATAPATH_VF, "eth0", "enP37498s1", None),
        (16.559643, DATAPATH_SYNTHETIC, "eth0", "enP37498s1", None),
        (17.187223, DATAPATH_VF, "eth1", "enP6757s2", None),
    ]
    # The text is the message as logged (the probe name, before udev renamed it).
    assert events[1].text == "hv_netvsc 7c1e5225-5ca6-7c1e-5225-5ca67c1e5225 eth1: VF registering: eth2"


def test_kmsg_records_and_their_continuation_lines():
    text = (
        "6,1042,3918902,-;hv_netvsc 000d3af5-76bd-000d-3af5-76bd000d3af5 eth0: VF slot 1 added\n"
        " SUBSYSTEM=vmbus\n"
        " DEVICE=+vmbus:000d3af5-76bd-000d-3af5-76bd000d3af5\n"
        "6,1311,9654979,-;hv_netvsc 000d3af5-76bd-000d-3af5-76bd000d3af5 eth0: Data path switched from VF: enP53091s1np0\n"
        "6,1312,9700000,-;hv_netvsc 000d3af5-76bd-000d-3af5-76bd000d3af5 eth0: VF unregistering: enP53091s1np0\n"
        "6,1313,9800000,-;hv_netvsc 000d3af5-76bd-000d-3af5-76bd000d3af5 eth0: VF slot 1 removed\n"
    )
    events = parse_kernel_log(text)
    assert [(e.boot_s, e.event, e.slot) for e in events] == [
        (3.918902, VF_SLOT_ADDED, 1), (9.654979, DATAPATH_SYNTHETIC, None),
        (9.7, VF_UNREGISTERED, None), (9.8, VF_SLOT_REMOVED, 1),
    ]


def test_doc_lines_with_trailing_spaces():
    # samples/docs_dmesg_boot_vf-register_datapath-switch_cx4lx_how-it-works.txt keeps them
    line = "[    7.465085] hv_netvsc 000d3af5-76bd-000d-3af5-76bd000d3af5 eth0: VF registering: eth1 \n"
    rename = "[    7.480651] mlx5_core cf63:00:02.0 enP53091s1np0: renamed from eth1 \n"
    (event,) = parse_kernel_log(line + rename)
    assert (event.event, event.vf, event.text.endswith("VF registering: eth1")) == (VF_REGISTERED, "enP53091s1np0", True)


def test_counts_per_synthetic_nic_for_the_agent():
    flaps = "".join(
        f"[{100 + i * 10}.000000] hv_netvsc 000d3a96-8b21-000d-3a96-8b21000d3a96 eth0: VF {kind}: enP1p0s2\n"
        for i, kind in enumerate(["registering", "unregistering", "registering", "unregistering", "registering"])
    )
    assert vf_event_counts(parse_kernel_log(flaps)) == {("eth0", "added"): 3, ("eth0", "removed"): 2}


@pytest.mark.parametrize("garbage", [
    "", "\n\n", "Jul 23 16:18:53 rac02 kernel: hv_netvsc 000d3a96-8b21-000d-3a96-8b21000d3a96 eth0: VF unregistering: enP1p0s2",
    "[Tue Jun  3 17:43:12 2025] hv_netvsc x eth0: VF slot 1 added", "[  1.0] hv_netvsc x eth0: VF slot many added",
    "6,1,notanumber,-;hv_netvsc x eth0: VF slot 1 added", "\x00\xff[ 1.5]", "[ 99999999999999999999.1] x",
])
def test_what_is_not_a_vf_event_is_skipped(garbage):
    assert parse_kernel_log(garbage) == []


def test_render_is_what_split_reads_back():
    line = render_dmesg([(16283546, "hv_netvsc g eth0: Data path switched to VF: enP37498s1")]).rstrip("\n")
    assert line == "[   16.283546] hv_netvsc g eth0: Data path switched to VF: enP37498s1"
    assert split_record(line) == (16.283546, "hv_netvsc g eth0: Data path switched to VF: enP37498s1")


def test_hostile_numbers_are_skipped_not_raised():
    huge = "9" * 5000
    text = (f"[{huge}.1] hv_netvsc g eth0: VF slot 1 added\n"
            f"6,1,{huge},-;hv_netvsc g eth0: VF slot 1 added\n"
            f"[ 1.5] hv_netvsc g eth0: VF slot {huge} added\n")
    assert parse_kernel_log(text) == []


# -- one /dev/kmsg record (Documentation/ABI/testing/dev-kmsg: "prio,seq,usec,flags[,...];text") ----

from accelnet.parsers.kmsg import parse_kmsg_record  # noqa: E402


@pytest.mark.parametrize("record, parsed", [
    (b"6,1234,16283546,-;hv_netvsc g eth0: VF registering: enP37498s1\n SUBSYSTEM=vmbus\n",
     (16283546, "hv_netvsc g eth0: VF registering: enP37498s1")),
    (b"4,9,0,c,more;caf\xc3\xa9 \xff\n", (0, "caf\u00e9 \ufffd")),        # fields after flags; bad UTF-8 replaced
    (b"6,1,7,-;", (7, "")),
    (b"6,1,7;text\n", None),                 # three fields
    (b"6,1,7,-", None),                      # no ";"
    (b"6,1,-1,-;text\n", None),              # a negative time
    (b"6,1,x,-;text\n", None), (b"p,1,7,-;text\n", None),
])
def test_kmsg_record(record, parsed):
    assert parse_kmsg_record(record) == parsed


def test_dmesg_seconds_and_microseconds():
    assert render_dmesg([(0, "a"), (999999, "b"), (1000000, "c"), (123456789012, "d")]) == (
        "[    0.000000] a\n[    0.999999] b\n[    1.000000] c\n[123456.789012] d\n")


NETVSC = "hv_netvsc 000d3af5-76bd-000d-3af5-76bd000d3af5 eth0: "


def test_every_event_kind_is_one_a_line_can_have():
    from accelnet.parsers.kernellog import EVENTS, parse_message

    bodies = ["VF registering: eth1", "VF unregistering: eth1", "Data path switched to VF: eth1",
              "Data path switched from VF: eth1", "VF slot 1 added", "VF slot 1 removed"]
    assert tuple(parse_message(1.0, NETVSC + body).event for body in bodies) == EVENTS


@pytest.mark.parametrize("between, renamed", [(63, True), (64, False)])
def test_a_rename_looks_back_64_events(between, renamed):
    text = "[    1.000000] " + NETVSC + "VF registering: eth1\n"
    text += "".join("[    2.%06d] %sData path switched to VF: eth9\n" % (i, NETVSC) for i in range(between))
    text += "[    3.000000] mlx5_core 5f12:00:02.0 enP1s1: renamed from eth1\n"
    events = parse_kernel_log(text)
    assert events[0].vf == ("enP1s1" if renamed else "eth1")
    assert len(events) == between + 1                         # the rename is no event of its own


def test_indented_records_are_read_and_continuation_lines_never():
    text = ("   [    4.913270] " + NETVSC + "VF registering: eth1\n"
            " 6,2,5000000,-;" + NETVSC + "VF unregistering: eth1\n")     # a dictionary line is no record
    assert [(e.boot_s, e.event) for e in parse_kernel_log(text)] == [(4.91327, VF_REGISTERED)]


def test_counts_leave_out_events_without_a_synthetic_nic():
    from accelnet.parsers.kernellog import KernelEvent

    events = [KernelEvent(1.0, VF_REGISTERED, None, "eth1", None, "x"),
              KernelEvent(2.0, VF_REGISTERED, "eth0", "eth1", None, "y")]
    assert vf_event_counts(events) == {("eth0", "added"): 1}


def test_caller_ids_of_printk_caller_kernels():
    """A CONFIG_PRINTK_CALLER kernel's dmesg: ``[time] [  T123] message`` (util-linux 2.37 on)."""
    text = ("[    4.913270] [  T123] hv_netvsc 7c1e5225-5ca6-7c1e-5225-5ca67c1e5225 eth0: VF slot 1 added\n"
            "[    5.000001] [    C0] hv_netvsc 7c1e5225-5ca6-7c1e-5225-5ca67c1e5225 eth0: VF registering: eth1\n")
    events = parse_kernel_log(text)
    assert [(e.event, e.slot, e.vf) for e in events] == [("vf_slot_added", 1, None), ("vf_registered", None, "eth1")]
    assert events[0].text.startswith("hv_netvsc ")
