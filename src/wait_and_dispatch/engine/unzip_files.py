"""Where a zip's entries land: folders made as entries need them, files opened with default
permissions, and written on a thread of their own while the next bytes arrive."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import BinaryIO

from wait_and_dispatch.support.errors import ArtifactError

_WRITES_IN_FLIGHT = 16  # chunks (at most 1 MiB each) queued for the writer thread
_SAME_NAME_HINT = "the artifact holds a file and a folder of the same name; rename one and upload it again"


class FileWriter:
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


def open_entry(into: Path, made: set[Path], name: str, parts: tuple[str, ...], label: str) -> BinaryIO | None:
    """The file to write entry `name` to under `into` (None for a folder entry), making the
    folders it needs once each (`made`: those made so far)."""
    folder = into
    if folder not in made:
        folder.mkdir(parents=True, exist_ok=True)  # only once there is something to write
        made.add(folder)
    for depth, part in enumerate(parts[:-1], start=1):
        folder = folder / part
        if folder not in made:
            if folder.exists() and not folder.is_dir():
                clash = "/".join(parts[:depth])
                raise ArtifactError(
                    f"{label}: {name!r} needs a folder where the artifact has a file {clash!r}",
                    hint=_SAME_NAME_HINT,
                )
            folder.mkdir(exist_ok=True)
            made.add(folder)
    target = folder / parts[-1]
    if name.endswith(("/", "\\")):
        if target.exists() and not target.is_dir():
            raise ArtifactError(
                f"{label}: {name!r} is a folder but a file of that name exists",
                hint=_SAME_NAME_HINT,
            )
        target.mkdir(exist_ok=True)
        made.add(target)
        return None
    if target.is_dir():
        raise ArtifactError(
            f"{label}: {name!r} is a file but a folder of that name exists",
            hint=_SAME_NAME_HINT,
        )
    # Default permissions, never the archive's mode bits (no setuid, no world-writable files):
    # upload-artifact does not keep permissions either.
    return target.open("wb")
