"""One workflow or checks node as the action's job: its values rendered, turned into the action's
inputs, run by `step.run.run_job`, and its report turned into the node's outcome."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.progress import format_seconds
from wait_and_dispatch.engine.results import short
from wait_and_dispatch.plans.model import NodeKind, NodeOutcome, NodeResult, PlanNode, plan_text
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.step.run import JobReport, run_job
from wait_and_dispatch.step.settings import JobSettings
from wait_and_dispatch.support import expressions
from wait_and_dispatch.support.errors import UsageError


def job_values(
    node: PlanNode, values: Mapping[str, Any], *, repository: Repository, workdir: Path, dry_run: bool
) -> dict[str, str]:
    """The node's values as the action's input values (text), for `step.settings.read_settings`."""
    text = {name: plan_text(value) for name, value in values.items()}
    text["repository"] = repository.full_name
    text["path"] = str(workdir / (text.get("path") or node.name))
    text["summary"] = "false"
    text["dry-run"] = "true" if dry_run else "false"
    return text


def fixed_correlation(key: str, node: str) -> str:
    """The last part of the correlation id of `node`'s dispatch under `key` (8 hex digits, as the
    random one): the same in every process, so that one process can find the run another one
    dispatched and died before it could record (advance mode)."""
    return hashlib.sha256(f"{key}\0{node}".encode()).hexdigest()[:8]


def run_node_job(node: PlanNode, engine: Engine, settings: JobSettings) -> NodeOutcome:
    """Run the node's job; its report (failures included) becomes the node's outcome."""
    report = run_job(engine, settings)
    outputs = {name: report.outputs.get(name, "") for name in OUTPUT_NAMES}
    run_url = outputs.get("run-url", "")
    run_started, run_completed = _github_times(report)
    if report.error is None:
        return NodeOutcome(
            node.name,
            NodeResult.SUCCESS,
            outputs,
            reason=_success_reason(report),
            run_url=run_url,
            run_started=run_started,
            run_completed=run_completed,
        )
    digest = report.run.failure if report.run is not None else None
    if report.checks is not None:
        digest = report.checks.failure
    return NodeOutcome(
        node.name,
        NodeResult.FAILURE,
        outputs,
        error=report.error,
        reason=_failure_reason(report),
        run_url=run_url,
        run_started=run_started,
        run_completed=run_completed,
        failure=digest,
    )


def _github_times(report: JobReport) -> tuple[float | None, float | None]:
    """When the node's run started and completed, on GitHub's clock (None where it did not):
    the run's `run_started_at` (else `created_at`) and its `updated_at` once completed; for a
    wait for checks, the first check's `started_at` and the last check's `completed_at`."""
    if report.run is not None:
        run = report.run.run
        started = run.run_started_at if run.run_started_at is not None else run.created_at
        return started, run.updated_at if run.completed else None
    if report.checks is not None and report.checks.checks:
        checks = report.checks.checks
        starts = [c.started_at for c in checks if c.started_at is not None]
        ends = [c.completed_at for c in checks if c.completed_at is not None]
        everything_completed = all(c.completed for c in checks) and len(ends) == len(checks)
        return (min(starts) if starts else None), (max(ends) if everything_completed else None)
    return None, None


def render_values(node: PlanNode, context: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return {name: _render(value, context) for name, value in node.values.items()}
    except expressions.ExpressionError as error:
        raise UsageError(f"{node.name}: {error}", hint="see docs/plans.md, Expressions") from None


def _render(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return expressions.render(value, context) if "${{" in value else value
    if isinstance(value, Mapping):
        return {key: _render(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_render(item, context) for item in value]
    return value


def describe(node: PlanNode, values: Mapping[str, Any]) -> str:
    def text(name: str) -> str:
        return plan_text(values.get(name, "")).strip()

    if node.kind is NodeKind.COLLECT and node.collect is not None:
        wanted = ", ".join(node.collect.patterns) or "every artifact"
        return f"collecting {wanted} from {', '.join(node.collect.sources)}"
    if node.kind is NodeKind.CHECKS:
        named = ", ".join(filter(None, [text("checks").replace("\n", ", "), text("checks-regex")]))
        return f"waiting for checks: {named or 'every check'}"
    if text("run-id"):
        return f"taking run {text('run-id')}"
    if text("event-type"):
        return f"sending repository_dispatch {text('event-type')}"
    return f"finding or dispatching {text('workflow')}"


def _success_reason(report: JobReport) -> str:
    if report.run is not None:
        run = report.run.run
        how = "dispatched" if report.run.dispatched else "found"
        return f"{how} run {run.id}: {run.conclusion or run.status}"
    if report.checks is not None:
        return f"{len(report.checks.checks)} checks passed on {report.checks.sha[:7]}"
    return ""


def _failure_reason(report: JobReport) -> str:
    error = report.error
    assert error is not None  # nosec B101 # an invariant for mypy, not a check of input
    if report.run is not None and report.run.artifact_error is None:
        run = report.run.run
        digest = report.run.failure
        if run.completed and digest is not None and digest.jobs:
            return f"run {run.id} failed: {short(digest.headline())}"  # the job, step and error
        if run.completed:
            return f"run {run.id} failed: {run.conclusion}"
        return f"run {run.id} still {run.status} after {format_seconds(report.run.waited)}"
    return error.message
