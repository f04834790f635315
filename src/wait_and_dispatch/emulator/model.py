"""The emulated GitHub's objects: repositories, workflows, runs and their attempts, jobs, check
runs of apps, artifacts, and rate-limit budgets. `State` (state.py) holds them all.

Nothing here moves on its own. A run stores when it was requested and what its timeline and
conclusion are; its status, its jobs, its check runs and its artifacts are computed from the
time asked about each time someone asks (docs/emulator.md: "all timeline state is derived
lazily").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wait_and_dispatch.emulator.specs import (
    AnnotationSpec,
    AppSpec,
    ArtifactSpec,
    CaseSpec,
    CheckRunSpec,
    CommitSpec,
    JobSpec,
    RepoSpec,
    TimelineSpec,
    WorkflowSpec,
)
from wait_and_dispatch.support.expressions import evaluate, truthy

# The GitHub Actions app: its real id on github.com is 15368 (`app.id` of every Actions check run).
ACTIONS_APP = AppSpec(slug="github-actions", id=15368)
# Conclusions after which a run has no jobs at all: the run never started
# (startup_failure: the workflow file is invalid; action_required: approval needed first).
NO_JOB_CONCLUSIONS = ("startup_failure", "action_required")
# Runs that end like this upload nothing (upload-artifact steps never ran).
_NO_ARTIFACT_CONCLUSIONS = ("cancelled", "skipped", "startup_failure", "action_required", "stale")
# Hourly primary budgets per token kind (REST "Rate limits for the REST API": 1,000 an hour for
# GITHUB_TOKEN, 5,000 for a user's token or a GitHub App installation).
RATE_LIMITS = {"github_token": 1000, "pat": 5000, "app": 5000}  # nosec # B105: request budgets per token kind, not passwords
HOUR = 3600.0
# "Each workflow run is limited to 35 days. If a workflow run reaches this limit, the workflow run
# is cancelled" (GitHub docs, "Usage limits, billing, and administration").
RUN_TIME_LIMIT = 35 * 86400.0


def stable_id(text: str, base: int, spread: int) -> int:
    """A deterministic id for a name (user and app ids), so answers do not change between runs."""
    return base + int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % spread


class Ids:
    """Id counters, one per kind of object, starting where GitHub's ids look plausible."""

    def __init__(self) -> None:
        self._next = {
            "repo": 700_000_001,
            "workflow": 1001,
            "run": 9_000_000_001,
            "job": 30_000_000_001,
            "suite": 20_000_000_001,
            "artifact": 500_000_001,
            "app": 900_001,
            "installation_token": 1,  # nosec # B105: the first id of a counter, not a password
        }

    def next(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value


@dataclass
class Workflow:
    spec: WorkflowSpec
    id: int
    repo: Repo
    state: str
    created_at: float
    updated_at: float
    run_count: int = 0
    conclusion_turn: int = 0
    case_turns: dict[int, int] = field(default_factory=dict)  # per case index, as conclusion_turn

    def next_conclusion(self, case: int | None = None) -> str:
        # `conclusion: [failure, success]`: successive runs and re-run attempts take them in turn;
        # a case's list is taken in turn by the runs that match that case.
        if case is not None:
            case_conclusions = self.spec.cases[case].conclusions
            if case_conclusions is not None:
                turn = self.case_turns.get(case, 0)
                self.case_turns[case] = turn + 1
                return case_conclusions[turn % len(case_conclusions)]
        conclusions = self.spec.conclusions
        value = conclusions[self.conclusion_turn % len(conclusions)]
        self.conclusion_turn += 1
        return value

    def case_for(self, context: Mapping[str, Any]) -> int | None:
        """The index of the first case whose `if` holds for a run with this context."""
        for index, case in enumerate(self.spec.cases):
            if _holds(case.condition, context):
                return index
        return None


@dataclass
class Job:
    id: int
    spec: JobSpec
    name: str
    steps: tuple[str, ...]
    conclusion: str


@dataclass
class JobState:
    status: str
    conclusion: str | None
    created_at: float
    started_at: float
    completed_at: float | None


@dataclass(frozen=True)
class StepState:
    """One step of a job at a moment: what the jobs API shows and the job's log is laid out by."""

    name: str
    number: int
    status: str
    conclusion: str | None
    started_at: float | None
    completed_at: float | None


def _runs_after_failure(job: Job, index: int) -> bool:
    """The runner still runs an action's post step, "Complete job" and a step whose `if:` holds
    after a failure (`always()`, `failure()`) after a step failed (their conclusion stays success);
    every other later step is skipped."""
    name = job.steps[index]
    return (
        name.startswith("Post ") or name == "Complete job" or job.spec.step_detail(index).runs_after_failure
    )


def step_states(job: Job, job_state: JobState, attempt: Attempt, now: float) -> list[StepState]:
    """Steps share the job's planned time evenly (up to the step it `fails_at`, when it names one);
    the step running when the job ended carries its conclusion, later ones are skipped (what the
    runner reports for a failed step)."""
    start = job_state.started_at
    planned_end = attempt.natural_end if job.spec.duration is None else start + job.spec.duration
    planned_end = min(planned_end, attempt.natural_end)
    failing = job.spec.fails_at
    ran = len(job.steps) if failing is None else failing + 1
    slot = max(0.0, planned_end - start) / max(1, ran)
    end = job_state.completed_at
    failed_at_step = failing is not None and job_state.conclusion == "failure"
    steps = []
    for index, name in enumerate(job.steps):
        s_start = start + index * slot
        s_end = s_start + slot
        step = StepState(name, index + 1, "queued", None, None, None)
        if end is not None:
            if failed_at_step and index >= ran and _runs_after_failure(job, index):
                step = StepState(name, index + 1, "completed", "success", end, end)
            elif index >= ran:
                step = StepState(name, index + 1, "completed", "skipped", end, end)
            elif s_end <= end and not (index == ran - 1 and job_state.conclusion != "success"):
                step = StepState(name, index + 1, "completed", "success", s_start, s_end)
            elif s_start <= end:
                step = StepState(name, index + 1, "completed", job_state.conclusion, s_start, end)
            else:
                step = StepState(name, index + 1, "completed", "skipped", end, end)
        elif index < ran and now >= s_end:
            step = StepState(name, index + 1, "completed", "success", s_start, s_end)
        elif index < ran and now >= s_start:
            step = StepState(name, index + 1, "in_progress", None, s_start, None)
        steps.append(step)
    return steps


# The annotation GitHub Actions adds for a step whose process failed: the runner's
# `##[error]Process completed with exit code 1.` becomes a `failure` annotation on `.github` (as
# the annotations quoted in Lexus2016/hermes-agent-evolution#2547 show: "failure at .github:10
# Process completed with exit code 1."). The line GitHub gives varies; 1 here is unverified.
def exit_code_annotation() -> AnnotationSpec:
    return AnnotationSpec(
        path=".github",
        start_line=1,
        end_line=1,
        level="failure",
        message="Process completed with exit code 1.",
    )


def job_annotations(job: Job, job_state: JobState) -> tuple[AnnotationSpec, ...]:
    """A completed job's annotations, in the order they were made: what its failing step reported,
    then the runner's exit-code error when a step failed."""
    if job_state.completed_at is None:
        return ()
    notes = job.spec.annotations
    if job_state.conclusion == "failure":
        notes += (exit_code_annotation(),)
    return notes


@dataclass
class Artifact:
    id: int
    spec: ArtifactSpec
    run: Run
    attempt: int
    deleted: bool = False


@dataclass
class Attempt:
    number: int
    origin: float
    timeline: TimelineSpec
    conclusion: str
    check_suite_id: int
    triggering_actor: str
    jobs: list[Job] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    cancelled_at: float | None = None
    # A held attempt (a `held` workflow's) runs until the test finishes it (`finished_at`), or
    # until GitHub's run time limit cancels it.
    held: bool = False
    finished_at: float | None = None

    @property
    def started_in_progress(self) -> float:
        return self.origin + self.timeline.before_start

    @property
    def natural_end(self) -> float:
        if not self.held:
            return self.origin + self.timeline.total
        if self.finished_at is not None:
            return self.finished_at
        return self.origin + RUN_TIME_LIMIT

    @property
    def end(self) -> float:
        if self.cancelled_at is not None and self.cancelled_at < self.natural_end:
            return self.cancelled_at
        return self.natural_end

    def final_conclusion(self) -> str:
        if self.cancelled_at is not None and self.cancelled_at < self.natural_end:
            return "cancelled"
        return self.conclusion

    def status_at(self, now: float) -> tuple[str, str | None, float]:
        """(status, conclusion, time of the last change) at `now`."""
        if now >= self.end:
            return "completed", self.final_conclusion(), self.end
        t = self.origin
        tl = self.timeline
        for status, seconds in (
            ("requested", tl.requested),
            ("pending", tl.pending),
            ("queued", tl.queued),
            ("waiting", tl.waiting),
        ):
            if now < t + seconds:
                return status, None, t
            t += seconds
        return "in_progress", None, t

    def job_state(self, job: Job, now: float) -> JobState | None:
        """The job at `now`, or None while it does not exist yet (jobs behind `needs:` are late)."""
        begin = self.started_in_progress
        start = begin + job.spec.start
        natural_end = self.natural_end
        cancel = (
            self.cancelled_at if self.cancelled_at is not None and self.cancelled_at < natural_end else None
        )
        if cancel is not None and cancel < begin:
            return None
        if cancel is not None and cancel <= start:
            if now < cancel:
                return None
            return JobState("completed", "cancelled", cancel, cancel, cancel)
        if start >= natural_end:
            # The run ended before this job could start: GitHub shows it as skipped.
            if now < natural_end:
                return None
            return JobState("completed", "skipped", natural_end, natural_end, natural_end)
        if now < start:
            return None
        end = natural_end if job.spec.duration is None else min(start + job.spec.duration, natural_end)
        conclusion = job.conclusion
        if cancel is not None and cancel < end:
            end, conclusion = cancel, "cancelled"
        if now < end:
            return JobState("in_progress", None, start, start, None)
        return JobState("completed", conclusion, start, start, end)

    def uploads_artifacts(self) -> bool:
        return self.final_conclusion() not in _NO_ARTIFACT_CONCLUSIONS


@dataclass
class Run:
    id: int
    repo: Repo
    workflow: Workflow
    run_number: int
    event: str
    head_sha: str
    head_branch: str | None
    actor: str
    created_at: float
    visible_at: float
    head_repository: str
    name: str
    display_title: str
    context: Mapping[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    conclusions: tuple[str, ...] | None = None  # per attempt, from the scenario
    artifact_specs: tuple[ArtifactSpec, ...] | None = None  # None: the case's or the workflow's
    deleted: bool = False
    case: int | None = None  # the index of the workflow's case this run matched
    # The kind of token that started it (`github_token`, `app`, `pat`), None for GitHub itself or
    # a scenario's run: a GITHUB_TOKEN's run fires no `workflow_run` (Options).
    token_kind: str | None = None
    # How many `workflow_run` events led to it: 0 for a run started otherwise (GitHub docs, "Events
    # that trigger workflows": at most three levels of `workflow_run`).
    workflow_run_depth: int = 0
    # The webhook payload of a `workflow_run` run's event, as GitHub wrote it for its job
    # (emulator/events.py builds the others from the run).
    event_payload: Mapping[str, Any] | None = None
    # (attempt number, action) of each `workflow_run` event this run has fired.
    announced: set[tuple[int, str]] = field(default_factory=set)

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]

    @property
    def case_spec(self) -> CaseSpec | None:
        return None if self.case is None else self.workflow.spec.cases[self.case]

    @property
    def job_specs(self) -> tuple[JobSpec, ...]:
        case = self.case_spec
        return case.jobs if case is not None and case.jobs is not None else self.workflow.spec.jobs

    @property
    def uploads(self) -> tuple[ArtifactSpec, ...]:
        """What each attempt uploads: the scenario run's own list, else the case's, else the workflow's."""
        if self.artifact_specs is not None:
            return self.artifact_specs
        case = self.case_spec
        return (
            case.artifacts
            if case is not None and case.artifacts is not None
            else self.workflow.spec.artifacts
        )

    def attempt(self, number: int) -> Attempt | None:
        return self.attempts[number - 1] if 1 <= number <= len(self.attempts) else None

    def exists(self, now: float) -> bool:
        return not self.deleted and now >= self.created_at


@dataclass
class AppCheckRun:
    id: int
    spec: CheckRunSpec
    app_id: int
    suite_id: int
    created_at: float

    def state(self, now: float) -> JobState | None:
        if now < self.created_at:
            return None
        start = self.created_at + self.spec.timeline.before_start
        end = self.created_at + self.spec.timeline.total
        if now < start:
            return JobState("queued", None, self.created_at, self.created_at, None)
        if now < end:
            return JobState("in_progress", None, self.created_at, start, None)
        return JobState("completed", self.spec.conclusion, self.created_at, start, end)


@dataclass
class Repo:
    spec: RepoSpec
    id: int
    created_at: float
    workflows: list[Workflow] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    check_runs: list[AppCheckRun] = field(default_factory=list)
    app_suites: dict[tuple[int, str], int] = field(default_factory=dict)
    # When each app suite exists from, if before its first check run (scenario `check_suites`).
    app_suite_created: dict[int, float] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # `refs/heads/main` -> SHA

    @property
    def full_name(self) -> str:
        return self.spec.full_name

    @property
    def owner(self) -> str:
        return self.spec.full_name.split("/")[0]

    @property
    def name(self) -> str:
        return self.spec.full_name.split("/")[1]

    def workflow(self, ref: str) -> Workflow | None:
        """A workflow by id, file name or path (OpenAPI actions/get-workflow: `workflow_id`)."""
        for wf in self.workflows:
            if ref in (str(wf.id), wf.spec.file_name, wf.spec.path):
                return wf
        return None

    # -- git refs ----------------------------------------------------------------------------
    # The repository's refs (`refs/heads/main`, `refs/tags/v1`, any `refs/...` a client created)
    # live in `refs`, full name to SHA: the scenario's branches and tags at load, then what the
    # git refs endpoints change (REST "Git references"). Branches and tags are read from there.

    @property
    def branches(self) -> dict[str, str]:
        return self._refs_under("refs/heads/")

    @property
    def tags(self) -> dict[str, str]:
        return self._refs_under("refs/tags/")

    def _refs_under(self, prefix: str) -> dict[str, str]:
        return {name[len(prefix) :]: sha for name, sha in self.refs.items() if name.startswith(prefix)}

    def branch_or_tag(self, ref: str) -> tuple[str, str] | None:
        """(short name, sha) for a branch or tag name (`refs/heads/x`, `refs/tags/x` also)."""
        branches, tags = self.branches, self.tags
        for prefix, table in (("refs/heads/", branches), ("refs/tags/", tags)):
            if ref.startswith(prefix) and ref[len(prefix) :] in table:
                return ref[len(prefix) :], table[ref[len(prefix) :]]
        if ref in branches:
            return ref, branches[ref]
        if ref in tags:
            return ref, tags[ref]
        return None

    def known_shas(self) -> set[str]:
        shas = set(self.refs.values()) | set(self.spec.commits)
        shas.update(run.head_sha for run in self.runs)
        shas.update(cr.spec.head_sha for cr in self.check_runs)
        shas.update(sha for _, sha in self.app_suites)
        return shas

    def resolve_commit(self, ref: str) -> str | None:
        """A commit SHA for a branch, a tag, a SHA or an unambiguous SHA prefix of 7+ characters."""
        named = self.branch_or_tag(ref)
        if named is not None:
            return named[1]
        # repos/get-commit and the check-runs/check-suites lists (OpenAPI `commit-ref`): "a commit
        # SHA, branch name (`heads/BRANCH_NAME`), or tag name (`tags/TAG_NAME`)".
        for prefix, table in (("heads/", self.branches), ("tags/", self.tags)):
            if ref.startswith(prefix) and ref[len(prefix) :] in table:
                return table[ref[len(prefix) :]]
        ref = ref.lower()
        matches = [sha for sha in self.known_shas() if sha.startswith(ref)] if len(ref) >= 7 else []
        return matches[0] if len(matches) == 1 else None

    def descends_from(self, sha: str, ancestor: str) -> bool:
        """True when `ancestor` is `sha` or one of its ancestors, by the scenario's `parents`."""
        seen: set[str] = set()
        todo = [sha]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            if current in seen:
                continue
            seen.add(current)
            commit = self.spec.commits.get(current)
            if commit is not None:
                todo.extend(commit.parents)
        return False

    def commit(self, sha: str) -> CommitSpec:
        return self.spec.commits.get(sha) or CommitSpec(message=f"Commit {sha[:7]}")


@dataclass
class Budget:
    limit: int
    window_start: float | None = None
    used: int = 0

    def refresh(self, now: float) -> None:
        # GitHub's window starts with the first request and resets an hour later.
        if self.window_start is None or now >= self.window_start + HOUR:
            self.window_start = now
            self.used = 0

    def reset_at(self, now: float) -> int:
        self.refresh(now)
        assert self.window_start is not None  # nosec B101 # an invariant for mypy, not a check of input
        return int(self.window_start + HOUR)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def _holds(condition: str, context: Mapping[str, Any]) -> bool:
    return truthy(evaluate(condition, context))
