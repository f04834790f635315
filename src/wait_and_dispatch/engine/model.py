"""What the engine takes and gives: typed requests, frozen snapshots of GitHub objects, results.

Everything here is plain data. GitHub's JSON is read in one place per object (`from_api`), so the
rest of the engine works with attributes and never with dictionary keys.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from wait_and_dispatch.engine.failures import FailureDigest
from wait_and_dispatch.github_api import ApiStats
from wait_and_dispatch.support.errors import (
    ConclusionNotAllowedError,
    MalformedAnswerError,
    UsageError,
    WaitAndDispatchError,
    WaitTimeoutError,
)
from wait_and_dispatch.support.github_vocabulary import RUN_CONCLUSIONS

DEFAULT_RUN_CONCLUSIONS = frozenset({"success"})
DEFAULT_CHECK_CONCLUSIONS = frozenset({"success", "skipped"})
# The slug of the GitHub Actions app, owner of every workflow run's check suite (on GHES too,
# where its id differs: 15368 on github.com).
ACTIONS_APP_SLUG = "github-actions"


Answer = TypeVar("Answer")
# What reading a field of an answer raises when GitHub's API description is not kept: a missing
# key, `null` or text where a number belongs, an object where a list belongs.
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def parse_answer(what: str, data: Any, read: Callable[[Mapping[str, Any]], Answer]) -> Answer:
    """Read one object of GitHub's answer with `read`; an answer that is not the object its API
    describes becomes a `MalformedAnswerError` here, at the boundary, never a traceback later."""
    if not isinstance(data, Mapping):
        raise MalformedAnswerError(
            f"GitHub's answer is not {what}: {type(data).__name__} where an object belongs"
        )
    try:
        return read(data)
    except _SHAPE_ERRORS as exc:
        problem = f"no {exc.args[0]!r} field" if isinstance(exc, KeyError) and exc.args else str(exc)
        shown = data.get("id")
        which = f" {shown}" if isinstance(shown, int) and not isinstance(shown, bool) else ""
        raise MalformedAnswerError(
            f"GitHub's answer is not {what} as its API describes it{which}: {problem[:120]}"
        ) from None


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    """A text field that may be absent or `null`; anything else is a shape error (see parse_answer)."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key!r} is {type(value).__name__}, not text")
    return value


def optional_int(data: Mapping[str, Any], key: str) -> int | None:
    """An integer field that may be absent or `null` (booleans are not integers here)."""
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{key!r} is {type(value).__name__}, not an integer")
    return value


def answer_field(data: Any, key: str, what: str) -> Any:
    """`data[key]` of an answer that must have it (`default_branch` of a repository...)."""
    return parse_answer(what, data, lambda mapping: mapping[key])


def parse_time(text: str | None) -> float | None:
    """GitHub's ISO 8601 timestamps (`2026-01-01T00:00:00Z`) as epoch seconds."""
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse_conclusions(text: str | None, *, default: frozenset[str]) -> frozenset[str]:
    """`success, skipped` (commas or new lines) or `any`, checked against GitHub's conclusions."""
    if text is None or not text.strip():
        return default
    words = {word.strip().lower() for word in text.replace("\n", ",").split(",") if word.strip()}
    if "any" in words:
        return frozenset(RUN_CONCLUSIONS)
    unknown = sorted(words - set(RUN_CONCLUSIONS))
    if unknown:
        raise UsageError(
            f"unknown conclusion {', '.join(map(repr, unknown))} in allowed conclusions",
            hint=f"use any of {', '.join(RUN_CONCLUSIONS)}, or `any`",
        )
    return frozenset(words)


# -- progress ------------------------------------------------------------------------------------


class ProgressKind(StrEnum):
    RESOLVED = "resolved"  # the workflow or run was identified
    FOUND = "found"  # an existing run was reused
    DISPATCHED = "dispatched"  # we started a run and know its id
    CORRELATING = "correlating"  # looking for the run a dispatch started
    STATUS = "status"  # a run or check changed status
    POLL = "poll"  # still waiting: elapsed and the next poll
    CHECK = "check"  # a check run was found or completed
    ARTIFACT = "artifact"  # an artifact was downloaded (or is being)
    CANCELLED = "cancelled"  # we cancelled a run
    RETRY = "retry"  # the API layer is waiting out an error or a rate limit
    SLOWED = "slowed"  # the poll governor slowed down (or sped up again), and why
    NOTICE = "notice"  # the API layer learnt something worth a line under --debug (once)
    JOBS = "jobs"  # the jobs of the run waited for changed: `jobs` holds each one's state
    DOWNLOAD = "download"  # bytes of an artifact arrived: `done_bytes` of `total_bytes`


@dataclass(frozen=True)
class JobProgress:
    """One job of a run being waited for, as a live view shows it (text from GitHub: untrusted)."""

    name: str
    status: str  # queued | in_progress | completed (GitHub's job statuses, waiting and pending too)
    conclusion: str | None = None
    current_step: str | None = None  # the step in progress, or the last one that ran
    html_url: str = ""


@dataclass(frozen=True)
class ProgressEvent:
    """One thing worth telling a person, as one line (`message`) plus fields for richer displays."""

    kind: ProgressKind
    message: str
    subject: str = ""  # what it is about: "run 9000000001", "checks on 4f2c1a9"
    status: str | None = None
    elapsed: float | None = None  # seconds since the wait began
    next_poll_in: float | None = None  # seconds until the next request
    url: str | None = None
    run_id: int | None = None  # with DISPATCHED: the run we started (the edges cancel it on cancel)
    repository: str | None = None  # with DISPATCHED: owner/name the run is in (a plan's nodes differ)
    slowed: str | None = None  # with POLL and SLOWED: why polls are further apart than the cadence
    jobs: tuple[JobProgress, ...] = ()  # with JOBS: every job of the run that has started, oldest first
    done_bytes: int | None = None  # with DOWNLOAD: bytes of the artifact received so far
    total_bytes: int | None = None  # with DOWNLOAD: the artifact's size, when GitHub said it


ProgressCallback = Callable[[ProgressEvent], None]

# GitHub's naming rules (the sign-up and "Create a new repository" forms): an account name is
# letters, digits and single hyphens, not at either end, at most 39 characters; Enterprise
# Managed Users' names add `_shortcode`, so one underscore between letters is also an account
# name. A repository name is letters, digits, `.`, `-` and `_`, at most 100 characters, and
# not `.` or `..`.
MAX_OWNER_LENGTH = 39
MAX_REPOSITORY_NAME_LENGTH = 100
_OWNER = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
_REPOSITORY_NAME = re.compile(r"[A-Za-z0-9._-]+")


def ignore_progress(event: ProgressEvent) -> None:
    """The default progress callback: the engine never prints."""


# -- GitHub objects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repository:
    owner: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Repository:
        """`owner/name` by GitHub's naming rules, or a `UsageError` saying which rule it breaks.

        The name goes into URL paths unquoted, so anything else (`name?x=1`, `name#`, `..`) would
        address another resource: `download` would poll the repository's own JSON as a run.
        """
        owner, slash, name = text.strip().partition("/")
        if not slash or not owner or not name or "/" in name:
            raise UsageError(
                f"repository {text!r} is not of the form owner/name",
                hint="give the repository as owner/name, e.g. octo/app",
            )
        if len(owner) > MAX_OWNER_LENGTH or not _OWNER.fullmatch(owner):
            raise UsageError(
                f"repository {text!r}: {owner!r} is not a GitHub account name",
                hint=(
                    f"an owner is at most {MAX_OWNER_LENGTH} letters, digits and single hyphens, "
                    "not starting or ending with a hyphen, e.g. octo/app"
                ),
            )
        valid_name = _REPOSITORY_NAME.fullmatch(name) and name not in (".", "..")
        if len(name) > MAX_REPOSITORY_NAME_LENGTH or not valid_name:
            raise UsageError(
                f"repository {text!r}: {name!r} is not a GitHub repository name",
                hint=(
                    f"a repository name is at most {MAX_REPOSITORY_NAME_LENGTH} letters, digits, "
                    "'.', '-' and '_' (not . or ..), e.g. octo/app"
                ),
            )
        return cls(owner, name)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def api_path(self) -> str:
        return f"/repos/{self.owner}/{self.name}"

    def __str__(self) -> str:
        return self.full_name


@dataclass(frozen=True)
class Workflow:
    """A workflow. `id` is None when it was named by file and never looked up: GitHub's workflow
    endpoints take the file name in place of the id (OpenAPI `actions/get-workflow`)."""

    id: int | None
    name: str
    path: str
    state: str
    html_url: str = ""

    @property
    def api_id(self) -> str:
        """What goes in `/actions/workflows/{workflow_id}`: the id, else the file name."""
        return str(self.id) if self.id is not None else urllib.parse.quote(self.file_name, safe="")

    @classmethod
    def from_api(cls, data: Any) -> Workflow:
        """A workflow from GitHub's answer; a malformed one is a `MalformedAnswerError`."""
        return parse_answer("a workflow", data, cls._read)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> Workflow:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            path=str(data.get("path") or ""),
            state=str(data.get("state") or "active"),
            html_url=str(data.get("html_url") or ""),
        )

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def describe(self) -> str:
        return f"{self.name} ({self.path})" if self.name and self.name != self.path else self.path


@dataclass(frozen=True)
class WorkflowRun:
    """A snapshot of one workflow run (its latest attempt unless fetched by attempt)."""

    id: int
    name: str
    display_title: str
    run_number: int
    run_attempt: int
    status: str
    conclusion: str | None
    event: str
    head_sha: str
    head_branch: str | None
    html_url: str
    workflow_id: int
    created_at: float | None
    updated_at: float | None
    run_started_at: float | None
    actor: str | None
    repository: str
    head_repository: str | None
    check_suite_id: int | None = None  # GitHub Actions' check suite of this attempt: its jobs' check runs

    @classmethod
    def from_api(cls, data: Any) -> WorkflowRun:
        """A workflow run from GitHub's answer; a malformed one is a `MalformedAnswerError`."""
        return parse_answer("a workflow run", data, cls._read)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> WorkflowRun:
        head_repository = data.get("head_repository") or {}
        repository = data.get("repository") or {}
        actor = data.get("actor") or {}
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            display_title=str(data.get("display_title") or ""),
            run_number=int(data.get("run_number") or 0),
            run_attempt=int(data.get("run_attempt") or 1),
            status=str(data.get("status") or "queued"),
            conclusion=optional_text(data, "conclusion"),
            event=str(data.get("event") or ""),
            head_sha=str(data.get("head_sha") or ""),
            head_branch=optional_text(data, "head_branch"),
            html_url=str(data.get("html_url") or ""),
            workflow_id=int(data.get("workflow_id") or 0),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            run_started_at=parse_time(data.get("run_started_at")),
            actor=optional_text(actor, "login"),
            repository=str(repository.get("full_name") or ""),
            head_repository=optional_text(head_repository, "full_name"),
            check_suite_id=optional_int(data, "check_suite_id"),
        )

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def from_fork(self) -> bool:
        return bool(self.head_repository and self.repository and self.head_repository != self.repository)

    @property
    def duration(self) -> float | None:
        """Seconds from the start of this attempt to its completion (None while it runs)."""
        if not self.completed or self.run_started_at is None or self.updated_at is None:
            return None
        return max(0.0, self.updated_at - self.run_started_at)

    def describe(self) -> str:
        title = self.display_title or self.name
        attempt = f", attempt {self.run_attempt}" if self.run_attempt > 1 else ""
        return f"run {self.id} #{self.run_number} '{title}'{attempt}"


@dataclass(frozen=True)
class CheckRun:
    id: int
    name: str
    status: str
    conclusion: str | None
    head_sha: str
    html_url: str
    app: str
    check_suite_id: int | None
    started_at: float | None
    completed_at: float | None

    @classmethod
    def from_api(cls, data: Any) -> CheckRun:
        """A check run from GitHub's answer; a malformed one is a `MalformedAnswerError`."""
        return parse_answer("a check run", data, cls._read)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> CheckRun:
        app = data.get("app") or {}
        suite = data.get("check_suite") or {}
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            status=str(data.get("status") or "queued"),
            conclusion=optional_text(data, "conclusion"),
            head_sha=str(data.get("head_sha") or ""),
            html_url=str(data.get("html_url") or data.get("details_url") or ""),
            app=str(app.get("slug") or ""),
            check_suite_id=optional_int(suite, "id"),
            started_at=parse_time(data.get("started_at")),
            completed_at=parse_time(data.get("completed_at")),
        )

    @property
    def completed(self) -> bool:
        return self.status == "completed"


@dataclass(frozen=True)
class CheckSuite:
    """One app's check suite on a commit: a workflow run's, or another app's (OpenAPI `check-suite`)."""

    id: int
    app: str
    status: str  # queued, in_progress, completed (GHES may also say requested, waiting, pending)
    latest_check_runs_count: int

    @classmethod
    def from_api(cls, data: Any) -> CheckSuite:
        """A check suite from GitHub's answer; a malformed one is a `MalformedAnswerError`."""
        return parse_answer("a check suite", data, cls._read)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> CheckSuite:
        app = data.get("app") or {}
        return cls(
            id=int(data["id"]),
            app=str(app.get("slug") or ""),
            status=str(data.get("status") or "queued"),
            latest_check_runs_count=int(data.get("latest_check_runs_count") or 0),
        )

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def from_actions(self) -> bool:
        """GitHub Actions' suite: one per workflow run, complete once the run's last job is."""
        return self.app == ACTIONS_APP_SLUG


@dataclass(frozen=True)
class Artifact:
    id: int
    name: str
    size: int
    digest: str | None  # "sha256:<hex>" from upload-artifact v4+, else None
    expired: bool
    archive_download_url: str
    run_id: int | None
    repository_id: int | None
    head_repository_id: int | None
    head_sha: str | None
    head_branch: str | None

    @classmethod
    def from_api(cls, data: Any) -> Artifact:
        """An artifact from GitHub's answer; a malformed one is a `MalformedAnswerError`."""
        return parse_answer("an artifact", data, cls._read)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> Artifact:
        run = data.get("workflow_run") or {}
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            size=int(data.get("size_in_bytes") or 0),
            digest=optional_text(data, "digest") or None,
            expired=bool(data.get("expired")),
            archive_download_url=str(data.get("archive_download_url") or ""),
            run_id=optional_int(run, "id"),
            repository_id=optional_int(run, "repository_id"),
            head_repository_id=optional_int(run, "head_repository_id"),
            head_sha=optional_text(run, "head_sha"),
            head_branch=optional_text(run, "head_branch"),
        )

    @property
    def from_fork(self) -> bool:
        return (
            self.repository_id is not None
            and self.head_repository_id is not None
            and self.repository_id != self.head_repository_id
        )


# -- requests ------------------------------------------------------------------------------------


class DispatchPolicy(StrEnum):
    IF_MISSING = "if-missing"  # reuse the run for this SHA and request if there is one, else dispatch
    ALWAYS = "always"  # dispatch a new run every time
    NEVER = "never"  # only find: wait for something else to start the run

    @classmethod
    def parse(cls, text: str) -> DispatchPolicy:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise UsageError(
                f"dispatch must be one of {', '.join(p.value for p in cls)}, not {text!r}",
                hint="if-missing reuses a run for the SHA, always starts a new one, never only waits",
            ) from None


DEFAULT_CORRELATION_INPUT = "distinct_id"  # the name return-dispatch and dispatch-workflow use


@dataclass(frozen=True)
class RunRequest:
    """Which run to find or start.

    `workflow` is required for workflow_dispatch; for repository_dispatch (`event_type` set) it
    narrows the search to that workflow's runs. `ref` is the branch or tag to dispatch on (default:
    the repository's default branch); `sha` is the head SHA to find runs for (default: the ref's).
    """

    repository: Repository
    workflow: str | None = None
    ref: str | None = None
    sha: str | None = None
    event: str | None = None  # only find runs of this event
    dispatch: DispatchPolicy = DispatchPolicy.IF_MISSING
    inputs: Mapping[str, str] = field(default_factory=dict)
    event_type: str | None = None  # set: repository_dispatch instead of workflow_dispatch
    client_payload: Mapping[str, Any] = field(default_factory=dict)
    correlation_input: str | None = DEFAULT_CORRELATION_INPUT  # None: never send one
    discovery_timeout: float = 300.0  # how long a run may take to appear
    actor: str | None = None  # who dispatches, when known: narrows the new-run fallback

    @property
    def is_repository_dispatch(self) -> bool:
        return self.event_type is not None


@dataclass(frozen=True)
class WaitOptions:
    timeout: float = 1800.0
    poll_interval: float = 1.0  # the poll cadence: each gap is 1 to 2 times this (github_api/polling.py)
    max_poll_interval: float = 60.0  # how far polls slow down for the request budget on their own
    allowed_conclusions: frozenset[str] = DEFAULT_RUN_CONCLUSIONS
    cancel_on_timeout: bool = False
    # End the wait at the first job that fails, not when the run completes (engine/job_watch.py).
    fail_on_failed_job: bool = False
    # When the wait ended at a failed job: cancel the rest of the run.
    cancel_on_failure: bool = False
    # Read each job's steps while waiting, for a live view (JOBS events with the current step):
    # the jobs list, which changes at every step, so it costs a counted request per step.
    job_steps: bool = False

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise UsageError(f"timeout must be positive, not {self.timeout:g}s", hint="e.g. 30m, 90s, 1h30m")
        if self.poll_interval <= 0 or self.max_poll_interval < self.poll_interval:
            raise UsageError(
                f"poll intervals must satisfy 0 < poll-interval <= max-poll-interval "
                f"(got {self.poll_interval:g}s and {self.max_poll_interval:g}s)",
                hint="e.g. poll-interval 5s and max-poll-interval 60s",
            )


@dataclass(frozen=True)
class CallerJob:
    """The job that waits, when it runs in a workflow: never waited for by its own checks wait.

    The action knows it from the runner (`GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT`, `GITHUB_JOB`, and
    the `job.check_run_id` context, github.com since 2025-09: docs "Contexts"); the command line
    from `--ignore-run` and `--ignore-check-run`. Its run cannot complete before the wait ends, and
    its own check is the one still running while it waits.
    """

    run_id: int | None = None
    run_attempt: int | None = None
    job_id: str | None = None  # the job's key under `jobs:` in its workflow file (GITHUB_JOB)
    check_run_id: int | None = None


@dataclass(frozen=True)
class CheckSelection:
    """Which check runs on a SHA to wait for; no names and no regex means every check."""

    names: tuple[str, ...] = ()
    regex: str | None = None
    ignore: tuple[str, ...] = ()
    discovery_timeout: float = 60.0  # how long a named check may take to appear
    allowed_conclusions: frozenset[str] = DEFAULT_CHECK_CONCLUSIONS
    fail_fast: bool = True  # end at the first conclusion not allowed; False waits for every check
    # A named check (or the regex) that never appears within the discovery grace period is not a
    # failure: the outcome comes from the checks that did appear (fail-on-no-checks: false in
    # lewagon/wait-on-check-action). The result still lists it in `missing`.
    missing_ok: bool = False
    caller: CallerJob = CallerJob()  # the job that waits: its run and check are never waited for


@dataclass(frozen=True)
class ArtifactSelection:
    """Which artifacts to download and where, laid out as actions/download-artifact does."""

    patterns: tuple[str, ...] = ()  # exact names or globs; empty: every artifact
    path: Path = Path(".")
    merge_multiple: bool = False
    allow_forks: bool = False
    # Unpacked size allowed per byte of zip, before the archive is refused as a zip bomb.
    max_expansion_ratio: float = 200.0
    # Take the artifacts from the latest successful run of the workflow on this branch instead
    # of the run just found or waited for (e.g. the last good build of main).
    from_branch: str | None = None
    # Keep zipped artifacts as they are, one `.zip` file each (download-artifact's `skip-decompress`).
    skip_decompress: bool = False


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCost:
    requests: int
    not_modified: int
    rate_limit_units: int
    retries: int
    rate_limit_remaining: int | None

    @classmethod
    def between(cls, before: ApiStats, after: ApiStats) -> ApiCost:
        return cls(
            requests=after.requests - before.requests,
            not_modified=after.not_modified - before.not_modified,
            rate_limit_units=after.units_spent - before.units_spent,
            retries=after.retries - before.retries,
            rate_limit_remaining=after.rate_limit_remaining,
        )

    def describe(self) -> str:
        left = f"; {self.rate_limit_remaining} left" if self.rate_limit_remaining is not None else ""
        return (
            f"{self.requests} requests, {self.not_modified} answered 304 (free), "
            f"{self.rate_limit_units} rate-limit units{left}"
        )


class Outcome(StrEnum):
    SUCCESS = "success"  # completed with an allowed conclusion (or not waited for)
    CONCLUSION_NOT_ALLOWED = "conclusion-not-allowed"
    TIMED_OUT = "timed-out"
    JOB_FAILED = "job-failed"  # a job failed while the run went on (fail-on-failed-job)

    @property
    def failed(self) -> bool:
        """The run failed (a conclusion not allowed, or a failed job): what a failure digest is for."""
        return self in (Outcome.CONCLUSION_NOT_ALLOWED, Outcome.JOB_FAILED)


@dataclass(frozen=True)
class DispatchedRun:
    """The run found or started for a request, and how we know it is the right one."""

    run: WorkflowRun
    dispatched: bool
    how: str  # "existing run" | "return_run_details" | "correlation id" | "new run on the ref"
    correlation_id: str | None = None


class ArtifactKind(StrEnum):
    """How a downloaded artifact was kept: unpacked from its zip, or saved as one file (an
    `archive: false` artifact, or a zip kept whole with `skip-decompress`)."""

    ZIP = "zip"
    FILE = "file"


@dataclass(frozen=True)
class DownloadedArtifact:
    name: str
    id: int
    size: int
    digest: str | None
    path: Path  # the folder it was unpacked or saved in
    verified: bool  # the sha256 of the download matched the artifact's digest
    kind: ArtifactKind = ArtifactKind.ZIP
    file: Path | None = None  # the file it was saved as, when kept as one file (kind `file`)

    def as_output(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "size": self.size,
            "digest": self.digest,
            "path": str(self.path),
            "kind": self.kind.value,
            "file": str(self.file) if self.file is not None else None,
        }


@dataclass(frozen=True)
class ChecksResult:
    sha: str
    checks: tuple[CheckRun, ...]
    outcome: Outcome
    waited: float
    cost: ApiCost
    missing: tuple[str, ...] = ()  # named checks (or a regex) that never appeared
    allowed_conclusions: frozenset[str] = DEFAULT_CHECK_CONCLUSIONS
    failure: FailureDigest | None = None  # what the failed checks looked like inside (failures.py)

    @property
    def conclusions(self) -> dict[str, str | None]:
        """Each check's conclusion by name; a name that several apps report is `name [app]`."""
        shared = {c.name for c in self.checks if sum(o.name == c.name for o in self.checks) > 1}
        return {f"{c.name} [{c.app}]" if c.name in shared else c.name: c.conclusion for c in self.checks}

    @property
    def failed(self) -> tuple[CheckRun, ...]:
        return tuple(c for c in self.checks if c.completed and c.conclusion not in self.allowed_conclusions)

    def error(self) -> WaitAndDispatchError | None:
        where = f"on {self.sha[:7]}"
        never = f"never appeared {where}: {', '.join(self.missing)}" if self.missing else ""
        if self.outcome is Outcome.CONCLUSION_NOT_ALLOWED:
            bad = ", ".join(f"{c.name} ({c.conclusion})" for c in self.failed)
            allowed = ", ".join(sorted(self.allowed_conclusions))
            parts = [f"checks failed {where}: {bad} (allowed: {allowed})"] if bad else []
            parts += [never] if never else []
            link = f": {self.failed[0].html_url}" if self.failed and self.failed[0].html_url else ""
            return ConclusionNotAllowedError("; ".join(parts) + link)
        if self.outcome is Outcome.TIMED_OUT:
            pending = [f"{c.name} ({c.status})" for c in self.checks if not c.completed]
            if pending:
                message = (
                    f"checks {where} still running after {format_seconds(self.waited)}: {', '.join(pending)}"
                )
                return WaitTimeoutError(message + (f"; {never}" if never else ""))
            if not never:
                # Every check was asked for and none reported before the timeout.
                return WaitTimeoutError(
                    f"no check appeared {where} (waited {format_seconds(self.waited)})",
                    hint="the commit's workflows may not have started yet, or nothing reports checks on "
                    "it: check the SHA, give a timeout longer than checks-discovery-timeout, or name "
                    "the checks to wait for",
                )
            return WaitTimeoutError(
                f"{never} (waited {format_seconds(self.waited)})",
                hint="check names are exact and case-sensitive (use checks-regex for patterns); a job "
                "behind `needs:` or a skipped workflow may never report; raise the checks discovery timeout",
            )
        return None


@dataclass(frozen=True)
class RunResult:
    """Everything the outputs need about one run we found or started, waited for and took from."""

    run: WorkflowRun
    dispatched: bool
    outcome: Outcome
    waited: float
    cost: ApiCost
    allowed_conclusions: frozenset[str] = DEFAULT_RUN_CONCLUSIONS
    artifacts: tuple[DownloadedArtifact, ...] = ()
    download_path: Path | None = None
    cancelled: bool = False  # we cancelled the run (cancel-on-timeout, or cancel-on-failure)
    # The run succeeded but taking its artifacts failed: kept here, not raised, so that the
    # outputs about the run can still be written before the step fails.
    artifact_error: WaitAndDispatchError | None = None
    failure: FailureDigest | None = None  # what the failed run looked like inside (failures.py)
    failed_job: JobProgress | None = None  # with JOB_FAILED: the job whose failure ended the wait

    @property
    def duration(self) -> float | None:
        return self.run.duration

    def error(self) -> WaitAndDispatchError | None:
        """The typed error this outcome means for the caller, or None on success."""
        if self.artifact_error is not None:
            return self.artifact_error
        if self.outcome is Outcome.TIMED_OUT:
            cancelled = "; cancelled it" if self.cancelled else ""
            return WaitTimeoutError(
                f"{self.run.describe()} still {self.run.status} after {format_seconds(self.waited)}"
                f"{cancelled}: {self.run.html_url}"
            )
        if self.outcome is Outcome.CONCLUSION_NOT_ALLOWED:
            allowed = ", ".join(sorted(self.allowed_conclusions))
            return ConclusionNotAllowedError(
                f"{self.run.describe()} concluded {self.run.conclusion} (allowed: {allowed}): "
                f"{self.run.html_url}"
            )
        if self.outcome is Outcome.JOB_FAILED and self.failed_job is not None:
            job = self.failed_job
            rest = "cancelled the rest of the run" if self.cancelled else "the rest of the run goes on"
            return ConclusionNotAllowedError(
                f'{self.run.describe()}: job "{job.name}" concluded {job.conclusion} '
                f"({rest}): {job.html_url or self.run.html_url}"
            )
        return None


def format_seconds(seconds: float) -> str:
    """`95` -> `1m35s`, `3600` -> `1h0m0s`, `4.2` -> `4s`: compact, for one-line messages."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
