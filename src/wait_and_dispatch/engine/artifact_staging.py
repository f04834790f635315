"""Where artifacts wait before they are in place: the staging folder, merging, and the final moves.

Each download unpacks into a hidden staging folder inside the destination (the one place certainly
writable, and on the same file system, so the final moves are renames); only once every selected
artifact has downloaded, matched its digest and unpacked completely is anything moved into place:
a failure leaves the destination as it was. Messages name the destination, never the staging
folder.

A process stopped in the middle (SIGTERM) leaves no staging folder: `stop_downloads` ends the
downloads in flight and waits for their staging to be removed. One killed outright (SIGKILL)
cannot clean up; its staging folder, recognisable by name (the previous release's by name and
contents), is removed by a later download into the same destination once nothing in it has
changed for `STALE_STAGING_AFTER` seconds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from wait_and_dispatch.engine.artifact_files import LONG_NAME_HINT
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import ArtifactError, UnsafeArtifactError

_STAGING_PREFIX = ".wait-and-dispatch-staging-"
_STAGING_NAME = re.compile(r"^\.wait-and-dispatch-staging-[A-Za-z0-9_]{8}$")  # tempfile.mkdtemp's suffix
# The previous release named its staging folders `.wait-and-dispatch-` and mkdtemp's suffix (8 of
# a-z, 0-9, _), and put in them only `tree` and one folder per artifact, numbered: a folder left by
# a killed download of that release has that name and holds nothing else.
_PREVIOUS_STAGING_NAME = re.compile(r"^\.wait-and-dispatch-[a-z0-9_]{8}$")
_PREVIOUS_STAGING_ENTRY = re.compile(r"^(?:tree|[0-9]+)$")
# A staging folder in which nothing changed for this long belongs to a process that was killed: a
# live download writes, or gives up, far sooner (each read waits at most the API timeout).
STALE_STAGING_AFTER = 3600.0
_WRITABLE_HINT = "check that the download path is writable and has room for the artifacts"
_IN_THE_WAY = "remove or rename what is in the way, or download into another path"


def merge(unpacked: Path, tree: Path, shown: Path, label: str) -> None:
    """Move one artifact's unpacked files into the staged tree, over those of earlier artifacts
    (`merge_multiple`: later ones overwrite earlier ones). Renames only, within the staging folder."""
    _make_folder(tree, label, shown)
    for current, folders, names in os.walk(unpacked):
        relative = Path(current).relative_to(unpacked)
        for folder in folders:
            target = tree / relative / folder
            if target.exists() and not target.is_dir():
                raise ArtifactError(
                    f"{label} has a folder {(relative / folder).as_posix()!r} where an artifact before it "
                    f"has a file, in {shown}",
                    hint="download them without merge-multiple, or rename the file or the folder",
                )
            _make_folder(target, label, shown)
        for name in names:
            target = tree / relative / name
            if target.is_dir():
                raise ArtifactError(
                    f"{label} has a file {(relative / name).as_posix()!r} where an artifact before it "
                    f"has a folder, in {shown}",
                    hint="download them without merge-multiple, or rename the file or the folder",
                )
            try:
                os.replace(Path(current) / name, target)
            except OSError as error:
                raise _placing_error(error, label, shown) from error


def _make_folder(folder: Path, label: str, shown: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _placing_error(error, label, shown) from error


def _placing_error(error: OSError, label: str, shown: Path) -> ArtifactError:
    if error.errno == errno.ENAMETOOLONG:
        return ArtifactError(
            f"{label} cannot be placed in {shown}: a file name is too long", hint=LONG_NAME_HINT
        )
    return ArtifactError(f"{label} cannot be placed in {shown}: {_os_reason(error)}", hint=_WRITABLE_HINT)


# -- staging ---------------------------------------------------------------------------------------


_active_staging: set[Path] = set()  # staging folders of downloads in progress, for stop_downloads
_active_lock = threading.Condition()


@contextlib.contextmanager
def staging_folder(destination: Path, run_id: int) -> Iterator[Path]:
    """A hidden folder inside the destination, removed afterwards with everything in it.

    Folders created for the destination are removed again if the download fails, so a failure
    leaves the file system as it was. Stale staging folders of killed processes are removed first.
    """
    if destination.exists() and not destination.is_dir():
        raise ArtifactError(
            f"cannot download the artifacts of run {run_id}: {destination} is not a folder",
            hint="give a folder, or a path that does not exist yet, as the download path",
        )
    created = [folder for folder in (destination, *destination.parents) if not folder.exists()]
    try:
        destination.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(destination)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=destination))
    except OSError as error:
        _remove_empty(created)
        raise ArtifactError(
            f"cannot download the artifacts of run {run_id} into {destination}: {_os_reason(error)}",
            hint=_WRITABLE_HINT,
        ) from error
    with _active_lock:
        _active_staging.add(staging)
    succeeded = False
    try:
        yield staging
        succeeded = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not succeeded:
            _remove_empty(created)
        with _active_lock:
            _active_staging.discard(staging)
            _active_lock.notify_all()


def remove_stale_staging(destination: Path, *, now: float | None = None) -> list[Path]:
    """Remove the staging folders that killed downloads left in `destination`; returns them.

    Only ours (named as `staging_folder` names them, or as the previous release did, owned by this
    user) and only stale ones: nothing
    in them changed for `STALE_STAGING_AFTER` seconds, so no live download is writing there.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        candidates = [
            entry
            for entry in os.scandir(destination)
            if _STAGING_NAME.match(entry.name) or _PREVIOUS_STAGING_NAME.match(entry.name)
        ]
    except OSError:
        return removed
    for entry in candidates:
        folder = Path(entry.path)
        with _active_lock:
            if folder in _active_staging:
                continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if _PREVIOUS_STAGING_NAME.match(entry.name) and not all(
                _PREVIOUS_STAGING_ENTRY.match(name) for name in os.listdir(folder)
            ):
                continue
            if hasattr(os, "getuid") and entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            if now - _last_change(folder) < STALE_STAGING_AFTER:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _last_change(folder: Path) -> float:
    latest = folder.stat().st_mtime
    for current, folders, names in os.walk(folder):
        for name in (*folders, *names):
            with contextlib.suppress(OSError):
                latest = max(latest, os.lstat(os.path.join(current, name)).st_mtime)
    return latest


def stop_downloads(api: GitHubApi, *, grace: float = 5.0) -> bool:
    """Stop the downloads in progress (from any thread) and wait, at most `grace` real seconds,
    until their staging folders are removed; True if none is left. For a process being stopped
    (SIGTERM) whose downloads run in other threads, which would otherwise die with their staging."""
    api.abort_downloads()
    end = time.monotonic() + grace
    with _active_lock:
        while _active_staging:
            left = end - time.monotonic()
            if left <= 0:
                break
            _active_lock.wait(min(left, 0.05))
            api.abort_downloads()  # one that had not reached the storage host yet
        leftover = list(_active_staging)
    for folder in leftover:
        shutil.rmtree(folder, ignore_errors=True)
    return not leftover


def _remove_empty(folders: Sequence[Path]) -> None:
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


# -- moving into place -----------------------------------------------------------------------------


def move_into_place(tree: Path, destination: Path, run_id: int) -> None:
    """Merge the staged tree into the destination: replace files it has, keep the others.

    Every conflict is found before anything moves. Folders of the destination that are symbolic
    links leading out of it are not written through: the artifact would land elsewhere.
    """
    cannot = f"cannot place the artifacts of run {run_id}"
    root = os.path.realpath(destination)
    folders: list[Path] = []
    files: list[tuple[Path, Path]] = []
    for current, _, names in os.walk(tree):
        relative = Path(current).relative_to(tree)
        folder = destination / relative
        if folder.exists() and not folder.is_dir():
            raise ArtifactError(
                f"{cannot}: {folder} is a file where the artifact has a folder", hint=_IN_THE_WAY
            )
        if not _inside(os.path.realpath(folder), root):
            raise UnsafeArtifactError(f"{cannot}: {folder} is a link leading outside {destination}")
        folders.append(folder)
        for name in names:
            target = folder / name
            if target.is_dir() and not target.is_symlink():
                raise ArtifactError(
                    f"{cannot}: {target} is a folder where the artifact has a file", hint=_IN_THE_WAY
                )
            files.append((Path(current) / name, target))
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        for source, target in files:
            # A rename within one file system; it replaces a file or a link, never follows one.
            os.replace(source, target)
    except OSError as error:
        raise ArtifactError(f"{cannot} in {destination}: {_os_reason(error)}", hint=_WRITABLE_HINT) from error


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error)
