"""Failure digests built by hand (the shape `engine/failures.py` gives the edges), plain or hostile."""

from __future__ import annotations

from typing import Any

from tests.support.hostile import HOSTILE
from wait_and_dispatch.engine.failures import Annotation, FailedJob, FailedStep, FailureDigest

JOB_URL = "https://github.com/octo/app/actions/runs/9000000001/job/7001"
STEP_URL = f"{JOB_URL}#step:4:1"
LOG_TAIL = (
    "Run pytest\n"
    "tests/test_api.py::test_status FAILED\n"
    "E   AssertionError: expected 200, got 500\n"
    "##[error]Process completed with exit code 1."
)
# A digest's `unreadable` as the engine words it (tests/engine/test_failure_digest.py): a whole clause.
JOBS_UNREADABLE = "the run's jobs could not be read: the jobs answered 403"
# What someone who can push to the downstream repository can make a job print or annotate: the
# runner's commands, Markdown that would split a table cell, close the summary's folded block or
# its fence, and HTML.
HOSTILE_MARKDOWN = "a | b\n</details>\n```\n````\n<img src=x onerror=alert(1)>\n~~~\n*bold* [x](javascript:1)"
HOSTILE_TEXT = HOSTILE + "::set-output name=x::forged\n%0A" + HOSTILE_MARKDOWN


def annotation(message: str = "AssertionError: expected 200, got 500", **overrides: Any) -> Annotation:
    fields: dict[str, Any] = {
        "path": "tests/test_api.py",
        "start_line": 42,
        "end_line": 42,
        "annotation_level": "failure",
        "title": "test_status",
        "message": message,
        **overrides,
    }
    return Annotation(**fields)


def failed_job(**overrides: Any) -> FailedJob:
    """`test (3.12)` failed at step 4, `Run pytest`, with a warning then an error annotation."""
    fields: dict[str, Any] = {
        "name": "test (3.12)",
        "id": 7001,
        "html_url": JOB_URL,
        "conclusion": "failure",
        "failed_steps": (FailedStep(4, "Run pytest"),),
        "annotations": (
            annotation("Node.js 20 actions are deprecated", annotation_level="warning", path=".github"),
            annotation(),
        ),
        "log_tail": LOG_TAIL,
        **overrides,
    }
    return FailedJob(**fields)


def digest(*jobs: FailedJob, unreadable: str | None = None) -> FailureDigest:
    return FailureDigest(jobs=jobs if jobs or unreadable else (failed_job(),), unreadable=unreadable)


def hostile_job() -> FailedJob:
    """A failed job whose every text from GitHub is hostile."""
    return failed_job(
        name=f"test{HOSTILE_TEXT}",
        failed_steps=(FailedStep(4, f"Run{HOSTILE_TEXT}"),),
        annotations=(annotation(HOSTILE_TEXT, title=HOSTILE_TEXT, path=f"a|b{HOSTILE}.py"),),
        log_tail=HOSTILE_TEXT,
    )


def other_app_check(**overrides: Any) -> FailedJob:
    """A failed check run of another app than GitHub Actions: no steps, no log; a title and summary."""
    fields: dict[str, Any] = {
        "name": "Spell Checker",
        "id": 8001,
        "html_url": "https://github.com/octo/app/runs/8001",
        "conclusion": "failure",
        "annotations": (
            annotation("Check your spelling for 'banaas'.", path="README.md", start_line=2, end_line=2),
        ),
        "log_tail": "",
        "app": "spell-checker",
        "output_title": "2 misspelled words",
        "output_summary": "Found **2** words | see below",
        **overrides,
    }
    return FailedJob(**fields)
