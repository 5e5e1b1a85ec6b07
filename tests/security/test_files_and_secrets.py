"""Files root writes and secrets it ships: temp files are created safely in the target
directory (a planted symlink never redirects a write), the bundle is 0600 and never
overwrites without --force, and the IMDS document in it holds only what the diagnosis reads."""

import contextlib
import io
import json
import os
import shutil
import tarfile

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from accelnet.agent.textfile import write_textfile
from accelnet.cli.check import main
from accelnet.diagnosis.facts import Options
from accelnet.parsers.imds import parse_imds_instance, redact_imds, redact_imds_document
from accelnet.readers.collect import BundleExists, collect
from accelnet.readers.snapshot import open_snapshot

from hostile import FIXTURES

SECRETS = {
    "userData": "IyEvYmluL3NoCmV4cG9ydCBEQl9QQVNTV09SRD1odW50ZXIy",
    "customData": "c2VjcmV0LWN1c3RvbS1kYXRh",
    "tags": "owner:alice;dbpassword:hunter2",
    "tagsList": [{"name": "apikey", "value": "AKIA-SECRET"}],
    "subscriptionId": "11111111-2222-3333-4444-555555555555",
    "publicKeys": [{"keyData": "ssh-rsa AAAAB3SECRETKEY alice", "path": "/home/alice/.ssh/authorized_keys"}],
    "osProfile": {"adminUsername": "secretadmin"},
}
PUBLIC_IP = "20.30.40.50"


def _imds_with_secrets() -> dict:
    with open(os.path.join(FIXTURES, "ubuntu2204-cx5-2nics", "cmd", "imds.json")) as f:
        doc = json.load(f)
    doc["compute"].update(SECRETS)
    doc["compute"]["storageProfile"]["osDisk"] = {"name": "secret-disk-name"}
    for iface in doc["network"]["interface"]:
        iface["ipv4"] = {"ipAddress": [{"privateIpAddress": "10.0.0.4", "publicIpAddress": PUBLIC_IP}]}
    doc["secretTopLevel"] = {"x": "hunter3"}
    return doc


def _no_secret_in(text: str) -> None:
    for needle in ("hunter2", "hunter3", "AKIA-SECRET", "SECRETKEY", "11111111-2222", "secretadmin",
                   "secret-disk-name", PUBLIC_IP, "10.0.0.4", SECRETS["userData"], SECRETS["customData"]):
        assert needle not in text, needle


# -- IMDS redaction ---------------------------------------------------------------------------


def test_redaction_keeps_exactly_what_the_diagnosis_reads():
    doc = _imds_with_secrets()
    kept, dropped = redact_imds_document(doc)
    text = json.dumps(kept)
    _no_secret_in(text)
    assert parse_imds_instance(text) == parse_imds_instance(json.dumps(doc))
    for name in ("compute.userData", "compute.customData", "compute.tags", "compute.subscriptionId",
                 "compute.publicKeys", "network.interface[].ipv4", "secretTopLevel"):
        assert name in dropped
    assert redact_imds("not json") is None and redact_imds(None) is None


@pytest.mark.parametrize("doc", [[], "x", {"compute": []}, {"compute": {"vmSize": {"nested": "secret"}}},
                                 {"network": {"interface": {"0": {"macAddress": "x"}}}}])
def test_redaction_of_odd_documents_keeps_no_nested_values(doc):
    kept, _ = redact_imds_document(doc)
    assert "secret" not in json.dumps(kept)


# -- the bundle ---------------------------------------------------------------------------------


@pytest.fixture
def azure_host_with_secrets(tmp_path):
    top = tmp_path / "host"
    shutil.copytree(os.path.join(FIXTURES, "ubuntu2204-cx5-2nics"), str(top), symlinks=True)
    (top / "cmd" / "imds.json").write_text(json.dumps(_imds_with_secrets()))
    with open_snapshot(str(top)) as host:
        yield host


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim"
    path.write_text("precious\n")
    os.chmod(str(path), 0o600)
    return path


def _unchanged(victim):
    assert victim.read_text() == "precious\n" and victim.stat().st_mode & 0o777 == 0o600


def test_bundle_is_0600_redacted_and_never_written_through_a_planted_link(tmp_path, azure_host_with_secrets, victim):
    out = tmp_path / "out"
    out.mkdir(mode=0o777)
    archive = out / "bundle.tar.gz"
    os.symlink(str(victim), str(out / "bundle.tar.gz.partial"))  # the old fixed temp name
    summary = collect(azure_host_with_secrets, str(archive), Options(sample_seconds=0))
    _unchanged(victim)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert summary.imds and summary.files > 100 and "userData" in summary.describe()
    assert sorted(os.listdir(str(out))) == ["bundle.tar.gz", "bundle.tar.gz.partial"]
    with tarfile.open(str(archive)) as tar:
        imds = tar.extractfile("snapshot/cmd/imds.json").read().decode()
    _no_secret_in(imds)
    assert json.loads(imds)["compute"]["vmSize"]


def test_existing_bundle_is_never_overwritten_without_force(tmp_path, azure_host_with_secrets, victim):
    archive = tmp_path / "bundle.tar.gz"
    archive.write_text("old")
    with pytest.raises(BundleExists):
        collect(azure_host_with_secrets, str(archive), Options(sample_seconds=0))
    assert archive.read_text() == "old"
    link = tmp_path / "link.tar.gz"
    os.symlink(str(victim), str(link))  # a planted link where the bundle goes
    with pytest.raises(BundleExists):
        collect(azure_host_with_secrets, str(link), Options(sample_seconds=0))
    with pytest.raises(BundleExists, match="symbolic link"):  # also with --force
        collect(azure_host_with_secrets, str(link), Options(sample_seconds=0), force=True)
    _unchanged(victim)
    assert link.is_symlink()
    directory = tmp_path / "dir.tar.gz"
    directory.mkdir()
    for force in (False, True):
        with pytest.raises(BundleExists, match="is a directory"):
            collect(azure_host_with_secrets, str(directory), Options(sample_seconds=0), force=force)
    assert os.listdir(str(directory)) == []
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".partial")]


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("became", ["link-to-file", "link-to-dir", "directory"])
def test_a_bundle_name_that_becomes_a_link_or_a_directory_is_never_written_through(
        tmp_path, azure_host_with_secrets, victim, monkeypatch, became, force):
    """The name is swapped after the archive is written, just before it is published (the
    moment the sh collector's test hits too): refused, the victim untouched."""
    from accelnet.readers import collect as collect_module

    archive = tmp_path / "out" / "bundle.tar.gz"
    archive.parent.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real_publish = collect_module._publish

    def swap_then_publish(partial, name, force_):
        if became == "directory":
            os.mkdir(name)
        else:
            os.symlink(str(victim if became == "link-to-file" else elsewhere), name)
        return real_publish(partial, name, force_)

    monkeypatch.setattr(collect_module, "_publish", swap_then_publish)
    with pytest.raises(BundleExists):
        collect(azure_host_with_secrets, str(archive), Options(sample_seconds=0), force=force)
    _unchanged(victim)
    assert os.listdir(str(elsewhere)) == []
    assert os.listdir(str(archive.parent)) == ["bundle.tar.gz"]


def test_cli_refuses_an_existing_bundle_with_an_unknown_line(tmp_path):
    archive = tmp_path / "bundle.tar.gz"
    archive.write_text("old")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--collect", str(archive), "--sample-seconds", "0", "--no-imds"])
    assert code == 3 and out.getvalue().startswith("UNKNOWN: ") and "--force" in out.getvalue()
    assert archive.read_text() == "old"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(["--collect", str(archive), "--force", "--sample-seconds", "0", "--no-imds", "--json"])
    assert archive.stat().st_mode & 0o777 == 0o600
    assert "written (mode 0600)" in err.getvalue() and " files" in err.getvalue()
    json.loads(out.getvalue())  # --json stays parseable: the summary went to stderr


# -- the textfile -------------------------------------------------------------------------------


class _One:
    def collect(self):
        yield GaugeMetricFamily("accelnet_ok", "One.", value=1)


def test_textfile_never_written_through_a_planted_link(tmp_path, victim):
    directory = tmp_path / "textfile"
    directory.mkdir(mode=0o777)
    target = directory / "accelnet.prom"
    for pid in range(os.getpid() - 5, os.getpid() + 5):  # the old predictable temp names
        os.symlink(str(victim), str(directory / f"accelnet.prom.{pid}.tmp"))
    registry = CollectorRegistry()
    registry.register(_One())
    write_textfile(str(target), registry)
    _unchanged(victim)
    assert "accelnet_ok 1.0" in target.read_text() and target.stat().st_mode & 0o777 == 0o644
    os.unlink(str(target))
    os.symlink(str(victim), str(target))  # a link planted at the target itself
    write_textfile(str(target), registry)
    _unchanged(victim)
    assert not target.is_symlink() and "accelnet_ok" in target.read_text()
    assert not [n for n in os.listdir(str(directory)) if n.startswith(".")]
