"""The plan job both edges run: plan input values in, a `PlanReport` out.

The action reads the values from `INPUT_*` (`plan`, `plan-environment`, `plan-vars`, `plan-node`,
`plan-needs`), the command line from `wait-and-dispatch plan FILE` and its options; both hand
this module the same names, so a plan means the same in both places. Like `step`, it does no I/O
of its own beyond reading the plan file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.failures import PLAN_OUTPUT_BUDGET
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.inputs import json_object, parse_key_values
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.executor import PlanContext, PlanEvent, PlanRunner, plan_error
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, Plan, PlanResult
from wait_and_dispatch.step import results
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.step.settings import InputValues
from wait_and_dispatch.support.errors import UsageError, WaitAndDispatchError

if TYPE_CHECKING:
    from wait_and_dispatch.plans.advance import AdvanceReport
    from wait_and_dispatch.session.advance import AdvanceEvent


@dataclass(frozen=True)
class PlanSettings:
    path: Path
    environment: str | None
    variables: Mapping[str, str]
    node: str | None  # run only this node (generated orchestrator workflows)
    needs: Mapping[str, Any] | None  # with `node`: GitHub's toJSON(needs)
    repository: str  # the caller's: the plan's own `repository` wins
    dry_run: bool
    summary: bool
    advance: bool = False  # advance mode: do what the event asks and end (docs/plans.md)
    event: AdvanceEvent | None = None  # with `advance`: the event, read by the edge (`read_event`)


def read_plan_settings(values: Mapping[str, str]) -> PlanSettings:
    """Typed settings from input values (the action's names); the plan file is read by `load`."""
    v = InputValues(values)
    path = v.text("plan")
    if not path:
        raise UsageError("no plan file given", hint="e.g. plan: .github/pipeline.yml")
    node = v.text("plan-node") or None
    needs_text = v.text("plan-needs")
    needs: dict[str, Any] | None = None
    if needs_text:
        if node is None:
            raise UsageError("plan-needs is given without plan-node", hint="set plan-node to the node to run")
        needs = json_object(needs_text, what="plan-needs", example="${{ toJSON(needs) }}")
    advance = v.flag("advance")
    if advance and (node is not None or v.flag("dry-run")):
        raise UsageError(
            f"advance cannot go with {'plan-node' if node is not None else 'dry-run'}",
            hint="advance mode runs the whole plan, one event at a time",
        )
    return PlanSettings(
        path=Path(path),
        environment=v.text("plan-environment") or None,
        variables=parse_key_values(
            [line for line in v.text("plan-vars").splitlines() if line.strip()],
            what="plan var",
            form="NAME=VALUE",
            example="--var mode=quick (plan-vars: mode=quick)",
        ),
        node=node,
        needs=needs if node is not None else None,
        repository=v.text("repository"),
        dry_run=v.flag("dry-run"),
        summary=v.flag("summary"),
        advance=advance,
    )


def load(settings: PlanSettings) -> Plan:
    plan = load_plan(settings.path, environment=settings.environment, variables=settings.variables)
    if settings.node is not None and settings.node not in plan.nodes:
        raise UsageError(
            f"plan {settings.path} has no node {settings.node!r}",
            hint=f"the nodes are: {', '.join(plan.nodes)}",
        )
    return plan


def plan_repository(plan: Plan, settings: PlanSettings) -> Repository:
    text = plan.repository or settings.repository
    if not text:
        raise UsageError(
            "the plan names no repository and none was given",
            hint="add `repository: owner/name` to the plan, or pass --repo",
        )
    return Repository.parse(text)


@dataclass
class PlanReport:
    """What a plan job produced: outputs (the action's names), the result, the dry-run preview."""

    plan: Plan
    outputs: dict[str, str] = field(default_factory=dict)
    result: PlanResult | None = None
    node: NodeOutcome | None = None  # with plan-node
    preview: list[tuple[str, list[str]]] = field(default_factory=list)
    error: WaitAndDispatchError | None = None
    advanced: list[AdvanceReport] = field(default_factory=list)  # advance mode: what each instance did


def run_plan_job(
    api: GitHubApi,
    plan: Plan,
    settings: PlanSettings,
    context: PlanContext,
    *,
    on_event: Callable[[PlanEvent], None],
    on_runner: Callable[[PlanRunner], None] = lambda runner: None,
) -> PlanReport:
    """Run the plan (or one node of it, or preview it); expected failures come back in `error`.

    `on_runner` gets the runner before it starts, so that an edge can cancel it from a signal.
    """
    report = PlanReport(plan)
    if settings.advance:
        return _advance(api, plan, settings, context, report, on_event)
    runner = PlanRunner(api, plan, context, on_event=on_event)
    on_runner(runner)
    if settings.dry_run:
        report.preview = runner.preview()
        return report
    if settings.node is not None:
        outcome = runner.run_node(settings.node, settings.needs or {})
        report.node = outcome
        report.outputs = {name: outcome.outputs.get(name, "") for name in OUTPUT_NAMES}
        if not outcome.counts_as_success:
            report.error = outcome.error or UsageError(
                outcome.reason or f"node {outcome.name} failed",
                hint="the node's result says why; its needs' jobs in this workflow run show their own",
            )
        return report
    result = runner.run()
    report.result = result
    report.outputs = plan_outputs(result)
    report.error = plan_error(result)
    return report


def _advance(
    api: GitHubApi,
    plan: Plan,
    settings: PlanSettings,
    context: PlanContext,
    report: PlanReport,
    on_event: Callable[[PlanEvent], None],
) -> PlanReport:
    """Advance mode: what the event asks; the plan's result when this invocation saw it end."""
    from wait_and_dispatch.session.advance import advance, repository_path

    event = settings.event
    if event is None:
        raise UsageError("advance mode without an event", hint="the edge reads it with read_event")

    def plan_at(sha: str) -> Plan | None:
        """The plan file as it is at commit `sha` of the orchestrator's repository, at its path from
        the checkout's root (`repository_path`); None when it is not there."""
        text = workflow_runs.read_file(
            api, event.repository, repository_path(settings.path, event.workspace), sha
        )
        if text is None:
            return None
        return load_plan(
            settings.path, environment=settings.environment, variables=settings.variables, text=text
        )

    report.advanced = advance(
        api,
        plan,
        context.repository,
        event,
        workdir=context.workdir,
        on_event=on_event,
        plan_at=plan_at,
    )
    ended = [item.result for item in report.advanced if item.result is not None]
    if ended:
        report.result = ended[0]
        report.outputs = plan_outputs(ended[0])
        report.error = plan_error(ended[0])
    return report


def plan_outputs(result: PlanResult) -> dict[str, str]:
    """The action's outputs for a whole plan: the conclusion, each node's outputs, and the sum.
    The failed nodes' digests share one budget (`PLAN_OUTPUT_BUDGET`): GitHub limits a job's
    outputs, and they are here twice."""
    nodes = result.as_json()
    digests = {n: o.failure for n, o in result.outcomes.items() if o.failure and o.outputs.get("result")}
    for name, digest in digests.items():
        outputs = nodes[name]["outputs"]
        outputs["result"] = results.with_failure_within(
            outputs["result"], digest, PLAN_OUTPUT_BUDGET // len(digests)
        )
    values = {name: "" for name in OUTPUT_NAMES}
    values["status"] = "completed" if result.conclusion is not NodeResult.CANCELLED else "cancelled"
    values["conclusion"] = result.conclusion.value
    values["dispatched"] = "true" if result.dispatched else "false"
    values["duration"] = str(round(result.elapsed))
    values["nodes"] = json.dumps(nodes)
    values["result"] = json.dumps(
        {
            "plan": result.plan.name,
            "environment": result.plan.environment,
            "conclusion": result.conclusion.value,
            "elapsed": round(result.elapsed, 1),
            "dispatched": list(result.dispatched),
            "nodes": nodes,
        }
    )
    return values


def plan_repositories(plan: Plan, repository: Repository) -> list[Repository]:
    """The repositories a plan's token is scoped to: the plan's own (`repository`), the only one
    its nodes can reach. A node's values hold only `plans.model.NODE_INPUTS`, which has no
    `repository`, and the loader refuses one on a node: one plan, one repository (docs/plans.md)."""
    del plan  # its nodes all work in `repository`, so it adds none
    return [repository]
