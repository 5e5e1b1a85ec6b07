"""Unpack an untrusted tar archive (a customer's support bundle) without trusting it.

Why not :mod:`tarfile`: it reads a PAX header or a GNU long name into memory whatever size
the header claims (a 0.5 MiB archive can claim 512 MiB), and ``extractall`` writes through
symlinks that earlier members created, so a chain of harmless-looking links (``a -> .``,
``b -> a/..``, ``c -> b/..``) lets a later member land anywhere on the machine. Here:

* the archive is read once, as a stream, by a reader of our own that refuses a header
  larger than :data:`MAX_HEADER_BYTES` before reading it, and stops after
  :data:`MAX_STREAM_BYTES` of decompressed data, :data:`MAX_MEMBERS` members or a name
  nested deeper than :data:`MAX_DEPTH` directories;
* metadata (PAX ``x``/``g`` records, GNU long names) is bounded per member
  (:data:`MAX_HEADER_BYTES` for all the headers before one member) and per archive
  (:data:`MAX_META_BYTES`), each header counts as a member, and of PAX records only the
  keys the reader uses are kept (``path``, ``linkpath``, ``size``): back-to-back headers of
  fresh keys cost a header's memory at a time, not the archive's;
* nothing is ever written through a link: parent directories are walked with directory
  file descriptors opened ``O_NOFOLLOW|O_DIRECTORY``, files are created
  ``O_CREAT|O_EXCL|O_NOFOLLOW``, symlinks are created as links and never followed, and a
  hard link is a copy of a regular file reached the same way;
* :func:`remove_tree` removes a tree iteratively (``shutil.rmtree`` recurses per level).

Everything wrong raises :class:`~accelnet.errors.SnapshotError` with one line saying what.
"""

import errno
import io
import os
import stat
import struct
import zlib
from typing import Dict, Iterator, List, Optional, Tuple

from accelnet.errors import SnapshotError
from accelnet.parsers.lazypattern import LazyPattern
from accelnet.records import dataclass

BLOCK = 512
#: A PAX record set (``x``/``g``) or a GNU long name/link (``L``/``K``); real ones hold a
#: path or two, so 64 KiB is generous. It also bounds all the headers before one member.
MAX_HEADER_BYTES = 64 << 10
#: Metadata payloads of a whole archive (a real bundle has a few hundred KiB at most).
MAX_META_BYTES = 32 << 20
#: The PAX keys the reader uses; the others are validated and dropped.
PAX_KEYS = ("path", "linkpath", "size")
#: Bytes of file data written (hard links count as the copies they become).
MAX_DATA_BYTES = 256 << 20
#: Decompressed bytes read in all (data, headers, padding): bounds the CPU a bomb costs.
MAX_STREAM_BYTES = MAX_DATA_BYTES + (64 << 20)
MAX_MEMBERS = 200_000
#: sysfs is about 15 levels deep under a snapshot's root; a deeper name is not a snapshot.
MAX_DEPTH = 64
#: Linux's PATH_MAX.
MAX_NAME_BYTES = 4096
#: Directory descriptors kept open while extracting (members come grouped by directory).
_FD_CACHE = 256

_COPY_CHUNK = 1 << 16
#: A size in decimal: ASCII digits only (``isdigit`` takes any script's), at most 20.
_DIGITS = LazyPattern(r"[0-9]{1,20}\Z")
_ZERO_BLOCK = bytes(BLOCK)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _O_CLOEXEC

# tar type flags
_REGULAR = (b"0", b"\0", b"7")
_META = {b"x": "PAX header", b"g": "PAX global header", b"L": "GNU long name", b"K": "GNU long link name"}
_KINDS = {b"5": "dir", b"2": "symlink", b"1": "hardlink"}
_SPECIAL = {b"3": "character device", b"4": "block device", b"6": "fifo", b"S": "GNU sparse file"}


@dataclass
class Member:
    """One archive entry: ``kind`` is file, dir, symlink or hardlink."""

    name: str
    kind: str
    linkname: str = ""
    size: int = 0


def _short(name: str, limit: int = 80) -> str:
    return name if len(name) <= limit else name[:limit] + "..."


# -- reading ---------------------------------------------------------------------------------


class _Stream:
    """Decompressed bytes, at most ``limit`` of them; short reads mean a truncated archive."""

    def __init__(self, raw: io.BufferedIOBase, limit: int) -> None:
        self._raw = raw
        self._left = limit
        self.offset = 0

    def read(self, n: int) -> bytes:
        if n > self._left:
            raise SnapshotError(f"archive unpacks to more than {MAX_STREAM_BYTES >> 20} MiB")
        chunks: List[bytes] = []
        want = n
        while want > 0:
            chunk = self._raw.read(min(want, _COPY_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            want -= len(chunk)
        data = b"".join(chunks)
        self._left -= len(data)
        self.offset += len(data)
        return data

    def exact(self, n: int) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise SnapshotError("archive is truncated")
        return data

    def skip(self, n: int) -> None:
        while n > 0:
            step = min(n, _COPY_CHUNK)
            self.exact(step)
            n -= step


def decompressed(handle: io.BufferedIOBase) -> io.BufferedIOBase:
    """``handle``'s bytes, decompressed by what its first bytes say (gzip, bzip2, xz, none)."""
    magic = handle.peek(6)[:6] if hasattr(handle, "peek") else b""
    # Imported here, as lzma is: a snapshot directory (the common case) needs none of them.
    if magic.startswith(b"\x1f\x8b"):
        import gzip
        return gzip.GzipFile(fileobj=handle, mode="rb")
    if magic.startswith(b"BZh"):
        import bz2
        return bz2.BZ2File(handle)
    if magic.startswith(b"\xfd7zXZ\x00"):
        try:
            import lzma
        except ImportError:  # pragma: no cover - a Python built without liblzma
            raise SnapshotError("archive is xz-compressed and this Python has no lzma module") from None
        return lzma.LZMAFile(handle)  # type: ignore[arg-type]  # typeshed asks IO[bytes]; a buffered binary file is one
    return handle


def _number(field: bytes, what: str) -> int:
    """A tar numeric field: octal text, or GNU base-256 when the top bit is set."""
    if field[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[:1] == b"\xff" else value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise SnapshotError(f"archive header has a bad {what} field {text[:20]!r}") from None


def _checksum_ok(block: bytes) -> bool:
    stored = _number(block[148:156], "checksum")
    unsigned = 256 + sum(block[:148]) + sum(block[156:])
    signed = 256 + sum(struct.unpack("148b", block[:148])) + sum(struct.unpack("356b", block[156:]))
    return stored in (unsigned, signed)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(payload: bytes, keep: Tuple[str, ...] = PAX_KEYS) -> Dict[str, str]:
    """The ``keep`` keys of ``"%d %s=%s\\n"`` records (the length counts the whole record);
    every record is checked, the others are dropped as they are read."""
    records: Dict[str, str] = {}
    wanted = {k.encode("ascii"): k for k in keep}
    pos = 0
    while pos < len(payload) and payload[pos:pos + 1] != b"\0":
        space = payload.find(b" ", pos, pos + 21)
        try:
            length = int(payload[pos:space]) if space > pos else 0
        except ValueError:
            length = 0
        end = pos + length
        if length <= 0 or end > len(payload) or payload[end - 1:end] != b"\n":
            raise SnapshotError("archive has a malformed PAX header")
        key, sep, value = payload[space + 1:end - 1].partition(b"=")
        if not sep:
            raise SnapshotError("archive has a malformed PAX record")
        if key in wanted:
            records[wanted[key]] = value.decode("utf-8", "surrogateescape")
        pos = end
    return records


class TarReader:
    """The members of a tar stream, one at a time; headers are bounded before being read."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._stream = _Stream(raw, MAX_STREAM_BYTES)
        self._unread = 0  # data bytes of the current member not consumed yet
        self._padding = 0

    def members(self) -> Iterator[Member]:
        pax: Dict[str, str] = {}
        long_name: Optional[str] = None
        long_link: Optional[str] = None
        count = 0
        member_meta = 0  # metadata bytes read for the member to come
        archive_meta = 0
        while True:
            self._stream.skip(self._unread + self._padding)
            self._unread = self._padding = 0
            block = self._stream.read(BLOCK)
            if not block or block == _ZERO_BLOCK:
                return  # end of archive (a missing end marker is tolerated, as tarfile does)
            if len(block) < BLOCK:
                raise SnapshotError("archive is truncated")
            if not _checksum_ok(block):
                if self._stream.offset == BLOCK:
                    raise SnapshotError("not a tar archive")
                raise SnapshotError(f"archive header at byte {self._stream.offset - BLOCK} is corrupt")
            typeflag = block[156:157]
            size = _number(block[124:136], "size")
            if size < 0:
                raise SnapshotError("archive header has a negative size")
            count += 1  # metadata headers count too: a header is a header's work
            if count > MAX_MEMBERS:
                raise SnapshotError(f"archive has more than {MAX_MEMBERS} members")
            if typeflag in _META:
                if size > MAX_HEADER_BYTES:
                    raise SnapshotError(f"archive has a {_META[typeflag]} of {size} bytes "
                                        f"(limit {MAX_HEADER_BYTES >> 10} KiB)")
                member_meta += size
                archive_meta += size
                if member_meta > MAX_HEADER_BYTES:
                    raise SnapshotError(f"archive has more than {MAX_HEADER_BYTES >> 10} KiB of "
                                        "headers before one member")
                if archive_meta > MAX_META_BYTES:
                    raise SnapshotError(f"archive has more than {MAX_META_BYTES >> 20} MiB of headers")
                payload = self._stream.exact(size)
                self._stream.skip(-size % BLOCK)
                if typeflag == b"x":
                    pax.update(_pax_records(payload))
                elif typeflag == b"g":
                    _pax_records(payload, ())  # validated; nothing in it matters to a snapshot
                elif typeflag == b"L":
                    long_name = _text(payload)
                else:
                    long_link = _text(payload)
                continue
            name = _text(block[0:100])
            if block[257:263] == b"ustar\0" and block[345] != 0:
                name = _text(block[345:500]) + "/" + name
            name = pax.get("path", long_name if long_name is not None else name)
            linkname = pax.get("linkpath", long_link if long_link is not None else _text(block[157:257]))
            if "size" in pax:
                if not _DIGITS.match(pax["size"]):
                    raise SnapshotError(f"archive member {_short(name)!r}: bad PAX size")
                size = int(pax["size"])
            pax, long_name, long_link, member_meta = {}, None, None, 0
            if typeflag == b"\0" and name.endswith("/"):
                typeflag = b"5"  # old tar: a directory is a regular entry named with a slash
            if typeflag in _REGULAR:
                kind = "file"
                self._unread, self._padding = size, -size % BLOCK
            elif typeflag in _KINDS:
                kind = _KINDS[typeflag]
                size = 0  # like tarfile: only regular members carry data
            elif typeflag in _SPECIAL:
                raise SnapshotError(f"refusing archive member {_short(name)!r}: {_SPECIAL[typeflag]}")
            else:
                raise SnapshotError(f"refusing archive member {_short(name)!r}: unsupported "
                                    f"member type {typeflag!r}")
            yield Member(name=name, kind=kind, linkname=linkname, size=size)

    def copy_data(self, fd: int) -> None:
        """Write the current member's data to ``fd``."""
        while self._unread > 0:
            chunk = self._stream.exact(min(self._unread, _COPY_CHUNK))
            _write_all(fd, chunk)
            self._unread -= len(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# -- names -----------------------------------------------------------------------------------


def member_parts(name: str) -> Tuple[str, ...]:
    """The components of a member name, or SnapshotError when it could leave the archive."""
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise SnapshotError(f"refusing archive member {_short(name)!r}: name longer than "
                            f"{MAX_NAME_BYTES} bytes")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise SnapshotError(f"refusing archive member {_short(name)!r}: absolute path")
    parts = tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))
    if ".." in parts:
        raise SnapshotError(f"refusing archive member {_short(name)!r}: path with '..'")
    if "\0" in name:
        raise SnapshotError(f"refusing archive member {_short(name)!r}: NUL in name")
    if len(parts) > MAX_DEPTH:
        raise SnapshotError(f"refusing archive member {_short(name)!r}: nested {len(parts)} "
                            f"levels deep (limit {MAX_DEPTH})")
    return parts


def link_problem(member: Member) -> Optional[str]:
    """Why a link member is refused outright, or None.

    Not a defence on its own (extraction never follows links, and reads are jailed): it
    turns the obviously hostile into a clear message instead of a silently dead link.
    """
    target = member.linkname
    if member.kind == "symlink":
        if not target or "\0" in target:
            return "empty link target"
        if target.startswith("/"):
            return f"absolute link target {_short(target)!r}"
        joined = os.path.normpath(os.path.join(os.path.dirname(member.name), target))
        if joined == ".." or joined.startswith("../"):
            return f"link target {_short(target)!r} points outside the snapshot"
        if len(target.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            return "link target too long"
    if member.kind == "hardlink":
        normal = os.path.normpath(target) if target else ""
        if not normal or normal.startswith("/") or normal == ".." or normal.startswith("../"):
            return f"hard link target {_short(target)!r} points outside the snapshot"
    return None


# -- writing ---------------------------------------------------------------------------------


class _Extractor:
    """Creates members under one directory descriptor, never following a link."""

    def __init__(self, dest_fd: int) -> None:
        self._dest = dest_fd
        self._dirs: Dict[Tuple[str, ...], int] = {}
        self.data_bytes = 0

    def close(self) -> None:
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()

    def directory(self, parts: Tuple[str, ...], create: bool, member: str) -> int:
        """The descriptor of directory ``parts``, made when ``create``; a link on the way
        (or a file where a directory should be) refuses the member."""
        if not parts:
            return self._dest
        cached = self._dirs.get(parts)
        if cached is not None:
            return cached
        if len(self._dirs) >= _FD_CACHE:
            self.close()
        fd = self._dest
        for depth in range(1, len(parts) + 1):
            prefix = parts[:depth]
            known = self._dirs.get(prefix)
            if known is not None:
                fd = known
                continue
            name = parts[depth - 1]
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise SnapshotError(f"refusing archive member {_short(member)!r}: "
                                        f"{'/'.join(prefix)!r} does not exist") from None
                os.mkdir(name, 0o755, dir_fd=fd)
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise SnapshotError(f"refusing archive member {_short(member)!r}: "
                                        f"{_short('/'.join(prefix))!r} is a link or a file, "
                                        "not a directory") from None
                raise
            self._dirs[prefix] = child
            fd = child
        return fd

    def _replace(self, parent: int, name: str, member: str) -> None:
        """A later member of the same name wins, as with tar; a directory stays."""
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            raise SnapshotError(f"refusing archive member {_short(member)!r}: a directory "
                                "of that name exists")
        os.unlink(name, dir_fd=parent)

    def _create_file(self, parent: int, name: str, member: str) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _O_CLOEXEC
        try:
            return os.open(name, flags, 0o644, dir_fd=parent)
        except FileExistsError:
            self._replace(parent, name, member)
            return os.open(name, flags, 0o644, dir_fd=parent)

    def _count(self, size: int) -> None:
        self.data_bytes += size
        if self.data_bytes > MAX_DATA_BYTES:
            raise SnapshotError(f"archive unpacks to more than {MAX_DATA_BYTES >> 20} MiB")

    def add(self, member: Member, reader: TarReader) -> None:
        problem = link_problem(member)
        if problem:
            raise SnapshotError(f"refusing archive member {_short(member.name)!r}: {problem}")
        parts = member_parts(member.name)
        if member.kind == "dir":
            self.directory(parts, create=True, member=member.name)
            return
        if not parts:
            raise SnapshotError(f"refusing archive member {_short(member.name)!r}: no name")
        parent = self.directory(parts[:-1], create=True, member=member.name)
        name = parts[-1]
        if member.kind == "symlink":
            try:
                os.symlink(member.linkname, name, dir_fd=parent)
            except FileExistsError:
                self._replace(parent, name, member.name)
                os.symlink(member.linkname, name, dir_fd=parent)
            return
        if member.kind == "hardlink":
            self._copy_hardlink(member, parts, parent, name)
            return
        self._count(member.size)
        fd = self._create_file(parent, name, member.name)
        try:
            reader.copy_data(fd)
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)

    def _copy_hardlink(self, member: Member, parts: Tuple[str, ...], parent: int, name: str) -> None:
        source = member_parts(member.linkname)
        if not source or source == parts:
            return
        src_parent = self.directory(source[:-1], create=False, member=member.name)
        try:
            src = os.open(source[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _O_CLOEXEC,
                          dir_fd=src_parent)
        except OSError:
            raise SnapshotError(f"refusing archive member {_short(member.name)!r}: hard link "
                                "to something that is not an earlier regular file") from None
        try:
            st = os.fstat(src)
            if not stat.S_ISREG(st.st_mode):
                raise SnapshotError(f"refusing archive member {_short(member.name)!r}: hard "
                                    "link to something that is not a regular file")
            self._count(st.st_size)
            out = self._create_file(parent, name, member.name)
            try:
                left = st.st_size
                while left > 0:
                    chunk = os.read(src, min(left, _COPY_CHUNK))
                    if not chunk:
                        break
                    _write_all(out, chunk)
                    left -= len(chunk)
                os.fchmod(out, 0o644)
            finally:
                os.close(out)
        finally:
            os.close(src)


def extract(handle: io.BufferedIOBase, dest: str) -> None:
    """Unpack the (possibly compressed) tar stream ``handle`` into the empty directory ``dest``."""
    dest_fd = os.open(dest, _DIR_FLAGS)
    extractor = _Extractor(dest_fd)
    try:
        reader = TarReader(decompressed(handle))
        for member in reader.members():
            extractor.add(member, reader)
    except SnapshotError:
        raise
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise SnapshotError(f"cannot read the archive: {exc}") from None
    except Exception as exc:  # lzma.LZMAError and the like: still a bad archive
        raise SnapshotError(f"cannot read the archive: {type(exc).__name__}: {exc}") from None
    finally:
        extractor.close()
        os.close(dest_fd)


# -- removing --------------------------------------------------------------------------------


def remove_tree(path: str) -> None:
    """Remove ``path`` and everything under it, however deep, without recursion.

    Walks down with one directory descriptor at a time (``..`` to come back), so neither
    Python's stack nor PATH_MAX limits the depth, and never follows a link. Best effort:
    a directory that cannot be emptied is left (and not visited again). A signal that raises
    would cut it short: :func:`accelnet.readers.tempdir.temporary_directory` holds them.
    """
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    depth = 0
    stuck = set()  # (dev, inode) of directories we could not empty
    try:
        while True:
            child = None
            for name in os.listdir(fd):
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if not stat.S_ISDIR(st.st_mode):
                        os.unlink(name, dir_fd=fd)
                        continue
                    if (st.st_dev, st.st_ino) in stuck:
                        continue
                    os.rmdir(name, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and child is None:
                        child = name
            if child is not None:
                try:
                    below = os.open(child, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    return
                os.close(fd)
                fd, depth = below, depth + 1
                continue
            if depth == 0:
                break
            if os.listdir(fd):
                here = os.fstat(fd)
                stuck.add((here.st_dev, here.st_ino))
            above = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd, depth = above, depth - 1
    except OSError:
        return
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
    except OSError:
        pass
