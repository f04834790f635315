"""Wait for the check runs on a commit: by exact name, by regex, or every check on it.

How GitHub shows checks, and what that means here (REST docs "Check runs", "Check suites"):

- `GET /repos/{o}/{r}/commits/{sha}/check-runs` lists them, at most 100 a page; we follow every
  page, and every poll is conditional, so a poll that finds nothing changed is answered 304 and
  costs no rate limit (REST docs "Best practices for using the REST API").
- `filter=latest` keeps the newest run per name only *within one check suite*. A re-run of a
  workflow, or a second event on the same SHA, adds a new suite, so the list can still hold an
  old failure beside the newer run of the same name (lewagon/wait-on-check-action#156). Only
  the newest run per name and app counts: see `latest_per_check`.
- A job behind `needs:` has no check run until it is queued (lewagon/wait-on-check-action#53), so
  a check that is not there yet may still come. Whether one can still come is read from the
  commit's check suites (`GET /repos/{o}/{r}/commits/{sha}/check-suites`, REST docs "Check suites"): GitHub
  Actions keeps one suite per workflow run, `queued` or `in_progress` until the run's last job
  ends. A suite in progress is no reason to wait by itself: other workflows on the commit (a
  sibling status check, a nightly benchmark) and the waiting job's own run stay in progress for
  as long as they like. So the runs on the commit (`GET .../actions/runs?head_sha=`, each with its
  `check_suite_id` and workflow `path`) tie each suite in progress to its workflow file, read
  once at the commit, and the suite holds the wait only while a job of that file that could
  report a matching check has not reported one yet (see `SuiteVerdict`). A job's check is named
  by its `name:` or id; a name with an expression, a matrix job (its values are appended) or a
  call of a reusable workflow (`caller / called`) may take many names and is taken to match when
  it could (see `_started` for when such a job has reported). A suite that cannot be tied to a
  readable file (GitHub's dynamic workflows, no `contents: read` or `actions: read`) holds the
  wait for the settle window below at most.
- The waiting job's own run (`CheckSelection.caller`) is judged by its file like any other,
  without its own job; its own check (`job.check_run_id`, else the own job's fixed name in the
  own run) is never waited for. lewagon/wait-on-check-action asks for it as
  `running-workflow-name`; poseidon/wait-for-status-checks ignores its own check by name too.
- Other apps get a suite on every push whether or not they ever report: those may stay `queued`
  with `latest_check_runs_count: 0` forever (the recording CheckSuite.testGetCheckSuitesForRef
  has four such suites beside two that reported). Their checks cannot be predicted, so they are
  given a short settle window (`APP_SETTLE_SECONDS`, from when the wait first saw the suite: an
  open-ended wait reads the suites at its start), and never waited on past it.

So, for each kind of selection:
  - a conclusion that is not allowed ends the wait at once (`fail_fast`, the default); with
    `fail_fast` off every selected check is waited for first;
  - with a regex or every check, the set is open-ended: the wait ends once every matching check
    has completed, no suite in progress can still add a matching check (above), and the settle
    window of any silent app suite has passed. A regex that matches nothing is reported missing
    like a name;
  - named checks that are not there yet are waited for while a suite in progress can still add
    one, or a check outside such suites is running (the missing one may need it), and for the
    discovery grace period (`discovery_timeout`) after the last check appeared or completed;
    once none of that holds they are reported `missing`, and the outcome is TIMED_OUT (it never
    appeared in time, as a run that never appears is a timeout too: `RunNotFoundError`), or,
    with `missing_ok`, whatever the checks that did appear say. The grace period also bounds
    the wait when nothing at all has reported on the commit yet.

What is known at a poll (`ChecksView`) and what it decides (`decide`, a pure function of the
view and the time) are kept apart from when the next poll happens (`_ChecksWait.run`).

The engine never prints: it reports through `on_progress`. Time comes from `api.clock`, and the
wait returns by `options.timeout`: no sleep runs past it and every request carries it as deadline.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from wait_and_dispatch.engine import failure_digest, workflow_runs
from wait_and_dispatch.engine.model import (
    ApiCost,
    CheckRun,
    CheckSelection,
    ChecksResult,
    CheckSuite,
    Outcome,
    ProgressCallback,
    ProgressEvent,
    ProgressKind,
    Repository,
    WaitOptions,
    format_seconds,
    ignore_progress,
)
from wait_and_dispatch.engine.workflow_file import JobNames
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.github_api.polling import Pace, PollBounds, governor_for
from wait_and_dispatch.support.errors import (
    DeadlineExceededError,
    GitHubApiError,
    NotFoundError,
    RateLimitExceededError,
    UsageError,
)

# How many checks one progress line names before it says "and N more".
_SHOWN_IN_PROGRESS = 5
# How long an app's check suite that has no check runs yet may take to report its first one, from
# when the wait first saw it, before the wait stops expecting it: apps answer the suite GitHub
# creates on a push within seconds, or never (dependabot, or an app that ignores this branch).
APP_SETTLE_SECONDS = 10.0


def wait_for_checks(
    api: GitHubApi,
    repo: Repository,
    sha: str,
    selection: CheckSelection,
    options: WaitOptions,
    *,
    on_progress: ProgressCallback = ignore_progress,
    exclude: Sequence[str] = (),
) -> ChecksResult:
    """Wait until the selected check runs on `sha` have completed, and judge their conclusions.

    `exclude` names checks never to wait for, on top of `selection.ignore`: typically the calling
    job's own check, which is still running while it waits. Raises `UsageError` for an invalid
    regex, and the API layer's errors for what GitHub refuses; a timeout is an outcome, not an
    error (`ChecksResult.error()` turns the outcome into one).
    """
    matcher = CheckMatcher.from_selection(selection, exclude)
    return _ChecksWait(api, repo, sha, selection, options, matcher, on_progress).run()


CheckKey = tuple[str, str]  # (name, app): checks of one name from different apps are different checks


def latest_per_check(check_runs: Iterable[CheckRun]) -> dict[CheckKey, CheckRun]:
    """The newest check run of each name *per app*: the one with the highest id.

    `filter=latest` leaves one run per name and *suite*, so a name can come back twice
    (lewagon/wait-on-check-action#156): from a re-run, which makes a new suite of the same app, or
    from another app that reports a check of the same name (Actions' `build` beside Jenkins'
    `build`). Only the first is an older copy of the same check; the second is another check, and
    its failure counts.

    GitHub numbers check runs from one increasing sequence as they are created, so the run a
    re-run or a later event created always has the higher id. lewagon picks the latest
    `started_at` instead; we do not: `started_at` is set by the app that creates the check (the
    "Create a check run" body takes it), may be null, and has one-second precision, so two runs
    started within a second tie, while ids never do.
    """
    latest: dict[CheckKey, CheckRun] = {}
    for check in check_runs:
        key = (check.name, check.app)
        current = latest.get(key)
        if current is None or check.id > current.id:
            latest[key] = check
    return latest


@dataclass(frozen=True)
class CheckMatcher:
    """Which check names a selection waits for, from its names, regex and ignore list."""

    names: tuple[str, ...]
    pattern: re.Pattern[str] | None
    ignored: frozenset[str]

    @classmethod
    def from_selection(cls, selection: CheckSelection, exclude: Sequence[str] = ()) -> CheckMatcher:
        pattern = None
        if selection.regex is not None:
            try:
                pattern = re.compile(selection.regex)
            except re.error as error:
                raise UsageError(
                    f"the check regex {selection.regex!r} is not a valid regular expression: {error}",
                    hint="use Python regular expression syntax; it is searched anywhere in the check "
                    "name, e.g. `^build` or `test \\(`",
                ) from None
        ignored = frozenset(selection.ignore) | frozenset(exclude)
        names = tuple(dict.fromkeys(name for name in selection.names if name not in ignored))
        return cls(names, pattern, ignored)

    @property
    def open_ended(self) -> bool:
        """True when names alone do not say which checks to expect (a regex, or every check)."""
        return self.pattern is not None or not self.names

    def considers(self, name: str) -> bool:
        """Whether a check counts at all: ignored checks are neither waited for nor watched."""
        return name not in self.ignored

    def matches(self, name: str) -> bool:
        if name in self.ignored:
            return False
        if not self.names and self.pattern is None:
            return True
        return name in self.names or (self.pattern is not None and self.pattern.search(name) is not None)

    def may_match(self, job: JobNames) -> bool:
        """Whether a job of a workflow file could report a check this selection waits for.

        Exact for a job of one fixed name, and for named checks; a job whose name takes many values
        (an expression, a matrix, a reusable workflow) is taken to match a regex, since which text
        an expression gives is known only when the job starts.
        """
        if job.literal is not None:
            return self.matches(job.literal)
        if self.pattern is None and self.names:
            return any(job.may_be(name) for name in self.names)
        return True

    def missing(self, present: Iterable[str]) -> tuple[str, ...]:
        """Named checks not there yet, and the regex when no check matches it."""
        seen = set(present)
        missing = [name for name in self.names if name not in seen]
        if self.pattern is not None and not any(self.pattern.search(name) for name in seen):
            missing.append(f"any check matching /{self.pattern.pattern}/")
        return tuple(missing)


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


@dataclass
class _ChecksWait:
    api: GitHubApi
    repo: Repository
    sha: str
    selection: CheckSelection
    options: WaitOptions
    matcher: CheckMatcher
    on_progress: ProgressCallback
    polled: bool = field(init=False, default=False)  # True once GitHub has answered a poll

    def __post_init__(self) -> None:
        self.clock = self.api.clock
        self.start = self.clock.now()
        self.deadline = self.start + self.options.timeout
        self.view = ChecksView(self.matcher, self.selection, self.start)
        self.stats_before = self.api.stats.snapshot()
        self.governor = governor_for(self.api)
        self.bounds = PollBounds(self.options.poll_interval, self.options.max_poll_interval)
        self.slowed: str | None = None
        self.subject = f"checks on {self.sha[:7]}"
        commit = f"{self.repo.api_path}/commits/{urllib.parse.quote(self.sha, safe='/')}"
        self.path = f"{commit}/check-runs"
        self.suites_path = f"{commit}/check-suites"
        self.said_about_suites: dict[int, str] = {}  # what progress last said about each suite
        self.runs_refused = False  # the token may not list the runs on the commit

    def run(self) -> ChecksResult:
        # Every request of the wait carries its deadline, also those deep in the API layer.
        with self.api.deadline_scope(self.deadline):
            return self._loop()

    def _loop(self) -> ChecksResult:
        while True:
            try:
                verdict = self._poll_and_decide()
            except DeadlineExceededError:
                # GitHub kept failing (or rate-limiting) until the deadline. Once we have seen the
                # checks, the snapshot says what was still running; before that, GitHub's failure
                # is the whole story and the error says it.
                if not self.polled:
                    raise
                return self._result(Outcome.TIMED_OUT)
            now = self.clock.now()
            if verdict.outcome is not None:
                if verdict.never_appeared:
                    self._report_never_appeared()
                return self._result(verdict.outcome)
            if now >= self.deadline:
                return self._result(Outcome.TIMED_OUT)
            # When to look again is the governor's (one cadence for every wait on this token);
            # what a look decides is `decide`'s.
            pace = self.governor.next_poll(self.bounds)
            wake = min(now + pace.interval, self.deadline)
            if verdict.decide_again_at is not None and now < verdict.decide_again_at < wake:
                # Wake when the grace or settle window ends, rather than up to an interval after.
                wake = verdict.decide_again_at
            if pace.reason != self.slowed:
                self.slowed = pace.reason
                self._report_slowed(pace, now)
            self._report_waiting(verdict, now, wake - now)
            self.clock.sleep(wake - now)

    # -- polling -------------------------------------------------------------------------------

    def _poll_and_decide(self) -> Verdict:
        first = not self.polled
        if first:
            self._find_own_run()
        self._observe(self._poll_checks(), self.clock.now())
        self.polled = True
        self.view.suites = None
        self.view.runs = None
        verdict = decide(self.view, self.clock.now())
        # An open-ended wait reads the suites once at the start too, so that a silent app's
        # settle window runs from then, not from when the checks are done.
        early = first and (self.matcher.open_ended or bool(self.matcher.missing(self.view.seen_names())))
        if verdict.needs_suites or (early and verdict.outcome is None):
            # Read only when the checks alone cannot tell: conditional, so usually a free 304.
            self.view.observe_suites(self._poll_suites(), self.clock.now())
            verdict = decide(self.view, self.clock.now())
        if verdict.needs_runs:
            self.view.observe_runs(self._poll_runs(), self.clock.now())
            self._report_suites()
            verdict = decide(self.view, self.clock.now())
        return verdict

    def _find_own_run(self) -> None:
        """The waiting job's own suite and, without `job.check_run_id`, its own check's name."""
        caller = self.selection.caller
        if caller.run_id is None:
            return
        path = f"{self.repo.api_path}/actions/runs/{caller.run_id}"
        if caller.run_attempt is not None:
            path += f"/attempts/{caller.run_attempt}"
        try:
            data = self.api.get(path, deadline=self.deadline).data
        except NotFoundError:
            raise UsageError(
                f"the run to ignore, {caller.run_id}, is not a workflow run of {self.repo}",
                hint="give the id of the waiting job's own run (github.run_id) in this repository",
            ) from None
        except GitHubApiError as exc:
            if not _refused(exc):
                raise
            return  # no `actions: read`: the own run is judged as a run that cannot be tied
        suite = data.get("check_suite_id") if isinstance(data, Mapping) else None
        self.view.own_suite = suite if isinstance(suite, int) else None
        run_path = data.get("path") if isinstance(data, Mapping) else None
        if caller.check_run_id is None and caller.job_id and isinstance(run_path, str) and run_path:
            own = next((j for j in self._jobs_of(run_path) or () if j.job_id == caller.job_id), None)
            self.view.own_check_name = own.literal if own is not None else None

    def _is_own_check(self, check: CheckRun) -> bool:
        caller = self.selection.caller
        if caller.check_run_id is not None:
            return check.id == caller.check_run_id
        return (
            self.view.own_check_name is not None
            and check.name == self.view.own_check_name
            and check.check_suite_id == self.view.own_suite
        )

    def _poll_checks(self) -> dict[CheckKey, CheckRun]:
        items = self.api.paginate(
            self.path,
            {"filter": "latest", "per_page": 100},
            items_key="check_runs",
            deadline=self.deadline,
            conditional=True,
        )
        polled = [CheckRun.from_api(item) for item in items]
        by_suite: dict[int, set[str]] = {}
        for check in polled:
            if check.check_suite_id is not None:
                by_suite.setdefault(check.check_suite_id, set()).add(check.name)
            if check.id == self.selection.caller.check_run_id:
                self.view.own_suite = self.view.own_suite or check.check_suite_id
                self.view.own_check_name = check.name
        self.view.suite_checks = {suite: frozenset(names) for suite, names in by_suite.items()}
        latest = latest_per_check(check for check in polled if not self._is_own_check(check))
        return {key: check for key, check in latest.items() if self.matcher.considers(key[0])}

    def _poll_suites(self) -> list[CheckSuite]:
        items = self.api.paginate(
            self.suites_path,
            {"per_page": 100},
            items_key="check_suites",
            deadline=self.deadline,
            conditional=True,
        )
        return [CheckSuite.from_api(item) for item in items]

    def _poll_runs(self) -> dict[int, SuiteRun]:
        """The run behind each Actions suite on the commit, and the jobs of each run's workflow
        file (each file read once: at a commit it never changes)."""
        if self.runs_refused:
            return {}
        try:
            items = list(
                self.api.paginate(
                    f"{self.repo.api_path}/actions/runs",
                    {"head_sha": self.sha, "per_page": 100},
                    items_key="workflow_runs",
                    deadline=self.deadline,
                    conditional=True,
                )
            )
        except GitHubApiError as exc:
            if not _refused(exc):
                raise
            # Without `actions: read` no suite can be tied to its workflow file: each gets the
            # settle window. Refused once, refused again: not asked at every poll.
            self.runs_refused = True
            return {}
        runs: dict[int, SuiteRun] = {}
        for item in items:
            suite = item.get("check_suite_id") if isinstance(item, Mapping) else None
            if isinstance(suite, int) and isinstance(item.get("id"), int):
                runs[suite] = SuiteRun.from_api(item)
        for suite in self.view.running_suites():
            run = runs.get(suite.id)
            if run is not None and run.path:
                self._jobs_of(run.path)
        return runs

    def _jobs_of(self, path: str) -> tuple[JobNames, ...] | None:
        if path not in self.view.jobs:
            self.view.jobs[path] = workflow_runs.read_workflow_jobs(
                self.api, self.repo, path, self.sha, deadline=self.deadline
            )
        return self.view.jobs[path]

    def _observe(self, polled: dict[CheckKey, CheckRun], now: float) -> None:
        """Note what moved since the last poll, tell the caller about the checks it waits for."""
        for key in sorted(polled):
            check = polled[key]
            before = self.view.seen.get(key)
            appeared = before is None or before.id != check.id
            if not appeared and before is not None and before.status == check.status:
                continue
            if appeared or check.completed:
                self.view.last_change = now
            if self.matcher.matches(check.name):
                self._report_check(check, before)
        self.view.seen = polled

    def _result(self, outcome: Outcome) -> ChecksResult:
        result = self._judged(outcome)
        if outcome is Outcome.CONCLUSION_NOT_ALLOWED and result.failed:
            # What the failed checks looked like inside: read only on failure (failure_digest.py).
            digest = failure_digest.checks_failure(self.api, self.repo, result.failed)
            result = replace(
                result, failure=digest, cost=ApiCost.between(self.stats_before, self.api.stats.snapshot())
            )
        return result

    def _judged(self, outcome: Outcome) -> ChecksResult:
        return ChecksResult(
            sha=self.sha,
            checks=tuple(self.view.matched()),
            outcome=outcome,
            waited=self.clock.now() - self.start,
            cost=ApiCost.between(self.stats_before, self.api.stats.snapshot()),
            missing=self.matcher.missing(self.view.seen_names())
            if outcome is not Outcome.SUCCESS or self.selection.missing_ok
            else (),
            allowed_conclusions=self.selection.allowed_conclusions,
        )

    # -- progress ------------------------------------------------------------------------------

    def _report_suites(self) -> None:
        """Say which suites in progress hold the wait and why: once, then only what changed."""
        for verdict in self.view.suite_verdicts(self.clock.now()):
            said = verdict.describe()
            # The settle countdown changes every poll; say the suite again only when more changed.
            gist = said.split("; settling")[0]
            if self.said_about_suites.get(verdict.suite_id) != gist:
                self.said_about_suites[verdict.suite_id] = gist
                self._emit(ProgressKind.STATUS, said)

    def _report_check(self, check: CheckRun, before: CheckRun | None) -> None:
        if check.completed:
            allowed = check.conclusion in self.selection.allowed_conclusions
            kind, message = ProgressKind.CHECK, f"{check.name} completed: {check.conclusion}"
            message += "" if allowed else " (not allowed)"
        elif before is None:
            kind, message = ProgressKind.CHECK, f"{check.name} appeared: {check.status}"
        elif before.id != check.id:
            kind, message = ProgressKind.CHECK, f"{check.name} re-run: {check.status}"
        else:
            kind, message = ProgressKind.STATUS, f"{check.name}: {check.status}"
        self._emit(kind, message, check.conclusion or check.status, check.html_url)

    def _report_never_appeared(self) -> None:
        missing = self.matcher.missing(self.view.seen_names())
        self._emit(
            ProgressKind.CHECK,
            f"{', '.join(missing)} never appeared on {self.sha[:7]} "
            f"(no check appeared or completed for {format_seconds(self.view.grace)})",
        )

    def _report_waiting(self, verdict: Verdict, now: float, next_poll_in: float) -> None:
        why = f" (slowed: {self.slowed})" if self.slowed else ""
        self._emit(
            ProgressKind.POLL,
            f"{verdict.waiting_for}; next poll in {format_seconds(next_poll_in)}{why}",
            elapsed=now - self.start,
            next_poll_in=next_poll_in,
            slowed=self.slowed,
        )

    def _report_slowed(self, pace: Pace, now: float) -> None:
        """Said once when polling slows down (or changes why, or is back to its cadence)."""
        if pace.reason is None:
            message = f"polling every {format_seconds(pace.interval)} again"
        else:
            message = f"polling slowed to every {format_seconds(pace.interval)}: {pace.reason}"
        self._emit(
            ProgressKind.SLOWED,
            message,
            elapsed=now - self.start,
            next_poll_in=pace.interval,
            slowed=pace.reason,
        )

    def _emit(
        self,
        kind: ProgressKind,
        message: str,
        status: str | None = None,
        url: str | None = None,
        *,
        elapsed: float | None = None,
        next_poll_in: float | None = None,
        slowed: str | None = None,
    ) -> None:
        self.on_progress(
            ProgressEvent(
                kind=kind,
                message=message,
                subject=self.subject,
                status=status,
                elapsed=self.clock.now() - self.start if elapsed is None else elapsed,
                next_poll_in=next_poll_in,
                url=url or None,
                slowed=slowed,
            )
        )


def _refused(error: GitHubApiError) -> bool:
    """A 403 or 404 for what the token may not read (not bad credentials, not a rate limit)."""
    return error.status in (403, 404) and not isinstance(error, RateLimitExceededError)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


__all__ = [
    "APP_SETTLE_SECONDS",
    "CheckMatcher",
    "ChecksView",
    "SuiteVerdict",
    "Verdict",
    "decide",
    "latest_per_check",
    "wait_for_checks",
]
