"""Workflow runs: REST "Workflow runs" (lists and their filters, a run, its attempts and timing,
cancel, re-run, delete). A run's jobs are in `jobs`, its artifacts in `artifacts`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.blob_urls import run_logs_path, sign_log_url
from wait_and_dispatch.emulator.exchange import ApiError, Call, Reply, Route, invalid, not_found
from wait_and_dispatch.emulator.model import Attempt, Repo, Run
from wait_and_dispatch.emulator.routes.common import (
    DOC_RUNS,
    int_arg,
    page,
    repo_of,
    require,
    run_of,
    storage_redirect,
    workflow_of,
)

RUN_STATUSES = ("requested", "queued", "pending", "waiting", "in_progress", "completed")


def _visible_runs(repo: Repo, now: float) -> list[Run]:
    # Dispatched runs reach list endpoints after dispatch_visibility_delay
    # (apache/airflow PR #71305).
    runs = [r for r in repo.runs if r.exists(now) and now >= r.visible_at]
    return sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)


def _run_json(call: Call, run: Run, attempt: Attempt, now: float) -> dict[str, Any]:
    return shapes.workflow_run(call.state, run, attempt, now, call.urls)


def _filter_runs(call: Call, runs: list[Run]) -> Reply:
    """The filters of REST "List workflow runs for a repository" (`status` takes a status or a
    conclusion, `created` the search date syntax)."""
    args = call.request.args
    now = call.now - call.state.options.list_status_lag  # what the list shows (specs.Options)
    out = runs
    filtered = False
    for key in ("head_sha", "event", "branch", "actor", "status", "created", "check_suite_id"):
        value = args.get(key)
        if value is None or value == "":
            continue
        filtered = True
        if key == "head_sha":
            out = [r for r in out if r.head_sha == value]
        elif key == "event":
            out = [r for r in out if r.event == value]
        elif key == "branch":
            out = [r for r in out if r.head_branch == value]
        elif key == "actor":
            out = [r for r in out if r.actor.lower() == value.lower()]
        elif key == "status":
            # `status` takes a status or a conclusion (OpenAPI enum).
            def matches(run: Run, wanted: str = value) -> bool:
                status, conclusion, _ = run.latest.status_at(now)
                return wanted == (status if wanted in RUN_STATUSES else conclusion)

            out = [r for r in out if matches(r)]
        elif key == "check_suite_id":
            suite = int_arg(value, -1)
            out = [r for r in out if any(a.check_suite_id == suite for a in r.attempts)]
        elif key == "created":
            low, high = parse_created(value)
            # 1-second precision (Alfresco/alfresco-build-tools PR #1407).
            out = [r for r in out if low <= int(r.created_at) <= high]
    if filtered:
        # REST "List workflow runs for a repository": "returns up to 1,000 results for each search
        # when using" the filters.
        out = out[:1000]
    return page(call, [_run_json(call, r, r.latest, now) for r in out], "workflow_runs")


def list_workflow_runs(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    wf = workflow_of(call, repo)
    return _filter_runs(call, [r for r in _visible_runs(repo, call.now) if r.workflow is wf])


def list_repo_runs(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    return _filter_runs(call, _visible_runs(repo, call.now))


def get_run(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    run = run_of(call, repo)
    return Reply(200, _run_json(call, run, run.latest, call.now))


def download_run_logs(call: Call) -> Reply:
    """actions/download-workflow-run-logs: 302 to a zip of the latest attempt's logs on the storage
    host (emulator/job_logs.py), a URL that "expires after 1 minute" (its description). A run still
    running has no archive here (unverified: what GitHub answers then)."""
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    run = run_of(call, repo)
    if call.now < run.latest.end:
        raise not_found(DOC_RUNS + "#download-workflow-run-logs")
    return storage_redirect(call, sign_log_url, run_logs_path(run.id, run.latest.number))


def delete_run(call: Call) -> Reply:
    repo = repo_of(call)
    run = run_of(call, repo)
    require(call, repo, "actions", "write")
    run.deleted = True
    return Reply(204)


def get_run_attempt(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    run = run_of(call, repo)
    attempt = run.attempt(call.args["attempt_number"])
    if attempt is None:
        raise not_found(DOC_RUNS + "#get-a-workflow-run-attempt")
    return Reply(200, _run_json(call, run, attempt, call.now))


def get_run_timing(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    run = run_of(call, repo)
    attempt = run.latest
    status, _, _ = attempt.status_at(call.now)
    body: dict[str, Any] = {"billable": {}}
    if status == "completed":
        body["run_duration_ms"] = int((attempt.end - attempt.origin) * 1000)
    return Reply(200, body)


def cancel_run(call: Call) -> Reply:
    repo = repo_of(call)
    run = run_of(call, repo)
    require(call, repo, "actions", "write")
    if not call.state.cancel(run):
        # actions/cancel-workflow-run: 409 when the run already completed.
        raise ApiError(
            409, "Cannot cancel a workflow run that is completed.", DOC_RUNS + "#cancel-a-workflow-run"
        )
    return Reply(202, {})


def force_cancel_run(call: Call) -> Reply:
    repo = repo_of(call)
    run = run_of(call, repo)
    require(call, repo, "actions", "write")
    if not call.state.cancel(run):
        raise ApiError(
            409,
            "Cannot cancel a workflow run that is completed.",
            DOC_RUNS + "#force-cancel-a-workflow-run",
        )
    return Reply(202, {})


def _rerun_common(call: Call, failed_only: bool) -> Reply:
    repo = repo_of(call)
    run = run_of(call, repo)
    require(call, repo, "actions", "write")
    if run.latest.status_at(call.now)[0] != "completed":
        # Wording unverified: GitHub refuses to re-run a run that is still going.
        raise ApiError(403, "This workflow is already running", DOC_RUNS + "#re-run-a-workflow")
    actor = call.token.actor if call.token else "octocat"
    if not call.state.rerun(run, actor, failed_only):
        raise ApiError(
            403,
            "This workflow run has no failed jobs to re-run",  # wording unverified
            DOC_RUNS + "#re-run-failed-jobs-from-a-workflow-run",
        )
    # actions/re-run-workflow: 201 with `{}` (WorkflowRun.test_rerun_failed_jobs).
    return Reply(201, {})


def rerun_run(call: Call) -> Reply:
    return _rerun_common(call, False)


def rerun_failed_jobs(call: Call) -> Reply:
    return _rerun_common(call, True)


def parse_created(value: str) -> tuple[int, int]:
    """The `created` filter in GitHub search date syntax (GitHub docs "Understanding the search
    syntax", "Query for dates"): `>=D`, `>D`, `<=D`, `<D`, `A..B` (`*` open), or `D`; D is a
    date or a date-time, UTC unless it carries an offset. Bounds are inclusive epoch seconds."""
    value = value.strip()
    lo, hi = -(2**62), 2**62

    def bounds(text: str) -> tuple[int, int]:
        text = text.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
                start = int(day.timestamp())
                return start, start + 86399
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise invalid(
                f"Invalid value for created: {value!r}",  # wording unverified
                DOC_RUNS + "#list-workflow-runs-for-a-repository",
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        second = int(parsed.timestamp())
        if parsed.second == 0 and re.fullmatch(r".*T\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?", text):
            return second, second + 59  # minute precision given: the whole minute
        return second, second

    if ".." in value:
        left, right = value.split("..", 1)
        if left.strip() != "*":
            lo = bounds(left)[0]
        if right.strip() != "*":
            hi = bounds(right)[1]
        return lo, hi
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            first, last = bounds(value[len(op) :])
            return {">=": (first, hi), ">": (last + 1, hi), "<=": (lo, last), "<": (lo, first - 1)}[op]
    return bounds(value)


ROUTES = (
    Route("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", list_workflow_runs),
    Route("GET", "/repos/{owner}/{repo}/actions/runs", list_repo_runs),
    Route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}", get_run),
    Route("DELETE", "/repos/{owner}/{repo}/actions/runs/{run_id}", delete_run),
    Route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}", get_run_attempt),
    Route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/timing", get_run_timing),
    Route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/logs", download_run_logs),
    Route("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel", cancel_run),
    Route("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/force-cancel", force_cancel_run),
    Route("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun", rerun_run),
    Route("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs", rerun_failed_jobs),
)
