"""`ethtool -S` text: real Azure outputs (docs, issues) and ethtool's exact print format."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.parsers.ethtool_text import (
    EthtoolCommandError,
    EthtoolFormatError,
    NoStatsAvailable,
    parse_ethtool_stats,
)

DATA = Path(__file__).parent / "data"
VF = ["vf_rx_packets", "vf_rx_bytes", "vf_tx_packets", "vf_tx_bytes", "vf_tx_dropped"]


def _sample(name: str) -> str:
    """A sample file without its provenance line (ours, not the tool's)."""
    text = (DATA / name).read_text()
    assert text.startswith("# source:")
    return text.split("\n", 1)[1]


def test_docs_grep_vf_output():
    stats = parse_ethtool_stats(_sample("docs_ethtool-S-eth0-grep-vf_create-vm-cli.txt"))
    assert list(stats) == VF
    assert stats == {"vf_rx_packets": 992956, "vf_rx_bytes": 2749784180, "vf_tx_packets": 2656684,
                     "vf_tx_bytes": 1099443970, "vf_tx_dropped": 0}


def test_provenance_comment_line_is_skipped():
    text = (DATA / "docs_ethtool-S-eth0-grep-vf_create-vm-cli.txt").read_text()
    assert parse_ethtool_stats(text)["vf_tx_dropped"] == 0


def test_issue_output_with_prompt_and_annotations():
    stats = parse_ethtool_stats(
        _sample("issue_ethtool-S_hv_netvsc_non-accelerated_vf-zero_partial_azure-linux-kernel-42.txt"))
    assert list(stats)[:7] == ["tx_scattered", "tx_no_memory", "tx_no_space", "tx_too_big",
                               "tx_busy", "tx_send_full", "rx_comp_busy"]
    assert stats["tx_send_full"] == 75776
    assert stats["rx_comp_busy"] == 1
    assert all(stats[k] == 0 for k in VF)
    assert stats["tx_queue_4_bytes"] == 43152567515
    assert list(stats)[-1] == "rx_queue_5_bytes"
    assert len(stats) == 7 + 5 + 6 * 4


def test_no_stats_available_sample():
    text = _sample("issue_failure_no-vf-in-lspci_ethtool-no-stats-available_centos_azure-docs-60667.txt")
    ethtool_part = text.split("$ ethtool", 1)[1]
    with pytest.raises(NoStatsAvailable):
        parse_ethtool_stats("$ ethtool" + ethtool_part)


def test_netvsc_full_layout():
    stats = parse_ethtool_stats((DATA / "ethtool-S_netvsc_2ch_2cpu_constructed.txt").read_text())
    assert len(stats) == 11 + 5 + 8 * 2 + 8 * 2
    assert list(stats)[11:16] == VF
    assert stats["vf_rx_bytes"] == 2749784180
    assert stats["cpu1_vf_rx_packets"] == 2**64 - 1
    assert list(stats)[-1] == "cpu1_vf_tx_bytes"


@pytest.mark.parametrize("text", [
    "no stats available\n",
    "Cannot get stats strings information: Operation not supported\n",
    "NO STATS AVAILABLE",
])
def test_no_stats(text):
    with pytest.raises(NoStatsAvailable):
        parse_ethtool_stats(text)


@pytest.mark.parametrize("text,message", [
    ("Cannot get stats strings information: No such device\n",
     "Cannot get stats strings information: No such device"),
    ("NIC statistics:\nCannot get stats information: No such device",
     "Cannot get stats information: No such device"),
    ("netlink error: No such device", "netlink error: No such device"),
])
def test_command_errors_keep_the_message(text, message):
    with pytest.raises(EthtoolCommandError) as info:
        parse_ethtool_stats(text)
    assert info.value.message == message


def test_names_with_colons_and_spaces_split_on_last_separator():
    text = ("NIC statistics:\n"
            "     rx_pcs_symbol_err_phy: lane: 0: 12\n"
            "     tx packets ok: 3\n"
            "     [0]: rx_ucast_packets: 9\n")
    assert parse_ethtool_stats(text) == {"rx_pcs_symbol_err_phy: lane: 0": 12,
                                         "tx packets ok": 3, "[0]: rx_ucast_packets": 9}


def test_headers_of_newer_ethtool_and_crlf():
    text = "Standard stats for eth0:\r\neth-mac-FramesTransmittedOK: 5\r\nNIC statistics:\r\n     x: 1\r\n"
    assert parse_ethtool_stats(text) == {"eth-mac-FramesTransmittedOK": 5, "x": 1}


def test_duplicates_keep_first_position_last_value():
    stats = parse_ethtool_stats("a: 1\nb: 2\na: 3\n")
    assert list(stats.items()) == [("a", 3), ("b", 2)]


@pytest.mark.parametrize("text", ["", "\n", "NIC statistics:\n", "# nothing\n"])
def test_empty_outputs(text):
    assert parse_ethtool_stats(text) == {}


@pytest.mark.parametrize("text", [
    "driver: hv_netvsc\nversion: 5.15.0\n",
    "vf_rx_packets: -1",
    "vf_rx_packets: 0x10",
    "vf_rx_packets: 18446744073709551616",
    "vf_rx_packets: 1.5",
    "this is not ethtool output",
    "$ ethtool -S eth0\nbash: ethtool: command not found? no",
])
def test_format_errors(text):
    with pytest.raises(EthtoolFormatError):
        parse_ethtool_stats(text)


def test_non_text():
    with pytest.raises(EthtoolFormatError):
        parse_ethtool_stats(b"a: 1")  # type: ignore[arg-type]


_names = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\n\r#"),
                 min_size=1, max_size=32).map(str.strip).filter(
    # a line "<name>: <n>" that reads as ethtool's own error ("ethtool: …") is no statistic
    lambda s: s and not s.startswith("#") and not (s + ": ").lower().startswith(("cannot get ", "netlink error: ",
                                                                                 "ethtool: ", "no stats")))


@settings(max_examples=300)
@given(st.dictionaries(_names, st.integers(min_value=0, max_value=2**64 - 1), max_size=20))
def test_roundtrip_ethtool_format(stats):
    text = "NIC statistics:\n" + "".join("     %s: %d\n" % (k, v) for k, v in stats.items())
    assert parse_ethtool_stats(text) == stats


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_random_text(text):
    try:
        out = parse_ethtool_stats(text)
    except ParseError:
        return
    assert all(isinstance(v, int) and 0 <= v < 2**64 for v in out.values())


@settings(max_examples=300)
@given(st.data())
def test_truncated_real_output(data):
    text = (DATA / "ethtool-S_netvsc_2ch_2cpu_constructed.txt").read_text()
    full = parse_ethtool_stats(text)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    try:
        out = parse_ethtool_stats(text[:cut])
    except EthtoolFormatError:
        # only a cut inside the header leaves nothing that identifies ethtool output
        assert cut < len("NIC statistics:")
        return
    # every complete line survives intact; at most the last, cut one differs
    items = list(out.items())
    assert items[:-1] == list(full.items())[:max(len(items) - 1, 0)]


def test_huge_number_is_a_format_error():
    with pytest.raises(EthtoolFormatError):
        parse_ethtool_stats("x: " + "9" * 5000)
    assert parse_ethtool_stats("x: " + "0" * 5000 + "7") == {"x": 7}


# -- ethtool -i and the renderers -------------------------------------------------------------

from accelnet.parsers.ethtool_text import parse_ethtool_info, render_ethtool_info, render_ethtool_stats  # noqa: E402

ETHTOOL_I_NETVSC = """driver: hv_netvsc
version: 
firmware-version: N/A
expansion-rom-version: 
bus-info: 
supports-statistics: yes
supports-test: no
supports-eeprom-access: no
supports-register-dump: no
supports-priv-flags: no
"""


def test_ethtool_i():
    info = parse_ethtool_info(ETHTOOL_I_NETVSC)
    assert info["driver"] == "hv_netvsc" and info["bus-info"] == "" and info["supports-statistics"] == "yes"
    with pytest.raises(ParseError):
        parse_ethtool_info("NIC statistics:\n     rx: 1\n")


def test_renderers_read_back():
    assert parse_ethtool_info(render_ethtool_info("mlx5_core", "6.8.0", "16.30.5000", "927a:00:02.0", 12))["bus-info"] == "927a:00:02.0"
    stats = {"vf_rx_packets": 1, "rx_queue_0_bytes": 2**64 - 1}
    assert parse_ethtool_stats(render_ethtool_stats(stats)) == stats


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_ethtool_i_random_text(text):
    try:
        info = parse_ethtool_info(text)
    except ParseError:
        return
    assert info["driver"]


def test_errors_say_what_and_where():
    with pytest.raises(EthtoolCommandError) as info:
        parse_ethtool_stats("Cannot get stats information: No such device")
    assert str(info.value) == "ethtool failed: Cannot get stats information: No such device"
    with pytest.raises(EthtoolFormatError) as info:
        parse_ethtool_stats("NIC statistics:\n     vf_rx_packets: 1\n     driver: hv_netvsc\n")
    assert str(info.value) == "line 3: value of 'driver' is not a counter: 'hv_netvsc'"
    with pytest.raises(EthtoolFormatError) as info:
        parse_ethtool_stats("$ ethtool -S eth0\n")
    assert str(info.value) == "no 'name: value' statistic found in ethtool output"
    with pytest.raises(EthtoolFormatError) as info:
        parse_ethtool_info("NIC statistics:\n")
    assert str(info.value) == "no 'driver:' line: not ethtool -i output"
    with pytest.raises(EthtoolFormatError) as info:
        parse_ethtool_info(b"driver: hv_netvsc")
    assert str(info.value) == "ethtool output must be text, not bytes"


def test_ethtool_i_keys_have_no_blanks_and_the_first_value_stays():
    info = parse_ethtool_info("driver: mlx5_core\nbus info: x\nno separator here\n: empty key\n"
                              "version: 5.15\ndriver: other\n")
    assert info == {"driver": "mlx5_core", "version": "5.15"}


def test_at_most_max_stats_statistics():
    text = "NIC statistics:\n     a: 1\n     b: 2\n     a: 3\n"
    assert parse_ethtool_stats(text, max_stats=2) == {"a": 3, "b": 2}
    with pytest.raises(EthtoolFormatError, match=r"^more than 1 statistics$"):
        parse_ethtool_stats(text, max_stats=1)


# -- ethtool -P --------------------------------------------------------------------------------

from accelnet.parsers.ethtool_text import parse_ethtool_permaddr, render_ethtool_permaddr  # noqa: E402


@pytest.mark.parametrize("text, address", [
    ("Permanent address: 00:0D:3A:F5:76:BD\n", "00:0d:3a:f5:76:bd"),
    ("# ethtool -P eth0\n\n  Permanent address: 00:0d:3a:f5:76:bd  \r\n", "00:0d:3a:f5:76:bd"),
    ("Permanent address: not set\n", None),              # ethtool 5.x: no IFLA_PERM_ADDRESS
    ("Permanent address: 00:00:00:00:00:00\n", None),    # older ethtool printed the zeros
    ("Permanent address:\n", None),                      # a zero-length address
    ("Permanent address: 00:00:00:00:00:01\nnot read any more\n", "00:00:00:00:00:01"),
])
def test_ethtool_p(text, address):
    assert parse_ethtool_permaddr(text) == address


@pytest.mark.parametrize("text, message", [
    ("Cannot read permanent address: Operation not supported\n", "Cannot read permanent address: Operation not supported"),
    ("netlink error: No such device\n", "netlink error: No such device"),
])
def test_ethtool_p_command_errors_keep_the_message(text, message):
    with pytest.raises(EthtoolCommandError) as info:
        parse_ethtool_permaddr(text)
    assert info.value.message == message


@pytest.mark.parametrize("text, message", [
    ("", "no 'Permanent address:' line: not ethtool -P output"),
    ("# only a comment\n\n", "no 'Permanent address:' line: not ethtool -P output"),
    ("Permanent address: 00:0d:3a:f5:76:bg\n", "not ethtool -P output: 'Permanent address: 00:0d:3a:f5:76:bg'"),
    ("x" * 79 + "yz\n", "not ethtool -P output: %r" % ("x" * 79 + "y")),
])
def test_ethtool_p_format_errors(text, message):
    with pytest.raises(EthtoolFormatError) as info:
        parse_ethtool_permaddr(text)
    assert str(info.value) == message


def test_ethtool_p_non_text():
    with pytest.raises(EthtoolFormatError, match="^ethtool output must be text, not bytes$"):
        parse_ethtool_permaddr(b"Permanent address: 00:0d:3a:f5:76:bd\n")  # type: ignore[arg-type]


@pytest.mark.parametrize("address, text", [
    (bytes.fromhex("000d3af576bd"), "Permanent address: 00:0d:3a:f5:76:bd\n"),
    (bytes(6), "Permanent address: not set\n"),
    (b"", "Permanent address: not set\n"),
    (b"\x00\x01", "Permanent address: 00:01\n"),
])
def test_render_ethtool_p_reads_back(address, text):
    assert render_ethtool_permaddr(address) == text
    expected = ":".join("%02x" % b for b in address) if any(address) else None
    assert parse_ethtool_permaddr(text) == expected
