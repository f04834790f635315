"""Which check runs count: the newest run of each check, and the names a selection waits for.

engine/check_wait.py says how GitHub lists checks and what the wait makes of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wait_and_dispatch.engine.github_objects import CheckRun
from wait_and_dispatch.engine.requests import CheckSelection
from wait_and_dispatch.engine.workflow_file import JobNames
from wait_and_dispatch.support.errors import UsageError

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
