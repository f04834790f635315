"""Decide what a plan does next from what is known: which nodes start, which end without running.

Pure: no threads, no clock, no API. Given the plan and its state (each node that has ended with
its outcome and outputs, the nodes running, whether the plan was cancelled), `next_step` says
which nodes to start now, which nodes are decided without running (skipped, cancelled, or failed
because their `if` cannot be evaluated) and why, and whether the plan has ended and how. The
waiting executor (`executor.PlanRunner`) calls it each time a node ends; a step that knows the
state from elsewhere (the runs GitHub lists) can call it the same way.

The rules are GitHub's rules for jobs (docs/plans.md, "Running a plan"; "Using conditions to
control job execution" and "Status check functions" in GitHub's workflow syntax docs):

- A node is decided once all its needs have an outcome. Its `if` is evaluated then; an `if`
  without a status function means `success() && (if)`, as on GitHub, so a node whose need
  failed, was cancelled or was skipped is skipped, and the skip propagates.
- `success()`: every direct need succeeded (or failed with `continue-on-error`), no node upstream
  failed, and the plan was not cancelled; `failure()`: a node it depends on, directly or not,
  failed (without `continue-on-error`); `cancelled()`: the plan was cancelled; `always()`: true.
- `fail-fast`: after a failure no more nodes start, except those whose `if` has a status
  function (`always()`, `failure()`, `cancelled()`). Nodes in progress finish.
- Cancelling starts no more nodes, except, again, those with a status function, which run with
  `cancelled()` true, as GitHub runs `if: always()` jobs of a cancelled workflow.
- At most `concurrency` nodes run at a time; the ready ones start in plan order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.requests import CallerJob
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, Plan, PlanNode
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.support import expressions
from wait_and_dispatch.support.errors import UsageError, WaitAndDispatchError

STATUS_FUNCTIONS = frozenset({"always", "success", "failure", "cancelled"})


@dataclass(frozen=True)
class PlanContext:
    """What the plan runs for: the `github` context of its expressions, and where files go."""

    repository: Repository
    sha: str | None
    ref_name: str | None
    event_name: str = "workflow_dispatch"
    workdir: Path = Path(".")
    # The job the plan runs in (the action's runner says): its checks nodes never wait for it.
    caller: CallerJob | None = None
    # Set (advance mode): each node's dispatch carries a correlation id fixed by this key and the
    # node's name (`node_job.fixed_correlation`), the same in every process that dispatches it.
    correlation_key: str | None = None


@dataclass(frozen=True)
class PlanState:
    """What is known about a plan in progress. Immutable: each change gives a new state."""

    # Every node that has ended (ran, or was decided without running), in the order they ended.
    outcomes: Mapping[str, NodeOutcome] = field(default_factory=dict)
    running: frozenset[str] = frozenset()  # started and not ended yet
    cancelled: bool = False
    # The node whose failure stopped new nodes (fail-fast), once one has. Only a node that ran
    # sets it (see `ended`): a node failed by its `if` did not run, as on GitHub.
    fail_fast_after: str | None = None

    def started(self, name: str) -> PlanState:
        return replace(self, running=self.running | {name})

    def not_started(self, name: str) -> PlanState:
        """The node's start failed: it is not running after all."""
        return replace(self, running=self.running - {name})

    def ended(self, outcome: NodeOutcome, *, fail_fast: bool) -> PlanState:
        """A node that ran has its outcome; with `fail_fast`, its failure stops new nodes."""
        failed = outcome.result is NodeResult.FAILURE and not outcome.allowed_failure
        after = self.fail_fast_after
        if failed and fail_fast and after is None:
            after = outcome.name
        return replace(
            self,
            outcomes={**self.outcomes, outcome.name: outcome},
            running=self.running - {outcome.name},
            fail_fast_after=after,
        )

    def decided(self, outcome: NodeOutcome) -> PlanState:
        """A node that did not run has its outcome."""
        return replace(self, outcomes={**self.outcomes, outcome.name: outcome})

    def cancel(self) -> PlanState:
        return replace(self, cancelled=True)

    def is_over(self, plan: Plan) -> bool:
        """Every node has an outcome and none is running."""
        return not self.running and all(name in self.outcomes for name in plan.nodes)

    def conclusion(self) -> NodeResult:
        return conclusion(self.outcomes.values(), cancelled=self.cancelled)


def state_from(
    plan: Plan,
    outcomes: Iterable[NodeOutcome],
    *,
    running: Iterable[str] = (),
    cancelled: bool = False,
) -> PlanState:
    """The state of a plan rebuilt from what is known of each node (read back from GitHub's runs,
    say), rather than recorded as the nodes ended: the outcomes are taken in the order they
    finished, and with the plan's `fail-fast`, the first node that ran (`started` is set) and
    failed is the one that stopped new nodes."""
    ordered = sorted(outcomes, key=lambda o: o.finished if o.finished is not None else float("inf"))
    state = PlanState(running=frozenset(running), cancelled=cancelled)
    for outcome in ordered:
        if outcome.started is None:
            state = state.decided(outcome)
        else:
            state = state.ended(outcome, fail_fast=plan.fail_fast)
    return state


@dataclass(frozen=True)
class Step:
    """What to do now: `start` these nodes (in plan order), record the `decided` outcomes."""

    start: tuple[str, ...]
    decided: tuple[NodeOutcome, ...]  # skipped, cancelled or failed without running; `reason` says why
    state: PlanState  # the state once both are done: `decided` recorded, `start` running
    over: bool  # the plan has ended: every node has an outcome and none is running
    conclusion: NodeResult | None  # success, failure or cancelled once over, else None


def next_step(plan: Plan, context: PlanContext, state: PlanState) -> Step:
    """The nodes to start and the nodes decided without running, given what is known.

    Nodes are taken in plan order (needs before the nodes that need them), so a node decided here
    is known to the nodes after it in the same step: a skip propagates in one step.
    """
    start: list[str] = []
    decided: list[NodeOutcome] = []
    for node in plan.nodes.values():
        if node.name in state.outcomes or node.name in state.running:
            continue
        if not all(need in state.outcomes for need in node.needs):
            if state.cancelled and not node.always:
                outcome = cancelled_outcome(node)
                decided.append(outcome)
                state = state.decided(outcome)
            continue
        outcome_or_none = decide(plan, context, state, node)
        if outcome_or_none is not None:
            decided.append(outcome_or_none)
            state = state.decided(outcome_or_none)
        elif len(state.running) < max(1, plan.concurrency):
            start.append(node.name)
            state = state.started(node.name)
    over = state.is_over(plan)
    return Step(tuple(start), tuple(decided), state, over, state.conclusion() if over else None)


def decide(plan: Plan, context: PlanContext, state: PlanState, node: PlanNode) -> NodeOutcome | None:
    """None if the node is to run (all its needs have an outcome), else the outcome it gets
    without running."""
    if state.cancelled and not node.always:
        return cancelled_outcome(node)
    if state.fail_fast_after is not None and not node.always:
        return skipped(node, f"fail-fast after {state.fail_fast_after} failed")
    outcomes = state.outcomes
    needs = [outcomes[need] for need in node.needs]
    ancestors = ancestors_of(plan, node)
    failed = [
        o
        for name, o in outcomes.items()
        if name in ancestors and o.result is NodeResult.FAILURE and not o.allowed_failure
    ]
    # As on GitHub, success() looks at every job upstream, not only the direct needs: after
    # a fails, b (if: always()) runs, and c, which needs only b, is still skipped
    # (actions/runner#2205).
    success = not state.cancelled and not failed and all(o.counts_as_success for o in needs)
    try:
        runs = condition_holds(
            node.condition,
            expression_context(plan, context, node, needs_context(node, outcomes)),
            success=success,
            failure=bool(failed),
            cancelled=state.cancelled,
        )
    except expressions.ExpressionError as error:
        return failed_outcome(
            node, UsageError(f"{node.name}.if: {error}", hint="see docs/plans.md, Expressions")
        )
    if runs:
        return None
    # Name the node that made it so: "ci failed" says more than the expression does. With the
    # implied success() that is a direct need; with failure() in the `if`, an ancestor.
    condition = node.written_condition or node.condition
    calls = {name.lower() for name in expressions.function_calls(condition)} if condition else set()
    unsuccessful = [need for need in needs if not need.counts_as_success]
    if not calls & STATUS_FUNCTIONS and (unsuccessful or failed):  # the implied success() failed
        return skipped(node, what_happened((unsuccessful or failed)[0]))
    cause = failed[:1]  # a skipped need does not make failure() true: the rest of the `if` did it
    shown = f"if: {condition} is false"
    return skipped(node, f"{what_happened(cause[0])}, so {shown}" if cause else shown)


def when_stopped(plan: Plan, state: PlanState) -> dict[str, NodeOutcome]:
    """Every node's outcome once the plan stops waiting (after a cancel's grace period): a node
    without one is cancelled, in progress or not started."""
    outcomes = dict(state.outcomes)
    for node in plan.nodes.values():
        if node.name not in outcomes:
            still = "still in progress" if node.name in state.running else "not started"
            outcomes[node.name] = NodeOutcome(
                node.name,
                NodeResult.CANCELLED,
                empty_outputs(),
                reason=f"cancelled: {still} when the plan stopped",
            )
    return {name: outcomes[name] for name in plan.nodes}


def cancelled_while_running(outcome: NodeOutcome) -> NodeOutcome:
    """A node that was running when the plan was cancelled: cancelling the plan cancelled its
    run, so a failure is not the node's; a success stands (its outputs are real)."""
    if outcome.result is not NodeResult.FAILURE:
        return outcome
    run_id = outcome.outputs.get("run-id")
    return replace(
        outcome,
        result=NodeResult.CANCELLED,
        reason=f"cancelled: run {run_id} was cancelled with the plan"
        if run_id
        else f"cancelled: {outcome.reason}",
        allowed_failure=False,
    )


def ancestors_of(plan: Plan, node: PlanNode) -> set[str]:
    """Every node this one depends on, directly or not."""
    seen: set[str] = set()
    stack = list(node.needs)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(plan.nodes[name].needs)
    return seen


def needs_context(node: PlanNode, outcomes: Mapping[str, NodeOutcome]) -> dict[str, Any]:
    """GitHub's `needs`: a need that failed with continue-on-error reads `success` there
    (actions/runner#1161); its own outcome and the summary still say it failed."""
    return {
        need: {
            "result": "success" if outcome.allowed_failure else outcome.result.value,
            "outputs": dict(outcome.outputs),
        }
        for need in node.needs
        for outcome in (outcomes[need],)
    }


def expression_context(
    plan: Plan, context: PlanContext, node: PlanNode, needs: Mapping[str, Any]
) -> dict[str, Any]:
    """The contexts a node's expressions read: `github`, `needs`, `vars`, `plan`, `matrix`."""
    return {
        "github": {
            "repository": context.repository.full_name,
            "sha": context.sha or "",
            "ref_name": context.ref_name or "",
            "event_name": context.event_name,
        },
        "needs": dict(needs),
        "vars": dict(plan.vars),
        "plan": {"name": plan.name, "environment": plan.environment or ""},
        "matrix": dict(node.matrix),
    }


def condition_holds(
    condition: str, context: Mapping[str, Any], *, success: bool, failure: bool, cancelled: bool
) -> bool:
    """The node's `if`, as GitHub reads a job's: no status function means `success() && (if)`."""
    expression = expressions.unwrap(condition) if condition.strip() else "success()"
    calls = {name.lower() for name in expressions.function_calls(expression)}
    if not calls & STATUS_FUNCTIONS:
        expression = f"success() && ({expression})"
    functions: dict[str, Callable[..., Any]] = {
        "always": lambda: True,
        "success": lambda: success,
        "failure": lambda: failure,
        "cancelled": lambda: cancelled,
    }
    return expressions.truthy(expressions.evaluate(expression, context, functions))


def conclusion(outcomes: Iterable[NodeOutcome], *, cancelled: bool) -> NodeResult:
    """The plan's result: failure if a node failed (without continue-on-error), else cancelled
    if the plan or a node was, else success."""
    listed = list(outcomes)
    if any(o.result is NodeResult.FAILURE and not o.allowed_failure for o in listed):
        return NodeResult.FAILURE
    if cancelled or any(o.result is NodeResult.CANCELLED for o in listed):
        return NodeResult.CANCELLED
    return NodeResult.SUCCESS


def empty_outputs() -> dict[str, str]:
    return {name: "" for name in OUTPUT_NAMES}


def cancelled_outcome(node: PlanNode) -> NodeOutcome:
    return NodeOutcome(
        node.name, NodeResult.CANCELLED, empty_outputs(), reason="cancelled: the plan was cancelled"
    )


def skipped(node: PlanNode, why: str) -> NodeOutcome:
    return NodeOutcome(node.name, NodeResult.SKIPPED, empty_outputs(), reason=f"skipped: {why}")


def failed_outcome(node: PlanNode, error: WaitAndDispatchError | None, *, reason: str = "") -> NodeOutcome:
    return NodeOutcome(
        node.name,
        NodeResult.FAILURE,
        empty_outputs(),
        error=error,
        reason=reason or (error.message if error is not None else "failed"),
    )


def what_happened(outcome: NodeOutcome) -> str:
    verb = "failed" if outcome.result is NodeResult.FAILURE else f"was {outcome.result.value}"
    return f"{outcome.name} {verb}"
