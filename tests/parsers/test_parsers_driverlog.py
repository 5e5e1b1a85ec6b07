"""The VF-driver failure parser on the line forms mainline kernels print (sources in
parsers/driverlog.py); the Azure sequences below are quoted from public reports."""

import pytest

from accelnet.parsers.driverlog import (
    DEVICE_GONE, DRIVER_ERROR, FIRMWARE_TIMEOUT, PROBE_FAILED, PROTOCOL_VERSION, parse_driver_failures,
    parse_message,
)

# Dexuan Cui, "PCI: hv: Add a per-bus mutex state_lock" (linux-pci, 2023-03-28): a CX-4 Lx VF
# withdrawn while mlx5_core probed it on an Azure VM (lines quoted from the patch mail).
RACE = """\
[   31.445306] hv_pci b92a0085-468b-407a-a88a-d33fac8edc75: PCI VMBus probing: Using version 0x10004
[   41.668443] hv_pci b92a0085-468b-407a-a88a-d33fac8edc75: PCI host bridge to bus 468b:00
[   41.688901] pci 468b:00:02.0: [15b3:1016] type 00 class 0x020000
[   44.480213] hv_netvsc 818fe754-b912-4445-af51-1f584812e3c9 eth0: VF slot 1 removed
[   63.161610] mlx5_core 468b:00:02.0: firmware version: 65535.65535.65535
[   83.174538] mlx5_core 468b:00:02.0: wait_fw_init:199:(pid 17): Waiting for FW initialization, timeout abort in 100s (0xffffffff)
[  183.178629] mlx5_core 468b:00:02.0: mlx5_function_setup:1130:(pid 17): Firmware over 120000 MS in pre-initializing state, aborting
[  183.186289] mlx5_core 468b:00:02.0: probe_one:1764:(pid 17): mlx5_init_one failed with error code -16
[  183.192623] mlx5_core: probe of 468b:00:02.0 failed with error -16
[  183.202701] pci_bus 468b:00: busn_res: [bus 00] is released
"""

# Haiyang Zhang, "net: mana: Fix race of mana_hwc_post_rx_wqe and new hwc response" (sample dmesg).
MANA_HWC = """\
[  528.610840] mana 39d4:00:02.0: HWC: Request timed out!
[  528.614452] mana 39d4:00:02.0: Failed to send mana message: -110, 0x0
[  528.618326] mana 39d4:00:02.0 enP14804s2: Failed to create WQ object: -110
"""


def test_the_azure_probe_race_sequence():
    failures = parse_driver_failures(RACE)
    assert [(f.boot_s, f.driver, f.device, f.kind, f.errno) for f in failures] == [
        (63.16161, "mlx5_core", "468b:00:02.0", DEVICE_GONE, None),
        (183.178629, "mlx5_core", "468b:00:02.0", FIRMWARE_TIMEOUT, None),
        (183.186289, "mlx5_core", "468b:00:02.0", DRIVER_ERROR, -16),
        (183.192623, "mlx5_core", "468b:00:02.0", PROBE_FAILED, -16),
    ]
    assert failures[-1].text == "mlx5_core: probe of 468b:00:02.0 failed with error -16"
    assert failures[1].said == "Firmware over 120000 MS in pre-initializing state, aborting"
    assert all(f.is_pci for f in failures)


def test_mana_hardware_channel_timeouts():
    failures = parse_driver_failures(MANA_HWC)
    assert [(f.device, f.kind, f.errno) for f in failures] == [
        ("39d4:00:02.0", FIRMWARE_TIMEOUT, None),
        ("39d4:00:02.0", DRIVER_ERROR, -110),  # mana's "<what>: <err>, 0x<status>"
        ("39d4:00:02.0", DRIVER_ERROR, -110),
    ]


@pytest.mark.parametrize("message, expected", [
    # drivers/base/dd.c since 2024 (dev_err with the device's prefix)
    ("mlx5_core 927a:00:02.0: probe with driver mlx5_core failed with error -110",
     ("mlx5_core", "927a:00:02.0", PROBE_FAILED, -110)),
    ("pci 7870:00:00.0: probe with driver mana failed with error -71", ("mana", "7870:00:00.0", PROBE_FAILED, -71)),
    ("hv_pci: probe of 9970f259-1a65-4a22-bce2-500aee5b8543 failed with error -22",
     ("hv_pci", "9970f259-1a65-4a22-bce2-500aee5b8543", PROBE_FAILED, -22)),
    # mana gdma_main.c
    ("mana 7870:00:00.0: gdma probe failed: err = -71", ("mana", "7870:00:00.0", DRIVER_ERROR, -71)),
    ("mana 7870:00:00.0: mana_gd_setup failed (error -110)", ("mana", "7870:00:00.0", DRIVER_ERROR, -110)),
    ("mana 7870:00:00.0: VfVerifyVersionOutput: 0, status=0x1", ("mana", "7870:00:00.0", PROTOCOL_VERSION, None)),
    ("mana 7870:00:00.0: VfVerifyVersionOutput: -110, status=0x0", ("mana", "7870:00:00.0", FIRMWARE_TIMEOUT, -110)),
    ("mana 7870:00:00.0: VfVerifyVersionOutput: -12, status=0x0", ("mana", "7870:00:00.0", DRIVER_ERROR, -12)),
    ("mana 7870:00:00.0: HWC: Failed hw_channel req: 0x2", ("mana", "7870:00:00.0", DRIVER_ERROR, None)),
    # mlx5 main.c / cmd.c, older and newer prefixes
    ("mlx5_core 0001:00:02.0: Firmware over 120000 MS in initializing state, aborting",
     ("mlx5_core", "0001:00:02.0", FIRMWARE_TIMEOUT, None)),
    ("mlx5_core 0001:00:02.0: wait_func:1151:(pid 1193): ENABLE_HCA(0x104) timeout. Will cause a leak of a command resource",
     ("mlx5_core", "0001:00:02.0", FIRMWARE_TIMEOUT, None)),
    ("mlx5_core 0001:00:02.0: mlx5_function_setup:1164:(pid 1193): enable hca failed",
     ("mlx5_core", "0001:00:02.0", DRIVER_ERROR, None)),
    ("mlx5_core 0001:00:02.0: init_one:1144:(pid 7): init_one failed with error code -22",
     ("mlx5_core", "0001:00:02.0", DRIVER_ERROR, -22)),
    # mlx4 main.c
    ("mlx4_core 0001:00:02.0: Failed to init slave mfunc interface, aborting",
     ("mlx4_core", "0001:00:02.0", DRIVER_ERROR, None)),
    ("mlx4_core: probe of 0001:00:02.0 failed with error -5", ("mlx4_core", "0001:00:02.0", PROBE_FAILED, -5)),
    # hv_pci (pci-hyperv.c)
    ("hv_pci 9970f259-1a65-4a22-bce2-500aee5b8543: PCI Pass-through VSP failed D0 Entry with status c0000184",
     ("hv_pci", "9970f259-1a65-4a22-bce2-500aee5b8543", DRIVER_ERROR, None)),
    # mlx5 cmd.c: a command the firmware never completed (wait_func_handle_exec_timeout, 5.x on; the
    # index went negative in 6.x), and one that timed out waiting for a command slot
    ("mlx5_core 0001:00:02.0: wait_func_handle_exec_timeout:1108:(pid 5): cmd[0]: ENABLE_HCA(0x104) No done completion",
     ("mlx5_core", "0001:00:02.0", FIRMWARE_TIMEOUT, None)),
    ("mlx5_core 0001:00:02.0: wait_func_handle_exec_timeout:1128:(pid 9): cmd[-22]: CREATE_UCTX(0xa04) No done completion",
     ("mlx5_core", "0001:00:02.0", FIRMWARE_TIMEOUT, None)),
    ("mlx5_core 0001:00:02.0: wait_func:1190:(pid 5): QUERY_HCA_CAP(0x100) canceled on out of queue timeout.",
     ("mlx5_core", "0001:00:02.0", FIRMWARE_TIMEOUT, None)),
    # mlx5 cmd.c mlx5_cmd_out_err (6.x): the errno a failed firmware command maps to, in parentheses
    ("mlx5_core 0001:00:02.0: mlx5_cmd_out_err:803:(pid 1): CREATE_EQ(0x301) op_mod(0x0) failed, status bad "
     "parameter(0x3), syndrome (0x2a1f0), err(-22)", ("mlx5_core", "0001:00:02.0", DRIVER_ERROR, -22)),
    # pci-hyperv.c hv_pci_allocate_bridge_windows: the VM's MMIO cannot hold the VF's BARs; the probe
    # then returns -ENXIO, which the driver core logs at debug level only, so this line is all there is
    ("hv_pci 9970f259-1a65-4a22-bce2-500aee5b8543: Need 0x8000000 of low MMIO space. Consider reconfiguring the VM.",
     ("hv_pci", "9970f259-1a65-4a22-bce2-500aee5b8543", DRIVER_ERROR, None)),
    ("hv_pci 9970f259-1a65-4a22-bce2-500aee5b8543: Need 0x200000000 of high MMIO space. Consider reconfiguring the VM.",
     ("hv_pci", "9970f259-1a65-4a22-bce2-500aee5b8543", DRIVER_ERROR, None)),
    # pci-hyperv.c hv_pci_protocol_negotiation, with the kernel's own spelling
    ("hv_pci 9970f259-1a65-4a22-bce2-500aee5b8543: PCI Pass-through VSP failed sending version reqquest: 0xc0000001",
     ("hv_pci", "9970f259-1a65-4a22-bce2-500aee5b8543", DRIVER_ERROR, None)),
])
def test_each_form(message, expected):
    failure = parse_message(1.5, message)
    assert failure is not None
    assert (failure.driver, failure.device, failure.kind, failure.errno) == expected
    assert failure.text == message


@pytest.mark.parametrize("message", [
    # the healthy lines of samples/dmesg_cx5-* and docs_dmesg_*, and progress lines
    "mlx5_core 927a:00:02.0: firmware version: 16.30.5000",
    "mlx5_core 1a65:00:02.0: is_dpll_supported:213:(pid 94): Missing SyncE capability",
    "mlx5_core cf63:00:02.0 eth1: Disabling LRO, not supported in legacy RQ",
    "mlx5_core cf63:00:02.0: MLX5E: StrdRq(0) RqSz(1024) StrdSz(256) RxCqeCmprss(0)",
    "mlx4_core 0001:00:02.0: Timestamping is not supported in slave mode",
    "mlx5_core 0000:6f:00.0: wait_fw_init:211:(pid 8): Waiting for FW pre-initializing, timeout abort in 59s (0x87010000)",
    "hv_pci e9ac9b28-cf63-4466-9ae3-4b849c3ee03b: PCI VMBus probing: Using version 0x10002",
    "hv_netvsc 7c1e5225-5ca6-7c1e-5225-5ca67c1e5225 eth1: VF slot 2 added",
    # mlx5 cmd.c: the command completed after all (wait_func_handle_exec_timeout's EQ recovery)
    "mlx5_core 0001:00:02.0: wait_func_handle_exec_timeout:1100:(pid 5): cmd[0]: ENABLE_HCA(0x104) recovered after timeout",
    # other drivers' failures are not the VF's
    "e1000: probe of 0000:00:03.0 failed with error -5",
    "nvme 0000:00:04.0: probe with driver nvme failed with error -12",
    "", "mlx5_core", "mlx5_core zz:zz: failed",
])
def test_what_is_not_a_vf_failure(message):
    assert parse_message(0.0, message) is None


def test_kmsg_records_and_garbage_lines():
    text = ("3,901,183192623,-;mlx5_core: probe of 468b:00:02.0 failed with error -16\n"
            " SUBSYSTEM=pci\n \x00\xff garbage\n[ 1.5 no close\n"
            "[99999999999999999999.1] mana 7870:00:00.0: gdma probe failed: err = -71\n")
    assert [(f.boot_s, f.kind) for f in parse_driver_failures(text)] == [(183.192623, PROBE_FAILED)]


def test_errno_digits_are_bounded():
    failure = parse_message(0.0, "mana 7870:00:00.0: gdma probe failed: err = -99999999999")
    assert failure is not None and failure.errno is None


@pytest.mark.parametrize("message", ["mlx5_core: probe of 468b:00:02.0 failed with error -16",
                                     "pci 468b:00:02.0: probe with driver mlx5_core failed with error -16"])
def test_the_driver_cores_line_says_the_errno(message):
    assert parse_message(1.0, message).said == "probe failed with error -16"


def test_a_version_request_without_a_host_is_a_firmware_timeout():
    # -62 is ETIME, what mana_hwc_send_request() returns when the host does not answer.
    failure = parse_message(2.0, "mana 7870:00:00.0: VfVerifyVersionOutput: -62, status=0x0")
    assert (failure.kind, failure.errno) == (FIRMWARE_TIMEOUT, -62)


def test_every_kind_is_one_a_line_can_have():
    from accelnet.parsers.driverlog import KINDS

    lines = ["mlx5_core: probe of 468b:00:02.0 failed with error -16",
             "mana 7870:00:00.0: VfVerifyVersionOutput: -110, status=0x0",
             "mlx5_core 468b:00:02.0: firmware version: 65535.65535.65535",
             "mana 7870:00:00.0: VfVerifyVersionOutput: 0, status=0x1",
             "mana 7870:00:00.0: VfVerifyVersionOutput: -12, status=0x0"]
    assert tuple(parse_message(0.0, line).kind for line in lines) == KINDS


def test_caller_ids_of_printk_caller_kernels():
    """util-linux dmesg (2.37 on) prints the caller field of a CONFIG_PRINTK_CALLER kernel's
    records (``caller=T17``) after the time: the message starts after it."""
    text = ("[  183.192623] [   T17] mlx5_core: probe of 468b:00:02.0 failed with error -16\n"
            "[  183.2] [     C3] mana 7870:00:00.0: gdma probe failed: err = -71\n")
    failures = parse_driver_failures(text)
    assert [(f.boot_s, f.device, f.kind, f.errno) for f in failures] == [
        (183.192623, "468b:00:02.0", PROBE_FAILED, -16), (183.2, "7870:00:00.0", DRIVER_ERROR, -71)]
    assert failures[0].text == "mlx5_core: probe of 468b:00:02.0 failed with error -16"
