"""Size names at their edges: the vCPU tables of the series whose number is an index (D v1/v2,
A v1, G/GS), offer suffixes, the name length limit, and each rule condition at its boundary."""

import json

import pytest

from accelnet.diagnosis import sizes
from accelnet.diagnosis.sizes import SizeParseError, evaluate_size, parse_size


@pytest.mark.parametrize("name, vcpus", [
    # D v1 and v2: 1-5 double from 1, 11-15 are the memory sizes.
    ("Standard_D1", 1), ("Standard_D2", 2), ("Standard_D3", 4), ("Standard_D4", 8), ("Standard_D5_v2", 16),
    ("Standard_D11", 2), ("Standard_D12_v2", 4), ("Standard_DS13_v2", 8), ("Standard_D14", 16),
    ("Standard_DS15_v2", 20),
    # A v1 (A0-A7, the A8-A11 HPC sizes).
    ("Standard_A0", 1), ("Standard_A1", 1), ("Standard_A5", 2), ("Standard_A7", 8), ("Standard_A9", 16),
    ("Standard_A11", 16),
    # G and GS.
    ("Standard_G1", 2), ("Standard_G2", 4), ("Standard_GS3", 8), ("Standard_GS4", 16), ("Standard_G5", 32),
    # v3 and later: the number is the vCPU count, even for D and A.
    ("Standard_D2_v3", 2), ("Standard_D16s_v3", 16), ("Standard_A8_v2", 8),
])
def test_vcpu_tables(name, vcpus):
    size = parse_size(name)
    assert size.vcpus == vcpus
    assert size.nominal_vcpus == vcpus


def test_a_table_index_no_table_has_is_a_size_we_do_not_know():
    size = parse_size("Standard_D16")          # no D16 in the D v1 table
    assert (size.vcpus, size.nominal_vcpus) == (None, None)
    verdict = evaluate_size("Standard_D16")
    assert verdict.status == "unknown"
    assert verdict.reason == "Standard_D16: not a size of the D series we know"
    assert verdict.article_2018 is None


def test_constrained_vcpus_never_exceed_the_size():
    assert parse_size("Standard_DS13-2_v2").vcpus == 2
    assert parse_size("Standard_DS13-8_v2").vcpus == 8     # exactly the size's own
    with pytest.raises(SizeParseError, match="constrained vCPUs exceed"):
        parse_size("Standard_DS11-4_v2")                     # DS11 has 2


@pytest.mark.parametrize("name, canonical, offers, base", [
    ("standard_ds3_v2_promo", "Standard_DS3_v2_Promo", ("Promo",), "standard_ds3_v2"),
    ("Standard_D2s_v3_ABC", "Standard_D2s_v3_ABC", ("ABC",), "standard_d2s_v3"),
    ("STANDARD_E4S_V3_NESTED", "Standard_E4s_v3_Nested", ("Nested",), "standard_e4s_v3"),
    ("Standard_D2_v2_Promo_ABC", "Standard_D2_v2_Promo_ABC", ("Promo", "ABC"), "standard_d2_v2"),
    ("Standard_B12ms_Promo", "Standard_B12ms_Promo", ("Promo",), "standard_b12ms"),
])
def test_offer_suffixes(name, canonical, offers, base):
    size = parse_size(name)
    assert (size.name, size.offers, size.base_name) == (canonical, offers, base)


def test_an_offer_of_a_listed_size_is_that_size():
    # B12ms is supported by name; its promo offer must match the same rule.
    assert evaluate_size("Standard_B12ms_Promo").rule == "b-v1-large"
    assert evaluate_size("Standard_B8ms_Promo").rule == "b-v1"


@pytest.mark.parametrize("name, canonical", [
    ("standard_m176s_3_v3", "Standard_M176s_3_v3"),
    ("STANDARD_NC24ADS_A100_V4", "Standard_NC24ads_A100_v4"),
    ("basic_a2", "Basic_A2"),
    ("Standard_HB120-16rs_v3", "Standard_HB120-16rs_v3"),
    ("  Standard_D4s_v5\n", "Standard_D4s_v5"),
])
def test_canonical_names(name, canonical):
    assert parse_size(name).name == canonical


def test_parts_of_a_name():
    size = parse_size("basic_a2")
    assert (size.tier, size.family, size.subfamily, size.series, size.version, size.generation) == \
        ("Basic", "a", "", "a", None, 1)
    gpu = parse_size("Standard_NC24ads_A100_v4")
    assert (gpu.family, gpu.subfamily, gpu.accelerator, gpu.generation) == ("n", "c", "A100", 4)


def test_name_length_limit_is_64():
    longest = "Standard_D" + "1" * 50 + "s_v5"
    assert len(longest) == 64 and parse_size(longest).features == "s"
    with pytest.raises(SizeParseError, match=r"^not an Azure VM size name: 'Standard_D1+s_v5'$"):
        parse_size("Standard_D" + "1" * 51 + "s_v5")


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_names_are_refused_before_matching(bad):
    with pytest.raises(SizeParseError) as info:
        parse_size(bad)
    assert str(info.value) == f"not an Azure VM size name: {bad!r}"


def test_a_non_string_is_reported_by_its_type():
    with pytest.raises(SizeParseError, match="^VM size must be a string, not int$"):
        parse_size(4)
    verdict = evaluate_size(4)
    assert (verdict.size, verdict.status, verdict.reason) == ("4", "unknown", "VM size must be a string, not int")


# ---- each condition at its boundary --------------------------------------------------------


D4 = parse_size("Standard_D4s_v5")   # 4 vCPUs, version 5


@pytest.mark.parametrize("match, expected", [
    ({"min_vcpus": 4}, True), ({"min_vcpus": 5}, False),
    ({"max_vcpus": 4}, True), ({"max_vcpus": 3}, False),
    ({"min_version": 5}, True), ({"min_version": 6}, False),
    ({"version": [5]}, True), ({"version": [4, 6]}, False),
    ({"tier": ["standard"]}, True), ({"tier": ["basic"]}, False),
    ({"family": ["d"]}, True), ({"family": ["e"]}, False),
    ({"series": ["d"]}, True), ({"series": ["ds"]}, False),
    ({"features": ["s"]}, True), ({"features": ["", "as"]}, False),
    ({"names": ["standard_d4s_v5"]}, True), ({"names": ["standard_d2s_v5"]}, False),
    ({"accelerator": False}, True), ({"accelerator": True}, False), ({"accelerator": ["A100"]}, False),
    ({"series_versions": {"d": [5]}}, True), ({"series_versions": {"d": [4]}}, False),
    ({"series_versions": {"e": [5]}}, False),
    ({"min_vcpus": 2, "max_vcpus": 4}, True), ({"min_vcpus": 2, "max_vcpus": 3}, False),
    ({"no_such_condition": 1}, False),     # an unknown condition never matches
    ({}, True),
])
def test_rule_conditions(match, expected):
    assert sizes._rule_matches(D4, match) is expected


def test_vcpu_conditions_never_match_an_unknown_count():
    unknown = parse_size("Standard_D16")
    assert not sizes._rule_matches(unknown, {"min_vcpus": 1})
    assert not sizes._rule_matches(unknown, {"max_vcpus": 1000})


def test_named_accelerator_condition():
    a100 = parse_size("Standard_NC24ads_A100_v4")
    assert sizes._rule_matches(a100, {"accelerator": ["A100"]})
    assert sizes._rule_matches(a100, {"accelerator": True})
    assert not sizes._rule_matches(a100, {"accelerator": ["T4"]})


# ---- rules files that are not what they should be ------------------------------------------


def _rules_file(tmp_path, monkeypatch, data):
    path = tmp_path / "vm_sizes.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    monkeypatch.setattr(sizes, "RULES_PATH", str(path))


def test_rules_without_a_rules_list_are_unreadable(tmp_path, monkeypatch):
    _rules_file(tmp_path, monkeypatch, {"sources": {}})
    verdict = evaluate_size("Standard_D4s_v5")
    assert verdict.status == "unknown" and verdict.reason == "size rules unreadable: no 'rules' list"
    assert verdict.source == str(tmp_path / "vm_sizes.json")


def test_rules_that_are_not_an_object_are_unreadable(tmp_path, monkeypatch):
    _rules_file(tmp_path, monkeypatch, "[1, 2]")
    assert evaluate_size("Standard_D4s_v5").reason == "size rules unreadable: no 'rules' list"


def test_broken_rows_are_skipped_and_the_first_good_one_decides(tmp_path, monkeypatch):
    _rules_file(tmp_path, monkeypatch, {
        "sources": {"s1": "first source"},
        "rules": [
            "not a rule",
            {"id": "bad-status", "match": {"family": ["d"]}, "status": "maybe", "source": "s1"},
            {"id": "no-match", "match": {"family": ["e"]}, "status": "unsupported", "source": "s1"},
            {"id": "good", "match": {"family": ["d"]}, "status": "unsupported", "reason": "why", "source": "s1"},
            {"id": "later", "match": {}, "status": "supported", "source": "s1"},
        ],
    })
    verdict = evaluate_size("Standard_D4s_v5")
    assert (verdict.status, verdict.rule, verdict.source) == ("unsupported", "good", "first source")
    assert verdict.reason == "Standard_D4s_v5 (4 vCPUs): why"
    # A source key the sources do not list is shown as it is.
    other = tmp_path / "other"
    other.mkdir()   # a new path: rules are cached per path
    _rules_file(other, monkeypatch, {"rules": [{"id": "r", "match": {}, "status": "supported", "source": "raw"}]})
    assert evaluate_size("Standard_D4s_v5").source == "raw"


def test_no_rule_names_the_series_and_the_cli_query(tmp_path, monkeypatch):
    verdict = evaluate_size("Standard_Q4_v9")
    assert verdict.reason == ("Standard_Q4_v9: no rule for the Q v9 series; check `az vm list-skus` for the "
                              "AcceleratedNetworkingEnabled capability")
    assert "accelerated-networking-overview" in verdict.source
    assert verdict.article_2018 == "unsupported"


def test_vcpu_tables_unreadable_leave_table_series_unknown(tmp_path, monkeypatch):
    _rules_file(tmp_path, monkeypatch, "{not json")
    assert parse_size("Standard_DS4_v2").vcpus is None
    assert parse_size("Standard_D4s_v5").vcpus == 4


def test_parsed_names_and_verdicts_are_values():
    # Frozen: callers (the provisioner's plan, the check) keep and compare them.
    a, b = parse_size("standard_d4s_v5"), parse_size("Standard_D4s_v5")
    assert a == b and len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.vcpus = 8
    verdict = evaluate_size("Standard_D4s_v5")
    assert len({verdict, evaluate_size("Standard_D4s_v5")}) == 1


def test_sources_of_verdicts_no_rule_gave(tmp_path, monkeypatch):
    assert evaluate_size("not a size").source == ""              # nothing to cite for a non-name
    assert evaluate_size("Standard_D16").source == ""            # nor for a size no table places
    _rules_file(tmp_path, monkeypatch, {"rules": []})            # rules without a sources table
    verdict = evaluate_size("Standard_D4s_v5")
    assert (verdict.status, verdict.source) == ("unknown", "")


def test_a_rule_without_a_source_cites_nothing(tmp_path, monkeypatch):
    _rules_file(tmp_path, monkeypatch, {"sources": {"": "not this"}, "rules": [
        {"id": "r", "match": {}, "status": "supported", "reason": "because"}]})
    verdict = evaluate_size("Standard_D4s_v5")
    assert (verdict.status, verdict.source, verdict.rule) == ("supported", "not this", "r")
