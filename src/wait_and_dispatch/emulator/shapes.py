"""JSON bodies with GitHub's shapes: every field the OpenAPI schemas mark required, in the
order the recorded answers use (PyGithub's recorded exchanges, tests/ReplayData), with URLs
pointing back at the emulator. Check runs, check suites and apps are in check_shapes.py.
"""

from __future__ import annotations

import base64
import hashlib
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import yaml

from wait_and_dispatch.emulator.model import (
    Artifact,
    Attempt,
    Job,
    JobState,
    Repo,
    Run,
    stable_id,
    step_states,
)
from wait_and_dispatch.emulator.specs import StepSpec, WorkflowSpec
from wait_and_dispatch.emulator.state import State


def iso(seconds: float | None) -> str | None:
    """GitHub's timestamps: UTC, whole seconds, `Z` (every recording)."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))


def node_id(prefix: str, number: int) -> str:
    return prefix + base64.b64encode(f"0:{number}".encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Urls:
    api: str
    blob: str

    @property
    def web(self) -> str:
        # html_url points at a fake web host on the API server; nothing fetches it.
        return f"{self.api}/_web"


def user(login: str, urls: Urls) -> dict[str, Any]:
    """OpenAPI `simple-user` (all required fields)."""
    uid = stable_id(login, 1_000_000, 90_000_000)
    api = f"{urls.api}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id("U_", uid),
        "avatar_url": f"{urls.web}/avatars/{login}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.web}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "user_view_type": "public",
        "site_admin": False,
    }


def repo_minimal(
    full_name: str, repo_id: int, private: bool, urls: Urls, *, fork: bool = False
) -> dict[str, Any]:
    """OpenAPI `minimal-repository` (the `repository` and `head_repository` of a run)."""
    owner, name = full_name.split("/")
    api = f"{urls.api}/repos/{full_name}"
    body: dict[str, Any] = {
        "id": repo_id,
        "node_id": node_id("R_", repo_id),
        "name": name,
        "full_name": full_name,
        "private": private,
        "owner": user(owner, urls),
        "html_url": f"{urls.web}/{full_name}",
        "description": None,
        "fork": fork,
        "url": api,
    }
    for key, suffix in (
        ("forks_url", "/forks"),
        ("keys_url", "/keys{/key_id}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("teams_url", "/teams"),
        ("hooks_url", "/hooks"),
        ("issue_events_url", "/issues/events{/number}"),
        ("events_url", "/events"),
        ("assignees_url", "/assignees{/user}"),
        ("branches_url", "/branches{/branch}"),
        ("tags_url", "/tags"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("trees_url", "/git/trees{/sha}"),
        ("statuses_url", "/statuses/{sha}"),
        ("languages_url", "/languages"),
        ("stargazers_url", "/stargazers"),
        ("contributors_url", "/contributors"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("commits_url", "/commits{/sha}"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("comments_url", "/comments{/number}"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("contents_url", "/contents/{+path}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("merges_url", "/merges"),
        ("archive_url", "/{archive_format}{/ref}"),
        ("downloads_url", "/downloads"),
        ("issues_url", "/issues{/number}"),
        ("pulls_url", "/pulls{/number}"),
        ("milestones_url", "/milestones{/number}"),
        ("notifications_url", "/notifications{?since,all,participating}"),
        ("labels_url", "/labels{/name}"),
        ("releases_url", "/releases{/id}"),
        ("deployments_url", "/deployments"),
    ):
        body[key] = api + suffix
    return body


def repo_full(repo: Repo, urls: Urls, permissions: dict[str, bool]) -> dict[str, Any]:
    """OpenAPI repos/get `full-repository`."""
    body = repo_minimal(repo.full_name, repo.id, repo.spec.private, urls)
    created = iso(repo.created_at)
    body.update(
        {
            "created_at": created,
            "updated_at": created,
            "pushed_at": created,
            "git_url": f"git://127.0.0.1/{repo.full_name}.git",
            "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
            "clone_url": f"{urls.web}/{repo.full_name}.git",
            "svn_url": f"{urls.web}/{repo.full_name}",
            "homepage": None,
            "size": 1024,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": "Python",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": 0,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.spec.private else "public",
            "forks": 0,
            "open_issues": 0,
            "watchers": 0,
            "default_branch": repo.spec.default_branch,
            "permissions": permissions,
            "network_count": 0,
            "subscribers_count": 0,
        }
    )
    return body


def workflow(
    wf_repo: Repo, wf_id: int, name: str, path: str, state: str, created: float, updated: float, urls: Urls
) -> dict[str, Any]:
    """OpenAPI actions/get-workflow (shape as in Workflow.testCreateDispatchWithReturnRunDetails)."""
    return {
        "id": wf_id,
        "node_id": node_id("W_", wf_id),
        "name": name,
        "path": path,
        "state": state,
        "created_at": iso(created),
        "updated_at": iso(updated),
        "url": f"{urls.api}/repos/{wf_repo.full_name}/actions/workflows/{wf_id}",
        "html_url": f"{urls.web}/{wf_repo.full_name}/blob/{wf_repo.spec.default_branch}/{path}",
        "badge_url": f"{urls.web}/{wf_repo.full_name}/workflows/{path.rsplit('/', 1)[-1]}/badge.svg",
    }


def _head_repository(state: State, run: Run, urls: Urls) -> tuple[dict[str, Any], int]:
    if run.head_repository == run.repo.full_name:
        return repo_minimal(run.repo.full_name, run.repo.id, run.repo.spec.private, urls), run.repo.id
    # A fork: GitHub reports the fork as head_repository (OpenAPI workflow-run `head_repository`;
    # the artifact's `workflow_run.head_repository_id` is the fork's, GHSA-5xr6-xhww-33m4).
    known = state.repos.get(run.head_repository)
    fork_id = known.id if known else stable_id(run.head_repository, 800_000_000, 90_000_000)
    return repo_minimal(run.head_repository, fork_id, False, urls, fork=True), fork_id


def workflow_run(state: State, run: Run, attempt: Attempt, now: float, urls: Urls) -> dict[str, Any]:
    """OpenAPI actions/get-workflow-run (`workflow-run`); key order of WorkflowRun.testGetAttempt."""
    repo = run.repo
    base = f"{urls.api}/repos/{repo.full_name}/actions/runs/{run.id}"
    status, conclusion, changed = attempt.status_at(now)
    commit = repo.commit(run.head_sha)
    head_repo, head_repo_id = _head_repository(state, run, urls)
    latest = attempt is run.latest
    prefix = base if latest else f"{base}/attempts/{attempt.number}"
    return {
        "id": run.id,
        "name": run.name,
        "node_id": node_id("WFR_", run.id),
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": run.workflow.spec.path,
        "display_title": run.display_title,
        "run_number": run.run_number,
        "event": run.event,
        "status": status,
        "conclusion": conclusion,
        "workflow_id": run.workflow.id,
        "check_suite_id": attempt.check_suite_id,
        "check_suite_node_id": node_id("CS_", attempt.check_suite_id),
        "url": base,
        "html_url": f"{urls.web}/{repo.full_name}/actions/runs/{run.id}",
        "pull_requests": [],
        "created_at": iso(run.created_at),
        "updated_at": iso(max(changed, attempt.origin, run.created_at)),
        "actor": user(run.actor, urls),
        "run_attempt": attempt.number,
        "referenced_workflows": [],
        "run_started_at": iso(attempt.origin),
        "triggering_actor": user(attempt.triggering_actor, urls),
        "jobs_url": f"{prefix}/jobs",
        "logs_url": f"{prefix}/logs",
        "check_suite_url": f"{urls.api}/repos/{repo.full_name}/check-suites/{attempt.check_suite_id}",
        "artifacts_url": f"{base}/artifacts",
        "cancel_url": f"{base}/cancel",
        "rerun_url": f"{base}/rerun",
        "previous_attempt_url": f"{base}/attempts/{attempt.number - 1}" if attempt.number > 1 else None,
        "workflow_url": f"{urls.api}/repos/{repo.full_name}/actions/workflows/{run.workflow.id}",
        "head_commit": {
            "id": run.head_sha,
            "tree_id": stable_tree(run.head_sha),
            "message": commit.message,
            "timestamp": iso(repo.created_at),
            "author": {"name": commit.author, "email": commit.email},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        },
        "repository": repo_minimal(repo.full_name, repo.id, repo.spec.private, urls),
        "head_repository": head_repo,
        "head_repository_id": head_repo_id,
    }


def stable_tree(sha: str) -> str:
    return sha[::-1]


def _steps(job: Job, job_state: JobState, attempt: Attempt, now: float) -> list[dict[str, Any]]:
    """The job's steps (model.step_states) as the jobs API shows them."""
    return [
        {
            "name": step.name,
            "status": step.status,
            "conclusion": step.conclusion,
            "number": step.number,
            "started_at": iso(step.started_at),
            "completed_at": iso(step.completed_at),
        }
        for step in step_states(job, job_state, attempt, now)
    ]


def job(run: Run, attempt: Attempt, job_: Job, job_state: JobState, now: float, urls: Urls) -> dict[str, Any]:
    """OpenAPI actions/get-job-for-workflow-run (`job`); key order of WorkflowRun.test_jobs."""
    repo = run.repo
    running = job_state.status != "queued"
    return {
        "id": job_.id,
        "run_id": run.id,
        "workflow_name": run.workflow.spec.name,
        "head_branch": run.head_branch,
        "run_url": f"{urls.api}/repos/{repo.full_name}/actions/runs/{run.id}",
        "run_attempt": attempt.number,
        "node_id": node_id("CR_", job_.id),
        "head_sha": run.head_sha,
        "url": f"{urls.api}/repos/{repo.full_name}/actions/jobs/{job_.id}",
        "html_url": f"{urls.web}/{repo.full_name}/actions/runs/{run.id}/job/{job_.id}",
        "status": job_state.status,
        "conclusion": job_state.conclusion,
        "created_at": iso(job_state.created_at),
        "started_at": iso(job_state.started_at),
        "completed_at": iso(job_state.completed_at),
        "name": job_.name,
        "steps": _steps(job_, job_state, attempt, now),
        "check_run_url": f"{urls.api}/repos/{repo.full_name}/check-runs/{job_.id}",
        "labels": list(job_.spec.labels),
        "runner_id": 1 if running else None,
        "runner_name": "GitHub Actions 1" if running else None,
        "runner_group_id": 2 if running else None,
        "runner_group_name": "GitHub Actions" if running else None,
    }


def artifact(state: State, art: Artifact, now: float, urls: Urls) -> dict[str, Any]:
    """OpenAPI actions/get-artifact; key order of Artifact.testGetArtifactsFromRepo."""
    run = art.run
    repo = run.repo
    size, sha256 = state.blobs.describe(art)
    created, expires = state.artifact_times(art)
    # upload-artifact v4+ reports `sha256:<hex of the zip>`; a scenario may set null or a
    # wrong digest to exercise the client's checks (OpenAPI artifact `digest`, null for older
    # uploads).
    digest = art.spec.digest if art.spec.digest_set else f"sha256:{sha256}"
    api = f"{urls.api}/repos/{repo.full_name}/actions/artifacts/{art.id}"
    _, head_repo_id = _head_repository(state, run, urls)
    return {
        "id": art.id,
        "node_id": node_id("MDg6QXJ0aWZhY3Q", art.id),
        "name": art.spec.name,
        "size_in_bytes": size,
        "url": api,
        "archive_download_url": f"{api}/zip",
        "expired": state.artifact_expired(art, now),
        "digest": digest,
        "created_at": iso(created),
        "updated_at": iso(created),
        "expires_at": iso(expires),
        "workflow_run": {
            "id": run.id,
            "repository_id": repo.id,
            "head_repository_id": head_repo_id,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
        },
    }


def commit(repo: Repo, sha: str, urls: Urls) -> dict[str, Any]:
    """OpenAPI repos/get-commit (`commit`), without files."""
    spec = repo.commit(sha)
    api = f"{urls.api}/repos/{repo.full_name}"
    when = iso(repo.created_at)
    person = {"name": spec.author, "email": spec.email, "date": when}
    return {
        "sha": sha,
        "node_id": node_id("C_", int(sha[:8], 16)),
        "commit": {
            "author": person,
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": when},
            "message": spec.message,
            "tree": {"sha": stable_tree(sha), "url": f"{api}/git/trees/{stable_tree(sha)}"},
            "url": f"{api}/git/commits/{sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "url": f"{api}/commits/{sha}",
        "html_url": f"{urls.web}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        # The OpenAPI `commit` schema has GitHub users here (not null): the author's account and
        # `web-flow`, the committer of commits made on github.com.
        "author": user(spec.login, urls),
        "committer": user("web-flow", urls),
        "parents": [],
        "stats": {"total": 0, "additions": 0, "deletions": 0},
        "files": [],
    }


def workflow_yaml(spec: WorkflowSpec) -> str:
    """The workflow file a scenario's workflow stands for: name, run-name, triggers with the
    `workflow_dispatch` inputs, and its jobs, as a person would write it."""
    triggers: dict[str, Any] = {}
    for event, types in spec.triggers.items():
        if event == "workflow_dispatch":
            inputs: dict[str, Any] = {}
            for item in spec.inputs:
                entry: dict[str, Any] = {"type": item.type, "required": item.required}
                if item.default is not None:
                    entry["default"] = item.default
                if item.options:
                    entry["options"] = list(item.options)
                inputs[item.name] = entry
            triggers[event] = {"inputs": inputs} if inputs else None
        elif event == "workflow_run" and spec.workflow_run is not None:
            listened = spec.workflow_run
            trigger: dict[str, Any] = {"workflows": list(listened.workflows)}
            for key, values in (
                ("types", listened.types),
                ("branches", listened.branches),
                ("branches-ignore", listened.branches_ignore),
            ):
                if values is not None:
                    trigger[key] = list(values)
            triggers[event] = trigger
        elif event == "schedule":
            triggers[event] = [{"cron": cron} for cron in types or ()]
        else:
            triggers[event] = {"types": list(types)} if types else None
    document: dict[str, Any] = {"name": spec.name}
    if spec.run_name is not None:
        document["run-name"] = spec.run_name
    document["on"] = triggers
    document["jobs"] = {
        f"job{i + 1}": {
            "name": job_spec.name,
            "runs-on": list(job_spec.labels),
            "steps": [_workflow_step(job_spec.step_detail(i)) for i in range(len(job_spec.steps))],
        }
        for i, job_spec in enumerate(spec.jobs)
    } or {"run": {"runs-on": "ubuntu-latest", "steps": [{"run": "true"}]}}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)


def _workflow_step(step: StepSpec) -> dict[str, str]:
    """A step as its workflow file says it: its name, its `if:`, and what it runs."""
    written = {"name": step.name}
    if step.condition is not None:
        written["if"] = f"${{{{ {step.condition} }}}}"
    if step.uses is not None:
        written["uses"] = step.uses
    else:
        written["run"] = step.run if step.run is not None else "true"
    return written


def file_contents(repo: Repo, path: str, ref: str, content: bytes, urls: Urls) -> dict[str, Any]:
    """The contents API's file object (GitHub docs "Get repository content", type file)."""
    blob_sha = hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()
    encoded = base64.b64encode(content).decode()
    # GitHub wraps the base64 text in lines of 60 characters, each ending in a newline.
    wrapped = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
    api = f"{urls.api}/repos/{repo.full_name}"
    self_url = f"{api}/contents/{path}?ref={urllib.parse.quote(ref, safe='')}"
    git_url = f"{api}/git/blobs/{blob_sha}"
    html_url = f"{urls.web}/{repo.full_name}/blob/{ref}/{path}"
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": blob_sha,
        "size": len(content),
        "url": self_url,
        "html_url": html_url,
        "git_url": git_url,
        "download_url": f"{urls.web}/raw/{repo.full_name}/{ref}/{path}",
        "type": "file",
        "content": wrapped,
        "encoding": "base64",
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    }
