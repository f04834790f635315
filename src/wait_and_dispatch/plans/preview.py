"""A plan's dry run: what each node would do, found out with read requests only.

Values that depend on other nodes are only known once those have run: they are shown as written
(docs/plans.md, "--dry-run").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.model import NodeKind, Plan, PlanNode, plan_text
from wait_and_dispatch.plans.node_job import job_values
from wait_and_dispatch.plans.scheduler import STATUS_FUNCTIONS, PlanContext, expression_context
from wait_and_dispatch.step.run import run_job
from wait_and_dispatch.step.settings import read_settings
from wait_and_dispatch.support import expressions
from wait_and_dispatch.support.errors import WaitAndDispatchError


def preview_plan(
    api: GitHubApi, plan: Plan, context: PlanContext, repository: Repository
) -> list[tuple[str, list[str]]]:
    """What each node would do, in plan order, found out with read requests only.

    Values that depend on other nodes are shown as the expression (docs/plans.md, "--dry-run").
    """
    previews: list[tuple[str, list[str]]] = []
    for node in plan.nodes.values():
        lines: list[str] = []
        if node.needs:
            lines.append("runs after: " + ", ".join(node.needs))
        if node.condition:
            written = node.written_condition or node.condition
            if _known_false(plan, context, node):
                lines.append(f"would be skipped: if: {written} is false")
                previews.append((node.name, lines))
                continue
            lines.append(f"if: {written}")
        try:
            lines.extend(_preview_node(api, plan, context, repository, node))
        except WaitAndDispatchError as error:
            error.message = f"node {node.name}: {error.message}"
            error.args = (error.message,)
            raise
        previews.append((node.name, lines))
    return previews


def _known_false(plan: Plan, context: PlanContext, node: PlanNode) -> bool:
    """The node's `if` is false already (it reads neither needs nor a status function)."""
    try:
        paths = expressions.references(node.condition)
        calls = {name.lower() for name in expressions.function_calls(node.condition)}
        if calls & STATUS_FUNCTIONS or any(path[0].lower() == "needs" for path in paths):
            return False
        known = expression_context(plan, context, node, {})
        return not expressions.truthy(expressions.evaluate(node.condition, known))
    except expressions.ExpressionError:
        return False  # the real run reports it


def _preview_node(
    api: GitHubApi, plan: Plan, context: PlanContext, repository: Repository, node: PlanNode
) -> list[str]:
    known = expression_context(plan, context, node, {})
    values = {name: _render_known(value, known) for name, value in node.values.items()}
    if node.kind is NodeKind.COLLECT:
        assert node.collect is not None  # nosec B101 # an invariant for mypy, not a check of input
        wanted = ", ".join(node.collect.patterns) or "every artifact"
        path = context.workdir / node.collect.path
        sources = ", ".join(node.collect.sources)
        lines = [f"would collect {wanted} from the runs of {sources} into {path}/<artifact>/"]
        if node.select is not None:
            which = "highest" if node.select.highest else "lowest"
            lines.append(
                f"would select the artifact whose {node.select.file} has the {which} {node.select.key}"
            )
        if node.gate is not None:
            lines.append(f"gate: {node.gate}")
        return lines
    run_id = plan_text(values.get("run-id", ""))
    if "${{" in run_id:
        # Known only once the needed node has run: read_settings would refuse it as text.
        lines = [f"would use the run of {_needs_named(run_id) or run_id}"]
        patterns = plan_text(values.get("artifacts", "")).replace("\n", ", ")
        path = context.workdir / (plan_text(values.get("path", "")) or node.name)
        lines.append(f"would download {patterns or 'every artifact'} from it into {path}")
        return lines
    try:
        text = job_values(node, values, repository=repository, workdir=context.workdir, dry_run=True)
        settings = read_settings(text, default_sha=context.sha)
        return list(run_job(Engine(api), settings).preview)
    except WaitAndDispatchError as error:
        dynamic = [name for name, value in values.items() if "${{" in plan_text(value)]
        if not dynamic:
            raise
        # A value still holding an expression (a ref from another node, say) is only known
        # once the plan runs: say so rather than fail the dry run.
        needs = _needs_named(" ".join(plan_text(values[name]) for name in dynamic)) or "its needs"
        return [f"{', '.join(dynamic)} known only once {needs} have finished ({error.message})"]


def _render_known(value: Any, context: Mapping[str, Any]) -> Any:
    """Render what is known before the plan runs; leave templates over `needs` as written."""
    if isinstance(value, str):
        if "${{" not in value:
            return value
        try:
            if any(path[:1] == ("needs",) for path in expressions.references(value)):
                return value
            return expressions.render(value, context)
        except expressions.ExpressionError:
            return value
    if isinstance(value, Mapping):
        return {key: _render_known(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_render_known(item, context) for item in value]
    return value


def _needs_named(template: str) -> str:
    try:
        names = [
            path[1] for path in expressions.references(template) if path[:1] == ("needs",) and len(path) > 1
        ]
    except expressions.ExpressionError:
        return ""
    return ", ".join(dict.fromkeys(names))
