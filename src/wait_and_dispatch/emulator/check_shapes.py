"""JSON bodies with GitHub's shapes for check runs, check suites and the apps behind them (the
GitHub Actions app, a scenario's apps, GitHub Apps and their installations); the rest are in
shapes.py, whose rules these follow."""

from __future__ import annotations

from typing import Any

from wait_and_dispatch.emulator.model import (
    ACTIONS_APP,
    AppCheckRun,
    Attempt,
    Job,
    JobState,
    Repo,
    Run,
    job_annotations,
)
from wait_and_dispatch.emulator.shapes import Urls, iso, node_id, repo_minimal, stable_tree, user
from wait_and_dispatch.emulator.specs import AnnotationSpec, GitHubAppSpec, InstallationSpec


def app(slug: str, app_id: int, urls: Urls) -> dict[str, Any]:
    """OpenAPI `integration` (the `app` of a check run or suite)."""
    owner = "github" if slug == ACTIONS_APP.slug else slug
    return {
        "id": app_id,
        "slug": slug,
        "node_id": node_id("A_", app_id),
        "client_id": f"Iv1.{app_id:016x}",
        "owner": user(owner, urls),
        "name": "GitHub Actions" if slug == ACTIONS_APP.slug else slug,
        "description": "",
        "external_url": f"{urls.web}/apps/{slug}",
        "html_url": f"{urls.web}/apps/{slug}",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {"actions": "write", "checks": "write", "contents": "write", "metadata": "read"},
        "events": ["check_run", "check_suite", "workflow_run"],
    }


def github_app(spec: GitHubAppSpec, urls: Urls) -> dict[str, Any]:
    """OpenAPI `integration` for an App of the scenario's `apps:` (GET /app)."""
    shape = app(spec.slug, spec.id, urls)
    permissions = {scope: level for i in spec.installations for scope, level in i.permissions.items()}
    shape["permissions"] = {**permissions, "metadata": "read"}
    shape["events"] = []
    shape["installations_count"] = len(spec.installations)
    return shape


def installation(spec: GitHubAppSpec, inst: InstallationSpec, urls: Urls) -> dict[str, Any]:
    """OpenAPI `installation` (GET /repos/{o}/{r}/installation and friends)."""
    account = user(inst.account, urls)
    return {
        "id": inst.id,
        "account": account,
        "repository_selection": "all" if inst.repos is None else "selected",
        "access_tokens_url": f"{urls.api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{urls.api}/installation/repositories",
        "html_url": f"{urls.web}/settings/installations/{inst.id}",
        "app_id": spec.id,
        "client_id": f"Iv1.{spec.id:016x}",
        "app_slug": spec.slug,
        "target_id": account["id"],
        "target_type": "User",
        "permissions": {**inst.permissions, "metadata": "read"},
        "events": [],
        "created_at": "2024-01-02T03:04:05Z",
        "updated_at": "2024-01-02T03:04:05Z",
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def check_run(
    repo: Repo,
    run_id: int,
    name: str,
    head_sha: str,
    suite_id: int,
    state: JobState,
    app_slug: str,
    app_id: int,
    details_url: str | None,
    urls: Urls,
    output: tuple[str | None, str | None, int] = (None, None, 0),
) -> dict[str, Any]:
    """OpenAPI checks/get (`check-run`); key order of CheckRun.testGetCheckRunsForRef. `output` is
    its title, summary and number of annotations."""
    api = f"{urls.api}/repos/{repo.full_name}/check-runs/{run_id}"
    title, summary, annotations_count = output
    return {
        "id": run_id,
        "name": name,
        "node_id": node_id("CR_", run_id),
        "head_sha": head_sha,
        "external_id": "",
        "url": api,
        "html_url": f"{urls.web}/{repo.full_name}/runs/{run_id}",
        "details_url": details_url or f"{urls.web}/{repo.full_name}/runs/{run_id}",
        "status": state.status,
        "conclusion": state.conclusion,
        "started_at": iso(state.started_at),
        "completed_at": iso(state.completed_at),
        "output": {
            "title": title,
            "summary": summary,
            "text": None,
            "annotations_count": annotations_count,
            "annotations_url": f"{api}/annotations",
        },
        "check_suite": {"id": suite_id},
        "app": app(app_slug, app_id, urls),
        "pull_requests": [],
    }


def job_output(job_: Job, state: JobState) -> tuple[str | None, str | None, int]:
    """A job's check run output, as GitHub Actions fills it: nothing until the job has annotations,
    then the job's name and a count of them by level (the recording CheckRun.testGetCheckRunsForRef:
    "test (Python 3.6)", "There are 1 failures, 0 warnings, and 0 notices.")."""
    notes = job_annotations(job_, state)
    if not notes:
        return None, None, 0
    count = {level: sum(n.level == level for n in notes) for level in ("failure", "warning", "notice")}
    summary = (
        f"There are {count['failure']} failures, {count['warning']} warnings, and {count['notice']} notices."
    )
    return job_.name, summary, len(notes)


def app_output(cr: AppCheckRun, state: JobState) -> tuple[str | None, str | None, int]:
    """An app's check run output: what the scenario says the app wrote, once it completed."""
    if state.status != "completed":
        return None, None, 0
    return cr.spec.output_title, cr.spec.output_summary, len(cr.spec.annotations)


def annotation(repo: Repo, head_sha: str, note: AnnotationSpec, urls: Urls) -> dict[str, Any]:
    """OpenAPI checks/list-annotations item (`check-annotation`); key order of the recording
    CheckRun.testListCheckRunAnnotations."""
    return {
        "path": note.path,
        "blob_href": f"{urls.web}/{repo.full_name}/blob/{head_sha}/{note.path}",
        "start_line": note.start_line,
        "start_column": note.start_column,
        "end_line": note.end_line,
        "end_column": note.end_column,
        "annotation_level": note.level,
        "title": note.title,
        "message": note.message,
        "raw_details": note.raw_details,
    }


def job_check_run(run: Run, attempt: Attempt, job_: Job, state: JobState, urls: Urls) -> dict[str, Any]:
    # A job's check run has the job's id (WorkflowRun.test_jobs: check_run_url ends in the job id).
    details = f"{urls.web}/{run.repo.full_name}/actions/runs/{run.id}/job/{job_.id}"
    return check_run(
        run.repo,
        job_.id,
        job_.name,
        run.head_sha,
        attempt.check_suite_id,
        state,
        ACTIONS_APP.slug,
        ACTIONS_APP.id or 15368,
        details,
        urls,
        job_output(job_, state),
    )


def app_check_run(repo: Repo, cr: AppCheckRun, state: JobState, urls: Urls) -> dict[str, Any]:
    return check_run(
        repo,
        cr.id,
        cr.spec.name,
        cr.spec.head_sha,
        cr.suite_id,
        state,
        cr.spec.app.slug,
        cr.app_id,
        None,
        urls,
        app_output(cr, state),
    )


def check_suite(
    repo: Repo,
    suite_id: int,
    head_sha: str,
    head_branch: str | None,
    status: str,
    conclusion: str | None,
    created: float,
    updated: float,
    app_slug: str,
    app_id: int,
    runs_count: int,
    urls: Urls,
) -> dict[str, Any]:
    """OpenAPI checks/list-suites-for-ref item (`check-suite`)."""
    commit = repo.commit(head_sha)
    api = f"{urls.api}/repos/{repo.full_name}/check-suites/{suite_id}"
    return {
        "id": suite_id,
        "node_id": node_id("CS_", suite_id),
        "head_branch": head_branch,
        "head_sha": head_sha,
        "status": status,
        "conclusion": conclusion,
        "url": api,
        "before": "0" * 40,
        "after": head_sha,
        "pull_requests": [],
        "app": app(app_slug, app_id, urls),
        "created_at": iso(created),
        "updated_at": iso(updated),
        "rerequestable": True,
        "runs_rerequestable": False,
        "latest_check_runs_count": runs_count,
        "check_runs_url": f"{api}/check-runs",
        "head_commit": {
            "id": head_sha,
            "tree_id": stable_tree(head_sha),
            "message": commit.message,
            "timestamp": iso(repo.created_at),
            "author": {"name": commit.author, "email": commit.email},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        },
        "repository": repo_minimal(repo.full_name, repo.id, repo.spec.private, urls),
    }
