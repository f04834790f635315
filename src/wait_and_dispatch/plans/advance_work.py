"""One invocation's work on one instance of a plan in advance mode: rebuild its state from the
refs and runs, claim and start the nodes that are ready, recover a node left half done, and read a
node's outcome from its run (the rules are in `plans/advance.py`'s docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from wait_and_dispatch.engine import git_refs, workflow_runs
from wait_and_dispatch.engine.requests import DEFAULT_RUN_CONCLUSIONS, parse_conclusions
from wait_and_dispatch.plans import advance_checks, advance_deadlines, advance_recovery, scheduler
from wait_and_dispatch.plans.advance_nodes import (
    CLAIM_WINDOW,
    RECOVERY_GRACE,
    dispatches,
    inline_timeout,
    runs_inline,
)
from wait_and_dispatch.plans.advance_refs import Instance, instance_prefix, read_instances
from wait_and_dispatch.plans.advance_runs import RunBook
from wait_and_dispatch.plans.executor import PlanContext, PlanRunner
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, Plan, PlanNode, plan_text
from wait_and_dispatch.plans.scheduler import PlanState

if TYPE_CHECKING:
    from wait_and_dispatch.plans.advance import Advancer, AdvanceReport

# The values a node keeps when its outcome is read from a run that has completed: how to judge
# the run and what to download from it. The rest (what to dispatch, and how) is done with.
_RECORD_KEYS = (
    "artifacts",
    "path",
    "merge-multiple",
    "allow-forks",
    "skip-decompress",
    "allowed-conclusions",
    "timeout",
)
# What a node does not do when it is dispatched in advance mode: wait, or download from its run.
_DISPATCH_DROPS = ("artifacts", "artifacts-from-branch", "merge-multiple", "skip-decompress", "allow-forks")


class InstanceWork:
    """What one invocation knows of one instance while it advances it."""

    def __init__(
        self, advancer: Advancer, plan: Plan, instance: Instance, context: PlanContext, report: AdvanceReport
    ) -> None:
        self.a = advancer
        self.plan = plan
        self.instance = instance
        self.context = context
        self.report = report
        self.outcomes: dict[str, NodeOutcome] = {}
        self.full: set[str] = set()  # outcomes with their outputs (the others know their result only)
        self.prefix = instance_prefix(advancer.key, instance.id)
        self.stranded: list[str] = []  # claimed nodes with nothing recorded and no live holder
        self.seen_at = advancer.api.clock.now()  # the refs were read before this
        self._started_at: float | None = None
        self.book = RunBook(advancer.api, advancer.repository, self.began)

    def rebuild(self, completed_run: int | None) -> PlanState:
        """The state from the refs, and from the runs of the nodes in progress: a run that has
        completed (this event's, or one whose own event is being handled at the same moment) is
        recorded now, so that two completions at once both count in both invocations."""
        running: list[str] = []
        self.book.read(  # the runs of the nodes still going (this event's too), at once
            run_id
            for name, run_id in self.instance.runs.items()
            if name in self.plan.nodes
            and name not in self.instance.done
            and not runs_inline(self.plan.nodes[name])
        )
        for name in self.plan.nodes:
            result = self.instance.done.get(name)
            if result is not None:
                self.outcomes[name] = self._known(name, result)
                continue
            if name not in self.instance.claims:
                continue
            run_id = self.instance.runs.get(name)
            if run_id is None and advance_checks.waiting(self.instance, name) is not None:
                if advance_checks.on_event(self, name, completed_run) is None:
                    running.append(name)  # it waits on events: nobody holds it
                continue
            if run_id is not None and (
                run_id == completed_run
                or runs_inline(self.plan.nodes[name])  # it does not wait for its run
                or self.book.last(run_id).completed
            ):
                self.record(name, run_id)
            else:
                running.append(name)
                if run_id is None and not self.held(name, self.instance):
                    self.stranded.append(name)
        if completed_run is not None and self.book.listed and running:
            running = self._recorded_meanwhile(running)
        state = scheduler.state_from(self.plan, self.outcomes.values(), running=running)
        # The nodes whose deadline has passed meanwhile end now, as their wait would have.
        runs = {
            name: self.book.last(self.instance.runs[name])
            for name in running
            if name in self.instance.runs and not runs_inline(self.plan.nodes[name])
        }
        return advance_deadlines.enforce(self, state, runs)

    def _recorded_meanwhile(self, running: list[str]) -> list[str]:
        """The nodes of `running` that are still going by the instance's refs read again, now that
        this run's completion is recorded: a list of runs may show a run that has just completed
        as going (docs/github-behaviour.md#finding-the-run), and of two invocations recording two
        completions at the same moment, the one that reads the refs second sees both results (each
        writes its own before it reads), so the node that needs both is never left waiting."""
        refs = self.a.store.matching(self.prefix)
        self.instance.refs.extend(ref for ref, _ in refs if ref not in self.instance.refs)
        now = read_instances(refs, self.a.key).get(self.instance.id)
        if now is None:
            return running
        going = []
        for name in running:
            result = now.done.get(name)
            if result is None:
                going.append(name)
                continue
            self.instance.done[name] = result
            self.outcomes[name] = self._known(name, result)
            if name in now.runs:
                self.instance.runs[name] = now.runs[name]
            if name in self.stranded:
                self.stranded.remove(name)
        return going

    def held(self, name: str, instance: Instance) -> bool:
        """Whether a claimed node with no run may still be in its holder's hands: an inline node
        whose holder's run is still going, or a checks node that waits on events. (A node that
        dispatches is recorded within seconds.)"""
        if advance_checks.waiting(instance, name) is not None:
            return True
        held = instance.inline.get((name, instance.claims.get(name, 1)))
        if held is None or held[0] <= self.a.api.clock.now():
            return False
        holder = held[1]
        if holder == self.a.run_id:
            return False  # this run's earlier attempt: it is over
        return not holder or not workflow_runs.get_run(self.a.api, self.a.home, holder).completed

    def _known(self, name: str, result: NodeResult) -> NodeOutcome:
        node = self.plan.nodes[name]
        allowed = result is NodeResult.FAILURE and node.continue_on_error
        return NodeOutcome(
            name,
            result,
            scheduler.empty_outputs(),
            reason=result.value,
            started=0.0,
            finished=0.0,
            allowed_failure=allowed,
        )

    def start(self, node: PlanNode) -> NodeOutcome | None:
        """Claim and start a ready node; its outcome when it has one already (inline, or a run that
        had completed), None while its run goes on or when another invocation has it."""
        return advance_deadlines.too_late(self, node) or self.take(node, 1)

    def take(self, node: PlanNode, number: int) -> NodeOutcome | None:
        """Claim the node for the `number`-th time and start it; the next number when this claim
        came too late to act on."""
        name, clock = node.name, self.a.api.clock
        while True:
            claimed_at = clock.now()
            claim = self._create(f"claim/{name}" if number == 1 else f"claim-{number}/{name}")
            if claim is git_refs.Claim.ALREADY_EXISTS:
                self.report.lines.append(f"{name}: taken by another invocation")
                return None
            self.instance.claims[name] = number
            if claim is git_refs.Claim.UNCERTAIN:
                self.report.lines.append(f"{name}: the answer to its claim was lost; recovering it")
                return self.recover(name, seen_at=clock.now())
            self.load_all(node.needs)
            if clock.now() - claimed_at <= CLAIM_WINDOW:
                return self._run(node, number)
            self.report.lines.append(f"{name}: claimed too late to start it safely; claiming it again")
            number += 1

    def recover(self, name: str, *, seen_at: float) -> NodeOutcome | None:
        """A claimed node with nothing recorded, its claim seen at `seen_at` (advance_recovery.py)."""
        return advance_recovery.recover(self, name, seen_at=seen_at)

    def began(self) -> float:
        """When the instance began on GitHub's clock: its first run was created before anything it
        dispatched (read once)."""
        if self._started_at is None:
            first = workflow_runs.get_run(self.a.api, self.a.home, int(self.instance.id))
            self._started_at = first.created_at or 0.0
        return self._started_at

    def _run(self, node: PlanNode, number: int) -> NodeOutcome | None:
        """Start a node just claimed (its needs loaded)."""
        name = node.name
        needs = scheduler.needs_context(node, self.outcomes)
        if advance_checks.may_advance_on_events(self.a, node):
            return advance_checks.start(self, node, number)  # (or inline, when it cannot)
        if runs_inline(node):
            return self.run_inline(node, number)
        values = {k: v for k, v in node.values.items() if k not in _DISPATCH_DROPS}
        values["wait"] = False
        deadline = advance_deadlines.plan_deadline(self)
        outcome = self._runner(self._with_values(node, values), deadline=deadline).run_node(name, needs)
        run_id = self._note_run(name, outcome)
        if run_id is None:
            return self._ended(outcome)  # the dispatch failed: that is the node's outcome
        advance_deadlines.note_dispatch(self, node, outcome)
        if outcome.outputs.get("status") == "completed":  # a run found that had completed already
            return self.record(name, run_id)
        self.report.lines.append(f"{name}: {outcome.reason or f'run {run_id}'}")
        return None

    def run_inline(self, node: PlanNode, number: int) -> NodeOutcome:
        """Run a node just claimed in this invocation, its `inline` ref written first."""
        name = node.name
        until = self.a.api.clock.now() + inline_timeout(node) + RECOVERY_GRACE
        self._create(f"inline/{name}/{number}/{int(until)}/{self.a.run_id or 0}")
        self.instance.inline[(name, number)] = (until, self.a.run_id or 0)
        deadline = advance_deadlines.plan_deadline(self)
        needs = scheduler.needs_context(node, self.outcomes)
        outcome = self._runner(self.plan, deadline=deadline).run_node(name, needs)
        if dispatches(node):  # `wait: false`: its run, so that no later run starts it again
            self._note_run(name, outcome)
        self.report.lines.append(f"{name}: {outcome.reason or outcome.result.value}")
        return self._ended(outcome)

    def _note_run(self, name: str, outcome: NodeOutcome) -> int | None:
        """Record the run the node dispatched or found (None: it has none)."""
        run_text = outcome.outputs.get("run-id", "")
        if not (run_text.isascii() and run_text.isdigit()):
            return None
        run_id = int(run_text)
        dispatched = outcome.outputs.get("dispatched") == "true"
        self._create(f"{'run' if dispatched else 'found'}/{name}/{run_id}")
        self.instance.runs[name] = run_id
        if not dispatched:
            self.instance.found.add(name)
        self.report.dispatched[name] = run_id
        return run_id

    def record(self, name: str, run_id: int) -> NodeOutcome:
        """The node's outcome from its completed run, as the waiting executor reads it, and its
        result kept in a ref."""
        outcome = self._from_run(name, run_id, wait=not runs_inline(self.plan.nodes[name]))
        self.report.lines.append(f"{name}: {outcome.reason or outcome.result.value}")
        return self._ended(outcome)

    def create_ref(self, name: str) -> git_refs.Claim:
        """Create the instance's ref `name` (the deadlines' refs, `advance_deadlines.py`)."""
        return self._create(name)

    def end_node(self, outcome: NodeOutcome) -> NodeOutcome:
        """Record the node's outcome (a timeout, `advance_deadlines.py`)."""
        return self._ended(outcome)

    def _create(self, name: str) -> git_refs.Claim:
        """Create the instance's ref `name`, and keep it to delete at the end."""
        ref = f"{self.prefix}{name}"
        created = self.a.store.create(ref, self.instance.sha)
        self.instance.refs.append(ref)
        return created

    def _ended(self, outcome: NodeOutcome) -> NodeOutcome:
        name = outcome.name
        result = NodeResult.FAILURE if outcome.allowed_failure else outcome.result
        self._create(f"done/{name}/{result.value}")
        self.instance.done[name] = result
        self.outcomes[name] = outcome
        self.full.add(name)
        return outcome

    def load_all(self, names: Iterable[str]) -> None:
        """`load` each of `names`, the runs of those that need one read at once (`RunBook.read`)."""
        names = list(names)
        self.book.read(
            self.instance.runs[name]
            for name in names
            if name in self.outcomes and name not in self.full and name in self.instance.runs
        )
        for name in names:
            self.load(name)

    def load(self, name: str) -> None:
        """Make sure the node's outcome has its outputs (a result read from a ref has none)."""
        if name in self.full or name not in self.outcomes:
            return
        node = self.plan.nodes[name]
        run_id = self.instance.runs.get(name)
        if run_id is not None:
            outcome = self._from_run(name, run_id, wait=not runs_inline(node))
        elif self.outcomes[name].result is NodeResult.SKIPPED:
            return
        elif advance_deadlines.is_late(self, name):
            outcome = advance_deadlines.late_outcome(self.plan, node)
        else:
            for need in node.needs:
                self.load(need)
            outcome = advance_checks.reload(self, node) or self._runner(self.plan).run_node(
                name, scheduler.needs_context(node, self.outcomes)
            )
        self.outcomes[name] = outcome
        self.full.add(name)

    def _from_run(self, name: str, run_id: int, *, wait: bool = True) -> NodeOutcome:
        node = self.plan.nodes[name]
        values: dict[str, Any] = {k: v for k, v in node.values.items() if k in _RECORD_KEYS}
        if not wait:
            values = {k: v for k, v in values.items() if k not in _DISPATCH_DROPS} | {"wait": False}
        allowed_text = plan_text(values.get("allowed-conclusions"))
        values["allowed-conclusions"] = allowed_text or ",".join(sorted(DEFAULT_RUN_CONCLUSIONS))
        run = self.book.run(run_id)
        if wait and (timed_out := advance_deadlines.overdue_run(self, name, run)) is not None:
            return timed_out  # not completed by its deadline: what waiting mode saw there
        # As the waiting executor: artifacts only from a run whose conclusion is allowed.
        if run.conclusion not in parse_conclusions(
            values["allowed-conclusions"], default=DEFAULT_RUN_CONCLUSIONS
        ):
            values.pop("artifacts", None)
        values["run-id"] = str(run_id)
        # Its values may read its needs (`path: ${{ needs.x.outputs.. }}`); a need skipped is
        # decided again by the scheduler and may not be known yet while the state is rebuilt.
        known = all(need in self.outcomes for need in node.needs)
        needs = scheduler.needs_context(node, self.outcomes) if known else {}
        outcome = self._runner(self._with_values(node, values)).run_node(name, needs)
        if run.created_at is not None and run.updated_at is not None:
            # The node's time is its run's, from its creation to its completion, as waiting saw it.
            outcome = replace(outcome, started=run.created_at, finished=run.updated_at)
        if name in self.instance.found:
            return outcome
        # The run was dispatched for the node (the download's job only found it by id).
        outputs = {**outcome.outputs, "dispatched": "true"}
        reason = outcome.reason.replace(f"found run {run_id}", f"dispatched run {run_id}", 1)
        return replace(outcome, outputs=outputs, reason=reason)

    # For plans/advance_checks.py, which records a checks node's outcome as this class does.
    create = _create
    ended = _ended

    def _with_values(self, node: PlanNode, values: Mapping[str, Any]) -> Plan:
        return replace(self.plan, nodes={**self.plan.nodes, node.name: replace(node, values=dict(values))})

    def _runner(self, plan: Plan, *, deadline: float | None = None) -> PlanRunner:
        return PlanRunner(
            self.a.api,
            plan,
            self.context,
            on_event=self.a.on_event,
            deadline=deadline,
            known_runs=self.book.known,
        )
