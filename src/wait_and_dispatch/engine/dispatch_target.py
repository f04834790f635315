"""A request resolved for a dispatch: its workflow, ref and SHA, its key, and the checks made
before anything is sent (engine/dispatch.py tells the whole story).

Only what is needed is asked, each request costing rate limit: a workflow named by its file is
not looked up (the workflow endpoints take the file name), and the commit is resolved only when
runs are to be found for it. Before a workflow_dispatch the workflow file is read once (through
the contents API, `engine/workflow_file.py`): what GitHub would refuse is refused before sending,
and it says whether the correlation input is declared and shown.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository, Workflow, WorkflowRun
from wait_and_dispatch.engine.inputs import MAX_INPUTS
from wait_and_dispatch.engine.progress import ProgressCallback, ProgressEvent, ProgressKind
from wait_and_dispatch.engine.requests import DispatchPolicy, RunRequest
from wait_and_dispatch.engine.workflow_file import WorkflowDefinition
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import NotFoundError, RefusedBeforeSendingError, UsageError

# Every correlation id we send starts with this and the request key; other tools' ids do not.
_MARK = "wad-"
_KEY_LENGTH = 10
ANY_MARK = re.compile(_MARK + "[0-9a-f]{" + str(_KEY_LENGTH) + "}")
# GitHub's repository_dispatch takes at most 10 top-level client_payload properties (OpenAPI
# `repos/create-dispatch-event`).
_MAX_PAYLOAD_KEYS = 10


def request_key(request: RunRequest, workflow: Workflow | None, ref: str, sha: str | None) -> str:
    """A stable key for "this request": the same workflow, ref, SHA and inputs give the same key.

    The workflow counts by its file, which is known however it was named; the SHA only when it
    was given or needed (`dispatch: always` does not look it up).
    """
    material = json.dumps(
        {
            "repo": request.repository.full_name.lower(),
            "workflow": workflow.file_name.lower() if workflow else None,
            "ref": ref,
            "sha": sha,
            "inputs": dict(sorted(request.inputs.items())),
            "event_type": request.event_type,
            "payload": request.client_payload,
        },
        sort_keys=True,
        default=str,
    )
    return _MARK + hashlib.sha256(material.encode()).hexdigest()[:_KEY_LENGTH]


@dataclass(frozen=True)
class Target:
    """The request with everything resolved."""

    request: RunRequest
    workflow: Workflow | None
    ref: str
    sha: str | None  # None: not given and not needed (dispatch: always)
    key: str
    definition: WorkflowDefinition | None = None  # the workflow file, when it could be read

    @property
    def repo(self) -> Repository:
        return self.request.repository

    @property
    def event(self) -> str:
        return "repository_dispatch" if self.request.is_repository_dispatch else "workflow_dispatch"


class TargetResolver:
    """Resolves requests into targets. `on_server_version` hears the GHES version an answer names
    (what the dispatch's sender needs to know of the server)."""

    def __init__(
        self, api: GitHubApi, on_progress: ProgressCallback, on_server_version: Callable[[str], None]
    ) -> None:
        self.api = api
        self.say = on_progress
        self.on_server_version = on_server_version

    def resolve(self, request: RunRequest, deadline: float | None, *, need_sha: bool) -> Target:
        """The workflow, ref and (when `need_sha`, or given) SHA of a request: only what is not known."""
        repo = request.repository
        if not request.is_repository_dispatch and not request.workflow:
            raise UsageError(
                "no workflow given", hint="name the workflow to find or dispatch (workflow: deploy.yml)"
            )
        workflow: Workflow | None = None
        if request.workflow:
            workflow = (
                # Named by file: the workflow endpoints take the file name, so no look-up.
                workflow_runs.workflow_from_file_name(request.workflow)
                if workflow_runs.named_by_file(request.workflow)
                else look_up_workflow(self.api, repo, request.workflow, deadline)
            )
        if request.is_repository_dispatch:
            # repository_dispatch runs only on the default branch (GitHub docs, "Events that trigger
            # workflows", repository_dispatch).
            ref = self._call(workflow_runs.default_branch, repo, deadline)
            if request.ref and request.ref != ref:
                raise UsageError(
                    f"repository_dispatch always runs on the default branch ({ref}), not {request.ref!r}",
                    hint="drop ref, or use workflow_dispatch to run on another branch",
                )
        else:
            ref = request.ref or self._call(workflow_runs.default_branch, repo, deadline)
        sha = request.sha
        if sha is None and need_sha:
            dispatches = request.dispatch is not DispatchPolicy.NEVER and not request.is_repository_dispatch
            sha = workflow_runs.resolve_sha(self.api, repo, ref, deadline=deadline, dispatch_ref=dispatches)
        if workflow is not None:
            self._say_resolved(workflow, repo, ref, sha)
        return Target(request, workflow, ref, sha, request_key(request, workflow, ref, sha))

    def _say_resolved(self, workflow: Workflow, repo: Repository, ref: str, sha: str | None) -> None:
        known = f" (id {workflow.id})" if workflow.id is not None else ""
        self.say(
            ProgressEvent(
                ProgressKind.RESOLVED,
                f"workflow {workflow.describe()}{known} in {repo}; ref {ref}"
                + (f", head SHA {sha[:7]}" if sha else ""),
                subject=workflow.path,
                url=workflow.html_url or None,
            )
        )

    def _call(self, read: Callable[..., str], repo: Repository, deadline: float | None) -> str:
        """A read of the repository, with the no-token hint on a 404."""
        try:
            return read(self.api, repo, deadline=deadline)
        except NotFoundError as exc:
            raise tokenless(self.api, exc) from None

    def prepare(self, target: Target, deadline: float | None) -> Target:
        """Before a workflow_dispatch: refuse what GitHub would refuse, and read the workflow file.

        The file (one conditional read) tells the inputs and the run-name; without it (no
        `contents: read`, or not on that ref) the dispatch goes as it always did.
        """
        if target.request.is_repository_dispatch or target.workflow is None:
            return target
        if workflow_runs.is_sha(target.ref):
            raise UsageError(
                f"ref {target.ref} is a commit SHA, but GitHub dispatches a workflow only on a branch or "
                f'tag (it answers 422 "No ref found for: {target.ref}")',
                hint="give the branch or tag to run on as ref (the run tests its head), and the commit as "
                "sha to find the runs for it",
            )
        read = workflow_runs.read_workflow_file(
            self.api, target.repo, target.workflow.path, target.ref, deadline=deadline
        )
        # GHES says its version in every answer, and whether it knows `return_run_details` with it.
        if read.enterprise_version:
            self.on_server_version(read.enterprise_version)
        definition = read.definition
        workflow = target.workflow
        if definition is None:
            if workflow.id is None:
                # Not readable: ask for the workflow itself, which says whether it exists at all.
                workflow = look_up_workflow(
                    self.api, target.repo, target.request.workflow or workflow.path, deadline
                )
            return replace(target, workflow=workflow)
        if workflow.id is None and definition.name:
            workflow = replace(workflow, name=definition.name)
        if not definition.dispatchable:
            raise RefusedBeforeSendingError(
                f"{workflow.describe()} on {target.ref}: Workflow does not have 'workflow_dispatch' trigger",
                hint=NOT_DISPATCHABLE_HINT.format(path=workflow.path),
            )
        problems = definition.problems(target.request.inputs)
        if problems:
            # GitHub's own words (its 422 answers), before anything is sent.
            raise RefusedBeforeSendingError(
                f"{workflow.describe()} on {target.ref}: " + "; ".join(problems),
                hint=f"{workflow.path} on {target.ref} declares these inputs: {definition.describe_inputs()}",
            )
        return replace(target, workflow=workflow, definition=definition)

    def correlation_name(self, target: Target) -> str | None:
        """The input to carry the correlation id, if one is to be sent."""
        request = target.request
        name = request.correlation_input
        if not name:
            return None
        if request.is_repository_dispatch:
            # GitHub's repository_dispatch takes at most 10 client_payload properties.
            payload = request.client_payload
            return name if name not in payload and len(payload) < _MAX_PAYLOAD_KEYS else None
        if name in request.inputs:
            return None  # the user gives it
        if target.definition is not None:
            # Declared: sent, and it counts among GitHub's 25 like any input. Not declared: not
            # sent, so the user keeps all 25; the run is found otherwise.
            return name if target.definition.declares(name) else None
        # Unknown file: sent (a 422 says if it is not declared), unless it would make 26 inputs.
        return name if len(request.inputs) < MAX_INPUTS else None


def titles(run: WorkflowRun) -> str:
    # With a run-name, both `display_title` and `name` carry it (actions/runner#4141).
    return f"{run.display_title}\n{run.name}"


def short_sha(sha: str | None) -> str:
    return sha[:7] if sha else "the ref's head"


NOT_DISPATCHABLE_HINT = (
    "GitHub dispatches only workflows whose file on the dispatch ref has `on: workflow_dispatch`: "
    "add it to {path} (on that branch or tag), or, for a workflow on `repository_dispatch`, give "
    "event-type instead of workflow"
)


def label(target: Target) -> str:
    """The target's workflow (or repository_dispatch event type), as messages name it."""
    if target.workflow is not None:
        return target.workflow.describe()
    return f"repository_dispatch {target.request.event_type!r}"


def earliest(limit: float, deadline: float | None) -> float:
    return limit if deadline is None else min(limit, deadline)


def look_up_workflow(api: GitHubApi, repo: Repository, name: str, deadline: float | None) -> Workflow:
    """The workflow named `name` (by its name, path or id), with the no-token hint on a 404."""
    try:
        return workflow_runs.resolve_workflow(api, repo, name, deadline=deadline)
    except NotFoundError as exc:
        raise tokenless(api, exc) from None


def tokenless(api: GitHubApi, exc: NotFoundError) -> NotFoundError:
    """Without a token GitHub answers 404 for every private repository (it does not say 401):
    say that no token was found, and where one is looked for, rather than "not found"."""
    if api.has_token:
        return exc
    exc.hint = (
        "no token was found, and GitHub answers 404 for a private repository it is asked about "
        "anonymously: set GH_TOKEN or GITHUB_TOKEN (command line), or pass github-token (action)"
    )
    return exc
