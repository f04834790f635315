"""The zip format's records, read from bytes: local headers, data descriptors, zip64 sizes, and
the central directory, which must list exactly the entries unpacked (APPNOTE.TXT, PKWARE's zip
specification). What the records say is checked, never trusted: engine/unzip.py says how.
"""

from __future__ import annotations

import stat
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wait_and_dispatch.engine.safe_paths import check_link, member_parts
from wait_and_dispatch.support.errors import ArtifactError, UnsafeArtifactError

LOCAL_HEADER = b"PK\x03\x04"
CENTRAL_HEADER = b"PK\x01\x02"
END_OF_CENTRAL = b"PK\x05\x06"
END_OF_CENTRAL_64 = b"PK\x06\x06"
DATA_DESCRIPTOR = b"PK\x07\x08"

_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # 46 bytes
ZIP64_MARK = 0xFFFFFFFF
_ZIP64_EXTRA = 0x0001
STORED, DEFLATED = 0, 8
_FLAG_ENCRYPTED = 0x1
FLAG_DESCRIPTOR = 0x8
_FLAG_UTF8 = 0x800
_MAX_LINK_TARGET = 4096  # PATH_MAX: a longer "link target" is not a link
RETRY_HINT = "the artifact is damaged or was not made by upload-artifact; upload it again"


@dataclass(frozen=True)
class UnpackedEntry:
    name: str
    crc: int
    size: int
    path: Path | None  # None for folders


@dataclass(frozen=True)
class LocalHeader:
    """An entry's local header: what it says before the entry's data (sizes may be 0 and come in
    a data descriptor after the data instead)."""

    name: str
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    zip64: bool
    length: int  # bytes of the header with its name and extra field


def read_local_header(chunk: bytes, pos: int) -> LocalHeader | None:
    """The local header at `pos` (its signature checked by the caller); None until all of it is here."""
    if len(chunk) - pos < _LOCAL.size:
        return None
    fields = _LOCAL.unpack_from(chunk, pos)
    flags, method, crc, csize, usize = (
        int(fields[2]),
        int(fields[3]),
        int(fields[6]),
        fields[7],
        fields[8],
    )
    name_len, extra_len = int(fields[9]), int(fields[10])
    total = _LOCAL.size + name_len + extra_len
    if len(chunk) - pos < total:
        return None
    raw_name = chunk[pos + _LOCAL.size : pos + _LOCAL.size + name_len]
    extra = chunk[pos + _LOCAL.size + name_len : pos + total]
    name = raw_name.decode("utf-8" if flags & _FLAG_UTF8 else "cp437", errors="replace")
    usize, csize, zip64 = _zip64_sizes(extra, usize, csize)
    return LocalHeader(name, flags, method, crc, csize, usize, zip64, total)


def check_supported(header: LocalHeader, label: str) -> None:
    """Refuse what upload-artifact never makes: encrypted entries, compression other than deflate."""
    name, method = header.name, header.method
    if header.flags & _FLAG_ENCRYPTED:
        raise ArtifactError(
            f"{label} holds an encrypted member {name!r}; cannot unpack it",
            hint="upload-artifact never encrypts; upload the files themselves, not an encrypted zip",
        )
    if method not in (STORED, DEFLATED):
        raise ArtifactError(
            f"{label}: {name!r} uses compression method {method}, which upload-artifact never "
            "produces; cannot unpack it",
            hint="upload the files themselves with upload-artifact rather than a zip made elsewhere",
        )


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int, bool]:
    """Sizes from the zip64 extra field when a header gives 0xFFFFFFFF (APPNOTE 4.5.3)."""
    usize, csize = int(usize), int(csize)
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if kind == _ZIP64_EXTRA:
            values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            if usize == ZIP64_MARK and values:
                usize = values.pop(0)
            if csize == ZIP64_MARK and values:
                csize = values.pop(0)
            return usize, csize, True
        pos += 4 + length
    return usize, csize, False


def descriptor_fields(chunk: bytes, pos: int, wide: bool) -> tuple[int, int, int]:
    if wide:
        crc, csize, usize = struct.unpack_from("<IQQ", chunk, pos)
    else:
        crc, csize, usize = struct.unpack_from("<III", chunk, pos)
    return int(crc), int(csize), int(usize)


def check_central(data: bytes, entries: Sequence[UnpackedEntry], label: str) -> None:
    """The central directory must list the entries unpacked, no more, no fewer; it says which
    are links, and those must not lead out of the archive."""
    pos = 0
    listed = 0
    while data[pos : pos + 4] == CENTRAL_HEADER:
        if len(data) - pos < _CENTRAL.size:
            break
        fields = _CENTRAL.unpack_from(data, pos)
        flags, crc, csize, usize = fields[3], fields[7], fields[8], fields[9]
        name_len, extra_len, comment_len, external = fields[10], fields[11], fields[12], fields[15]
        start = pos + _CENTRAL.size
        raw_name = data[start : start + name_len]
        extra = data[start + name_len : start + name_len + extra_len]
        name = raw_name.decode("utf-8" if flags & _FLAG_UTF8 else "cp437", errors="replace")
        usize, csize, _ = _zip64_sizes(extra, usize, csize)
        if listed >= len(entries):
            _mismatch(label, f"it lists {name!r}, which is not among its entries")
        unpacked = entries[listed]
        if (unpacked.name, unpacked.crc, unpacked.size) != (name, crc, usize):
            _mismatch(label, f"it lists {name!r} where the archive holds {unpacked.name!r}")
        if stat.S_ISLNK(external >> 16) and unpacked.path is not None:
            _check_link_entry(unpacked, unpacked.path, label)
        listed += 1
        pos = start + name_len + extra_len + comment_len
    if listed != len(entries):
        _mismatch(label, f"it lists {listed} of its {len(entries)} entries")
    if data.find(END_OF_CENTRAL, pos) < 0:
        raise ArtifactError(
            f"{label} is not a valid zip: it has no end of central directory", hint=RETRY_HINT
        )


def _mismatch(label: str, detail: str) -> None:
    raise UnsafeArtifactError(
        f"{label} has a central directory that does not match its entries ({detail}); refusing it"
    )


def _check_link_entry(entry: UnpackedEntry, path: Path, label: str) -> None:
    if entry.size > _MAX_LINK_TARGET:
        raise UnsafeArtifactError(f"{label} holds a symbolic link {entry.name!r} with no sane target")
    try:
        target = path.read_bytes().decode()
    except UnicodeDecodeError:
        raise UnsafeArtifactError(
            f"{label} holds a symbolic link {entry.name!r} whose target is not text; refusing it"
        ) from None
    check_link(member_parts(entry.name, label), target, entry.name, label)
