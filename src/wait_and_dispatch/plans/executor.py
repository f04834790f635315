"""Run a plan: every node as soon as its needs allow, independent nodes at once.

Each workflow or checks node is run by the same job the action runs (`read_settings` and
`run_job`), with its values rendered once its needs have finished; a collect node downloads
artifacts from the runs of earlier nodes, picks one and judges it. The rules for when a node
runs are GitHub's rules for jobs (docs/plans.md, "Running a plan"):

- A node is decided once all its needs have an outcome. Its `if` is evaluated then; an `if`
  without a status function means `success() && (if)`, as on GitHub, so a node whose need
  failed, was cancelled or was skipped is skipped, and the skip propagates.
- `success()`: every direct need succeeded (or failed with `continue-on-error`) and the plan was
  not cancelled; `failure()`: a node it depends on, directly or not, failed (without
  `continue-on-error`); `cancelled()`: the plan was cancelled; `always()`: true.
- `fail-fast`: after a failure no more nodes start, except those whose `if` has a status
  function (`always()`, `failure()`, `cancelled()`). Nodes in progress finish.
- Cancelling starts no more nodes (except, again, those with a status function, which run with
  `cancelled()` true, as GitHub runs `if: always()` jobs of a cancelled workflow), cancels the
  runs the plan dispatched, and nodes in progress that then fail end as `cancelled` (one whose
  run succeeded all the same keeps its success: its outputs are real).

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

import fnmatch
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine import artifacts as artifacts_api
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.engine.model import (
    Artifact,
    ArtifactSelection,
    CallerJob,
    DownloadedArtifact,
    ProgressEvent,
    ProgressKind,
    Repository,
    WorkflowRun,
    format_seconds,
)
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.model import (
    NodeKind,
    NodeOutcome,
    NodeResult,
    Plan,
    PlanNode,
    PlanResult,
    input_text,
)
from wait_and_dispatch.step.catalogue import INPUTS, OUTPUT_NAMES
from wait_and_dispatch.step.run import JobReport, run_job
from wait_and_dispatch.step.settings import read_settings
from wait_and_dispatch.support import expressions
from wait_and_dispatch.support.clock import hold
from wait_and_dispatch.support.errors import (
    ArtifactError,
    ArtifactNotFoundError,
    DeadlineExceededError,
    ExitCode,
    GateFailedError,
    PlanFailedError,
    UsageError,
    WaitAndDispatchError,
)

# After a cancel, how long `run()` waits for the nodes in progress, in real seconds. Their waits
# see the cancelled runs at their next poll, but a node waiting on a run it did not start (or
# stuck in a slow request) must not keep a cancelled process alive; and on a virtual clock a
# wait measured on that clock would only move when the nodes themselves sleep.
CANCEL_GRACE = 30.0

_STATUS_FUNCTIONS = frozenset({"always", "success", "failure", "cancelled"})
_DEFAULTS = {i.name: i.default for i in INPUTS if not i.default.startswith("${{")}


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
    ) -> None:
        self.api = api
        self.plan = plan
        self.context = context
        self.on_event = on_event
        self.dispatched: list[int] = []  # ids of the runs this plan started, in order
        self.dispatched_in: dict[int, Repository] = {}  # ... and the repository of each (nodes differ)
        self.repository = Repository.parse(plan.repository) if plan.repository else context.repository
        self._lock = threading.RLock()  # guards everything below
        self._events = threading.Lock()  # one event at a time reaches `on_event`
        self._outcomes: dict[str, NodeOutcome] = {}
        self._running: set[str] = set()
        self._run_despite_cancel: set[str] = set()  # status-function nodes started after a cancel
        self._releases: dict[str, Callable[[], None]] = {}  # each running node's hold on the clock
        self._cancelled = False
        self._cancelled_at: float | None = None  # time.monotonic() of the cancel
        self._fail_fast_after: str | None = None  # the failure that stopped new nodes
        self._crash: Exception | None = None  # a bug in a node's thread, re-raised by run()
        self._finalized = False  # run() has returned: late outcomes are dropped
        self._deadline: float | None = None  # the plan's timeout, on the API clock
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
            for node in self.plan.nodes.values():
                if node.name not in self._outcomes:
                    still = "still in progress" if node.name in self._running else "not started"
                    self._outcomes[node.name] = NodeOutcome(
                        node.name,
                        NodeResult.CANCELLED,
                        _empty_outputs(),
                        reason=f"cancelled: {still} when the plan stopped",
                    )
            outcomes = {name: self._outcomes[name] for name in self.plan.nodes}
            dispatched = tuple(self.dispatched)
            cancelled = self._cancelled
            crash = self._crash
        if crash is not None:
            raise crash
        return PlanResult(
            plan=self.plan,
            outcomes=outcomes,
            conclusion=_conclusion(outcomes.values(), cancelled=cancelled),
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
            if self._cancelled:
                return {}
            self._cancelled = True
            self._cancelled_at = time.monotonic()
            run_ids = list(self.dispatched)
        # Downloads run in the nodes' daemon threads, which die with the process without cleaning
        # up: stop them now (the runs are cancelled meanwhile) and let their staging be removed.
        self.api.abort_downloads()
        outcomes = self._cancel_runs(run_ids)
        artifacts_api.stop_downloads(self.api)
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
        """Decide every node whose needs all have an outcome, and start those that may run.

        The calling thread holds the clock meanwhile, so no time passes between a node becoming
        ready and its thread starting.
        """
        release = hold(self.api.clock)
        try:
            events: list[PlanEvent] = []
            with self._lock:
                if self._finalized:
                    return
                for node in self.plan.nodes.values():
                    if node.name in self._outcomes or node.name in self._running:
                        continue
                    if not all(need in self._outcomes for need in node.needs):
                        if self._cancelled and not node.always:
                            events.append(self._record(self._cancelled_outcome(node)))
                        continue
                    decided = self._decide(node)
                    if decided is not None:
                        events.append(self._record(decided))
                    elif len(self._running) < max(1, self.plan.concurrency):
                        self._start(node)
                done = not self._running and len(self._outcomes) == len(self.plan.nodes)
            for event in events:
                self._emit(event)
            if done:
                self._done.set()
        finally:
            release()

    def _record(self, outcome: NodeOutcome) -> PlanEvent:
        self._outcomes[outcome.name] = outcome
        return PlanEvent(PlanEventKind.FINISHED, outcome.name, _finished_message(outcome), outcome=outcome)

    def _cancelled_outcome(self, node: PlanNode) -> NodeOutcome:
        return NodeOutcome(
            node.name, NodeResult.CANCELLED, _empty_outputs(), reason="cancelled: the plan was cancelled"
        )

    def _decide(self, node: PlanNode) -> NodeOutcome | None:
        """None if the node is to run, else the outcome it gets without running."""
        if self._cancelled and not node.always:
            return self._cancelled_outcome(node)
        if self._fail_fast_after is not None and not node.always:
            return _skipped(node, f"fail-fast after {self._fail_fast_after} failed")
        needs = [self._outcomes[need] for need in node.needs]
        failure = any(
            o.result is NodeResult.FAILURE and not o.allowed_failure
            for name, o in self._outcomes.items()
            if name in self._ancestors(node)
        )
        # As on GitHub, success() looks at every job upstream, not only the direct needs: after
        # a fails, b (if: always()) runs, and c, which needs only b, is still skipped
        # (actions/runner#2205).
        success = not self._cancelled and not failure and all(o.counts_as_success for o in needs)
        try:
            runs = _condition_holds(
                node.condition,
                self._expression_context(node, self._needs_context(node)),
                success=success,
                failure=failure,
                cancelled=self._cancelled,
            )
        except expressions.ExpressionError as error:
            return _failed(
                node, UsageError(f"{node.name}.if: {error}", hint="see docs/plans.md, Expressions")
            )
        if runs:
            return None
        # Name the node that made it so: "ci failed" says more than the expression does. With the
        # implied success() that is a direct need; with failure() in the `if`, an ancestor.
        condition = node.written_condition or node.condition
        calls = {name.lower() for name in expressions.function_calls(condition)} if condition else set()
        unsuccessful = [need for need in needs if not need.counts_as_success]
        ancestors = self._ancestors(node)
        failed = [
            o
            for name, o in self._outcomes.items()
            if name in ancestors and o.result is NodeResult.FAILURE and not o.allowed_failure
        ]
        if not calls & _STATUS_FUNCTIONS and (unsuccessful or failed):  # the implied success() failed
            return _skipped(node, _what_happened((unsuccessful or failed)[0]))
        cause = failed[:1]  # a skipped need does not make failure() true: the rest of the `if` did it
        shown = f"if: {condition} is false"
        return _skipped(node, f"{_what_happened(cause[0])}, so {shown}" if cause else shown)

    def _ancestors(self, node: PlanNode) -> set[str]:
        seen: set[str] = set()
        stack = list(node.needs)
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(self.plan.nodes[name].needs)
        return seen

    def _needs_context(self, node: PlanNode) -> dict[str, Any]:
        """GitHub's `needs`: a need that failed with continue-on-error reads `success` there
        (actions/runner#1161); its own outcome and the summary still say it failed."""
        return {
            need: {
                "result": "success" if outcome.allowed_failure else outcome.result.value,
                "outputs": dict(outcome.outputs),
            }
            for need in node.needs
            for outcome in (self._outcomes[need],)
        }

    def _start(self, node: PlanNode) -> None:
        """Start the node's thread (the lock is held): held on the clock from before it starts."""
        thread = threading.Thread(
            target=self._work,
            args=(node, self._needs_context(node)),
            name=f"plan-node-{node.name}",
            daemon=True,
        )
        self._running.add(node.name)
        if self._cancelled:
            self._run_despite_cancel.add(node.name)
        self._releases[node.name] = hold(self.api.clock, thread)
        try:
            thread.start()
        except BaseException:
            self._running.discard(node.name)
            self._releases.pop(node.name)()
            raise

    def _work(self, node: PlanNode, needs: Mapping[str, Any]) -> None:
        """A node's thread: run it, record the outcome, start what it made ready, let the clock go."""
        outcome: NodeOutcome | None = None
        try:
            with self._lock:
                cancelled_before = self._cancelled
            outcome = self._execute(node, needs)
            with self._lock:
                cancelled_since = self._cancelled and not cancelled_before
            if cancelled_since and outcome.result is NodeResult.FAILURE:
                # Cancelling the plan cancelled its run: that is not a failure of the node.
                run_id = outcome.outputs.get("run-id")
                outcome = replace(
                    outcome,
                    result=NodeResult.CANCELLED,
                    reason=f"cancelled: run {run_id} was cancelled with the plan"
                    if run_id
                    else f"cancelled: {outcome.reason}",
                    allowed_failure=False,
                )
        except Exception as bug:  # noqa: BLE001 - not swallowed: run() raises it
            outcome = _failed(node, None, reason=f"internal error: {bug!r}")
            self._crashed(bug)
        finally:
            try:
                if outcome is None:
                    outcome = _failed(node, None, reason="the node's thread stopped unexpectedly")
                self._finish(outcome)
            except Exception as bug:  # noqa: BLE001 - not swallowed: run() raises it
                self._crashed(bug)
            finally:
                with self._lock:
                    release = self._releases.pop(node.name)
                release()

    def _finish(self, outcome: NodeOutcome) -> None:
        event: PlanEvent | None = None
        with self._lock:
            self._running.discard(outcome.name)
            if not self._finalized:
                event = self._record(outcome)
                failed = outcome.result is NodeResult.FAILURE and not outcome.allowed_failure
                if failed and self.plan.fail_fast and self._fail_fast_after is None:
                    self._fail_fast_after = outcome.name
        if event is not None:
            self._emit(event)
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
        self._emit(PlanEvent(PlanEventKind.FINISHED, name, _finished_message(outcome), outcome=outcome))
        return outcome

    def _execute(self, node: PlanNode, needs: Mapping[str, Any]) -> NodeOutcome:
        """Run one node; expected failures (`WaitAndDispatchError`) become its outcome."""
        clock = self.api.clock
        started = clock.now()
        context = self._expression_context(node, needs)
        engine = Engine(self.api, on_progress=self._progress_for(node.name))
        try:
            try:
                values = _render_values(node, context)
            except WaitAndDispatchError:
                self._emit(PlanEvent(PlanEventKind.STARTED, node.name, _describe(node, node.values)))
                raise
            self._emit(PlanEvent(PlanEventKind.STARTED, node.name, _describe(node, values)))
            if node.kind is NodeKind.COLLECT:
                outcome = self._collect(node, context, needs, engine, values)
            else:
                outcome = self._run_job(node, engine, values)
        except WaitAndDispatchError as error:
            outcome = _failed(node, error)
        allowed = outcome.result is NodeResult.FAILURE and node.continue_on_error
        return replace(outcome, started=started, finished=clock.now(), allowed_failure=allowed)

    def _expression_context(self, node: PlanNode, needs: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "github": {
                "repository": self.context.repository.full_name,
                "sha": self.context.sha or "",
                "ref_name": self.context.ref_name or "",
                "event_name": self.context.event_name,
            },
            "needs": dict(needs),
            "vars": dict(self.plan.vars),
            "plan": {"name": self.plan.name, "environment": self.plan.environment or ""},
            "matrix": dict(node.matrix),
        }

    def _progress_for(self, name: str) -> Callable[[ProgressEvent], None]:
        def on_progress(event: ProgressEvent) -> None:
            if event.kind is ProgressKind.DISPATCHED and event.run_id is not None:
                with self._lock:
                    self.dispatched.append(event.run_id)
                    if event.repository:
                        self.dispatched_in[event.run_id] = Repository.parse(event.repository)
                    late = self._cancelled and name not in self._run_despite_cancel
                if late:
                    # The node started before the cancel but dispatched after it took its list of
                    # runs: cancel this one too.
                    self._cancel_runs([event.run_id])
            self._emit(PlanEvent(PlanEventKind.PROGRESS, name, event.message, progress=event))

        return on_progress

    def _job_values(self, node: PlanNode, values: Mapping[str, Any], *, dry_run: bool) -> dict[str, str]:
        """The node's values as the action's input values (text), for `read_settings`."""
        text = {name: input_text(value) for name, value in values.items()}
        text["repository"] = self.repository.full_name
        text["path"] = str(self.context.workdir / (text.get("path") or node.name))
        text["summary"] = "false"
        text["dry-run"] = "true" if dry_run else "false"
        if self._deadline is not None and not dry_run:
            left = self._deadline - self.api.clock.now()
            assert self.plan.timeout is not None  # nosec B101 # an invariant for mypy, not a check of input
            if left <= 0:
                raise DeadlineExceededError(
                    f"the plan's timeout ({format_seconds(self.plan.timeout)}) passed before "
                    f"{node.name} could start",
                    hint="raise the plan's timeout, or shorten what runs before this node",
                )
            own = parse_duration(text.get("timeout") or _DEFAULTS.get("timeout", "30m"), what="timeout")
            if left < own:
                # A node never outlives the plan: its wait (and dispatch) ends at the plan's deadline.
                text["timeout"] = f"{left:.3f}"
        return text

    def _run_job(self, node: PlanNode, engine: Engine, values: Mapping[str, Any]) -> NodeOutcome:
        settings = read_settings(
            self._job_values(node, values, dry_run=False),
            default_sha=self.context.sha,
            caller=self.context.caller if self.repository == self.context.repository else None,
        )
        report = run_job(engine, settings)
        outputs = {name: report.outputs.get(name, "") for name in OUTPUT_NAMES}
        run_url = outputs.get("run-url", "")
        if report.error is None:
            return NodeOutcome(
                node.name, NodeResult.SUCCESS, outputs, reason=_success_reason(report), run_url=run_url
            )
        return NodeOutcome(
            node.name,
            NodeResult.FAILURE,
            outputs,
            error=report.error,
            reason=_failure_reason(report),
            run_url=run_url,
        )

    # -- collect nodes ---------------------------------------------------------------------------

    def _collect(
        self,
        node: PlanNode,
        context: Mapping[str, Any],
        needs: Mapping[str, Any],
        engine: Engine,
        values: Mapping[str, Any],
    ) -> NodeOutcome:
        assert node.collect is not None  # nosec B101 # an invariant for mypy, not a check of input
        collect = node.collect
        root = self.context.workdir / collect.path
        timeout = parse_duration(
            input_text(values.get("timeout") or _DEFAULTS.get("timeout", "30m")), what="timeout"
        )
        deadline = self.api.clock.now() + timeout
        if self._deadline is not None:
            deadline = min(deadline, self._deadline)
        sources: list[tuple[str, int]] = []
        left_out: list[str] = []
        for source in collect.sources:
            need = needs.get(source) or {}
            outputs = need.get("outputs") or {}
            run_text = str(outputs.get("run-id") or "").strip()
            if run_text.isdigit():
                sources.append((source, int(run_text)))
            else:
                left_out.append(f"{source} ({need.get('result') or 'no result'})")
        if not sources:
            raise ArtifactNotFoundError(
                f"no runs to collect from: {', '.join(left_out)} have no run",
                hint="collect takes artifacts from the runs of the nodes it names; they did not run",
            )
        chosen = self._choose_artifacts(collect.patterns, sources, deadline)
        downloaded: list[tuple[str, int, DownloadedArtifact]] = []
        runs: dict[int, WorkflowRun] = {}
        for source, run_id, artifact in chosen:
            run = runs.get(run_id) or engine.get_run(self.repository, run_id)
            runs[run_id] = run
            selection = ArtifactSelection(patterns=(artifact.name,), path=root / artifact.name)
            for item in engine.download_artifacts(self.repository, run, selection, deadline=deadline):
                downloaded.append((source, run_id, item))
        listed = [item.as_output() for _, _, item in downloaded]
        selected: dict[str, Any] | None = None
        chosen_run: int | None = None
        if node.select is not None:
            selected, chosen_run = _select(node, downloaded)
        gate_passed: bool | None = None
        error: WaitAndDispatchError | None = None
        if node.gate is not None:
            gate_context = {**context, "selected": selected or {}}
            try:
                gate_passed = expressions.truthy(
                    expressions.evaluate(expressions.unwrap(node.gate), gate_context)
                )
            except expressions.ExpressionError as problem:
                raise UsageError(
                    f"{node.name}.gate: {problem}", hint="see docs/plans.md, Expressions"
                ) from None
            if not gate_passed:
                error = GateFailedError(f"quality gate failed: {_gate_shown(node.gate, selected)}")
        outputs = _empty_outputs()
        outputs.update(
            {
                "status": "completed",
                "conclusion": "success" if error is None else "failure",
                "dispatched": "false",
                "artifacts": json.dumps(listed),
                "download-path": str(root),
                "checks": "{}",
                "result": json.dumps({"artifacts": listed, "selected": selected, "gate": gate_passed}),
            }
        )
        run_url = ""
        if chosen_run is not None:
            # The selected artifact's run: a later node can take more from it (`run-id:`).
            run_url = runs[chosen_run].html_url
            outputs["run-id"] = str(chosen_run)
            outputs["run-url"] = run_url
        count = f"{len(downloaded)} artifact{'s' if len(downloaded) != 1 else ''}"
        parts = [f"collected {count} from {', '.join(s for s, _ in sources)}"]
        if left_out:
            parts.append(f"left out {', '.join(left_out)}")
        if selected is not None:
            parts.append(f"selected {selected['artifact']} of {selected['node']}")
        if error is not None:
            return NodeOutcome(
                node.name, NodeResult.FAILURE, outputs, error=error, reason=error.message, run_url=run_url
            )
        return NodeOutcome(node.name, NodeResult.SUCCESS, outputs, reason="; ".join(parts), run_url=run_url)

    def _choose_artifacts(
        self, patterns: Sequence[str], sources: Sequence[tuple[str, int]], deadline: float
    ) -> list[tuple[str, int, Artifact]]:
        """The artifacts of the sources' runs that the patterns name, each name from one node only."""
        available: list[tuple[str, int, list[Artifact]]] = [
            (
                source,
                run_id,
                artifacts_api.select_artifacts(
                    artifacts_api.list_artifacts(self.api, self.repository, run_id, deadline=deadline), ()
                ),
            )
            for source, run_id in sources
        ]
        chosen: list[tuple[str, int, Artifact]] = []
        owners: dict[str, tuple[str, int]] = {}
        wanted = [p for p in patterns if p.strip()]
        for source, run_id, artifacts in available:
            for artifact in artifacts:
                if wanted and not any(_matches(artifact.name, p) for p in wanted):
                    continue
                if artifact.name in owners:
                    other, other_run = owners[artifact.name]
                    raise ArtifactError(
                        f"artifact {artifact.name!r} is in the runs of both {other} (run {other_run}) and "
                        f"{source} (run {run_id}); collect puts each artifact in its own folder, so names "
                        "must differ",
                        hint="give each run's artifact its own name, e.g. metrics-${{ matrix.attempt }}",
                    )
                owners[artifact.name] = (source, run_id)
                chosen.append((source, run_id, artifact))
        missing = [p for p in wanted if not any(_matches(name, p) for name in owners)]
        if missing:
            has = "; ".join(
                f"{source} (run {run_id}): {', '.join(a.name for a in artifacts) or 'none'}"
                for source, run_id, artifacts in available
            )
            raise ArtifactNotFoundError(
                f"no artifact matching {', '.join(repr(p) for p in missing)} in the runs collected from; "
                f"they have {has}"
            )
        return chosen

    # -- dry run ---------------------------------------------------------------------------------

    def preview(self) -> list[tuple[str, list[str]]]:
        """What each node would do, in plan order, found out with read requests only.

        Values that depend on other nodes are shown as the expression (docs/plans.md, "--dry-run").
        """
        previews: list[tuple[str, list[str]]] = []
        for node in self.plan.nodes.values():
            lines: list[str] = []
            if node.needs:
                lines.append("runs after: " + ", ".join(node.needs))
            if node.condition:
                written = node.written_condition or node.condition
                if self._known_false(node):
                    lines.append(f"would be skipped: if: {written} is false")
                    previews.append((node.name, lines))
                    continue
                lines.append(f"if: {written}")
            try:
                lines.extend(self._preview_node(node))
            except WaitAndDispatchError as error:
                error.message = f"node {node.name}: {error.message}"
                error.args = (error.message,)
                raise
            previews.append((node.name, lines))
        return previews

    def _known_false(self, node: PlanNode) -> bool:
        """The node's `if` is false already (it reads neither needs nor a status function)."""
        try:
            paths = expressions.references(node.condition)
            calls = {name.lower() for name in expressions.function_calls(node.condition)}
            if calls & _STATUS_FUNCTIONS or any(path[0].lower() == "needs" for path in paths):
                return False
            context = self._expression_context(node, {})
            return not expressions.truthy(expressions.evaluate(node.condition, context))
        except expressions.ExpressionError:
            return False  # the real run reports it

    def _preview_node(self, node: PlanNode) -> list[str]:
        context = self._expression_context(node, {})
        values = {name: _render_known(value, context) for name, value in node.values.items()}
        if node.kind is NodeKind.COLLECT:
            assert node.collect is not None  # nosec B101 # an invariant for mypy, not a check of input
            wanted = ", ".join(node.collect.patterns) or "every artifact"
            path = self.context.workdir / node.collect.path
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
        run_id = input_text(values.get("run-id", ""))
        if "${{" in run_id:
            # Known only once the needed node has run: read_settings would refuse it as text.
            lines = [f"would use the run of {_needs_named(run_id) or run_id}"]
            patterns = input_text(values.get("artifacts", "")).replace("\n", ", ")
            path = self.context.workdir / (input_text(values.get("path", "")) or node.name)
            lines.append(f"would download {patterns or 'every artifact'} from it into {path}")
            return lines
        try:
            settings = read_settings(
                self._job_values(node, values, dry_run=True), default_sha=self.context.sha
            )
            return list(run_job(Engine(self.api), settings).preview)
        except WaitAndDispatchError as error:
            dynamic = [name for name, value in values.items() if "${{" in input_text(value)]
            if not dynamic:
                raise
            # A value still holding an expression (a ref from another node, say) is only known
            # once the plan runs: say so rather than fail the dry run.
            needs = _needs_named(" ".join(input_text(values[name]) for name in dynamic)) or "its needs"
            return [f"{', '.join(dynamic)} known only once {needs} have finished ({error.message})"]


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


# -- helpers ---------------------------------------------------------------------------------------


def _condition_holds(
    condition: str, context: Mapping[str, Any], *, success: bool, failure: bool, cancelled: bool
) -> bool:
    """The node's `if`, as GitHub reads a job's: no status function means `success() && (if)`."""
    expression = expressions.unwrap(condition) if condition.strip() else "success()"
    calls = {name.lower() for name in expressions.function_calls(expression)}
    if not calls & _STATUS_FUNCTIONS:
        expression = f"success() && ({expression})"
    functions: dict[str, Callable[..., Any]] = {
        "always": lambda: True,
        "success": lambda: success,
        "failure": lambda: failure,
        "cancelled": lambda: cancelled,
    }
    return expressions.truthy(expressions.evaluate(expression, context, functions))


def _conclusion(outcomes: Iterable[NodeOutcome], *, cancelled: bool) -> NodeResult:
    listed = list(outcomes)
    if any(o.result is NodeResult.FAILURE and not o.allowed_failure for o in listed):
        return NodeResult.FAILURE
    if cancelled or any(o.result is NodeResult.CANCELLED for o in listed):
        return NodeResult.CANCELLED
    return NodeResult.SUCCESS


def _empty_outputs() -> dict[str, str]:
    return {name: "" for name in OUTPUT_NAMES}


def _skipped(node: PlanNode, why: str) -> NodeOutcome:
    return NodeOutcome(node.name, NodeResult.SKIPPED, _empty_outputs(), reason=f"skipped: {why}")


def _failed(node: PlanNode, error: WaitAndDispatchError | None, *, reason: str = "") -> NodeOutcome:
    return NodeOutcome(
        node.name,
        NodeResult.FAILURE,
        _empty_outputs(),
        error=error,
        reason=reason or (error.message if error is not None else "failed"),
    )


def _what_happened(outcome: NodeOutcome) -> str:
    verb = "failed" if outcome.result is NodeResult.FAILURE else f"was {outcome.result.value}"
    return f"{outcome.name} {verb}"


def _finished_message(outcome: NodeOutcome) -> str:
    result = outcome.result.value
    if not outcome.reason or outcome.reason.startswith(f"{result}:"):
        return outcome.reason or result
    return f"{result}: {outcome.reason}"


def _render_values(node: PlanNode, context: Mapping[str, Any]) -> dict[str, Any]:
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


def _describe(node: PlanNode, values: Mapping[str, Any]) -> str:
    def text(name: str) -> str:
        return input_text(values.get(name, "")).strip()

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
        if run.completed:
            return f"run {run.id} failed: {run.conclusion}"
        return f"run {run.id} still {run.status} after {format_seconds(report.run.waited)}"
    return error.message


def _matches(name: str, pattern: str) -> bool:
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


def _select(
    node: PlanNode, downloaded: Sequence[tuple[str, int, DownloadedArtifact]]
) -> tuple[dict[str, Any], int]:
    """The artifact whose JSON file has the highest (or lowest) value: (`selected`, its run id)."""
    assert node.select is not None  # nosec B101 # an invariant for mypy, not a check of input
    select = node.select
    best: tuple[float, dict[str, Any], int] | None = None
    for source, run_id, artifact in downloaded:
        path = Path(artifact.path) / select.file
        where = f"{select.file} of artifact {artifact.name} (node {source}, run {run_id})"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtifactNotFoundError(
                f"{where} does not exist",
                hint=f"select.file is a path inside each artifact; this one is unpacked in {artifact.path}",
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
            raise ArtifactError(
                f"{where} is not readable JSON: {problem}",
                hint="select.file must name a UTF-8 JSON file inside each artifact",
            ) from None
        if not isinstance(data, dict):
            raise ArtifactError(f"{where} is not a JSON object", hint="select reads a field of a JSON object")
        value: Any = data
        for part in select.key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            found = "is missing" if value is None else f"is {json.dumps(value)}, not a number"
            raise ArtifactError(
                f"{select.key} in {where} {found}",
                hint=f"select compares a number; the file has: {', '.join(data) or 'nothing'}",
            )
        number = float(value)
        if best is None or (number > best[0] if select.highest else number < best[0]):
            best = (number, {**data, "artifact": artifact.name, "run-id": run_id, "node": source}, run_id)
    if best is None:
        raise ArtifactNotFoundError(f"{node.name}: no artifact was collected to select from")
    return best[1], best[2]


def _gate_shown(gate: str, selected: Mapping[str, Any] | None) -> str:
    """`selected.dice >= 0.9 (train-2: dice=0.9012)`: the gate and the values it read."""
    expression = expressions.unwrap(gate)
    if not selected:
        return expression
    shown: list[str] = []
    try:
        paths = expressions.references(expression)
    except expressions.ExpressionError:
        paths = []
    for path in paths:
        if path[:1] != ("selected",) or len(path) < 2:
            continue
        value: Any = selected
        for part in path[1:]:
            value = value.get(part) if isinstance(value, Mapping) else None
        shown.append(f"{'.'.join(path[1:])}={_shown(value)}")
    if not shown:
        return expression
    return f"{expression} ({selected.get('node', selected.get('artifact', ''))}: {', '.join(shown)})"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value)
