"""Which intent is in force for the VM and each NIC: flags over the file over the tag, a
NIC's own statement over the VM's, and the reason each decision names."""

import pytest

from accelnet.diagnosis.intent import FILE, FLAGS, TAG, Nic, Source, from_flags, from_tag, resolve
from accelnet.parsers.intent import IGNORE, OFF, ON, IntentError, Statement, parse_intent_file

NICS = [Nic("eth0", "00:0d:3a:00:00:01", "enP1s1"), Nic("eth1", "00:0d:3a:00:00:02", None)]


def _file(text):
    return Source(FILE, parse_intent_file(text))


def test_nothing_declared_means_an_expected_everywhere():
    intent = resolve([from_flags(None, []), Source(FILE), from_tag([])], NICS)
    assert not intent.declared and intent.error is None and intent.unmatched == []
    assert intent.vm.expect == ON and intent.nic("eth0").expect == ON and intent.nic("eth1").describe() == "expected on"


def test_the_tag_declares_the_whole_vm():
    intent = resolve([from_tag([("accelnet", "off"), ("accelnet-provision", "start again")])], NICS)
    assert intent.vm.describe() == "off by design: tag accelnet=off"
    assert intent.nic("eth0").describe() == intent.nic("eth1").describe() == "off by design: tag accelnet=off"


def test_tag_names_compare_as_azure_compares_them():
    assert resolve([from_tag([("AccelNet", "OFF")])], NICS).vm.expect == OFF


def test_the_file_overrides_the_tag_and_a_nic_statement_the_vm_statement():
    intent = resolve([from_tag([("accelnet", "off")]), _file("expect-an on eth0\n")], NICS)
    assert intent.nic("eth0").describe() == "expected on: /etc/accelnet/accelnet.conf line 1"
    assert intent.nic("eth1").describe() == "off by design: tag accelnet=off"
    assert intent.vm.expect == OFF


def test_flags_override_the_file_whatever_it_says_about_a_nic():
    intent = resolve([_file("expect-an off eth1\nignore-nic 00:0d:3a:00:00:01\n"), from_flags(ON, [])], NICS)
    assert intent.nic("eth0").describe() == intent.nic("eth1").describe() == "expected on: --expect-an on"
    intent = resolve([_file("expect-an off\n"), from_flags(None, ["eth1"])], NICS)
    assert intent.nic("eth1").describe() == "ignored: --ignore-nic eth1"
    assert intent.nic("eth0").describe() == "off by design: /etc/accelnet/accelnet.conf line 1"


def test_a_nic_is_named_by_name_mac_or_its_vf():
    intent = resolve([_file("ignore-nic enP1s1\nexpect-an off 00-0d-3a-00-00-02\n")], NICS)
    assert intent.nic("eth0").expect == IGNORE and intent.nic("eth1").expect == OFF


def test_selectors_that_match_no_nic_are_reported_not_fatal():
    intent = resolve([from_flags(None, ["eth9"]), _file("expect-an off 00:0d:3a:99:99:99\n")], NICS)
    assert intent.unmatched == ["--ignore-nic eth9 names no NIC of this VM (eth9)",
                                "/etc/accelnet/accelnet.conf line 1 names no NIC of this VM (00:0d:3a:99:99:99)"]
    assert not any(d.declared for d in intent.nics.values())


def test_one_source_saying_two_things_about_a_nic_is_an_error():
    with pytest.raises(IntentError, match="line 1 and /etc/accelnet/accelnet.conf line 2 declare different intents for eth0"):
        resolve([_file("expect-an off eth0\nexpect-an on 00:0d:3a:00:00:01\n")], NICS)


def test_the_same_thing_said_twice_by_name_and_mac_is_fine():
    intent = resolve([_file("ignore-nic eth0\nignore-nic enP1s1\n")], NICS)
    assert intent.nic("eth0").describe() == "ignored: /etc/accelnet/accelnet.conf line 1"


def test_a_bad_tag_value_is_an_error():
    with pytest.raises(IntentError, match="tag accelnet='of'"):
        from_tag([("accelnet", "of")])


def test_precedence_does_not_depend_on_the_order_sources_are_given():
    sources = [from_tag([("accelnet", "off")]), _file("expect-an on\n"), from_flags(None, ["eth1"])]
    for order in (sources, sources[::-1], [sources[1], sources[2], sources[0]]):
        intent = resolve(order, NICS)
        assert (intent.vm.expect, intent.nic("eth0").expect, intent.nic("eth1").expect) == (ON, ON, IGNORE)


def test_statements_come_from_their_source_kinds():
    assert from_flags(OFF, ["eth1"]).statements == (Statement(OFF), Statement(IGNORE, "eth1"))
    assert from_flags(None, []).kind == FLAGS and from_tag([]).kind == TAG
