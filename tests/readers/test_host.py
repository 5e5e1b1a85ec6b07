"""The host reader: reads stay inside a snapshot, are bounded, and never raise."""

import os

from accelnet.readers.host import MAX_READ_BYTES, Host, RecordedCaptures


def make_host(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    return Host(root=str(root), live=False), root


def test_relative_links_resolve_inside_root(tmp_path):
    host, root = make_host(tmp_path)
    dev = root / "sys/devices/vmbus/abc/net/eth0"
    dev.mkdir(parents=True)
    (dev / "address").write_text("00:0d:3a:00:00:01\n")
    (root / "sys/class/net").mkdir(parents=True)
    os.symlink("../../devices/vmbus/abc/net/eth0", root / "sys/class/net/eth0")
    assert host.read_attr("/sys/class/net/eth0/address") == "00:0d:3a:00:00:01"
    assert host.resolve("/sys/class/net/eth0") == "/sys/devices/vmbus/abc/net/eth0"
    assert host.link_name("/sys/class/net/eth0") == "eth0"


def test_absolute_and_escaping_links_stay_in_root(tmp_path):
    host, root = make_host(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text("outside")
    (root / "etc").mkdir()
    (root / "etc/secret").write_text("inside")
    os.symlink(str(secret), root / "abs")  # absolute target: resolved against the root
    os.symlink("../../../../../secret", root / "up")  # climbs above the root: clamped
    assert host.read_text("/abs") is None
    assert host.read_text("/up") is None
    os.symlink("/etc/secret", root / "abs2")
    assert host.read_text("/abs2") == "inside"


def test_links_are_read_in_their_directory_as_resolved_in_root(tmp_path):
    """read_link opens the link's directory in the jail and reads the link relative to it: a
    directory link that climbs out of the root reads the root's copy, never this machine's."""
    host, root = make_host(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink("/etc/passwd-outside", outside / "driver")
    inside = root / "outside"
    inside.mkdir()
    os.symlink("../../bus/vmbus/drivers/hv_netvsc", inside / "driver")
    os.symlink("../../../outside", root / "dev")  # climbs above the root: clamped to /outside
    os.symlink(str(outside), root / "absdev")  # absolute: resolved against the root
    assert host.read_link("/dev/driver") == "../../bus/vmbus/drivers/hv_netvsc"
    assert host.link_name("/dev/driver") == "hv_netvsc"
    assert host.read_link("/absdev/driver") is None  # the root has no such directory
    assert host.read_link("/dev/..") is None
    assert host.read_link("/dev/nope") is None
    (root / "file").write_text("x")
    assert host.read_link("/file") is None  # not a link


def _read_link_as_nobody(root: str, path: str):
    """Host.read_link in a child that runs as nobody (uid 65534): what a user without root
    reads. Forked after the imports, so it needs no access to the package's files."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            if os.getuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            os.write(write, repr(Host(root=root, live=False).read_link(path)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        said = answer.read().decode()
    os.waitpid(pid, 0)
    return said


def test_a_link_in_a_directory_that_can_be_searched_not_listed_is_read():
    """readlink needs search permission on the link's directory, not read permission: nor does
    read_link's directory descriptor (O_PATH). A directory opened for reading (O_RDONLY) made a
    snapshot's 0711 directories' links unreadable for a user without root (None, not the driver)."""
    import shutil
    import tempfile

    top = tempfile.mkdtemp(prefix="accelnet-test-")  # /tmp: nobody can reach it, tmp_path not
    try:
        os.chmod(top, 0o755)
        eth0 = os.path.join(top, "sys", "class", "net", "eth0")
        os.makedirs(eth0)
        os.symlink("../../../bus/vmbus/drivers/hv_netvsc", os.path.join(eth0, "driver"))
        os.chmod(eth0, 0o711)
        assert _read_link_as_nobody(top, "/sys/class/net/eth0/driver") == "'../../../bus/vmbus/drivers/hv_netvsc'"
        os.chmod(eth0, 0o700)  # no search permission either: nothing, and no error
        assert _read_link_as_nobody(top, "/sys/class/net/eth0/driver") == "None"
    finally:
        os.chmod(eth0, 0o755)
        shutil.rmtree(top)


def test_a_link_below_a_fifo_or_a_link_is_nothing_and_never_blocks(tmp_path):
    host, root = make_host(tmp_path)
    os.mkfifo(str(root / "fifo"))
    os.symlink("target", root / "link")
    assert host.read_link("/fifo/driver") is None  # not opened as a FIFO: no writer to wait for
    assert host.read_link("/fifo") is None
    assert host.read_link("/link/driver") is None
    assert host.read_link("/link") == "target"
    os.symlink("x" * 4000, root / "long")
    assert host.read_link("/long") == "x" * 4000


def test_symlink_loop_is_a_state(tmp_path):
    host, root = make_host(tmp_path)
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    assert host.read_text("/a") is None
    assert host.list_dir("/a") == []
    assert not host.exists("/a/x")


def test_reads_are_bounded(tmp_path):
    host, root = make_host(tmp_path)
    big = root / "big"
    with open(big, "wb") as handle:
        handle.truncate(MAX_READ_BYTES + 10)  # sparse: no real gigabyte needed
    assert host.read_text("/big") is None
    assert host.read_text("/big", limit=MAX_READ_BYTES + 100) is not None


def test_missing_and_special_files(tmp_path):
    host, root = make_host(tmp_path)
    os.mkfifo(root / "fifo")
    assert host.read_text("/fifo") is None  # never blocks on a fifo
    assert host.read_text("/nope") is None
    assert host.read_attr("/nope") is None
    assert host.read_link("/nope") is None
    assert host.list_dir("/nope") == []


def test_captures_ignore_links(tmp_path):
    cmd = tmp_path / "cmd"
    cmd.mkdir()
    (tmp_path / "outside.txt").write_text("x")
    os.symlink(str(tmp_path / "outside.txt"), cmd / "lspci.txt")
    (cmd / "imds.json").write_text("{}")
    host = Host(root=str(tmp_path), live=False, captures=RecordedCaptures(str(cmd)))
    assert host.capture("lspci") is None
    assert host.capture("imds") == "{}"


def test_a_configuration_file_others_could_write_is_named(tmp_path):
    """/etc/accelnet/accelnet.conf can silence every check: the live host says when a user
    other than root (or this process's) could have written it, through a link or a directory."""
    live = Host(root="/", live=True)
    conf = tmp_path / "conf"
    conf.mkdir(mode=0o755)
    path = conf / "accelnet.conf"
    path.write_text("expect-an off\n")
    path.chmod(0o644)
    assert live.writable_by_others(str(path)) is None
    path.chmod(0o666)
    assert live.writable_by_others(str(path)) == f"{path} is writable by every user (mode 0666)"
    assert Host(root=str(tmp_path), live=False).writable_by_others("/conf/accelnet.conf") is None
    path.chmod(0o644)
    conf.chmod(0o777)  # anyone could replace the file
    assert live.writable_by_others(str(path)) == f"{conf} is writable by every user (mode 0777)"
    conf.chmod(0o755)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    target = open_dir / "target"
    target.write_text("expect-an off\n")
    target.chmod(0o666)
    link = conf / "link.conf"
    link.symlink_to(target)
    assert live.writable_by_others(str(link)) == f"{target} is writable by every user (mode 0666)"
    target.chmod(0o644)
    assert live.writable_by_others(str(link)) is None
    conf.chmod(0o777)  # anyone could swap the link
    assert live.writable_by_others(str(link)) == f"{conf} is writable by every user (mode 0777)"
    conf.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(str(target), 65534, 65534)
        assert live.writable_by_others(str(link)) == f"{target} is owned by uid 65534"
