"""Check runs and check suites: REST "Check runs" and "Check suites". The jobs of workflow runs are
check runs of the GitHub Actions app; a scenario's app check runs come with their own suites."""

from __future__ import annotations

from typing import Any

from wait_and_dispatch.emulator import check_shapes
from wait_and_dispatch.emulator.exchange import Call, Reply, Route, not_found
from wait_and_dispatch.emulator.model import Repo, job_annotations
from wait_and_dispatch.emulator.routes.common import bare_page, page, repo_of, require, resolve_ref

_DOC_CHECKS = "https://docs.github.com/rest/checks/runs"


def _all_check_runs(call: Call, repo: Repo, sha: str, now: float) -> list[tuple[int, float, dict[str, Any]]]:
    """(suite id, start time, body) of every check run on `sha`: jobs that have started and
    the scenario's app check runs."""
    out: list[tuple[int, float, dict[str, Any]]] = []
    for run in repo.runs:
        if run.head_sha != sha or not run.exists(now):
            continue
        for attempt in run.attempts:
            for job, job_state in call.state.job_states(run, attempt, now):
                out.append(
                    (
                        attempt.check_suite_id,
                        job_state.started_at,
                        check_shapes.job_check_run(run, attempt, job, job_state, call.urls),
                    )
                )
    for cr in repo.check_runs:
        if cr.spec.head_sha == sha:
            state = cr.state(now)
            if state is not None:
                out.append(
                    (cr.suite_id, cr.created_at, check_shapes.app_check_run(repo, cr, state, call.urls))
                )
    return out


def _check_run_list(call: Call, runs: list[tuple[int, float, dict[str, Any]]]) -> Reply:
    args = call.request.args
    name = args.get("check_name")
    status = args.get("status")
    app_id = args.get("app_id")
    if name is not None:
        runs = [r for r in runs if r[2]["name"] == name]
    if status is not None:
        runs = [r for r in runs if r[2]["status"] == status]
    if app_id is not None:
        runs = [r for r in runs if str(r[2]["app"]["id"]) == app_id]
    if args.get("filter", "latest") == "latest":
        # `latest` keeps the most recent check run per name *within each check suite*
        # (lewagon/wait-on-check-action PR #156).
        newest: dict[tuple[int, str], tuple[int, float, dict[str, Any]]] = {}
        for item in runs:
            key = (item[0], item[2]["name"])
            if key not in newest or (item[1], item[2]["id"]) > (newest[key][1], newest[key][2]["id"]):
                newest[key] = item
        runs = [r for r in runs if newest[(r[0], r[2]["name"])] is r]
    runs.sort(key=lambda r: (r[1], r[2]["id"]), reverse=True)
    return page(call, [r[2] for r in runs], "check_runs")


def list_ref_check_runs(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "checks", "read")
    sha = resolve_ref(call, repo)
    return _check_run_list(call, _all_check_runs(call, repo, sha, call.now))


def _suites(call: Call, repo: Repo, sha: str | None, now: float) -> list[tuple[float, dict[str, Any]]]:
    out: list[tuple[float, dict[str, Any]]] = []
    for run in repo.runs:
        if (sha is not None and run.head_sha != sha) or not run.exists(now):
            continue
        for attempt in run.attempts:
            status, conclusion, changed = attempt.status_at(now)
            suite_status = (
                "completed"
                if status == "completed"
                else ("in_progress" if status == "in_progress" else "queued")
            )
            out.append(
                (
                    attempt.origin,
                    check_shapes.check_suite(
                        repo,
                        attempt.check_suite_id,
                        run.head_sha,
                        run.head_branch,
                        suite_status,
                        conclusion,
                        attempt.origin,
                        changed,
                        "github-actions",
                        15368,
                        len(call.state.job_states(run, attempt, now)),
                        call.urls,
                    ),
                )
            )
    slugs = {app_id: slug for slug, app_id in call.state.app_ids.items()}
    for (app_id, suite_sha), suite_id in repo.app_suites.items():
        if sha is not None and suite_sha != sha:
            continue
        members = [(cr, cr.state(now)) for cr in repo.check_runs if cr.suite_id == suite_id]
        states = [s for _, s in members if s is not None]
        created_at = [cr.created_at for cr, _ in members] + [
            t for t in (repo.app_suite_created.get(suite_id),) if t is not None
        ]
        created = min(created_at)
        if now < created:
            continue
        # GitHub derives an app suite's status from its check runs: `queued` until one starts,
        # and forever for an app that never creates one (the recording
        # CheckSuite.testGetCheckSuitesForRef: dependabot, prosebot2 queued with
        # latest_check_runs_count 0 days after the push); `completed` once all have.
        conclusion = None
        if not states or all(s.status == "queued" for s in states):
            status = "queued"
        elif all(s.status == "completed" for s in states):
            status = "completed"
            order = (
                "action_required",
                "cancelled",
                "timed_out",
                "failure",
                "neutral",
                "skipped",
                "success",
            )
            conclusion = min((s.conclusion or "success" for s in states), key=order.index)
        else:
            status = "in_progress"
        updated = max([created] + [s.completed_at or s.started_at or created for s in states])
        branch = next((b for b, s in repo.branches.items() if s == suite_sha), None)
        out.append(
            (
                created,
                check_shapes.check_suite(
                    repo,
                    suite_id,
                    suite_sha,
                    branch,
                    status,
                    conclusion,
                    created,
                    min(now, updated),
                    slugs.get(app_id, "external-ci"),
                    app_id,
                    len(states),
                    call.urls,
                ),
            )
        )
    return out


def list_ref_check_suites(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "checks", "read")
    sha = resolve_ref(call, repo)
    suites = _suites(call, repo, sha, call.now)
    app_id = call.request.args.get("app_id")
    if app_id is not None:
        suites = [s for s in suites if str(s[1]["app"]["id"]) == app_id]
    suites.sort(key=lambda s: (s[0], s[1]["id"]), reverse=True)
    return page(call, [s[1] for s in suites], "check_suites")


def get_check_suite(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "checks", "read")
    for _, suite in _suites(call, repo, None, call.now):
        if suite["id"] == call.args["check_suite_id"]:
            return Reply(200, suite)
    raise not_found("https://docs.github.com/rest/checks/suites#get-a-check-suite")


def list_suite_check_runs(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "checks", "read")
    suite_id = call.args["check_suite_id"]
    shas = {run.head_sha for run in repo.runs for a in run.attempts if a.check_suite_id == suite_id}
    shas |= {sha for (_, sha), sid in repo.app_suites.items() if sid == suite_id}
    if not shas:
        raise not_found("https://docs.github.com/rest/checks/runs#list-check-runs-in-a-check-suite")
    runs = [r for r in _all_check_runs(call, repo, shas.pop(), call.now) if r[0] == suite_id]
    return _check_run_list(call, runs)


def get_check_run(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "checks", "read")
    wanted = call.args["check_run_id"]
    found = call.state.jobs.get(wanted)
    if found is not None and found[0].repo is repo:
        run, attempt, job = found
        job_state = attempt.job_state(job, call.now)
        if job_state is not None and run.exists(call.now):
            return Reply(200, check_shapes.job_check_run(run, attempt, job, job_state, call.urls))
    for cr in repo.check_runs:
        state = cr.state(call.now)
        if cr.id == wanted and state is not None:
            return Reply(200, check_shapes.app_check_run(repo, cr, state, call.urls))
    raise not_found(_DOC_CHECKS + "#get-a-check-run")


def list_annotations(call: Call) -> Reply:
    """checks/list-annotations: a job's annotations (a job's id is its check run's id) or an app
    check run's, in the order they were made, paginated like every list (per_page, Link); the
    answer is a bare array (the recording CheckRun.testListCheckRunAnnotations)."""
    repo = repo_of(call)
    require(call, repo, "checks", "read")
    wanted = call.args["check_run_id"]
    items: list[dict[str, Any]] | None = None
    found = call.state.jobs.get(wanted)
    if found is not None and found[0].repo is repo and found[0].exists(call.now):
        run, attempt, job = found
        job_state = attempt.job_state(job, call.now)
        if job_state is not None:
            notes = job_annotations(job, job_state)
            items = [check_shapes.annotation(repo, run.head_sha, n, call.urls) for n in notes]
    for cr in repo.check_runs:
        state = cr.state(call.now)
        if cr.id == wanted and state is not None:
            notes = cr.spec.annotations if state.status == "completed" else ()
            items = [check_shapes.annotation(repo, cr.spec.head_sha, n, call.urls) for n in notes]
    if items is None:
        raise not_found(_DOC_CHECKS + "#list-check-run-annotations")
    return bare_page(call, items)


# -- module helpers ----------------------------------------------------------------------------


ROUTES = (
    Route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", list_ref_check_runs),
    Route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-suites", list_ref_check_suites),
    Route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", get_check_run),
    Route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", list_annotations),
    Route("GET", "/repos/{owner}/{repo}/check-suites/{check_suite_id}", get_check_suite),
    Route("GET", "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs", list_suite_check_runs),
)
