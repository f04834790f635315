"""How one artifact is kept: unpacked from its zip, or saved as one file, and under what name.

Zip or one file, as actions/download-artifact v8 decides (@actions/artifact
`download/download-artifact.ts`, `streamExtractExternal`): since upload-artifact v7's
`archive: false` (GitHub changelog 2026-02-26) an artifact may be one file, uploaded as is and
named after it. The blob is a zip when its `Content-Type` is `application/zip`,
`application/x-zip-compressed` or `application/zip-compressed`, or its URL's path ends in `.zip`;
anything else is saved as one file named from `Content-Disposition` (`filename*` first, RFC 6266
and RFC 5987), else after the artifact. The decision is made from the storage host's headers,
before a byte of the body is read. `skip_decompress` (download-artifact's `skip-decompress`) keeps
a zip as it is, saved as one file too. A raw `.jar` or `.docx` is a zip inside, but is saved as
the file it is, never unpacked.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from wait_and_dispatch.engine.github_objects import Artifact
from wait_and_dispatch.engine.results import ArtifactKind
from wait_and_dispatch.engine.safe_paths import is_one_safe_name, last_component
from wait_and_dispatch.engine.unzip import StreamingUnzip
from wait_and_dispatch.github_api import StorageAnswer
from wait_and_dispatch.support.errors import ArtifactError, UnsafeArtifactError

# The content types download-artifact v8 unpacks (@actions/artifact `streamExtractExternal`).
ZIP_CONTENT_TYPES = frozenset(
    {"application/zip", "application/x-zip-compressed", "application/zip-compressed"}
)
_SHOWN_NAME = 60  # characters of an artifact's name shown in a message
_NAME_MAX = 255  # bytes in one file name (NAME_MAX on Linux and macOS; 255 UTF-16 units on Windows)
LONG_NAME_HINT = (
    "file names are limited to 255 bytes: download it on its own (into path) or rename the artifact"
)


def is_zip(answer: StorageAnswer) -> bool:
    """Whether download-artifact v8 would unpack this blob: by its content type or its URL's path."""
    mime = answer.content_type.split(";", 1)[0].strip().lower()
    path = urllib.parse.urlsplit(answer.url).path.lower()
    return mime in ZIP_CONTENT_TYPES or path.endswith(".zip")


_FILENAME_STAR = re.compile(
    r"""(?:^|;)\s*filename\*\s*=\s*([A-Za-z0-9!#$%&+^_`{}~-]+)'[^']*'([^;\s]*)""", re.I
)
_FILENAME = re.compile(r"""(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))""", re.I)


def disposition_file_name(disposition: str) -> str | None:
    """The file name a `Content-Disposition` gives: `filename*` (RFC 5987, UTF-8 or ISO-8859-1)
    first, else `filename` (a token or a quoted string, RFC 6266). Only its last path component
    is kept, as download-artifact keeps `path.basename`: a name never leads out of the folder."""
    name: str | None = None
    star = _FILENAME_STAR.search(disposition)
    if star is not None:
        charset = star.group(1).lower()
        if charset in ("utf-8", "iso-8859-1"):
            try:
                name = urllib.parse.unquote(star.group(2), encoding=charset, errors="strict")
            except UnicodeDecodeError:
                name = None
    if not name:
        plain = _FILENAME.search(disposition)
        if plain is not None:
            quoted, token = plain.group(1), plain.group(2)
            name = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token
    return last_component(name or "")


def check_name_length(name: str, label: str, what: str) -> None:
    size = len(name.encode("utf-8", errors="surrogatepass"))
    if size > _NAME_MAX:
        raise ArtifactError(
            f"{label} would be saved as a {what} whose name is {size} bytes long, longer than file "
            "systems allow",
            hint=LONG_NAME_HINT,
        )


def shown_name(name: str) -> str:
    """An artifact's name for a message: quoted, and cut short when it is long (a message is one
    line people read)."""
    return repr(name) if len(name) <= _SHOWN_NAME else repr(name[:_SHOWN_NAME]) + "..."


class RawFile:
    """A sink that saves the bytes as they are, to one file: a raw artifact, or a zip kept whole.

    Like the unzipper, `write` never raises: a problem is kept for `finish`, so the caller still
    checks the digest of what was served first."""

    def __init__(self, path: Path, label: str, shown: Path) -> None:
        self.path = path
        self.label = label
        self.shown = shown
        self._problem: OSError | None = None
        self._file: BinaryIO | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("wb")
        except OSError as error:
            self._problem = error

    def __enter__(self) -> RawFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    def write(self, data: bytes) -> int:
        if self._problem is None and self._file is not None:
            try:
                self._file.write(data)
            except OSError as error:
                self._problem = error
        return len(data)

    def _close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as error:
                self._problem = self._problem or error
            self._file = None

    def finish(self) -> None:
        self._close()
        if self._problem is not None:
            reason = self._problem.strerror or str(self._problem)
            raise ArtifactError(
                f"{self.label} could not be saved as {self.shown}: {reason}",
                hint="check that the destination is writable and has room for the artifact",
            )


@dataclass
class Saving:
    """How the last try keeps an artifact: unpacked, or as one file (its name)."""

    kind: ArtifactKind
    sink: StreamingUnzip | RawFile
    file_name: str | None = None


def folder_name(artifact: Artifact, run_id: int) -> str:
    """The artifact's name as one folder: upload-artifact forbids `/` and `\\`, but check anyway."""
    name = artifact.name
    if not is_one_safe_name(name):
        raise UnsafeArtifactError(
            f"artifact {name!r} of run {run_id} has a name that is not a safe folder name; refusing it",
            hint="download it on its own (it then goes straight into the path), or rename it",
        )
    check_name_length(name, f"artifact {shown_name(name)} of run {run_id}", "folder")
    return name


def saved_name(artifact: Artifact, answer: StorageAnswer, label: str, *, zipped: bool) -> str:
    """The one file's name: from `Content-Disposition`, else the artifact's name (with `.zip` for a
    zip kept whole, which is how GitHub names it: `attachment; filename="<name>.zip"`)."""
    name = disposition_file_name(answer.content_disposition)
    if name is None:
        name = last_component(artifact.name + (".zip" if zipped else ""))
    if name is None:
        raise UnsafeArtifactError(
            f"{label} is one file, and neither the storage host nor its name gives a safe file "
            "name; refusing it",
            hint="rename the artifact",
        )
    check_name_length(name, label, "file")
    return name
