"""Starting runs: REST "Create a workflow dispatch event" and "Create a repository dispatch event"."""

from __future__ import annotations

import json

from wait_and_dispatch.emulator.exchange import Call, Reply, Route, invalid
from wait_and_dispatch.emulator.routes.common import json_body, repo_of, require, workflow_of

_DOC_DISPATCH = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
_DOC_REPO_DISPATCH = "https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event"
MAX_INPUTS = 25  # OpenAPI actions/create-workflow-dispatch: inputs maxProperties 25
# Workflow syntax docs, `on.workflow_dispatch.inputs`: at most 65,535 characters in all.
MAX_INPUTS_CHARS = 65535
MAX_CLIENT_PAYLOAD_KEYS = 10  # GitHub docs repos/create-dispatch-event: client_payload max 10 properties


def create_workflow_dispatch(call: Call) -> Reply:
    """REST "Create a workflow dispatch event": 204, or 200 with the run when asked for it
    (GitHub changelog 2026-02-19, "Workflow dispatch API now returns run IDs")."""
    repo = repo_of(call, _DOC_DISPATCH)
    wf = workflow_of(call, repo)
    require(call, repo, "actions", "write")
    body = json_body(call.request)
    options = call.state.options
    allowed = ("ref", "inputs", "return_run_details") if options.return_run_details else ("ref", "inputs")
    for key in body:
        if key not in allowed:
            # GHES <= 3.20 rejects the field it does not know (benc-uk/workflow-dispatch#86).
            raise invalid(f'Invalid request.\n\n"{key}" is not a permitted key.', _DOC_DISPATCH)
    if "ref" not in body:
        raise invalid('Invalid request.\n\n"ref" wasn\'t supplied.', _DOC_DISPATCH)
    ref = body["ref"]
    if not isinstance(ref, str):
        raise invalid(
            f"Invalid request.\n\nFor 'properties/ref', {json.dumps(ref)} is not a string.", _DOC_DISPATCH
        )
    raw_inputs = body.get("inputs") or {}
    if not isinstance(raw_inputs, dict):
        raise invalid(
            f"Invalid request.\n\nFor 'properties/inputs', {json.dumps(raw_inputs)} is not an object.",
            _DOC_DISPATCH,
        )
    if len(raw_inputs) > MAX_INPUTS:
        # OpenAPI: inputs maxProperties 25. The wording is the validator's (unverified).
        raise invalid(
            f"Invalid request.\n\nFor 'properties/inputs', more than {MAX_INPUTS} properties "
            f"were supplied ({len(raw_inputs)}).",
            _DOC_DISPATCH,
        )
    # 2026-03-10 removed `return_run_details` and always answers with the run (REST "Breaking
    # changes"); whether it then refuses the field or ignores it is unverified: it is ignored.
    want_details = body.get("return_run_details") is True or (
        call.request.headers.get("X-GitHub-Api-Version") == "2026-03-10"
    )
    if "workflow_dispatch" not in wf.spec.triggers:
        # Workflow.testCreateDispatchForNonTriggerEnabled
        raise invalid("Workflow does not have 'workflow_dispatch' trigger", _DOC_DISPATCH)
    if wf.state != "active":
        raise invalid("Cannot trigger a 'workflow_dispatch' on a disabled workflow", _DOC_DISPATCH)
    named = repo.branch_or_tag(ref)
    if named is None:
        raise invalid(f"No ref found for: {ref}", _DOC_DISPATCH)
    inputs: dict[str, str] = {}
    for key, value in raw_inputs.items():
        if isinstance(value, bool):
            inputs[key] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            # Input values are strings; clients often send booleans and numbers, which GitHub takes.
            inputs[key] = str(value)
        else:
            raise invalid(
                f"Invalid request.\n\nFor 'properties/{key}', {json.dumps(value)} is not a string.",
                _DOC_DISPATCH,
            )
    if sum(len(k) + len(v) for k, v in inputs.items()) > MAX_INPUTS_CHARS:
        raise invalid("inputs are too large.", _DOC_DISPATCH)  # wording unverified
    declared = {i.name: i for i in wf.spec.inputs}
    unexpected = [k for k in inputs if k not in declared]
    if unexpected:
        raise invalid(
            f"Unexpected inputs provided: {json.dumps(unexpected, separators=(', ', ': '))}",
            _DOC_DISPATCH,
        )
    for spec in wf.spec.inputs:
        if spec.name not in inputs:
            if spec.default is not None:
                inputs[spec.name] = spec.default
            elif spec.required:
                # Workflow.testCreateDispatchException
                raise invalid(f"Required input '{spec.name}' not provided", _DOC_DISPATCH)
            elif spec.type == "boolean":
                inputs[spec.name] = "false"
            else:
                inputs[spec.name] = ""
            continue
        value = inputs[spec.name]
        if spec.type == "choice" and value not in spec.options:
            raise invalid(
                f"Provided value '{value}' for input '{spec.name}' not in the list of allowed values",
                _DOC_DISPATCH,
            )
        if spec.type == "boolean" and value not in ("true", "false"):
            raise invalid(
                f"Provided value '{value}' for input '{spec.name}' is not a valid boolean", _DOC_DISPATCH
            )  # wording unverified
        if spec.type == "number":
            try:
                float(value)
            except ValueError:
                raise invalid(
                    f"Provided value '{value}' for input '{spec.name}' is not a valid number",
                    _DOC_DISPATCH,
                ) from None  # wording unverified
    actor = call.token.actor if call.token else "octocat"
    run = call.state.dispatch(
        repo, wf, named[0], named[1], inputs, actor, call.token.kind if call.token else None
    )
    if want_details and options.return_run_details:
        base = f"{call.urls.api}/repos/{repo.full_name}/actions/runs/{run.id}"
        return Reply(
            200,
            {
                "workflow_run_id": run.id,
                "run_url": base,
                "html_url": f"{call.urls.web}/{repo.full_name}/actions/runs/{run.id}",
            },
        )
    return Reply(204)


def create_repository_dispatch(call: Call) -> Reply:
    """REST "Create a repository dispatch event": 204, never the run."""
    repo = repo_of(call, _DOC_REPO_DISPATCH)
    require(call, repo, "contents", "write")
    body = json_body(call.request)
    event_type = body.get("event_type")
    if event_type is None:
        raise invalid('Invalid request.\n\n"event_type" wasn\'t supplied.', _DOC_REPO_DISPATCH)
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise invalid(
            "Invalid request.\n\nFor 'properties/event_type', "
            f"{json.dumps(event_type)} is not a valid event type.",
            _DOC_REPO_DISPATCH,
        )
    payload = body.get("client_payload") or {}
    if not isinstance(payload, dict):
        raise invalid(
            f"Invalid request.\n\nFor 'properties/client_payload', {json.dumps(payload)} is not an object.",
            _DOC_REPO_DISPATCH,
        )
    if len(payload) > MAX_CLIENT_PAYLOAD_KEYS:
        raise invalid(
            f"Invalid request.\n\nNo more than {MAX_CLIENT_PAYLOAD_KEYS} properties are allowed; "
            f"{len(payload)} were supplied.",
            _DOC_REPO_DISPATCH,
        )
    actor = call.token.actor if call.token else "octocat"
    call.state.repository_dispatch(repo, event_type, payload, actor, call.token.kind if call.token else None)
    return Reply(204)


ROUTES = (
    Route(
        "POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", create_workflow_dispatch
    ),
    Route("POST", "/repos/{owner}/{repo}/dispatches", create_repository_dispatch),
)
