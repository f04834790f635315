"""Workflow runs: their life from requested to completed, names, attempts, jobs and cancelling."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import github
import pytest

from tests.emulator.conftest import MAIN_SHA, Http
from tests.support.github_facts import RUN_CONCLUSIONS
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import ManualClock


def _run(http: Http, run_id: int, suffix: str = "") -> dict[str, Any]:
    response = http.get(f"/repos/octo/app/actions/runs/{run_id}{suffix}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_run_goes_through_queued_in_progress_completed(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    seen = []
    for _ in range(4):
        run = _run(http, run_id)
        seen.append((run["status"], run["conclusion"]))
        clock.advance(50)
    assert seen == [("queued", None), ("in_progress", None), ("in_progress", None), ("completed", "success")]


def test_timeline_phases_show_requested_pending_and_waiting(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    workflow = scenario["repos"]["octo/app"]["workflows"][0]
    workflow["timeline"] = {"requested": 2, "pending": 10, "queued": 5, "waiting": 10, "duration": 30}
    http = Http(start(scenario))
    run_id = http.dispatch_run_id()
    statuses = []
    for step in (3, 5, 5, 5, 10, 30):
        statuses.append(_run(http, run_id)["status"])
        clock.advance(step)
    assert statuses == ["requested", "pending", "pending", "queued", "waiting", "in_progress"]
    assert _run(http, run_id)["status"] == "completed"


@pytest.mark.parametrize("conclusion", RUN_CONCLUSIONS)
def test_run_ends_with_the_scenario_conclusion(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock, conclusion: str
) -> None:
    scenario["repos"]["octo/app"]["workflows"][0]["conclusion"] = conclusion
    http = Http(start(scenario))
    run_id = http.dispatch_run_id()
    clock.advance(200)
    run = _run(http, run_id)
    assert (run["status"], run["conclusion"]) == ("completed", conclusion)


def test_conclusion_list_is_taken_in_turn_by_successive_runs(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["repos"]["octo/app"]["workflows"][0]["conclusion"] = ["failure", "success"]
    http = Http(start(scenario))
    first, second = http.dispatch_run_id(), http.dispatch_run_id()
    clock.advance(200)
    assert [_run(http, r)["conclusion"] for r in (first, second)] == ["failure", "success"]


def test_run_name_gives_display_title_and_name(http: Http) -> None:
    run = _run(http, http.dispatch_run_id(correlation_id="abc-123"))
    assert run["display_title"] == "Deploy dev [abc-123]"
    assert run["name"] == "Deploy dev [abc-123]"


def test_without_run_name_a_dispatch_is_titled_with_the_workflow_name(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    del scenario["repos"]["octo/app"]["workflows"][0]["run_name"]
    http = Http(start(scenario))
    run = _run(http, http.dispatch_run_id())
    assert (run["name"], run["display_title"]) == ("Deploy", "Deploy")


def test_push_run_without_run_name_is_titled_with_the_commit_message(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    del scenario["repos"]["octo/app"]["workflows"][0]["run_name"]
    http = Http(start(scenario))
    run = http.get("/repos/octo/app/actions/runs", params={"event": "push"}).json()["workflow_runs"][0]
    assert run["display_title"] == "Add login page (#42)"
    assert run["name"] == "Deploy"


def test_run_numbers_count_up_per_workflow(http: Http) -> None:
    numbers = [_run(http, http.dispatch_run_id())["run_number"] for _ in range(2)]
    assert numbers == [2, 3]  # the scenario's push run is number 1


def test_jobs_and_step_names_are_rendered_with_inputs(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id(correlation_id="c-9")
    clock.advance(70)
    jobs = http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()["jobs"]
    assert [j["name"] for j in jobs] == ["build", "deploy"]
    assert [s["name"] for s in jobs[1]["steps"]] == ["Deploy c-9"]


def test_a_job_appears_only_once_it_starts(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    counts = []
    for step in (0, 10, 60):
        clock.advance(step)
        counts.append(http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()["total_count"])
    assert counts == [0, 1, 2]


def test_failed_run_fails_its_last_job_and_step(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["repos"]["octo/app"]["workflows"][0]["conclusion"] = "failure"
    http = Http(start(scenario))
    run_id = http.dispatch_run_id()
    clock.advance(200)
    jobs = http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()["jobs"]
    assert [j["conclusion"] for j in jobs] == ["success", "failure"]
    assert jobs[1]["steps"][-1]["conclusion"] == "failure"


def test_get_job_by_id(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(10)
    job = http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()["jobs"][0]
    again = http.get(f"/repos/octo/app/actions/jobs/{job['id']}").json()
    assert again["run_id"] == run_id
    assert again["status"] == "in_progress"


def test_cancel_answers_202_and_the_run_is_cancelled_at_once(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(30)
    assert http.post(f"/repos/octo/app/actions/runs/{run_id}/cancel").status_code == 202
    run = _run(http, run_id)
    assert (run["status"], run["conclusion"]) == ("completed", "cancelled")
    jobs = http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()["jobs"]
    assert jobs[0]["conclusion"] == "cancelled"


def test_cancel_of_a_completed_run_answers_409(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(200)
    response = http.post(f"/repos/octo/app/actions/runs/{run_id}/cancel")
    assert response.status_code == 409
    assert response.json()["message"] == "Cannot cancel a workflow run that is completed."


def test_force_cancel_answers_202(http: Http) -> None:
    run_id = http.dispatch_run_id()
    assert http.post(f"/repos/octo/app/actions/runs/{run_id}/force-cancel").status_code == 202
    assert _run(http, run_id)["conclusion"] == "cancelled"


def test_read_only_token_cannot_cancel(http: Http) -> None:
    run_id = http.dispatch_run_id()
    assert http.post(f"/repos/octo/app/actions/runs/{run_id}/cancel", token="ro").status_code == 403


def test_rerun_keeps_the_id_and_raises_run_attempt(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(200)
    assert http.post(f"/repos/octo/app/actions/runs/{run_id}/rerun").status_code == 201
    clock.advance(1)
    run = _run(http, run_id)
    assert (run["id"], run["run_attempt"], run["status"]) == (run_id, 2, "queued")
    assert run["previous_attempt_url"].endswith(f"/actions/runs/{run_id}/attempts/1")


def test_rerun_resets_run_started_at(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    before = _run(http, run_id)["run_started_at"]
    clock.advance(200)
    http.post(f"/repos/octo/app/actions/runs/{run_id}/rerun")
    after = _run(http, run_id)
    assert after["run_started_at"] > before
    assert after["created_at"] == before


def test_attempts_serve_earlier_attempts(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["repos"]["octo/app"]["workflows"][0]["conclusion"] = ["failure", "success"]
    http = Http(start(scenario))
    run_id = http.dispatch_run_id()
    clock.advance(200)
    http.post(f"/repos/octo/app/actions/runs/{run_id}/rerun")
    clock.advance(200)
    first = _run(http, run_id, "/attempts/1")
    second = _run(http, run_id, "/attempts/2")
    assert (first["run_attempt"], first["conclusion"]) == (1, "failure")
    assert (second["run_attempt"], second["conclusion"]) == (2, "success")
    assert http.get(f"/repos/octo/app/actions/runs/{run_id}/attempts/3").status_code == 404


def test_jobs_list_only_the_latest_attempt_unless_filter_all(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(200)
    http.post(f"/repos/octo/app/actions/runs/{run_id}/rerun")
    clock.advance(200)
    latest = http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()
    every = http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs", params={"filter": "all"}).json()
    assert {j["run_attempt"] for j in latest["jobs"]} == {2}
    assert every["total_count"] == 4
    first = http.get(f"/repos/octo/app/actions/runs/{run_id}/attempts/1/jobs").json()
    assert {j["run_attempt"] for j in first["jobs"]} == {1}


def test_rerun_of_a_running_run_is_refused(http: Http) -> None:
    run_id = http.dispatch_run_id()
    assert http.post(f"/repos/octo/app/actions/runs/{run_id}/rerun").status_code == 403


def test_rerun_failed_jobs_reruns_only_the_failed_job(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["repos"]["octo/app"]["workflows"][0]["conclusion"] = ["failure", "success"]
    http = Http(start(scenario))
    run_id = http.dispatch_run_id()
    clock.advance(200)
    assert http.post(f"/repos/octo/app/actions/runs/{run_id}/rerun-failed-jobs").status_code == 201
    clock.advance(200)
    jobs = http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()["jobs"]
    assert [(j["name"], j["conclusion"]) for j in jobs] == [("deploy", "success")]


def test_scenario_run_with_several_attempts(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["runs"][0]["run_attempt"] = 3
    http = Http(start(scenario))
    run = http.get("/repos/octo/app/actions/runs", params={"event": "push"}).json()["workflow_runs"][0]
    assert run["run_attempt"] == 3
    assert http.get(f"/repos/octo/app/actions/runs/{run['id']}/attempts/1").status_code == 200


def test_scenario_run_created_in_the_future_appears_then(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["repos"]["octo/app"]["runs"][0]["created"] = 60
    http = Http(start(scenario))
    assert http.get("/repos/octo/app/actions/runs").json()["total_count"] == 0
    clock.advance(60)
    assert http.get("/repos/octo/app/actions/runs").json()["total_count"] == 1


def test_fork_run_reports_the_fork_as_head_repository(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["runs"][0]["head_repository"] = "mallory/app"
    http = Http(start(scenario))
    run = http.get("/repos/octo/app/actions/runs").json()["workflow_runs"][0]
    assert run["head_repository"]["full_name"] == "mallory/app"
    assert run["head_repository"]["fork"] is True
    assert run["head_repository_id"] != run["repository"]["id"]


def test_timing_reports_the_duration_of_a_completed_run(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(500)
    assert http.get(f"/repos/octo/app/actions/runs/{run_id}/timing").json()["run_duration_ms"] == 125_000


def test_pygithub_cancel_and_rerun(gh: github.Github, clock: ManualClock) -> None:
    repo = gh.get_repo("octo/app")
    run = repo.get_workflow("deploy.yml").create_dispatch(
        "main", {"environment": "dev"}, throw=True, return_run_details=True
    )
    assert run.cancel() is True
    run = repo.get_workflow_run(run.id)
    assert run.conclusion == "cancelled"
    assert run.rerun() is True
    clock.advance(200)
    run.update()
    assert (run.run_attempt, run.conclusion) == (2, "success")


def test_pygithub_lists_jobs_and_steps(gh: github.Github, clock: ManualClock) -> None:
    repo = gh.get_repo("octo/app")
    run = repo.get_workflow("deploy.yml").get_runs(head_sha=MAIN_SHA)[0]
    jobs = list(run.jobs())
    assert [j.name for j in jobs] == ["build", "deploy"]
    assert jobs[0].steps[0].name == "Set up job"


@pytest.mark.parametrize("speed", [30, 120])
def test_a_scenario_told_faster_keeps_real_timestamps_and_only_shortens_the_waits(
    scenario: dict[str, Any], clock: ManualClock, speed: int
) -> None:
    # GitHub's timestamps advance with real time whatever the pace of the story: a run dispatched
    # now is created now, and an earlier run never looks newer than a client's "now".
    with Emulator(Scenario.from_dict(scenario).at_speed(speed), clock=clock) as emulator:
        http = Http(emulator)
        clock.advance(60)
        answer = http.dispatch(return_run_details=True, inputs={"environment": "dev"})
        run_id = answer.json()["workflow_run_id"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now()))
        assert email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp() == clock.now()
        assert _run(http, run_id)["created_at"] == now
        clock.advance(125 / speed)  # queued 5 s and 120 s in progress, told `speed` times faster
        run = _run(http, run_id)
        assert (run["status"], run["conclusion"]) == ("completed", "success")
        jobs = http.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()["jobs"]
        assert [job["status"] for job in jobs] == ["completed", "completed"]
