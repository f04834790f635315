"""Progress: what the engine tells a person, as events handed to a callback (it never prints)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


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
    # with JOBS: the run's jobs, oldest first (those that have started; queued ones too when the
    # steps are read, `WaitOptions.job_steps`)
    jobs: tuple[JobProgress, ...] = ()
    done_bytes: int | None = None  # with DOWNLOAD: bytes of the artifact received so far
    total_bytes: int | None = None  # with DOWNLOAD: the artifact's size, when GitHub said it


ProgressCallback = Callable[[ProgressEvent], None]


def ignore_progress(event: ProgressEvent) -> None:
    """The default progress callback: the engine never prints."""


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
