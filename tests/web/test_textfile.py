"""Atomic writes for node_exporter's textfile collector."""

import os
import stat
import threading

import pytest
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import generate_latest

from accelnet.agent.textfile import TextfileError, write_textfile

from webhelpers import BrokenCollector


def test_writes_the_text_format_world_readable_whatever_the_umask(tmp_path, registry):
    target = tmp_path / "accelnet.prom"
    old = os.umask(0o077)
    try:
        write_textfile(str(target), registry)
    finally:
        os.umask(old)
    assert target.read_bytes() == generate_latest(registry)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["accelnet.prom"], "no temporary file left behind"


def test_replaces_the_previous_file(tmp_path, registry):
    target = tmp_path / "accelnet.prom"
    target.write_text("stale 1\n")
    write_textfile(str(target), registry)
    assert b"stale" not in target.read_bytes()
    assert b"accelnet_vf_present" in target.read_bytes()


def test_missing_directory_and_wrong_suffix_are_clear_errors(tmp_path, registry):
    with pytest.raises(TextfileError, match=r"directory .*/nope does not exist"):
        write_textfile(str(tmp_path / "nope" / "accelnet.prom"), registry)
    with pytest.raises(TextfileError, match=r"must end in \.prom"):
        write_textfile(str(tmp_path / "accelnet.txt"), registry)


def test_a_failing_collector_leaves_the_old_file_alone(tmp_path):
    target = tmp_path / "accelnet.prom"
    target.write_text("good 1\n")
    reg = CollectorRegistry()
    reg.register(BrokenCollector())
    with pytest.raises(TextfileError, match="collecting metrics failed: RuntimeError: ethtool ioctl exploded"):
        write_textfile(str(target), reg)
    assert target.read_text() == "good 1\n"
    assert os.listdir(tmp_path) == ["accelnet.prom"]


def test_write_errors_remove_the_temporary_file(tmp_path, registry):
    target = tmp_path / "accelnet.prom"
    target.mkdir()  # os.replace of a file over a directory fails
    with pytest.raises(TextfileError, match="accelnet.prom: Is a directory"):
        write_textfile(str(target), registry)
    assert sorted(os.listdir(tmp_path)) == ["accelnet.prom"]


def test_readers_never_see_a_partial_file(tmp_path):
    """A reader polling like node_exporter sees one complete version or the other."""
    target = tmp_path / "accelnet.prom"
    small, big = CollectorRegistry(), CollectorRegistry()
    Gauge("accelnet_small", "s", registry=small).set(1)
    g = Gauge("accelnet_big", "b", ["i"], registry=big)
    for i in range(3000):  # ~100 KiB, several write() calls' worth
        g.labels(str(i)).set(i)
    versions = {generate_latest(small), generate_latest(big)}
    write_textfile(str(target), small)
    stop = threading.Event()
    seen, bad = set(), []

    def reader() -> None:
        while not stop.is_set():
            data = target.read_bytes()
            if data in versions:
                seen.add(data)
            else:
                bad.append(len(data))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(60):
            write_textfile(str(target), big if i % 2 else small)
    finally:
        stop.set()
        t.join()
    assert bad == []
    assert seen == versions
