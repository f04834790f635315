"""Timeouts in advance mode: the plan's `timeout` and each node's, enforced on every event of an
instance as the waiting executor enforces them while it waits (plans/executor.py).

Waiting mode ends a node's wait at its deadline (its start and its `timeout`, never past the plan's
deadline: its start and the plan's `timeout`): the node fails with a timeout (exit code 3), its run
is cancelled if the node says `cancel-on-timeout`, the scheduler skips what needed it, and a node
that becomes ready once the plan's deadline has passed fails without starting. Advance mode has no
process that waits, so every invocation of an instance checks the deadlines when it runs:

- the plan's deadline is written at the instance's start, as the ref `deadline/<epoch>` beside the
  start ref (the refs an event reads anyway: no request more per event);
- a node's deadline is its run's creation and its `timeout`, written as
  `node-deadline/<node>/<epoch>` when its run is dispatched (the scheduled sweep reads it from the
  refs alone), else read from the run (a run found by recovery); a checks node that waits on events
  has no run: its deadline is written the same way when its wait begins (`note_start`), and
  advance_checks.py ends it there;
- a running node whose deadline has passed is recorded as timed out, its run cancelled with
  `cancel-on-timeout`; a run that completed after its deadline is judged as waiting mode judged it
  at the deadline (timed out), also when its completion is the event that finally arrives;
- a node ready after the plan's deadline fails as "the plan's timeout passed before it could
  start" (but a `collect` node, which waiting mode starts too), marked by `late/<node>`, so that
  the run that reports the plan's result knows it again without running it.

Nothing happens while no event arrives: the opt-in sweep (`plan --emit-workflow --advance
--advance-sweep 15m`) adds a `schedule:` trigger whose runs read the refs once and advance only the
instances with a deadline passed (`overdue`); `sweep_cron` makes its cron, `is_sweep` tells its
event from the plan's own `on.schedule`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import WorkflowRun
from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.engine.progress import format_seconds
from wait_and_dispatch.plans import scheduler
from wait_and_dispatch.plans.advance_refs import Instance, RefStore, instance_prefix
from wait_and_dispatch.plans.model import NodeKind, NodeOutcome, NodeResult, Plan, PlanNode, plan_text
from wait_and_dispatch.plans.scheduler import PlanState
from wait_and_dispatch.plans.timeline import clock_skew
from wait_and_dispatch.step.catalogue import find_input
from wait_and_dispatch.support import expressions
from wait_and_dispatch.support.errors import DeadlineExceededError, UsageError, WaitTimeoutError

if TYPE_CHECKING:
    from wait_and_dispatch.plans.advance_work import InstanceWork

_DEFAULT_TIMEOUT = find_input("timeout").default
PLAN_DEADLINE = "deadline"
NODE_DEADLINE = "node-deadline"
LATE = "late"


@dataclass(frozen=True)
class Deadlines:
    """The deadlines an instance's refs hold (seconds since the epoch)."""

    plan: float | None = None
    nodes: Mapping[str, float] = field(default_factory=dict)
    late: frozenset[str] = frozenset()  # nodes that were ready only after the plan's deadline

    @classmethod
    def of(cls, instance: Instance, key: str) -> Deadlines:
        prefix = instance_prefix(key, instance.id)
        plan: float | None = None
        nodes: dict[str, float] = {}
        late: set[str] = set()
        for ref in instance.refs:
            if not ref.startswith(prefix):
                continue
            parts = ref[len(prefix) :].split("/")
            if parts[0] == PLAN_DEADLINE and len(parts) == 2 and _is_number(parts[1]):
                plan = float(parts[1])
            elif parts[0] == NODE_DEADLINE and len(parts) == 3 and _is_number(parts[2]):
                nodes[parts[1]] = float(parts[2])
            elif parts[0] == LATE and len(parts) == 2:
                late.add(parts[1])
        return cls(plan, nodes, frozenset(late))

    def of_node(
        self, name: str, created: float | None, timeout: float, *, found: bool = False
    ) -> float | None:
        """When the node's wait ends: its own deadline (the ref's, else its run's creation, on this
        clock, and its timeout; not for a run it `found`, whose wait began later than the run),
        never after the plan's."""
        own = self.nodes.get(name)
        if own is None and created is not None and not found:
            own = created + timeout
        candidates = [d for d in (own, self.plan) if d is not None]
        return min(candidates) if candidates else None


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _epoch(seconds: float) -> int:
    """A deadline in a ref's name: whole seconds, never earlier than the deadline itself."""
    return math.ceil(seconds)


# -- writing them ------------------------------------------------------------------------------


def begin(store: RefStore, instance: Instance, key: str, plan: Plan, now: float) -> None:
    """At the instance's start: its plan's deadline, once (a re-run of the start keeps the first)."""
    if plan.timeout is None or Deadlines.of(instance, key).plan is not None:
        return
    ref = f"{instance_prefix(key, instance.id)}{PLAN_DEADLINE}/{_epoch(now + plan.timeout)}"
    store.create(ref, instance.sha)
    instance.refs.append(ref)


def note_dispatch(work: InstanceWork, node: PlanNode, outcome: NodeOutcome) -> None:
    """A node's run was just dispatched (or found): its deadline, from the run's creation (as the
    dispatch saw it, on this clock; a run found, from now: its wait starts now, as in waiting
    mode) and the node's timeout."""
    created = outcome.run_started
    if created is None or outcome.outputs.get("dispatched") != "true":
        created = work.a.api.clock.now()
    note_start(work, node, created)


def note_start(work: InstanceWork, node: PlanNode, started: float) -> None:
    """A node's wait began at `started` (on this clock): its deadline, from then and its timeout."""
    work.create_ref(f"{NODE_DEADLINE}/{node.name}/{_epoch(started + node_timeout(work, node))}")


def node_deadline(work: InstanceWork, node: PlanNode) -> tuple[float, float] | None:
    """When the wait of a node with no run ends (its `note_start`, never after the plan's deadline),
    and when it began (its own deadline less its timeout; the deadline itself when the node has
    none of its own); None when neither the node nor the plan has a deadline."""
    timeout = node_timeout(work, node)
    deadlines = Deadlines.of(work.instance, work.a.key)
    deadline = deadlines.of_node(node.name, None, timeout)
    if deadline is None:
        return None
    own = deadlines.nodes.get(node.name)
    return deadline, min(deadline, own - timeout) if own is not None else deadline


# -- judging -----------------------------------------------------------------------------------


def node_timeout(work: InstanceWork, node: PlanNode) -> float:
    """The node's `timeout` in seconds, rendered with what is known of its needs (the action's
    default when it has none, or when it cannot be read)."""
    text = _rendered(work, node, "timeout") or _DEFAULT_TIMEOUT
    try:
        return parse_duration(text, what="timeout")
    except UsageError:
        return parse_duration(_DEFAULT_TIMEOUT, what="timeout")


def _rendered(work: InstanceWork, node: PlanNode, key: str) -> str:
    value = node.values.get(key)
    text = plan_text(value).strip()
    if "${{" not in text:
        return text
    known = {need: work.outcomes[need] for need in node.needs if need in work.outcomes}
    needs = scheduler.needs_context(node, known) if len(known) == len(node.needs) else {}
    context = scheduler.expression_context(work.plan, work.context, node, needs)
    try:
        return plan_text(expressions.render(text, context)).strip()
    except expressions.ExpressionError:
        return ""


def cancels_on_timeout(work: InstanceWork, node: PlanNode) -> bool:
    return _rendered(work, node, "cancel-on-timeout").lower() == "true"


def overdue_run(work: InstanceWork, name: str, run: WorkflowRun) -> NodeOutcome | None:
    """The node's outcome if its run did not complete by the node's deadline and that deadline has
    passed (what waiting mode saw at the deadline: a timeout), else None (judge the run as usual)."""
    node = work.plan.nodes[name]
    now = work.a.api.clock.now()
    # The deadlines are on this clock (the runner's), the run's times on GitHub's.
    skew = clock_skew(work.a.api.server_time(), now)
    created = None if run.created_at is None else run.created_at - skew
    deadlines = Deadlines.of(work.instance, work.a.key)
    deadline = deadlines.of_node(name, created, node_timeout(work, node), found=name in work.instance.found)
    if deadline is None:
        return None
    if run.completed:
        if run.updated_at is None or run.updated_at - skew <= deadline:
            return None
    elif now < deadline:
        return None
    return _timed_out(work, node, run, deadline, skew)


def _timed_out(
    work: InstanceWork, node: PlanNode, run: WorkflowRun, deadline: float, skew: float
) -> NodeOutcome:
    """A timeout as waiting mode words it (`engine.results.RunResult.error`); times on this clock."""
    created = None if run.created_at is None else run.created_at - skew
    run_started = run.run_started_at if run.run_started_at is not None else run.created_at
    waited = format_seconds(max(0.0, deadline - (created if created is not None else deadline)))
    status = "in_progress" if run.completed else run.status
    cancelled = "; cancelled it" if run.conclusion == "cancelled" and cancels_on_timeout(work, node) else ""
    later = f" (it completed later: {run.conclusion})" if run.completed and not cancelled else ""
    message = f"{run.describe()} still {status} after {waited}{cancelled}{later}: {run.html_url}"
    outputs = {
        **scheduler.empty_outputs(),
        "run-id": str(run.id),
        "run-url": run.html_url,
        "status": run.status,
        "conclusion": run.conclusion or "",
        "dispatched": "false" if node.name in work.instance.found else "true",
    }
    return NodeOutcome(
        node.name,
        NodeResult.FAILURE,
        outputs,
        error=WaitTimeoutError(message),
        reason=f"run {run.id} still {status} after {waited}{later}",
        started=created,
        finished=deadline,
        run_url=run.html_url,
        run_started=None if run_started is None else run_started - skew,
        allowed_failure=node.continue_on_error,
    )


def enforce(work: InstanceWork, state: PlanState, runs: Mapping[str, WorkflowRun]) -> PlanState:
    """Every running node whose deadline has passed, as its wait would have ended: cancelled with
    `cancel-on-timeout`, recorded as timed out. `runs`: the runs read while rebuilding the state."""
    for name in sorted(state.running, key=list(work.plan.nodes).index):
        run = runs.get(name)
        if run is None or run.completed:
            # Not dispatched yet; an inline node (its own invocation keeps its time); or a checks
            # node that waits on events, ended at its deadline as it is rebuilt (advance_checks.py).
            continue
        outcome = overdue_run(work, name, run)
        if outcome is None:
            continue
        node = work.plan.nodes[name]
        if cancels_on_timeout(work, node):
            accepted = workflow_runs.cancel_runs(work.a.api, work.a.repository, [run.id]).get(run.id)
            work.report.lines.append(f"{name}: cancelling run {run.id}: {accepted}")
            if accepted == "cancelled":
                outcome = _cancelled(outcome)
        work.report.lines.append(f"{name}: timed out: {outcome.reason}")
        work.end_node(outcome)
        state = state.ended(outcome, fail_fast=work.plan.fail_fast)
    return state


def _cancelled(outcome: NodeOutcome) -> NodeOutcome:
    error = outcome.error
    assert error is not None  # nosec B101 # an invariant for mypy: a timeout has its error
    head, _, url = error.message.rpartition(": ")
    return replace(outcome, error=WaitTimeoutError(f"{head}; cancelled it: {url}"))


def too_late(work: InstanceWork, node: PlanNode) -> NodeOutcome | None:
    """A node that became ready after the plan's deadline: failed without starting (marked by
    `late/<node>`), as waiting mode fails it; None while the plan has time, and for a `collect`
    node, which waiting mode runs all the same, on its own timeout (plans/collect.py)."""
    plan_deadline = Deadlines.of(work.instance, work.a.key).plan
    if node.kind is NodeKind.COLLECT or plan_deadline is None or work.a.api.clock.now() < plan_deadline:
        return None
    work.create_ref(f"{LATE}/{node.name}")
    outcome = late_outcome(work.plan, node)
    work.report.lines.append(f"{node.name}: {outcome.reason}")
    return work.end_node(outcome)


def late_outcome(plan: Plan, node: PlanNode) -> NodeOutcome:
    timeout = format_seconds(plan.timeout) if plan.timeout is not None else "timeout"
    error = DeadlineExceededError(
        f"the plan's timeout ({timeout}) passed before {node.name} could start",
        hint="raise the plan's timeout, or shorten what runs before this node",
    )
    failed = scheduler.failed_outcome(node, error)
    return replace(failed, allowed_failure=node.continue_on_error)


def is_late(work: InstanceWork, name: str) -> bool:
    return name in Deadlines.of(work.instance, work.a.key).late


def plan_deadline(work: InstanceWork) -> float | None:
    """The plan's deadline for a node that starts now (its waits end there), when the plan has one."""
    if work.plan.timeout is None:
        return None
    return Deadlines.of(work.instance, work.a.key).plan


# -- the sweep ---------------------------------------------------------------------------------


def overdue(instances: Iterable[Instance], key: str, now: float) -> list[Instance]:
    """The instances with a deadline passed, from their refs alone: the plan's, or a node's with no
    result yet whose run goes on or who waits on events for its checks."""
    found = []
    for instance in instances:
        deadlines = Deadlines.of(instance, key)
        nodes = [
            d
            for name, d in deadlines.nodes.items()
            if (name in instance.runs or instance.checks_of(name) is not None) and name not in instance.done
        ]
        if any(d <= now for d in [*nodes, *([deadlines.plan] if deadlines.plan is not None else [])]):
            found.append(instance)
    return sorted(found, key=lambda i: i.id)


# GitHub runs a schedule at most every 5 minutes, and its runs at the top of the hour are the
# likeliest to be delayed or dropped under load ("Events that trigger workflows", schedule):
# the sweep's minutes start at 7.
_SWEEP_MINUTES = (5, 10, 15, 20, 30)
_SWEEP_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
_SWEEP_OFFSET = 7


def sweep_cron(every: str, taken: Iterable[str] = ()) -> str:
    """The cron of a sweep every `every` (`15m`, `1h`), unlike any of the plan's own (`taken`)."""
    try:
        seconds = parse_duration(every, what="--advance-sweep")
    except UsageError:
        seconds = -1.0
    minutes = seconds / 60
    allowed = ", ".join([*(f"{m}m" for m in _SWEEP_MINUTES), *(f"{h}h" for h in _SWEEP_HOURS)])
    if minutes not in _SWEEP_MINUTES and minutes / 60 not in _SWEEP_HOURS:
        raise UsageError(
            f"--advance-sweep {every}: a schedule runs every 5 minutes at the most, and its cron repeats "
            "within an hour or a day",
            hint=f"give one of {allowed}",
        )
    own = {_normal(cron) for cron in taken}
    for offset in range(_SWEEP_OFFSET, _SWEEP_OFFSET + 60):
        if minutes in _SWEEP_MINUTES:
            step = int(minutes)
            marks = sorted({(offset + step * i) % 60 for i in range(60 // step)})
            cron = f"{','.join(str(m) for m in marks)} * * * *"
        else:
            hours = int(minutes / 60)
            cron = f"{offset % 60} {'*' if hours == 1 else f'*/{hours}' if hours < 24 else '0'} * * *"
        if cron not in own:
            return cron
    raise UsageError(
        f"--advance-sweep {every}: every such cron is the plan's own", hint="give another period"
    )


def _normal(cron: str) -> str:
    return " ".join(cron.split())


def own_schedules(on: Any) -> list[str]:
    """The crons of the plan's own `on.schedule`."""
    entries = on.get("schedule") if isinstance(on, Mapping) else None
    if not isinstance(entries, list):
        return []
    return [str(e["cron"]) for e in entries if isinstance(e, Mapping) and isinstance(e.get("cron"), str)]


def is_sweep(plan: Plan, payload: Mapping[str, Any]) -> bool:
    """Whether a `schedule` event is the sweep's rather than the plan's own start: its cron (the
    payload's `schedule`, GitHub docs "Events that trigger workflows", schedule:
    `github.event.schedule`) is none of the plan's `on.schedule`."""
    cron = payload.get("schedule")
    own = {_normal(c) for c in own_schedules(plan.on)}
    if not own:
        return True
    return isinstance(cron, str) and _normal(cron) not in own
