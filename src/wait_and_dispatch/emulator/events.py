"""Events between workflows: a run that is requested, starts or completes starts the runs of the
workflows that listen to it with `on.workflow_run`, and the payload each run's job gets as its event.

GitHub's rules (GitHub docs, "Events that trigger workflows", `workflow_run`; docs/github-behaviour.md
#events-that-start-workflows), each kept here:

- a listener names the workflows it listens to by their `name`, not their file, and only
  workflows of its own repository can start it (its file cannot name another repository's);
- the listener's run is on the default branch, at its head, with event `workflow_run` and the
  webhook payload (`action`, `workflow_run`, `workflow`, `repository`, `sender`);
- `types` picks the activities (`requested`, `in_progress`, `completed`; all when absent), and
  `branches` or `branches-ignore` filter on the head branch of the run that fired;
- at most three levels of `workflow_run` (`Options.workflow_run_max_depth`);
- a run dispatched with a GITHUB_TOKEN fires none (`Options.workflow_run_from_github_token`).

A workflow's `schedule` is started by the test, when it says the cron's time has come
(`start_scheduled`, `Emulator.fire_schedule`), with the cron as its payload's `schedule`.

Like everything in the model, nothing fires in the background: `settle` is called with the time
of each request (and of each look the test takes) and fires, in time order, every event that has
happened by then, each at the time it happened, so a listener's run exists from the moment its
event fired, whenever someone asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.model import Attempt, Repo, Run, Workflow
from wait_and_dispatch.emulator.shapes import Urls
from wait_and_dispatch.emulator.specs import WorkflowRunTrigger
from wait_and_dispatch.emulator.state import State


@dataclass(frozen=True)
class JobContext:
    """What GitHub gives a job of a run (GitHub docs, "Store information in variables", default
    environment variables): `GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT`, `GITHUB_REPOSITORY`,
    `GITHUB_WORKFLOW`, `GITHUB_EVENT_NAME`, `GITHUB_SHA`, `GITHUB_REF`, `GITHUB_ACTOR`, and the event
    payload written to the file `GITHUB_EVENT_PATH` names."""

    run_id: int
    run_attempt: int
    run_number: int
    status: str  # the run's status now: a runner is given the jobs of runs not yet completed
    repository: str
    workflow: str
    workflow_path: str
    event_name: str
    sha: str
    ref: str
    actor: str
    payload: Mapping[str, Any]

    @classmethod
    def of(cls, state: State, run: Run, urls: Urls) -> JobContext:
        github = run.context["github"]
        return cls(
            run_id=run.id,
            run_attempt=run.latest.number,
            run_number=run.run_number,
            status=run.latest.status_at(state.now())[0],
            repository=run.repo.full_name,
            workflow=run.workflow.spec.name,
            workflow_path=run.workflow.spec.path,
            event_name=run.event,
            sha=run.head_sha,
            ref=str(github["ref"]),
            actor=run.actor,
            payload=event_payload(state, run, urls),
        )


def settle(state: State, now: float, urls: Urls) -> None:
    """Fire every `workflow_run` event that has happened by `now`, earliest first. Hold the lock."""
    while True:
        due = _earliest_due(state, now)
        if due is None:
            return
        when, run, attempt, action = due
        run.announced.add((attempt.number, action))
        if _fires(state, run):
            for listener in _listeners(run.repo, run, action):
                _start_listener(state, listener, run, attempt, action, when, urls)


def event_payload(state: State, run: Run, urls: Urls) -> dict[str, Any]:
    """The payload GitHub writes to GITHUB_EVENT_PATH for `run`'s job: a `workflow_run` run's
    webhook as it was sent; for a dispatch, the `workflow_dispatch` or `repository_dispatch`
    webhook (inputs or client payload, ref or branch); for another event its ref and head."""
    if run.event_payload is not None:
        return dict(run.event_payload)
    github = run.context["github"]
    common = {"repository": _repository(run.repo, urls), "sender": shapes.user(run.actor, urls)}
    if run.event == "workflow_dispatch":
        return {
            "inputs": dict(run.context["inputs"]),
            "ref": github["ref"],
            "workflow": run.workflow.spec.path,
            **common,
        }
    if run.event == "repository_dispatch":
        event = github["event"]
        return {
            "action": event.get("action"),
            "branch": run.head_branch,
            "client_payload": dict(event.get("client_payload") or {}),
            **common,
        }
    return {"ref": github["ref"], "after": run.head_sha, **common}


def next_activity(state: State, now: float) -> float | None:
    """When the next run is requested, starts or completes after `now` (None: nothing is going
    on); a held run nobody has finished does not count, since only the test can end it."""
    upcoming = [
        when
        for repo in state.repos.values()
        for run in repo.runs
        if not run.deleted
        for attempt in run.attempts
        if not (attempt.held and attempt.finished_at is None)
        for when, _ in _activities(attempt)
        if when > now
    ]
    return min(upcoming, default=None)


# -- what fires, and what it starts ------------------------------------------------------------


def _earliest_due(state: State, now: float) -> tuple[float, Run, Attempt, str] | None:
    best: tuple[float, int, Run, Attempt, str] | None = None
    for repo in state.repos.values():
        listened = _listened_names(repo)
        if not listened:
            continue  # nobody in this repository listens: nothing to fire
        for run in repo.runs:
            if run.workflow.spec.name not in listened or run.deleted:
                continue
            for attempt in run.attempts:
                for when, action in _activities(attempt):
                    if when > now or (attempt.number, action) in run.announced:
                        continue
                    key = (when, run.id)
                    if best is None or key < (best[0], best[1]):
                        best = (when, run.id, run, attempt, action)
    return None if best is None else (best[0], best[2], best[3], best[4])


def _activities(attempt: Attempt) -> list[tuple[float, str]]:
    """When an attempt was requested, went in progress (if it did before it ended) and completed."""
    end = attempt.end
    times = [(attempt.origin, "requested")]
    if attempt.started_in_progress < end:
        times.append((attempt.started_in_progress, "in_progress"))
    times.append((end, "completed"))
    return times


def _listened_names(repo: Repo) -> set[str]:
    return {
        name
        for wf in repo.workflows
        if wf.spec.workflow_run is not None and wf.state == "active"
        for name in wf.spec.workflow_run.workflows
    }


def _fires(state: State, run: Run) -> bool:
    kind = run.token_kind
    if kind == "github_token" and not state.options.workflow_run_from_github_token:
        return False
    return run.workflow_run_depth < state.options.workflow_run_max_depth


def _listeners(repo: Repo, run: Run, action: str) -> list[Workflow]:
    listeners = []
    for wf in repo.workflows:
        trigger = wf.spec.workflow_run
        if trigger is None or wf.state != "active" or run.workflow.spec.name not in trigger.workflows:
            continue
        if trigger.types is not None and action not in trigger.types:
            continue
        if _branch_filtered_out(trigger, run.head_branch or ""):
            continue
        listeners.append(wf)
    return listeners


def _branch_filtered_out(trigger: WorkflowRunTrigger, branch: str) -> bool:
    if trigger.branches is not None:
        return not any(_glob(pattern)(branch) for pattern in trigger.branches)
    if trigger.branches_ignore is not None:
        return any(_glob(pattern)(branch) for pattern in trigger.branches_ignore)
    return False


def _glob(pattern: str) -> Callable[[str], bool]:
    """A branch filter's pattern (workflow syntax, "Filter pattern cheat sheet"): `*` within one
    part of a name, `**` across `/`, `?` one character."""
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    regex = "".join(
        ".*" if part == "**" else "[^/]*" if part == "*" else "." if part == "?" else re.escape(part)
        for part in parts
    )
    compiled = re.compile(regex)
    return lambda branch: compiled.fullmatch(branch) is not None


def _start_listener(
    state: State, wf: Workflow, run: Run, attempt: Attempt, action: str, when: float, urls: Urls
) -> None:
    repo = run.repo
    branch = repo.spec.default_branch
    payload = {
        "action": action,
        "workflow_run": shapes.workflow_run(state, run, attempt, when, urls),
        "workflow": shapes.workflow(
            repo,
            run.workflow.id,
            run.workflow.spec.name,
            run.workflow.spec.path,
            run.workflow.state,
            run.workflow.created_at,
            run.workflow.updated_at,
            urls,
        ),
        "repository": _repository(repo, urls),
        "sender": shapes.user(run.actor, urls),
    }
    state.create_run(
        repo,
        wf,
        event="workflow_run",
        head_sha=repo.branches[branch],
        head_branch=branch,
        actor=run.actor,
        created=when,
        visible_delay=0.0,
        inputs={},
        client_payload=None,
        workflow_run_depth=run.workflow_run_depth + 1,
        webhook_payload=payload,
    )


def start_scheduled(state: State, repo: Repo, wf: Workflow, cron: str) -> Run:
    """A run of `wf` started by its `schedule` trigger's `cron`: on the default branch's head
    ("Scheduled workflows run on the latest commit on the default branch"), by the user who last
    changed the cron, with the cron in the payload (`github.event.schedule`; GitHub docs, "Events
    that trigger workflows", schedule). Hold the lock."""
    crons = wf.spec.triggers.get("schedule") or ()
    if cron not in crons:
        raise ValueError(f"{wf.spec.path} has no schedule {cron!r} (it has {list(crons)})")
    branch = repo.spec.default_branch
    return state.create_run(
        repo,
        wf,
        event="schedule",
        head_sha=repo.branches[branch],
        head_branch=branch,
        actor=repo.owner,
        created=state.now(),
        visible_delay=state.options.dispatch_visibility_delay,
        inputs={},
        client_payload=None,
        webhook_payload={"schedule": cron},
    )


def _repository(repo: Repo, urls: Urls) -> dict[str, Any]:
    # The webhook's `repository` is the full repository without the reader's `permissions`.
    body = shapes.repo_full(repo, urls, {})
    del body["permissions"]
    return body
