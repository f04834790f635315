"""Workflows and their runs: resolve a workflow as the user names it, find runs by head SHA, read
one run, learn how long runs usually take, cancel.
"""

from __future__ import annotations

import datetime
import math
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from wait_and_dispatch.engine.github_objects import Repository, Workflow, WorkflowRun, answer_field
from wait_and_dispatch.engine.workflow_file import (
    JobNames,
    WorkflowDefinition,
    decode_contents,
    parse_workflow,
    parse_workflow_jobs,
)
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import GitHubApiError, NotFoundError, RateLimitExceededError, UsageError

_SHA = re.compile(r"^[0-9a-f]{40}$")
_WORKFLOW_FILE = re.compile(r"\.ya?ml$", re.IGNORECASE)
WORKFLOWS_DIR = ".github/workflows/"
_LISTED = 12  # workflows named in a "not found" message


def resolve_workflow(
    api: GitHubApi, repo: Repository, workflow: str, *, deadline: float | None = None
) -> Workflow:
    """A workflow by file name (`deploy.yml`), path (`.github/workflows/deploy.yml`), id, or name.

    GitHub's workflow endpoints take the id or the file name only (OpenAPI
    `actions/get-workflow`: "workflow_id: The ID of the workflow. You can also pass the workflow
    file name as a string"), so a path is reduced to its file name and a display name is looked
    up in the list.
    """
    wanted = workflow.strip()
    if not wanted:
        raise UsageError("no workflow given", hint="name it by file (deploy.yml), path, id, or name")
    if wanted.isdigit() or _WORKFLOW_FILE.search(wanted):
        key = wanted.rsplit("/", 1)[-1]
        try:
            return Workflow.from_api(
                api.get(f"{repo.api_path}/actions/workflows/{key}", deadline=deadline).data
            )
        except NotFoundError:
            workflows = list_workflows(api, repo, deadline=deadline)
            raise _not_found(repo, wanted, workflows) from None
    workflows = list_workflows(api, repo, deadline=deadline)
    exact = [w for w in workflows if w.name == wanted]
    matches = exact or [w for w in workflows if w.name.casefold() == wanted.casefold()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(
            f"{len(matches)} workflows in {repo} are named {wanted!r}: " + ", ".join(w.path for w in matches),
            hint="name the workflow by its file instead, e.g. " + matches[0].file_name,
        )
    raise _not_found(repo, wanted, workflows)


def named_by_file(workflow: str) -> bool:
    """True when the user named the workflow by its file (`deploy.yml` or its path)."""
    return bool(_WORKFLOW_FILE.search(workflow.strip()))


def workflow_from_file_name(workflow: str) -> Workflow:
    """A workflow named by its file, without asking GitHub: its id is not needed, since the
    workflow endpoints take the file name (OpenAPI `actions/get-workflow`), and workflow files
    live directly in `.github/workflows/` (workflow syntax docs)."""
    file_name = workflow.strip().rsplit("/", 1)[-1]
    return Workflow(id=None, name="", path=WORKFLOWS_DIR + file_name, state="active")


@dataclass(frozen=True)
class WorkflowFile:
    """A read of a workflow file: what it says (None: unreadable) and, when the server is GitHub
    Enterprise Server, its version (the `X-GitHub-Enterprise-Version` header of the answer)."""

    definition: WorkflowDefinition | None
    enterprise_version: str | None = None


def read_workflow_file(
    api: GitHubApi, repo: Repository, path: str, ref: str, *, deadline: float | None = None
) -> WorkflowFile:
    """The workflow file as it is on `ref` (`GET /repos/{o}/{r}/contents/{path}?ref=`); its
    definition is None when it cannot be read.

    Conditional, like every read: reading it again in the same process costs nothing while it is
    unchanged. None when the token lacks `contents: read` (403; 404 for a private repository),
    when the file is not on that ref (404), or when it cannot be understood: the caller then
    does without, as it did before reading workflow files.
    """
    try:
        answer = api.get(
            f"{repo.api_path}/contents/{urllib.parse.quote(path)}", {"ref": ref}, deadline=deadline
        )
    except GitHubApiError as exc:
        if exc.status == 404 and "No commit found for the ref" in exc.message:
            # The ref is not there (contents API wording; packit/packit#767): dispatching on it
            # would be refused too, with 422 "No ref found for".
            raise UsageError(
                f"ref {ref!r} does not exist in {repo}",
                hint="give an existing branch or tag name (without refs/heads/)",
            ) from None
        # Unreadable here is not a failure; bad credentials and rate limits are, for every request.
        unreadable = exc.status is not None and 400 <= exc.status < 500 and exc.status != 401
        if unreadable and not isinstance(exc, RateLimitExceededError):
            return WorkflowFile(None)
        raise
    text = decode_contents(answer.data)
    return WorkflowFile(
        parse_workflow(path, text) if text is not None else None,
        answer.header("X-GitHub-Enterprise-Version"),
    )


def read_workflow_jobs(
    api: GitHubApi, repo: Repository, path: str, sha: str, *, deadline: float | None = None
) -> tuple[JobNames, ...] | None:
    """The check names the jobs of the workflow file at `path` can report, as it is at commit
    `sha`; None when it cannot be read or understood (no `contents: read`, a file that is not in
    the repository, such as the `dynamic/...` paths of GitHub's own workflows, or no `jobs:`)."""
    try:
        answer = api.get(
            f"{repo.api_path}/contents/{urllib.parse.quote(path)}", {"ref": sha}, deadline=deadline
        )
    except GitHubApiError as exc:
        unreadable = exc.status is not None and 400 <= exc.status < 500 and exc.status != 401
        if unreadable and not isinstance(exc, RateLimitExceededError):
            return None
        raise
    text = decode_contents(answer.data)
    return parse_workflow_jobs(text) if text is not None else None


def list_workflows(api: GitHubApi, repo: Repository, *, deadline: float | None = None) -> list[Workflow]:
    return [
        Workflow.from_api(item)
        for item in api.paginate(
            f"{repo.api_path}/actions/workflows", items_key="workflows", deadline=deadline
        )
    ]


def _not_found(repo: Repository, wanted: str, workflows: list[Workflow]) -> NotFoundError:
    if not workflows:
        return NotFoundError(
            f"workflow {wanted!r} not found: {repo} has no workflows the token can see",
            hint="check the repository name, and that the workflow file is on the default branch",
        )
    shown = ", ".join(w.describe() for w in workflows[:_LISTED])
    more = f" and {len(workflows) - _LISTED} more" if len(workflows) > _LISTED else ""
    return NotFoundError(
        f"workflow {wanted!r} not found in {repo}; it has: {shown}{more}",
        hint="name the workflow by its file name (e.g. deploy.yml), its path, its id, or its name as listed",
    )


def default_branch(api: GitHubApi, repo: Repository, *, deadline: float | None = None) -> str:
    return str(answer_field(api.get(repo.api_path, deadline=deadline).data, "default_branch", "a repository"))


def is_sha(ref: str) -> bool:
    return bool(_SHA.match(ref))


def resolve_sha(
    api: GitHubApi,
    repo: Repository,
    ref: str,
    *,
    deadline: float | None = None,
    dispatch_ref: bool = False,
) -> str:
    """The commit a branch, tag or SHA names (`GET /repos/{o}/{r}/commits/{ref}`).

    `dispatch_ref`: the ref is where a workflow is to be dispatched, which takes a branch or tag
    only (GitHub refuses a SHA with 422 "No ref found for: <sha>"; github/docs#590), so the hint
    for a ref that does not exist suggests no SHA.
    """
    if _SHA.match(ref):
        return ref
    try:
        return str(
            answer_field(api.get(f"{repo.api_path}/commits/{ref}", deadline=deadline).data, "sha", "a commit")
        )
    except GitHubApiError as exc:
        if exc.status in (404, 422):
            raise UsageError(
                f"ref {ref!r} does not exist in {repo}",
                hint="give an existing branch or tag name (without refs/heads/)"
                if dispatch_ref
                else "give an existing branch or tag name (without refs/heads/), or a full commit SHA",
            ) from None
        raise


def find_runs(
    api: GitHubApi,
    repo: Repository,
    *,
    workflow_id: int | str | None = None,
    head_sha: str | None = None,
    event: str | None = None,
    branch: str | None = None,
    created: str | None = None,
    deadline: float | None = None,
) -> list[WorkflowRun]:
    """Runs matching the filters, newest first, every page (`Link` header followed).

    GitHub lists runs newest first and each entry is the run's latest attempt (`run_attempt`).
    """
    path = (
        f"{repo.api_path}/actions/workflows/{workflow_id}/runs"
        if workflow_id is not None
        else f"{repo.api_path}/actions/runs"
    )
    params = {"head_sha": head_sha, "event": event, "branch": branch, "created": created}
    items = api.paginate(path, params, items_key="workflow_runs", deadline=deadline)
    return newest_first(WorkflowRun.from_api(item) for item in items)


def created_since(epoch: float) -> str:
    """A `created` filter for runs created at or after `epoch`.

    The filter has one-second precision (Alfresco/alfresco-build-tools#1407), so it starts one whole
    second early: a run created in the same second is never left out.
    """
    start = datetime.datetime.fromtimestamp(math.floor(epoch) - 1, datetime.UTC)
    return ">=" + start.strftime("%Y-%m-%dT%H:%M:%SZ")


def newest_first(runs: Iterable[WorkflowRun]) -> list[WorkflowRun]:
    return sorted(runs, key=lambda run: (run.created_at or 0.0, run.id), reverse=True)


def get_run(api: GitHubApi, repo: Repository, run_id: int, *, deadline: float | None = None) -> WorkflowRun:
    """One run's latest attempt, conditionally: polling an unchanged run costs no rate limit."""
    return WorkflowRun.from_api(api.get(f"{repo.api_path}/actions/runs/{run_id}", deadline=deadline).data)


def cancel_run(api: GitHubApi, repo: Repository, run_id: int, *, deadline: float | None = None) -> bool:
    """Cancel a run: True if GitHub accepted (202), False if it had already completed (409).

    A cancel is a refusal-safe write: sending it twice cancels once (OpenAPI `actions/cancel-workflow-run`).
    """
    try:
        api.post(f"{repo.api_path}/actions/runs/{run_id}/cancel", idempotent=True, deadline=deadline)
    except GitHubApiError as exc:
        if exc.status == 409:
            return False
        raise
    return True


def cancel_runs(api: GitHubApi, repo: Repository, run_ids: Iterable[int]) -> dict[int, str]:
    """Cancel each run, best effort (we are usually being cancelled ourselves): for each run,
    `cancelled`, `already completed`, or why GitHub refused."""
    outcomes: dict[int, str] = {}
    for run_id in run_ids:
        try:
            outcomes[run_id] = "cancelled" if cancel_run(api, repo, run_id) else "already completed"
        except GitHubApiError as exc:
            outcomes[run_id] = exc.message
    return outcomes
