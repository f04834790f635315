"""What the engine is asked: which run to find or start, how to wait, which checks and artifacts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.support.errors import UsageError
from wait_and_dispatch.support.github_vocabulary import RUN_CONCLUSIONS

DEFAULT_RUN_CONCLUSIONS = frozenset({"success"})
DEFAULT_CHECK_CONCLUSIONS = frozenset({"success", "skipped"})


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
    # the jobs list, which changes at every step, so it costs a counted request per step (and one
    # as the run completes, for the jobs' last state).
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
