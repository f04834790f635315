"""A run's artifacts: list them, pick them by name or glob, download, verify and extract them safely.

What GitHub does, and so what this module relies on (docs/github-behaviour.md#artifacts):
- `GET .../runs/{id}/artifacts` is paginated (at most 100 a page) and runs can have hundreds
  (actions/download-artifact#441): every page is read.
- `GET .../artifacts/{id}/zip` answers 302 to a signed storage URL that rejects the token, and
  410 once the artifact has expired. `GitHubApi.download_artifact` follows the redirect without
  the token, streams to disk and retries a cut stream from a fresh URL; this module checks the
  sha256 of what it wrote against the artifact's `digest` (upload-artifact v4+; v3 has none).
- Artifacts of runs triggered from forks can be poisoned by the fork's author
  (GHSA-5xr6-xhww-33m4): they are refused unless the caller allows forks.

Layout, as actions/download-artifact (v5+, `src/download-artifact.ts`) lays it out: one artifact,
or `merge_multiple`, goes straight into the destination (`isSingleArtifactDownload ||
inputs.mergeMultiple || artifacts.length === 1`), several go to `<destination>/<artifact name>/`.
Merged artifacts overwrite each other in the order selected. Files already in the destination that
the artifacts do not contain are left alone; files they do contain are replaced.

Safety: nothing an archive says is trusted (engine/unzip.py has the details). Entry names that
are absolute, carry a drive letter, or climb out with `..` (with `/` or `\\` as separator) are
refused; so are archives that declare or actually unpack to far more than their size (zip bombs).
No symbolic link is ever created: upload-artifact stores the files links point to, and
download-artifact (through unzip-stream) writes a link entry as a plain file holding its target,
which is what happens here too, for targets inside the archive; a link entry aiming outside it
(absolute, or `..` past its root) only comes from a crafted archive and is refused.

One pass: each zip is unpacked as it streams in, while the API layer hashes the same bytes, so the
archive is read once and never stored (as @actions/artifact does with unzip-stream). Each artifact
unpacks into its own hidden staging folder inside the destination (the one place certainly
writable, and on the same file system, so the final moves are renames); only once every selected
artifact has downloaded, matched its sha256 digest and unpacked completely is anything moved into
place: a failure leaves the destination as it was. Messages name the destination, never the
staging folder.

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

Memory stays constant whatever the size: the zip streams in chunks of at most 1 MiB, and inflating
produces at most 1 MiB at a time.

A process stopped in the middle (SIGTERM) leaves no staging folder: `stop_downloads` ends the
downloads in flight and waits for their staging to be removed. One killed outright (SIGKILL)
cannot clean up; its staging folder, recognisable by name (the previous release's by name and
contents), is removed by a later download into the same destination once nothing in it has
changed for `STALE_STAGING_AFTER` seconds.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from wait_and_dispatch.engine.model import (
    Artifact,
    ArtifactKind,
    ArtifactSelection,
    DownloadedArtifact,
    ProgressCallback,
    ProgressEvent,
    ProgressKind,
    Repository,
    WorkflowRun,
    ignore_progress,
)
from wait_and_dispatch.engine.unzip import EXPANSION_FLOOR, StreamingUnzip
from wait_and_dispatch.github_api import DownloadSink, GitHubApi, StorageAnswer
from wait_and_dispatch.support.errors import (
    ArtifactDigestMismatchError,
    ArtifactDownloadError,
    ArtifactError,
    ArtifactExpiredError,
    ArtifactNotFoundError,
    DeadlineExceededError,
    ForkArtifactRefusedError,
    GitHubApiError,
    RunNotFoundError,
    UnsafeArtifactError,
)

_NAMES_SHOWN = 20  # names listed in a not-found message before "and N more"
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
# The content types download-artifact v8 unpacks (@actions/artifact `streamExtractExternal`).
ZIP_CONTENT_TYPES = frozenset(
    {"application/zip", "application/x-zip-compressed", "application/zip-compressed"}
)
_SHOWN_NAME = 60  # characters of an artifact's name shown in a message
_NAME_MAX = 255  # bytes in one file name (NAME_MAX on Linux and macOS; 255 UTF-16 units on Windows)
_LONG_NAME_HINT = (
    "file names are limited to 255 bytes: download it on its own (into path) or rename the artifact"
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")
_SHORT_HEX = 12  # digits of a sha256 shown in messages
_WRITABLE_HINT = "check that the download path is writable and has room for the artifacts"
_IN_THE_WAY = "remove or rename what is in the way, or download into another path"


# -- listing and selecting -------------------------------------------------------------------------


def list_artifacts(
    api: GitHubApi, repo: Repository, run_id: int, *, deadline: float | None = None
) -> list[Artifact]:
    """Every artifact of a run, all pages, in GitHub's order (attempts included)."""
    items = api.paginate(
        f"{repo.api_path}/actions/runs/{run_id}/artifacts", items_key="artifacts", deadline=deadline
    )
    return [Artifact.from_api(item) for item in items]


def select_artifacts(available: Sequence[Artifact], patterns: Sequence[str]) -> list[Artifact]:
    """The artifacts the patterns (exact names or `fnmatch` globs) name; no patterns: all of them.

    Each pattern must match something, else `ArtifactNotFoundError` lists what the run has. The
    result is in pattern order (with `merge_multiple`, later ones overwrite earlier ones), then
    in GitHub's order within a glob, each artifact once. Expired artifacts are selected like any
    other: downloading them fails with a clear error rather than skipping them silently.
    """
    run_ids = {artifact.run_id for artifact in available}
    run_id = run_ids.pop() if len(run_ids) == 1 else None
    return _select(available, patterns, run_id)


def _select(available: Sequence[Artifact], patterns: Sequence[str], run_id: int | None) -> list[Artifact]:
    candidates = _latest_by_name(available)
    wanted = [pattern for pattern in patterns if pattern.strip()]
    if not wanted:
        return candidates
    chosen: dict[int, Artifact] = {}
    missing: list[str] = []
    for pattern in wanted:
        # An exact name matches itself even when it holds glob characters (`build[linux]`).
        matched = [a for a in candidates if a.name == pattern or fnmatch.fnmatchcase(a.name, pattern)]
        if not matched:
            missing.append(pattern)
        for artifact in matched:
            chosen.setdefault(artifact.id, artifact)
    if missing:
        where = f"run {run_id}" if run_id is not None else "the run"
        shown = ", ".join(repr(p) for p in missing)
        raise ArtifactNotFoundError(f"no artifact matching {shown} in {where}; {_describe_names(candidates)}")
    return list(chosen.values())


def _latest_by_name(available: Iterable[Artifact]) -> list[Artifact]:
    """One artifact per name, the newest (highest id): a re-run attempt uploads under the same name.

    Mirrors @actions/artifact's `listArtifacts({latest: true})`, which download-artifact uses.
    """
    newest: dict[str, Artifact] = {}
    for artifact in available:
        kept = newest.get(artifact.name)
        if kept is None or artifact.id > kept.id:
            newest[artifact.name] = artifact
    return list(newest.values())


def _describe_names(artifacts: Sequence[Artifact]) -> str:
    if not artifacts:
        return "it has no artifacts"
    names = [a.name for a in artifacts]
    shown = ", ".join(names[:_NAMES_SHOWN])
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    return f"it has {shown}{more}"


# -- zip or file -----------------------------------------------------------------------------------


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
    return _last_component(name or "")


def _last_component(name: str) -> str | None:
    last = _SEPARATORS.split(name.strip())[-1].strip()
    return last if _is_one_safe_name(last) else None


def _is_one_safe_name(name: str) -> bool:
    """Whether `name` names one file or folder inside the folder it is joined to: not empty, `.`
    or `..`, no separator of either kind, no NUL, no Windows drive."""
    return (
        name not in ("", ".", "..")
        and not _SEPARATORS.search(name)
        and "\0" not in name
        and not _DRIVE.match(name)
    )


def _check_name_length(name: str, label: str, what: str) -> None:
    size = len(name.encode("utf-8", errors="surrogatepass"))
    if size > _NAME_MAX:
        raise ArtifactError(
            f"{label} would be saved as a {what} whose name is {size} bytes long, longer than file "
            "systems allow",
            hint=_LONG_NAME_HINT,
        )


def _shown_name(name: str) -> str:
    """An artifact's name for a message: quoted, and cut short when it is long (a message is one
    line people read)."""
    return repr(name) if len(name) <= _SHOWN_NAME else repr(name[:_SHOWN_NAME]) + "..."


class _RawFile:
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

    def __enter__(self) -> _RawFile:
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
class _Saving:
    """How the last try keeps an artifact: unpacked, or as one file (its name)."""

    kind: ArtifactKind
    sink: StreamingUnzip | _RawFile
    file_name: str | None = None


# -- downloading -----------------------------------------------------------------------------------


def download_artifacts(
    api: GitHubApi,
    repo: Repository,
    run_id: int,
    selection: ArtifactSelection,
    *,
    on_progress: ProgressCallback = ignore_progress,
    deadline: float | None = None,
    run: WorkflowRun | None = None,
) -> tuple[DownloadedArtifact, ...]:
    """Download, verify and unpack (or, for a one-file artifact, save) the selected artifacts of a
    run into `selection.path`.

    All or nothing: every selected artifact is checked (fork, expiry) before any byte is fetched,
    and the destination changes only once all of them downloaded, verified and unpacked.
    `run`, when the caller has it, lets a fork run be refused by its head repository's name.
    """
    subject = f"run {run_id}"
    chosen = _select(list_artifacts(api, repo, run_id, deadline=deadline), selection.patterns, run_id)
    if not chosen:
        # download-artifact without a name downloads "all" of nothing and succeeds.
        on_progress(ProgressEvent(ProgressKind.ARTIFACT, f"run {run_id} has no artifacts", subject))
        return ()
    for artifact in chosen:
        _refuse_untrusted(artifact, run_id, run, allow_forks=selection.allow_forks)

    destination = Path(selection.path)
    flat = selection.merge_multiple or len(chosen) == 1
    places = {
        artifact.id: destination if flat else destination / _folder_name(artifact, run_id)
        for artifact in chosen
    }
    total = sum(artifact.size for artifact in chosen)
    count = f"{len(chosen)} artifacts" if len(chosen) > 1 else f"artifact {chosen[0].name}"
    on_progress(
        ProgressEvent(
            ProgressKind.ARTIFACT,
            f"downloading {count} ({total:,} bytes) from run {run_id} -> {destination}",
            subject,
        )
    )

    results: list[DownloadedArtifact] = []
    with _staging(destination, run_id) as staging:
        tree = staging / "tree"
        tree.mkdir()
        for index, artifact in enumerate(chosen):
            label = f"artifact {_shown_name(artifact.name)} of run {run_id}"
            unpacked = staging / str(index)
            size, verified, saving = _download_one(
                api,
                artifact,
                unpacked,
                places[artifact.id],
                label,
                max_ratio=selection.max_expansion_ratio,
                skip_decompress=selection.skip_decompress,
                deadline=deadline,
                on_bytes=_byte_progress(api, label, artifact.size, on_progress),
            )
            _merge(unpacked, tree / places[artifact.id].relative_to(destination), places[artifact.id], label)
            results.append(
                DownloadedArtifact(
                    name=artifact.name,
                    id=artifact.id,
                    size=size,
                    digest=artifact.digest,
                    path=places[artifact.id],
                    verified=verified,
                    kind=saving.kind,
                    file=places[artifact.id] / saving.file_name if saving.file_name is not None else None,
                )
            )
        _move_into_place(tree, destination, run_id)

    for result in results:
        check = "sha256 verified" if result.verified else "no sha256 digest to verify (upload-artifact v3)"
        where = f", saved as one file -> {result.file}" if result.file is not None else f" -> {result.path}"
        on_progress(
            ProgressEvent(
                ProgressKind.ARTIFACT,
                f"artifact {result.name}: {result.size:,} bytes, {check}{where}",
                subject,
            )
        )
    return tuple(results)


def _refuse_untrusted(artifact: Artifact, run_id: int, run: WorkflowRun | None, *, allow_forks: bool) -> None:
    label = f"artifact {_shown_name(artifact.name)} of run {run_id}"
    if not allow_forks and (artifact.from_fork or (run is not None and run.from_fork)):
        origin = (
            run.head_repository
            if run is not None and run.from_fork
            else f"head repository id {artifact.head_repository_id}"
        )
        raise ForkArtifactRefusedError(f"{label} was uploaded by a run from a fork ({origin}); refusing it")
    if artifact.expired:
        raise ArtifactExpiredError(f"{label} has expired; GitHub no longer keeps its contents")


def _folder_name(artifact: Artifact, run_id: int) -> str:
    """The artifact's name as one folder: upload-artifact forbids `/` and `\\`, but check anyway."""
    name = artifact.name
    if not _is_one_safe_name(name):
        raise UnsafeArtifactError(
            f"artifact {name!r} of run {run_id} has a name that is not a safe folder name; refusing it",
            hint="download it on its own (it then goes straight into the path), or rename it",
        )
    _check_name_length(name, f"artifact {_shown_name(name)} of run {run_id}", "folder")
    return name


def _download_one(
    api: GitHubApi,
    artifact: Artifact,
    into: Path,
    shown: Path,
    label: str,
    *,
    max_ratio: float,
    skip_decompress: bool,
    deadline: float | None,
    on_bytes: Callable[[int, int | None], None] | None = None,
) -> tuple[int, bool, _Saving]:
    """Stream one artifact into `into`, unpacking a zip as it arrives or saving the bytes as one
    file (decided from the storage host's headers), hashing them on the way; check the sha256,
    then that everything was written. Returns (bytes, whether a digest was checked, how it was kept)."""
    saving: list[_Saving] = []

    def fresh_sink(answer: StorageAnswer) -> DownloadSink:
        # A cut stream is retried from the first byte: start again from an empty folder.
        shutil.rmtree(into, ignore_errors=True)
        zipped = is_zip(answer)
        if zipped and not skip_decompress:
            size = answer.length if answer.length is not None else artifact.size
            saving[:] = [_Saving(ArtifactKind.ZIP, StreamingUnzip(into, label, size, max_ratio, shown))]
        else:
            name = _saved_name(artifact, answer, label, zipped=zipped)
            saving[:] = [_Saving(ArtifactKind.FILE, _RawFile(into / name, label, shown / name), name)]
        return saving[0].sink

    try:
        result = api.download_artifact(
            artifact.archive_download_url, fresh_sink, deadline=deadline, on_progress=on_bytes
        )
    except ArtifactDownloadError as error:
        raise ArtifactDownloadError(f"{label}: {error}, on every try", hint=error.hint) from error
    except (ArtifactError, DeadlineExceededError) as error:
        raise type(error)(f"{label}: {error}", hint=error.hint) from error
    except GitHubApiError as error:
        if error.status == 410:
            # It expired between the listing and the download (OpenAPI actions/download-artifact).
            raise ArtifactExpiredError(f"{label} has expired (GitHub answered 410 Gone)") from error
        raise
    algorithm, _, expected = (artifact.digest or "").partition(":")
    verified = algorithm == "sha256" and bool(expected)
    # The digest first: a corrupted download is reported as such, not as the broken zip it makes.
    # upload-artifact v3 reports no digest; an algorithm we do not know cannot be checked.
    if verified and expected.lower() != result.sha256:
        raise ArtifactDigestMismatchError(
            f"{label} failed its sha256 check: expected {expected[:_SHORT_HEX]}, "
            f"got {result.sha256[:_SHORT_HEX]}; nothing was extracted"
        )
    saving[0].sink.finish()
    return result.size, verified, saving[0]


# At most this many DOWNLOAD events a second per artifact (plus its first and last): a progress
# bar redraws no faster than a person reads it, and a stream of small reads costs no more events.
_BYTE_EVENTS_PER_SECOND = 10


def _byte_progress(
    api: GitHubApi, label: str, size: int, on_progress: ProgressCallback
) -> Callable[[int, int | None], None] | None:
    """The API layer's byte count of one artifact's stream as DOWNLOAD events, thinned to
    `_BYTE_EVENTS_PER_SECOND` on the API's clock; the last (all bytes in) always goes out. A try
    that is cut starts again from 0, and so do the events. `size` (GitHub's listing) stands for
    the total when the storage host gives no length."""
    if on_progress is ignore_progress:
        return None
    last: list[float] = []  # when the last event went out

    def report(done: int, length: int | None) -> None:
        total = size if length is None else length
        now = api.clock.now()
        if last and done < total and now - last[0] < 1 / _BYTE_EVENTS_PER_SECOND:
            return
        last[:] = [now]
        on_progress(
            ProgressEvent(
                ProgressKind.DOWNLOAD,
                f"{label}: {done:,} of {total:,} bytes",
                label,
                done_bytes=done,
                total_bytes=total,
            )
        )

    return report


def _saved_name(artifact: Artifact, answer: StorageAnswer, label: str, *, zipped: bool) -> str:
    """The one file's name: from `Content-Disposition`, else the artifact's name (with `.zip` for a
    zip kept whole, which is how GitHub names it: `attachment; filename="<name>.zip"`)."""
    name = disposition_file_name(answer.content_disposition)
    if name is None:
        name = _last_component(artifact.name + (".zip" if zipped else ""))
    if name is None:
        raise UnsafeArtifactError(
            f"{label} is one file, and neither the storage host nor its name gives a safe file "
            "name; refusing it",
            hint="rename the artifact",
        )
    _check_name_length(name, label, "file")
    return name


def _merge(unpacked: Path, tree: Path, shown: Path, label: str) -> None:
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
            f"{label} cannot be placed in {shown}: a file name is too long", hint=_LONG_NAME_HINT
        )
    return ArtifactError(f"{label} cannot be placed in {shown}: {_os_reason(error)}", hint=_WRITABLE_HINT)


# -- staging ---------------------------------------------------------------------------------------


_active_staging: set[Path] = set()  # staging folders of downloads in progress, for stop_downloads
_active_lock = threading.Condition()


@contextlib.contextmanager
def _staging(destination: Path, run_id: int) -> Iterator[Path]:
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

    Only ours (named as `_staging` names them, or as the previous release did, owned by this
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


def _move_into_place(tree: Path, destination: Path, run_id: int) -> None:
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


# -- finding the run to download from --------------------------------------------------------------


def latest_successful_run(
    api: GitHubApi, repo: Repository, workflow_id: int, branch: str, *, deadline: float | None = None
) -> WorkflowRun:
    """The newest successful run of a workflow on a branch of this repository.

    GitHub lists runs newest first. Runs from forks are passed over: their `head_branch` is the
    fork's branch, so a fork's `main` matches `branch=main` (the poisoned-artifact path of
    GHSA-5xr6-xhww-33m4). Pages are fetched only until a run of this repository turns up.
    """
    params = {"branch": branch, "status": "success", "per_page": 10}
    path = f"{repo.api_path}/actions/workflows/{workflow_id}/runs"
    forks = 0
    for item in api.paginate(path, params, items_key="workflow_runs", deadline=deadline):
        run = WorkflowRun.from_api(item)
        if run.from_fork:
            forks += 1
            continue
        return run
    skipped = f" ({forks} from forks passed over)" if forks else ""
    raise RunNotFoundError(
        f"no successful run of workflow {workflow_id} on branch {branch!r} in {repo}{skipped}",
        hint="check the branch name, or run the workflow on that branch once so there is a run to take from",
    )


__all__ = [
    "EXPANSION_FLOOR",
    "STALE_STAGING_AFTER",
    "ZIP_CONTENT_TYPES",
    "disposition_file_name",
    "download_artifacts",
    "is_zip",
    "latest_successful_run",
    "list_artifacts",
    "remove_stale_staging",
    "select_artifacts",
    "stop_downloads",
]
