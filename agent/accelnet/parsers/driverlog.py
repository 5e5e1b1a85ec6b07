"""What the VF's drivers logged when they failed: a pure parser (kernel-log text in, failures out).

A VF that is on the PCI bus with no driver, or whose VMBus bridge never produced a PCI
device, is explained by the kernel log, in the words of the code that failed. The forms
below are those of mainline across versions; each line is matched on its own (no state),
so a log that starts mid-way still gives what it holds.

* The driver core, when a probe returns an error other than -ENODEV/-ENXIO/-EPROBE_DEFER
  (those are logged at debug level only): ``<driver>: probe of <device> failed with error <n>``
  (``pr_warn`` in drivers/base/dd.c ``really_probe``/``call_driver_probe``, every kernel up to
  2024), and ``<driver> <device>: probe with driver <driver> failed with error <n>`` after the
  2024 change "driver: core: Log probe failure as error and with device metadata".
* mlx5_core (drivers/net/ethernet/mellanox/mlx5/core/main.c, ``mlx5_core_err`` prefixes
  ``<function>:<line>:(pid <n>): ``): ``Firmware over <ms> MS in pre-initializing state,
  aborting`` / ``… in initializing state, aborting`` (``wait_fw_init`` gave up on the VF's
  firmware), ``mlx5_init_one failed with error code <n>`` (``probe_one``; older kernels
  ``init_one failed with error code``), ``enable hca failed``, ``Failed initializing command
  interface, aborting``, command timeouts ``<COMMAND>(0x<op>) timeout. Will cause a leak of a
  command resource`` (cmd.c ``wait_func``), and ``firmware version: 65535.65535.65535``: the
  initialization segment read as all ones, i.e. the device was no longer there when probed
  (a VF withdrawn by the host while the guest probed it; Dexuan Cui's "PCI: hv: Add a per-bus
  mutex state_lock", linux-pci 2023-03-28, shows this exact sequence on Azure and fixes the
  race in pci-hyperv).
* mlx4_core (drivers/net/ethernet/mellanox/mlx4/main.c ``mlx4_err``): ``Failed to init slave
  mfunc interface, aborting``, ``Failed to init command interface, aborting``, ``QUERY_FW
  command failed, aborting``…: lines of the device that say failed/aborting.
* mana (drivers/net/ethernet/microsoft/mana/gdma_main.c): ``gdma probe failed: err = <n>``,
  ``mana_gd_setup failed (error <n>)``, ``VfVerifyVersionOutput: <err>, status=0x<s>`` (the version
  handshake: an errno when the request failed, err 0 and a status when the host refused the
  driver's protocol version), ``Failed to query
  resource info: …``, ``Failed to detect devices: …``, ``test_eq timed out on queue <n>``; hw_channel.c ``HWC: Request timed out!`` (later ``…: <ms> ms``),
  ``HWC: Failed hw_channel req: 0x<status>`` (the probe then fails with -EPROTO, -71).
  mlx5 cmd.c also says ``cmd[<i>]: <COMMAND>(0x<op>) No done completion`` (5.x on, before the
  leak line) and ``<COMMAND>(0x<op>) canceled on out of queue timeout.``: firmware timeouts too.
* hv_pci (drivers/pci/controller/pci-hyperv.c, ``dev_err`` on the VMBus device): e.g.
  ``PCI Pass-through VSP failed D0 Entry with status <x>``, ``Request for interrupt failed``,
  and ``Need 0x<size> of low|high MMIO space. Consider reconfiguring the VM.``: the probe then
  returns -ENXIO, which the driver core logs at debug level only, so that line is all there is.

A driver's progress lines (mlx5 ``Waiting for FW pre-initializing, timeout abort in 59s``, a
command ``recovered after timeout``) are not failures: only the final ``… aborting`` is.
"""

import re
from typing import List, Optional

from accelnet.parsers.kernellog import records
from accelnet.parsers.lazypattern import LazyPattern
from accelnet.records import dataclass

#: The drivers of an Accelerated Networking VF and of its VMBus PCI bridge.
VF_DRIVERS = ("mlx4_core", "mlx4_en", "mlx5_core", "mana", "hv_pci")

#: What a failure says about its cause (the remedy follows from it).
PROBE_FAILED = "probe_failed"  # the driver core's verdict: the probe returned an error
FIRMWARE_TIMEOUT = "firmware_timeout"  # the VF's firmware (or command channel) did not answer
DEVICE_GONE = "device_gone"  # the device read as all ones: withdrawn while being probed
PROTOCOL_VERSION = "protocol_version"  # the host refused the driver's protocol version
DRIVER_ERROR = "driver_error"  # any other failure line of the driver
KINDS = (PROBE_FAILED, FIRMWARE_TIMEOUT, DEVICE_GONE, PROTOCOL_VERSION, DRIVER_ERROR)

_DRIVER = "|".join(VF_DRIVERS)
#: A PCI slot (``927a:00:02.0``) or a VMBus instance GUID (hv_pci's device).
_DEVICE = r"[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
_ERRNO = r"(-\d{1,4})"
_CORE_OLD = LazyPattern(r"^(%s): probe of (%s) failed with error %s$" % (_DRIVER, _DEVICE, _ERRNO))
_CORE_NEW = LazyPattern(r"^\S+ (%s): probe with driver (%s) failed with error %s$" % (_DEVICE, _DRIVER, _ERRNO))
#: ``<driver> <device>[ <netdev>]: <text>`` (dev_printk/netdev_printk of the VF's drivers).
_DEVICE_LINE = LazyPattern(r"^(%s):? (%s)(?: [^\s:]+)?: (.*)$" % (_DRIVER, _DEVICE))
#: mlx5_core_err/warn put the C function, line and pid before the text.
_MLX5_PREFIX = LazyPattern(r"^[A-Za-z_][A-Za-z0-9_]*:\d+:\(pid \d+\): ")
_CLASSIFIED = (
    (LazyPattern(r"^\S+\(0x[0-9a-fA-F]+\) timeout\. Will cause a leak of a command resource$"), FIRMWARE_TIMEOUT),
    (LazyPattern(r"^test_eq timed out on queue \d+$"), FIRMWARE_TIMEOUT),
    (LazyPattern(r"^HWC: Request timed out\b.*$"), FIRMWARE_TIMEOUT),
    (LazyPattern(r"^Firmware over \d+ MS in (?:pre-)?initializing state, aborting$"), FIRMWARE_TIMEOUT),
    (LazyPattern(r"^cmd\[-?\d{1,4}\]: \S+\(0x[0-9a-fA-F]+\) No done completion$"), FIRMWARE_TIMEOUT),
    (LazyPattern(r"^\S+\(0x[0-9a-fA-F]+\) canceled on out of queue timeout\.$"), FIRMWARE_TIMEOUT),
    (LazyPattern(r"^firmware version: 65535\.65535\.65535$"), DEVICE_GONE),
    (LazyPattern(r"^Need 0x[0-9a-fA-F]+ of (?:low|high) MMIO space\. Consider reconfiguring the VM\.$"), DRIVER_ERROR),
)
#: mana's version handshake: an errno when the request failed, else the host's refusal.
_VF_VERSION = LazyPattern(r"^VfVerifyVersionOutput: (-?\d{1,4}), status=0x[0-9a-fA-F]+$")
_PROGRESS = LazyPattern(r"^Waiting for FW\b|^cmd\[-?\d{1,4}\]: \S+ recovered after timeout$")
_FAILURE_WORDS = LazyPattern(r"\b(?:fail(?:ed|ure|s)?|abort(?:ing|ed)?|timed out|timeout)\b", re.IGNORECASE)
#: The errno a driver's own failure line names (``error code -110``, ``err = -71``,
#: ``(error -22)``, ``err=-12``, mlx5_cmd_out_err's ``…, syndrome (0x2a1f0), err(-22)``; mana's
#: ``…: -110, 0x0`` and ``…: -110``).
_LINE_ERRNO = LazyPattern(r"\b(?:error code|err(?:or)?)\s*[=:(]?\s*(-\d{1,4})\b|: (-\d{1,4})(?:, 0x[0-9a-fA-F]+)?$")


@dataclass
class DriverFailure:
    """One failure line of a VF driver (or of hv_pci) for one device."""

    boot_s: float
    driver: str
    device: str  # PCI slot, lower case; or the hv_pci bridge's VMBus GUID
    kind: str
    errno: Optional[int]  # negative, where the line names one
    text: str  # the message, without its timestamp
    said: str = ""  # what the driver said, without its driver/device/function prefixes

    @property
    def is_pci(self) -> bool:
        return ":" in self.device


def parse_message(boot_s: float, message: str) -> Optional[DriverFailure]:
    """The failure one kernel message reports, or None for any other message."""
    text = message.strip()
    match = _CORE_OLD.match(text)
    if match:
        return DriverFailure(boot_s, match.group(1), match.group(2).lower(), PROBE_FAILED, int(match.group(3)), text,
                             f"probe failed with error {match.group(3)}")
    match = _CORE_NEW.match(text)
    if match:
        return DriverFailure(boot_s, match.group(2), match.group(1).lower(), PROBE_FAILED, int(match.group(3)), text,
                             f"probe failed with error {match.group(3)}")
    match = _DEVICE_LINE.match(text)
    if not match:
        return None
    driver, device, body = match.group(1), match.group(2).lower(), match.group(3)
    body = _MLX5_PREFIX.sub("", body, count=1).strip()
    version = _VF_VERSION.match(body)
    if version:
        err = int(version.group(1))
        kind = PROTOCOL_VERSION if err == 0 else FIRMWARE_TIMEOUT if err in (-110, -62) else DRIVER_ERROR
        return DriverFailure(boot_s, driver, device, kind, err or None, text, body)
    for pattern, kind in _CLASSIFIED:
        if pattern.match(body):
            return DriverFailure(boot_s, driver, device, kind, _errno(body), text, body)
    if _PROGRESS.match(body) or not _FAILURE_WORDS.search(body):
        return None
    return DriverFailure(boot_s, driver, device, DRIVER_ERROR, _errno(body), text, body)


def _errno(body: str) -> Optional[int]:
    found = _LINE_ERRNO.search(body)
    return int(found.group(1) or found.group(2)) if found else None


def parse_driver_failures(text: str) -> List[DriverFailure]:
    """Every VF-driver failure of a kernel log, oldest first."""
    failures = []
    for boot_s, message in records(text):
        failure = parse_message(boot_s, message)
        if failure is not None:
            failures.append(failure)
    return failures
