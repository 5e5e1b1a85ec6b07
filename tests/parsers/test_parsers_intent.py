"""The intent file, the tag's value and NIC selectors: what an operator writes, and every way
of getting it wrong, which must name the file and the line (never a traceback, never a guess)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.parsers.intent import (CONF_PATH, IGNORE, OFF, ON, IntentError, Statement, nic_selector,
                                     parse_intent_file, parse_tag_value)

GOOD = """\
# /etc/accelnet/accelnet.conf
expect-an off                      # the VM: AN off on purpose

expect-an on eth0
expect-an off 00-0D-3A-5E-1F-02    # by MAC, as the portal spells it
   ignore-nic   eth2
ignore-nic eth3#x
"""


def test_every_statement_form():
    assert parse_intent_file(GOOD) == (
        Statement(OFF, None, 2),
        Statement(ON, "eth0", 4),
        Statement(OFF, "00:0d:3a:5e:1f:02", 5),
        Statement(IGNORE, "eth2", 6),
        Statement(IGNORE, "eth3#x", 7),
    )


def test_lines_are_numbered_as_an_editor_numbers_them():
    with pytest.raises(IntentError, match=r" line 3: "):
        parse_intent_file("expect-an off\x0c\r\n# form feed above\r\nbogus\r\n")


def test_empty_and_comment_only_files_declare_nothing():
    assert parse_intent_file("") == ()
    assert parse_intent_file("# nothing\n\n   \n\t# indented comment\n") == ()


@pytest.mark.parametrize("text, line, words", [
    ("expect-an of\n", 1, "expect-an 'of': expected on or off"),
    ("\n\nexpect-ann off\n", 3, "unknown statement 'expect-ann'"),
    ("expect-an\n", 1, "expect-an takes on or off"),
    ("expect-an off eth0 eth1\n", 1, "expect-an takes on or off"),
    ("ignore-nic\n", 1, "ignore-nic takes one NIC"),
    ("ignore-nic eth0 eth1\n", 1, "ignore-nic takes one NIC"),
    ("ignore-nic a-very-long-interface-name\n", 1, "is not an interface name"),
    ("ignore-nic eth0/1\n", 1, "is not an interface name"),
    ("ignore-nic ..\n", 1, "is not an interface name"),
    ("ignore-nic 00:0d:3a:zz:1f:02\n", 1, "neither an interface name nor a MAC"),
    ("expect-an off\nexpect-an on\n", 2, "the VM (a statement without a NIC) is already declared on line 1"),
    ("ignore-nic eth1\nexpect-an off eth1\n", 2, "NIC eth1 is already declared on line 1"),
    ("expect-an off 00:0d:3a:5e:1f:02\nignore-nic 00-0d-3a-5e-1f-02\n", 2, "already declared on line 1"),
    ("EXPECT-AN off\n", 1, "unknown statement 'EXPECT-AN'"),
    ("ignore-nic eth\x00\n", 1, "is not an interface name"),  # NUL ends a kernel name
    ("ignore-nic \u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\n", 1, "is not an interface name"),  # 16 bytes
])
def test_mistakes_name_the_file_and_the_line(text, line, words):
    with pytest.raises(IntentError) as caught:
        parse_intent_file(text, "/srv/accelnet.conf")
    message = str(caught.value)
    assert message.startswith(f"/srv/accelnet.conf line {line}: "), message
    assert words in message


def test_the_default_path_is_the_documented_one():
    with pytest.raises(IntentError, match=r"^/etc/accelnet/accelnet\.conf line 1: "):
        parse_intent_file("bogus\n")
    assert CONF_PATH == "/etc/accelnet/accelnet.conf"


def test_too_many_statements_is_an_error():
    text = "".join(f"ignore-nic n{i}\n" for i in range(1100))
    with pytest.raises(IntentError, match="more than 1024 statements"):
        parse_intent_file(text)


@pytest.mark.parametrize("value, expect", [
    ("off", OFF), ("OFF", OFF), (" off ", OFF), ("false", OFF), ("disabled", OFF), ("no", OFF),
    ("on", ON), ("true", ON), ("Enabled", ON), ("yes", ON),
])
def test_tag_values(value, expect):
    assert parse_tag_value(value) == expect


@pytest.mark.parametrize("value", ["", "of", "off please", "0", "ignore", "\x1b[2J"])
def test_bad_tag_values_say_what_was_expected(value):
    with pytest.raises(IntentError, match=r"^tag accelnet=.*expected off \(AN off on purpose\) or on"):
        parse_tag_value(value)


def test_a_huge_tag_value_is_quoted_in_part():
    with pytest.raises(IntentError) as caught:
        parse_tag_value("x" * 100000)
    assert str(caught.value) == f"tag accelnet={'x' * 64!r}...: expected off (AN off on purpose) or on"


@pytest.mark.parametrize("text, nic", [
    ("eth0", "eth0"), ("enP30832s1", "enP30832s1"), ("000d3a5e1f02", "000d3a5e1f02"),
    ("00:0D:3A:5E:1F:02", "00:0d:3a:5e:1f:02"), ("00-0d-3a-5e-1f-02", "00:0d:3a:5e:1f:02"),
    ("a" * 15, "a" * 15),
])
def test_nic_selectors(text, nic):
    assert nic_selector(text) == nic


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_text_gives_statements_or_an_intent_error(text):
    try:
        statements = parse_intent_file(text)
    except IntentError as exc:
        assert str(exc).startswith(CONF_PATH + " line ")
        assert isinstance(exc, ParseError)
        return
    for statement in statements:
        assert statement.expect in (ON, OFF, IGNORE) and statement.line >= 1


@pytest.mark.parametrize("text", ["a-b-c-d-e-f", "eth-0-1-2-3-45"])
def test_dashes_alone_do_not_make_a_mac(text):
    # Only 17 characters with five dashes are read as a MAC (00-0d-3a-5e-1f-02).
    assert nic_selector(text) == text


def test_exactly_the_maximum_of_statements_is_read():
    text = "".join(f"ignore-nic n{i}\n" for i in range(1024))
    assert len(parse_intent_file(text)) == 1024


def test_a_wrong_expect_an_value_is_named():
    with pytest.raises(IntentError, match=r"line 1: expect-an 'maybe': expected on or off$"):
        parse_intent_file("expect-an maybe eth0\n", "/srv/accelnet.conf")


def test_a_statement_not_from_a_file_has_line_0():
    # The flags and the VM tag declare without a file: no line to name.
    assert Statement(OFF).line == 0 and Statement(IGNORE, "eth1").line == 0
