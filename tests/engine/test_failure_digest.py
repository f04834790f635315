"""The failure digest, gathered through real HTTP from the emulator: which jobs, steps, annotations
and log lines a failed run (or failed checks) shows, what it costs, and that nothing about reading
it can hide the failure or hang the wait."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import MAIN_SHA
from tests.engine.conftest import APP, MakeEngine
from wait_and_dispatch.emulator import Emulator, Fault
from wait_and_dispatch.engine import failure_digest
from wait_and_dispatch.engine.failures import MAX_JOBS_READ, MAX_LOG_LINES, FailedStep
from wait_and_dispatch.engine.requests import CheckSelection, RunRequest, WaitOptions
from wait_and_dispatch.engine.results import Outcome
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import ConclusionNotAllowedError

StartEmulator = Callable[[dict[str, Any]], Emulator]

PYTEST_OUTPUT = [
    "\x1b[1m============================= test session starts ==============================\x1b[0m",
    "collected 12 items",
    "",
    "tests/test_api.py \x1b[32m.\x1b[0m\x1b[31mF\x1b[0m",
    "",
    "    def test_get_user(client):",
    ">       assert response.status_code == 200, f'expected 200, got {response.status_code}'",
    "E       AssertionError: expected 200, got 500",
    "",
    "tests/test_api.py:42: AssertionError",
    "FAILED tests/test_api.py::test_get_user - AssertionError: expected 200, got 500",
    "\x1b[31m========================= 1 failed, 11 passed in 3.21s =========================\x1b[0m",
]
STEPS = [
    "Set up job",
    "Run actions/checkout@v4",
    "Run pip install -e .",
    "Run pytest",
    "Run coverage report",
    "Post Run actions/checkout@v4",
    "Complete job",
]
ERROR = {
    "path": "tests/test_api.py",
    "start_line": 42,
    "level": "failure",
    "title": "test_get_user",
    "message": "AssertionError: expected 200, got 500",
}
WARNING = {
    "path": "tests/test_api.py",
    "start_line": 7,
    "level": "warning",
    "message": "DeprecationWarning: datetime.utcnow() is deprecated",
}


def _failing_job(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "steps": STEPS,
        "start": 0,
        "duration": 60,
        "fails_at": "Run pytest",
        "log": PYTEST_OUTPUT,
        "annotations": [ERROR, WARNING],
        **extra,
    }


def _tests_workflow(scenario: dict[str, Any], jobs: list[dict[str, Any]]) -> dict[str, Any]:
    scenario = copy.deepcopy(scenario)
    scenario["repos"]["octo/app"]["workflows"].append(
        {
            "path": ".github/workflows/tests.yml",
            "name": "Tests",
            "on": ["workflow_dispatch", "push"],
            "timeline": {"queued": 5, "duration": 90},
            "conclusion": "failure",
            "jobs": jobs,
        }
    )
    return scenario


@pytest.fixture
def failing(start_emulator: StartEmulator, scenario_dict: dict[str, Any]) -> Emulator:
    jobs = [
        {
            "name": "lint",
            "steps": ["Set up job", "Run ruff check", "Complete job"],
            "start": 0,
            "duration": 30,
        },
        _failing_job("test (3.12)"),
    ]
    return start_emulator(_tests_workflow(scenario_dict, jobs))


def test_a_failed_run_names_the_failed_job_its_step_its_annotations_and_its_log_tail(
    failing: Emulator, make_engine: MakeEngine
) -> None:
    result = make_engine(failing).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600))

    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED
    assert isinstance(result.error(), ConclusionNotAllowedError)
    digest = result.failure
    assert digest is not None and digest.unreadable is None
    [job] = digest.jobs  # lint succeeded: only the failed job
    assert (job.name, job.conclusion, job.read, job.unreadable) == ("test (3.12)", "failure", True, None)
    assert job.html_url.endswith(f"/actions/runs/{result.run.id}/job/{job.id}")
    assert job.failed_steps == (FailedStep(4, "Run pytest"),)
    # Every annotation, warnings included, in the API's order: the test's error, its warning,
    # then the runner's own error for the failed process.
    assert [(a.where(), a.annotation_level, a.message) for a in job.annotations] == [
        ("tests/test_api.py:42", "failure", "AssertionError: expected 200, got 500"),
        ("tests/test_api.py:7", "warning", "DeprecationWarning: datetime.utcnow() is deprecated"),
        (".github:1", "failure", "Process completed with exit code 1."),
    ]
    assert job.annotations[0].title == "test_get_user"
    assert digest.headline() == (
        'job "test (3.12)", step "Run pytest": tests/test_api.py:42 AssertionError: expected 200, got 500'
    )
    lines = job.log_tail.splitlines()
    # From the failed step's group to the runner's final error, tidied for reading.
    assert lines[0] == "Run pytest"
    assert "FAILED tests/test_api.py::test_get_user - AssertionError: expected 200, got 500" in lines
    assert lines[-3:] == [
        "Error: AssertionError: expected 200, got 500",
        "Warning: DeprecationWarning: datetime.utcnow() is deprecated",
        "Error: Process completed with exit code 1.",
    ]
    assert not any("##[" in line or "\x1b[" in line or line.startswith("2026-") for line in lines)
    assert "Post job cleanup." not in lines and "Cleaning up orphan processes" not in lines
    assert "Run pip install -e ." not in lines  # an earlier step's section is not the failure's


BLANK_ERROR = {"path": "", "level": "failure", "message": "  "}


def test_a_blank_error_annotation_without_a_path_is_passed_over_in_the_headline(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine
) -> None:
    jobs = [_failing_job("test (3.12)", annotations=[BLANK_ERROR])]
    emulator = start_emulator(_tests_workflow(scenario_dict, jobs))

    result = make_engine(emulator).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600))

    assert result.failure is not None
    assert [a.where() for a in result.failure.jobs[0].annotations] == ["", ".github:1"]
    # The runner's own error after it: what the step's process said, with no dangling `: `.
    assert result.failure.headline() == (
        'job "test (3.12)", step "Run pytest": .github:1 Process completed with exit code 1.'
    )


def test_a_check_whose_only_error_annotation_is_blank_is_headlined_by_its_name_alone(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine
) -> None:
    scenario_dict["repos"]["octo/app"]["check_runs"] = [
        {
            "name": "lint/strict",
            "head_sha": MAIN_SHA,
            "app": "linter",
            "created": -60,
            "timeline": {"queued": 0, "duration": 10},
            "conclusion": "failure",
            "annotations": [BLANK_ERROR],
        }
    ]
    emulator = start_emulator(scenario_dict)

    result = make_engine(emulator).wait_for_checks(
        APP, MAIN_SHA, CheckSelection(fail_fast=False), WaitOptions(timeout=600)
    )

    assert result.failure is not None
    assert result.failure.headline() == 'check "lint/strict"'
    error = result.error()
    assert error is not None and not error.message.rstrip().endswith(":")


def test_a_successful_run_reads_no_annotations_and_no_logs(
    emulator: Emulator, make_engine: MakeEngine
) -> None:
    result = make_engine(emulator).run(RunRequest(APP, "build.yml"), WaitOptions(timeout=600))

    assert result.outcome is Outcome.SUCCESS and result.failure is None
    paths = [request.path for request in emulator.requests]
    assert [p for p in paths if p.endswith("/annotations") or "/logs" in p or "/jobs" in p] == []
    assert [p for p in paths if p.startswith("/actions-results/")] == []


def test_seven_failed_jobs_are_all_listed_and_the_first_five_read_within_the_cost_bound(
    start_emulator: StartEmulator,
    scenario_dict: dict[str, Any],
    make_engine: MakeEngine,
    make_api: Callable[..., GitHubApi],
) -> None:
    emulator = start_emulator(_tests_workflow(scenario_dict, [_failing_job(f"test ({n})") for n in range(7)]))
    engine = make_engine(emulator)
    run = engine.run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600)).run

    api = make_api(emulator)
    before, fetched = api.stats.snapshot(), len(emulator.requests_to("/actions-results/*"))
    digest = failure_digest.run_failure(api, APP, run)
    spent = api.stats.requests - before.requests

    assert [job.name for job in digest.jobs] == [f"test ({n})" for n in range(7)]
    assert [job.read for job in digest.jobs] == [True] * MAX_JOBS_READ + [False] * 2
    assert all(job.annotations and job.log_tail for job in digest.jobs[:MAX_JOBS_READ])
    assert all(not job.annotations and not job.log_tail for job in digest.jobs[MAX_JOBS_READ:])
    # Listed jobs still say where they failed: their steps come with the jobs list, at no cost.
    assert digest.jobs[-1].failed_steps == (FailedStep(4, "Run pytest"),)
    assert spent <= 2 + 3 * MAX_JOBS_READ
    assert spent == 1 + 2 * MAX_JOBS_READ  # the jobs, then each read job's annotations and log
    assert len(emulator.requests_to("/actions-results/*")) - fetched == MAX_JOBS_READ


@pytest.mark.parametrize(
    ("status", "said"), [(404, "Not Found"), (410, "410"), (500, "500")], ids=["missing", "expired", "error"]
)
def test_a_log_that_cannot_be_read_is_one_line_and_the_failure_is_still_reported(
    failing: Emulator, make_engine: MakeEngine, status: int, said: str
) -> None:
    failing.inject(Fault(path="/repos/*/actions/jobs/*/logs", status=status, times=None))

    result = make_engine(failing).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600))

    assert isinstance(result.error(), ConclusionNotAllowedError)
    [job] = result.failure.jobs if result.failure else ()
    assert job.log_tail == ""
    assert job.unreadable is not None and job.unreadable.startswith("log: ") and said in job.unreadable
    assert "\n" not in job.unreadable
    assert job.first_error is not None and job.first_error.where() == "tests/test_api.py:42"


def test_log_storage_that_refuses_is_one_line_too(failing: Emulator, make_engine: MakeEngine) -> None:
    failing.inject(Fault(host="blob", path="/actions-results/*", status=503, times=None))

    result = make_engine(failing).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600))

    [job] = result.failure.jobs if result.failure else ()
    assert job.unreadable == "log: the log storage answered 503"
    assert job.annotations


def test_jobs_that_cannot_be_read_leave_a_digest_that_says_so_beside_the_failure(
    failing: Emulator, make_engine: MakeEngine
) -> None:
    failing.inject(Fault(path="/repos/*/actions/runs/*/attempts/*/jobs", status=403, times=None))

    result = make_engine(failing).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600))

    assert isinstance(result.error(), ConclusionNotAllowedError)
    assert result.failure is not None and result.failure.jobs == ()
    assert result.failure.unreadable is not None
    assert result.failure.unreadable.startswith("the run's jobs could not be read: ")
    assert result.failure.headline().startswith("no digest: ")


def test_a_hint_says_once_that_the_runs_jobs_could_not_be_read(
    failing: Emulator, make_engine: MakeEngine
) -> None:
    failing.inject(Fault(path="/repos/*/actions/runs/*/attempts/*/jobs", status=403, times=None))

    result = make_engine(failing).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600))

    error = result.error()
    assert error is not None and error.hint is not None
    assert error.hint.startswith("open the run to see which job failed (the run's jobs could not be read: ")
    assert error.hint.count("could not be read") == 1


def test_an_actions_check_whose_job_cannot_be_read_says_what_and_why_once(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine
) -> None:
    scenario = _tests_workflow(scenario_dict, [_failing_job("test (3.12)")])
    scenario["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "tests.yml",
            "event": "push",
            "head_sha": MAIN_SHA,
            "head_branch": "main",
            "created": -300,
        }
    ]
    emulator = start_emulator(scenario)
    emulator.inject(Fault(path="/repos/*/actions/jobs/*", status=403, times=None))

    result = make_engine(emulator).wait_for_checks(
        APP, MAIN_SHA, CheckSelection(fail_fast=False), WaitOptions(timeout=600)
    )

    assert result.failure is not None
    [job] = result.failure.jobs
    assert job.unreadable is not None and job.unreadable.startswith("job: ")
    assert "could not be read" not in job.unreadable  # the edges say that in their own words


def test_a_digest_never_outlasts_its_own_deadline(failing: Emulator, make_engine: MakeEngine) -> None:
    # GitHub answers 502 to every read of the jobs: the API layer retries within the digest's
    # deadline, then the digest says it could not read them.
    failing.inject(Fault(path="/repos/*/actions/runs/*/attempts/*/jobs", status=502, times=None))
    engine = make_engine(failing)
    run = engine.run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600), wait=True).run
    clock = engine.api.clock
    start = clock.now()

    digest = failure_digest.run_failure(engine.api, APP, run)

    assert clock.now() - start <= failure_digest.DIGEST_SECONDS
    assert digest.unreadable is not None and digest.jobs == ()


def test_the_log_is_fetched_from_storage_without_the_token(
    failing: Emulator, make_engine: MakeEngine
) -> None:
    make_engine(failing).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600))

    [storage] = failing.requests_to("/actions-results/*")
    assert storage.host == "blob" and storage.status in (200, 206)
    assert "Authorization" not in storage.headers
    [redirect] = failing.requests_to("/repos/octo/app/actions/jobs/*/logs")
    assert redirect.host == "api" and redirect.status == 302
    assert redirect.headers.get("Authorization") == "<redacted>"  # the token went to GitHub only


def test_the_log_storage_refuses_a_request_that_carries_a_token(
    failing: Emulator, make_engine: MakeEngine, make_api: Callable[..., GitHubApi]
) -> None:
    import requests

    run = make_engine(failing).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600)).run
    api = make_api(failing)
    job = api.get(f"/repos/octo/app/actions/runs/{run.id}/jobs").data["jobs"][1]
    location = api.request("GET", f"/repos/octo/app/actions/jobs/{job['id']}/logs", leave_other_hosts=True)
    url = location.header("Location")
    assert url is not None
    refused = requests.get(url, headers={"Authorization": f"token {failing.token('dev')}"}, timeout=10)
    assert refused.status_code == 400 and "InvalidAuthenticationInfo" in refused.text
    served = requests.get(url, timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("text/plain")


def test_a_failed_actions_check_gets_its_jobs_digest_and_another_apps_its_output(
    start_emulator: StartEmulator,
    scenario_dict: dict[str, Any],
    make_engine: MakeEngine,
    make_api: Callable[..., GitHubApi],
) -> None:
    scenario = _tests_workflow(scenario_dict, [_failing_job("test (3.12)")])
    scenario["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "tests.yml",
            "event": "push",
            "head_sha": MAIN_SHA,
            "head_branch": "main",
            "created": -300,
        }
    ]
    scenario["repos"]["octo/app"]["check_runs"] = [
        {
            "name": "codecov/patch",
            "head_sha": MAIN_SHA,
            "app": "codecov",
            "created": -60,
            "timeline": {"queued": 0, "duration": 10},
            "conclusion": "failure",
            "output_title": "60.00% of diff hit (target 80.00%)",
            "output_summary": "2 lines in your changes are missing coverage.",
            "annotations": [
                {
                    "path": "src/api.py",
                    "start_line": 12,
                    "end_line": 13,
                    "level": "warning",
                    "message": "Not covered",
                }
            ],
        }
    ]
    emulator = start_emulator(scenario)

    result = make_engine(emulator).wait_for_checks(
        APP, MAIN_SHA, CheckSelection(fail_fast=False), WaitOptions(timeout=600)
    )

    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED and result.failure is not None
    by_name = {job.name: job for job in result.failure.jobs}
    actions, codecov = by_name["test (3.12)"], by_name["codecov/patch"]
    assert actions.app is None and actions.failed_steps == (FailedStep(4, "Run pytest"),)
    assert actions.first_error is not None and actions.first_error.where() == "tests/test_api.py:42"
    assert actions.log_tail.endswith("Error: Process completed with exit code 1.")
    assert (codecov.app, codecov.output_title, codecov.output_summary) == (
        "codecov",
        "60.00% of diff hit (target 80.00%)",
        "2 lines in your changes are missing coverage.",
    )
    assert [(a.where(), a.annotation_level) for a in codecov.annotations] == [("src/api.py:12-13", "warning")]
    assert codecov.log_tail == "" and codecov.unreadable is None
    assert codecov.headline() == 'check "codecov/patch": 60.00% of diff hit (target 80.00%)'

    # An Actions check costs its job, its annotations and its log; another app's its output and
    # its annotations.
    api = make_api(emulator)
    before = api.stats.requests
    failure_digest.checks_failure(api, APP, result.failed)
    assert api.stats.requests - before == 3 + 2


def test_a_long_failing_step_keeps_only_its_last_lines_up_to_the_final_error(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine
) -> None:
    output = [f"line {n}" for n in range(500)]
    emulator = start_emulator(
        _tests_workflow(scenario_dict, [_failing_job("test", log=output, annotations=[])])
    )

    result = make_engine(emulator).run(RunRequest(APP, "tests.yml"), WaitOptions(timeout=600))

    [job] = result.failure.jobs if result.failure else ()
    lines = job.log_tail.splitlines()
    assert len(lines) == MAX_LOG_LINES
    assert lines[-2:] == ["line 499", "Error: Process completed with exit code 1."]
