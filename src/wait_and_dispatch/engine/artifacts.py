"""A run's artifacts: list them, pick them by name or glob, download, verify and extract them safely.

What GitHub does, and so what this module relies on (GITHUB-FACTS "Artifacts"):
- `GET .../runs/{id}/artifacts` is paginated (at most 100 a page) and runs can have hundreds
  (actions/download-artifact #441): every page is read.
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

Memory stays constant whatever the size: the zip streams in chunks of at most 1 MiB, and inflating
produces at most 1 MiB at a time.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from wait_and_dispatch.engine.model import (
    Artifact,
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
from wait_and_dispatch.errors import (
    ArtifactDigestMismatchError,
    ArtifactDownloadError,
    ArtifactError,
    ArtifactExpiredError,
    ArtifactNotFoundError,
    ForkArtifactRefusedError,
    GitHubApiError,
    RunNotFoundError,
    UnsafeArtifactError,
)
from wait_and_dispatch.github_api import GitHubApi

_NAMES_SHOWN = 20  # names listed in a not-found message before "and N more"
_STAGING_PREFIX = ".wait-and-dispatch-"
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
    """Download, verify and unpack the selected artifacts of a run into `selection.path`.

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
            label = f"artifact {artifact.name!r} of run {run_id}"
            unpacked = staging / str(index)
            size, verified = _download_unpacked(
                api,
                artifact,
                unpacked,
                places[artifact.id],
                label,
                max_ratio=selection.max_expansion_ratio,
                deadline=deadline,
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
                )
            )
        _move_into_place(tree, destination, run_id)

    for result in results:
        check = "sha256 verified" if result.verified else "no sha256 digest to verify (upload-artifact v3)"
        on_progress(
            ProgressEvent(
                ProgressKind.ARTIFACT,
                f"artifact {result.name}: {result.size:,} bytes, {check} -> {result.path}",
                subject,
            )
        )
    return tuple(results)


def _refuse_untrusted(artifact: Artifact, run_id: int, run: WorkflowRun | None, *, allow_forks: bool) -> None:
    label = f"artifact {artifact.name!r} of run {run_id}"
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
    if name in ("", ".", "..") or _SEPARATORS.search(name) or "\0" in name or _DRIVE.match(name):
        raise UnsafeArtifactError(
            f"artifact {name!r} of run {run_id} has a name that is not a safe folder name; refusing it",
            hint="download it on its own (it then goes straight into the path), or rename it",
        )
    return name


def _download_unpacked(
    api: GitHubApi,
    artifact: Artifact,
    into: Path,
    shown: Path,
    label: str,
    *,
    max_ratio: float,
    deadline: float | None,
) -> tuple[int, bool]:
    """Stream the zip, unpacking it into `into` and hashing it on the way; check its sha256, then
    that it unpacked completely. Returns (bytes, whether a digest was checked)."""
    unzipper: list[StreamingUnzip] = []

    def fresh_unzipper(length: int | None) -> StreamingUnzip:
        # A cut stream is retried from the first byte: start again from an empty folder.
        shutil.rmtree(into, ignore_errors=True)
        size = length if length is not None else artifact.size
        unzipper[:] = [StreamingUnzip(into, label, size, max_ratio, shown)]
        return unzipper[0]

    try:
        result = api.download_artifact(artifact.archive_download_url, fresh_unzipper, deadline=deadline)
    except ArtifactDownloadError as error:
        raise ArtifactDownloadError(f"{label}: {error}, on every try", hint=error.hint) from error
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
    unzipper[0].finish()
    return result.size, verified


def _merge(unpacked: Path, tree: Path, shown: Path, label: str) -> None:
    """Move one artifact's unpacked files into the staged tree, over those of earlier artifacts
    (`merge_multiple`: later ones overwrite earlier ones). Renames only, within the staging folder."""
    tree.mkdir(parents=True, exist_ok=True)
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
            target.mkdir(exist_ok=True)
        for name in names:
            target = tree / relative / name
            if target.is_dir():
                raise ArtifactError(
                    f"{label} has a file {(relative / name).as_posix()!r} where an artifact before it "
                    f"has a folder, in {shown}",
                    hint="download them without merge-multiple, or rename the file or the folder",
                )
            os.replace(Path(current) / name, target)


# -- staging ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _staging(destination: Path, run_id: int) -> Iterator[Path]:
    """A hidden folder inside the destination, removed afterwards with everything in it.

    Folders created for the destination are removed again if the download fails, so a failure
    leaves the file system as it was.
    """
    if destination.exists() and not destination.is_dir():
        raise ArtifactError(
            f"cannot download the artifacts of run {run_id}: {destination} is not a folder",
            hint="give a folder, or a path that does not exist yet, as the download path",
        )
    created = [folder for folder in (destination, *destination.parents) if not folder.exists()]
    try:
        destination.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=destination))
    except OSError as error:
        _remove_empty(created)
        raise ArtifactError(
            f"cannot download the artifacts of run {run_id} into {destination}: {_os_reason(error)}",
            hint=_WRITABLE_HINT,
        ) from error
    succeeded = False
    try:
        yield staging
        succeeded = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not succeeded:
            _remove_empty(created)


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
    "download_artifacts",
    "latest_successful_run",
    "list_artifacts",
    "select_artifacts",
]
