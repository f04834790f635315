"""Waiting for check runs on a commit, against the emulator over real HTTP with a manual clock.

App checks come from the scenario's `check_runs:`; workflow jobs become check runs only once they
start, as on GitHub, which is how checks behind `needs:` appear late.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from tests.conftest import MAIN_SHA
from wait_and_dispatch.emulator import Emulator, Fault
from wait_and_dispatch.engine.check_matching import CheckMatcher
from wait_and_dispatch.engine.check_view import APP_SETTLE_SECONDS, ChecksView, SuiteRun, decide
from wait_and_dispatch.engine.check_wait import read_checks_once, wait_for_checks
from wait_and_dispatch.engine.github_objects import CheckRun, CheckSuite, Repository
from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
from wait_and_dispatch.engine.requests import CallerJob, CheckSelection, WaitOptions
from wait_and_dispatch.engine.results import ChecksResult, Outcome
from wait_and_dispatch.engine.workflow_file import parse_workflow_jobs
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import (
    ConclusionNotAllowedError,
    DeadlineExceededError,
    UsageError,
    WaitTimeoutError,
)

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]

APP = Repository("octo", "app")
OPTIONS = WaitOptions(timeout=3600, poll_interval=5, max_poll_interval=60)
# Polls every second or two, so a test can tell "at once" from "a settle window later".
FAST = WaitOptions(timeout=3600, poll_interval=1, max_poll_interval=2)


def app_check(
    name: str,
    *,
    duration: float = 60,
    conclusion: str = "success",
    created: float = 0,
    queued: float = 0,
    app: str = "external-ci",
) -> dict[str, Any]:
    """A check run from an app other than Actions, `created` seconds after the emulator starts."""
    return {
        "name": name,
        "head_sha": MAIN_SHA,
        "app": app,
        "created": created,
        "timeline": {"queued": queued, "duration": duration},
        "conclusion": conclusion,
    }


def with_checks(scenario: dict[str, Any], *checks: dict[str, Any]) -> dict[str, Any]:
    scenario["repos"]["octo/app"]["check_runs"] = list(checks)
    return scenario


def with_pipeline(scenario: dict[str, Any], jobs: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """A push run on MAIN_SHA of a workflow with these jobs; `start` is after the run starts."""
    repo = scenario["repos"]["octo/app"]
    repo["workflows"].append(
        {
            "path": ".github/workflows/pipeline.yml",
            "name": "Pipeline",
            "on": ["push"],
            "timeline": {"queued": 0, "duration": duration},
            "conclusion": "success",
            "jobs": jobs,
        }
    )
    repo["runs"] = [
        {"workflow": "pipeline.yml", "event": "push", "head_sha": MAIN_SHA, "head_branch": "main"}
    ]
    return scenario


def wait(
    api: GitHubApi,
    selection: CheckSelection | None = None,
    options: WaitOptions = OPTIONS,
    *,
    events: list[ProgressEvent] | None = None,
    exclude: tuple[str, ...] = (),
) -> ChecksResult:
    return wait_for_checks(
        api,
        APP,
        MAIN_SHA,
        selection or CheckSelection(),
        options,
        on_progress=(events.append if events is not None else lambda event: None),
        exclude=exclude,
    )


def names(result: ChecksResult) -> list[str]:
    return [check.name for check in result.checks]


# -- which checks --------------------------------------------------------------------------------


def test_waits_for_named_checks_until_they_succeed(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(
        scenario_dict,
        app_check("lint", duration=30),
        app_check("test", duration=90),
        app_check("nightly", duration=3000, conclusion="failure"),
    )
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(names=("test", "lint")))

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["lint", "test"]
    assert result.conclusions == {"lint": "success", "test": "success"}
    assert 90 <= clock.now() - start < 90 + OPTIONS.max_poll_interval  # done soon after test, not nightly
    assert result.error() is None


def test_regex_waits_for_the_checks_it_matches(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario = with_checks(
        scenario_dict,
        app_check("test (ubuntu)", duration=40),
        app_check("test (windows)", duration=80),
        app_check("lint", duration=10, conclusion="failure"),
    )
    api = make_api(start_emulator(scenario))

    result = wait(api, CheckSelection(regex=r"^test \(", discovery_timeout=30))

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["test (ubuntu)", "test (windows)"]


def test_ignored_checks_are_not_waited_for(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(
        scenario_dict,
        app_check("build", duration=60),
        app_check("flaky e2e", duration=1800, conclusion="failure"),
    )
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(ignore=("flaky e2e",), discovery_timeout=30))

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["build"]
    assert clock.now() - start < 1800


def test_excluded_check_such_as_the_callers_own_job_is_not_waited_for(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(scenario_dict, app_check("build", duration=60), app_check("gate", duration=7200))
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=30), exclude=("gate",))

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["build"]
    assert clock.now() - start < 7200


def test_waits_for_every_check_when_none_is_named(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(
        scenario_dict,
        app_check("DCO", duration=5, app="dco"),
        app_check("build", duration=200),
        app_check("docs", duration=30, conclusion="skipped"),
    )
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=20), FAST)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["DCO", "build", "docs"]
    # No workflow run is in progress on the commit, so no check can come after `build`.
    assert 200 <= clock.now() - start <= 200 + FAST.max_poll_interval * 1.1


# -- checks that appear late ---------------------------------------------------------------------


def test_waits_for_a_named_check_that_appears_within_the_grace_period(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario = with_checks(scenario_dict, app_check("deploy", created=45, duration=30))
    api = make_api(start_emulator(scenario))

    result = wait(api, CheckSelection(names=("deploy",), discovery_timeout=60))

    assert result.outcome is Outcome.SUCCESS
    assert result.conclusions == {"deploy": "success"}
    assert result.missing == ()


def test_waits_for_a_named_job_behind_needs_while_the_job_it_needs_runs(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    # `deploy` needs `build`: it has no check run for five minutes, far past the grace period.
    scenario = with_pipeline(
        scenario_dict,
        [{"name": "build", "start": 0, "duration": 300}, {"name": "deploy", "start": 300, "duration": 60}],
        duration=360,
    )
    api = make_api(start_emulator(scenario))

    result = wait(api, CheckSelection(names=("deploy",), discovery_timeout=60))

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["deploy"]


def test_every_check_includes_a_job_that_starts_after_the_others_finished(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    # For 30 seconds after `build` completes, nothing on the commit runs; then `deploy` starts.
    scenario = with_pipeline(
        scenario_dict,
        [{"name": "build", "start": 0, "duration": 120}, {"name": "deploy", "start": 150, "duration": 60}],
        duration=210,
    )
    api = make_api(start_emulator(scenario))

    result = wait(api, CheckSelection(discovery_timeout=60))

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["build", "deploy"]


def test_named_check_that_never_appears_fails_after_the_grace_period(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # `build` completed before the wait began, so nothing on the commit moves during the wait.
    scenario = with_checks(scenario_dict, app_check("build", created=-30, duration=10))
    api = make_api(start_emulator(scenario))
    events: list[ProgressEvent] = []
    start = clock.now()

    result = wait(api, CheckSelection(names=("build", "deploy"), discovery_timeout=60), events=events)

    assert result.outcome is Outcome.TIMED_OUT
    assert result.missing == ("deploy",)
    assert names(result) == ["build"]
    assert 60 <= clock.now() - start <= 60 + 1e-6  # the last sleep ends when the grace period does
    assert "deploy never appeared on aaaaaaa" in events[-1].message
    error = result.error()
    assert isinstance(error, WaitTimeoutError)
    assert error.message == "never appeared on aaaaaaa: deploy (waited 1m0s)"
    assert "case-sensitive" in error.hint


def test_with_missing_ok_a_check_that_never_appears_leaves_the_outcome_to_the_others(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # lewagon/wait-on-check-action's fail-on-no-checks: false (optional checks that only some
    # changes run); the grace period is still waited, since the check may yet come.
    scenario = with_checks(scenario_dict, app_check("build", created=-30, duration=10))
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(names=("build", "deploy"), discovery_timeout=60, missing_ok=True))

    assert result.outcome is Outcome.SUCCESS and result.error() is None
    assert result.missing == ("deploy",)
    assert clock.now() - start >= 60


def test_with_missing_ok_a_failed_check_still_fails(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario = with_checks(scenario_dict, app_check("build", created=-30, duration=10, conclusion="failure"))
    api = make_api(start_emulator(scenario))

    result = wait(api, CheckSelection(names=("build", "deploy"), discovery_timeout=60, missing_ok=True))

    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED


def test_regex_that_matches_no_check_fails_after_the_grace_period(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    api = make_api(start_emulator(with_checks(scenario_dict, app_check("build", duration=10))))

    result = wait(api, CheckSelection(regex="^deploy", discovery_timeout=60))

    assert result.outcome is Outcome.TIMED_OUT
    assert result.missing == ("any check matching /^deploy/",)
    assert result.checks == ()


# -- ending when no more checks can appear (the commit's check suites) ---------------------------


def with_silent_suite(
    scenario: dict[str, Any], app: str = "dependabot", created: float = -3600
) -> dict[str, Any]:
    """A suite GitHub made for an app on the push, which that app never reports to."""
    repo = scenario["repos"]["octo/app"]
    repo.setdefault("check_suites", []).append({"app": app, "head_sha": MAIN_SHA, "created": created})
    return scenario


def test_every_check_ends_as_soon_as_the_last_workflow_run_on_the_commit_completes(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_pipeline(
        scenario_dict,
        [{"name": "build", "start": 0, "duration": 40}, {"name": "test", "start": 40, "duration": 11}],
        duration=51,
    )
    api = make_api(start_emulator(with_checks(scenario, app_check("DCO", duration=5, app="dco"))))
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=60), FAST)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["DCO", "build", "test"]
    assert 51 <= clock.now() - start <= 51 + FAST.max_poll_interval * 1.1  # not 60 s of quiet later


def test_every_check_waits_for_a_workflow_run_whose_next_job_has_no_check_run_yet(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # Between `build` (done at 20 s) and `deploy` (queued at 100 s) the commit shows no running
    # check at all for 80 s, longer than the grace period; the run's suite is still in progress.
    scenario = with_pipeline(
        scenario_dict,
        [{"name": "build", "start": 0, "duration": 20}, {"name": "deploy", "start": 100, "duration": 10}],
        duration=110,
    )
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=30), FAST)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["build", "deploy"]
    assert 110 <= clock.now() - start <= 110 + FAST.max_poll_interval * 1.1


def test_every_check_fails_at_once_when_one_fails_while_others_still_run(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_pipeline(scenario_dict, [{"name": "test", "start": 0, "duration": 51}], duration=51)
    lint = app_check("lint", duration=25, conclusion="failure")
    api = make_api(start_emulator(with_checks(scenario, lint)))
    start = clock.now()

    result = wait(api, CheckSelection(), FAST)

    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED
    assert result.conclusions == {"lint": "failure", "test": None}
    assert 25 <= clock.now() - start <= 25 + FAST.max_poll_interval * 1.1


def test_a_suite_that_stays_queued_with_no_check_runs_is_not_waited_on(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_silent_suite(with_checks(scenario_dict, app_check("build", duration=30)))
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=600), FAST)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["build"]
    assert 30 <= clock.now() - start <= 30 + FAST.max_poll_interval * 1.1


def test_a_silent_app_suite_gets_the_settle_window_and_no_more(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # Every check is done before the wait starts; dependabot's suite was made 5 s after the push.
    scenario = with_silent_suite(with_checks(scenario_dict, app_check("build", created=-60, duration=10)))
    api = make_api(start_emulator(scenario))
    events: list[ProgressEvent] = []
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=600), FAST, events=events)

    assert result.outcome is Outcome.SUCCESS
    assert APP_SETTLE_SECONDS <= clock.now() - start <= APP_SETTLE_SECONDS + 1e-6
    assert any("dependabot, whose suite has no checks yet" in e.message for e in events)


def test_an_app_that_reports_within_the_settle_window_is_waited_for(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario = with_checks(
        scenario_dict,
        app_check("build", created=-60, duration=10),
        app_check("scan", created=6, duration=30, app="scanner"),
    )
    api = make_api(start_emulator(with_silent_suite(scenario, app="scanner", created=-60)))

    result = wait(api, CheckSelection(discovery_timeout=600), FAST)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["build", "scan"]


def test_the_suite_of_the_callers_own_running_job_is_not_waited_on(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # The waiting job `gate` runs in a workflow run on the same commit: its suite cannot complete
    # before the wait ends, so waiting on it would last until the timeout.
    scenario = with_pipeline(
        scenario_dict,
        [{"name": "gate", "start": 0, "duration": 7200}, {"name": "unit", "start": 0, "duration": 40}],
        duration=7200,
    )
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=60), FAST, exclude=("gate",))

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["unit"]
    assert 40 <= clock.now() - start <= 40 + FAST.max_poll_interval * 1.1


def with_sibling(
    scenario: dict[str, Any], name: str, jobs: list[dict[str, Any]], duration: float
) -> dict[str, Any]:
    """Another workflow's push run on MAIN_SHA (after `with_pipeline`): `status.yml` by default."""
    repo = scenario["repos"]["octo/app"]
    file = f"{name.lower().replace(' ', '-')}.yml"
    repo["workflows"].append(
        {
            "path": f".github/workflows/{file}",
            "name": name,
            "on": ["push"],
            "timeline": {"queued": 0, "duration": duration},
            "conclusion": "success",
            "jobs": jobs,
        }
    )
    repo["runs"].append({"workflow": file, "event": "push", "head_sha": MAIN_SHA, "head_branch": "main"})
    return scenario


def run_of(api: GitHubApi, workflow_name: str) -> dict[str, Any]:
    runs = api.get("/repos/octo/app/actions/runs", {"head_sha": MAIN_SHA}).data["workflow_runs"]
    found: dict[str, Any] = next(run for run in runs if run["name"] == workflow_name)
    return found


def test_a_regex_wait_ends_while_a_sibling_workflow_whose_jobs_cannot_match_still_runs(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # A status-check job of another workflow runs for ten minutes on the same commit: its suite is
    # in progress all along, but its only job is not a build.
    scenario = with_pipeline(scenario_dict, [{"name": "build (amd64)", "start": 0, "duration": 40}], 40)
    scenario = with_sibling(scenario, "Status", [{"name": "status-check", "start": 0, "duration": 600}], 600)
    emulator = start_emulator(scenario)
    api = make_api(emulator)
    events: list[ProgressEvent] = []
    start = clock.now()

    result = wait(api, CheckSelection(regex="^build"), FAST, events=events)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["build (amd64)"]
    assert 40 <= clock.now() - start <= 40 + FAST.max_poll_interval * 1.1  # not 600 s
    said = [e.message for e in events if e.message.startswith("not waiting for")]
    assert said == [
        f"not waiting for Status (run {run_of(api, 'Status')['id']}, status.yml): no job left that "
        "could report a matching check"
    ]
    # Its workflow file is read once, at the commit.
    reads = [r for r in emulator.requests if "/contents/" in r.path]
    assert [r.path for r in reads] == ["/repos/octo/app/contents/.github/workflows/status.yml"]


def test_a_suite_is_waited_for_while_its_file_has_a_matching_job_that_has_not_started(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # The sibling's `build (arm64)` waits 100 s behind `needs:`: no check run for it until then.
    scenario = with_pipeline(scenario_dict, [{"name": "build (amd64)", "start": 0, "duration": 40}], 40)
    sibling_jobs = [
        {"name": "status-check", "start": 0, "duration": 600},
        {"name": "build (arm64)", "start": 100, "duration": 20},
    ]
    scenario = with_sibling(scenario, "Status", sibling_jobs, 600)
    api = make_api(start_emulator(scenario))
    events: list[ProgressEvent] = []
    start = clock.now()

    result = wait(api, CheckSelection(regex="^build", discovery_timeout=30), FAST, events=events)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["build (amd64)", "build (arm64)"]
    assert 120 <= clock.now() - start <= 120 + FAST.max_poll_interval * 1.1
    assert any(e.message.endswith("status.yml): may still report build (arm64)") for e in events)


def test_the_own_runs_later_jobs_are_waited_for_but_not_the_own_run_or_own_check(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # The waiting job `gate` (job1 of pipeline.yml) runs for two hours; `integration` starts
    # behind `needs:` at 60 s, after `unit` has finished.
    jobs = [
        {"name": "gate", "start": 0, "duration": 7200},
        {"name": "unit", "start": 0, "duration": 40},
        {"name": "integration", "start": 60, "duration": 10},
    ]
    api = make_api(start_emulator(with_pipeline(scenario_dict, jobs, duration=7200)))
    caller = CallerJob(run_id=run_of(api, "Pipeline")["id"], run_attempt=1, job_id="job1")
    events: list[ProgressEvent] = []
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=30, caller=caller), FAST, events=events)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["integration", "unit"]
    assert 70 <= clock.now() - start <= 70 + FAST.max_poll_interval * 1.1
    assert any("this job's own run: no job left" in e.message for e in events)


def test_ignoring_the_own_check_by_name_still_waits_for_the_own_runs_later_jobs(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # lewagon's way (running-workflow-name): the own check ignored by name, the run not named.
    jobs = [
        {"name": "gate", "start": 0, "duration": 7200},
        {"name": "unit", "start": 0, "duration": 40},
        {"name": "integration", "start": 60, "duration": 10},
    ]
    api = make_api(start_emulator(with_pipeline(scenario_dict, jobs, duration=7200)))
    start = clock.now()

    result = wait(api, CheckSelection(discovery_timeout=30), FAST, exclude=("gate",))

    assert names(result) == ["integration", "unit"]
    assert 70 <= clock.now() - start <= 70 + FAST.max_poll_interval * 1.1


def test_the_own_check_named_by_its_check_run_id_is_never_waited_for(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # job.check_run_id: the own check is known by id, even when another check shares its name.
    jobs = [{"name": "gate", "start": 0, "duration": 7200}, {"name": "unit", "start": 0, "duration": 40}]
    api = make_api(start_emulator(with_pipeline(scenario_dict, jobs, duration=7200)))
    listed = api.get(f"/repos/octo/app/commits/{MAIN_SHA}/check-runs").data["check_runs"]
    own = next(check["id"] for check in listed if check["name"] == "gate")
    start = clock.now()

    result = wait(api, CheckSelection(caller=CallerJob(check_run_id=own)), FAST)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["unit"]
    assert 40 <= clock.now() - start <= 40 + FAST.max_poll_interval * 1.1


def test_a_suite_whose_workflow_file_cannot_be_read_holds_the_wait_for_the_settle_window_at_most(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # Without `contents: read` no workflow file can be read: the sibling cannot be judged.
    scenario_dict["tokens"]["dev"]["permissions"]["contents"] = "none"
    scenario = with_pipeline(scenario_dict, [{"name": "build (amd64)", "start": 0, "duration": 40}], 40)
    scenario = with_sibling(scenario, "Status", [{"name": "status-check", "start": 0, "duration": 600}], 600)
    api = make_api(start_emulator(scenario))
    events: list[ProgressEvent] = []
    start = clock.now()

    result = wait(api, CheckSelection(regex="^build"), FAST, events=events)

    assert result.outcome is Outcome.SUCCESS
    settled = 40 + APP_SETTLE_SECONDS
    assert settled <= clock.now() - start <= settled + FAST.max_poll_interval * 1.1
    assert any("status.yml cannot be read; settling" in e.message for e in events)


def test_a_token_that_may_not_list_runs_still_ends_the_wait_after_the_settle_window(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # `checks: read` alone: the runs on the commit (actions: read) cannot be listed.
    scenario_dict["tokens"]["dev"]["permissions"]["actions"] = "none"
    scenario = with_pipeline(scenario_dict, [{"name": "build (amd64)", "start": 0, "duration": 40}], 40)
    scenario = with_sibling(scenario, "Status", [{"name": "status-check", "start": 0, "duration": 600}], 600)
    emulator = start_emulator(scenario)
    api = make_api(emulator)
    start = clock.now()

    result = wait(api, CheckSelection(regex="^build"), FAST)

    assert result.outcome is Outcome.SUCCESS
    settled = 40 + APP_SETTLE_SECONDS
    assert settled <= clock.now() - start <= settled + FAST.max_poll_interval * 1.1
    assert len([r for r in emulator.requests if r.path.endswith("/actions/runs")]) == 1  # asked once


def test_a_named_check_is_waited_for_while_a_workflow_run_on_the_commit_is_queued(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    # The run waits 200 s for a runner, far past the grace period: no check run, but its suite.
    scenario = with_pipeline(scenario_dict, [{"name": "deploy", "start": 0, "duration": 10}], duration=10)
    scenario["repos"]["octo/app"]["workflows"][-1]["timeline"] = {"queued": 200, "duration": 10}
    api = make_api(start_emulator(scenario))

    result = wait(api, CheckSelection(names=("deploy",), discovery_timeout=30), FAST)

    assert result.outcome is Outcome.SUCCESS
    assert names(result) == ["deploy"]


def test_suites_are_read_at_the_start_and_when_the_checks_are_done_not_at_every_poll(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(with_checks(scenario_dict, app_check("build", duration=60)))
    api = make_api(emulator)

    wait(api, CheckSelection(regex="^build"), FAST)

    urls = [request.path for request in emulator.requests]
    reads = ["suites" if url.endswith("/check-suites") else "checks" for url in urls]
    assert reads.count("checks") > 20  # a minute of polls every second or two
    assert reads[:2] == ["checks", "suites"]
    assert reads[-2:] == ["checks", "suites"]
    assert reads.count("suites") == 2


# -- which jobs of a run in progress have reported (pure: `decide` over a view) -----------------

PR_YAML = """
on: push
jobs:
  backend-status-check:
    runs-on: ubuntu-latest
  changed-files:
    runs-on: ubuntu-latest
  vllm:
    name: vllm (${{ matrix.arch }})
    needs: changed-files
    strategy: {matrix: {arch: [amd64, arm64]}}
  operator:
    needs: changed-files
    strategy: {matrix: {arch: [amd64, arm64]}}
  trtllm:
    needs: changed-files
    uses: ./.github/workflows/trtllm.yml
"""


def pr_run_view(reported: dict[str, str | None], caller: CallerJob | None = None) -> ChecksView:
    """The commit's only run, pr.yaml, in progress; `reported`: its checks (name: conclusion)."""
    caller = caller or CallerJob()
    selection = CheckSelection(regex=r"^(vllm|operator|trtllm)", caller=caller)
    view = ChecksView(CheckMatcher.from_selection(selection), selection, start=0.0)
    checks = [
        CheckRun(
            i,
            name,
            "completed" if done else "in_progress",
            done,
            MAIN_SHA,
            "",
            "github-actions",
            1,
            None,
            None,
        )
        for i, (name, done) in enumerate(reported.items())
    ]
    view.seen = {(c.name, c.app): c for c in checks}
    view.suite_checks = {1: frozenset(reported)}
    view.suites = [CheckSuite(1, "github-actions", "in_progress", len(checks))]
    view.runs = {1: SuiteRun(42, "PR", ".github/workflows/pr.yaml")}
    view.jobs = {".github/workflows/pr.yaml": parse_workflow_jobs(PR_YAML)}
    view.own_suite = 1 if caller.run_id == 42 else None
    return view


def test_a_matrix_job_that_has_not_started_holds_the_wait() -> None:
    view = pr_run_view({"backend-status-check": None, "changed-files": "success"})

    verdict = decide(view, now=100.0)

    assert verdict.outcome is None
    (holding,) = [v for v in view.suite_verdicts(100.0) if v.holds]
    assert holding.why == "may still report vllm (${{ matrix.arch }}), operator (…), trtllm / …"


def test_a_matrix_job_whose_checks_are_there_has_reported_every_combination() -> None:
    # GitHub creates a matrix's jobs together; those beyond max-parallel wait queued.
    done = {"changed-files": "success", "vllm (amd64)": "success", "vllm (arm64)": "success"}
    view = pr_run_view({"backend-status-check": None, **done, "operator (amd64)": "success"})

    (holding,) = [v for v in view.suite_verdicts(100.0) if v.holds]

    assert holding.why == "may still report trtllm / …"  # a reusable workflow reports job by job


def test_the_own_run_with_every_matching_job_reported_does_not_hold_the_wait() -> None:
    pr_yaml_without_calls = PR_YAML.split("  trtllm:")[0]
    done = {"changed-files": "success", "vllm (amd64)": "success", "operator (arm64)": "success"}
    caller = CallerJob(run_id=42, job_id="backend-status-check")
    view = pr_run_view({"backend-status-check": None, **done}, caller)
    view.jobs = {".github/workflows/pr.yaml": parse_workflow_jobs(pr_yaml_without_calls)}

    verdict = decide(view, now=100.0)

    assert verdict.outcome is Outcome.SUCCESS
    (said,) = view.suite_verdicts(100.0)
    assert said.describe() == (
        "not waiting for PR (run 42, pr.yaml), this job's own run: no job left that could report a "
        "matching check"
    )


# -- conclusions ---------------------------------------------------------------------------------


def test_failed_check_is_a_conclusion_not_allowed(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario = with_checks(scenario_dict, app_check("build", duration=30, conclusion="failure"))
    api = make_api(start_emulator(scenario))

    result = wait(api, CheckSelection(names=("build",)))

    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED
    error = result.error()
    assert isinstance(error, ConclusionNotAllowedError)
    # Another app's check: named with its conclusion, then as the failure digest names it.
    assert error.message == 'checks failed on aaaaaaa: build (failure): check "build"'
    assert error.hint is not None and error.hint.startswith("open the failed check: http")


def test_without_fail_fast_waits_for_every_check_before_failing(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(
        scenario_dict,
        app_check("lint", duration=10, conclusion="failure"),
        app_check("test", duration=300),
    )
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(names=("lint", "test"), fail_fast=False))

    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED
    assert result.conclusions == {"lint": "failure", "test": "success"}
    assert clock.now() - start >= 300


def test_by_default_returns_at_the_first_failure_before_slower_checks_finish(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(
        scenario_dict,
        app_check("lint", duration=10, conclusion="failure"),
        app_check("test", duration=300),
    )
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = wait(api, CheckSelection(names=("lint", "test")))

    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED
    assert result.conclusions == {"lint": "failure", "test": None}
    assert 10 <= clock.now() - start < 30


def test_skipped_checks_are_allowed_by_default(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario = with_checks(
        scenario_dict, app_check("build", duration=30), app_check("deploy", duration=5, conclusion="skipped")
    )
    api = make_api(start_emulator(scenario))

    result = wait(api, CheckSelection(names=("build", "deploy")))

    assert result.outcome is Outcome.SUCCESS
    assert result.conclusions == {"build": "success", "deploy": "skipped"}


# -- only the newest run of a check counts -------------------------------------------------------


def test_only_the_rerun_counts_after_a_failed_run_is_rerun(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario_dict["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": MAIN_SHA,
            "head_branch": "main",
            "created": -600,
            "conclusion": ["failure", "success"],  # the first attempt fails, the re-run succeeds
        }
    ]
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator)
    run_id = api.get("/repos/octo/app/actions/runs", {"head_sha": MAIN_SHA}).data["workflow_runs"][0]["id"]
    assert api.post(f"/repos/octo/app/actions/runs/{run_id}/rerun").status == 201
    clock.advance(10)  # the re-run's job has started
    listed = api.get(f"/repos/octo/app/commits/{MAIN_SHA}/check-runs", {"filter": "latest"}).data
    assert [c["name"] for c in listed["check_runs"]] == ["build", "build"]  # one per check suite

    result = wait(api, CheckSelection(names=("build",)))

    assert result.outcome is Outcome.SUCCESS
    assert result.conclusions == {"build": "success"}


def test_a_check_of_the_same_name_from_another_app_is_another_check_and_its_failure_counts(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # Jenkins' `build` failed; Actions' `build` job succeeded, then was re-run and succeeded again
    # (the newest `build` of all). `filter=latest` keeps the newest per name *and suite*, and a
    # re-run makes a new suite of the *same* app: only within one app does a newer run of a name
    # replace an older one, so Jenkins' failure still counts.
    scenario = with_pipeline(scenario_dict, [{"name": "build", "start": 0, "duration": 30}], 30)
    scenario["repos"]["octo/app"]["runs"][0]["created"] = -600
    scenario = with_checks(
        scenario, app_check("build", created=-300, duration=10, conclusion="failure", app="jenkins")
    )
    api = make_api(start_emulator(scenario))
    run_id = api.get("/repos/octo/app/actions/runs", {"head_sha": MAIN_SHA}).data["workflow_runs"][0]["id"]
    assert api.post(f"/repos/octo/app/actions/runs/{run_id}/rerun").status == 201
    clock.advance(60)  # the re-run's build has succeeded

    result = wait(api, CheckSelection(names=("build",)))

    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED
    assert sorted((check.app, check.conclusion) for check in result.checks) == [
        ("github-actions", "success"),
        ("jenkins", "failure"),
    ]
    assert result.conclusions == {"build [github-actions]": "success", "build [jenkins]": "failure"}
    error = result.error()
    assert error is not None and "build (failure)" in error.message


# -- time and cost -------------------------------------------------------------------------------


def test_timeout_returns_on_time_with_the_checks_still_running(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    api = make_api(start_emulator(with_checks(scenario_dict, app_check("build", duration=3600))))
    start = clock.now()

    result = wait(api, CheckSelection(names=("build",)), WaitOptions(timeout=100, poll_interval=7))

    assert result.outcome is Outcome.TIMED_OUT
    assert 100 - 1e-6 <= clock.now() - start <= 100 + 1e-6
    assert result.waited == pytest.approx(100)
    assert result.conclusions == {"build": None}
    error = result.error()
    assert isinstance(error, WaitTimeoutError)
    assert "build" in error.message


def test_a_wait_for_every_check_on_a_commit_with_none_times_out_with_a_message_that_says_so(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    api = make_api(start_emulator(scenario_dict))

    result = wait(api, CheckSelection(), WaitOptions(timeout=5, poll_interval=1))

    assert result.outcome is Outcome.TIMED_OUT
    error = result.error()
    assert isinstance(error, WaitTimeoutError)
    assert error.message == f"no check appeared on {MAIN_SHA[:7]} (waited 5s)"
    assert "\n" not in error.message
    assert error.hint is not None and "checks-discovery-timeout" in error.hint


def test_github_failing_until_the_deadline_returns_on_time_with_the_last_snapshot(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    emulator = start_emulator(with_checks(scenario_dict, app_check("build", duration=3600)))
    # The first poll is answered; every later one gets a 502, retried until the deadline.
    emulator.inject(Fault(host="api", path="/repos/*/check-runs", status=502, times=None, after=1))
    api = make_api(emulator)
    start = clock.now()

    result = wait(api, CheckSelection(names=("build",)), WaitOptions(timeout=60))

    assert result.outcome is Outcome.TIMED_OUT
    assert clock.now() - start <= 60
    assert result.conclusions == {"build": None}
    assert result.cost.retries > 0


def test_github_failing_before_the_first_answer_raises_its_error(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    emulator = start_emulator(with_checks(scenario_dict, app_check("build", duration=3600)))
    emulator.inject(Fault(host="api", path="/repos/*/check-runs", status=502, times=None))
    api = make_api(emulator)
    start = clock.now()

    with pytest.raises(DeadlineExceededError, match="502"):
        wait(api, CheckSelection(names=("build",)), WaitOptions(timeout=10))

    assert clock.now() - start <= 10


def test_unchanged_polls_are_answered_304_and_spend_almost_no_rate_limit(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    api = make_api(start_emulator(with_checks(scenario_dict, app_check("build", duration=1800))))

    result = wait(api, CheckSelection(names=("build",)))

    assert result.outcome is Outcome.SUCCESS
    assert result.cost.requests > 30  # it polled all along...
    assert result.cost.not_modified > 0
    assert api.stats.not_modified == result.cost.not_modified
    assert result.cost.rate_limit_units < 10  # ...but only the answers that changed cost a unit


def test_reads_every_page_when_a_commit_has_more_than_100_checks(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    checks = [app_check(f"shard {i:03}", created=-10, duration=5) for i in range(130)]
    api = make_api(start_emulator(with_checks(scenario_dict, *checks)))

    result = wait(api, CheckSelection(names=tuple(c["name"] for c in checks)))

    assert result.outcome is Outcome.SUCCESS
    assert len(result.checks) == 130


def test_keeps_reading_later_pages_while_page_one_is_answered_304(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    # Check runs are listed newest first: the one created first, and still running, is on page 2.
    slow = app_check("shard 000", created=-20, duration=300)
    quick = [app_check(f"shard {i:03}", created=-10, duration=5) for i in range(1, 130)]
    api = make_api(start_emulator(with_checks(scenario_dict, slow, *quick)))

    result = wait(api, CheckSelection(names=("shard 000",)))

    assert result.outcome is Outcome.SUCCESS
    assert result.conclusions == {"shard 000": "success"}


# -- input and progress --------------------------------------------------------------------------


def test_invalid_regex_is_a_usage_error_before_any_request(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator)

    with pytest.raises(UsageError, match=r"not a valid regular expression: missing \), unterminated"):
        wait(api, CheckSelection(regex="test (ubuntu"))

    assert emulator.requests == []


def test_reports_checks_appearing_and_completing_and_each_poll(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario = with_checks(scenario_dict, app_check("build", duration=20), app_check("test", duration=40))
    api = make_api(start_emulator(scenario))
    events: list[ProgressEvent] = []

    wait(api, CheckSelection(names=("build", "test")), events=events)

    assert {event.subject for event in events} == {"checks on aaaaaaa"}
    checks = [event.message for event in events if event.kind is ProgressKind.CHECK]
    assert checks == [
        "build appeared: in_progress",
        "test appeared: in_progress",
        "build completed: success",
        "test completed: success",
    ]
    first_poll = next(event for event in events if event.kind is ProgressKind.POLL)
    assert re.fullmatch(
        r"waiting for 2 checks: build \(in_progress\), test \(in_progress\); next poll in ([5-9]|10)s",
        first_poll.message,
    )
    assert first_poll.elapsed == 0
    # The governor's cadence: poll-interval to twice it.
    assert first_poll.next_poll_in is not None and 5 <= first_poll.next_poll_in <= 10


# -- one read, no wait (advance mode) ------------------------------------------------------------


def test_one_read_is_undecided_while_a_selected_check_runs_and_never_sleeps(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(scenario_dict, app_check("lint", duration=30), app_check("test", duration=90))
    api = make_api(start_emulator(scenario))
    start = clock.now()

    result = read_checks_once(
        api, APP, MAIN_SHA, CheckSelection(names=("lint", "test")), OPTIONS, settled=True
    )

    assert result is None
    assert clock.now() == start


def test_one_read_gives_the_waits_result_once_the_checks_are_done(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(
        scenario_dict, app_check("lint", created=-60, duration=30, conclusion="failure"), app_check("test")
    )
    api = make_api(start_emulator(scenario))

    result = read_checks_once(api, APP, MAIN_SHA, CheckSelection(names=("lint", "test")), OPTIONS)

    assert result is not None
    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED  # fail-fast: the wait ends at lint too
    assert names(result) == ["lint", "test"]


def test_a_named_check_missing_is_undecided_in_its_grace_unless_the_carrying_runs_are_done(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(scenario_dict, app_check("build", created=-30, duration=10))
    api = make_api(start_emulator(scenario))
    selection = CheckSelection(names=("build", "deploy"), discovery_timeout=60)

    assert read_checks_once(api, APP, MAIN_SHA, selection, OPTIONS) is None
    settled = read_checks_once(api, APP, MAIN_SHA, selection, OPTIONS, settled=True)

    # As the wait reports it once its grace has passed, without the wait.
    assert settled is not None
    assert (settled.outcome, settled.missing) == (Outcome.TIMED_OUT, ("deploy",))
    assert settled == replace(wait(api, selection), waited=settled.waited, cost=settled.cost)


def test_one_read_past_the_waits_deadline_that_decides_nothing_is_the_waits_timeout(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    scenario = with_checks(scenario_dict, app_check("lint", duration=30), app_check("test", duration=90))
    api = make_api(start_emulator(scenario))
    clock.advance(40)  # lint is done, test still runs

    selection = CheckSelection(names=("lint", "test"))
    result = read_checks_once(api, APP, MAIN_SHA, selection, OPTIONS, timed_out=True)

    assert result is not None
    assert result.outcome is Outcome.TIMED_OUT
    assert [(c.name, c.status) for c in result.checks] == [("lint", "completed"), ("test", "in_progress")]
    error = result.error()
    assert error is not None
    assert (
        error.message.startswith("checks on aaaaaaa still running after")
        and "test (in_progress)" in error.message
    )
