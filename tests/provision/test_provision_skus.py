"""Size support from Azure (issue 20, item 5): `az vm list-skus` first, the bundled table
when Azure cannot be asked, and every disagreement reported."""

import importlib.machinery
import importlib.util

import pytest

from accelnet.provision.azcli import parse_json_output
from accelnet.provision.errors import AzOutputError
from accelnet.provision.skus import SOURCE_AZURE, SkuAnswer, decide, parse_skus
from provision_fakes import FAKE_AZ_DIR, RG, key, nic, vm, world
from test_provision_cli import _in_process  # noqa: F401 (an autouse fixture)
from test_provision_scenarios import CREATE_ARGS


def _fake_module():
    loader = importlib.machinery.SourceFileLoader("fake_az_skus", str(FAKE_AZ_DIR / "az"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


sku_doc = _fake_module().sku_doc  # the stand-in's SKU documents, in az's shape
NEW = "Standard_X8ps_v9"  # a size of a series the bundled table has never heard of
NOT_FOR_US = {"type": "Location", "values": ["centralus"], "reasonCode":
              "NotAvailableForSubscription",
              "restrictionInfo": {"locations": ["centralus"], "zones": None}}
ZONE_2 = {"type": "Zone", "values": ["centralus"], "reasonCode": "NotAvailableForSubscription",
          "restrictionInfo": {"locations": ["centralus"], "zones": ["2"]}}


# --- parsing and deciding, on documents ---------------------------------------------------

def test_the_exact_name_in_the_location_is_taken():
    doc = [sku_doc("Standard_DS4_v2_Promo", False, ["centralus"]),
           sku_doc("Standard_DS4_v2", True, ["westus"]),
           sku_doc("standard_ds4_v2", True, ["centralus"], zones=("3", "1"))]
    sku = parse_skus(doc, "Standard_DS4_v2", "CentralUS")
    assert (sku.name, sku.accelerated, sku.zones, sku.blocked) == \
        ("standard_ds4_v2", True, ("1", "3"), ())
    assert parse_skus(doc, "Standard_DS4", "centralus") is None


def test_restrictions_for_this_location_only():
    doc = [sku_doc(NEW, True, ["centralus", "westus"],
                   restrictions=[NOT_FOR_US, ZONE_2,
                                 dict(NOT_FOR_US, values=["westus"],
                                      restrictionInfo={"locations": ["westus"]})])]
    here = parse_skus(doc, NEW, "centralus")
    assert here.blocked == ("NotAvailableForSubscription",) and here.zones == ("1", "3")
    assert here.zone_restrictions == ("zones 2: NotAvailableForSubscription",)
    there = parse_skus(doc, NEW, "westus")
    assert there.blocked == ("NotAvailableForSubscription",) and there.zones == ("1", "2", "3")


@pytest.mark.parametrize("doc", [{"value": []}, [{"name": NEW, "locations": ["centralus"],
                                                   "capabilities": [{"name":
                                                   "AcceleratedNetworkingEnabled",
                                                   "value": "maybe"}]}]])
def test_nonsense_is_an_error(doc):
    with pytest.raises(AzOutputError):
        parse_skus(doc, NEW, "centralus")


def _shaped(**fields):
    return [dict(sku_doc(NEW, True, ["centralus"]), **fields)]


@pytest.mark.parametrize("doc", [
    _shaped(restrictions=5), _shaped(restrictions="Location"), _shaped(locationInfo=7),
    _shaped(capabilities=3), _shaped(capabilities={"name": "AcceleratedNetworkingEnabled", "value": "True"}),
    _shaped(locations="centralus"), _shaped(restrictions=[dict(NOT_FOR_US, restrictionInfo="centralus")]),
    _shaped(restrictions=[dict(NOT_FOR_US, restrictionInfo=["centralus"])]),
    _shaped(locationInfo=[{"location": "centralus", "zones": "123"}]),
    _shaped(locationInfo=[{"location": "centralus", "zones": [str(z) for z in range(100000)]}]),
    _shaped(locationInfo=[{"location": "centralus", "zones": [["1"]]}]),
    # zone names reach az's argv (public-ip create --zone): an option is no zone
    _shaped(locationInfo=[{"location": "centralus", "zones": ["1", "--subscription", "other"]}]),
    _shaped(restrictions=[dict(NOT_FOR_US, type="Zone", restrictionInfo={"zones": ["2\n"]})]),
])
def test_a_misshapen_answer_is_an_error_not_a_crash(doc):
    """A field of the wrong type, or far more zones than a region has: Azure answered
    nonsense, which the reader turns into 'the bundled table decides'."""
    with pytest.raises(AzOutputError, match="az vm list-skus: "):
        parse_skus(doc, NEW, "centralus")


@pytest.mark.parametrize("code, said", [
    ("NotAvailableForSubscription", "NotAvailableForSubscription"), ("QuotaId", "QuotaId"),
    ("x" * 1000, "restricted"), ({"a": "b"}, "restricted"), ("\x1b[2J\nrm -rf", "restricted"),
    ("QuotaId\n", "restricted"), (None, "restricted"),
], ids=["subscription", "quota", "long", "object", "escapes", "newline", "none"])
def test_a_restriction_says_its_reason_only_when_it_is_a_reason_code(code, said):
    sku = parse_skus(_shaped(restrictions=[dict(NOT_FOR_US, reasonCode=code)]), NEW, "centralus")
    assert sku.blocked == (said,)


@pytest.mark.parametrize("text", ["[" * 100000, '{"a":' * 100000 + "1" + "}" * 100000, "[1,", "\x00"],
                         ids=["deep-array", "deep-object", "cut", "nul"])
def test_output_that_is_no_json_or_nested_beyond_reason_is_an_error(text):
    """json.loads raises RecursionError, not ValueError, for deep nesting: az's output is
    'not JSON' either way, so the bundled table decides instead of a traceback."""
    with pytest.raises(AzOutputError, match="not JSON"):
        parse_json_output(text)


def test_azure_decides_and_a_disagreement_is_said():
    table_supported = "Standard_DS4_v2"
    sku = parse_skus([sku_doc(table_supported, False, ["centralus"])], table_supported,
                     "centralus")
    decision = decide(table_supported, "centralus", SkuAnswer(sku))
    assert (decision.status, decision.source) == ("unsupported", SOURCE_AZURE)
    assert decision.warnings == [
        "the bundled size table says supported for Standard_DS4_v2 (Standard_DS4_v2 (8 vCPUs): "
        + decide(table_supported, "centralus", SkuAnswer(error="x")).reason.split(": ", 1)[1]
        + "), Azure says AcceleratedNetworkingEnabled=False: Azure's answer is used"]
    agree = decide(table_supported, "centralus", SkuAnswer(parse_skus(
        [sku_doc(table_supported, True, ["centralus"])], table_supported, "centralus")))
    assert (agree.status, agree.warnings) == ("supported", [])


def test_offline_the_table_decides_and_says_why():
    decision = decide("Standard_DS4_v2", "centralus", SkuAnswer(error="AuthorizationFailed"))
    assert decision.status == "supported" and decision.source != SOURCE_AZURE
    assert decision.warnings == ["Azure's SKU list could not be read (AuthorizationFailed): "
                                 "the bundled size table decides for Standard_DS4_v2: supported"]


# --- through the command ------------------------------------------------------------------

def _create(size):
    args = list(CREATE_ARGS)
    args[args.index("--size") + 1] = size
    return args


def test_a_size_the_table_does_not_know_is_created_on_azures_word(fake_az):
    fake_az.load({"groups": {}, "skus": [sku_doc(NEW, True, ["centralus"], zones=("1", "3")),
                                        sku_doc(NEW + "_Promo", False, ["centralus"])]})
    code, script, _ = fake_az.provision(*_create(NEW), "--dry-run")
    assert code == 0
    assert f"# WARNING: the bundled size table says unknown for {NEW}" in script
    assert "Azure says AcceleratedNetworkingEnabled=True: Azure's answer is used" in script
    code, out, err = fake_az.provision(*_create(NEW))
    assert code == 0, err
    assert "warning: the bundled size table says unknown" in err
    ip = [c for c in fake_az.changes() if c.startswith("network public-ip create")]
    assert ip[0].endswith("--sku Standard --zone 1 3")


def test_azure_saying_no_wins_over_the_table(fake_az):
    fake_az.load(world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])],
                       nics=[nic("myNic", "myVM")]))
    state = fake_az.state
    state["skus"] = [sku_doc("Standard_DS4_v2", False, ["centralus"])]
    fake_az.load(state)
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert code == 1 and fake_az.changes() == []
    assert "refused before any change: cannot enable Accelerated Networking on myVM: " \
        "Standard_DS4_v2 in centralus: AcceleratedNetworkingEnabled=False" in err


@pytest.mark.parametrize("action", ["create", "enable", "resize"])
def test_a_size_this_subscription_cannot_use_here_is_refused(fake_az, action):
    state = world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])], nics=[nic("myNic", "myVM")])
    state["skus"] = [sku_doc("Standard_DS4_v2", True, ["centralus"], restrictions=[NOT_FOR_US]),
                     sku_doc("Standard_D4s_v5", True, ["centralus"], restrictions=[NOT_FOR_US])]
    fake_az.load(state)
    args = {"create": _create("Standard_DS4_v2"),
            "enable": ["enable", "-g", RG, "--vm", "myVM"],
            "resize": ["resize", "-g", RG, "--vm", "myVM", "--size", "Standard_D4s_v5"]}[action]
    code, _, err = fake_az.provision(*args)
    assert code == 1 and fake_az.changes() == []
    assert "cannot be used in centralus by this subscription (NotAvailableForSubscription)" \
        in err


def test_a_zone_restriction_is_said_and_the_ip_avoids_it(fake_az):
    fake_az.load({"groups": {}, "skus": [sku_doc("Standard_DS4_v2", True, ["centralus"],
                                                 restrictions=[ZONE_2])]})
    code, _, err = fake_az.provision(*CREATE_ARGS)
    assert code == 0
    assert "warning: Standard_DS4_v2 in centralus is restricted in zones 2: " \
        "NotAvailableForSubscription" in err
    assert [c for c in fake_az.changes() if "public-ip" in c][0].endswith("--zone 1 3")


def test_a_size_not_offered_here_is_not_created_but_an_existing_vm_falls_back(fake_az):
    state = world(vms=[vm("myVM", "Standard_DS4_v2", ["myNic"])], nics=[nic("myNic", "myVM")])
    state["skus"] = [sku_doc("Standard_DS4_v2", True, ["westus"])]
    fake_az.load(state)
    code, _, err = fake_az.provision(*_create("Standard_DS4_v2"))
    assert code == 1 and "Standard_DS4_v2 is not offered in centralus (az vm list-skus lists " \
        "no such size there)" in err
    code, _, err = fake_az.provision("enable", "-g", RG, "--vm", "myVM")
    assert code == 0
    assert "warning: Azure lists no size Standard_DS4_v2 in centralus (az vm list-skus); the " \
        "bundled size table says supported" in err
    assert fake_az.state["nics"][key("myNic")]["accelerated"] is True


@pytest.mark.parametrize("how", ["error", "garbage"])
def test_offline_the_table_decides_and_an_unknown_size_needs_the_flag(fake_az, how):
    state = {"groups": {}}
    if how == "error":
        state["skus_error"] = "The client does not have authorization to perform action " \
            "'Microsoft.Compute/skus/read'"
    fake_az.load(state)
    if how == "garbage":
        fake_az.fail(match="list-skus", kind="garbage", times=99)
    code, _, err = fake_az.provision(*_create(NEW))
    assert code == 1 and "pass --allow-unknown-size" in err
    code, _, err = fake_az.provision(*_create("Standard_DS4_v2"))
    assert code == 0
    assert "warning: Azure's SKU list could not be read (" in err
    assert "the bundled size table decides for Standard_DS4_v2: supported" in err
    ip = [c for c in fake_az.changes() if c.startswith("network public-ip create")]
    assert ip[0].endswith("--sku Standard")  # no zones known: none asked for


def test_a_misshapen_answer_through_the_command_leaves_the_table_to_decide(fake_az):
    fake_az.load({"groups": {}, "skus": [dict(sku_doc("Standard_DS4_v2", True, ["centralus"]),
                                              restrictions=[dict(NOT_FOR_US, restrictionInfo="centralus")])]})
    code, _, err = fake_az.provision(*_create("Standard_DS4_v2"))
    assert code == 0, err
    assert "warning: Azure's SKU list could not be read (az vm list-skus: restrictionInfo is a str, not an " \
        "object): the bundled size table decides for Standard_DS4_v2: supported" in err
    assert "Traceback" not in err
