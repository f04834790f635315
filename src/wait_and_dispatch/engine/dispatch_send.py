"""The dispatch itself: one POST, its answer, and what a refusal of it means.

`return_run_details: true` makes GitHub answer 200 with `workflow_run_id` (changelog 2026-02-19,
OpenAPI `actions/create-workflow-dispatch`). Servers that predate the field refuse it with 400/422
naming it (GHES <= 3.20; benc-uk/workflow-dispatch#86); a refusal started nothing, so the caller
sends again without it. Whether a server understands it is remembered per server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.dispatch_target import NOT_DISPATCHABLE_HINT, Target, label
from wait_and_dispatch.engine.inputs import check_input_limits
from wait_and_dispatch.engine.progress import ProgressCallback, ProgressEvent, ProgressKind
from wait_and_dispatch.github_api import FALLBACK_API_VERSION, GitHubApi
from wait_and_dispatch.support.errors import UsageError, ValidationFailedError, WaitAndDispatchError

# The first GitHub Enterprise Server release that may know `return_run_details`: up to 3.20 it
# is refused (benc-uk/workflow-dispatch#86; the ghes-3.19 description in @octokit/openapi 23.0.2
# has no such field). Later releases are asked, and a refusal is still understood.
_RUN_DETAILS_FROM_GHES = (3, 21)


def _returns_run_details(enterprise_version: str) -> bool:
    numbers = re.findall(r"\d+", enterprise_version)[:2]
    if len(numbers) < 2:
        return True  # not understood: ask, and understand a refusal
    return (int(numbers[0]), int(numbers[1])) >= _RUN_DETAILS_FROM_GHES


class DispatchSender:
    """Sends dispatches. Remembers per server whether `return_run_details` is understood."""

    def __init__(self, api: GitHubApi, on_progress: ProgressCallback) -> None:
        self.api = api
        self.say = on_progress
        self.run_details_supported: bool | None = None  # None: not known yet

    def learn_server_version(self, enterprise_version: str) -> None:
        """GHES says its version in every answer; up to 3.20 it refuses `return_run_details`, so
        that refusal need not be paid for."""
        if self.run_details_supported is None and not _returns_run_details(enterprise_version):
            self.run_details_supported = False

    def needs_snapshot(self, target: Target) -> bool:
        """Whether to list the runs already there before dispatching without a correlation id.

        Only when GitHub is known not to return the run: otherwise the dispatch's answer names it,
        and the list would be paid for nothing. (If an answer unexpectedly names no run, the new
        runs are still told apart from older ones by their creation time, and several are never
        guessed between.)
        """
        return target.request.is_repository_dispatch or self.run_details_supported is False

    def send(self, target: Target, correlation_id: str | None, deadline: float | None) -> int | None:
        """One dispatch POST. Returns the run id when GitHub tells it."""
        request = target.request
        if request.is_repository_dispatch:
            payload: dict[str, Any] = dict(request.client_payload)
            if correlation_id and request.correlation_input:
                payload[request.correlation_input] = correlation_id
            self.say(
                ProgressEvent(
                    ProgressKind.DISPATCHED,
                    f"sending repository_dispatch {request.event_type!r} to {target.repo}",
                    subject=target.repo.full_name,
                )
            )
            self.api.post(
                f"{target.repo.api_path}/dispatches",
                {"event_type": request.event_type, "client_payload": payload},
                deadline=deadline,
            )
            return None  # repository_dispatch answers 204, never the run (repos/create-dispatch-event)
        assert target.workflow is not None  # nosec B101 # an invariant for mypy, not a check of input
        inputs = dict(request.inputs)
        if correlation_id and request.correlation_input:
            inputs[request.correlation_input] = correlation_id
        check_input_limits(inputs)
        body: dict[str, Any] = {"ref": target.ref, "inputs": inputs}
        # Under API version 2026-03-10 the dispatch always answers 200 with the run's details and
        # the field is gone (REST "Breaking changes"); under 2022-11-28 it must be asked for.
        if self.run_details_supported is not False and self.api.api_version == FALLBACK_API_VERSION:
            body["return_run_details"] = True
        self.say(
            ProgressEvent(
                ProgressKind.DISPATCHED,
                f"dispatching {target.workflow.describe()} on {target.ref}"
                + (f" with inputs {json.dumps(inputs, sort_keys=True)}" if inputs else ""),
                subject=target.workflow.path,
            )
        )
        answer = self.api.post(
            f"{target.repo.api_path}/actions/workflows/{target.workflow.api_id}/dispatches",
            body,
            deadline=deadline,
        )
        # 200 with the run's id under 2026-03-10 or when asked for it; 204 from servers that ignore
        # the field. Both are success (PyGithub/PyGithub#3426: the endpoint once answered 200 to plain
        # requests).
        data = answer.data if isinstance(answer.data, Mapping) else {}
        run_id = data.get("workflow_run_id")
        if run_id is None:
            return None
        if isinstance(run_id, int) and not isinstance(run_id, bool) and run_id > 0:
            self.run_details_supported = True
            return run_id
        # Not an id GitHub would send (OpenAPI: an integer): the dispatch was accepted, so a run
        # started; it is found as a 204's would be, never guessed from this value.
        self.say(
            ProgressEvent(
                ProgressKind.CORRELATING,
                f"the dispatch was accepted but its answer names no valid run (workflow_run_id "
                f"{str(run_id)[:40]!r}); looking for the run it started",
                subject=label(target),
            )
        )
        return None

    def refused_field(
        self, exc: ValidationFailedError, target: Target, correlation_id: str | None
    ) -> str | None:
        """Which of our own additions a 400/422 refused, if any: such a refusal started nothing."""
        text = exc.message
        if "return_run_details" in text and self.run_details_supported is not False:
            return "return_run_details"
        name = target.request.correlation_input
        if correlation_id and name and "Unexpected inputs" in text and f'"{name}"' in text:
            return "correlation"
        return None


def explained(exc: ValidationFailedError, target: Target) -> WaitAndDispatchError:
    """GitHub's 422 for a dispatch, with a hint for what it means, not GitHub's words alone: its
    messages are recorded in Workflow.testCreateDispatchForNonTriggerEnabled ("Workflow does not
    have 'workflow_dispatch' trigger") and reported in github/docs#590 ("No ref found for: <sha>")."""
    text = exc.message
    if "No ref found for" in text:
        if workflow_runs.is_sha(target.ref):
            exc.hint = (
                "dispatch takes a branch or tag, not a commit SHA: give the branch or tag as ref, and the "
                "commit as sha to find its runs"
            )
        else:
            return UsageError(
                f"ref {target.ref!r} does not exist in {target.repo} ({text})",
                hint="give an existing branch or tag name (without refs/heads/)",
            )
    elif "does not have 'workflow_dispatch' trigger" in text and target.workflow is not None:
        exc.hint = NOT_DISPATCHABLE_HINT.format(path=target.workflow.path)
    elif "disabled workflow" in text:
        exc.hint = "enable the workflow (Actions tab, or `gh workflow enable`), then dispatch it again"
    return exc
