"""Workflows: REST "Workflows" (list, get, enable, disable). Dispatching is in `dispatch`."""

from __future__ import annotations

from typing import Any

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.exchange import ApiError, Call, Reply, Route
from wait_and_dispatch.emulator.model import Workflow
from wait_and_dispatch.emulator.routes.common import page, repo_of, require, workflow_of


def _wf_json(call: Call, wf: Workflow) -> dict[str, Any]:
    return shapes.workflow(
        wf.repo, wf.id, wf.spec.name, wf.spec.path, wf.state, wf.created_at, wf.updated_at, call.urls
    )


def list_workflows(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    return page(call, [_wf_json(call, wf) for wf in repo.workflows], "workflows")


def get_workflow(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    return Reply(200, _wf_json(call, workflow_of(call, repo)))


def enable_workflow(call: Call) -> Reply:
    repo = repo_of(call)
    wf = workflow_of(call, repo)
    require(call, repo, "actions", "write")
    wf.state, wf.updated_at = "active", call.now
    return Reply(204)


def disable_workflow(call: Call) -> Reply:
    repo = repo_of(call)
    wf = workflow_of(call, repo)
    require(call, repo, "actions", "write")
    if wf.state != "active":
        # Workflow.testDisabledWhenAlreadyDisabled
        raise ApiError(
            403,
            "Unable to disable a workflow that is not active.",
            "https://docs.github.com/rest/actions/workflows#disable-a-workflow",
        )
    wf.state, wf.updated_at = "disabled_manually", call.now
    return Reply(204)


ROUTES = (
    Route("GET", "/repos/{owner}/{repo}/actions/workflows", list_workflows),
    Route("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}", get_workflow),
    Route("PUT", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/enable", enable_workflow),
    Route("PUT", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/disable", disable_workflow),
)
