"""IMDS instance document and MAC spelling, from the Azure docs sample response."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelnet.errors import ParseError
from accelnet.parsers.imds import ImdsError, is_accelnet_tag, parse_imds_instance, redact_imds, redact_imds_document
from accelnet.parsers.macaddr import MacAddressError, normalize_mac

DATA = Path(__file__).parent / "data"


def _sample_text() -> str:
    text = (DATA / "imds_instance_linux_sample-response_azure-docs.json").read_text()
    first, rest = text.split("\n", 1)
    assert first.startswith("# source:")  # the provenance line is ours to strip, not the parser's
    return rest


def test_docs_sample_response():
    inst = parse_imds_instance(_sample_text())
    assert inst.vm_size == "Standard_A3"
    assert inst.resource_group == "macikgo-test-may-23"
    assert inst.location == "westus"
    assert inst.name == "examplevmname"
    assert inst.os_type == "Linux"
    # storageProfile.imageReference wins over compute.offer/sku ("18.04-LTS")
    assert (inst.publisher, inst.offer, inst.sku, inst.image_version) == (
        "Canonical", "UbuntuServer", "16.04.0-LTS", "latest")
    assert inst.vm_scale_set_name == "crpteste9vflji9"
    assert inst.vm_id == "02aab8a4-74ef-476e-8182-f6d2ba4166a6"
    assert inst.macs == ("00:11:aa:ff:bb:22",)


def test_sample_with_comment_line_is_not_json():
    with pytest.raises(ImdsError):
        parse_imds_instance((DATA / "imds_instance_linux_sample-response_azure-docs.json").read_text())


def test_image_reference_falls_back_to_compute_fields():
    doc = json.loads(_sample_text())
    doc["compute"]["storageProfile"]["imageReference"] = {"id": "/custom", "offer": "", "publisher": "",
                                                         "sku": "", "version": ""}
    inst = parse_imds_instance(json.dumps(doc))
    assert (inst.publisher, inst.offer, inst.sku, inst.image_version) == (
        "Canonical", "UbuntuServer", "18.04-LTS", "15.05.22")
    del doc["compute"]["storageProfile"]
    assert parse_imds_instance(json.dumps(doc)).sku == "18.04-LTS"


def test_missing_keys_are_none_and_empty_strings_unset():
    inst = parse_imds_instance("{}")
    assert inst.vm_size is None and inst.macs == () and inst.publisher is None
    inst = parse_imds_instance('{"compute": {"vmScaleSetName": "", "vmSize": "Standard_D2s_v3"},'
                               ' "network": {"interface": [{"ipv4": {}}]}}')
    assert inst.vm_scale_set_name is None
    assert inst.vm_size == "Standard_D2s_v3"
    assert inst.macs == ()


def test_several_nics_keep_order():
    doc = {"network": {"interface": [{"macAddress": "000D3A1B2C3D"}, {"macAddress": "000d3a1b2c3e"}]}}
    assert parse_imds_instance(json.dumps(doc)).macs == ("00:0d:3a:1b:2c:3d", "00:0d:3a:1b:2c:3e")


@pytest.mark.parametrize("doc", [
    "[]", "null", "3", '"x"', "{", "",
    '{"compute": []}',
    '{"compute": {"vmSize": 5}}',
    '{"compute": {"storageProfile": {"imageReference": "x"}}}',
    '{"network": {"interface": {}}}',
    '{"network": {"interface": ["x"]}}',
    '{"network": {"interface": [{"macAddress": 12}]}}',
    '{"network": {"interface": [{"macAddress": "00-11"}]}}',
])
def test_wrong_types_raise(doc):
    with pytest.raises(ImdsError):
        parse_imds_instance(doc)


def test_deep_nesting_raises_parse_error():
    with pytest.raises(ImdsError):
        parse_imds_instance("[" * 100000)


def test_non_text_raises():
    with pytest.raises(ImdsError):
        parse_imds_instance(b"{}")  # type: ignore[arg-type]


@pytest.mark.parametrize("spelling", ["0011AAFFBB22", "0011aaffbb22", "00-11-AA-FF-BB-22",
                                      "00:11:aa:ff:bb:22", "00:11:AA:FF:BB:22", " 00:11:aa:ff:bb:22\n"])
def test_normalize_mac_spellings(spelling):
    assert normalize_mac(spelling) == "00:11:aa:ff:bb:22"


@pytest.mark.parametrize("bad", ["", "0011AAFFBB2", "0011AAFFBB223", "00:11-aa:ff:bb:22", "00:11:aa:ff:bb",
                                 "0g:11:aa:ff:bb:22", "00.11.aa.ff.bb.22", "0011.aaff.bb22",
                                 "00:11:aa:ff:bb:22:33", "０011AAFFBB22", None, 12])
def test_normalize_mac_rejects(bad):
    with pytest.raises(MacAddressError):
        normalize_mac(bad)


@given(st.binary(min_size=6, max_size=6), st.sampled_from(["", ":", "-"]), st.booleans())
def test_normalize_mac_roundtrip(raw, sep, upper):
    parts = [f"{b:02x}" for b in raw]
    text = sep.join(parts)
    if upper:
        text = text.upper()
    assert normalize_mac(text) == ":".join(parts)


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_mac_random_text(s):
    try:
        out = normalize_mac(s)
    except ParseError:
        return
    assert len(out) == 17 and out == out.lower()


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=len(_sample_text())))
def test_imds_truncated(n):
    try:
        parse_imds_instance(_sample_text()[:n])
    except ParseError:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["compute", "network", "interface", "macAddress", "vmSize", "storageProfile",
                         "imageReference", "sku", "x"]), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300)
@given(_json)
def test_imds_random_json(value):
    try:
        parse_imds_instance(json.dumps(value))
    except ParseError:
        pass


# -- what a bundle keeps of the document (redaction) ---------------------------------------------


def test_a_bundle_keeps_only_what_the_diagnosis_reads():
    text = _sample_text()
    kept, dropped = redact_imds_document(json.loads(text))
    image = {"offer": "UbuntuServer", "publisher": "Canonical", "sku": "16.04.0-LTS", "version": "latest"}
    assert kept == {
        "compute": {"location": "westus", "name": "examplevmname", "offer": "UbuntuServer", "osType": "Linux",
                    "publisher": "Canonical", "resourceGroupName": "macikgo-test-may-23", "sku": "18.04-LTS",
                    "version": "15.05.22", "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
                    "vmScaleSetName": "crpteste9vflji9", "vmSize": "Standard_A3", "zone": "",
                    "storageProfile": {"imageReference": image}},
        "network": {"interface": [{"macAddress": "0011AAFFBB22"}]},
    }
    assert dropped == sorted(dropped) and len(set(dropped)) == len(dropped)
    assert {"compute.tags", "compute.osProfile", "compute.publicKeys", "compute.subscriptionId",
            "compute.storageProfile.osDisk", "compute.storageProfile.imageReference.id",
            "network.interface[].ipv4", "network.interface[].ipv6"} <= set(dropped)
    assert redact_imds(text) == json.dumps(kept, indent=2, sort_keys=True) + "\n"
    assert parse_imds_instance(redact_imds(text)) == parse_imds_instance(text)


def test_a_bundle_keeps_the_accelnet_tags_and_no_other():
    tags = [{"name": "accelnet", "value": "off"}, {"name": "owner", "value": "alice"},
            {"name": "AccelNet-Provision", "value": "x"}, {"name": "accelnet-n", "value": 3}, "junk",
            {"name": "accelnet-empty"}]
    kept, dropped = redact_imds_document({"compute": {"vmSize": "Standard_D4s_v5", "tagsList": tags}})
    assert kept == {"compute": {"vmSize": "Standard_D4s_v5", "tagsList": [
        {"name": "accelnet", "value": "off"}, {"name": "AccelNet-Provision", "value": "x"},
        {"name": "accelnet-empty", "value": ""}]}}
    assert dropped == ["compute.tagsList[] (tags not named accelnet*)"]
    only_ours, dropped = redact_imds_document({"compute": {"tagsList": tags[:1]}})
    assert (only_ours, dropped) == ({"compute": {"tagsList": tags[:1]}}, [])
    none_of_ours, dropped = redact_imds_document({"compute": {"tagsList": tags[1:2]}})
    assert (none_of_ours, dropped) == ({"compute": {}}, ["compute.tagsList[] (tags not named accelnet*)"])


@pytest.mark.parametrize("name, ours", [("accelnet", True), ("AccelNet-Provision", True), ("accelnetx", True),
                                        ("my-accelnet", False), ("", False), (None, False), (3, False)])
def test_accelnet_tags_are_named_accelnet_in_any_case(name, ours):
    assert is_accelnet_tag(name) is ours


def test_the_instance_holds_the_accelnet_tags_of_either_form():
    listed = {"compute": {"tagsList": [{"name": "Accelnet", "value": "on"}, {"name": "team", "value": "x"},
                                       {"name": "accelnet-provision"}], "tags": "accelnet:off"}}
    assert parse_imds_instance(json.dumps(listed)).tags == (("Accelnet", "on"), ("accelnet-provision", ""))
    joined = {"compute": {"tags": "team:x;accelnet:off;accelnet-provision:2024:done"}}
    assert parse_imds_instance(json.dumps(joined)).tags == (("accelnet", "off"), ("accelnet-provision", "2024:done"))
    assert parse_imds_instance(json.dumps({"compute": {}})).tags == ()


def test_a_bundle_keeps_the_shape_of_odd_documents_and_none_of_their_values():
    assert redact_imds_document([1]) == ({}, ["(the whole document: not a JSON object)"])
    assert redact_imds("[1]") == "{}\n"
    odd = {"compute": {"storageProfile": {"imageReference": "x"}}, "network": {"interface": ["x", {"macAddress": 1}]}}
    assert redact_imds_document(odd) == (
        {"compute": {"storageProfile": {"imageReference": {}}}, "network": {"interface": [{}, {"macAddress": 1}]}}, [])


def test_a_null_is_kept_as_a_value_and_a_tags_list_must_be_a_list():
    assert redact_imds_document({"compute": {"zone": None, "vmSize": 4}}) == ({"compute": {"zone": None, "vmSize": 4}}, [])
    with pytest.raises(ImdsError, match=r"^IMDS compute.tagsList is int, expected a list$"):
        parse_imds_instance(json.dumps({"compute": {"tagsList": 3}}))


def test_what_a_bundle_drops_is_named_by_its_path():
    odd = {"compute": {"storageProfile": "x"}, "network": {"interface": {"0": 1}, "other": 1}, "extra": 1}
    assert redact_imds_document(odd) == (
        {"compute": {}}, ["compute.storageProfile", "extra", "network.interface", "network.other"])
    assert redact_imds_document({"compute": [], "network": 3}) == ({}, ["compute", "network"])
