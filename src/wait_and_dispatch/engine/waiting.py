"""Wait for workflow runs to complete: conditional polling on one shared schedule.

One schedule serves every run being waited for, and runs in the same repository are read with
one list request per poll rather than one request each, so fifty runs do not cost fifty times
the requests. Polls whose answer has not changed are 304s and cost no rate limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wait_and_dispatch.engine import runs as runs_api
from wait_and_dispatch.engine.model import (
    Outcome,
    ProgressCallback,
    ProgressEvent,
    ProgressKind,
    Repository,
    WaitOptions,
    WorkflowRun,
    format_seconds,
    ignore_progress,
)
from wait_and_dispatch.engine.polling import PollSchedule, expected_duration
from wait_and_dispatch.errors import GitHubApiError
from wait_and_dispatch.github_api import GitHubApi

# What each status means for a person waiting (GITHUB-FACTS "Finding runs").
STATUS_MEANING = {
    "requested": "requested",
    "queued": "queued, waiting for a runner",
    "pending": "pending behind a concurrency group",
    "waiting": "waiting for an environment approval",
    "in_progress": "in progress",
    "completed": "completed",
}
# With this many runs to read in one repository, one list request replaces the per-run reads.
_LIST_FROM = 2
_LIST_PAGES = 3  # at most this many pages of the list per poll; runs not on them are read one by one


@dataclass(frozen=True)
class WaitedRun:
    run: WorkflowRun  # the last snapshot: completed, or as it was when the wait timed out
    outcome: Outcome
    waited: float
    cancelled: bool = False


@dataclass(frozen=True)
class RunTarget:
    repository: Repository
    run: WorkflowRun


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
    """Wait until every run completes or the timeout passes; results in the order of `targets`."""
    clock = api.clock
    start = clock.now()
    deadline = start + options.timeout if deadline is None else deadline
    current = {i: target.run for i, target in enumerate(targets)}
    finished_at: dict[int, float] = {}
    schedule = PollSchedule(first=options.poll_interval, maximum=options.max_poll_interval)
    expected_ends: dict[int, tuple[float, float]] = {}  # run index -> (likely end, spread)
    history_read = False
    polled = False
    while True:
        pending = [i for i, run in current.items() if not run.completed]
        if not polled or pending:
            # The first look refreshes what the caller passed (it may be stale); later ones poll.
            fresh = _poll(api, targets, pending if polled else list(current), deadline)
            for i, run in fresh.items():
                if _changed(current[i], run):
                    schedule.changed()
                    on_progress(_status_event(run, clock.now() - start))
                current[i] = run
            polled = True
        now = clock.now()
        for i, run in current.items():
            if run.completed and i not in finished_at:
                finished_at[i] = now
        pending = [i for i, run in current.items() if not run.completed]
        if not pending or now >= deadline:
            break
        if options.use_history and not history_read:
            expected_ends = _expected_ends(api, targets, pending, current, deadline, now)
            history_read = True
        # The soonest window still open sets the pace; once every window has passed, back off.
        windows = [expected_ends[i] for i in pending if i in expected_ends and sum(expected_ends[i]) > now]
        soonest = min(windows, default=None)
        schedule.expected_end, schedule.spread = soonest if soonest else (None, 0.0)
        pause = min(schedule.next_interval(now), deadline - now)
        on_progress(_poll_event(targets, current, pending, now - start, pause))
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
        cancelled = options.cancel_on_timeout and _cancel(api, target.repository, run, on_progress)
        results.append(WaitedRun(run, Outcome.TIMED_OUT, end - start, cancelled=cancelled))
    return results


def _poll(
    api: GitHubApi, targets: Sequence[RunTarget], indices: list[int], deadline: float
) -> dict[int, WorkflowRun]:
    fresh: dict[int, WorkflowRun] = {}
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(targets[i].repository.full_name, []).append(i)
    for members in groups.values():
        repo = targets[members[0]].repository
        if len(members) >= _LIST_FROM:
            fresh.update(_poll_list(api, repo, targets, members, deadline))
        for i in members:
            if i not in fresh:
                fresh[i] = runs_api.get_run(api, repo, targets[i].run.id, deadline=deadline)
    return fresh


def _poll_list(
    api: GitHubApi, repo: Repository, targets: Sequence[RunTarget], members: list[int], deadline: float
) -> dict[int, WorkflowRun]:
    """Read many runs of one repository with one list request (a few pages at most)."""
    wanted = {targets[i].run.id: i for i in members}
    oldest = min((targets[i].run.created_at or 0.0) for i in members)
    created = runs_api.created_since(oldest)
    found: dict[int, WorkflowRun] = {}
    for seen, item in enumerate(
        api.paginate(
            f"{repo.api_path}/actions/runs",
            {"created": created},
            items_key="workflow_runs",
            deadline=deadline,
        ),
        start=1,
    ):
        index = wanted.get(int(item["id"]))
        if index is not None:
            found[index] = WorkflowRun.from_api(item)
            if len(found) == len(wanted):
                break
        if seen >= 100 * _LIST_PAGES:
            break
    return found


def _expected_ends(
    api: GitHubApi,
    targets: Sequence[RunTarget],
    pending: list[int],
    current: Mapping[int, WorkflowRun],
    deadline: float,
    now: float,
) -> dict[int, tuple[float, float]]:
    """When each pending run will likely finish (its start plus its workflow's median duration),
    and the spread of recent durations around that median."""
    medians: dict[tuple[str, int], tuple[float, float] | None] = {}
    ends: dict[int, tuple[float, float]] = {}
    for i in pending:
        run = current[i]
        key = (targets[i].repository.full_name, run.workflow_id)
        if key not in medians:
            durations = runs_api.recent_durations(
                api, targets[i].repository, run.workflow_id, deadline=deadline
            )
            medians[key] = expected_duration(durations)
        expected = medians[key]
        if expected is not None:
            began = run.run_started_at or run.created_at or now
            ends[i] = (began + expected[0], expected[1])
    return ends


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
) -> ProgressEvent:
    if len(targets) == 1:
        run = current[0]
        message = f"run {run.id} {run.status}, {format_seconds(elapsed)} elapsed; next poll in {pause:.0f}s"
        return ProgressEvent(
            ProgressKind.POLL,
            message,
            subject=f"run {run.id}",
            status=run.status,
            elapsed=elapsed,
            next_poll_in=pause,
            url=run.html_url,
        )
    message = (
        f"{len(pending)} of {len(targets)} runs still running, {format_seconds(elapsed)} elapsed; "
        f"next poll in {pause:.0f}s"
    )
    return ProgressEvent(ProgressKind.POLL, message, subject="runs", elapsed=elapsed, next_poll_in=pause)


def _cancel(api: GitHubApi, repo: Repository, run: WorkflowRun, on_progress: ProgressCallback) -> bool:
    try:
        accepted = runs_api.cancel_run(api, repo, run.id)
    except GitHubApiError as exc:
        # The timeout is what the caller must hear about; the failed cancel is reported beside it.
        on_progress(
            ProgressEvent(
                ProgressKind.CANCELLED,
                f"could not cancel run {run.id}: {exc.message}",
                subject=f"run {run.id}",
            )
        )
        return False
    message = (
        f"cancelled run {run.id} after the timeout" if accepted else f"run {run.id} had already completed"
    )
    on_progress(ProgressEvent(ProgressKind.CANCELLED, message, subject=f"run {run.id}", url=run.html_url))
    return accepted
