"""A run's jobs: REST "Workflow jobs"."""

from __future__ import annotations

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.blob_urls import job_log_path, sign_log_url
from wait_and_dispatch.emulator.exchange import Call, Reply, Route, not_found
from wait_and_dispatch.emulator.model import Attempt, Job, JobState, Run
from wait_and_dispatch.emulator.routes.common import (
    DOC_RUNS,
    page,
    repo_of,
    require,
    run_of,
    storage_redirect,
)


def _jobs_reply(call: Call, run: Run, attempts: list[Attempt]) -> Reply:
    items = []
    for attempt in attempts:
        for job, job_state in call.state.job_states(run, attempt, call.now):
            items.append(shapes.job(run, attempt, job, job_state, call.now, call.urls))
    return page(call, items, "jobs")


def list_run_jobs(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    run = run_of(call, repo)
    # Only the latest attempt's jobs unless filter=all (REST "List jobs for a workflow run":
    # `filter` defaults to `latest`).
    if call.request.args.get("filter", "latest") == "all":
        return _jobs_reply(call, run, list(run.attempts))
    return _jobs_reply(call, run, [run.latest])


def list_attempt_jobs(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    run = run_of(call, repo)
    attempt = run.attempt(call.args["attempt_number"])
    if attempt is None:
        raise not_found(DOC_RUNS + "#list-jobs-for-a-workflow-run-attempt")
    return _jobs_reply(call, run, [attempt])


_DOC_JOB = "https://docs.github.com/rest/actions/workflow-jobs#get-a-job-for-a-workflow-run"
_DOC_JOB_LOGS = "https://docs.github.com/rest/actions/workflow-jobs#download-job-logs-for-a-workflow-run"


def _job_of(call: Call, doc: str) -> tuple[Run, Attempt, Job, JobState]:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    found = call.state.jobs.get(call.args["job_id"])
    if found is None or found[0].repo is not repo or not found[0].exists(call.now):
        raise not_found(doc)
    run, attempt, job = found
    job_state = attempt.job_state(job, call.now)
    if job_state is None:
        raise not_found(doc)
    return run, attempt, job, job_state


def get_job(call: Call) -> Reply:
    run, attempt, job, job_state = _job_of(call, _DOC_JOB)
    return Reply(200, shapes.job(run, attempt, job, job_state, call.now, call.urls))


def download_job_logs(call: Call) -> Reply:
    """actions/download-job-logs-for-workflow-run: 302 to a plain-text log on the storage host,
    a URL that "expires after 1 minute" (its description), as an artifact's does. A job still
    running has no log here (unverified: what GitHub answers then)."""
    _, _, job, job_state = _job_of(call, _DOC_JOB_LOGS)
    if job_state.completed_at is None:
        raise not_found(_DOC_JOB_LOGS)
    return storage_redirect(call, sign_log_url, job_log_path(job.id))


ROUTES = (
    Route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs", list_run_jobs),
    Route(
        "GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs", list_attempt_jobs
    ),
    Route("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}", get_job),
    Route("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs", download_job_logs),
)
