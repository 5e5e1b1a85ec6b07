"""Size names and the AN size rules (shared with accelnet-check's platform.vm_size)."""

import json

import pytest
from hypothesis import given, strategies as st

from accelnet.diagnosis import sizes
from accelnet.diagnosis.sizes import SizeParseError, evaluate_size, parse_size
from accelnet.errors import ParseError


def _rules():
    with open(sizes.RULES_PATH, encoding="utf-8") as handle:
        return json.load(handle)


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


@pytest.mark.parametrize("name", ["Standard_GS5", "Standard_G2", "Standard_Q4_v9", "Standard_D6_v2",
                                  "Standard_DC4ds_v3", "Standard_ND96amsr_A100_v4", "Standard_NP10s",
                                  "not a size", "standard_ds4_v2;id"])
def test_unplaceable_names_are_unknown_never_unsupported(name):
    assert evaluate_size(name).status == "unknown"


# Each series page's 'Feature support: Accelerated Networking' line, one size per rule.
@pytest.mark.parametrize("name, status, rule, page", [
    ("Standard_DC4s_v3", "unsupported", "dc-v3-sgx", "general-purpose/dcsv3-series.md"),
    ("Standard_DC2s_v2", "unsupported", "dc-v2-sgx", "general-purpose/dcsv2-series.md"),
    ("Standard_DC8_v2", "unsupported", "dc-v2-sgx", "general-purpose/dcsv2-series.md"),
    ("Standard_DC4es_v6", "unsupported", "dc-v6-tdx", "general-purpose/dcesv6-series.md"),
    ("Standard_DC2eds_v6", "unsupported", "dc-v6-tdx-disk", "general-purpose/dcedsv6-series.md"),
    ("Standard_NC6s_v3", "unsupported", "nc-v3-v100", "gpu-accelerated/ncv3-series.md"),
    ("Standard_NC24rs_v3", "unsupported", "nc-v3-v100", "gpu-accelerated/ncv3-series.md"),
    ("Standard_ND6s", "unsupported", "nd-v1-p40", "gpu-accelerated/nd-series.md"),
    ("Standard_NC4as_T4_v3", "supported", "nc-t4-v3", "gpu-accelerated/ncast4v3-series.md"),
    ("Standard_NC24ads_A100_v4", "supported", "nc-a100-v4", "gpu-accelerated/nca100v4-series.md"),
    ("Standard_NC40ads_H100_v5", "supported", "nc-h100-v5", "gpu-accelerated/ncadsh100v5-series.md"),
    ("Standard_NC80adis_H100_v5", "supported", "nc-h100-v5", "gpu-accelerated/ncadsh100v5-series.md"),
    ("Standard_NV12s_v3", "supported", "nv-v3", "gpu-accelerated/nvv3-series.md"),
    ("Standard_NV4as_v4", "supported", "nv-v4", "gpu-accelerated/nvv4-series.md"),
    ("Standard_NV36adms_A10_v5", "supported", "nv-a10-v5", "gpu-accelerated/nvadsa10v5-series.md"),
    ("Standard_ND40rs_v2", "supported", "nd-v2", "gpu-accelerated/ndv2-series.md"),
    ("Standard_ND96asr_v4", "supported", "nd-a100-v4", "gpu-accelerated/ndasra100v4-series.md"),
    ("Standard_HB120rs_v2", "supported", "hb-v2", "high-performance-compute/hbv2-series.md"),
    ("Standard_HB120rs_v3", "supported", "hb-v3", "high-performance-compute/hbv3-series.md"),
    ("Standard_HB120-16rs_v3", "supported", "hb-v3", "high-performance-compute/hbv3-series.md"),
    ("Standard_HB176-24rs_v4", "supported", "hb-v4", "high-performance-compute/hbv4-series.md"),
    ("Standard_HC44-16rs", "supported", "hc-v1", "high-performance-compute/hc-series.md"),
])
def test_series_pages(name, status, rule, page):
    verdict = evaluate_size(name)
    assert (verdict.status, verdict.rule) == (status, rule)
    assert "MicrosoftDocs/azure-compute-docs:articles/virtual-machines/sizes/" + page in verdict.source


@pytest.mark.parametrize("name, status, rule", [
    ("Standard_D4s_v5", "supported", "general-current"),
    ("Standard_D4as_v5", "supported", "general-current"),
    ("Standard_E8-4ds_v5", "supported", "general-current"),
    ("Standard_M416ms_v2", "supported", "general-current"),
    ("Standard_B2ats_v2", "supported", "b-v2"),
    ("Standard_D2as_v5_Promo", "supported", "general-current"),
    ("Standard_NC24ads_A100_v4_Promo", "supported", "nc-a100-v4"),
    ("Standard_DC1s_v3", "unsupported", "single-vcpu"),
])
def test_real_size_spellings(name, status, rule):
    verdict = evaluate_size(name)
    assert (verdict.status, verdict.rule) == (status, rule)


def test_accelerator_rules_need_the_named_accelerator():
    # An NC v3 name with an accelerator other than T4 is no NCv3 (V100) size and no NCasT4_v3.
    assert evaluate_size("Standard_NC4as_A10_v3").status == "unknown"
    assert evaluate_size("Standard_NV6ads_A100_v5").status == "unknown"


def test_every_series_source_names_its_page():
    data = _rules()
    for key, text in data["sources"].items():
        if key.endswith("-series"):
            assert key in data["pages"], key
            assert data["pages"][key].startswith("MicrosoftDocs/azure-compute-docs:articles/virtual-machines/sizes/")
    for rule in data["rules"]:
        source = data["sources"][rule["source"]]
        if rule["source"].endswith("-series") and rule["source"] not in ("av2-series", "bv1-series", "bsv2-series",
                                                                             "dv2-series", "dv3-series", "dsv6-series"):
            assert data["pages"][rule["source"]] in source, rule["id"]


def test_2018_rule_differs_for_two_vcpu_hyperthreaded_sizes():
    now = evaluate_size("Standard_D2s_v3")
    assert now.status == "supported" and now.article_2018 == "unsupported"
    assert "2018" in now.reason
    assert evaluate_size("Standard_DS4_v2").article_2018 == "supported"
    assert evaluate_size("Standard_D8s_v3").article_2018 == "supported"


def test_every_rule_names_a_known_source_and_status():
    data = _rules()
    for rule in data["rules"]:
        assert rule["source"] in data["sources"], rule["id"]
        assert rule["status"] in ("supported", "unsupported"), rule["id"]


def test_unreadable_rules_give_unknown(monkeypatch, tmp_path):
    broken = tmp_path / "vm_sizes.json"
    broken.write_text("{not json")
    monkeypatch.setattr(sizes, "RULES_PATH", str(broken))
    verdict = evaluate_size("Standard_DS4_v2")
    assert verdict.status == "unknown" and "unreadable" in verdict.reason


@given(st.text(max_size=80))
def test_evaluate_never_raises(text):
    assert evaluate_size(text).status in ("supported", "unsupported", "unknown")
