"""Advance a plan on events: GitHub is the engine and the only state (docs/plans.md, "Advance mode").

A plan in advance mode never waits for a run. Each invocation starts on a fresh machine, reads
what it needs from GitHub, does what became possible, and ends:

- On the orchestrator's own start, a new instance begins (its id is the orchestrator's run id)
  and the nodes that are ready are dispatched.
- When a run of an instance's node completes, the instance's state is rebuilt from GitHub, the
  node's outcome is read from its run exactly as the waiting executor reads it (the same node
  job, given the run's id), the pure scheduler (`scheduler.next_step`) says what became ready,
  and that is dispatched. `collect` and `checks` nodes, and nodes that name a run or never
  dispatch, run in the invocation that makes them ready (a checks node waits there: the short
  waiting job of that node only), but for a checks node whose checks known workflows carry: the
  completions of their runs advance it (advance_checks.py).
- The invocation that finds the instance over says so once, with the whole plan's result.

State lives in git refs of the orchestrator's repository, under
`refs/wait-and-dispatch/live/<plan key>/<instance>/` (`contents: write` is all it takes):

- `start/<event name>/<ref name>`: the instance, pointing at the commit it started on (the plan's
  commit, and `github.sha`); its name keeps the start's `github.event_name` and `github.ref_name`;
- `claim/<node>`: the node is taken. Creating a ref that exists fails with 422 (OpenAPI
  `git/create-ref`), which makes the claim atomic: of two invocations that find the same node
  ready at the same moment, exactly one dispatches it. `claim-<n>/<node>` is its n-th claim,
  after recovery (below); not `claim/<node>/<n>`, as git keeps no ref beside a ref it would be
  the folder of (422 "Reference update failed");
- `inline/<node>/<n>/<until>/<run>`: a node that runs inline (a `checks` node waits there) under
  its n-th claim, in orchestrator run `<run>`, whose job is over by `<until>` (seconds since the
  epoch) whatever happens;
- `checks/<node>/<n>/<sha>`: a checks node that waits, under its n-th claim, for the completion of
  the runs that carry its checks on commit `<sha>` (advance_checks.py);
- `run/<node>/<run id>`: the run the node dispatched (`found/<node>/<run id>`: the run it found,
  as `dispatch: if-missing` finds one for the commit);
- `done/<node>/<result>`: the node's result once known, so that later events need not read
  every run again.

Never dispatch twice, never stall. An invocation can die between claiming a node and recording its
run (a runner lost, a cancel), or lose a create's answer (a 5xx: `git_refs.claim_ref` reads the
ref back, and a claim it cannot prove its own is one nobody may act on). The next invocation of
the instance, whatever its event, finds the claim with no run, no result and no `inline` ref
whose run is still going, and recovers the node: each dispatch carries a correlation id fixed by
the instance and the node (`node_job.fixed_correlation`), so the run, if it was dispatched, is
found by its name and recorded. A claim's holder starts its dispatch (or writes its `inline` ref) within
`advance_nodes.CLAIM_WINDOW` of claiming, or never; so once `RECOVERY_GRACE` has passed since the claim was
seen, with nothing recorded and no run found, nobody will dispatch under it, and the node is
claimed again as `claim-2/<node>` (3, ...): of two recoverers, one has it.

When the instance is over, `refs/wait-and-dispatch/ended/<plan key>/<instance>` is created (the
same claim: one invocation reports the end) and the instance's start ref is deleted: its other
live refs are then no instance's, and each later invocation on a completion deletes a few of them,
so that the refs an event reads are those of the instances in progress and no invocation deletes
three refs per node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wait_and_dispatch.engine import git_refs, workflow_runs
from wait_and_dispatch.engine.dispatch_target import titles
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans import advance_checks, advance_deadlines, scheduler
from wait_and_dispatch.plans.advance_guards import ALL_LIVE, PlanElsewhere, other_plan_line, recorded_line
from wait_and_dispatch.plans.advance_nodes import runs_inline
from wait_and_dispatch.plans.advance_refs import (
    Instance,
    RefStore,
    ended_ref,
    instance_prefix,
    live_prefix,
    plan_key,
    read_instances,
)
from wait_and_dispatch.plans.advance_work import InstanceWork
from wait_and_dispatch.plans.executor import PlanContext, PlanEvent, ignore_events
from wait_and_dispatch.plans.model import (
    Plan,
    PlanResult,
)
from wait_and_dispatch.plans.node_job import fixed_correlation
from wait_and_dispatch.plans.scheduler import PlanState

# The event type of the callback a node workflow sends to the orchestrator's repository when its
# run cannot raise `workflow_run` there (another repository; docs/plans.md, "Advance mode").
CALLBACK_EVENT_TYPE = "wait-and-dispatch-run-completed"

# How many refs of instances that are over a run deletes: a run per event, about one event per
# node, three refs per node, so the refs of one instance are gone within the next one's events.
SWEEP_PER_RUN = 4


@dataclass
class AdvanceReport:
    """What one invocation did: one line per thing it did, and the plan's result when this
    invocation found the instance over."""

    instance: str | None
    lines: list[str] = field(default_factory=list)
    result: PlanResult | None = None
    dispatched: dict[str, int] = field(default_factory=dict)  # node -> run, dispatched now


class Advancer:
    """Advances the instances of one plan. `store` holds the refs of the orchestrator's repository."""

    def __init__(
        self,
        api: GitHubApi,
        plan: Plan,
        repository: Repository,
        store: RefStore,
        *,
        workdir: Any,
        on_event: Callable[[PlanEvent], None] = ignore_events,
        plan_sha: str | None = None,
        plan_at: Callable[[str], Plan | None] | None = None,
        home: Repository | None = None,
        run_id: int | None = None,
    ) -> None:
        """`plan` is the plan as this run's checkout has it, at commit `plan_sha`; `plan_at` reads
        it as it was at another commit (None: not there), for an instance that started on one.
        `home` is the orchestrator's repository, where an instance's first run is (default:
        `repository`); `run_id` is this invocation's run there."""
        self.api = api
        self.plan = plan
        self.repository = repository  # where the nodes' workflows are (the plan's)
        self.store = store
        self.workdir = workdir
        self.on_event = on_event
        self.key = plan_key(plan)
        self.plan_sha = plan_sha
        self.plan_at = plan_at
        self.home = home or repository
        self.run_id = run_id
        # The runs of a checks node's carrying workflows on a commit, by (file, sha): read once.
        self.carried: dict[tuple[str, str], list[WorkflowRun]] = {}

    # -- the two events ------------------------------------------------------------------------

    def start(self, instance: str, sha: str, *, event_name: str, ref_name: str) -> AdvanceReport:
        """The orchestrator started: begin instance `instance` on commit `sha` and dispatch what
        is ready. A second start of the same instance (a re-run of the orchestrator's run) goes on
        with it rather than beginning again."""
        name = f"{instance_prefix(self.key, instance)}start/{event_name}/{ref_name}"
        report = AdvanceReport(instance)
        ended = ended_ref(self.key, instance)
        if any(found == ended for found, _ in self.store.matching(ended)):
            # A re-run of the run that started an instance now over: its refs are gone, so creating
            # the start again would begin the whole plan a second time.
            report.lines.append(
                f"plan {self.plan.name}: instance {instance} is over already (this re-runs the run "
                "that started it): nothing to do; start the orchestrator anew to run the plan again"
            )
            return report
        if self.store.create(name, sha) is git_refs.Claim.CREATED:
            report.lines.append(f"plan {self.plan.name}: instance {instance} started on {sha[:7]}")
            found = Instance(instance, sha, event_name, ref_name, refs=[name])
        else:
            instances = read_instances(self.store.matching(instance_prefix(self.key, instance)), self.key)
            found = instances.get(instance) or Instance(instance, sha, event_name, ref_name, refs=[name])
            report.lines.append(f"plan {self.plan.name}: instance {instance} exists; going on with it")
        advance_deadlines.begin(self.store, found, self.key, self.plan, self.api.clock.now())
        return self._advance(found, report, completed_run=None, plan=self.plan)

    def sweep(self) -> list[AdvanceReport]:
        """The scheduled sweep (`plan --emit-workflow --advance --advance-sweep`): the instances
        whose deadline has passed, as their refs say, advance as on an event; the others cost
        nothing more than the one read of the refs."""
        instances = read_instances(self.store.matching(live_prefix(self.key)), self.key)
        due = advance_deadlines.overdue(instances.values(), self.key, self.api.clock.now())
        if not due:
            return [
                AdvanceReport(
                    None,
                    [f"plan {self.plan.name}: no deadline passed ({len(instances)} in progress)"],
                )
            ]
        reports = []
        for instance in due:
            report = AdvanceReport(
                instance.id, [f"plan {self.plan.name}: instance {instance.id}: a deadline has passed"]
            )
            plan = self._plan_of(instance, report)
            reports.append(self._advance(instance, report, completed_run=None, plan=plan))
        return reports

    def completed(self, run_id: int, *, attempt: int = 1) -> list[AdvanceReport]:
        """A run completed (its `attempt`-th attempt: a re-run keeps the id): advance every
        instance it is a node of (none: a report without an instance, saying so)."""
        # Every plan's live refs, in the same one request as this plan's: a run of another plan
        # key's instance is then said so (`advance_guards.other_plan_line`).
        refs = self.store.matching(ALL_LIVE)
        instances = read_instances(refs, self.key)
        try:
            return self._completed(run_id, instances, refs, attempt)
        finally:
            self._sweep(refs, instances)

    def owns(self, run_id: int) -> bool:
        """Whether the run is a node's run of an instance of this plan (recorded, or shown by its
        correlation id): one read of the plan's refs."""
        instances = read_instances(self.store.matching(live_prefix(self.key)), self.key)
        return any(run_id in i.runs.values() for i in instances.values()) or bool(
            self._unrecorded_owners(run_id, instances.values())
        )

    def _sweep(self, refs: Iterable[tuple[str, str]], instances: Mapping[str, Instance]) -> None:
        """Delete a few refs left by instances that are over (their start deleted): at most
        `SWEEP_PER_RUN` a run, so that each run's cost stays small and the refs an event reads
        stay those of the instances in progress."""
        prefix = live_prefix(self.key)
        left = sorted(
            name
            for name, _ in refs
            if name.startswith(prefix) and name[len(prefix) :].partition("/")[0] not in instances
        )
        for name in left[:SWEEP_PER_RUN]:
            self.store.delete(name)

    def _completed(
        self,
        run_id: int,
        instances: dict[str, Instance],
        refs: Iterable[tuple[str, str]] = (),
        attempt: int = 1,
    ) -> list[AdvanceReport]:
        owners = {
            i.id: next(name for name, run in i.runs.items() if run == run_id)
            for i in instances.values()
            if run_id in i.runs.values()
        }
        if not owners:
            owners = self._unrecorded_owners(run_id, instances.values())
        carries = False  # the run is no node's: it carries a checks node's checks
        if not owners:
            owners = advance_checks.owners(self, run_id, instances)
            carries = bool(owners)
        if not owners:
            elsewhere = other_plan_line(
                self.plan, run_id, refs, repository=self.home.full_name, plan_at=self.plan_at
            )
            return [
                AdvanceReport(
                    None,
                    [
                        elsewhere
                        or f"run {run_id} belongs to no instance of plan {self.plan.name}: nothing to do"
                    ],
                )
            ]
        reports = []
        for instance in sorted((instances[i] for i in owners), key=lambda i: i.id):
            node = owners[instance.id]
            what = (
                f"run {run_id}, which carries the checks of {node}," if carries else f"run {run_id} of {node}"
            )
            report = AdvanceReport(
                instance.id, [f"plan {self.plan.name}: instance {instance.id}: {what} completed"]
            )
            if node in instance.done and attempt > 1:
                report.lines.append(recorded_line(node, instance.done[node], attempt))
            plan = self._plan_of(instance, report)
            reports.append(self._advance(instance, report, completed_run=run_id, plan=plan))
        return reports

    def correlation_key(self, instance: str) -> str:
        """What fixes the correlation ids of an instance's dispatches (`PlanContext.correlation_key`)."""
        return f"{self.key}/{instance}"

    def _unrecorded_owners(self, run_id: int, instances: Iterable[Instance]) -> dict[str, str]:
        """The instances (and nodes) whose claim with no run recorded the run is of, by the
        correlation id its name shows: a run whose dispatcher died before recording it. Read
        only when some instance has such a claim."""
        unrecorded = [
            (instance.id, name)
            for instance in instances
            for name in instance.claims
            if name not in instance.runs
            and name not in instance.done
            and name in self.plan.nodes
            and not runs_inline(self.plan.nodes[name])
        ]
        if not unrecorded:
            return {}
        shown = titles(workflow_runs.get_run(self.api, self.repository, run_id))
        return {
            instance: name
            for instance, name in unrecorded
            if f"-{fixed_correlation(self.correlation_key(instance), name)}" in shown
        }

    def _plan_of(self, instance: Instance, report: AdvanceReport) -> Plan:
        """The plan as it was on the commit the instance started on: a `workflow_run` job checks
        out the default branch's head, which may have moved on or be another branch."""
        if self.plan_at is None or self.plan_sha is None or instance.sha == self.plan_sha:
            return self.plan
        try:
            pinned = self.plan_at(instance.sha)
        except PlanElsewhere as why:
            report.lines.append(
                f"instance {instance.id} started on {instance.sha[:7]}, where {why}; going on with it "
                f"as it is at {self.plan_sha[:7]}"
            )
            return self.plan
        if pinned is None:
            report.lines.append(
                f"the plan file is not at {instance.sha[:7]}, where instance {instance.id} started: "
                f"going on with it as it is at {self.plan_sha[:7]}"
            )
            return self.plan
        return pinned

    # -- one instance --------------------------------------------------------------------------

    def _advance(
        self, instance: Instance, report: AdvanceReport, *, completed_run: int | None, plan: Plan
    ) -> AdvanceReport:
        context = PlanContext(
            repository=self.repository,
            sha=instance.sha,
            ref_name=instance.ref_name,
            event_name=instance.event_name,
            workdir=self.workdir,
            correlation_key=self.correlation_key(instance.id),
        )
        work = InstanceWork(self, plan, instance, context, report)
        state = work.rebuild(completed_run)
        for name in work.stranded:
            recovered = work.recover(name, seen_at=work.seen_at)
            if recovered is not None:
                state = state.ended(recovered, fail_fast=plan.fail_fast)
        while True:
            step = scheduler.next_step(plan, context, state)
            state = step.state
            for outcome in step.decided:
                work.outcomes[outcome.name] = outcome
                work.full.add(outcome.name)
                report.lines.append(f"{outcome.name}: {outcome.reason or outcome.result.value}")
            progressed = False
            for name in step.start:
                ended = work.start(plan.nodes[name])
                if ended is not None:
                    state = state.ended(ended, fail_fast=plan.fail_fast)
                    progressed = True
            if not progressed:
                break
        if state.is_over(plan):
            self._end(work, state)
        return report

    def _end(self, work: InstanceWork, state: PlanState) -> None:
        report, instance, plan = work.report, work.instance, work.plan
        # A lost answer (UNCERTAIN) reports the end too: twice is better than never.
        if self.store.create(ended_ref(self.key, instance.id), instance.sha) is git_refs.Claim.ALREADY_EXISTS:
            report.lines.append(f"instance {instance.id} is over; another invocation reports it")
            return
        work.load_all(plan.nodes)
        outcomes = {name: work.outcomes[name] for name in plan.nodes}
        now = self.api.clock.now()
        # The plan's time: from its first node's start (a run's creation) to now.
        starts = [o.started for o in outcomes.values() if o.started]
        report.result = PlanResult(
            plan=plan,
            outcomes=outcomes,
            conclusion=scheduler.conclusion(outcomes.values(), cancelled=state.cancelled),
            started=min([*starts, now]),
            finished=now,
            dispatched=tuple(
                instance.runs[name]
                for name in plan.nodes
                if name in instance.runs and name not in instance.found
            ),
        )
        report.lines.append(
            f"plan {plan.name}: instance {instance.id} is over: {report.result.conclusion.value}"
        )
        # Only the start: without it the rest is no instance, and the runs of later events delete
        # it a few refs at a time (`_sweep`), so that no run deletes three refs per node.
        start = f"{instance_prefix(self.key, instance.id)}start/"
        for ref in sorted({ref for ref in instance.refs if ref.startswith(start)}):
            self.store.delete(ref)
