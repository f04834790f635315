"""What a failed run or check looked like inside: the failure digest.

Plain data, like `results.py`. The engine gathers it (only when a run or an Actions check run ends
with a conclusion that is not allowed) and the edges show it: in the error line, in `--json`'s
`failure` object, in the job summary, and as annotations of the caller's step. Every text here
comes from GitHub (job, step and check names, annotation messages, log lines) and is untrusted:
whoever shows it escapes it for the channel it goes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# GitHub's `annotation_level` for an `::error` line (REST "Check runs": annotation object; the
# levels are notice, warning and failure).
ERROR_LEVEL = "failure"
# The job conclusions that fail a run by themselves (the run concludes `failure`): a job that
# failed, or one past its `timeout-minutes`. Not `cancelled`: something else stopped that job.
FAILED_JOB_CONCLUSIONS = frozenset({"failure", "timed_out"})
# How many failed jobs are read in full (steps, annotations, log tail); the rest are listed.
MAX_JOBS_READ = 5
# How many lines of a failed job's log are kept, at most.
MAX_LOG_LINES = 100
# How many characters of one log line are kept: a minified bundle or a progress bar redrawn on one
# line would otherwise fill the tail, the summary and the outputs on its own.
MAX_LOG_LINE_CHARS = 1_000
# How many characters of one annotation message (or another app's `output.summary`) `--json` and
# the outputs keep; GitHub takes up to 64 KB per message (REST "Update a check run":
# `annotations[].message`). The job summary and the re-raised annotations show it whole.
MAX_MESSAGE_CHARS = 4_000
# How many characters of log tails and annotation messages one digest puts in `--json` and in the
# action's outputs, shared among the failed jobs read. GitHub keeps at most 1 MB of outputs per
# job, sized as UTF-16 (docs/github-behaviour.md, "The runner contract"), and the `result` output is
# one of several: the digest takes a tenth of it, whatever the logs hold.
OUTPUT_BUDGET = 100_000
# The same for all the failed nodes of a plan, whose digests are in its `nodes` output and again
# in its `result` output.
PLAN_OUTPUT_BUDGET = 150_000
# The least a failed job gets of a shared budget: its first error and the last lines of its log.
MIN_JOB_BUDGET = 2 * MAX_LOG_LINE_CHARS


def cut_text(text: str, limit: int) -> str:
    """`text` when it has at most `limit` characters, else its first `limit` and a marker saying
    how many more were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [... {len(text) - limit} more characters cut]"


def last_lines_within(text: str, budget: int) -> tuple[str, bool]:
    """The last whole lines of `text` that fit in `budget` characters, and whether any were left
    out (the end of a log is where it failed, so its start is what goes)."""
    if len(text) <= budget:
        return text, False
    lines = text.split("\n")  # only "\n": the text stays as it was, whatever else it holds
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        size += len(line) + 1
        if size > budget:
            break
        kept.append(line)
    return "\n".join(reversed(kept)), len(kept) < len(lines)


@dataclass(frozen=True)
class Annotation:
    """One annotation of a check run, as REST "List check run annotations" gives it."""

    path: str
    start_line: int | None
    end_line: int | None
    annotation_level: str  # notice | warning | failure
    title: str | None
    message: str

    @property
    def is_error(self) -> bool:
        return self.annotation_level == ERROR_LEVEL

    def said(self) -> str:
        """Where and the message's first line (`tests/test_api.py:42 AssertionError: ...`); empty
        for an annotation with neither a path nor a message."""
        message = self.message.strip()
        return f"{self.where()} {message.splitlines()[0] if message else ''}".strip()

    def where(self) -> str:
        """`tests/test_api.py:42`, `tests/test_api.py:42-44`, the path alone, or nothing without a
        path (a line of no file says nothing)."""
        if self.start_line is None or not self.path:
            return self.path
        if self.end_line is not None and self.end_line != self.start_line:
            return f"{self.path}:{self.start_line}-{self.end_line}"
        return f"{self.path}:{self.start_line}"

    def as_output(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "annotation_level": self.annotation_level,
            "title": self.title,
            "message": cut_text(self.message, MAX_MESSAGE_CHARS),
        }


@dataclass(frozen=True)
class FailedStep:
    number: int
    name: str

    def as_output(self) -> dict[str, Any]:
        return {"number": self.number, "name": self.name}


@dataclass(frozen=True)
class FailedJob:
    """A failed job of a run (an Actions check run is a job: a job's id is its check run's id),
    or a failed check run of another app, which has no steps or log but an output title and
    summary."""

    name: str
    id: int
    html_url: str
    conclusion: str | None
    failed_steps: tuple[FailedStep, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    log_tail: str = ""  # at most MAX_LOG_LINES lines, ending at the runner's last `##[error]` line
    read: bool = True  # False: listed only (beyond the first MAX_JOBS_READ failed jobs)
    # One line: what of this job could not be read, and why (`log: ...`, `annotations: ...`,
    # `job: ...`), for the edges to put after their own words.
    unreadable: str | None = None
    app: str | None = None  # set for a check run of another app than GitHub Actions
    output_title: str | None = None  # another app's check: its `output.title`
    output_summary: str | None = None  # another app's check: its `output.summary`

    @property
    def first_error(self) -> Annotation | None:
        """The first annotation, in the API's order, at GitHub's level for `::error`."""
        return next((a for a in self.annotations if a.is_error), None)

    @property
    def step_url(self) -> str:
        """A link to the first failed step on the job's page (`#step:N:1` opens that step)."""
        if self.failed_steps and self.html_url:
            return f"{self.html_url}#step:{self.failed_steps[0].number}:1"
        return self.html_url

    def headline(self) -> str:
        """`job "test (3.12)", step "Run pytest": tests/test_api.py:42 AssertionError: ...`:
        the job, its first failed step and the first error annotation that says something (a
        path or a message: a blank one is passed over), else another app's output title."""
        what = "check" if self.app else "job"
        parts = [f'{what} "{self.name}"']
        if self.failed_steps:
            parts[0] += f', step "{self.failed_steps[0].name}"'
        said = next((a.said() for a in self.annotations if a.is_error and a.said()), "")
        if said or self.output_title:
            parts.append(said or self.output_title or "")
        return ": ".join(parts)

    def as_output(self, budget: int = OUTPUT_BUDGET) -> dict[str, Any]:
        """The job for `--json` and the outputs, its texts within about `budget` characters: the
        annotations in order while they fit in half of it (the first error always), then as much of
        the end of the log as the rest holds. What was left out is counted."""
        budget = max(budget, MIN_JOB_BUDGET)
        summary = None if self.output_summary is None else cut_text(self.output_summary, MAX_MESSAGE_CHARS)
        used = len(summary or "") + len(self.output_title or "")
        annotations: list[dict[str, Any]] = []
        for annotation in self.annotations:
            shown = annotation.as_output()
            size = sum(len(shown[key] or "") for key in ("path", "title", "message"))
            if used + size <= budget // 2 or annotation is self.first_error:
                annotations.append(shown)
                used += size
        log_tail, cut = last_lines_within(self.log_tail, budget - used)
        data: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "html_url": self.html_url,
            "conclusion": self.conclusion,
            "failed_steps": [s.as_output() for s in self.failed_steps],
            "annotations": annotations,
            "annotations_omitted": len(self.annotations) - len(annotations),
            "log_tail": log_tail,
            "log_tail_truncated": cut,
            "read": self.read,
            "unreadable": self.unreadable,
        }
        if self.app is not None:
            data.update(app=self.app, output_title=self.output_title, output_summary=summary)
        return data


@dataclass(frozen=True)
class FailureDigest:
    """The failed jobs of one run (or the failed checks of one commit), the first MAX_JOBS_READ
    read in full. `unreadable` says in one line when the digest could not be read at all, as a
    whole clause (`the run's jobs could not be read: ...`) the edges show as it is: a digest never
    hides the failure it describes, nor turns it into a hang."""

    jobs: tuple[FailedJob, ...] = ()
    unreadable: str | None = None

    def headline(self) -> str:
        """The first failed job's headline, or why there is none; empty when nothing is known."""
        if self.jobs:
            more = len(self.jobs) - 1
            return self.jobs[0].headline() + (f" (and {more} more failed)" if more > 0 else "")
        return f"no digest: {self.unreadable}" if self.unreadable else ""

    def as_output(self, budget: int = OUTPUT_BUDGET) -> dict[str, Any]:
        """The digest for `--json` and the outputs, its texts within about `budget` characters,
        shared evenly among the jobs read in full (a job only listed has none)."""
        share = budget // max(1, sum(1 for job in self.jobs if job.read))
        return {"jobs": [j.as_output(share) for j in self.jobs], "unreadable": self.unreadable}
