"""Advance mode's edge part that both edges share: the event as GitHub gives it to a job, read into
what `plans.advance.Advancer` does with it.

The edge passes the runner's environment as a mapping (`GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`,
`GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_REF`, `GITHUB_RUN_ID`); this module reads the event
payload from the path it names (everything in it is GitHub's, and untrusted: only ids and names
are taken, checked) and decides which of three things the event is:

- the orchestrator's own start (`workflow_dispatch`, `push`, `schedule`, or a trigger of the
  plan's `on`, a completed `workflow_run` of a workflow it lists among them, on a branch its
  filter keeps): a new instance, unless that run is an instance's own node run;
- the sweep (`schedule` whose cron is none of the plan's `on.schedule`): the deadlines enforced
  (`plans/advance_deadlines.py`), nothing started;
- a completed run (`workflow_run` with `action: completed`, or the callback `repository_dispatch`
  of type `CALLBACK_EVENT_TYPE` that a node workflow's last job sends): the instances it belongs
  to advance;
- anything else (a `workflow_run` that is not a completion): nothing to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.advance import CALLBACK_EVENT_TYPE, Advancer, AdvanceReport
from wait_and_dispatch.plans.advance_deadlines import is_sweep
from wait_and_dispatch.plans.advance_guards import PlanElsewhere, start_branch_filtered, started_by
from wait_and_dispatch.plans.advance_refs import GitRefStore
from wait_and_dispatch.plans.executor import PlanEvent
from wait_and_dispatch.plans.model import Plan
from wait_and_dispatch.support.errors import UsageError

# A webhook payload is at most 25 MB (GitHub docs, "Webhook events and payloads"); the fields read
# here are near its start, but json needs the whole text.
_MAX_PAYLOAD = 25 * 1024 * 1024


@dataclass(frozen=True)
class AdvanceEvent:
    """What one orchestrator run was started for."""

    name: str  # GITHUB_EVENT_NAME
    repository: Repository  # the orchestrator's: where the instances' refs are
    sha: str  # GITHUB_SHA
    ref_name: str  # GITHUB_REF without refs/heads/ or refs/tags/
    run_id: str  # GITHUB_RUN_ID: a new instance's id
    completed_run: int | None = None  # the node run that completed, if that is the event
    completed_attempt: int = 1  # its attempt (workflow_run.run_attempt): a re-run keeps the id
    # A start by the plan's own `on.workflow_run`: the run that fired it. If that run is an
    # instance's own node run, the event is that node's, never a new start.
    trigger_run: int | None = None
    ignored: str = ""  # why the event is nothing to do, if it is not
    sweep: bool = False  # the scheduled sweep's run: enforce the deadlines, start nothing
    workspace: str = ""  # GITHUB_WORKSPACE: the checkout, whose root the plan's path is read from

    @property
    def starts(self) -> bool:
        return self.completed_run is None and not self.ignored and not self.sweep


def read_event(environ: Mapping[str, str], plan: Plan) -> AdvanceEvent:
    """The event from the runner's environment; a missing variable is a usage error."""
    missing = [
        name
        for name in ("GITHUB_EVENT_NAME", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_REF", "GITHUB_RUN_ID")
        if not environ.get(name, "").strip()
    ]
    if missing:
        raise UsageError(
            f"--advance reads the event a workflow run was started for, but {', '.join(missing)} is not set",
            hint="run --advance as a step of the orchestrator workflow (plan --emit-workflow --advance)",
        )
    name = environ["GITHUB_EVENT_NAME"].strip()
    ref = environ.get("GITHUB_REF", "").strip()
    ref_name = environ.get("GITHUB_REF_NAME", "").strip() or _ref_name(ref)
    run_id = environ["GITHUB_RUN_ID"].strip()
    if not (run_id.isascii() and run_id.isdigit()):
        raise UsageError(f"GITHUB_RUN_ID {run_id!r} is not a number", hint="set by the runner")
    base = AdvanceEvent(
        name=name,
        repository=Repository.parse(environ["GITHUB_REPOSITORY"].strip()),
        sha=environ["GITHUB_SHA"].strip(),
        ref_name=ref_name,
        run_id=run_id,
        workspace=environ.get("GITHUB_WORKSPACE", "").strip(),
    )
    if name == "schedule" and is_sweep(plan, _payload(environ.get("GITHUB_EVENT_PATH", ""))):
        return AdvanceEvent(**{**base.__dict__, "sweep": True})
    if name not in ("workflow_run", "repository_dispatch"):
        return base
    payload = _payload(environ.get("GITHUB_EVENT_PATH", ""))
    action = payload.get("action")
    if name == "repository_dispatch":
        if action != CALLBACK_EVENT_TYPE:
            return base  # one of the plan's own triggers
        client = payload.get("client_payload")
        run = client.get("run_id") if isinstance(client, Mapping) else None
        return _completed(base, run, f"repository_dispatch {CALLBACK_EVENT_TYPE}")
    run_data = payload.get("workflow_run")
    workflow = payload.get("workflow")
    workflow_name = workflow.get("name") if isinstance(workflow, Mapping) else None
    if workflow_name is None and isinstance(run_data, Mapping):
        workflow_name = run_data.get("name")
    if action != "completed":
        return AdvanceEvent(**{**base.__dict__, "ignored": f"workflow_run {action!r} is not a completion"})
    if isinstance(workflow_name, str) and workflow_name in started_by(plan):
        # The plan's own `on: workflow_run` (an orchestrator after another), on its completion
        # only, as the advance orchestrator listens (a `requested` would start it once more).
        run = run_data.get("id") if isinstance(run_data, Mapping) else None
        started = (
            replace(base, trigger_run=run) if isinstance(run, int) and not isinstance(run, bool) else base
        )
        branch = run_data.get("head_branch") if isinstance(run_data, Mapping) else None
        if isinstance(branch, str) and start_branch_filtered(plan, branch):
            # The orchestrator's trigger has no branch filter (its nodes' completions would be
            # filtered too): the plan's own is applied here.
            why = f"a run of {workflow_name} on {branch}, which the plan's on.workflow_run branches leave out"
            return replace(started, ignored=why)
        return started
    completed = _completed(
        base, run_data.get("id") if isinstance(run_data, Mapping) else None, "workflow_run"
    )
    attempt = run_data.get("run_attempt") if isinstance(run_data, Mapping) else None
    if isinstance(attempt, int) and not isinstance(attempt, bool) and attempt > 1:
        return replace(completed, completed_attempt=attempt)
    return completed


def _completed(base: AdvanceEvent, run: Any, what: str) -> AdvanceEvent:
    if isinstance(run, bool) or not (
        isinstance(run, int) or (isinstance(run, str) and run.isascii() and run.isdigit())
    ):
        raise UsageError(
            f"the {what} event names no run id",
            hint="the payload's workflow_run.id (client_payload.run_id for the callback) must be a number",
        )
    return AdvanceEvent(**{**base.__dict__, "completed_run": int(run)})


def _payload(path: str) -> Mapping[str, Any]:
    if not path:
        raise UsageError("GITHUB_EVENT_PATH is not set", hint="set by the runner to the event's payload file")
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read(_MAX_PAYLOAD + 1)
    except OSError as exc:
        raise UsageError(
            f"cannot read the event payload {path}: {exc.strerror or exc}", hint="set by the runner"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(
            f"the event payload {path} is not UTF-8 text", hint="the runner writes the webhook's JSON"
        ) from None
    try:
        data = json.loads(text) if len(text) <= _MAX_PAYLOAD else None
    except ValueError:
        data = None
    if not isinstance(data, Mapping):
        raise UsageError(f"the event payload {path} is not a JSON object", hint="set by the runner")
    return data


def _ref_name(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def repository_path(path: Path, workspace: str) -> str:
    """`path` (as given: from the working directory, or absolute) from the root of the checkout it
    is in, as the contents API names it: the root is `workspace` (GITHUB_WORKSPACE) when the path is
    inside it, else the git top level (the nearest folder above it with `.git`). A path outside
    both is `PlanElsewhere`, saying so."""
    resolved = path.resolve()
    roots = [Path(workspace).resolve()] if workspace else []
    roots += [folder for folder in resolved.parents if (folder / ".git").exists()][:1]
    for root in roots:
        if resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix()
    where = f"the checkout {roots[0]}" if roots else "any git checkout"
    raise PlanElsewhere(
        f"the plan file {path} cannot be read: it is outside {where} (give the plan as a path inside "
        "the orchestrator's checkout)"
    )


def advance(
    api: GitHubApi,
    plan: Plan,
    repository: Repository,
    event: AdvanceEvent,
    *,
    workdir: Path,
    on_event: Callable[[PlanEvent], None],
    plan_at: Callable[[str], Plan | None] | None = None,
) -> list[AdvanceReport]:
    """Do what the event asks of the plan: one report per instance it touched (one without an
    instance when it touched none). `plan` is the checkout's, at the event's commit; `plan_at`
    reads it at the commit an instance started on."""
    store = GitRefStore(api, event.repository)
    advancer = Advancer(
        api,
        plan,
        repository,
        store,
        workdir=workdir,
        on_event=on_event,
        plan_sha=event.sha,
        plan_at=plan_at,
        home=event.repository,
        run_id=int(event.run_id),
    )
    if event.completed_run is not None:
        return advancer.completed(event.completed_run, attempt=event.completed_attempt)
    if event.trigger_run is not None and advancer.owns(event.trigger_run):
        # The plan starts on a workflow one of its nodes runs: that node's run is no new start.
        return advancer.completed(event.trigger_run)
    if event.sweep:
        return advancer.sweep()
    if event.ignored:
        return [AdvanceReport(None, [f"{event.ignored}: nothing to do"])]
    return [advancer.start(event.run_id, event.sha, event_name=event.name, ref_name=event.ref_name)]
