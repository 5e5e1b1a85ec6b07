"""lspci in all its forms: real Azure outputs plus forms rendered by lib/names.c's rules."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.parsers.lspci import LspciDevice, LspciParseError, normalize_slot, parse_lspci

DATA = Path(__file__).parent / "data"
CX3 = "MT27500/MT27520 Family [ConnectX-3/ConnectX-3 Pro Virtual Function]"
CX5 = "MT27800 Family [ConnectX-5 Virtual Function]"
CX3_SLOTS = ["3588:00:02.0", "3ce7:00:02.0", "6152:00:02.0", "8627:00:02.0", "8e44:00:02.0",
             "9596:00:02.0", "b494:00:02.0", "cab6:00:02.0"]
GEN1 = [("0000:00:00.0", "Host bridge", "0600", "03"), ("0000:00:07.0", "ISA bridge", "0601", "01"),
        ("0000:00:07.1", "IDE interface", "0101", "01"), ("0000:00:07.3", "Bridge", "0680", "02"),
        ("0000:00:08.0", "VGA compatible controller", "0300", None)]


def _read(name: str) -> str:
    return (DATA / name).read_text()


def _nets(devs):
    return [d for d in devs if d.is_network]


def test_docs_plain_with_domain():
    devs = parse_lspci(_read("docs_lspci_gen1_cx3-vf_create-vm-cli.txt"))
    assert [(d.slot, d.class_name, d.class_code, d.revision) for d in devs[:5]] == GEN1
    vf = devs[5]
    assert (vf.slot, vf.class_name, vf.vendor_name, vf.device_name) == (
        "0001:00:02.0", "Ethernet controller", "Mellanox Technologies", CX3)
    assert (vf.vendor_id, vf.device_id) == ("15b3", "1004")  # from the pci.ids excerpt
    assert devs[0].device_name == "440BX/ZX/DX - 82443BX/ZX/DX Host bridge (AGP disabled)"
    assert devs[4].description == "Microsoft Corporation Hyper-V virtual VGA"


def test_issue_plain_without_domain_and_prompts():
    devs = parse_lspci(_read("issue_failure_no-vf-in-lspci_ethtool-no-stats-available_centos_azure-docs-60667.txt"))
    assert [(d.slot, d.class_name, d.class_code, d.revision) for d in devs] == GEN1
    assert _nets(devs) == []


def test_plain_cx5():
    devs = parse_lspci(_read("lspci_cx5-vf_15b3-1018_ubuntu22.04-6.8.0-1029-azure.txt"))
    assert [(d.slot, d.device_name, d.vendor_id, d.device_id, d.revision) for d in devs] == [
        ("1a65:00:02.0", CX5, "15b3", "1018", "80"), ("927a:00:02.0", CX5, "15b3", "1018", "80")]


def test_machine_cx3_eight_nics():
    devs = parse_lspci(_read("lspci-mD_cx3-vf_15b3-1004_8nics_ubuntu20.04-5.15.0-1089-azure.txt"))
    assert len(devs) == 13
    assert [d.slot for d in _nets(devs)] == CX3_SLOTS
    isa = devs[1]
    assert (isa.subsystem_vendor_name, isa.subsystem_device_name, isa.subsystem_vendor_id) == (
        "Microsoft Corporation", "82371AB/EB/MB PIIX4 ISA", "1414")
    ide = devs[2]
    assert (ide.revision, ide.prog_if, ide.subsystem_vendor_name) == ("01", "80", None)
    assert devs[4].revision is None
    vf = devs[5]
    assert (vf.vendor_name, vf.device_name, vf.vendor_id, vf.device_id) == (
        "Mellanox Technologies", CX3, "15b3", "1004")
    assert vf.subsystem_device_name == CX3


def test_machine_cx5():
    devs = parse_lspci(_read("lspci-mD_cx5-vf_ubuntu22.04-6.8.0-1029-azure.txt"))
    assert [(d.slot, d.revision, d.device_id) for d in devs] == [
        ("1a65:00:02.0", "80", "1018"), ("927a:00:02.0", "80", "1018")]


def test_numeric_forms():
    devs = parse_lspci(_read("lspci-nD_cx3-vf_15b3-1004_8nics_ubuntu20.04-5.15.0-1089-azure.txt"))
    assert [(d.slot, d.class_code, d.vendor_id, d.device_id, d.revision) for d in devs[:5]] == [
        ("0000:00:00.0", "0600", "8086", "7192", "03"), ("0000:00:07.0", "0601", "8086", "7110", "01"),
        ("0000:00:07.1", "0101", "8086", "7111", "01"), ("0000:00:07.3", "0680", "8086", "7113", "02"),
        ("0000:00:08.0", "0300", "1414", "5353", None)]
    assert [d.slot for d in _nets(devs)] == CX3_SLOTS
    assert all((d.vendor_id, d.device_id, d.class_name) == ("15b3", "1004", "Ethernet controller")
               for d in _nets(devs))
    cx5 = parse_lspci(_read("lspci-nD_cx5-vf_ubuntu22.04-6.8.0-1029-azure.txt"))
    assert [(d.slot, d.device_id, d.revision) for d in cx5] == [("1a65:00:02.0", "1018", "80"),
                                                                 ("927a:00:02.0", "1018", "80")]


def test_nks_kernel_lines():
    (vf,) = parse_lspci(_read("lspci-nks_cx3-vf_mlx4_core_ubuntu20.04-5.15.0-1089-azure.txt"))
    assert (vf.slot, vf.class_code, vf.vendor_id, vf.device_id) == ("b494:00:02.0", "0200", "15b3", "1004")
    assert (vf.subsystem_vendor_id, vf.subsystem_device_id) == ("15b3", "61b0")
    assert (vf.driver, vf.modules) == ("mlx4_core", ("mlx4_core",))


# Forms not in the samples, rendered as pciutils prints them (lspci.c show_terse/show_machine,
# ls-kernel.c, lib/names.c), for a MANA VF (pci.ids has no name for 1414:00ba) and a CX-4 Lx VF.
NNK = """\
$ lspci -nnk
7870:00:00.0 Ethernet controller [0200]: Microsoft Corporation Device [1414:00ba]
\tSubsystem: Microsoft Corporation Device [1414:0000]
\tKernel driver in use: mana
\tKernel modules: mana
b2c1:00:02.0 Ethernet controller [0200]: Mellanox Technologies MT27710 Family [ConnectX-4 Lx Virtual Function] [15b3:1016] (rev 80)
\tSubsystem: Mellanox Technologies Device [15b3:0190]
\tKernel driver in use: mlx5_core
\tKernel modules: mlx5_core
"""

PLAIN_K = """\
7870:00:00.0 Ethernet controller: Microsoft Corporation Device 00ba
\tSubsystem: Microsoft Corporation Device 0000
\tKernel driver in use: mana
\tKernel modules: mana
0000:00:08.0 VGA compatible controller: Microsoft Corporation Hyper-V virtual VGA
\tKernel driver in use: hyperv_fb
\tKernel modules: hyperv_fb, hyperv_drm
"""

VMM = """\
Slot:\t7870:00:00.0
Class:\tEthernet controller
Vendor:\tMicrosoft Corporation
Device:\tDevice 00ba
SVendor:\tMicrosoft Corporation
SDevice:\tDevice 0000
Driver:\tmana
Module:\tmana
NUMANode:\t0

Slot:\tb2c1:00:02.0
Class:\tEthernet controller
Vendor:\tMellanox Technologies
Device:\tMT27710 Family [ConnectX-4 Lx Virtual Function]
SVendor:\tMellanox Technologies
SDevice:\tDevice 0190
PhySlot:\t1
Rev:\t80
Driver:\tmlx5_core
Module:\tmlx5_core
Module:\tmlx5_vdpa
IOMMUGroup:\t3
"""

VMMNN = """\
Slot:\t7870:00:00.0
Class:\tEthernet controller [0200]
Vendor:\tMicrosoft Corporation [1414]
Device:\tDevice [00ba]
SVendor:\tMicrosoft Corporation [1414]
SDevice:\tDevice [0000]

Slot:\tb2c1:00:02.0
Class:\tEthernet controller [0200]
Vendor:\tMellanox Technologies [15b3]
Device:\tMT27710 Family [ConnectX-4 Lx Virtual Function] [1016]
SVendor:\tMellanox Technologies [15b3]
SDevice:\tDevice [0190]
Rev:\t80
"""

VMN = """\
Device:\t7870:00:00.0
Class:\t0200
Vendor:\t1414
Device:\t00ba
SVendor:\t1414
SDevice:\t0000
Device:\tb2c1:00:02.0
Class:\t0200
Vendor:\t15b3
Device:\t1016
SVendor:\t15b3
SDevice:\t0190
Rev:\t80
"""

MNN = """\
7870:00:00.0 "Ethernet controller [0200]" "Microsoft Corporation [1414]" "Device [00ba]" "Microsoft Corporation [1414]" "Device [0000]"
b2c1:00:02.0 "Ethernet controller [0200]" "Mellanox Technologies [15b3]" "MT27710 Family [ConnectX-4 Lx Virtual Function] [1016]" -r80 "Mellanox Technologies [15b3]" "Device [0190]"
"""


@pytest.mark.parametrize("text", [NNK, VMMNN, VMN, MNN], ids=["nnk", "vmmnn", "vmn", "mnn"])
def test_numbered_forms_give_ids(text):
    mana, cx4 = parse_lspci(text)
    assert (mana.slot, mana.class_code, mana.vendor_id, mana.device_id) == ("7870:00:00.0", "0200", "1414", "00ba")
    assert mana.device_name is None and mana.is_network
    assert (mana.subsystem_vendor_id, mana.subsystem_device_id) == ("1414", "0000")
    assert (cx4.slot, cx4.vendor_id, cx4.device_id, cx4.revision) == ("b2c1:00:02.0", "15b3", "1016", "80")
    assert cx4.device_name == "MT27710 Family [ConnectX-4 Lx Virtual Function]"
    assert cx4.subsystem_device_id == "0190"


def test_nnk_names_and_drivers():
    mana, cx4 = parse_lspci(NNK)
    assert mana.vendor_name == "Microsoft Corporation"
    assert (mana.driver, mana.modules) == ("mana", ("mana",))
    assert cx4.vendor_name == "Mellanox Technologies" and cx4.driver == "mlx5_core"


def test_plain_unknown_device_and_module_list():
    mana, vga = parse_lspci(PLAIN_K)
    assert (mana.vendor_name, mana.device_name, mana.vendor_id, mana.device_id) == (
        "Microsoft Corporation", None, "1414", "00ba")
    assert (mana.subsystem_vendor_name, mana.subsystem_device_id) == ("Microsoft Corporation", "0000")
    assert vga.modules == ("hyperv_fb", "hyperv_drm")
    assert vga.driver == "hyperv_fb"


def test_vmm_records():
    mana, cx4 = parse_lspci(VMM)
    assert (mana.vendor_id, mana.device_id, mana.device_name, mana.numa_node) == ("1414", "00ba", None, 0)
    assert mana.driver == "mana"
    assert (cx4.device_id, cx4.phy_slot, cx4.iommu_group) == ("1016", "1", "3")
    assert cx4.modules == ("mlx5_core", "mlx5_vdpa")
    assert cx4.subsystem_device_name is None and cx4.subsystem_device_id == "0190"


def test_verbose_terse_lines_are_skipped_but_header_read():
    text = """\
0001:00:02.0 Ethernet controller: Mellanox Technologies MT27710 Family [ConnectX-4 Lx Virtual Function] (rev 80)
\tSubsystem: Mellanox Technologies Device 0190
\tPhysical Slot: 1
\tFlags: bus master, fast devsel, latency 0, NUMA node 0
\tMemory at fe0000000 (64-bit, prefetchable) [size=1M]
\tCapabilities: [60] Express Endpoint, MSI 00
\tKernel driver in use: mlx5_core
\tKernel modules: mlx5_core

0000:00:07.1 IDE interface: Intel Corporation 82371AB/EB/MB PIIX4 IDE (rev 01) (prog-if 80 [ISA Compatibility mode-only controller, supports bus mastering])
\tFlags: bus master, medium devsel, latency 0
"""
    cx4, ide = parse_lspci(text)
    assert (cx4.device_id, cx4.revision, cx4.driver, cx4.subsystem_device_id) == ("1016", "80", "mlx5_core", "0190")
    assert (ide.revision, ide.prog_if, ide.device_name) == ("01", "80", "82371AB/EB/MB PIIX4 IDE")


def test_unknown_vendor_class_and_escaped_quotes():
    text = ('0000:00:01.0 "Class 0280" "Vendor 1ab4" "Device 0001" "" ""\n'
            '00:02.0 Network controller [0280]: Device [1ab4:0002]\n'
            '00:03.0 Class 0b40: Device 1ab4:0003\n'
            '00:04.0 "Network controller" "Odd \\"Quoted\\" Corp" "Dev \\\\ 1" -r01 "Unknown vendor 1ab4" "Device 0004"\n'
            '00:05.0 Ethernet controller: Some Unknown Vendor Inc. Fancy NIC (rev 02)\n')
    a, b, c, d, e = parse_lspci(text)
    assert (a.class_code, a.class_name, a.vendor_id, a.device_id, a.is_network) == ("0280", "Network controller",
                                                                                   "1ab4", "0001", True)
    assert (b.class_code, b.vendor_id, b.device_id, b.vendor_name) == ("0280", "1ab4", "0002", None)
    assert (c.class_code, c.vendor_id, c.device_id, c.is_network) == ("0b40", "1ab4", "0003", False)
    assert (d.vendor_name, d.device_name, d.subsystem_vendor_id, d.subsystem_device_id) == (
        'Odd "Quoted" Corp', "Dev \\ 1", "1ab4", "0004")
    assert (e.vendor_name, e.device_name, e.description, e.revision) == (
        None, None, "Some Unknown Vendor Inc. Fancy NIC", "02")


def test_bad_lines_skipped_only_when_devices_parse():
    text = "lspci: Unable to load libkmod resources: error -12\n" + NNK + "garbage line\n\tSubsystem orphan\n"
    assert len(parse_lspci(text)) == 2
    for junk in ["garbage", "pcilib: Cannot open /proc/bus/pci\nlspci: Cannot find any working access method.",
                 "Slot:\tnot-a-slot", "00:00.0 no colon separator", '00:00.0 "unterminated', "\tSubsystem: x"]:
        with pytest.raises(LspciParseError):
            parse_lspci(junk)


@pytest.mark.parametrize("text", ["", "\n", "$ lspci\n", "# comment only\n"])
def test_no_devices(text):
    assert parse_lspci(text) == []


def test_non_text():
    with pytest.raises(LspciParseError):
        parse_lspci(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw,expected", [("00:08.0", "0000:00:08.0"), ("0001:00:02.0", "0001:00:02.0"),
                                          ("B494:00:02.0", "b494:00:02.0"), ("1:00:02.7", "0001:00:02.7"),
                                          ("00:08.8", None), ("0:8.0", None), ("x", None)])
def test_normalize_slot(raw, expected):
    assert normalize_slot(raw) == expected


# ----------------------------------------------------------------- property tests

_hex4 = st.integers(min_value=0, max_value=0xFFFF).map(lambda n: f"{n:04x}")
_name = st.from_regex(r"[A-Za-z][A-Za-z0-9 ./,()+\"-]{0,24}[A-Za-z0-9)]", fullmatch=True).filter(
    lambda s: "  " not in s and not s.endswith(" Device") and s not in ("Device", "Vendor", "Class")
    and not s.startswith(("Device ", "Vendor ", "Class ", "Unknown vendor "))
    # a name of exactly four hex digits reads as the id `lspci -mn` prints in that field: the
    # -m format itself cannot tell them apart (pci.ids has no such name)
    and not re.fullmatch(r"[0-9a-fA-F]{4}", s))


@st.composite
def _device(draw):
    domain = draw(st.one_of(st.none(), _hex4))
    bus, dev, fn = draw(st.integers(0, 255)), draw(st.integers(0, 31)), draw(st.integers(0, 7))
    slot = (f"{domain}:" if domain else "") + f"{bus:02x}:{dev:02x}.{fn}"
    return dict(slot=slot, cls=draw(_hex4), vid=draw(_hex4), did=draw(_hex4),
                vname=draw(st.one_of(st.none(), _name)), dname=draw(st.one_of(st.none(), _name)),
                rev=draw(st.one_of(st.none(), st.integers(1, 255).map(lambda n: f"{n:02x}"))))


def _single(name, num, unknown, mode):
    if mode == "n":
        return num
    if name is None:
        return f"{unknown} [{num}]" if mode == "nn" else f"{unknown} {num}"
    return f"{name} [{num}]" if mode == "nn" else name


def _render(devs, form, mode):
    out = []
    for d in devs:
        cls = _single(None, d["cls"], "Class", mode)
        ven = _single(d["vname"], d["vid"], "Vendor", mode)
        dev = _single(d["dname"], d["did"], "Device", mode)
        if form == "m":
            esc = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
            rev = f" -r{d['rev']}" if d["rev"] else ""
            out.append(f"{d['slot']} {esc(cls)} {esc(ven)} {esc(dev)}{rev} \"\" \"\"")
        elif form == "vmm":
            rec = [f"Slot:\t{d['slot']}", f"Class:\t{cls}", f"Vendor:\t{ven}", f"Device:\t{dev}"]
            if d["rev"]:
                rec.append(f"Rev:\t{d['rev']}")
            out.append("\n".join(rec) + "\n")
        else:
            num = f"{d['vid']}:{d['did']}"
            if mode == "n":
                pair = num
            elif d["vname"] is None:
                pair = f"Device [{num}]" if mode == "nn" else f"Device {num}"
            elif d["dname"] is None:
                pair = f"{d['vname']} Device [{num}]" if mode == "nn" else f"{d['vname']} Device {d['did']}"
            else:
                pair = f"{d['vname']} {d['dname']}" + (f" [{num}]" if mode == "nn" else "")
            rev = f" (rev {d['rev']})" if d["rev"] else ""
            out.append(f"{d['slot']} {cls}: {pair}{rev}")
    return "\n".join(out) + "\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(_device(), max_size=5), st.sampled_from(["terse", "m", "vmm"]), st.sampled_from(["", "n", "nn"]))
def test_rendered_forms_roundtrip(devs, form, mode):
    got = parse_lspci(_render(devs, form, mode))
    assert [g.slot for g in got] == [normalize_slot(d["slot"]) for d in devs]
    for g, d in zip(got, devs):
        assert g.revision == d["rev"]
        assert g.class_code == d["cls"]
        # which ids the form prints: all with -n/-nn, else only those whose name is unknown
        vid_shown = mode != "" or d["vname"] is None
        did_shown = mode != "" or d["dname"] is None or (form == "terse" and d["vname"] is None)
        if vid_shown:
            assert g.vendor_id == d["vid"]
        if did_shown:
            assert g.device_id == d["did"]
        if form != "terse" and mode != "n":
            assert g.vendor_name == d["vname"] or (d["vname"] is None and g.vendor_name is not None)
            if d["dname"] is not None:
                assert g.device_name == d["dname"]


_SAMPLES = sorted(p.name for p in DATA.glob("*lspci*"))


@settings(max_examples=300)
@given(st.sampled_from(_SAMPLES), st.data())
def test_truncated_samples(name, data):
    text = _read(name)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    try:
        devs = parse_lspci(text[:cut])
    except LspciParseError:
        return
    assert all(isinstance(d, LspciDevice) for d in devs)
    assert len(devs) <= len(parse_lspci(text))


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_random_text(text):
    try:
        devs = parse_lspci(text)
    except ParseError:
        return
    assert all(normalize_slot(d.slot) == d.slot for d in devs)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(NNK.splitlines() + VMM.splitlines() + MNN.splitlines() + ["", "junk", "\t"]),
                max_size=25))
def test_shuffled_real_lines(lines):
    try:
        parse_lspci("\n".join(lines))
    except LspciParseError:
        pass


def test_huge_numa_node_is_ignored():
    (dev,) = parse_lspci("Slot:\t00:00.0\nNUMANode:\t" + "9" * 5000 + "\n")
    assert dev.numa_node is None and dev.slot == "0000:00:00.0"


def test_machine_form_class_names_and_the_network_fallback():
    # -m prints class names, not codes: the code of a known class name is filled in.
    devs = parse_lspci(_read("lspci-mD_cx5-vf_ubuntu22.04-6.8.0-1029-azure.txt"))
    assert [(d.class_name, d.class_code, d.is_network) for d in devs] == [("Ethernet controller", "0200", True)] * 2


@pytest.mark.parametrize("device, network", [
    (LspciDevice("0000:00:00.0", class_code="0200"), True),
    (LspciDevice("0000:00:00.0", class_code="0280"), True),
    (LspciDevice("0000:00:00.0", class_code="0207"), True),        # InfiniBand is a network class too
    (LspciDevice("0000:00:00.0", class_code="0300"), False),
    (LspciDevice("0000:00:00.0", class_code="0300", class_name="Ethernet controller"), False),  # the code wins
    (LspciDevice("0000:00:00.0", class_name="Ethernet controller"), True),
    (LspciDevice("0000:00:00.0", class_name="Network controller"), True),
    (LspciDevice("0000:00:00.0", class_name="VGA compatible controller"), False),
    (LspciDevice("0000:00:00.0"), False),
])
def test_is_network(device, network):
    assert device.is_network is network


def test_machine_lines_with_three_fields_have_no_subsystem():
    # pciutils before 3.0 (and -m on a device without a subsystem id) print three fields.
    text = ('0000:00:08.0 "VGA compatible controller" "Microsoft Corporation" "Hyper-V virtual VGA"\n'
            '1a65:00:02.0 "Ethernet controller" "Mellanox Technologies" "MT27800 Family [ConnectX-5 Virtual Function]" -r80\n')
    vga, vf = parse_lspci(text)
    assert (vga.class_name, vga.vendor_name, vga.device_name, vga.subsystem_vendor_name, vga.subsystem_device_name) == (
        "VGA compatible controller", "Microsoft Corporation", "Hyper-V virtual VGA", None, None)
    assert (vf.revision, vf.device_name, vf.is_network) == ("80", CX5, True)


def test_machine_lines_with_four_fields_are_not_lspci():
    text = ('0000:00:08.0 "VGA compatible controller" "Microsoft Corporation" "Hyper-V virtual VGA" "x"\n'
            '1a65:00:02.0 "Ethernet controller" "Mellanox Technologies" "MT27800 Family [ConnectX-5 Virtual Function]"\n')
    assert [d.slot for d in parse_lspci(text)] == ["1a65:00:02.0"]


def test_numeric_forms_get_known_names():
    text = ("1a65:00:02.0 0200: 15b3:101e\n"
            "7870:00:00.0 0200: 1414:00ba\n")
    cx, mana = parse_lspci(text)
    assert (cx.vendor_name, cx.device_name, cx.class_name) == (
        "Mellanox Technologies", "ConnectX Family mlx5Gen Virtual Function", "Ethernet controller")
    assert (mana.vendor_id, mana.device_id, mana.vendor_name) == ("1414", "00ba", "Microsoft Corporation")


def test_descriptions_are_what_lspci_printed_or_built_from_the_names():
    text = ('00:02.0 Network controller [0280]: Device [1ab4:0002]\n'                # both unknown: no description
            '00:03.0 Ethernet controller [0200]: Acme Device [1ab4:0003]\n'         # only the vendor is known to lspci
            '00:04.0 Ethernet controller [0200]: Acme Fancy NIC [15b3:1018]\n'      # lspci's own words are kept
            '1a65:00:02.0 "Ethernet controller" "Mellanox Technologies" "' + CX5 + '"\n')
    unknown, acme, named, machine = parse_lspci(text)
    assert (unknown.vendor_id, unknown.vendor_name, unknown.device_name, unknown.description) == (
        "1ab4", None, None, None)
    assert (acme.vendor_name, acme.device_id, acme.device_name, acme.description) == ("Acme", "0003", None, None)
    # The ids are a known VF, but lspci named the device otherwise: its text is not overridden.
    assert (named.vendor_name, named.device_name, named.description) == (
        "Mellanox Technologies", None, "Acme Fancy NIC")
    assert machine.description == "Mellanox Technologies " + CX5


def test_whitespace_around_a_field_is_no_part_of_it():
    text = ('0000:00:08.0 "VGA compatible controller " " Microsoft Corporation" " Hyper-V virtual VGA "\n'
            '0001:00:02.0  Ethernet controller:  Mellanox Technologies ' + CX5 + ' (rev 80)\n'
            '\tKernel driver in use:   mlx5_core\n')
    vga, vf = parse_lspci(text)
    assert (vga.class_name, vga.class_code, vga.vendor_name, vga.vendor_id, vga.device_name) == (
        "VGA compatible controller", "0300", "Microsoft Corporation", "1414", "Hyper-V virtual VGA")
    assert (vf.class_name, vf.vendor_name, vf.device_name, vf.device_id, vf.driver) == (
        "Ethernet controller", "Mellanox Technologies", CX5, "1018", "mlx5_core")


@pytest.mark.parametrize("line", ["00:08.0 : Mellanox Technologies " + CX5, "00:08.0 Ethernet controller:   "])
def test_a_terse_line_without_class_or_without_device_is_not_lspci(line):
    with pytest.raises(LspciParseError):
        parse_lspci(line + "\n")


def test_a_blank_line_ends_a_vmm_record():
    text = "Slot:\t00:08.0\nClass:\tEthernet controller\nVendor:\tMellanox Technologies\n\nDriver:\tmlx5_core\n"
    (vf,) = parse_lspci(text)
    assert (vf.vendor_name, vf.driver) == ("Mellanox Technologies", None)


def test_vmm_values_go_to_their_own_fields_and_bad_ones_are_dropped():
    text = ("Slot:\t00:08.0\nClass:\tEthernet controller\nVendor:\tMellanox Technologies\nDevice:\t" + CX5 + "\n"
            "Rev:\t80\nProgIf:\t01\nPhySlot:\t12\nIOMMUGroup:\t34\nNUMANode:\t0\n\n"
            "Slot:\t00:09.0\nClass:\tEthernet controller\nRev:\tzz\nProgIf:\tx1\n")
    vf, other = parse_lspci(text)
    assert (vf.revision, vf.prog_if, vf.phy_slot, vf.iommu_group, vf.numa_node) == ("80", "01", "12", "34", 0)
    assert (other.revision, other.prog_if) == (None, None)


def test_a_device_line_is_the_name_until_the_record_has_one():
    # pciutils before 2.2 print the slot as "Device:"; in a record that has no device yet a
    # Device: line is its name even when it reads like a slot.
    text = "Slot:\t00:08.0\nClass:\tEthernet controller\nDevice:\t01:00.0\nDevice:\t00:09.0\nVendor:\tAcme\n"
    first, second = parse_lspci(text)
    assert (first.slot, first.device_name, first.vendor_name) == ("0000:00:08.0", "01:00.0", None)
    assert (second.slot, second.vendor_name) == ("0000:00:09.0", "Acme")


def test_vmm_lines_outside_a_record_are_unreadable():
    terse = "00:08.0 Ethernet controller: Mellanox Technologies " + CX5 + "\n"
    (vf,) = parse_lspci(terse + "Driver:\tmlx5_core\n")
    assert vf.driver is None
    with pytest.raises(LspciParseError, match=r"first unreadable line: 'Driver:\\tmlx5_core'"):
        parse_lspci("Driver:\tmlx5_core\n")


def test_the_error_names_the_first_unreadable_line_cut_at_80_characters():
    first = "x" * 79 + "yz"
    with pytest.raises(LspciParseError) as err:
        parse_lspci(first + "\nsecond bad line\n")
    assert str(err.value) == "not lspci output (first unreadable line: %r)" % (first[:80],)
