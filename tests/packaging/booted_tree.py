"""A Debian 12 tree that boots with systemd as PID 1 under systemd-nspawn, cached between runs.

Built once with debootstrap from the mirror apt uses (the include list is the cache key:
another list is another tree), with the .deb's runtime dependencies and the real
prometheus-node-exporter pre-seeded, so that installing the .deb inside the booted container
needs no network. Each test run boots a copy; the cached tree is never booted itself.

Run as a script (python3 tests/packaging/booted_tree.py) to build the cache ahead of a test run.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

SUITE = "bookworm"
INCLUDE = ("systemd", "systemd-sysv", "dbus", "python3", "python3-pyudev",
           "python3-yaml", "python3-bcrypt", "python3-cffi-backend", "prometheus-node-exporter")
CACHE = os.environ.get("ACCELNET_BOOT_CACHE", "/var/cache/accelnet-test")


def mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources)."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    words = line.split()
                    if words[:1] == ["URIs:"] and len(words) > 1:
                        return words[1]
                    if words[:1] == ["deb"]:
                        return next(w for w in words[1:] if "://" in w)
        except (OSError, StopIteration):
            continue
    return "http://deb.debian.org/debian"


def cached_tree() -> str:
    """The cached tree's path, built first where it is missing (a few minutes)."""
    key = hashlib.sha256(("%s %s %s" % (SUITE, mirror(), ",".join(INCLUDE))).encode()).hexdigest()[:12]
    tree = os.path.join(CACHE, "%s-minbase-%s" % (SUITE, key))
    if os.path.isfile(os.path.join(tree, ".complete")):
        return tree
    os.makedirs(CACHE, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".building-", dir=CACHE)
    try:
        result = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(INCLUDE), SUITE, work, mirror()],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=1800)
        if result.returncode != 0:
            raise RuntimeError("debootstrap failed:\n" + result.stdout[-4000:])
        os.chmod(work, 0o755)  # mkdtemp's 0700 would keep every non-root service out of /
        with open(os.path.join(work, ".complete"), "w") as handle:
            handle.write(" ".join(INCLUDE) + "\n")
        if os.path.isdir(tree):
            shutil.rmtree(tree)
        os.rename(work, tree)
        work = ""
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)
    return tree


if __name__ == "__main__":
    print(cached_tree())
    sys.exit(0)
