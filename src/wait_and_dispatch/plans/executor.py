"""Run a plan: every node as soon as its needs allow, independent nodes at once.

What runs when is decided by the pure scheduler (`plans/scheduler.py`, GitHub's rules for jobs);
this module does the I/O it asks for. Each workflow or checks node is run by the same job the
action runs (`plans/node_job.py`), with its values rendered once its needs have finished; a
collect node downloads artifacts from the runs of earlier nodes, picks one and judges it
(`plans/collect.py`). Cancelling starts no more nodes (but those whose `if` has a status
function), cancels the runs the plan dispatched, and nodes in progress that then fail end as
`cancelled` (one whose run succeeded all the same keeps its success: its outputs are real).

Threads: each node runs in its own daemon thread, started by whichever thread schedules it (the
one calling `run()` for the first nodes, then the thread of the node whose end made others
ready), at most `concurrency` at a time. Daemon threads, not a `ThreadPoolExecutor`: its workers
are joined at interpreter exit, so a Ctrl-C would wait for every poll in progress.

Time: the engine waits on the API's clock. A test gives it a `VirtualClock`, which moves only
when every held thread sleeps; a node's thread is held from before it starts until after it has
started the nodes its end made ready, and whoever schedules holds the clock while it does, so
virtual time never jumps while a node is ready to start but not started yet.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from wait_and_dispatch.engine import artifact_staging, workflow_runs
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind, format_seconds
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans import scheduler
from wait_and_dispatch.plans.collect import collect
from wait_and_dispatch.plans.model import NodeKind, NodeOutcome, NodeResult, Plan, PlanNode, PlanResult
from wait_and_dispatch.plans.node_job import (
    describe,
    fixed_correlation,
    job_values,
    render_values,
    run_node_job,
)
from wait_and_dispatch.plans.preview import preview_plan
from wait_and_dispatch.plans.scheduler import PlanContext as PlanContext
from wait_and_dispatch.plans.scheduler import PlanState
from wait_and_dispatch.plans.timeline import clock_skew, on_our_clock
from wait_and_dispatch.step.catalogue import find_input
from wait_and_dispatch.step.settings import read_settings
from wait_and_dispatch.support.clock import hold
from wait_and_dispatch.support.errors import (
    DeadlineExceededError,
    ExitCode,
    PlanFailedError,
    UsageError,
    WaitAndDispatchError,
)

# After a cancel, how long `run()` waits for the nodes in progress, in real seconds. Their waits
# see the cancelled runs at their next poll, but a node waiting on a run it did not start (or
# stuck in a slow request) must not keep a cancelled process alive; and on a virtual clock a
# wait measured on that clock would only move when the nodes themselves sleep.
CANCEL_GRACE = 30.0

_DEFAULT_TIMEOUT = find_input("timeout").default


class PlanEventKind(StrEnum):
    STARTED = "started"  # a node started; the message says what it does
    PROGRESS = "progress"  # the engine's progress within a node (`progress` holds it)
    FINISHED = "finished"  # a node has its outcome (`outcome`), whether it ran or not


@dataclass(frozen=True)
class PlanEvent:
    kind: PlanEventKind
    node: str
    message: str
    progress: ProgressEvent | None = None
    outcome: NodeOutcome | None = None


def ignore_events(event: PlanEvent) -> None:
    """The default event callback: the plan runner never prints."""


class PlanRunner:
    """Runs one plan over one `GitHubApi`. `run()` once; `cancel()` from any thread."""

    def __init__(
        self,
        api: GitHubApi,
        plan: Plan,
        context: PlanContext,
        *,
        on_event: Callable[[PlanEvent], None] = ignore_events,
        deadline: float | None = None,
        known_runs: Mapping[tuple[str, int], WorkflowRun] | None = None,
    ) -> None:
        """`deadline`: the plan's, on the API clock, for `run_node` (advance mode keeps it in the
        instance); `run()` sets its own from the plan's timeout. `known_runs`: completed runs read
        already, that a node given a run's id does not read again (`Engine`'s)."""
        self.api = api
        self.plan = plan
        self.context = context
        self.on_event = on_event
        self.known_runs = known_runs
        self.dispatched: list[int] = []  # ids of the runs this plan started, in order
        self.dispatched_in: dict[int, Repository] = {}  # ... and the repository of each (nodes differ)
        self.repository = Repository.parse(plan.repository) if plan.repository else context.repository
        self._lock = threading.RLock()  # guards everything below
        self._events = threading.Lock()  # one event at a time reaches `on_event`
        self._state = PlanState()  # what the scheduler knows: outcomes, running, cancelled
        self._run_despite_cancel: set[str] = set()  # status-function nodes started after a cancel
        self._releases: dict[str, Callable[[], None]] = {}  # each running node's hold on the clock
        self._cancelled_at: float | None = None  # time.monotonic() of the cancel
        self._crash: Exception | None = None  # a bug in a node's thread, re-raised by run()
        self._finalized = False  # run() has returned: late outcomes are dropped
        self._deadline: float | None = deadline  # the plan's timeout, on the API clock
        self._seen_running: dict[str, float] = {}  # when a poll first saw each node's run in progress
        self._done = threading.Event()

    # -- the whole plan --------------------------------------------------------------------------

    def run(self) -> PlanResult:
        """Run every node; returns when all have an outcome (after a cancel: at most
        `CANCEL_GRACE` real seconds later). Failures are in the result, not raised: see
        `plan_error`. A bug in a node's thread is raised here, once the other nodes are stopped.
        A `KeyboardInterrupt` propagates; the caller then calls `cancel()`."""
        clock = self.api.clock
        started = clock.now()
        if self.plan.timeout is not None:
            self._deadline = started + self.plan.timeout
        self._schedule()
        while not self._done.wait(timeout=0.05):
            with self._lock:
                cancelled_at = self._cancelled_at
            if cancelled_at is not None and time.monotonic() - cancelled_at >= CANCEL_GRACE:
                break
        with self._lock:
            self._finalized = True
            state = self._state
            outcomes = scheduler.when_stopped(self.plan, state)
            dispatched = tuple(self.dispatched)
            crash = self._crash
        if crash is not None:
            raise crash
        return PlanResult(
            plan=self.plan,
            outcomes=outcomes,
            conclusion=scheduler.conclusion(outcomes.values(), cancelled=state.cancelled),
            started=started,
            finished=clock.now(),
            dispatched=dispatched,
        )

    def cancel(self) -> dict[int, str]:
        """Start no more nodes, stop the downloads in progress (their staging is removed) and
        cancel the runs dispatched so far (from the calling thread).

        Thread-safe and idempotent: returns, for each run it cancelled, `cancelled`, `already
        completed` or why GitHub refused; a second call returns `{}`.
        """
        with self._lock:
            if self._state.cancelled:
                return {}
            self._state = self._state.cancel()
            self._cancelled_at = time.monotonic()
            run_ids = list(self.dispatched)
        # Downloads run in the nodes' daemon threads, which die with the process without cleaning
        # up: stop them now (the runs are cancelled meanwhile) and let their staging be removed.
        self.api.abort_downloads()
        outcomes = self._cancel_runs(run_ids)
        artifact_staging.stop_downloads(self.api)
        self._schedule()
        return outcomes

    def _cancel_runs(self, run_ids: list[int]) -> dict[int, str]:
        """Cancel runs, each in the repository its node dispatched it in."""
        outcomes: dict[int, str] = {}
        for run_id in run_ids:
            repository = self.dispatched_in.get(run_id, self.repository)
            outcomes.update(workflow_runs.cancel_runs(self.api, repository, [run_id]))
        return outcomes

    def dispatched_runs(self) -> list[tuple[Repository, int]]:
        """The runs this plan started, each with its repository (for the action's post step)."""
        with self._lock:
            return [(self.dispatched_in.get(run_id, self.repository), run_id) for run_id in self.dispatched]

    def _schedule(self) -> None:
        """Ask the scheduler what to do now: record the nodes it decided, start those it starts.

        The calling thread holds the clock meanwhile, so no time passes between a node becoming
        ready and its thread starting.
        """
        release = hold(self.api.clock)
        try:
            with self._lock:
                if self._finalized:
                    return
                step = scheduler.next_step(self.plan, self.context, self._state)
                # Recorded before any thread starts: a node's thread reads the state at its end.
                self._state = step.state
                for name in step.start:
                    self._start(self.plan.nodes[name])
            for outcome in step.decided:
                self._emit(_finished_event(outcome))
            if step.over:
                self._done.set()
        finally:
            release()

    def _start(self, node: PlanNode) -> None:
        """Start the node's thread (the lock is held): held on the clock from before it starts."""
        thread = threading.Thread(
            target=self._work,
            args=(node, scheduler.needs_context(node, self._state.outcomes)),
            name=f"plan-node-{node.name}",
            daemon=True,
        )
        if self._state.cancelled:
            self._run_despite_cancel.add(node.name)
        self._releases[node.name] = hold(self.api.clock, thread)
        try:
            thread.start()
        except BaseException:
            self._state = self._state.not_started(node.name)
            self._releases.pop(node.name)()
            raise

    def _work(self, node: PlanNode, needs: Mapping[str, Any]) -> None:
        """A node's thread: run it, record the outcome, start what it made ready, let the clock go."""
        outcome: NodeOutcome | None = None
        try:
            with self._lock:
                cancelled_before = self._state.cancelled
            outcome = self._execute(node, needs)
            with self._lock:
                cancelled_since = self._state.cancelled and not cancelled_before
            if cancelled_since:
                outcome = scheduler.cancelled_while_running(outcome)
        except Exception as bug:  # noqa: BLE001 - not swallowed: run() raises it
            outcome = scheduler.failed_outcome(node, None, reason=f"internal error: {bug!r}")
            self._crashed(bug)
        finally:
            try:
                if outcome is None:
                    outcome = scheduler.failed_outcome(
                        node, None, reason="the node's thread stopped unexpectedly"
                    )
                self._finish(outcome)
            except Exception as bug:  # noqa: BLE001 - not swallowed: run() raises it
                self._crashed(bug)
            finally:
                with self._lock:
                    release = self._releases.pop(node.name)
                release()

    def _finish(self, outcome: NodeOutcome) -> None:
        recorded = False
        with self._lock:
            if self._finalized:
                self._state = self._state.not_started(outcome.name)
            else:
                self._state = self._state.ended(outcome, fail_fast=self.plan.fail_fast)
                recorded = True
        if recorded:
            self._emit(_finished_event(outcome))
        self._schedule()

    def _emit(self, event: PlanEvent) -> None:
        try:
            with self._events:
                self.on_event(event)
        except Exception as bug:  # noqa: BLE001 - not swallowed: run() raises it
            self._crashed(bug)

    def _crashed(self, bug: Exception) -> None:
        """A bug (here or in `on_event`), not a failure of a node: stop the plan, cancel its runs,
        and let `run()` raise it at once rather than wait for nodes that may never be decided."""
        with self._lock:
            if self._crash is not None:
                return
            self._crash = bug
        try:
            self.cancel()
        finally:
            self._done.set()

    # -- one node --------------------------------------------------------------------------------

    def run_node(self, name: str, needs: Mapping[str, Any]) -> NodeOutcome:
        """Run exactly one node, its needs given as GitHub's `toJSON(needs)`
        (`{id: {result, outputs}}`). Its `if` is not evaluated: GitHub already did that for the
        job that calls this."""
        node = self.plan.nodes.get(name)
        if node is None:
            raise UsageError(
                f"plan {self.plan.name} has no node {name!r}",
                hint=f"the nodes are: {', '.join(self.plan.nodes)}",
            )
        outcome = self._execute(node, needs)
        self._emit(_finished_event(outcome))
        return outcome

    def _execute(self, node: PlanNode, needs: Mapping[str, Any]) -> NodeOutcome:
        """Run one node; expected failures (`WaitAndDispatchError`) become its outcome."""
        clock = self.api.clock
        started = clock.now()
        context = scheduler.expression_context(self.plan, self.context, node, needs)
        engine = Engine(self.api, on_progress=self._progress_for(node.name), known_runs=self.known_runs)
        try:
            try:
                values = render_values(node, context)
            except WaitAndDispatchError:
                self._emit(PlanEvent(PlanEventKind.STARTED, node.name, describe(node, node.values)))
                raise
            self._emit(PlanEvent(PlanEventKind.STARTED, node.name, describe(node, values)))
            if node.kind is NodeKind.COLLECT:
                outcome = collect(
                    self.api,
                    self.repository,
                    node,
                    engine,
                    context=context,
                    needs=needs,
                    values=values,
                    workdir=self.context.workdir,
                    plan_deadline=self._deadline,
                )
            else:
                outcome = self._run_job(node, engine, values)
        except WaitAndDispatchError as error:
            outcome = scheduler.failed_outcome(node, error)
        allowed = outcome.result is NodeResult.FAILURE and node.continue_on_error
        finished = clock.now()
        # The run's times are GitHub's: put them on our clock, where the node's own times are.
        outcome = on_our_clock(outcome, clock_skew(self.api.server_time(), finished))
        with self._lock:
            seen_running = self._seen_running.pop(node.name, None)
        if seen_running is not None and node.kind is NodeKind.WORKFLOW:
            # GitHub's `run_started_at` is when the run was created, not when a runner took it
            # (plans/timeline.py): a poll that saw it in progress tells the end of its queue.
            outcome = replace(outcome, run_started=seen_running)
        return replace(outcome, started=started, finished=finished, allowed_failure=allowed)

    def _progress_for(self, name: str) -> Callable[[ProgressEvent], None]:
        def on_progress(event: ProgressEvent) -> None:
            if event.kind is ProgressKind.STATUS and event.status == "in_progress":
                with self._lock:
                    self._seen_running.setdefault(name, self.api.clock.now())
            if event.kind is ProgressKind.DISPATCHED and event.run_id is not None:
                with self._lock:
                    self.dispatched.append(event.run_id)
                    if event.repository:
                        self.dispatched_in[event.run_id] = Repository.parse(event.repository)
                    late = self._state.cancelled and name not in self._run_despite_cancel
                if late:
                    # The node started before the cancel but dispatched after it took its list of
                    # runs: cancel this one too.
                    self._cancel_runs([event.run_id])
            self._emit(PlanEvent(PlanEventKind.PROGRESS, name, event.message, progress=event))

        return on_progress

    def _run_job(self, node: PlanNode, engine: Engine, values: Mapping[str, Any]) -> NodeOutcome:
        workdir = self.context.workdir
        text = job_values(node, values, repository=self.repository, workdir=workdir, dry_run=False)
        if self._deadline is not None:
            left = self._deadline - self.api.clock.now()
            assert self.plan.timeout is not None  # nosec B101 # an invariant for mypy, not a check of input
            if left <= 0:
                raise DeadlineExceededError(
                    f"the plan's timeout ({format_seconds(self.plan.timeout)}) passed before "
                    f"{node.name} could start",
                    hint="raise the plan's timeout, or shorten what runs before this node",
                )
            own = parse_duration(text.get("timeout") or _DEFAULT_TIMEOUT, what="timeout")
            if left < own:
                # A node never outlives the plan: its wait (and dispatch) ends at the plan's deadline.
                text["timeout"] = _timeout_reaching(left)
        settings = read_settings(
            text,
            default_sha=self.context.sha,
            caller=self.context.caller if self.repository == self.context.repository else None,
        )
        if self.context.correlation_key is not None and settings.request is not None:
            suffix = fixed_correlation(self.context.correlation_key, node.name)
            settings = replace(settings, request=replace(settings.request, correlation_suffix=suffix))
        return run_node_job(node, engine, settings)

    # -- dry run ---------------------------------------------------------------------------------

    def preview(self) -> list[tuple[str, list[str]]]:
        """What each node would do, in plan order, found out with read requests only."""
        return preview_plan(self.api, self.plan, self.context, self.repository)


def plan_error(result: PlanResult) -> PlanFailedError | None:
    """The error a plan's result means for the caller (exit code: the first failed node's), or None."""
    if result.conclusion is NodeResult.SUCCESS:
        return None
    failed = [o for o in result.outcomes.values() if o.result is NodeResult.FAILURE and not o.allowed_failure]
    cancelled = [o for o in result.outcomes.values() if o.result is NodeResult.CANCELLED]
    total = len(result.outcomes)
    parts: list[str] = []
    if failed:
        listed = ", ".join(f"{o.name} ({o.reason})" if o.reason else o.name for o in failed)
        parts.append(f"{len(failed)} of {total} nodes failed: {listed}")
    if cancelled:
        parts.append(f"{len(cancelled)} of {total} nodes cancelled: {', '.join(o.name for o in cancelled)}")
    first = failed[0] if failed else None
    if first is not None and first.error is not None:
        exit_code = first.error.exit_code
    elif first is not None:
        exit_code = ExitCode.CONCLUSION_NOT_ALLOWED
    else:
        exit_code = ExitCode.INTERRUPTED  # cancelled, as by Ctrl-C
    return PlanFailedError(
        f"plan {result.plan.name}: " + "; ".join(parts or ["cancelled"]), exit_code=exit_code
    )


def _timeout_reaching(left: float) -> str:
    """`left` seconds as a timeout's text, rounded up to the microsecond, never down.

    Rounded to the nearest, a wait capped by the plan's timeout ended a hair before the plan's
    deadline as often as after it, and what became ready then (a `collect` node, or a node that
    must fail without starting) was judged on which side it fell.
    """
    micros = math.ceil(left * 1_000_000)
    while float(f"{micros / 1_000_000:.6f}") < left:  # the decimal text read back as a float
        micros += 1
    return f"{micros / 1_000_000:.6f}"


def _finished_event(outcome: NodeOutcome) -> PlanEvent:
    return PlanEvent(PlanEventKind.FINISHED, outcome.name, _finished_message(outcome), outcome=outcome)


def _finished_message(outcome: NodeOutcome) -> str:
    result = outcome.result.value
    if not outcome.reason or outcome.reason.startswith(f"{result}:"):
        return outcome.reason or result
    return f"{result}: {outcome.reason}"
