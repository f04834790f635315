"""A run that is already there: the one a request may reuse (`dispatch: if-missing`), and the wait
for one that something else starts (`dispatch: never`).

Idempotence across re-runs of the calling workflow: a run for the same head SHA is reused. The
correlation id begins with a key derived from the request (workflow, ref, SHA, inputs), so runs
we dispatched for a different request on the same SHA (other inputs) are told apart and not
reused. A run that shows no key is reused only when it cannot be another request's: the request
has no inputs and GitHub started the run itself (push, schedule...), not a dispatch, whose inputs
no API answer lists.
"""

from __future__ import annotations

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.dispatch_target import (
    ANY_MARK,
    Target,
    earliest,
    label,
    look_up_workflow,
    short_sha,
    titles,
    tokenless,
)
from wait_and_dispatch.engine.github_objects import WorkflowRun
from wait_and_dispatch.engine.progress import ProgressCallback, ProgressEvent, ProgressKind, format_seconds
from wait_and_dispatch.engine.results import DispatchedRun
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.github_api.polling import PollBounds, governor_for
from wait_and_dispatch.support.errors import NotFoundError, RunNotFoundError

_DISPATCH_EVENTS = ("workflow_dispatch", "repository_dispatch")
_NOT_REUSED = frozenset({"failure", "cancelled", "timed_out", "startup_failure"})


def existing_run(api: GitHubApi, target: Target, deadline: float | None) -> WorkflowRun | None:
    """The newest run for the SHA that this request may reuse.

    Runs carrying another request's key were dispatched by us with other inputs: not ours.
    """
    try:
        candidates = workflow_runs.find_runs(
            api,
            target.repo,
            workflow_id=target.workflow.api_id if target.workflow else None,
            head_sha=target.sha,
            event=target.request.event or (target.event if target.workflow is None else None),
            deadline=deadline,
        )
    except NotFoundError as exc:
        if target.workflow is not None and target.workflow.id is None:
            # Named by file and never looked up: say which workflows there are instead.
            look_up_workflow(api, target.repo, target.request.workflow or target.workflow.path, deadline)
        raise tokenless(api, exc) from None
    # A run that failed or was cancelled is not reused: running the caller again is how a
    # person retries it, so a new run is dispatched.
    candidates = [run for run in candidates if not (run.completed and run.conclusion in _NOT_REUSED)]
    ours = [run for run in candidates if target.key in titles(run)]
    if ours:
        return ours[0]
    if target.request.inputs or target.request.client_payload:
        # A run that shows no key cannot be told to have had these inputs (GitHub lists no
        # run's inputs): reusing it could hand back another request's run.
        return None
    # Without inputs, a run GitHub started itself (push, pull_request, schedule...) is this
    # request's. A dispatched run that shows no key may have had any inputs: not reused.
    unmarked = [
        run for run in candidates if not ANY_MARK.search(titles(run)) and run.event not in _DISPATCH_EVENTS
    ]
    return unmarked[0] if unmarked else None


def wait_for_appearance(
    api: GitHubApi, say: ProgressCallback, target: Target, deadline: float | None
) -> DispatchedRun:
    """dispatch: never: something else starts the run; wait for it up to the discovery timeout."""
    clock = api.clock
    start = clock.now()
    limit = earliest(start + target.request.discovery_timeout, deadline)
    governor = governor_for(api)  # the one cadence of every wait on this token
    while True:
        now = clock.now()
        if now >= limit:
            raise RunNotFoundError(
                f"no run of {label(target)} for {short_sha(target.sha)} appeared within "
                f"{format_seconds(now - start)} (dispatch: never)"
            )
        pause = min(governor.next_poll(PollBounds()).interval, limit - now)
        say(
            ProgressEvent(
                ProgressKind.POLL,
                f"no run for {short_sha(target.sha)} yet; looking again in {pause:.0f}s",
                subject=label(target),
                elapsed=now - start,
                next_poll_in=pause,
            )
        )
        clock.sleep(pause)
        run = existing_run(api, target, deadline)
        if run is not None:
            say(
                ProgressEvent(
                    ProgressKind.FOUND,
                    f"found {run.describe()} for {short_sha(target.sha)} ({run.status})",
                    subject=f"run {run.id}",
                    status=run.status,
                    url=run.html_url,
                )
            )
            return DispatchedRun(run, dispatched=False, how="existing run")
