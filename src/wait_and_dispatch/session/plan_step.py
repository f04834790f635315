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
from typing import Any

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.inputs import json_object, parse_key_values
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.executor import PlanContext, PlanEvent, PlanRunner, plan_error
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, Plan, PlanResult
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.step.settings import InputValues
from wait_and_dispatch.support.errors import UsageError, WaitAndDispatchError


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
    runner = PlanRunner(api, plan, context, on_event=on_event)
    on_runner(runner)
    report = PlanReport(plan)
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


def plan_outputs(result: PlanResult) -> dict[str, str]:
    """The action's outputs for a whole plan: the conclusion, each node's outputs, and the sum."""
    nodes = result.as_json()
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
