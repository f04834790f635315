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

Errors name entries and the final destination (`shown`), never the staging folder. The records'
byte layouts and the central directory's check are in `zip_records.py`, where files land and how
they are written in `unzip_files.py`, the path checks in `safe_paths.py`.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from wait_and_dispatch.engine.safe_paths import member_parts
from wait_and_dispatch.engine.unzip_files import FileWriter, open_entry
from wait_and_dispatch.engine.zip_records import (
    CENTRAL_HEADER,
    DATA_DESCRIPTOR,
    DEFLATED,
    END_OF_CENTRAL,
    END_OF_CENTRAL_64,
    FLAG_DESCRIPTOR,
    LOCAL_HEADER,
    RETRY_HINT,
    STORED,
    ZIP64_MARK,
    LocalHeader,
    UnpackedEntry,
    check_central,
    check_supported,
    descriptor_fields,
    read_local_header,
)
from wait_and_dispatch.support.errors import ArtifactError, UnsafeArtifactError

_OUT_CHUNK = 1024 * 1024  # most bytes one inflate step may produce: bounds memory for bombs
_MAX_CENTRAL = 32 * 1024 * 1024  # a central directory of ~300,000 entries; more is not an artifact
# An archive may always unpack to this much, whatever its ratio: a small zip of small text files
# legitimately compresses far better than 200:1 (a 1 KiB zip of 300 KiB of repeated log lines).
EXPANSION_FLOOR = 1024 * 1024


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
        return bool(self.flags & FLAG_DESCRIPTOR)


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
    _writer: FileWriter = field(default_factory=FileWriter)

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
                self._fail(ArtifactError(f"{self.label} could not be unpacked: {error}", hint=RETRY_HINT))
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
            raise ArtifactError(f"{self.label} is truncated: it ends inside {name!r}", hint=RETRY_HINT)
        if self._central is None:
            if not self.entries and not self._pending:
                raise ArtifactError(f"{self.label} is not a valid zip: it is empty", hint=RETRY_HINT)
            raise ArtifactError(
                f"{self.label} is not a valid zip: it ends before its central directory", hint=RETRY_HINT
            )
        check_central(bytes(self._central), self.entries, self.label)
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
            raise ArtifactError(f"{self.label} is not a valid zip: it {where}", hint=RETRY_HINT)
        header = read_local_header(chunk, pos)
        if header is None:
            return 0
        self._begin(header)
        return header.length

    def _start_central(self, chunk: bytes, pos: int) -> int:
        self._central = bytearray(chunk[pos:])
        if len(self._central) > _MAX_CENTRAL:
            raise UnsafeArtifactError(f"{self.label} has a central directory over {_MAX_CENTRAL:,} bytes")
        return len(chunk) - pos

    def _begin(self, header: LocalHeader) -> None:
        name, flags, method, crc = header.name, header.flags, header.method, header.crc
        csize, usize, zip64 = header.compressed_size, header.size, header.zip64
        parts = member_parts(name, self.label)
        check_supported(header, self.label)
        descriptor = bool(flags & FLAG_DESCRIPTOR)
        known_size = None if descriptor and usize == 0 else usize
        known_csize = None if descriptor and csize == 0 else csize
        if method == STORED and known_size is None:
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
            entry.sink = open_entry(self.into, self._folders, name, parts, self.label)
        if method == DEFLATED:
            entry.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self._entry = entry
        if method == STORED and known_size == 0:
            self._end_entry(entry)

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
                    hint=RETRY_HINT,
                )
            self._end_entry(entry)
        elif entry.compressed_size is not None and entry.consumed == entry.compressed_size:
            raise ArtifactError(
                f"{self.label} is not a valid zip: {entry.name!r} does not end where its header says",
                hint=RETRY_HINT,
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
            wide = entry.zip64 or entry.written + (found - pos) >= ZIP64_MARK
            needed = found + (24 if wide else 16)
            if needed > len(chunk):
                take = found - pos
                self._emit(entry, memoryview(chunk)[pos:found])
                entry.consumed += take
                return take  # 0 when the descriptor is next: wait for the rest of it
            crc, csize, usize = descriptor_fields(chunk, found + 4, wide)
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
                hint=RETRY_HINT,
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
        wide = entry.zip64 or entry.written >= ZIP64_MARK or entry.consumed >= ZIP64_MARK
        length = (4 if signed else 0) + (20 if wide else 12)
        if len(chunk) - pos < length:
            return 0
        crc, csize, usize = descriptor_fields(chunk, pos + (4 if signed else 0), wide)
        self._descriptor_due = None
        self._check_entry(entry, crc, csize, usize)
        self._close_entry(entry)
        return length

    def _check_entry(self, entry: _Entry, crc: int, csize: int | None, usize: int | None) -> None:
        if crc != entry.crc:
            raise ArtifactError(
                f"{self.label} is not a valid zip: Bad CRC-32 for file {entry.name!r}", hint=RETRY_HINT
            )
        if usize != entry.written or csize != entry.consumed:
            raise ArtifactError(
                f"{self.label} is not a valid zip: the sizes recorded for {entry.name!r} are wrong",
                hint=RETRY_HINT,
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
