"""Hostile archives and trees, built by the tests and by bench/bench_attacks.py.

A module name no other test directory uses, so importing it never picks another one up.
"""

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
from typing import Dict, List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "fixtures", "hosts")


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data)
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


def write_archive(path: str, members: List[tuple], fmt: int = tarfile.PAX_FORMAT) -> str:
    """members: (name, kind, data, link) tuples, written in order into a .tar.gz."""
    with tarfile.open(path, "w:gz", format=fmt) as tar:
        for name, kind, data, link in members:
            tar.addfile(_member(name, kind, data, link), io.BytesIO(data) if data else None)
    return path


def snapshot_json() -> tuple:
    return ("snap/snapshot.json", tarfile.REGTYPE, json.dumps({"format": 1}).encode(), "")


def climbing_chain(prefix: str, hops: int) -> List[tuple]:
    """Links that each look harmless (``a -> .``, ``l1 -> a/..``, ``l2 -> l1/..``...) and
    together climb ``hops`` levels above ``prefix``: the last one is ``prefix/l<hops>``."""
    members = [(f"{prefix}/l0", tarfile.SYMTYPE, b"", ".")]
    for i in range(1, hops + 1):
        members.append((f"{prefix}/l{i}", tarfile.SYMTYPE, b"", f"l{i - 1}/.."))
    return members


def header_bomb(path: str, kind: bytes = b"x", claimed: int = 512 << 20, written: Optional[int] = None) -> str:
    """A tar.gz whose first header is a PAX header (``x``) or GNU long name (``L``) of
    ``claimed`` bytes, of which ``written`` (default all) really follow: zeros, which
    compress to 0.1% (a 512 MiB header is a 0.5 MiB archive)."""
    header = tarfile.TarInfo("././@PaxHeader" if kind == b"x" else "././@LongLink")
    header.type = kind
    header.size = claimed
    block = header.tobuf(format=tarfile.GNU_FORMAT if kind == b"L" else tarfile.USTAR_FORMAT)
    chunk = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(block)
        left = claimed if written is None else written
        while left > 0:
            out.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)
        out.write(bytes(1024))
    return path


def _pax_block(records: bytes) -> bytes:
    """One PAX ``x`` header block with ``records`` as its payload, padded to blocks."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = len(records)
    return header.tobuf(format=tarfile.USTAR_FORMAT) + records + bytes(-len(records) % 512)


def pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def pax_pileup(path: str, headers: int = 600, per_header: int = 60 << 10, members: int = 1) -> str:
    """Back-to-back PAX ``x`` headers, each just under the per-header limit and full of
    fresh keys (``k<n>=``), before ``members`` small members: a reader that keeps every
    key holds them all (600 headers: 36 MiB of records, some 2.5 million keys)."""
    n = 0
    with gzip.open(path, "wb", compresslevel=9) as out:
        for member in range(members):
            for _ in range(headers):
                records = []
                size = 0
                while size < per_header - 32:
                    record = pax_record(f"k{n}", "")
                    records.append(record)
                    size += len(record)
                    n += 1
                out.write(_pax_block(b"".join(records)))
            info = tarfile.TarInfo(f"snap/root/f{member}")
            info.size = 0
            out.write(info.tobuf(format=tarfile.USTAR_FORMAT))
        out.write(bytes(1024))
    return path


AZURE_TAG = b"7783-7084-3265-9085-8269-3286-77\n"


def wide_archive(path: str, entries: int = 199_000, where: str = "sys/class/net") -> str:
    """An Azure snapshot whose ``where`` holds ``entries`` empty directories (interfaces or
    PCI devices), as many members as the limits allow: a diagnosis of all of them would
    hold them all."""
    members = [snapshot_json(), ("snap/root/sys/class/dmi/id/chassis_asset_tag", tarfile.REGTYPE, AZURE_TAG, "")]
    members += [(f"snap/root/{where}/e{i}/", tarfile.DIRTYPE, b"", "") for i in range(entries)]
    return write_archive(path, members)


def fresh_stats_text(size: int = 1 << 20) -> str:
    """``ethtool -S`` text of ``size`` bytes, every statistic a fresh name."""
    lines = ["NIC statistics:\n"]
    total, i = 0, 0
    while total < size - 64:
        line = "     stat_%07d: %d\n" % (i, i)
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)


def big_captures_archive(path: str, fixture: str = "ubuntu2204-cx5-2nics", size: int = 1 << 20) -> str:
    """A fixture whose every ``ethtool -S`` capture is ``size`` bytes of fresh statistics
    (each within the reader's 1 MiB per file, all within the archive's limits)."""
    top = os.path.join(FIXTURES, fixture)
    text = fresh_stats_text(size).encode()
    with tarfile.open(path, "w:gz") as tar:
        def swap(info: tarfile.TarInfo) -> Optional[tarfile.TarInfo]:
            return None if "/cmd/ethtool-S." in info.name else info
        tar.add(top, arcname="snapshot", filter=swap)
        for name in sorted(os.listdir(os.path.join(top, "root", "sys", "class", "net"))):
            for index in (0, 1):
                info = tarfile.TarInfo(f"snapshot/cmd/ethtool-S.{name}.{index}.txt")
                info.size = len(text)
                tar.addfile(info, io.BytesIO(text))
    return path


def deep_tree_archive(path: str, depth: int = 1500) -> str:
    """snap/root/d/d/d/... ``depth`` directories deep, one member per level, as tar makes it."""
    members = [snapshot_json(), ("snap/root/", tarfile.DIRTYPE, b"", "")]
    name = "snap/root"
    for _ in range(depth):
        name += "/d"
        members.append((name + "/", tarfile.DIRTYPE, b"", ""))
    members.append((name + "/f", tarfile.REGTYPE, b"x", ""))
    return write_archive(path, members)


def fixture_archive(path: str, fixture: str = "ubuntu2204-cx5-2nics") -> str:
    """A well-formed bundle: a fixture host packed as --collect packs one."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(os.path.join(FIXTURES, fixture), arcname="snapshot")
    return path


#: Runs accelnet-check in a fresh child and reports the child's peak RSS (KiB) and CPU time.
_MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.monotonic()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      universal_newlines=True)
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                  "maxrss_kib": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "wall_s": wall}))
"""


def run_check(args: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 300) -> dict:
    """accelnet-check ``args`` in a child of a fresh measuring process: rc, output, peak
    RSS of that child alone (RUSAGE_CHILDREN of a process with no other child), CPU, wall."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(REPO, "agent"), full_env.get("PYTHONPATH")]))
    full_env.update(env or {})
    argv = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "accelnet.cli.check", *args]
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         env=full_env, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
