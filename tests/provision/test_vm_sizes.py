"""Size names and the AN size rules (shared with accelnet-check's platform.vm_size)."""

import json

import pytest
from hypothesis import given, strategies as st

from accelnet.diagnosis import sizes
from accelnet.diagnosis.sizes import SizeParseError, evaluate_size, parse_size
from accelnet.errors import ParseError


@pytest.mark.parametrize("name, series, vcpus, features, version", [
    ("Standard_DS4_v2", "ds", 8, "", 2),         # D/DS v2: the number is a table index
    ("standard_ds4_v2", "ds", 8, "", 2),         # IMDS spelling seen in the wild
    ("Standard_D15_v2", "d", 20, "", 2),
    ("Standard_DS13-4_v2", "ds", 4, "", 2),      # constrained: 4 of DS13's 8
    ("Standard_D2s_v3", "d", 2, "s", 3),         # v3+: the number is the vCPU count
    ("Standard_E8-4s_v5", "e", 4, "s", 5),
    ("Standard_M64-16ms", "m", 16, "ms", None),
    ("Standard_NC24ads_A100_v4", "nc", 24, "ads", 4),
    ("Standard_NC4as_T4_v3", "nc", 4, "as", 3),
    ("Standard_A4", "a", 8, "", None),           # A v1 table
    ("Standard_A2m_v2", "a", 2, "m", 2),
    ("Basic_A0", "a", 1, "", None),
    ("Standard_B1ls2", "b", 1, "ls2", None),
    ("Standard_M176s_3_v3", "m", 176, "s", 3),
    ("Standard_D2alds_v6", "d", 2, "alds", 6),
    ("Standard_DS3_v2_Promo", "ds", 4, "", 2),
])
def test_parse_real_sizes(name, series, vcpus, features, version):
    size = parse_size(name)
    assert (size.series, size.vcpus, size.features, size.version) == \
        (series, vcpus, features, version)


def test_canonical_spelling():
    assert parse_size("STANDARD_E8-4S_V5").name == "Standard_E8-4s_v5"
    assert parse_size("standard_nc24ads_a100_v4").name == "Standard_NC24ads_A100_v4"
    assert parse_size("standard_ds3_v2_promo").offers == ("Promo",)


@pytest.mark.parametrize("bad", ["", "DS4_v2", "Standard_", "Standard_DS_v2", "x; rm -rf /",
                                 "$(id)", "Standard_D4-8s_v3", "Standard_DS4_v2 extra",
                                 "S" * 200, None, 42])
def test_parse_rejects_non_sizes(bad):
    with pytest.raises(SizeParseError):
        parse_size(bad)
    assert issubclass(SizeParseError, ParseError)


@pytest.mark.parametrize("name, status, rule", [
    ("Standard_DS4_v2", "supported", "dv2"),            # the article's own example
    ("Standard_D2_v2", "supported", "dv2"),             # D/DSv2 from 2 vCPUs
    ("Standard_DS1_v2", "unsupported", "single-vcpu"),
    ("Standard_F2", "supported", "f-v1"),
    ("Standard_F1s", "unsupported", "single-vcpu"),
    ("Standard_D2s_v3", "supported", "hyperthreaded-2-vcpu"),
    ("Standard_D4s_v3", "supported", "hyperthreaded-2018"),
    ("Standard_F2s_v2", "supported", "hyperthreaded-2-vcpu"),
    ("Standard_M64-16ms", "supported", "hyperthreaded-2018"),
    ("Standard_E8-4s_v5", "supported", "general-current"),
    ("Standard_D4s_v5", "supported", "general-current"),
    ("Standard_D2ds_v4", "supported", "general-current"),
    ("Standard_L8s_v3", "supported", "general-current"),
    ("Standard_D4s_v6", "supported", "v6-mana"),
    ("Standard_E2bs_v5", "supported", "general-current"),
    ("Standard_DS3_v2_Promo", "supported", "dv2"),
    ("Standard_B2s", "unsupported", "b-v1"),
    ("Standard_B1s", "unsupported", "b-v1"),
    ("Standard_B12ms", "supported", "b-v1-large"),
    ("Standard_B2s_v2", "supported", "b-v2"),
    ("Standard_A2_v2", "unsupported", "a-series"),
    ("Standard_A8", "unsupported", "a-series"),
    ("Basic_A1", "unsupported", "basic-tier"),
    ("Standard_NC6", "unsupported", "nc-nv-v1"),
    ("Standard_NV6", "unsupported", "nc-nv-v1"),
    ("Standard_D4", "unsupported", "d-v1"),
])
def test_verdicts_of_real_sizes(name, status, rule):
    verdict = evaluate_size(name)
    assert (verdict.status, verdict.rule) == (status, rule)
    assert verdict.source and verdict.reason.startswith(parse_size(name).name)


@pytest.mark.parametrize("name", ["Standard_HB120rs_v3", "Standard_NC24ads_A100_v4",
                                  "Standard_GS5", "Standard_DC2s_v2", "Standard_Q4_v9",
                                  "Standard_D6_v2", "not a size", "standard_ds4_v2;id"])
def test_unplaceable_names_are_unknown_never_unsupported(name):
    assert evaluate_size(name).status == "unknown"


def test_2018_rule_differs_for_two_vcpu_hyperthreaded_sizes():
    now = evaluate_size("Standard_D2s_v3")
    assert now.status == "supported" and now.article_2018 == "unsupported"
    assert "2018" in now.reason
    assert evaluate_size("Standard_DS4_v2").article_2018 == "supported"
    assert evaluate_size("Standard_D8s_v3").article_2018 == "supported"


def test_every_rule_names_a_known_source_and_status():
    data = json.loads(sizes.RULES_PATH.read_text())
    for rule in data["rules"]:
        assert rule["source"] in data["sources"], rule["id"]
        assert rule["status"] in ("supported", "unsupported"), rule["id"]


def test_unreadable_rules_give_unknown(monkeypatch, tmp_path):
    broken = tmp_path / "vm_sizes.json"
    broken.write_text("{not json")
    monkeypatch.setattr(sizes, "RULES_PATH", broken)
    verdict = evaluate_size("Standard_DS4_v2")
    assert verdict.status == "unknown" and "unreadable" in verdict.reason


@given(st.text(max_size=80))
def test_evaluate_never_raises(text):
    assert evaluate_size(text).status in ("supported", "unsupported", "unknown")
