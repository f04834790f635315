"""Ending the wait at the first failed job (fail-on-failed-job), against the emulator over HTTP.

The run of these tests has two jobs: `test` fails 8 s after the run starts, `slow` runs to 40 s.
Its jobs are watched through its check suite's check runs, whose answer changes only when a job
starts or ends, so the watch costs a counted unit per such change and free 304s otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import MAIN_SHA
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.progress import JobProgress, ProgressEvent, ProgressKind
from wait_and_dispatch.engine.requests import WaitOptions
from wait_and_dispatch.engine.results import Outcome
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import ConclusionNotAllowedError

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]
APP = Repository("octo", "app")
QUEUED = 5  # seconds the run is queued before its jobs start
FAIL_FAST = WaitOptions(timeout=600, poll_interval=1, max_poll_interval=2, fail_on_failed_job=True)


def jobs_scenario(
    scenario: dict[str, Any], jobs: list[dict[str, Any]], *, conclusion: str = "failure"
) -> None:
    workflow = scenario["repos"]["octo/app"]["workflows"][0]
    workflow["jobs"] = jobs
    scenario["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": MAIN_SHA,
            "head_branch": "main",
            "created": 0,
            "timeline": {"queued": QUEUED, "duration": 40},
            "conclusion": conclusion,
        }
    ]


def two_jobs(test_conclusion: str = "failure") -> list[dict[str, Any]]:
    return [
        {
            "name": "test (3.12)",
            "steps": ["Set up job", "Run pytest"],
            "start": 0,
            "duration": 8,
            "conclusion": test_conclusion,
        },
        {
            "name": "slow",
            "steps": ["Set up job", "Build", "Package"],
            "start": 0,
            "duration": 40,
            "conclusion": "success",
        },
    ]


def start(
    start_emulator: StartEmulator,
    scenario: dict[str, Any],
    make_api: MakeApi,
    jobs: list[dict[str, Any]],
    *,
    conclusion: str = "failure",
) -> tuple[Emulator, GitHubApi, WorkflowRun]:
    jobs_scenario(scenario, jobs, conclusion=conclusion)
    emulator = start_emulator(scenario)
    api = make_api(emulator)
    return emulator, api, workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)[0]


def test_the_wait_ends_at_the_first_failed_job_naming_it(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    t0 = clock.now()
    _, api, run = start(start_emulator, scenario_dict, make_api, two_jobs())
    result = Engine(api).download_run(APP, run.id, FAIL_FAST, None)
    assert result.outcome is Outcome.JOB_FAILED
    assert result.outcome.failed
    # The job failed 8 s after the run started; the poll cadence is 1 to 2 s.
    assert QUEUED + 8 <= clock.now() - t0 <= QUEUED + 8 + 2.5
    assert result.run.status == "in_progress" and not result.cancelled
    assert result.failed_job is not None and result.failed_job.name == "test (3.12)"
    error = result.error()
    assert isinstance(error, ConclusionNotAllowedError)
    # The digest names the job (and its step and first error, when it has them), as for a failed run.
    assert 'failed (the rest of the run goes on): job "test (3.12)"' in error.message
    assert "#step:2:1" in (error.hint or "")  # the failed step, opened


def test_the_failure_digest_of_a_failed_job_is_read_while_the_run_goes_on(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    t0 = clock.now()
    jobs = two_jobs()
    jobs[0].update(
        steps=["Set up job", "Run pytest", "Run coverage report", "Complete job"],
        fails_at="Run pytest",
        log=["tests/test_api.py:42: AssertionError", "FAILED tests/test_api.py::test_get - AssertionError"],
        annotations=[
            {
                "path": "tests/test_api.py",
                "start_line": 42,
                "level": "failure",
                "message": "AssertionError: expected 200, got 500",
            }
        ],
    )
    emulator, api, run = start(start_emulator, scenario_dict, make_api, jobs)
    before = api.stats.snapshot()
    result = Engine(api).download_run(APP, run.id, FAIL_FAST, None)

    assert result.outcome is Outcome.JOB_FAILED and result.run.status == "in_progress"
    assert clock.now() - t0 <= QUEUED + 8 + 2.5  # the digest does not hold the wait up
    digest = result.failure
    assert digest is not None and digest.unreadable is None
    [job] = digest.jobs  # slow is still running: only the failed job
    assert (job.name, job.conclusion, job.unreadable) == ("test (3.12)", "failure", None)
    assert [step.name for step in job.failed_steps] == ["Run pytest"]
    assert digest.headline() == (
        'job "test (3.12)", step "Run pytest": tests/test_api.py:42 AssertionError: expected 200, got 500'
    )
    assert "FAILED tests/test_api.py::test_get - AssertionError" in job.log_tail.splitlines()
    assert job.log_tail.splitlines()[-1] == "Error: Process completed with exit code 1."
    # The digest's reads: the attempt's jobs, the failed job's annotations and its log.
    assert len(emulator.requests_to(f"/repos/octo/app/actions/runs/{run.id}/attempts/1/jobs")) == 1
    assert len(emulator.requests_to(f"/repos/octo/app/check-runs/{job.id}/annotations")) == 1
    assert len(emulator.requests_to(f"/repos/octo/app/actions/jobs/{job.id}/logs")) == 1
    assert result.cost.requests == api.stats.requests - before.requests


def test_a_passing_run_watched_for_failed_jobs_reads_no_digest(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator, api, run = start(
        start_emulator, scenario_dict, make_api, two_jobs("success"), conclusion="success"
    )
    result = Engine(api).download_run(APP, run.id, FAIL_FAST, None)
    assert result.outcome is Outcome.SUCCESS and result.failure is None
    assert not emulator.requests_to("/repos/octo/app/actions/runs/*/attempts/*/jobs")
    assert not emulator.requests_to("/repos/octo/app/check-runs/*/annotations")
    assert not emulator.requests_to("/repos/octo/app/actions/jobs/*/logs")


def test_without_the_flag_the_wait_is_for_the_run_and_no_job_is_read_while_waiting(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    t0 = clock.now()
    emulator, api, run = start(start_emulator, scenario_dict, make_api, two_jobs())
    result = Engine(api).download_run(APP, run.id, WaitOptions(timeout=600, poll_interval=1), None)
    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED
    assert clock.now() - t0 >= QUEUED + 40
    assert result.failed_job is None
    assert not emulator.requests_to("/repos/octo/app/check-suites/*")
    # The jobs are read once, by the failure digest, after the run has completed.
    jobs_reads = emulator.requests_to("/repos/octo/app/actions/runs/*/attempts/*/jobs")
    assert len(jobs_reads) == 1 and jobs_reads[0].time >= t0 + QUEUED + 40


def test_cancel_on_failure_cancels_the_rest_of_the_run(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator, api, run = start(start_emulator, scenario_dict, make_api, two_jobs())
    events: list[ProgressEvent] = []
    options = WaitOptions(
        timeout=600, poll_interval=1, max_poll_interval=2, fail_on_failed_job=True, cancel_on_failure=True
    )
    result = Engine(api, events.append).download_run(APP, run.id, options, None)
    assert result.outcome is Outcome.JOB_FAILED and result.cancelled
    assert len(emulator.requests_to(f"/repos/octo/app/actions/runs/{run.id}/cancel")) == 1
    error = result.error()
    assert error is not None and "cancelled the rest of the run" in error.message
    assert workflow_runs.get_run(api, APP, run.id).conclusion == "cancelled"
    cancelled = [e for e in events if e.kind is ProgressKind.CANCELLED]
    assert [e.message for e in cancelled] == [f'cancelled run {run.id} after job "test (3.12)" failed']


def test_a_run_whose_jobs_pass_ends_as_before(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    t0 = clock.now()
    _, api, run = start(start_emulator, scenario_dict, make_api, two_jobs("success"), conclusion="success")
    result = Engine(api).download_run(APP, run.id, FAIL_FAST, None)
    assert result.outcome is Outcome.SUCCESS and result.error() is None
    assert clock.now() - t0 >= QUEUED + 40


@pytest.mark.parametrize(("conclusion", "ends_early"), [("timed_out", True), ("cancelled", False)])
def test_a_timed_out_job_fails_the_wait_and_a_cancelled_one_does_not(
    start_emulator: StartEmulator,
    scenario_dict: dict[str, Any],
    make_api: MakeApi,
    clock: ManualClock,
    conclusion: str,
    ends_early: bool,
) -> None:
    t0 = clock.now()
    _, api, run = start(start_emulator, scenario_dict, make_api, two_jobs(conclusion))
    result = Engine(api).download_run(APP, run.id, FAIL_FAST, None)
    if ends_early:
        assert result.outcome is Outcome.JOB_FAILED and clock.now() - t0 < QUEUED + 12
    else:
        assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED and clock.now() - t0 >= QUEUED + 40


def test_allowed_failure_is_not_a_reason_to_end_early(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    t0 = clock.now()
    _, api, run = start(start_emulator, scenario_dict, make_api, two_jobs())
    options = WaitOptions(
        timeout=600,
        poll_interval=1,
        fail_on_failed_job=True,
        allowed_conclusions=frozenset({"success", "failure"}),
    )
    result = Engine(api).download_run(APP, run.id, options, None)
    assert result.outcome is Outcome.SUCCESS and clock.now() - t0 >= QUEUED + 40


def six_jobs() -> list[dict[str, Any]]:
    """Six jobs ending one after another, the last one failing, each with several steps."""
    jobs: list[dict[str, Any]] = [
        {
            "name": f"job {n}",
            "steps": ["Set up job", "Checkout", "Build", "Test", "Upload", "Complete job"],
            "start": 0,
            "duration": 5.0 * n,
            "conclusion": "success",
        }
        for n in range(1, 6)
    ]
    jobs.append(
        {
            "name": "job 6",
            "steps": ["Set up job", "Test"],
            "start": 0,
            "duration": 35,
            "conclusion": "failure",
        }
    )
    return jobs


def test_watching_six_jobs_costs_a_unit_or_two_per_job_and_304s_otherwise(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator, api, run = start(start_emulator, scenario_dict, make_api, six_jobs())
    before = api.stats.snapshot()
    result = Engine(api).download_run(APP, run.id, FAIL_FAST, None)
    assert result.outcome is Outcome.JOB_FAILED and result.failed_job is not None
    assert result.failed_job.name == "job 6"
    watched = emulator.requests_to(f"/repos/octo/app/check-suites/{run.check_suite_id}/check-runs")
    counted = [r for r in watched if r.status != 304]
    # 6 jobs: the list changes when they start (together) and each time one ends.
    assert len(watched) > 15  # polled about every 1.5 s over 35 s
    assert 1 <= len(counted) <= 12
    # The failure digest after it: the jobs, the failed job's annotations and its log's redirect.
    digest = [
        *emulator.requests_to(f"/repos/octo/app/actions/runs/{run.id}/attempts/1/jobs"),
        *emulator.requests_to("/repos/octo/app/check-runs/*/annotations"),
        *emulator.requests_to("/repos/octo/app/actions/jobs/*/logs"),
    ]
    assert len(digest) == 3
    # The whole: the run's reads (its first read and its changes), the watch and the digest.
    assert api.stats.units_spent - before.units_spent <= len(counted) + 4 + len(digest)


def test_the_check_run_list_answers_304_until_a_job_starts_or_ends(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    """The emulator's ETag for a suite's check runs changes as GitHub's does: with the answer,
    which carries no steps, so a step starting changes nothing."""
    _, api, run = start(start_emulator, scenario_dict, make_api, six_jobs())
    path = f"{APP.api_path}/check-suites/{run.check_suite_id}/check-runs"
    jobs_path = f"{APP.api_path}/actions/runs/{run.id}/attempts/1/jobs"
    clock.advance(QUEUED + 1)
    first = api.get(path)
    api.get(jobs_path)
    clock.advance(2)  # steps moved on in every job; none started or ended
    assert api.get(path).from_cache
    assert not api.get(jobs_path).from_cache  # the jobs list changes at every step
    clock.advance(3)  # job 1 ended at QUEUED + 5
    changed = api.get(path)
    assert not changed.from_cache and changed.data != first.data


def test_jobs_events_carry_every_started_job_and_say_what_changed(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    _, api, run = start(start_emulator, scenario_dict, make_api, two_jobs())
    events: list[ProgressEvent] = []
    Engine(api, events.append).download_run(APP, run.id, FAIL_FAST, None)
    jobs = [e for e in events if e.kind is ProgressKind.JOBS]
    assert len(jobs) == 2  # both jobs started; then test (3.12) failed
    assert [j.name for j in jobs[0].jobs] == ["test (3.12)", "slow"]
    assert all(j.status == "in_progress" for j in jobs[0].jobs)
    assert jobs[-1].jobs[0] == JobProgress(
        "test (3.12)", "completed", "failure", None, jobs[-1].jobs[0].html_url
    )
    assert jobs[-1].message == f'run {run.id}: 1 of 2 jobs completed: "test (3.12)" failure'
    assert jobs[-1].url == run.html_url


def test_with_steps_for_a_live_view_the_current_step_is_read_from_the_jobs_list(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator, api, run = start(start_emulator, scenario_dict, make_api, two_jobs())
    events: list[ProgressEvent] = []
    options = WaitOptions(timeout=600, poll_interval=1, max_poll_interval=2, job_steps=True)
    result = Engine(api, events.append).download_run(APP, run.id, options, None)
    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED  # no fail-on-failed-job: the whole run
    jobs = [e for e in events if e.kind is ProgressKind.JOBS]
    steps = {j.current_step for e in jobs for j in e.jobs}
    assert {"Set up job", "Run pytest", "Build", "Package"} <= steps
    # Read once more as the run completes: the jobs a live view leaves on the screen are done.
    assert [(j.name, j.conclusion, j.current_step) for j in jobs[-1].jobs] == [
        ("test (3.12)", "failure", "Run pytest"),
        ("slow", "success", "Package"),
    ]
    assert emulator.requests_to(f"/repos/octo/app/actions/runs/{run.id}/attempts/1/jobs")
    assert not emulator.requests_to("/repos/octo/app/check-suites/*")


def test_a_token_that_may_not_read_checks_watches_through_the_jobs_list(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    t0 = clock.now()
    scenario_dict["tokens"]["nochecks"] = {
        "secret": "ghs_nochecks_secret",
        "kind": "github_token",
        "repos": ["octo/app"],
        "permissions": {"actions": "read", "contents": "read", "checks": "none"},
    }
    emulator, _, run = start(start_emulator, scenario_dict, make_api, two_jobs())
    api = make_api(emulator, "nochecks")
    result = Engine(api).download_run(APP, run.id, FAIL_FAST, None)
    assert result.outcome is Outcome.JOB_FAILED and clock.now() - t0 <= QUEUED + 8 + 2.5
    refused = emulator.requests_to(f"/repos/octo/app/check-suites/{run.check_suite_id}/check-runs")
    assert [r.status for r in refused] == [403]  # asked once, then the jobs list for the rest
    assert emulator.requests_to(f"/repos/octo/app/actions/runs/{run.id}/attempts/1/jobs")
