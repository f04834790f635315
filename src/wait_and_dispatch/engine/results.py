"""What the engine gives back: frozen results of a find, a wait and a download, and their errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine.failures import FailureDigest
from wait_and_dispatch.engine.github_objects import CheckRun, WorkflowRun
from wait_and_dispatch.engine.progress import JobProgress, format_seconds
from wait_and_dispatch.engine.requests import DEFAULT_CHECK_CONCLUSIONS, DEFAULT_RUN_CONCLUSIONS
from wait_and_dispatch.github_api import ApiStats
from wait_and_dispatch.support.errors import (
    ConclusionNotAllowedError,
    WaitAndDispatchError,
    WaitTimeoutError,
)


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
            allowed = ", ".join(sorted(self.allowed_conclusions))
            first_url = self.failed[0].html_url if self.failed else ""
            digest = self.failure
            bad = ", ".join(f"{c.name} ({c.conclusion})" for c in self.failed)
            if digest is not None and digest.jobs:
                # Every failed check, then the first one's job, step and error, as a run's line says them.
                said = f"{bad}: " if bad else ""
                parts = [f"checks failed {where}: {said}{short(digest.jobs[0].headline())}"]
                parts += [never] if never else []
                return ConclusionNotAllowedError("; ".join(parts), hint=failure_hint(digest, "", allowed))
            parts = [f"checks failed {where}: {bad} (allowed: {allowed})"] if bad else []
            parts += [never] if never else []
            link = f": {first_url}" if first_url else ""
            return ConclusionNotAllowedError("; ".join(parts) + link, hint=failure_hint(digest, "", allowed))
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
            digest = self.failure
            if digest is not None and digest.jobs:
                # The failed job, its step and its first error: what a person would open the run for.
                conclusion = self.run.conclusion
                verb = "failed" if conclusion == "failure" else f"concluded {conclusion}"
                return ConclusionNotAllowedError(
                    f"{self.run.describe()} {verb}: {short(digest.headline())}",
                    hint=failure_hint(digest, self.run.html_url, allowed),
                )
            return ConclusionNotAllowedError(
                f"{self.run.describe()} concluded {self.run.conclusion} (allowed: {allowed}): "
                f"{self.run.html_url}",
                hint=failure_hint(digest, "", allowed),
            )
        if self.outcome is Outcome.JOB_FAILED and self.failed_job is not None:
            job = self.failed_job
            rest = "cancelled the rest of the run" if self.cancelled else "the rest of the run goes on"
            digest = self.failure
            if digest is not None and digest.jobs:
                # The digest names the job, its failed step and its first error, as for a failed run.
                allowed = ", ".join(sorted(self.allowed_conclusions))
                return ConclusionNotAllowedError(
                    f"{self.run.describe()} failed ({rest}): {short(digest.headline())}",
                    hint=failure_hint(digest, self.run.html_url, allowed),
                )
            return ConclusionNotAllowedError(
                f'{self.run.describe()}: job "{job.name}" concluded {job.conclusion} '
                f"({rest}): {job.html_url or self.run.html_url}"
            )
        return None


# An error line quotes the first line of a downstream annotation: whole, unless it runs on (the
# annotations and the job summary carry every message in full).
MAX_HEADLINE = 400


def short(text: str, limit: int = MAX_HEADLINE) -> str:
    """`text` cut to `limit` characters, with `…` where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure_hint(digest: FailureDigest | None, run_url: str, allowed: str) -> str | None:
    """The hint of a failed run's (or checks') error: the failed step to open, and the run, or why
    the failed jobs could not be read; None without a digest, which leaves the error's own hint."""
    widen = f"widen allowed-conclusions (now: {allowed}) if this outcome is acceptable"
    if digest is None:
        return None
    if digest.jobs:
        job = digest.jobs[0]
        what = "step" if job.failed_steps else "check" if job.app else "job"
        the_run = f" (the run: {run_url})" if run_url else ""
        opened = f"open the failed {what}: {job.step_url}{the_run}; " if job.step_url else ""
        return f"{opened}{widen}"
    if digest.unreadable:  # a whole clause: what could not be read, and why
        return f"open the run to see which job failed ({digest.unreadable}), or {widen}"
    return None
