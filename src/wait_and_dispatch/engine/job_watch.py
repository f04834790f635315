"""Watch the jobs of a run while waiting for it: end at the first failed job, show each job's state.

Two sources, chosen by what the watch is for:

- **The run's check suite's check runs** (`GET /repos/{o}/{r}/check-suites/{id}/check-runs`,
  OpenAPI `checks/list-for-suite`). GitHub Actions makes one check suite per run attempt (the
  run's `check_suite_id`) and one check run per job, with the job's id (REST "Workflow jobs":
  `check_run_url`). A check run carries the job's status and conclusion but not its steps, so the
  list's answer, and with it its ETag, changes about when a job starts or completes (or gets an
  annotation). Polled conditionally, an unchanged list is a free 304: watching for a failed job
  costs one or two counted units per job, whatever the number of steps or polls. This is the
  source for `fail-on-failed-job`.
- **The jobs of the run's attempt** (`GET .../actions/runs/{id}/attempts/{n}/jobs`, OpenAPI
  `actions/list-jobs-for-workflow-run-attempt`): each job with its steps, so its answer changes at
  every step, a counted unit each. Read only when the steps are wanted (a live view:
  `WaitOptions.job_steps`), or when the run names no check suite or the token may not read checks.

Jobs behind `needs:` have no check run until they are queued
(docs/github-behaviour.md#check-runs-and-check-suites); a job that has not started has not failed
either, so the watch misses nothing it needs.

Which conclusions end the wait: `failure` and `timed_out` (a job past its `timeout-minutes`; both
make the run conclude `failure`), failures.py's `FAILED_JOB_CONCLUSIONS`, the jobs the failure
digest reads. Not `cancelled`: a job is cancelled because its run is (by a
person, by a concurrency group's `cancel-in-progress`, or by a matrix's `fail-fast` after another
job failed, whose failure already ended the wait), so the run's own conclusion is the news. A job
with `continue-on-error: true` that fails also reports `failure` while its run may still succeed
(docs/github-behaviour.md#jobs-logs-and-annotations): the watch cannot tell it from a job
that fails the run, which the input's documentation says.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wait_and_dispatch.engine.failures import FAILED_JOB_CONCLUSIONS
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun, optional_text, parse_answer
from wait_and_dispatch.engine.progress import JobProgress, ProgressCallback, ProgressEvent, ProgressKind
from wait_and_dispatch.engine.requests import WaitOptions
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.github_api.polling import PollGovernor
from wait_and_dispatch.support.errors import NotFoundError, PermissionDeniedError

# The run statuses in which jobs may have run: started, or waiting for an environment approval
# after earlier jobs ran (docs/github-behaviour.md#statuses-and-conclusions).
_STARTED = frozenset({"in_progress", "waiting"})
_PAGES = 3  # at most this many pages of 100 jobs per poll (a matrix has at most 256 jobs)


@dataclass(frozen=True)
class WatchedJob:
    """One job of the run as last read (names come from GitHub: untrusted)."""

    id: int
    name: str
    status: str
    conclusion: str | None
    html_url: str
    current_step: str | None = None

    @classmethod
    def from_check_run(cls, data: Any) -> WatchedJob:
        return parse_answer("a check run", data, cls._read)

    @classmethod
    def from_job(cls, data: Any) -> WatchedJob:
        return parse_answer("a workflow job", data, cls._read_job)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> WatchedJob:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            status=str(data.get("status") or "queued"),
            conclusion=optional_text(data, "conclusion"),
            html_url=str(data.get("html_url") or data.get("details_url") or ""),
        )

    @classmethod
    def _read_job(cls, data: Mapping[str, Any]) -> WatchedJob:
        job = cls._read(data)
        steps = [step for step in data.get("steps") or [] if isinstance(step, Mapping)]
        running = [s for s in steps if s.get("status") == "in_progress"]
        ran = [s for s in steps if s.get("status") == "completed"]
        # The step in progress, else the last one that ran.
        shown = (running or ran[-1:])[:1]
        current = str(shown[0].get("name") or "") if shown else ""
        return cls(job.id, job.name, job.status, job.conclusion, job.html_url, current or None)

    def failed(self, allowed: frozenset[str]) -> bool:
        return (
            self.status == "completed"
            and self.conclusion in FAILED_JOB_CONCLUSIONS
            and self.conclusion not in allowed
        )

    def progress(self) -> JobProgress:
        return JobProgress(self.name, self.status, self.conclusion, self.current_step, self.html_url)


def wanted(options: WaitOptions) -> bool:
    """Whether a wait with these options watches the jobs of its runs."""
    return options.fail_on_failed_job or options.job_steps


class JobWatch:
    """The jobs of one waited-for run, read on the wait's polls; see the module doc.

    A context manager: while open, the run is watched on the poll governor, so that waiters of
    the same run (plan nodes) share one read per tick.
    """

    def __init__(
        self,
        api: GitHubApi,
        governor: PollGovernor,
        repo: Repository,
        run_id: int,
        options: WaitOptions,
        on_progress: ProgressCallback,
    ) -> None:
        self.api = api
        self.governor = governor
        self.repo = repo
        self.options = options
        self.on_progress = on_progress
        self._key: Hashable = ("jobs", repo.full_name, run_id, options.job_steps)
        self._run_id = run_id
        self._steps = options.job_steps  # becomes True when the check runs cannot be read
        self._jobs: tuple[WatchedJob, ...] = ()
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> JobWatch:
        self._stack.enter_context(self.governor.watch(self._key, self._run_id))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def poll(self, run: WorkflowRun, elapsed: float) -> WatchedJob | None:
        """Read the jobs of `run` (a free 304 when nothing changed); say what changed as a JOBS
        event; return the first failed job when the wait ends at one, else None.

        A run that has completed is read once more only for a live view (`job_steps`), so that
        the jobs it leaves on the screen are in their last state; it has no failed job to end the
        wait at: its conclusion says it all."""
        last_drawing = run.completed and self.options.job_steps
        if run.status not in _STARTED and not last_drawing:
            return None
        jobs = self.governor.read(self._key, functools.partial(self._read, run), now=self.api.clock.now())
        if jobs != self._jobs:
            before, self._jobs = self._jobs, jobs
            self.on_progress(_jobs_event(run, before, jobs, elapsed))
        if not self.options.fail_on_failed_job or run.completed:
            return None
        return next((job for job in jobs if job.failed(self.options.allowed_conclusions)), None)

    def _read(self, run: WorkflowRun, _watched: Sequence[Hashable]) -> tuple[WatchedJob, ...]:
        if not self._steps and run.check_suite_id is not None:
            try:
                return self._check_runs(run.check_suite_id)
            except (PermissionDeniedError, NotFoundError):
                # A token without `checks: read` (or a suite that is gone): the jobs list tells the
                # same with `actions: read`, which waiting needs anyway, at a unit per step.
                self._steps = True
        return self._attempt_jobs(run)

    def _check_runs(self, suite_id: int) -> tuple[WatchedJob, ...]:
        items = self.api.paginate(
            f"{self.repo.api_path}/check-suites/{suite_id}/check-runs",
            {"filter": "latest"},
            items_key="check_runs",
        )
        return _oldest_first(WatchedJob.from_check_run(item) for item in _bounded(items))

    def _attempt_jobs(self, run: WorkflowRun) -> tuple[WatchedJob, ...]:
        items = self.api.paginate(
            f"{self.repo.api_path}/actions/runs/{run.id}/attempts/{run.run_attempt}/jobs",
            items_key="jobs",
        )
        return _oldest_first(WatchedJob.from_job(item) for item in _bounded(items))


def _oldest_first(jobs: Iterable[WatchedJob]) -> tuple[WatchedJob, ...]:
    """Jobs in the order they were made (ids increase): the check runs list comes newest first."""
    return tuple(sorted(jobs, key=lambda job: job.id))


def _bounded(items: Iterator[Any]) -> Iterator[Any]:
    for seen, item in enumerate(items, start=1):
        yield item
        if seen >= 100 * _PAGES:
            return


def _jobs_event(
    run: WorkflowRun, before: tuple[WatchedJob, ...], jobs: tuple[WatchedJob, ...], elapsed: float
) -> ProgressEvent:
    """Every job's state (for a live view), and in one line what changed (for a log)."""
    earlier = {job.id: job for job in before}
    changed = [job for job in jobs if earlier.get(job.id) != job]
    said = [_job_line(job) for job in changed if _job_line(job) != _job_line(earlier.get(job.id))]
    done = sum(job.status == "completed" for job in jobs)
    message = f"run {run.id}: {done} of {len(jobs)} jobs completed"
    if said:
        message += ": " + "; ".join(said[:3]) + (f"; {len(said) - 3} more" if len(said) > 3 else "")
    return ProgressEvent(
        ProgressKind.JOBS,
        message,
        subject=f"run {run.id}",
        status=run.status,
        elapsed=elapsed,
        url=run.html_url,
        jobs=tuple(job.progress() for job in jobs),
    )


def _job_line(job: WatchedJob | None) -> str:
    if job is None:
        return ""
    state = job.conclusion if job.status == "completed" and job.conclusion else job.status.replace("_", " ")
    return f'"{job.name}" {state}'
