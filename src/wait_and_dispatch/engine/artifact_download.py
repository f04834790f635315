"""A run's artifacts downloaded: checked, fetched, verified and extracted safely, all or nothing.

What GitHub does, and so what this module relies on (docs/github-behaviour.md#artifacts):
- `GET .../runs/{id}/artifacts` is paginated; engine/artifact_selection.py reads every page.
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

Safety: nothing an archive says is trusted (engine/unzip.py and engine/safe_paths.py have the
details). Entry names that are absolute, carry a drive letter, or climb out with `..` (with `/` or
`\\` as separator) are refused; so are archives that declare or actually unpack to far more than
their size (zip bombs).
No symbolic link is ever created: upload-artifact stores the files links point to, and
download-artifact (through unzip-stream) writes a link entry as a plain file holding its target,
which is what happens here too, for targets inside the archive; a link entry aiming outside it
(absolute, or `..` past its root) only comes from a crafted archive and is refused.

One pass: each zip is unpacked as it streams in, while the API layer hashes the same bytes, so the
archive is read once and never stored (as @actions/artifact does with unzip-stream). Memory stays
constant whatever the size: the zip streams in chunks of at most 1 MiB, and inflating produces at
most 1 MiB at a time. All or nothing: every artifact unpacks into a staging folder, and the
destination changes only once all of them are in (engine/artifact_staging.py, which also says how
a stopped or killed download is cleaned up). Whether an artifact is a zip or one file, and that
file's name, is decided as download-artifact v8 decides it (engine/artifact_files.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from wait_and_dispatch.engine.artifact_files import (
    RawFile,
    Saving,
    folder_name,
    is_zip,
    saved_name,
    shown_name,
)
from wait_and_dispatch.engine.artifact_selection import list_artifacts, select_in_run
from wait_and_dispatch.engine.artifact_staging import merge, move_into_place, staging_folder
from wait_and_dispatch.engine.github_objects import Artifact, Repository, WorkflowRun
from wait_and_dispatch.engine.progress import ProgressCallback, ProgressEvent, ProgressKind, ignore_progress
from wait_and_dispatch.engine.requests import ArtifactSelection
from wait_and_dispatch.engine.results import ArtifactKind, DownloadedArtifact
from wait_and_dispatch.engine.unzip import StreamingUnzip
from wait_and_dispatch.github_api import DownloadSink, GitHubApi, StorageAnswer
from wait_and_dispatch.support.errors import (
    ArtifactDigestMismatchError,
    ArtifactDownloadError,
    ArtifactError,
    ArtifactExpiredError,
    DeadlineExceededError,
    ForkArtifactRefusedError,
    GitHubApiError,
)

_SHORT_HEX = 12  # digits of a sha256 shown in messages


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
    chosen = select_in_run(list_artifacts(api, repo, run_id, deadline=deadline), selection.patterns, run_id)
    if not chosen:
        # download-artifact without a name downloads "all" of nothing and succeeds.
        on_progress(ProgressEvent(ProgressKind.ARTIFACT, f"run {run_id} has no artifacts", subject))
        return ()
    for artifact in chosen:
        _refuse_untrusted(artifact, run_id, run, allow_forks=selection.allow_forks)

    destination = Path(selection.path)
    flat = selection.merge_multiple or len(chosen) == 1
    places = {
        artifact.id: destination if flat else destination / folder_name(artifact, run_id)
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
    with staging_folder(destination, run_id) as staging:
        tree = staging / "tree"
        tree.mkdir()
        for index, artifact in enumerate(chosen):
            label = f"artifact {shown_name(artifact.name)} of run {run_id}"
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
            merge(unpacked, tree / places[artifact.id].relative_to(destination), places[artifact.id], label)
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
        move_into_place(tree, destination, run_id)

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


def _refuse_untrusted(artifact: Artifact, run_id: int, run: WorkflowRun | None, *, allow_forks: bool) -> None:
    label = f"artifact {shown_name(artifact.name)} of run {run_id}"
    if not allow_forks and (artifact.from_fork or (run is not None and run.from_fork)):
        origin = (
            run.head_repository
            if run is not None and run.from_fork
            else f"head repository id {artifact.head_repository_id}"
        )
        raise ForkArtifactRefusedError(f"{label} was uploaded by a run from a fork ({origin}); refusing it")
    if artifact.expired:
        raise ArtifactExpiredError(f"{label} has expired; GitHub no longer keeps its contents")


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
) -> tuple[int, bool, Saving]:
    """Stream one artifact into `into`, unpacking a zip as it arrives or saving the bytes as one
    file (decided from the storage host's headers), hashing them on the way; check the sha256,
    then that everything was written. Returns (bytes, whether a digest was checked, how it was kept)."""
    saving: list[Saving] = []

    def fresh_sink(answer: StorageAnswer) -> DownloadSink:
        # A cut stream is retried from the first byte: start again from an empty folder.
        shutil.rmtree(into, ignore_errors=True)
        zipped = is_zip(answer)
        if zipped and not skip_decompress:
            size = answer.length if answer.length is not None else artifact.size
            saving[:] = [Saving(ArtifactKind.ZIP, StreamingUnzip(into, label, size, max_ratio, shown))]
        else:
            name = saved_name(artifact, answer, label, zipped=zipped)
            saving[:] = [Saving(ArtifactKind.FILE, RawFile(into / name, label, shown / name), name)]
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
