"""Wait for the check runs on a commit: by exact name, by regex, or every check on it.

How GitHub shows checks, and what that means here (GITHUB-FACTS "Check runs"):

- `GET /repos/{o}/{r}/commits/{sha}/check-runs` lists them, at most 100 a page; we follow every
  page, and every poll is conditional, so a poll that finds nothing changed is answered 304 and
  costs no rate limit (GITHUB-FACTS "Rate limits"; REST best practices).
- `filter=latest` keeps the newest run per name only *within one check suite*. A re-run of a
  workflow, or a second event on the same SHA, adds a new suite, so the list can still hold an
  old failure beside the newer run of the same name (lewagon/wait-on-check-action PR #156). Only
  the newest run per name counts: see `latest_per_name`.
- A job behind `needs:` has no check run until it starts (lewagon PR #53), so a check that is
  not there yet may still come. Hence the discovery grace period (`discovery_timeout`):
  - named checks that are not there yet are waited for while the grace period runs, and for as
    long as any other check on the commit is still running (the missing one may need it); once
    neither holds they are reported `missing`, and the outcome is TIMED_OUT (it never appeared
    in time, as a run that never appears is a timeout too: `RunNotFoundError`), or, with
    `missing_ok`, whatever the checks that did appear say;
  - with a regex or every check, the set is open-ended: the wait ends only once every matching
    check has completed *and* no check on the commit has appeared or completed for the grace
    period, so a job that starts when the one it needs finishes is still waited for. A regex
    that matches nothing is reported missing like a name.

The engine never prints: it reports through `on_progress`. Time comes from `api.clock`, and the
wait returns by `options.timeout`: no sleep runs past it and every request carries it as deadline.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wait_and_dispatch.engine.model import (
    ApiCost,
    CheckRun,
    CheckSelection,
    ChecksResult,
    Outcome,
    ProgressCallback,
    ProgressEvent,
    ProgressKind,
    Repository,
    WaitOptions,
    format_seconds,
    ignore_progress,
)
from wait_and_dispatch.engine.polling import PollSchedule
from wait_and_dispatch.errors import DeadlineExceededError, UsageError
from wait_and_dispatch.github_api import GitHubApi

# How many checks one progress line names before it says "and N more".
_SHOWN_IN_PROGRESS = 5


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


def latest_per_name(check_runs: Iterable[CheckRun]) -> dict[str, CheckRun]:
    """The newest check run of each name: the one with the highest id.

    `filter=latest` leaves one run per name and *suite*, so a name can come back twice (lewagon
    PR #156). GitHub numbers check runs from one increasing sequence as they are created, so the
    run a re-run or a later event created always has the higher id. lewagon picks the latest
    `started_at` instead; we do not: `started_at` is set by the app that creates the check (the
    "Create a check run" body takes it), may be null, and has one-second precision, so two runs
    started within a second tie, while ids never do.
    """
    latest: dict[str, CheckRun] = {}
    for check in check_runs:
        current = latest.get(check.name)
        if current is None or check.id > current.id:
            latest[check.name] = check
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

    def missing(self, present: Iterable[str]) -> tuple[str, ...]:
        """Named checks not there yet, and the regex when no check matches it."""
        seen = set(present)
        missing = [name for name in self.names if name not in seen]
        if self.pattern is not None and not any(self.pattern.search(name) for name in seen):
            missing.append(f"any check matching /{self.pattern.pattern}/")
        return tuple(missing)


@dataclass
class _ChecksWait:
    api: GitHubApi
    repo: Repository
    sha: str
    selection: CheckSelection
    options: WaitOptions
    matcher: CheckMatcher
    on_progress: ProgressCallback
    # The newest run per name of every check that is not ignored, as of the last poll.
    seen: dict[str, CheckRun] = field(init=False, default_factory=dict)
    polled: bool = field(init=False, default=False)  # True once GitHub has answered a poll

    def __post_init__(self) -> None:
        self.clock = self.api.clock
        self.start = self.clock.now()
        self.deadline = self.start + self.options.timeout
        self.grace = max(0.0, self.selection.discovery_timeout)
        # When a check last appeared or completed: the grace period for new checks runs from here.
        self.last_change = self.start
        self.stats_before = self.api.stats.snapshot()
        self.schedule = PollSchedule(first=self.options.poll_interval, maximum=self.options.max_poll_interval)
        self.subject = f"checks on {self.sha[:7]}"
        self.path = f"{self.repo.api_path}/commits/{urllib.parse.quote(self.sha, safe='/')}/check-runs"

    def run(self) -> ChecksResult:
        while True:
            try:
                polled = self._poll()
            except DeadlineExceededError:
                # GitHub kept failing (or rate-limiting) until the deadline. Once we have seen the
                # checks, the snapshot says what was still running; before that, GitHub's failure
                # is the whole story and the error says it.
                if not self.polled:
                    raise
                return self._result(Outcome.TIMED_OUT)
            self.polled = True
            now = self.clock.now()
            self._observe(polled, now)
            outcome = self._decide(now)
            if outcome is not None:
                return self._result(outcome)
            if now >= self.deadline:
                return self._result(Outcome.TIMED_OUT)
            wake = min(now + self.schedule.next_interval(now), self.deadline)
            if self._waiting_for_discovery() and now < self._discovery_ends() < wake:
                # Wake when the grace period ends, rather than up to a whole interval after it.
                wake = self._discovery_ends()
            self._report_waiting(now, wake - now)
            self.clock.sleep(wake - now)

    # -- polling -------------------------------------------------------------------------------

    def _poll(self) -> dict[str, CheckRun]:
        items = self.api.paginate(
            self.path,
            {"filter": "latest", "per_page": 100},
            items_key="check_runs",
            deadline=self.deadline,
            conditional=True,
        )
        latest = latest_per_name(CheckRun.from_api(item) for item in items)
        return {name: check for name, check in latest.items() if self.matcher.considers(name)}

    def _observe(self, polled: dict[str, CheckRun], now: float) -> None:
        """Note what moved since the last poll, tell the caller about the checks it waits for."""
        moved = False
        for name in sorted(polled):
            check = polled[name]
            before = self.seen.get(name)
            appeared = before is None or before.id != check.id
            if not appeared and before is not None and before.status == check.status:
                continue
            moved = True
            if appeared or check.completed:
                self.last_change = now
            if self.matcher.matches(name):
                self._report_check(check, before)
        self.seen = polled
        if moved:
            self.schedule.changed()

    # -- deciding ------------------------------------------------------------------------------

    def _matched(self) -> list[CheckRun]:
        return [self.seen[name] for name in sorted(self.seen) if self.matcher.matches(name)]

    def _not_allowed(self) -> list[CheckRun]:
        allowed = self.selection.allowed_conclusions
        return [c for c in self._matched() if c.completed and c.conclusion not in allowed]

    def _discovery_ends(self) -> float:
        return self.last_change + self.grace

    def _waiting_for_discovery(self) -> bool:
        return self.matcher.open_ended or bool(self.matcher.missing(self.seen))

    def _decide(self, now: float) -> Outcome | None:
        """The outcome if the wait is over at `now`, else None."""
        not_allowed = self._not_allowed()
        if not_allowed and self.selection.fail_fast:
            return Outcome.CONCLUSION_NOT_ALLOWED
        if any(not check.completed for check in self._matched()):
            return None
        quiet = now >= self._discovery_ends()
        missing = self.matcher.missing(self.seen)
        if not missing:
            if self.matcher.open_ended and not quiet:
                return None  # every match has completed, but more checks may still appear
            return Outcome.CONCLUSION_NOT_ALLOWED if not_allowed else Outcome.SUCCESS
        # A missing check may sit behind `needs:` on any check still running (lewagon PR #53).
        if not quiet or any(not check.completed for check in self.seen.values()):
            return None
        self._emit(
            ProgressKind.CHECK,
            f"{', '.join(missing)} never appeared on {self.sha[:7]} "
            f"(no check appeared or completed for {format_seconds(self.grace)})",
        )
        if not_allowed:
            return Outcome.CONCLUSION_NOT_ALLOWED
        return Outcome.SUCCESS if self.selection.missing_ok else Outcome.TIMED_OUT

    def _result(self, outcome: Outcome) -> ChecksResult:
        return ChecksResult(
            sha=self.sha,
            checks=tuple(self._matched()),
            outcome=outcome,
            waited=self.clock.now() - self.start,
            cost=ApiCost.between(self.stats_before, self.api.stats.snapshot()),
            missing=self.matcher.missing(self.seen)
            if outcome is not Outcome.SUCCESS or self.selection.missing_ok
            else (),
            allowed_conclusions=self.selection.allowed_conclusions,
        )

    # -- progress ------------------------------------------------------------------------------

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

    def _report_waiting(self, now: float, next_poll_in: float) -> None:
        parts = [f"{c.name} ({c.status})" for c in self._matched() if not c.completed]
        parts += [f"{name} (not reported yet)" for name in self.matcher.missing(self.seen)]
        if parts:
            shown = parts[:_SHOWN_IN_PROGRESS]
            if len(parts) > len(shown):
                shown.append(f"and {len(parts) - len(shown)} more")
            waiting = f"waiting for {_plural(len(parts), 'check')}: {', '.join(shown)}"
        else:
            left = format_seconds(max(0.0, self._discovery_ends() - now))
            waiting = (
                f"{_plural(len(self._matched()), 'check')} completed; "
                f"watching {left} more for checks that start late"
            )
        self._emit(
            ProgressKind.POLL,
            f"{waiting}; next poll in {format_seconds(next_poll_in)}",
            elapsed=now - self.start,
            next_poll_in=next_poll_in,
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
            )
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


__all__ = ["CheckMatcher", "latest_per_name", "wait_for_checks"]
