"""Unpack a zip as its bytes arrive: one pass, constant memory, nothing the archive says trusted.

An artifact is unpacked while it downloads, so its bytes are read once, off the wire (hashed on
the way by the API layer), and never written to disk as a zip. The official client does the same
(@actions/artifact pipes the download through `unzip-stream`). A zip read front to back offers
its entries' local headers first and its central directory last, so:

- each entry is written from its local header: stored, or deflated with a stream that says where
  it ends. upload-artifact streams every file through `archiver` (compress-commons), which marks
  entries with a data descriptor (flag bit 3: sizes and CRC after the data, zeros in the header),
  stored ones too with `compression-level: 0`; a stored entry of unknown size ends at the first
  `PK\\x07\\x08` whose CRC and size match the bytes before it;
- the CRC-32 and sizes of every entry are checked against its header or descriptor, and at the end
  the central directory must list exactly the entries unpacked (names, CRCs, sizes, in order):
  an archive whose directory says something else than its entries (a trick to show one tool
  other files than another) is refused;
- the central directory also carries what local headers do not: which entries are symbolic links.
  A link entry was written as a plain file holding its target (as download-artifact writes it);
  once the directory says it is a link, its target is checked and a target leaving the archive
  is refused. Nothing is in place before that: the caller unpacks into a staging folder;
- names that are absolute, carry a drive letter or climb out with `..` (`/` or `\\`) are refused
  before anything is written; so are encrypted entries, and archives that declare, or actually
  unpack to, more than `limit` bytes (zip bombs: deflate output is produced at most a chunk at a
  time, so a bomb is stopped after `limit` bytes, never held in memory).

Errors name entries and the final destination (`shown`), never the staging folder.
"""

from __future__ import annotations

import contextlib
import os
import queue
import stat
import struct
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from wait_and_dispatch.engine.safe_paths import check_link, member_parts
from wait_and_dispatch.support.errors import ArtifactError, UnsafeArtifactError

LOCAL_HEADER = b"PK\x03\x04"
CENTRAL_HEADER = b"PK\x01\x02"
END_OF_CENTRAL = b"PK\x05\x06"
END_OF_CENTRAL_64 = b"PK\x06\x06"
DATA_DESCRIPTOR = b"PK\x07\x08"

_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # 46 bytes
_END = struct.Struct("<4sHHHHIIH")  # 22 bytes
_ZIP64_MARK = 0xFFFFFFFF
_ZIP64_EXTRA = 0x0001
_STORED, _DEFLATED = 0, 8
_FLAG_ENCRYPTED = 0x1
_FLAG_DESCRIPTOR = 0x8
_FLAG_UTF8 = 0x800
_OUT_CHUNK = 1024 * 1024  # most bytes one inflate step may produce: bounds memory for bombs
_MAX_CENTRAL = 32 * 1024 * 1024  # a central directory of ~300,000 entries; more is not an artifact
_MAX_LINK_TARGET = 4096  # PATH_MAX: a longer "link target" is not a link
_MAX_HEADER = 30 + 2 * 65535
_WRITES_IN_FLIGHT = 16  # chunks (at most 1 MiB each) queued for the writer thread
# An archive may always unpack to this much, whatever its ratio: a small zip of small text files
# legitimately compresses far better than 200:1 (a 1 KiB zip of 300 KiB of repeated log lines).
EXPANSION_FLOOR = 1024 * 1024
_SAME_NAME_HINT = "the artifact holds a file and a folder of the same name; rename one and upload it again"
_RETRY_HINT = "the artifact is damaged or was not made by upload-artifact; upload it again"


@dataclass
class _Entry:
    name: str
    parts: tuple[str, ...]
    flags: int
    method: int
    declared_crc: int
    compressed_size: int | None  # None: given by the data descriptor only
    size: int | None
    zip64: bool
    sink: BinaryIO | None = None
    inflater: zlib._Decompress | None = None
    crc: int = 0
    written: int = 0
    consumed: int = 0  # compressed bytes read

    @property
    def has_descriptor(self) -> bool:
        return bool(self.flags & _FLAG_DESCRIPTOR)


class _Writer:
    """File writes on a thread of their own, so the disk works while the next bytes arrive, are
    hashed and are unpacked (the official client overlaps them too, through libuv's thread pool).
    At most `_WRITES_IN_FLIGHT` chunks wait; the first write error is raised to the unzipper."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[BinaryIO, memoryview | bytes | None] | None] = queue.Queue(
            maxsize=_WRITES_IN_FLIGHT
        )
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def write(self, sink: BinaryIO, data: memoryview | bytes) -> None:
        if self._error is not None:
            raise self._error
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="unzip-writer", daemon=True)
            self._thread.start()
        self._queue.put((sink, data))

    def close(self, sink: BinaryIO) -> None:
        if self._thread is None:
            sink.close()
        else:
            self._queue.put((sink, None))

    def drain(self) -> None:
        """Wait for every queued write; raise the first that failed."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            sink, data = item
            try:
                if data is None:
                    sink.close()
                elif self._error is None:
                    sink.write(data)
            except OSError as error:
                self._error = self._error or error


@dataclass(frozen=True)
class UnpackedEntry:
    name: str
    crc: int
    size: int
    path: Path | None  # None for folders


@dataclass
class StreamingUnzip:
    """A writable sink that unpacks the zip written to it under `into`.

    `write` every chunk, then `finish()`: it raises the first problem found (`ArtifactError` or
    `UnsafeArtifactError`), or checks the end of the archive. `write` never raises: after a
    problem the rest of the stream is only counted, so the caller can still check its digest and
    report a corrupted download as such rather than as a broken zip.
    """

    into: Path
    label: str
    archive_size: int  # the zip's size: it may unpack to `max_ratio` times that (or the floor)
    max_ratio: float
    shown: Path  # where the files will end up, named in messages instead of the staging folder
    entries: list[UnpackedEntry] = field(default_factory=list)
    _pending: bytes = b""
    _entry: _Entry | None = None
    _descriptor_due: _Entry | None = None
    _central: bytearray | None = None
    _declared: int = 0
    _written: int = 0
    _problem: ArtifactError | None = None
    _folders: set[Path] = field(default_factory=set)
    _writer: _Writer = field(default_factory=_Writer)

    def __post_init__(self) -> None:
        self.limit = max(EXPANSION_FLOOR, int(self.max_ratio * self.archive_size))

    def __enter__(self) -> StreamingUnzip:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close_sink()
        with contextlib.suppress(OSError):
            self._writer.drain()  # no file is left open, nor a thread running

    # -- feeding -------------------------------------------------------------------------------

    def write(self, data: bytes | memoryview) -> int:
        if self._problem is None:
            try:
                self._feed(bytes(data) if isinstance(data, memoryview) else data)
            except ArtifactError as problem:
                self._fail(problem)
            except zlib.error as error:
                self._fail(ArtifactError(f"{self.label} could not be unpacked: {error}", hint=_RETRY_HINT))
            except OSError as error:
                self._fail(self._os_problem(error))
        return len(data)

    def _os_problem(self, error: OSError) -> ArtifactError:
        return ArtifactError(
            f"{self.label} could not be unpacked into {self.shown}: {error.strerror or error}",
            hint="check that the destination is writable and has room for the artifact",
        )

    def finish(self) -> list[UnpackedEntry]:
        """The entries unpacked, once the whole archive has been written and checked."""
        self._close_sink()
        try:
            self._writer.drain()
        except OSError as error:
            self._problem = self._problem or self._os_problem(error)
        if self._problem is not None:
            raise self._problem
        unfinished = self._entry or self._descriptor_due
        if unfinished is not None:
            name = unfinished.name
            raise ArtifactError(f"{self.label} is truncated: it ends inside {name!r}", hint=_RETRY_HINT)
        if self._central is None:
            if not self.entries and not self._pending:
                raise ArtifactError(f"{self.label} is not a valid zip: it is empty", hint=_RETRY_HINT)
            raise ArtifactError(
                f"{self.label} is not a valid zip: it ends before its central directory", hint=_RETRY_HINT
            )
        self._check_central(bytes(self._central))
        return self.entries

    def _fail(self, problem: ArtifactError) -> None:
        self._problem = problem
        self._pending = b""
        self._central = None
        self._close_sink()

    def _close_sink(self) -> None:
        entry = self._entry
        if entry is not None and entry.sink is not None:
            self._writer.close(entry.sink)
            entry.sink = None

    def _feed(self, data: bytes) -> None:
        if self._central is not None:
            self._central += data
            if len(self._central) > _MAX_CENTRAL:
                raise UnsafeArtifactError(
                    f"{self.label} has a central directory over {_MAX_CENTRAL:,} bytes; refusing it"
                )
            return
        chunk = self._pending + data if self._pending else data
        self._pending = b""
        pos = 0
        while pos < len(chunk):
            if self._entry is not None:
                advanced = self._entry_data(self._entry, chunk, pos)
            elif self._descriptor_due is not None:
                advanced = self._descriptor(self._descriptor_due, chunk, pos)
            else:
                advanced = self._header(chunk, pos)
            if advanced == 0:
                self._pending = chunk[pos:]  # wait for more bytes
                return
            pos += advanced

    # -- headers -------------------------------------------------------------------------------

    def _header(self, chunk: bytes, pos: int) -> int:
        """Consume the record at `pos`; 0 when more bytes are needed to read it."""
        if len(chunk) - pos < 4:
            return 0
        signature = chunk[pos : pos + 4]
        if signature in (CENTRAL_HEADER, END_OF_CENTRAL, END_OF_CENTRAL_64):
            return self._start_central(chunk, pos)
        if signature != LOCAL_HEADER:
            where = "does not start with a zip entry" if not self.entries else "has bytes between its entries"
            raise ArtifactError(f"{self.label} is not a valid zip: it {where}", hint=_RETRY_HINT)
        if len(chunk) - pos < _LOCAL.size:
            return 0
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
            return 0
        raw_name = chunk[pos + _LOCAL.size : pos + _LOCAL.size + name_len]
        extra = chunk[pos + _LOCAL.size + name_len : pos + total]
        name = raw_name.decode("utf-8" if flags & _FLAG_UTF8 else "cp437", errors="replace")
        usize, csize, zip64 = _zip64_sizes(extra, usize, csize)
        self._begin(name, flags, method, crc, csize, usize, zip64)
        return total

    def _start_central(self, chunk: bytes, pos: int) -> int:
        self._central = bytearray(chunk[pos:])
        if len(self._central) > _MAX_CENTRAL:
            raise UnsafeArtifactError(f"{self.label} has a central directory over {_MAX_CENTRAL:,} bytes")
        return len(chunk) - pos

    def _begin(
        self, name: str, flags: int, method: int, crc: int, csize: int, usize: int, zip64: bool
    ) -> None:
        parts = member_parts(name, self.label)
        if flags & _FLAG_ENCRYPTED:
            raise ArtifactError(
                f"{self.label} holds an encrypted member {name!r}; cannot unpack it",
                hint="upload-artifact never encrypts; upload the files themselves, not an encrypted zip",
            )
        if method not in (_STORED, _DEFLATED):
            raise ArtifactError(
                f"{self.label}: {name!r} uses compression method {method}, which upload-artifact never "
                "produces; cannot unpack it",
                hint="upload the files themselves with upload-artifact rather than a zip made elsewhere",
            )
        descriptor = bool(flags & _FLAG_DESCRIPTOR)
        known_size = None if descriptor and usize == 0 else usize
        known_csize = None if descriptor and csize == 0 else csize
        if method == _STORED and known_size is None:
            known_csize = None
        if known_size is not None:
            self._declared += known_size
            if self._declared > self.limit:
                raise UnsafeArtifactError(
                    f"{self.label} declares {self._declared:,} unpacked bytes for a "
                    f"{self.archive_size:,}-byte zip, more than {self.max_ratio:g} times its size; "
                    "refusing it as a zip bomb"
                )
        entry = _Entry(name, parts, flags, method, crc, known_csize, known_size, zip64)
        if parts:
            entry.sink = self._open(entry)
        if method == _DEFLATED:
            entry.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self._entry = entry
        if method == _STORED and known_size == 0:
            self._end_entry(entry)

    def _open(self, entry: _Entry) -> BinaryIO | None:
        folder = self.into
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)  # only once there is something to write
            self._folders.add(folder)
        for depth, part in enumerate(entry.parts[:-1], start=1):
            folder = folder / part
            if folder not in self._folders:
                if folder.exists() and not folder.is_dir():
                    clash = "/".join(entry.parts[:depth])
                    raise ArtifactError(
                        f"{self.label}: {entry.name!r} needs a folder where the artifact has a file "
                        f"{clash!r}",
                        hint="the artifact holds a file and a folder of the same name; rename one and "
                        "upload it again",
                    )
                folder.mkdir(exist_ok=True)
                self._folders.add(folder)
        target = folder / entry.parts[-1]
        if entry.name.endswith(("/", "\\")):
            if target.exists() and not target.is_dir():
                raise ArtifactError(
                    f"{self.label}: {entry.name!r} is a folder but a file of that name exists",
                    hint="the artifact holds a file and a folder of the same name; rename one and upload "
                    "it again",
                )
            target.mkdir(exist_ok=True)
            self._folders.add(target)
            return None
        if target.is_dir():
            raise ArtifactError(
                f"{self.label}: {entry.name!r} is a file but a folder of that name exists",
                hint=_SAME_NAME_HINT,
            )
        # Default permissions, never the archive's mode bits (no setuid, no world-writable files):
        # upload-artifact does not keep permissions either.
        return target.open("wb")

    # -- entry data ----------------------------------------------------------------------------

    def _entry_data(self, entry: _Entry, chunk: bytes, pos: int) -> int:
        if entry.inflater is not None:  # deflated
            return self._inflate(entry, entry.inflater, chunk, pos)
        if entry.size is not None:
            take = min(entry.size - entry.written, len(chunk) - pos)
            self._emit(entry, memoryview(chunk)[pos : pos + take])
            entry.consumed += take
            if entry.written == entry.size:
                self._end_entry(entry)
            return take
        return self._stored_until_descriptor(entry, chunk, pos)

    def _inflate(self, entry: _Entry, inflater: zlib._Decompress, chunk: bytes, pos: int) -> int:
        end = len(chunk)
        if entry.compressed_size is not None:
            end = min(end, pos + entry.compressed_size - entry.consumed)
        data = memoryview(chunk)[pos:end]
        out = inflater.decompress(data, _OUT_CHUNK)
        self._emit(entry, out)
        while inflater.unconsumed_tail and not inflater.eof:
            self._emit(entry, inflater.decompress(inflater.unconsumed_tail, _OUT_CHUNK))
        used = len(data) - len(inflater.unused_data) if inflater.eof else len(data)
        entry.consumed += used
        if inflater.eof:
            if entry.compressed_size is not None and entry.consumed != entry.compressed_size:
                raise ArtifactError(
                    f"{self.label} is not a valid zip: {entry.name!r} is shorter than its header says",
                    hint=_RETRY_HINT,
                )
            self._end_entry(entry)
        elif entry.compressed_size is not None and entry.consumed == entry.compressed_size:
            raise ArtifactError(
                f"{self.label} is not a valid zip: {entry.name!r} does not end where its header says",
                hint=_RETRY_HINT,
            )
        return used

    def _stored_until_descriptor(self, entry: _Entry, chunk: bytes, pos: int) -> int:
        """A stored entry whose size only its data descriptor gives: find the descriptor."""
        search = pos
        while True:
            found = chunk.find(DATA_DESCRIPTOR, search)
            if found < 0:
                # Keep the last 3 bytes: a signature may straddle two chunks.
                take = max(0, len(chunk) - 3 - pos)
                self._emit(entry, memoryview(chunk)[pos : pos + take])
                entry.consumed += take
                return take
            wide = entry.zip64 or entry.written + (found - pos) >= _ZIP64_MARK
            needed = found + (24 if wide else 16)
            if needed > len(chunk):
                take = found - pos
                self._emit(entry, memoryview(chunk)[pos:found])
                entry.consumed += take
                return take  # 0 when the descriptor is next: wait for the rest of it
            crc, csize, usize = _descriptor_fields(chunk, found + 4, wide)
            body = memoryview(chunk)[pos:found]
            if zlib.crc32(body, entry.crc) == crc and usize == csize == entry.written + len(body):
                self._emit(entry, body)
                entry.consumed += len(body)
                self._check_entry(entry, crc, csize, usize)
                self._close_entry(entry)
                return needed - pos
            search = found + 1  # the bytes of a file can hold PK\7\8 too

    def _emit(self, entry: _Entry, data: bytes | memoryview) -> None:
        if not data:
            return
        entry.written += len(data)
        self._written += len(data)
        if entry.size is not None and entry.written > entry.size:
            raise UnsafeArtifactError(
                f"{self.label} holds more data in {entry.name!r} than its header declares; refusing it"
            )
        if self._written > self.limit:
            raise UnsafeArtifactError(
                f"{self.label} unpacks to more than its size allows ({entry.name!r} alone passes the "
                "limit); refusing it as a zip bomb"
            )
        entry.crc = zlib.crc32(data, entry.crc)
        if entry.sink is not None:
            self._writer.write(entry.sink, data)
        elif not entry.parts or entry.name.endswith(("/", "\\")):
            raise ArtifactError(
                f"{self.label} is not a valid zip: the folder entry {entry.name!r} holds data",
                hint=_RETRY_HINT,
            )

    def _end_entry(self, entry: _Entry) -> None:
        if entry.has_descriptor:
            self._close_sink()
            self._entry = None
            self._descriptor_due = entry
            return
        self._check_entry(entry, entry.declared_crc, entry.consumed, entry.size)
        self._close_entry(entry)

    def _descriptor(self, entry: _Entry, chunk: bytes, pos: int) -> int:
        if len(chunk) - pos < 4:
            return 0  # the signature, if any, is not all here yet
        signed = chunk[pos : pos + 4] == DATA_DESCRIPTOR
        wide = entry.zip64 or entry.written >= _ZIP64_MARK or entry.consumed >= _ZIP64_MARK
        length = (4 if signed else 0) + (20 if wide else 12)
        if len(chunk) - pos < length:
            return 0
        crc, csize, usize = _descriptor_fields(chunk, pos + (4 if signed else 0), wide)
        self._descriptor_due = None
        self._check_entry(entry, crc, csize, usize)
        self._close_entry(entry)
        return length

    def _check_entry(self, entry: _Entry, crc: int, csize: int | None, usize: int | None) -> None:
        if crc != entry.crc:
            raise ArtifactError(
                f"{self.label} is not a valid zip: Bad CRC-32 for file {entry.name!r}", hint=_RETRY_HINT
            )
        if usize != entry.written or csize != entry.consumed:
            raise ArtifactError(
                f"{self.label} is not a valid zip: the sizes recorded for {entry.name!r} are wrong",
                hint=_RETRY_HINT,
            )

    def _close_entry(self, entry: _Entry) -> None:
        if entry.sink is not None:
            self._writer.close(entry.sink)
            entry.sink = None
        self._entry = None
        path = None
        if entry.parts and not entry.name.endswith(("/", "\\")):
            path = self.into.joinpath(*entry.parts)
        self.entries.append(UnpackedEntry(entry.name, entry.crc, entry.written, path))

    # -- the end -------------------------------------------------------------------------------

    def _check_central(self, data: bytes) -> None:
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
            if listed >= len(self.entries):
                self._mismatch(f"it lists {name!r}, which is not among its entries")
            unpacked = self.entries[listed]
            if (unpacked.name, unpacked.crc, unpacked.size) != (name, crc, usize):
                self._mismatch(f"it lists {name!r} where the archive holds {unpacked.name!r}")
            if stat.S_ISLNK(external >> 16) and unpacked.path is not None:
                self._check_link_entry(unpacked, unpacked.path)
            listed += 1
            pos = start + name_len + extra_len + comment_len
        if listed != len(self.entries):
            self._mismatch(f"it lists {listed} of its {len(self.entries)} entries")
        if data.find(END_OF_CENTRAL, pos) < 0:
            raise ArtifactError(
                f"{self.label} is not a valid zip: it has no end of central directory", hint=_RETRY_HINT
            )

    def _mismatch(self, detail: str) -> None:
        raise UnsafeArtifactError(
            f"{self.label} has a central directory that does not match its entries ({detail}); refusing it"
        )

    def _check_link_entry(self, entry: UnpackedEntry, path: Path) -> None:
        if entry.size > _MAX_LINK_TARGET:
            raise UnsafeArtifactError(
                f"{self.label} holds a symbolic link {entry.name!r} with no sane target"
            )
        try:
            target = path.read_bytes().decode()
        except UnicodeDecodeError:
            raise UnsafeArtifactError(
                f"{self.label} holds a symbolic link {entry.name!r} whose target is not text; refusing it"
            ) from None
        check_link(member_parts(entry.name, self.label), target, entry.name, self.label)


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int, bool]:
    """Sizes from the zip64 extra field when a header gives 0xFFFFFFFF (APPNOTE 4.5.3)."""
    usize, csize = int(usize), int(csize)
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if kind == _ZIP64_EXTRA:
            values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            if usize == _ZIP64_MARK and values:
                usize = values.pop(0)
            if csize == _ZIP64_MARK and values:
                csize = values.pop(0)
            return usize, csize, True
        pos += 4 + length
    return usize, csize, False


def _descriptor_fields(chunk: bytes, pos: int, wide: bool) -> tuple[int, int, int]:
    if wide:
        crc, csize, usize = struct.unpack_from("<IQQ", chunk, pos)
    else:
        crc, csize, usize = struct.unpack_from("<III", chunk, pos)
    return int(crc), int(csize), int(usize)


def unpack_file(
    archive: Path, into: Path, *, label: str, max_ratio: float, shown: Path | None = None
) -> list[UnpackedEntry]:
    """Unpack a zip already on disk the same way, reading it once in chunks."""
    size = os.path.getsize(archive)
    sink = StreamingUnzip(into, label, size, max_ratio, shown or into)
    with archive.open("rb") as source, sink:
        while chunk := source.read(_OUT_CHUNK):
            sink.write(chunk)
    return sink.finish()
