"""What the checks wait knows at a poll (`ChecksView`: the checks, the suites in progress and the
workflow runs and files behind them) and what that decides (`decide`: a pure function of the view
and the time). engine/check_wait.py says how GitHub shows checks and why the suites matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wait_and_dispatch.engine.check_matching import CheckKey, CheckMatcher
from wait_and_dispatch.engine.github_objects import CheckRun, CheckSuite
from wait_and_dispatch.engine.progress import format_seconds
from wait_and_dispatch.engine.requests import CheckSelection
from wait_and_dispatch.engine.results import Outcome
from wait_and_dispatch.engine.workflow_file import JobNames

# How many checks one progress line names before it says "and N more".
_SHOWN_IN_PROGRESS = 5
# How long an app's check suite that has no check runs yet may take to report its first one, from
# when the wait first saw it, before the wait stops expecting it: apps answer the suite GitHub
# creates on a push within seconds, or never (dependabot, or an app that ignores this branch).
APP_SETTLE_SECONDS = 10.0


@dataclass(frozen=True)
class SuiteRun:
    """The workflow run behind an Actions check suite, from the runs on the commit."""

    run_id: int
    name: str
    path: str  # the workflow file, `.github/workflows/ci.yml`; empty when GitHub does not say

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> SuiteRun:
        return cls(int(data["id"]), str(data.get("name") or ""), str(data.get("path") or ""))

    def describe(self) -> str:
        file = self.path.rsplit("/", 1)[-1]
        return f"{self.name or file} (run {self.run_id}{', ' + file if file and file != self.name else ''})"


@dataclass(frozen=True)
class SuiteVerdict:
    """Whether one check suite in progress holds the wait, and why (for progress and --debug)."""

    suite_id: int
    label: str  # `PR (run 9000000001, pr.yaml)`, or the suite when no run is known
    holds: bool
    why: str
    until: float | None = None  # a suite not tied to a workflow file holds until then at most

    def describe(self) -> str:
        return f"{'waiting for' if self.holds else 'not waiting for'} {self.label}: {self.why}"


@dataclass(frozen=True)
class Verdict:
    """What a poll's view of the commit decides: an outcome, or what the wait is still waiting for."""

    outcome: Outcome | None = None
    needs_suites: bool = False  # the check runs alone cannot tell; read the commit's check suites
    needs_runs: bool = False  # suites are in progress: read the runs behind them and their files
    waiting_for: str = ""  # what the progress line says is still awaited
    decide_again_at: float | None = None  # a grace or settle window ends then, with nothing moving
    never_appeared: bool = False  # the outcome is final because named checks never appeared


@dataclass
class ChecksView:
    """What the wait knows about the commit's checks and suites, as of its last poll."""

    matcher: CheckMatcher
    selection: CheckSelection
    start: float
    # The newest run per name and app of every check that is not ignored.
    seen: dict[CheckKey, CheckRun] = field(default_factory=dict)
    # The names of the checks each suite has reported, ignored ones too: the jobs a run has started.
    suite_checks: dict[int, frozenset[str]] = field(default_factory=dict)
    suites: list[CheckSuite] | None = None  # None until the suites have been read for this poll
    # The run behind each Actions suite on the commit; None until read for this poll.
    runs: dict[int, SuiteRun] | None = None
    # The jobs of each workflow file at the commit (None: unreadable); read once per file.
    jobs: dict[str, tuple[JobNames, ...] | None] = field(default_factory=dict)
    own_suite: int | None = None  # the suite of the waiting job's own run
    own_check_name: str | None = None  # the name of the waiting job's own check, once known
    # When each silent app suite (queued, no check runs) was first seen: its settle window start.
    silent_since: dict[int, float] = field(default_factory=dict)
    # When each suite in progress that no workflow file explains was first seen: the same window.
    untied_since: dict[int, float] = field(default_factory=dict)
    last_change: float = 0.0  # when a check last appeared or completed

    def __post_init__(self) -> None:
        self.last_change = max(self.last_change, self.start)

    @property
    def grace(self) -> float:
        return max(0.0, self.selection.discovery_timeout)

    @property
    def settle(self) -> float:
        return min(APP_SETTLE_SECONDS, self.grace)

    def matched(self) -> list[CheckRun]:
        return [self.seen[key] for key in sorted(self.seen) if self.matcher.matches(key[0])]

    def seen_names(self) -> set[str]:
        return {name for name, _ in self.seen}

    def not_allowed(self) -> list[CheckRun]:
        allowed = self.selection.allowed_conclusions
        return [c for c in self.matched() if c.completed and c.conclusion not in allowed]

    def running_suites(self) -> list[CheckSuite]:
        """Actions suites whose runs may still start jobs, hence add checks."""
        return [suite for suite in self.suites or () if suite.from_actions and not suite.completed]

    def silent_suites(self) -> list[CheckSuite]:
        """Other apps' suites that have reported nothing yet: they may, or may never."""
        return [
            suite
            for suite in self.suites or ()
            if not suite.from_actions and not suite.completed and suite.latest_check_runs_count == 0
        ]

    def observe_suites(self, suites: list[CheckSuite], now: float) -> None:
        self.suites = suites
        silent = {suite.id for suite in self.silent_suites()}
        self.silent_since = {sid: self.silent_since.get(sid, now) for sid in silent}

    def observe_runs(self, runs: dict[int, SuiteRun], now: float) -> None:
        self.runs = runs
        untied = {v.suite_id for v in self._judge_suites(now) if v.until is not None}
        self.untied_since = {sid: self.untied_since.get(sid, now) for sid in untied}

    def suite_verdicts(self, now: float) -> list[SuiteVerdict]:
        """For each Actions suite in progress: does it hold the wait, and why."""
        return self._judge_suites(now)

    def _judge_suites(self, now: float) -> list[SuiteVerdict]:
        return [self._judge(suite, now) for suite in self.running_suites()]

    def _judge(self, suite: CheckSuite, now: float) -> SuiteVerdict:
        run = (self.runs or {}).get(suite.id)
        own = suite.id == self.own_suite
        label = run.describe() if run is not None else f"check suite {suite.id}"
        label += ", this job's own run" if own else ""
        jobs = self.jobs.get(run.path) if run is not None and run.path else None
        if jobs is None:
            until = self.untied_since.get(suite.id, now) + self.settle
            why = (
                f"its workflow file {run.path} cannot be read"
                if run is not None and run.path
                else "no workflow run on the commit names it"
            )
            holds = now < until
            why += f"; settling {format_seconds(until - now)} more" if holds else "; settled"
            return SuiteVerdict(suite.id, label, holds, why, until)
        reported = self.suite_checks.get(suite.id, frozenset())
        pending = [
            job
            for job in jobs
            if not (own and self._is_own_job(job))
            and self.matcher.may_match(job)
            and not _started(job, jobs, reported)
        ]
        if pending:
            names = ", ".join(job.describe() for job in pending[:_SHOWN_IN_PROGRESS])
            left = len(pending) - _SHOWN_IN_PROGRESS
            more = f" and {left} more" if left > 0 else ""
            return SuiteVerdict(suite.id, label, True, f"may still report {names}{more}")
        return SuiteVerdict(suite.id, label, False, "no job left that could report a matching check")

    def _is_own_job(self, job: JobNames) -> bool:
        """The waiting job in its own run's file: by its id, else by its own check's name."""
        if self.selection.caller.job_id is not None:
            return job.job_id == self.selection.caller.job_id
        return self.own_check_name is not None and job.may_be(self.own_check_name)

    def explained_suites(self) -> set[int]:
        """Suites in progress whose workflow file says which checks they can still add."""
        runs = self.runs or {}
        return {
            suite.id
            for suite in self.running_suites()
            if suite.id in runs and self.jobs.get(runs[suite.id].path) is not None
        }


def _started(job: JobNames, jobs: Sequence[JobNames], reported: frozenset[str]) -> bool:
    """Whether a job of a run has reported its checks, from the names its suite has reported.

    A job of one name has started once that name is there. A matrix is expanded when its job
    starts, every combination at once (those beyond `max-parallel` are created and wait: they even
    take a runner, product-os/flowzone#1036), so a matrix job
    has started once any check that can be one of its names, and is no other job's fixed name, is
    there; its other combinations are then there too. A reusable workflow's jobs start one by one
    behind their own `needs:`, so a job that calls one is not known to be done reporting until
    its run completes.
    """
    if job.literal is not None:
        return job.literal in reported
    if job.calls_workflow:
        return False
    fixed = {other.literal for other in jobs if other.literal is not None}
    return any(job.may_be(name) for name in reported if name not in fixed)


def decide(view: ChecksView, now: float) -> Verdict:
    """The outcome if the wait is over at `now`, else what it still waits for. No I/O, no clock."""
    matched = view.matched()
    not_allowed = view.not_allowed()
    if not_allowed and view.selection.fail_fast:
        return Verdict(Outcome.CONCLUSION_NOT_ALLOWED)
    running = [check for check in matched if not check.completed]
    missing = view.matcher.missing(view.seen_names())
    if running:
        return Verdict(waiting_for=_describe_checks(running, missing))
    final = Outcome.CONCLUSION_NOT_ALLOWED if not_allowed else Outcome.SUCCESS
    if not missing and not view.matcher.open_ended:
        return Verdict(final)
    # Every selected check there is has completed; can more still appear?
    if view.suites is None:
        return Verdict(needs_suites=True)
    if view.running_suites() and view.runs is None:
        return Verdict(needs_runs=True)
    holding = [v for v in view.suite_verdicts(now) if v.holds]
    if holding:
        windows = [v.until for v in holding if v.until is not None]
        labels = ", ".join(v.label for v in holding[:_SHOWN_IN_PROGRESS])
        return Verdict(
            waiting_for=_describe_checks([], missing)
            or f"{_plural(len(matched), 'check')} completed; waiting for {labels}, which may still "
            "report a matching check",
            decide_again_at=min(windows) if len(windows) == len(holding) else None,
        )
    if missing:
        # A missing check may sit behind `needs:` on any check still running
        # (lewagon/wait-on-check-action#53), unless that check's workflow file says no job of it
        # can report the missing one.
        explained = view.explained_suites()
        if any(not c.completed and c.check_suite_id not in explained for c in view.seen.values()):
            return Verdict(waiting_for=_describe_checks([], missing))
        grace_ends = view.last_change + view.grace
        if now < grace_ends:
            return Verdict(waiting_for=_describe_checks([], missing), decide_again_at=grace_ends)
        if not_allowed:
            return Verdict(Outcome.CONCLUSION_NOT_ALLOWED, never_appeared=True)
        # if-checks-missing: warn/ignore (lewagon's fail-on-no-checks: false) judge what appeared.
        missed = Outcome.SUCCESS if view.selection.missing_ok else Outcome.TIMED_OUT
        return Verdict(missed, never_appeared=True)
    if not matched:
        # Nothing has reported on the commit: its suites may not even exist yet, so give the
        # checks the grace period to appear (then: every check of none is a success).
        grace_ends = view.last_change + view.grace
        if now < grace_ends:
            return Verdict(waiting_for="no check on the commit yet", decide_again_at=grace_ends)
        return Verdict(final)
    # A wait that began right after a push may see a fast app's checks before GitHub has created
    # the commit's workflow runs (and their suites): the settle window runs from the start too.
    starts = [view.start] + [view.silent_since[s.id] for s in view.silent_suites()]
    settle_ends = max(starts) + view.settle
    if now < settle_ends:
        apps = ", ".join(sorted({s.app for s in view.silent_suites()}))
        why = f"for {apps}, whose suite has no checks yet" if apps else "for workflow runs that start late"
        return Verdict(
            waiting_for=f"{_plural(len(matched), 'check')} completed; settling "
            f"{format_seconds(settle_ends - now)} more {why}",
            decide_again_at=settle_ends,
        )
    return Verdict(final)


def _describe_checks(running: Sequence[CheckRun], missing: Sequence[str]) -> str:
    parts = [f"{c.name} ({c.status})" for c in running]
    parts += [f"{name} (not reported yet)" for name in missing]
    if not parts:
        return ""
    shown = parts[:_SHOWN_IN_PROGRESS]
    if len(parts) > len(shown):
        shown.append(f"and {len(parts) - len(shown)} more")
    return f"waiting for {_plural(len(parts), 'check')}: {', '.join(shown)}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
