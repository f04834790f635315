"""`Engine`: the main job (find or dispatch, wait, download) and the engine's other verbs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wait_and_dispatch.engine import failure_digest, workflow_runs
from wait_and_dispatch.engine.dispatch import Dispatcher
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.progress import ProgressCallback, ignore_progress
from wait_and_dispatch.engine.requests import ArtifactSelection, CheckSelection, RunRequest, WaitOptions
from wait_and_dispatch.engine.results import (
    ApiCost,
    ChecksResult,
    DispatchedRun,
    DownloadedArtifact,
    Outcome,
    RunResult,
)
from wait_and_dispatch.engine.waiting import RunTarget, WaitedRun, wait_for_runs
from wait_and_dispatch.github_api import ApiStats, GitHubApi
from wait_and_dispatch.support.errors import ArtifactError


class Engine:
    """Everything the edges need, over one `GitHubApi` (which owns HTTP, retries and the clock)."""

    def __init__(
        self,
        api: GitHubApi,
        on_progress: ProgressCallback = ignore_progress,
        *,
        known_runs: Mapping[tuple[str, int], WorkflowRun] | None = None,
    ) -> None:
        """`known_runs`: completed runs the caller has read already, by repository and id, that
        `get_run` gives rather than read again (advance mode reads an instance's runs in one list)."""
        self.api = api
        self.on_progress = on_progress
        self.known_runs = known_runs if known_runs is not None else {}  # shared: filled as runs are read
        self.dispatcher = Dispatcher(api, on_progress)

    def find_or_dispatch(
        self, request: RunRequest, *, deadline: float | None = None, cancel_on_timeout: bool = False
    ) -> DispatchedRun:
        return self.dispatcher.find_or_dispatch(
            request, deadline=deadline, cancel_on_timeout=cancel_on_timeout
        )

    def wait_for_runs(
        self, targets: Sequence[RunTarget], options: WaitOptions, *, deadline: float | None = None
    ) -> list[WaitedRun]:
        return wait_for_runs(self.api, targets, options, on_progress=self.on_progress, deadline=deadline)

    def wait_for_checks(
        self,
        repo: Repository,
        sha: str,
        selection: CheckSelection,
        options: WaitOptions,
        *,
        exclude: Sequence[str] = (),
    ) -> ChecksResult:
        from wait_and_dispatch.engine import check_wait  # only a checks job needs it

        return check_wait.wait_for_checks(
            self.api, repo, sha, selection, options, on_progress=self.on_progress, exclude=exclude
        )

    def download_artifacts(
        self,
        repo: Repository,
        run: WorkflowRun,
        selection: ArtifactSelection,
        *,
        deadline: float | None = None,
    ) -> tuple[DownloadedArtifact, ...]:
        """The selected artifacts of `run`, or of the latest successful run on `selection.from_branch`."""
        # After the wait, not at start-up.
        from wait_and_dispatch.engine import artifact_download, artifact_selection

        source = run
        if selection.from_branch:
            source = artifact_selection.latest_successful_run(
                self.api, repo, run.workflow_id, selection.from_branch, deadline=deadline
            )
        return artifact_download.download_artifacts(
            self.api, repo, source.id, selection, on_progress=self.on_progress, deadline=deadline, run=source
        )

    def get_run(self, repo: Repository, run_id: int) -> WorkflowRun:
        known = self.known_runs.get((repo.full_name, run_id))
        return known if known is not None else workflow_runs.get_run(self.api, repo, run_id)

    def download_run(
        self,
        repo: Repository,
        run_id: int,
        options: WaitOptions,
        artifacts: ArtifactSelection | None,
        *,
        wait: bool = True,
    ) -> RunResult:
        """A run given by id: wait for it (if asked) and download its artifacts.

        Unlike `run`, artifacts are taken even from a run still in progress when not waiting:
        upload-artifact v4 makes them available as soon as they are uploaded.
        """
        before = self.api.stats.snapshot()
        start = self.api.clock.now()
        deadline = start + options.timeout
        # Every request of the job carries its deadline, the first `get_run` included, so that no
        # retry or rate-limit wait outlasts the timeout.
        with self.api.deadline_scope(deadline):
            run = self.get_run(repo, run_id)
            return self._wait_and_download(
                repo,
                run,
                options,
                artifacts,
                wait=wait,
                dispatched=False,
                before=before,
                start=start,
                deadline=deadline,
                completed_only=False,
            )

    def preview_artifacts(
        self, repo: Repository, run: WorkflowRun | None, selection: ArtifactSelection
    ) -> list[str]:
        """Dry run: which artifacts would be downloaded and where, as lines for a person."""
        from wait_and_dispatch.engine import artifact_selection  # after the wait, not at start-up

        source = run
        if selection.from_branch:
            if run is None:
                return [f"would download artifacts from the latest successful run on {selection.from_branch}"]
            source = artifact_selection.latest_successful_run(
                self.api, repo, run.workflow_id, selection.from_branch
            )
        if source is None:
            wanted = ", ".join(selection.patterns) or "every artifact"
            return [f"would download {wanted} from the run once it completes, into {selection.path}"]
        available = artifact_selection.list_artifacts(self.api, repo, source.id)
        chosen = artifact_selection.select_artifacts(available, selection.patterns)
        several = len(chosen) > 1 and not selection.merge_multiple
        return [
            f"would download artifact {a.name} ({a.size:,} bytes) from run {source.id} into "
            f"{selection.path / a.name if several else selection.path}"
            for a in chosen
        ] or [f"run {source.id} has no artifacts to download"]

    def run(
        self,
        request: RunRequest,
        options: WaitOptions,
        *,
        wait: bool = True,
        artifacts: ArtifactSelection | None = None,
    ) -> RunResult:
        """Find or dispatch, wait, and download: the main job. The timeout covers all of it.

        Artifacts are downloaded only from a run that completed with an allowed conclusion (or,
        without waiting, one that had already completed): a failed run's missing artifacts would
        hide the failure that matters.
        """
        before = self.api.stats.snapshot()
        start = self.api.clock.now()
        deadline = start + options.timeout
        with self.api.deadline_scope(deadline):
            found = self.find_or_dispatch(
                request, deadline=deadline, cancel_on_timeout=options.cancel_on_timeout
            )
            return self._wait_and_download(
                request.repository,
                found.run,
                options,
                artifacts,
                wait=wait,
                dispatched=found.dispatched,
                before=before,
                start=start,
                deadline=deadline,
                completed_only=True,
            )

    def _wait_and_download(
        self,
        repo: Repository,
        run: WorkflowRun,
        options: WaitOptions,
        artifacts: ArtifactSelection | None,
        *,
        wait: bool,
        dispatched: bool,
        before: ApiStats,
        start: float,
        deadline: float,
        completed_only: bool,
    ) -> RunResult:
        """Wait (if asked), judge the conclusion, download, and describe it all as a `RunResult`.

        `completed_only`: without waiting, take artifacts only from a run that has completed.
        Every failed run's `RunResult` is built here, whether it concluded so or a job failed
        first (`outcome.failed`): the one place its failure digest belongs.
        """
        outcome = Outcome.SUCCESS
        cancelled = False
        failed_job = None
        if wait:
            fresh = self.known_runs.get((repo.full_name, run.id)) is run
            waited = self.wait_for_runs([RunTarget(repo, run, fresh=fresh)], options, deadline=deadline)[0]
            run, outcome, cancelled = waited.run, waited.outcome, waited.cancelled
            failed_job = waited.failed_job
        elif run.completed and run.conclusion not in options.allowed_conclusions:
            outcome = Outcome.CONCLUSION_NOT_ALLOWED
        # What the failed run looked like inside: read only on failure (failure_digest.py). After
        # a failed job the run is still going (or was just cancelled), and the failed job, being
        # completed, already has its steps, annotations and log.
        failure = failure_digest.run_failure(self.api, repo, run) if outcome.failed else None
        downloaded: tuple[DownloadedArtifact, ...] = ()
        artifact_error: ArtifactError | None = None
        ready = run.completed or not completed_only or (artifacts is not None and artifacts.from_branch)
        if artifacts is not None and outcome is Outcome.SUCCESS and ready:
            try:
                downloaded = self.download_artifacts(repo, run, artifacts)
            except ArtifactError as error:
                artifact_error = error
        return RunResult(
            run=run,
            dispatched=dispatched,
            outcome=outcome,
            waited=self.api.clock.now() - start,
            cost=ApiCost.between(before, self.api.stats.snapshot()),
            allowed_conclusions=options.allowed_conclusions,
            artifacts=downloaded,
            download_path=artifacts.path if artifacts is not None and downloaded else None,
            cancelled=cancelled,
            artifact_error=artifact_error,
            failure=failure,
            failed_job=failed_job,
        )
