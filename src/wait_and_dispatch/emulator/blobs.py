"""The bytes of artifacts: each artifact's zip (or single file) built once from its scenario
entry, or a synthetic file of the declared size kept in a temporary directory."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from typing import IO

from wait_and_dispatch.emulator.model import Artifact
from wait_and_dispatch.emulator.specs import ArtifactSpec


class BlobStore:
    """Artifact zips: built on first use; synthetic big ones are written once to a temp file."""

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._small: dict[int, bytes] = {}
        self._files: dict[tuple[str, int, bool], tuple[str, int, str]] = {}
        self._meta: dict[int, tuple[int, str]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._dir is not None:
                self._dir.cleanup()
                self._dir = None
            self._files.clear()

    def describe(self, artifact: Artifact) -> tuple[int, str]:
        """(size in bytes, sha256 hex) of the artifact's blob: its zip, or its one raw file."""
        with self._lock:
            if artifact.id not in self._meta:
                spec = artifact.spec
                if spec.size is not None:
                    _, size, digest = self._synthetic(spec.name, spec.size, archive=spec.archive)
                    self._meta[artifact.id] = (size, digest)
                else:
                    data = _build_zip(spec) if spec.archive else spec.content
                    self._small[artifact.id] = data
                    self._meta[artifact.id] = (len(data), hashlib.sha256(data).hexdigest())
            return self._meta[artifact.id]

    def open(self, artifact: Artifact) -> tuple[int, Iterator[bytes]]:
        """The zip's length and an iterator over its bytes in chunks (constant memory)."""
        size, _ = self.describe(artifact)
        with self._lock:
            if artifact.spec.size is None:
                data = self._small[artifact.id]
                return size, iter([data[i : i + 65536] for i in range(0, len(data), 65536)] or [b""])
            path, _, _ = self._synthetic(
                artifact.spec.name, artifact.spec.size, archive=artifact.spec.archive
            )
        return size, _read_chunks(path)

    def _synthetic(self, name: str, size: int, *, archive: bool = True) -> tuple[str, int, str]:
        key = (name, size, archive)
        if key not in self._files:
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="wad-emulator-")
            path = os.path.join(self._dir.name, f"{len(self._files)}.{'zip' if archive else 'bin'}")
            block = b"".join(hashlib.sha256(f"{name}:{i}".encode()).digest() for i in range(2048))
            if archive:
                with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zipped:
                    info = zipfile.ZipInfo(f"{name}.bin", date_time=(2026, 1, 1, 0, 0, 0))
                    with zipped.open(info, "w", force_zip64=size >= 2**31) as out:
                        _write_synthetic(out, block, size)
            else:
                with open(path, "wb") as out:
                    _write_synthetic(out, block, size)
            digest = hashlib.sha256()
            for chunk in _read_chunks(path):
                digest.update(chunk)
            self._files[key] = (path, os.path.getsize(path), digest.hexdigest())
        return self._files[key]


def _write_synthetic(out: IO[bytes], block: bytes, size: int) -> None:
    left = size
    while left > 0:
        out.write(block[: min(left, len(block))])
        left -= len(block)


def _read_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(65536):
            yield chunk


def _build_zip(spec: ArtifactSpec) -> bytes:
    buffer = io.BytesIO()
    # upload-artifact deflates (compression-level 6 by default); `writestr` with a ZipInfo would
    # store uncompressed unless told, so every entry names its compression.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in spec.files.items():
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)),
                content,
                compress_type=zipfile.ZIP_DEFLATED,
                compresslevel=6,
            )
        for entry in spec.entries:
            # Crafted entries for the client's safety tests: names are written as given
            # (`../evil.txt`, absolute paths), symlinks as Unix symlink entries.
            info = zipfile.ZipInfo(date_time=(2026, 1, 1, 0, 0, 0))
            info.filename = entry.name
            if entry.symlink is not None:
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, entry.symlink.encode())
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, entry.content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buffer.getvalue()
