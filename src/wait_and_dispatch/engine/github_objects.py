"""Frozen snapshots of GitHub's objects: repositories, workflows, runs, checks, artifacts, git refs.

GitHub's JSON is read in one place per object (`from_api`, through `parse_answer`), so the rest of
the engine works with attributes and never with dictionary keys; an answer that is not the object
its API describes becomes a `MalformedAnswerError` here, at the boundary.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from wait_and_dispatch.support.errors import MalformedAnswerError, UsageError

# The slug of the GitHub Actions app, owner of every workflow run's check suite (on GHES too,
# where its id differs: 15368 on github.com).
ACTIONS_APP_SLUG = "github-actions"
_COMMIT_SHA = re.compile(r"[0-9a-f]{40}")


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


# GitHub's naming rules (the sign-up and "Create a new repository" forms): an account name is
# letters, digits and single hyphens, not at either end, at most 39 characters; Enterprise
# Managed Users' names add `_shortcode`, so one underscore between letters is also an account
# name. A repository name is letters, digits, `.`, `-` and `_`, at most 100 characters, and
# not `.` or `..`.
MAX_OWNER_LENGTH = 39
MAX_REPOSITORY_NAME_LENGTH = 100
_OWNER = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
_REPOSITORY_NAME = re.compile(r"[A-Za-z0-9._-]+")


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


@dataclass(frozen=True)
class GitRef:
    """A ref and the commit it names."""

    name: str  # `refs/heads/main`
    sha: str

    @classmethod
    def from_api(cls, data: Any) -> GitRef:
        def read(mapping: Mapping[str, Any]) -> GitRef:
            name, target = mapping["ref"], mapping["object"]
            if not isinstance(name, str) or not isinstance(target, Mapping):
                raise TypeError("'ref' or 'object' is not what the API describes")
            sha = target["sha"]
            if not isinstance(sha, str) or not _COMMIT_SHA.fullmatch(sha):
                raise TypeError("'object.sha' is not a commit SHA")
            return cls(name=name, sha=sha)

        return parse_answer("a git reference", data, read)
