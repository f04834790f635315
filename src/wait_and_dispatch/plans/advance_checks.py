"""Advance mode's checks nodes that advance on events (docs/plans.md, "Advance mode").

No event says that a commit's checks are done, but their workflows' runs completing is one: a
checks node whose checks are carried by known workflows of the orchestrator's repository waits
for nobody. Those workflows are the node's `checks-workflows:`, else they are inferred (`infer`):
each of the node's named checks matched against the job names of the repository's workflow files
at the commit (`JobNames.may_be`: a job's `name:` or id, a matrix job's values appended, an
expression a wildcard); when every name is some job's, the workflows with such jobs carry them.
A regex, or every check, can match what any app reports: no workflow can be known to carry them.

When the node becomes ready, the invocation writes `checks/<node>/<n>/<sha>/<files>` (its n-th
claim, the commit whose checks it reads, the carrying workflow files joined by commas), then reads
its checks once, as the check engine's wait would at one poll
(`engine.check_wait.read_checks_once`): decided, the outcome is recorded at once; else it ends.
The ref is written before the read, so a carrying run that completes meanwhile is seen either by
that read or by the invocation its completion starts; and the events read the files from the ref,
not from a plan or a checkout that may have moved on.

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

The node keeps the waiting job's deadline (its `timeout` from when its wait begins, never past
the plan's): `node-deadline/<node>/<epoch>` is written just before its `checks/` ref
(`advance_deadlines.note_start`), and every invocation of the instance past that deadline, whatever
its event (`on_event`; the sweep's too, whose `advance_deadlines.overdue` reads the same ref), reads
the checks once and ends the node as the wait ended at its deadline (`at_deadline`): checks
decided by then, by their `completed_at` on this clock, give that outcome; else it times out with
the checks as they were at the deadline.

A checks node falls back to the short waiting job of the invocation that makes it ready
(`InstanceWork.run_inline`) when no workflow is named for it nor can be inferred, or when the
plan's repository is not the orchestrator's: `workflow_run` fires only for workflows in the
orchestrator's own repository ("Events that trigger workflows", workflow_run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.check_matching import CheckMatcher
from wait_and_dispatch.engine.check_wait import read_checks_once
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import CheckRun, Repository, WorkflowRun
from wait_and_dispatch.engine.requests import CheckSelection, WaitOptions
from wait_and_dispatch.engine.results import ChecksResult, Outcome
from wait_and_dispatch.engine.workflow_file import JobNames, parse_workflow_jobs
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans import advance_deadlines, scheduler
from wait_and_dispatch.plans.advance_refs import Instance
from wait_and_dispatch.plans.model import (
    WORKFLOW_FILE,
    NodeKind,
    NodeOutcome,
    NodeResult,
    PlanNode,
    plan_text,
)
from wait_and_dispatch.plans.node_job import job_values, render_values, run_node_job
from wait_and_dispatch.plans.timeline import clock_skew, on_our_clock
from wait_and_dispatch.step.run import checks_sha
from wait_and_dispatch.step.settings import JobSettings, read_settings
from wait_and_dispatch.support.errors import GitHubApiError, WaitAndDispatchError, WaitTimeoutError

if TYPE_CHECKING:
    from wait_and_dispatch.plans.advance import Advancer
    from wait_and_dispatch.plans.advance_work import InstanceWork


def may_advance_on_events(advancer: Advancer, node: PlanNode) -> bool:
    """Whether a checks node may wait on events: its plan's repository is the orchestrator's."""
    return node.kind is NodeKind.CHECKS and advancer.repository == advancer.home


def infer(
    node: PlanNode, workflows: Mapping[str, tuple[JobNames, ...] | None] | None
) -> tuple[tuple[str, ...], str]:
    """The workflow files (of `workflows`: file name -> its jobs, None for one that cannot be read)
    whose runs carry the node's checks, and, when there are none, why not."""
    why = not_inferable(node)
    if why:
        return (), why
    if workflows is None:
        return (), "the repository's workflows cannot be listed"
    names = _names(node)
    unreadable = sorted(file for file, jobs in workflows.items() if jobs is None)
    if unreadable:
        return (), f"{unreadable[0]} cannot be read as a workflow"
    files: list[str] = []
    for name in names:
        carriers = [
            file for file, jobs in sorted(workflows.items()) if any(job.may_be(name) for job in jobs or ())
        ]
        if not carriers:
            return (), f"no job of a workflow is named {name}: another app may report it"
        files.extend(file for file in carriers if file not in files)
    return tuple(files), ""


def not_inferable(node: PlanNode) -> str:
    """Why no workflow file can tell which workflows carry the node's checks ("": one may)."""
    if plan_text(node.values.get("checks-regex")).strip():
        return "a checks-regex may match a check any app reports"
    names = _names(node)
    if not names:
        return "it waits for every check on the commit, which any app may report"
    if any("${{" in name for name in names):
        return "its checks are known only when it runs"
    return ""


def _names(node: PlanNode) -> list[str]:
    return [line.strip() for line in plan_text(node.values.get("checks")).splitlines() if line.strip()]


def carriers(node: PlanNode, workflows_dir: Path) -> tuple[tuple[str, ...], str]:
    """What `plan --check --advance` and `--emit-workflow --advance` take to carry a checks node's
    checks: its `checks-workflows`, else what `infer` finds in the checkout's workflows."""
    if node.checks_workflows:
        return node.checks_workflows, ""
    return infer(node, read_workflow_folder(workflows_dir))


def read_workflow_folder(folder: Path) -> dict[str, tuple[JobNames, ...] | None] | None:
    """The jobs of each workflow file in a folder of the checkout (None: no such folder)."""
    if not folder.is_dir():
        return None
    found: dict[str, tuple[JobNames, ...] | None] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".yml", ".yaml") and path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = None
            found[path.name] = _known_file(path.name, parse_workflow_jobs(text) if text is not None else None)
    return found


def _known_file(name: str, jobs: tuple[JobNames, ...] | None) -> tuple[JobNames, ...] | None:
    """A file whose name cannot be kept in a ref is one whose jobs cannot count."""
    return jobs if WORKFLOW_FILE.fullmatch(name) else None


def remote_workflows(advancer: Advancer, sha: str) -> dict[str, tuple[JobNames, ...] | None] | None:
    """The jobs of each workflow of the repository as its file is at commit `sha`, through the API
    (`GET .../actions/workflows`, then each file's contents at the commit); None when they cannot
    be listed. A file that is not at the commit carries nothing there, and is left out; GitHub's
    own dynamic workflows (no file in .github/workflows) are left out too."""
    try:
        listed = workflow_runs.list_workflows(advancer.api, advancer.repository)
    except GitHubApiError:
        return None
    found: dict[str, tuple[JobNames, ...] | None] = {}
    for workflow in listed:
        folder, _, file = workflow.path.rpartition("/")
        if folder != ".github/workflows":
            continue
        try:
            text = workflow_runs.read_file(advancer.api, advancer.repository, workflow.path, sha)
        except GitHubApiError:
            text = ""  # cannot be read: what it carries cannot be known
        if text is None:
            continue  # not at that commit
        found[file] = _known_file(file, parse_workflow_jobs(text) if text else None)
    return found


def fallback_reason(why: str) -> str:
    """Why a checks node runs as the waiting job of the invocation that makes it ready."""
    return (
        f"no workflow is known to carry its checks ({why}; name them with checks-workflows): the "
        "orchestrator run that makes it ready waits for them (a waiting job for this node only)"
    )


def check_note(node: PlanNode, workflows_dir: Path) -> str:
    """What `plan --check --advance` says of a checks node: what advances it, or why it waits."""
    files, why = carriers(node, workflows_dir)
    if not files:
        return fallback_reason(why)
    how = "checks-workflows" if node.checks_workflows else f"inferred from the jobs in {workflows_dir}"
    return (
        f"advanced by the completion of the runs of {', '.join(files)} on the commit it reads ({how}): "
        "no job waits for its checks; an orchestrator in another repository than the plan's waits "
        "for them instead"
    )


def waiting(instance: Instance, name: str) -> tuple[str, tuple[str, ...]] | None:
    """The commit whose checks the node waits on events for under its last claim, and the files
    whose runs carry them (None: it does not wait on events)."""
    return instance.checks_of(name)


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
    """A checks node just claimed (its needs loaded): its outcome when its checks are decided
    already, else None once it waits on events (its `checks/` ref written); run inline when no
    workflow is known to carry its checks."""
    name = node.name
    try:
        settings = _settings(work, node, scheduler.needs_context(node, work.outcomes))
        sha = checks_sha(Engine(work.a.api), settings)
    except WaitAndDispatchError as error:
        return work.ended(scheduler.failed_outcome(node, error))
    files, why = node.checks_workflows, not_inferable(node)
    if not files and not why:
        files, why = infer(node, remote_workflows(work.a, sha))
    if not files:
        work.report.lines.append(f"{name}: no workflow is known to carry its checks ({why}): it waits here")
        return work.run_inline(node, number)
    # Its wait begins: its deadline first, so that a `checks/` ref never goes without one.
    advance_deadlines.note_start(work, node, work.a.api.clock.now())
    work.create(f"checks/{name}/{number}/{sha}/{','.join(files)}")
    work.instance.checks[(name, number)] = (sha, files)
    outcome = _read(work, node, settings, sha, files)
    if outcome is None:
        said = f"its checks on {sha[:7]} are not done; the runs of {', '.join(files)} advance it"
        work.report.lines.append(f"{name}: {said}")
        return None
    work.report.lines.append(f"{name}: {outcome.reason or outcome.result.value}")
    return work.ended(outcome)


def on_event(work: InstanceWork, name: str, completed_run: int | None) -> NodeOutcome | None:
    """A node waiting on events, in any invocation of its instance (`completed_run`: the run whose
    completion started it, None for a start or the sweep): its outcome, recorded, once its
    deadline has passed (`at_deadline`), or when that run carries its checks and they are decided
    now; else None."""
    found = waiting(work.instance, name)
    node = work.plan.nodes[name]
    if found is None:
        return None
    sha, files = found
    ends = advance_deadlines.node_deadline(work, node)
    if ends is None or work.a.api.clock.now() < ends[0]:
        ends = None
        if completed_run is None:
            return None
        if completed_run not in {run.id for run in carrying_runs(work.a, files, sha)}:
            return None
    for need in node.needs:
        work.load(need)
    try:
        settings = _settings(work, node, scheduler.needs_context(node, work.outcomes))
    except WaitAndDispatchError as error:
        return work.ended(scheduler.failed_outcome(node, error))
    outcome = _read(work, node, settings, sha, files, ends=ends)
    if outcome is None:
        said = f"run {completed_run} completed; its checks on {sha[:7]} are not done"
        work.report.lines.append(f"{name}: {said}")
        return None
    said = outcome.reason or outcome.result.value
    timed_out = ends is not None and isinstance(outcome.error, WaitTimeoutError)
    work.report.lines.append(f"{name}: timed out: {said}" if timed_out else f"{name}: {said}")
    return work.ended(outcome)


def reload(work: InstanceWork, node: PlanNode) -> NodeOutcome | None:
    """The outputs of a node recorded on events, read again from its checks (None: it was not
    recorded that way). Checks that are running again since (a re-run) are not waited for: the
    node keeps the result recorded, without outputs."""
    found = waiting(work.instance, node.name)
    if found is None:
        return None
    sha, files = found
    known = work.outcomes[node.name]
    try:
        settings = _settings(work, node, scheduler.needs_context(node, work.outcomes))
    except WaitAndDispatchError:
        return known
    again = f"its checks on {sha[:7]} are running again: not read again"
    ends = advance_deadlines.node_deadline(work, node)
    if ends is not None and work.a.api.clock.now() < ends[0]:
        ends = None
    outcome = _read(work, node, settings, sha, files, settled=True, ends=ends)
    return outcome or replace(known, reason=f"{known.reason}; {again}")


def owners(advancer: Advancer, run_id: int, instances: Mapping[str, Instance]) -> dict[str, str]:
    """The instances (and nodes) with a checks node waiting on events whose checks `run_id` carries."""
    found: dict[str, str] = {}
    for instance in instances.values():
        for (name, number), (sha, files) in sorted(instance.checks.items()):
            if name in instance.done or instance.claims.get(name, 1) != number:
                continue
            if run_id in {run.id for run in carrying_runs(advancer, files, sha)}:
                found.setdefault(instance.id, name)
    return found


def carrying_runs(advancer: Advancer, files: Sequence[str], sha: str) -> list[WorkflowRun]:
    """The runs of the carrying workflow files on the commit (each list read once an invocation)."""
    runs: list[WorkflowRun] = []
    for file in files:
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
    work: InstanceWork,
    node: PlanNode,
    settings: JobSettings,
    sha: str,
    files: Sequence[str],
    *,
    settled: bool | None = None,
    ends: tuple[float, float] | None = None,
) -> NodeOutcome | None:
    """The node's outcome from one read of its checks on `sha`, None while they are not decided.
    `ends`: the node's deadline, passed, and when its wait began: the outcome is then the one its
    wait had at the deadline (`at_deadline`), never None."""
    api = work.a.api
    runs = carrying_runs(work.a, files, sha) if settled is None or ends is not None else []
    if settled is None:
        settled = bool(runs) and all(run.completed for run in runs)
    assert settings.checks is not None  # nosec B101 # an invariant for mypy, not a check of input
    started = api.clock.now()
    try:
        result = read_checks_once(
            api,
            settings.repository,
            sha,
            settings.checks,
            settings.wait_options,
            settled=settled,
            timed_out=ends is not None,
        )
    except WaitAndDispatchError as error:
        return scheduler.failed_outcome(node, error)
    if result is None:
        return None
    skew = clock_skew(api.server_time(), api.clock.now())
    if ends is not None:
        result = at_deadline(result, settings.checks, runs, ends, skew)
        if result.outcome is Outcome.TIMED_OUT:
            started = ends[1]
    outcome = run_node_job(node, _Decided(api, result), replace(settings, check_sha=sha))
    finished = api.clock.now() if ends is None or result.outcome is not Outcome.TIMED_OUT else ends[0]
    outcome = on_our_clock(outcome, skew)
    allowed = outcome.result is NodeResult.FAILURE and node.continue_on_error
    return replace(outcome, started=started, finished=finished, allowed_failure=allowed)


def at_deadline(
    result: ChecksResult,
    selection: CheckSelection,
    runs: Sequence[WorkflowRun],
    ends: tuple[float, float],
    skew: float,
) -> ChecksResult:
    """What the waiting job's wait gave at its deadline, from checks read after it (`ends`: the
    deadline and when the wait began, on this clock; `skew`: how far GitHub's clock is ahead).

    A result decided by the deadline (`decided_at`) is that result; any other is the wait's
    timeout, with the checks as they were at the deadline: one that completed after it still
    running, one that started after it not there yet (so missing, when it is named)."""
    deadline, began = ends
    decided = decided_at(result, selection, runs)
    if result.outcome is not Outcome.TIMED_OUT and decided is not None and decided - skew <= deadline:
        return result
    then: list[CheckRun] = []
    for check in result.checks:
        if check.started_at is not None and check.started_at - skew > deadline:
            continue
        if check.completed_at is None or check.completed_at - skew > deadline:
            status = check.status if not check.completed else "in_progress"
            check = replace(check, status=status, conclusion=None, completed_at=None)
        then.append(check)
    missing = CheckMatcher.from_selection(selection).missing(check.name for check in then)
    return replace(
        result,
        checks=tuple(then),
        outcome=Outcome.TIMED_OUT,
        waited=max(0.0, deadline - began),
        missing=missing,
        failure=None,
    )


def decided_at(result: ChecksResult, selection: CheckSelection, runs: Sequence[WorkflowRun]) -> float | None:
    """When (on GitHub's clock) the wait would have decided a result read later: the first check
    whose conclusion is not allowed, with `fail-fast`; else the last check's completion, and, when
    a check is missing or none matched, once the carrying runs had all completed (the discovery
    grace after the last check, while they had not). None: not known to be decided."""
    checks = result.checks
    if result.outcome is Outcome.CONCLUSION_NOT_ALLOWED and selection.fail_fast:
        failed = [check.completed_at for check in result.failed if check.completed_at is not None]
        if failed:
            return min(failed)
    if any(check.completed_at is None for check in checks):
        return None
    last = max((check.completed_at for check in checks if check.completed_at is not None), default=None)
    if not result.missing and checks:
        return last
    ended = [run.updated_at for run in runs if run.completed and run.updated_at is not None]
    if runs and len(ended) == len(runs):
        return max([*ended, *([last] if last is not None else [])])
    return None if last is None else last + selection.discovery_timeout
