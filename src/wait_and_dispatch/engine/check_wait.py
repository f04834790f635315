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
  it could (see `_started` in check_view.py for when such a job has reported). A suite that
  cannot be tied to a readable file (GitHub's dynamic workflows, no `contents: read` or
  `actions: read`) holds the wait for the settle window below at most.
- The waiting job's own run (`CheckSelection.caller`) is judged by its file like any other,
  without its own job; its own check (`job.check_run_id`, else the own job's fixed name in the
  own run) is never waited for. lewagon/wait-on-check-action asks for it as
  `running-workflow-name`; poseidon/wait-for-status-checks ignores its own check by name too.
- Other apps get a suite on every push whether or not they ever report: those may stay `queued`
  with `latest_check_runs_count: 0` forever (the recording CheckSuite.testGetCheckSuitesForRef
  has four such suites beside two that reported). Their checks cannot be predicted, so they are
  given a short settle window (`APP_SETTLE_SECONDS` in check_view.py, from when the wait first
  saw the suite: an open-ended wait reads the suites at its start), and never waited on past it.

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
view and the time: `check_view.py`) are kept apart from when the next poll happens
(`_ChecksWait.run`, here); which checks a selection names is `check_matching.py`. One poll
without the wait, `read_checks_once`, is advance mode's read of a checks node on an event.

The engine never prints: it reports through `on_progress`. Time comes from `api.clock`, and the
wait returns by `options.timeout`: no sleep runs past it and every request carries it as deadline.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from wait_and_dispatch.engine import failure_digest, workflow_runs
from wait_and_dispatch.engine.check_matching import CheckKey, CheckMatcher, latest_per_check
from wait_and_dispatch.engine.check_view import ChecksView, SuiteRun, Verdict, decide
from wait_and_dispatch.engine.github_objects import CheckRun, CheckSuite, Repository
from wait_and_dispatch.engine.progress import (
    ProgressCallback,
    ProgressEvent,
    ProgressKind,
    format_seconds,
    ignore_progress,
)
from wait_and_dispatch.engine.requests import CheckSelection, WaitOptions
from wait_and_dispatch.engine.results import ApiCost, ChecksResult, Outcome
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


def read_checks_once(
    api: GitHubApi,
    repo: Repository,
    sha: str,
    selection: CheckSelection,
    options: WaitOptions,
    *,
    settled: bool = False,
    timed_out: bool = False,
    exclude: Sequence[str] = (),
) -> ChecksResult | None:
    """One poll of `wait_for_checks`, without waiting: the result the wait would give if it ended
    at this poll, else None (a check still running, or one that may still appear).

    `settled`: the caller knows that the runs that carry the checks have all completed (advance
    mode: plans/advance_checks.py), so the windows the wait gives checks to appear (the discovery
    grace, the settle window) are taken as over: what is missing now is missing, as the wait
    reports it once those windows end. `timed_out`: the wait's deadline has passed, so a poll that
    decides nothing is the wait's last: TIMED_OUT with the checks as they are, never None."""
    matcher = CheckMatcher.from_selection(selection, exclude)
    wait = _ChecksWait(api, repo, sha, selection, options, matcher, ignore_progress)
    with api.deadline_scope(wait.deadline):
        verdict = wait._poll_and_decide()
        if verdict.outcome is None and settled:
            later = wait.clock.now() + wait.view.grace + wait.view.settle + 1.0
            verdict = decide(wait.view, later)
            if verdict.needs_suites or verdict.needs_runs:
                if wait.view.suites is None:
                    wait.view.observe_suites(wait._poll_suites(), wait.clock.now())
                if wait.view.runs is None:
                    wait.view.observe_runs(wait._poll_runs(), wait.clock.now())
                verdict = decide(wait.view, later)
        if verdict.outcome is None:
            return wait._result(Outcome.TIMED_OUT) if timed_out else None
        return wait._result(verdict.outcome)


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
