"""Advance mode's checks nodes that advance on events (docs/plans.md, "Advance mode").

No event says that a commit's checks are done, but their workflows' runs completing is one: a
checks node whose checks are carried by known workflows of the orchestrator's repository
(`checks-workflows:`, `carrying`) waits for nobody. When it becomes ready, the invocation reads
its checks once, as the check engine's wait would at one poll (`engine.check_wait.read_checks_once`):
decided, the outcome is recorded at once; else it writes `checks/<node>/<n>/<sha>` (its n-th claim,
the commit whose checks it reads) and ends. The ref is written before the read, so a carrying run
that completes meanwhile is seen either by that read or by the invocation its completion starts.

On `workflow_run` completed of a run of a carrying workflow on that commit, every instance with
such a node reads its checks once again and records the outcome when it is decided, then advances
as usual. The outcome is the one the waiting job gives (`node_job.run_node_job` makes it from the
same `ChecksResult`): allowed conclusions, `fail-fast`, missing checks, `if-checks-missing`.

Once every run of the carrying workflows on the commit has completed, the windows the wait gives
checks to appear (the discovery grace after the last change, the settle window of an open-ended
selection) are taken as over: the carrying workflows are what reports the checks, so a check
still missing then never comes, and it is reported missing (`timed_out`, or what
`if-checks-missing` says) as the waiting job reports it once its grace ends, rather than waiting
for a timeout no event would end. Two invocations reading at the same moment read the same
completed checks and record the same result; the claims keep every dispatch single.

A checks node falls back to the short waiting job of the invocation that makes it ready
(`advance_work.runs_inline`) when no workflow is named for it, or when the plan's repository is
not the orchestrator's: `workflow_run` fires only for workflows in the orchestrator's own
repository ("Events that trigger workflows", workflow_run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.check_wait import read_checks_once
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.requests import CheckSelection, WaitOptions
from wait_and_dispatch.engine.results import ChecksResult
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans import scheduler
from wait_and_dispatch.plans.advance_refs import Instance
from wait_and_dispatch.plans.model import NodeKind, NodeOutcome, NodeResult, PlanNode
from wait_and_dispatch.plans.node_job import job_values, render_values, run_node_job
from wait_and_dispatch.plans.timeline import clock_skew, on_our_clock
from wait_and_dispatch.step.run import checks_sha
from wait_and_dispatch.step.settings import JobSettings, read_settings
from wait_and_dispatch.support.errors import WaitAndDispatchError

if TYPE_CHECKING:
    from wait_and_dispatch.plans.advance import Advancer
    from wait_and_dispatch.plans.advance_work import InstanceWork


def carrying(node: PlanNode, repository: Repository, home: Repository) -> tuple[str, ...]:
    """The workflow files whose completed runs advance the checks node, for a plan in `repository`
    driven from an orchestrator in `home`; () when the node runs as a waiting job instead."""
    if node.kind is not NodeKind.CHECKS or repository != home:
        return ()
    return node.checks_workflows


def fallback_reason(node: PlanNode) -> str:
    """Why a checks node runs as the waiting job of the invocation that makes it ready."""
    if not node.checks_workflows:
        return (
            "no checks-workflows names the workflows whose runs carry its checks: the orchestrator "
            "run that makes it ready waits for them (a waiting job for this node only)"
        )
    return "its workflows are in another repository than the orchestrator's: a waiting job for this node"


def check_note(node: PlanNode) -> str:
    """What `plan --check --advance` says of a checks node: what advances it, or why it waits."""
    if not node.checks_workflows:
        return fallback_reason(node)
    files = ", ".join(node.checks_workflows)
    return (
        f"advanced by the completion of the runs of {files} on the commit it reads (checks-workflows): "
        "no job waits for its checks; an orchestrator in another repository than the plan's waits "
        "for them instead"
    )


def waiting_sha(instance: Instance, name: str) -> str | None:
    """The commit whose checks the node waits on events for, under its last claim (None: it does not)."""
    return instance.checks.get((name, instance.claims.get(name, 1)))


class _Decided(Engine):
    """The engine for a node job whose checks were read already: the job makes the node's
    outcome from that result exactly as from a wait's."""

    def __init__(self, api: GitHubApi, result: ChecksResult) -> None:
        super().__init__(api)
        self.result = result

    def wait_for_checks(
        self,
        repo: Repository,
        sha: str,
        selection: CheckSelection,
        options: WaitOptions,
        *,
        exclude: Sequence[str] = (),
    ) -> ChecksResult:
        return self.result


def start(work: InstanceWork, node: PlanNode, number: int) -> NodeOutcome | None:
    """A checks node with carrying workflows just claimed (its needs loaded): its outcome when its
    checks are decided already, else None once it waits on events (its `checks/` ref written)."""
    name = node.name
    try:
        settings = _settings(work, node, scheduler.needs_context(node, work.outcomes))
        sha = checks_sha(Engine(work.a.api), settings)
    except WaitAndDispatchError as error:
        return work.ended(scheduler.failed_outcome(node, error))
    work.create(f"checks/{name}/{number}/{sha}")
    work.instance.checks[(name, number)] = sha
    outcome = _read(work, node, settings, sha)
    if outcome is None:
        files = ", ".join(carrying(node, work.a.repository, work.a.home))
        work.report.lines.append(
            f"{name}: its checks on {sha[:7]} are not done; the runs of {files} advance it"
        )
        return None
    work.report.lines.append(f"{name}: {outcome.reason or outcome.result.value}")
    return work.ended(outcome)


def on_completion(work: InstanceWork, name: str, completed_run: int | None) -> NodeOutcome | None:
    """A node waiting on events, in an invocation started by `completed_run`'s completion: its
    outcome when that run carries its checks and they are decided now (recorded), else None."""
    sha = waiting_sha(work.instance, name)
    node = work.plan.nodes[name]
    if sha is None or completed_run is None:
        return None
    if completed_run not in {run.id for run in carrying_runs(work.a, node, sha)}:
        return None
    for need in node.needs:
        work.load(need)
    try:
        settings = _settings(work, node, scheduler.needs_context(node, work.outcomes))
    except WaitAndDispatchError as error:
        return work.ended(scheduler.failed_outcome(node, error))
    outcome = _read(work, node, settings, sha)
    if outcome is None:
        work.report.lines.append(
            f"{name}: run {completed_run} completed; its checks on {sha[:7]} are not done"
        )
        return None
    work.report.lines.append(f"{name}: {outcome.reason or outcome.result.value}")
    return work.ended(outcome)


def reload(work: InstanceWork, node: PlanNode) -> NodeOutcome | None:
    """The outputs of a node recorded on events, read again from its checks (None: it was not
    recorded that way). Checks that are running again since (a re-run) are not waited for: the
    node keeps the result recorded, without outputs."""
    sha = waiting_sha(work.instance, node.name)
    if sha is None:
        return None
    known = work.outcomes[node.name]
    try:
        settings = _settings(work, node, scheduler.needs_context(node, work.outcomes))
    except WaitAndDispatchError:
        return known
    again = f"its checks on {sha[:7]} are running again: not read again"
    return _read(work, node, settings, sha, settled=True) or replace(known, reason=f"{known.reason}; {again}")


def owners(advancer: Advancer, run_id: int, instances: Mapping[str, Instance]) -> dict[str, str]:
    """The instances (and nodes) with a checks node waiting on events whose checks `run_id` carries."""
    found: dict[str, str] = {}
    for instance in instances.values():
        for (name, number), sha in sorted(instance.checks.items()):
            node = advancer.plan.nodes.get(name)
            if node is None or name in instance.done or instance.claims.get(name, 1) != number:
                continue
            if run_id in {run.id for run in carrying_runs(advancer, node, sha)}:
                found.setdefault(instance.id, name)
    return found


def carrying_runs(advancer: Advancer, node: PlanNode, sha: str) -> list[WorkflowRun]:
    """The runs of the node's carrying workflows on the commit (each list read once an invocation)."""
    runs: list[WorkflowRun] = []
    for file in carrying(node, advancer.repository, advancer.home):
        key = (file, sha)
        if key not in advancer.carried:
            advancer.carried[key] = workflow_runs.find_runs(
                advancer.api, advancer.repository, workflow_id=file, head_sha=sha
            )
        runs.extend(advancer.carried[key])
    return runs


def _settings(work: InstanceWork, node: PlanNode, needs: Mapping[str, Any]) -> JobSettings:
    """The node's job settings, as the waiting executor makes them (`PlanRunner._run_job`)."""
    context = scheduler.expression_context(work.plan, work.context, node, needs)
    values = render_values(node, context)
    text = job_values(node, values, repository=work.a.repository, workdir=work.context.workdir, dry_run=False)
    caller = work.context.caller if work.a.repository == work.context.repository else None
    return read_settings(text, default_sha=work.context.sha, caller=caller)


def _read(
    work: InstanceWork, node: PlanNode, settings: JobSettings, sha: str, *, settled: bool | None = None
) -> NodeOutcome | None:
    """The node's outcome from one read of its checks on `sha`, None while they are not decided."""
    api = work.a.api
    if settled is None:
        runs = carrying_runs(work.a, node, sha)
        settled = bool(runs) and all(run.completed for run in runs)
    assert settings.checks is not None  # nosec B101 # an invariant for mypy, not a check of input
    started = api.clock.now()
    try:
        result = read_checks_once(
            api, settings.repository, sha, settings.checks, settings.wait_options, settled=settled
        )
    except WaitAndDispatchError as error:
        return scheduler.failed_outcome(node, error)
    if result is None:
        return None
    outcome = run_node_job(node, _Decided(api, result), replace(settings, check_sha=sha))
    finished = api.clock.now()
    outcome = on_our_clock(outcome, clock_skew(api.server_time(), finished))
    allowed = outcome.result is NodeResult.FAILURE and node.continue_on_error
    return replace(outcome, started=started, finished=finished, allowed_failure=allowed)
