"""JSON from untrusted places (parsers/jsontext.py) and numbers in untrusted text
(parsers/numbers.py): every failure is a ParseError naming what was read, in bounded work."""

import pytest

from accelnet.errors import ParseError
from accelnet.parsers import jsontext
from accelnet.parsers.jsontext import load_json
from accelnet.parsers.numbers import decimal


def test_real_documents_load():
    assert load_json('{"a": [1, 2.5, "x", null, true]}', "doc") == {"a": [1, 2.5, "x", None, True]}


@pytest.mark.parametrize("text, message", [
    ("[" * 60000 + "]" * 60000, "more than 10000 arrays and objects"),
    ("[" + "{}," * 10001 + "{}]", "more than 10000 arrays and objects"),
    ('{"n": ' + "9" * 5000 + "}", "a number of 5000 digits"),
    ('{"n": 1.' + "5" * 5000 + "}", "a number of 5002 characters"),
    ('{"n": NaN}', "NaN is not a JSON number"),
    ('{"n": -Infinity}', "-Infinity is not a JSON number"),
    ("not json", "is not valid JSON"),
    ('{"a": "\\ud800', "is not valid JSON"),
])
def test_hostile_json_is_a_parse_error_naming_the_document(text, message):
    with pytest.raises(ParseError, match=message) as err:
        load_json(text, "snapshot.json")
    assert str(err.value).startswith("snapshot.json ")


def test_nesting_past_the_interpreter_is_a_parse_error(monkeypatch):
    monkeypatch.setattr(jsontext, "MAX_JSON_CONTAINERS", 10 ** 7)
    with pytest.raises(ParseError, match="nested too deeply"):
        load_json("[" * 1_000_000 + "]" * 1_000_000, "IMDS document")


@pytest.mark.parametrize("text, value", [
    ("0", 0), ("42", 42), ("000000000000000000000000000042", 42), ("18446744073709551615", 2 ** 64 - 1),
    ("", None), ("-1", None), ("+1", None), (" 1", None), ("1 ", None), ("1.0", None), ("0x10", None),
    ("\u0663", None), ("\u00b2", None), ("1" * 21, None), ("9" * 5000, None),
])
def test_decimal_numbers_are_ascii_and_short(text, value):
    assert decimal(text) == value


def test_limits_are_inclusive():
    assert load_json("[" + "9" * 40 + "]", "doc") == [int("9" * 40)]
    with pytest.raises(ParseError, match="a number of 41 digits"):
        load_json("[" + "9" * 41 + "]", "doc")
    assert load_json("[1." + "5" * 38 + "]", "doc") == [float("1." + "5" * 38)]
    with pytest.raises(ParseError, match="a number of 41 characters"):
        load_json("[1." + "5" * 39 + "]", "doc")
    assert len(load_json("[" + "[]," * 9998 + "[]]", "doc")) == 9999   # 10,000 arrays with the outer one
