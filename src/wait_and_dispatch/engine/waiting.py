"""Wait for workflow runs to complete: conditional polls on the poll governor's shared schedule.

Every wait of the process polls on one `PollGovernor` (github_api/polling.py): a fixed 1 to 2 s
cadence of conditional requests, so an unchanged answer is a free 304 and completion is seen
within a couple of seconds, slowed only when the request budget or GitHub asks for it. Runs in
the same repository, whoever waits for them (one call with many targets, or plan nodes each in
its own thread), are read with one list request per tick rather than one request each.

The recent durations of the workflow are not read: on a fixed cadence they would change nothing
and cost a counted request.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from wait_and_dispatch.engine import job_watch, workflow_runs
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.progress import (
    JobProgress,
    ProgressCallback,
    ProgressEvent,
    ProgressKind,
    format_seconds,
    ignore_progress,
)
from wait_and_dispatch.engine.requests import WaitOptions
from wait_and_dispatch.engine.results import Outcome
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.github_api.polling import Pace, PollBounds, PollGovernor, governor_for
from wait_and_dispatch.support.errors import DeadlineExceededError, GitHubApiError

# What each status means for a person waiting (docs/github-behaviour.md#statuses-and-conclusions).
STATUS_MEANING = {
    "requested": "requested",
    "queued": "queued, waiting for a runner",
    "pending": "pending behind a concurrency group",
    "waiting": "waiting for an environment approval",
    "in_progress": "in progress",
    "completed": "completed",
}
# With this many runs watched in one repository (by any waiter), one list request replaces the
# per-run reads.
_LIST_FROM = 2
_CANCEL_GRACE = 5.0  # seconds past the deadline a cancel-on-timeout may take
_LIST_PAGES = 3  # at most this many pages of the list per poll; runs not on them are read one by one


@dataclass(frozen=True)
class WaitedRun:
    run: WorkflowRun  # the last snapshot: completed, or as it was when the wait timed out
    outcome: Outcome
    waited: float
    cancelled: bool = False
    failed_job: JobProgress | None = None  # with JOB_FAILED: the job whose failure ended the wait


@dataclass(frozen=True)
class RunTarget:
    repository: Repository
    run: WorkflowRun
    # The caller read `run` just now and it had completed (advance mode reads many in one list):
    # the first look takes it as it is rather than read it again.
    fresh: bool = False


def wait_for_run(
    api: GitHubApi,
    repo: Repository,
    run: WorkflowRun,
    options: WaitOptions,
    *,
    on_progress: ProgressCallback = ignore_progress,
    deadline: float | None = None,
) -> WaitedRun:
    return wait_for_runs(api, [RunTarget(repo, run)], options, on_progress=on_progress, deadline=deadline)[0]


def wait_for_runs(
    api: GitHubApi,
    targets: Sequence[RunTarget],
    options: WaitOptions,
    *,
    on_progress: ProgressCallback = ignore_progress,
    deadline: float | None = None,
) -> list[WaitedRun]:
    """Wait until every run completes or the timeout passes; results in the order of `targets`.

    Every request made during the wait carries its deadline (`GitHubApi.deadline_scope`): a read
    that keeps failing is retried until then, never waited for past it.
    """
    clock = api.clock
    start = clock.now()
    wanted = start + options.timeout if deadline is None else deadline
    scoped = api.current_deadline()  # an enclosing job's deadline, if earlier, wins
    deadline = wanted if scoped is None else min(wanted, scoped)
    governor = governor_for(api)
    bounds = PollBounds(options.poll_interval, options.max_poll_interval)
    current = {i: target.run for i, target in enumerate(targets)}
    finished_at: dict[int, float] = {}
    failed_jobs: dict[int, job_watch.WatchedJob] = {}  # runs whose wait ended at a failed job
    slowed: str | None = None

    def still_waiting() -> list[int]:
        return [i for i, run in current.items() if not run.completed and i not in failed_jobs]

    with contextlib.ExitStack() as stack:
        stack.enter_context(api.deadline_scope(deadline))
        for target in targets:
            watched = (target.run.id, target.run.created_at or 0.0)
            stack.enter_context(governor.watch(_key(target.repository), watched))
        watches = {
            i: stack.enter_context(
                job_watch.JobWatch(api, governor, target.repository, target.run.id, options, on_progress)
            )
            for i, target in enumerate(targets)
            if job_watch.wanted(options)
        }
        polled = False
        while True:
            pending = still_waiting()
            if not polled or pending:
                # The first look refreshes what the caller passed (it may be stale); later ones poll.
                looked = pending if polled else [i for i in current if not _fresh(targets[i])]
                fresh = _poll(api, governor, targets, looked) if looked else {}
                for i, run in fresh.items():
                    if _changed(current[i], run):
                        on_progress(_status_event(run, clock.now() - start))
                    current[i] = run
                polled = True
            for i, watch in watches.items():
                if i not in finished_at:  # while its wait goes on, and once as it ends
                    failed = watch.poll(current[i], clock.now() - start)
                    if failed is not None:
                        failed_jobs[i] = failed
            now = clock.now()
            for i, run in current.items():
                if (run.completed or i in failed_jobs) and i not in finished_at:
                    finished_at[i] = now
            pending = still_waiting()
            if not pending or now >= deadline:
                break
            pace = governor.next_poll(bounds)
            pause = min(pace.interval, deadline - now)
            if pace.reason != slowed:
                slowed = pace.reason
                on_progress(_slowed_event(pace, now - start))
            on_progress(_poll_event(targets, current, pending, now - start, pause, pace.reason))
            clock.sleep(pause)

    results: list[WaitedRun] = []
    end = clock.now()
    for i, target in enumerate(targets):
        run = current[i]
        if run.completed:
            allowed = run.conclusion in options.allowed_conclusions
            outcome = Outcome.SUCCESS if allowed else Outcome.CONCLUSION_NOT_ALLOWED
            results.append(WaitedRun(run, outcome, finished_at.get(i, end) - start))
            continue
        if i in failed_jobs:
            job = failed_jobs[i]
            cancelled = options.cancel_on_failure and cancel_after_timeout(
                api, target.repository, run, on_progress, after=f'job "{job.name}" failed'
            )
            results.append(
                WaitedRun(
                    run,
                    Outcome.JOB_FAILED,
                    finished_at[i] - start,
                    cancelled=cancelled,
                    failed_job=job.progress(),
                )
            )
            continue
        cancelled = options.cancel_on_timeout and cancel_after_timeout(
            api, target.repository, run, on_progress
        )
        results.append(WaitedRun(run, Outcome.TIMED_OUT, end - start, cancelled=cancelled))
    return results


def _key(repo: Repository) -> Hashable:
    return ("runs", repo.full_name)


def _poll(
    api: GitHubApi, governor: PollGovernor, targets: Sequence[RunTarget], indices: list[int]
) -> dict[int, WorkflowRun]:
    fresh: dict[int, WorkflowRun] = {}
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(targets[i].repository.full_name, []).append(i)
    for members in groups.values():
        repo = targets[members[0]].repository
        key = _key(repo)
        if len(governor.watched(key)) >= _LIST_FROM:
            listed = governor.read(key, functools.partial(_list_runs, api, repo), now=api.clock.now())
            for i in members:
                run = listed.get(targets[i].run.id)
                if run is not None:
                    fresh[i] = run
        for i in members:
            if i not in fresh:
                fresh[i] = workflow_runs.get_run(api, repo, targets[i].run.id)
    return fresh


def _fresh(target: RunTarget) -> bool:
    return target.fresh and target.run.completed


def _list_runs(api: GitHubApi, repo: Repository, watched: Sequence[Hashable]) -> dict[int, WorkflowRun]:
    """Every watched run of one repository (by any waiter of the process), with one list request
    (a few pages at most), bounded by the creation time of the oldest."""
    wanted: dict[int, float] = {}
    for item in watched:
        run_id, created = cast("tuple[int, float]", item)  # watched so by wait_for_runs
        wanted[run_id] = created
    found: dict[int, WorkflowRun] = {}
    for seen, item in enumerate(
        api.paginate(
            f"{repo.api_path}/actions/runs",
            {"created": workflow_runs.created_since(min(wanted.values()))},
            items_key="workflow_runs",
        ),
        start=1,
    ):
        run_id = int(item["id"])
        if run_id in wanted:
            found[run_id] = WorkflowRun.from_api(item)
            if len(found) == len(wanted):
                break
        if seen >= 100 * _LIST_PAGES:
            break
    return found


def _changed(before: WorkflowRun, after: WorkflowRun) -> bool:
    return (before.status, before.conclusion, before.run_attempt) != (
        after.status,
        after.conclusion,
        after.run_attempt,
    )


def _status_event(run: WorkflowRun, elapsed: float) -> ProgressEvent:
    meaning = STATUS_MEANING.get(run.status, run.status)
    detail = f": {run.conclusion}" if run.completed else ""
    return ProgressEvent(
        ProgressKind.STATUS,
        f"{run.describe()} {meaning}{detail}",
        subject=f"run {run.id}",
        status=run.status,
        elapsed=elapsed,
        url=run.html_url,
    )


def _poll_event(
    targets: Sequence[RunTarget],
    current: Mapping[int, WorkflowRun],
    pending: list[int],
    elapsed: float,
    pause: float,
    slowed: str | None,
) -> ProgressEvent:
    why = f" (slowed: {slowed})" if slowed else ""
    if len(targets) == 1:
        run = current[0]
        message = (
            f"run {run.id} {run.status}, {format_seconds(elapsed)} elapsed; next poll in {pause:.0f}s{why}"
        )
        return ProgressEvent(
            ProgressKind.POLL,
            message,
            subject=f"run {run.id}",
            status=run.status,
            elapsed=elapsed,
            next_poll_in=pause,
            url=run.html_url,
            slowed=slowed,
        )
    message = (
        f"{len(pending)} of {len(targets)} runs still running, {format_seconds(elapsed)} elapsed; "
        f"next poll in {pause:.0f}s{why}"
    )
    return ProgressEvent(
        ProgressKind.POLL, message, subject="runs", elapsed=elapsed, next_poll_in=pause, slowed=slowed
    )


def _slowed_event(pace: Pace, elapsed: float) -> ProgressEvent:
    """Said once when polling slows down (or changes why, or is back to its cadence)."""
    if pace.reason is None:
        message = f"polling every {pace.interval:.0f}s again"
    else:
        message = f"polling slowed to every {pace.interval:.0f}s: {pace.reason}"
    return ProgressEvent(
        ProgressKind.SLOWED, message, elapsed=elapsed, next_poll_in=pace.interval, slowed=pace.reason
    )


def cancel_after_timeout(
    api: GitHubApi,
    repo: Repository,
    run: WorkflowRun,
    on_progress: ProgressCallback,
    *,
    after: str = "the timeout",
) -> bool:
    """Cancel `run` once a deadline has passed (cancel-on-timeout), or once the wait ended at a
    failed job (cancel-on-failure, `after` says which): True if GitHub accepted."""
    try:
        # The wait's deadline may have passed: the cancel gets a few seconds of its own, no more.
        with api.deadline_scope(api.clock.now() + _CANCEL_GRACE, replace=True):
            accepted = workflow_runs.cancel_run(api, repo, run.id)
    except (GitHubApiError, DeadlineExceededError) as exc:
        # The timeout (or the failed job) is what the caller must hear about; the failed cancel is
        # reported beside it.
        on_progress(
            ProgressEvent(
                ProgressKind.CANCELLED,
                f"could not cancel run {run.id}: {exc.message}",
                subject=f"run {run.id}",
            )
        )
        return False
    message = f"cancelled run {run.id} after {after}" if accepted else f"run {run.id} had already completed"
    on_progress(ProgressEvent(ProgressKind.CANCELLED, message, subject=f"run {run.id}", url=run.html_url))
    return accepted
