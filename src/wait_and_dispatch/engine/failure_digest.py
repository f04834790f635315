"""Gather the failure digest (failures.py) of a failed run, or of the failed checks on a commit.

Only ever called once a run (or a check) has ended with a conclusion that is not allowed, or a
job of a run has failed while the run goes on (`fail-on-failed-job`: the failed job is completed,
so its steps, annotations and log are there), so a success costs nothing. What it reads (REST
"Workflow jobs", "Check runs"):

- the run attempt's jobs, `GET .../actions/runs/{run_id}/attempts/{n}/jobs` (at most two pages of
  100), each with its steps;
- for each failed job read in full (the first `MAX_JOBS_READ`; the rest are listed): its
  annotations, `GET .../check-runs/{job_id}/annotations` (a job's id is its check run's id; one
  page of 100, more than GitHub Actions keeps per job: docs/github-behaviour.md), and the end of
  its log, `GET .../actions/jobs/{job_id}/logs`, a 302 to storage read without the token
  (`GitHubApi.read_storage_text`), cut to the failed step's section, which the job's steps place
  (log_tail.py).

So a failed run costs at most 2 + 2 per job read counted requests. For checks: a failed check run
of GitHub Actions is a job (`GET .../actions/jobs/{id}`, then as above: 3 per check read); any
other app's failed check has no job or log, so its `output` (`GET .../check-runs/{id}`) and its
annotations are read (2 per check read).

"Failed jobs" of a run are those that concluded `failure` or `timed_out`: both ended the run's
success by themselves. A `cancelled` job is not one: it was stopped by something else (a
matrix's fail-fast after a sibling failed, a cancelled run, a newer run of a concurrency group),
and listing it would put noise before the job that failed. For checks, every failed check (a
conclusion the wait did not allow) is digested, since that is what the wait reports.

None of it may turn a failure into a hang or hide it: it runs under its own short deadline
(`DIGEST_SECONDS`, a scope of its own so that a wait's deadline, which may be all but spent,
does not starve it), retries nothing beyond what the API layer retries for any read within that
deadline, reads storage once, and any error becomes one line in `unreadable` (the job's, or the
digest's when nothing could be read) instead of an exception.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wait_and_dispatch.engine.failures import (
    FAILED_JOB_CONCLUSIONS,
    MAX_JOBS_READ,
    Annotation,
    FailedJob,
    FailedStep,
    FailureDigest,
)
from wait_and_dispatch.engine.github_objects import (
    ACTIONS_APP_SLUG,
    CheckRun,
    Repository,
    WorkflowRun,
    optional_int,
    optional_text,
    parse_answer,
)
from wait_and_dispatch.engine.log_tail import JobStep, failed_step_tail
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import WaitAndDispatchError

# The digest's own deadline: a few requests, each normally well under a second.
DIGEST_SECONDS = 20.0
# How much of the end of a job's log is fetched: far more than MAX_LOG_LINES lines need, so the
# failed step's group is usually in it; a log of many megabytes is never fetched whole.
LOG_TAIL_BYTES = 256 * 1024
_PAGE = 100
_JOB_PAGES = 2


def run_failure(api: GitHubApi, repo: Repository, run: WorkflowRun) -> FailureDigest:
    """The digest of a completed run whose conclusion is not allowed, or of a run still going
    whose wait ended at a failed job; never raises."""
    return _never_raising(lambda: _run_failure(api, repo, run))


def checks_failure(api: GitHubApi, repo: Repository, failed: Sequence[CheckRun]) -> FailureDigest:
    """The digest of the failed checks of a commit, in the order given; never raises."""
    return _never_raising(lambda: _checks_failure(api, repo, failed))


def _never_raising(gather: Callable[[], FailureDigest]) -> FailureDigest:
    try:
        return gather()
    # The failure the digest describes is what the caller must hear about: a bug in reading it
    # says so in one line rather than turning exit 1 into an internal error.
    except Exception as bug:  # noqa: BLE001
        said = f"{type(bug).__name__}: {(str(bug).splitlines() or [''])[0][:200]}"
        return FailureDigest(unreadable=f"the digest could not be gathered (a bug, please report it: {said})")


def _run_failure(api: GitHubApi, repo: Repository, run: WorkflowRun) -> FailureDigest:
    with api.deadline_scope(api.clock.now() + DIGEST_SECONDS, replace=True):
        try:
            path = f"{repo.api_path}/actions/runs/{run.id}/attempts/{run.run_attempt}/jobs"
            jobs = [
                _Job.from_api(item)
                for item in _first(
                    api.paginate(path, {"per_page": _PAGE}, items_key="jobs"), _PAGE * _JOB_PAGES
                )
            ]
        except WaitAndDispatchError as exc:
            return FailureDigest(unreadable=f"the run's jobs could not be read: {exc.message}")
        failed = [job for job in jobs if job.conclusion in FAILED_JOB_CONCLUSIONS]
        return FailureDigest(
            jobs=tuple(_job_digest(api, repo, job, read=i < MAX_JOBS_READ) for i, job in enumerate(failed))
        )


def _checks_failure(api: GitHubApi, repo: Repository, failed: Sequence[CheckRun]) -> FailureDigest:
    with api.deadline_scope(api.clock.now() + DIGEST_SECONDS, replace=True):
        return FailureDigest(
            jobs=tuple(
                _check_digest(api, repo, check, read=i < MAX_JOBS_READ) for i, check in enumerate(failed)
            )
        )


@dataclass(frozen=True)
class _Job:
    """A job of a run as REST "Get a job for a workflow run" gives it: what the digest needs."""

    id: int
    name: str
    html_url: str
    conclusion: str | None
    steps: tuple[JobStep, ...]  # all of them, in order: the log is cut by where the failed one ran

    @property
    def failed_steps(self) -> tuple[FailedStep, ...]:
        return tuple(
            FailedStep(step.number, step.name) for step in self.steps if step.conclusion == "failure"
        )

    @classmethod
    def from_api(cls, data: Any) -> _Job:
        return parse_answer("a workflow job", data, cls._read)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> _Job:
        steps = data.get("steps") or []
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            html_url=optional_text(data, "html_url") or "",
            conclusion=optional_text(data, "conclusion"),
            steps=tuple(
                JobStep(
                    int(step["number"]),
                    str(step.get("name") or ""),
                    str(step.get("status") or ""),
                    str(step["conclusion"]) if step.get("conclusion") is not None else None,
                )
                for step in steps
            ),
        )


def _job_digest(api: GitHubApi, repo: Repository, job: _Job, *, read: bool) -> FailedJob:
    listed = FailedJob(job.name, job.id, job.html_url, job.conclusion, failed_steps=job.failed_steps)
    if not read:
        return replace(listed, read=False)
    problems: list[str] = []
    annotations = _annotations(api, repo, job.id, problems)
    tail = ""
    try:
        text = api.read_storage_text(f"{repo.api_path}/actions/jobs/{job.id}/logs", max_bytes=LOG_TAIL_BYTES)
        tail = failed_step_tail(text.text, job.steps, truncated=text.truncated)
    except WaitAndDispatchError as exc:
        problems.append(f"log: {exc.message}")
    return replace(listed, annotations=annotations, log_tail=tail, unreadable=_one_line(problems))


def _check_digest(api: GitHubApi, repo: Repository, check: CheckRun, *, read: bool) -> FailedJob:
    actions = check.app == ACTIONS_APP_SLUG
    listed = FailedJob(
        check.name, check.id, check.html_url, check.conclusion, app=None if actions else check.app
    )
    if not read:
        return replace(listed, read=False)
    if actions:
        # A job's check run has the job's id: its steps and log are the job's.
        try:
            job = _Job.from_api(api.get(f"{repo.api_path}/actions/jobs/{check.id}").data)
        except WaitAndDispatchError as exc:
            # `what: why`, as the log's and the annotations' problems are said.
            return replace(listed, unreadable=f"job: {exc.message}")
        return _job_digest(api, repo, job, read=True)
    problems: list[str] = []
    title = summary = None
    try:
        output = api.get(f"{repo.api_path}/check-runs/{check.id}").data
        title, summary = parse_answer("a check run", output, _output)
    except WaitAndDispatchError as exc:
        problems.append(f"output: {exc.message}")
    annotations = _annotations(api, repo, check.id, problems)
    return replace(
        listed,
        annotations=annotations,
        unreadable=_one_line(problems),
        output_title=title,
        output_summary=summary,
    )


def _output(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    output = data.get("output") or {}
    return optional_text(output, "title"), optional_text(output, "summary")


def _annotations(
    api: GitHubApi, repo: Repository, check_run_id: int, problems: list[str]
) -> tuple[Annotation, ...]:
    """A check run's annotations in the API's order (one page of 100), or none and a problem."""
    try:
        page = api.get(f"{repo.api_path}/check-runs/{check_run_id}/annotations", {"per_page": _PAGE}).data
        if not isinstance(page, list):
            raise TypeError(f"the annotations are {type(page).__name__}, not a list")
        return tuple(parse_answer("a check annotation", item, _annotation) for item in page)
    except WaitAndDispatchError as exc:
        problems.append(f"annotations: {exc.message}")
    except TypeError as exc:
        problems.append(f"annotations: {exc}")
    return ()


def _annotation(data: Mapping[str, Any]) -> Annotation:
    return Annotation(
        path=str(data.get("path") or ""),
        start_line=optional_int(data, "start_line"),
        end_line=optional_int(data, "end_line"),
        annotation_level=optional_text(data, "annotation_level") or "",
        title=optional_text(data, "title") or None,
        message=str(data.get("message") or ""),
    )


def _first(items: Iterable[Any], count: int) -> list[Any]:
    """The first `count` items: the pages after them are never asked for."""
    return list(itertools.islice(items, count))


def _one_line(problems: Sequence[str]) -> str | None:
    return "; ".join(problems) or None
