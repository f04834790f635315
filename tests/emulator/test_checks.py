"""Check runs and suites for a ref (REST docs "Check runs"; docs/github-behaviour.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import github

from tests.emulator.conftest import MAIN_SHA, TAG_SHA, Http
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.support.clock import ManualClock

CHECKS = f"/repos/octo/app/commits/{MAIN_SHA}/check-runs"


def _names(http: Http, path: str = CHECKS, **params: str) -> list[str]:
    return [c["name"] for c in http.get(path, params=params).json()["check_runs"]]


def test_scenario_check_runs_and_started_jobs_are_listed(http: Http) -> None:
    # The push run (-600 s, 300 s long) is over: both its jobs ran; DCO (app) is done too.
    assert sorted(_names(http)) == ["DCO", "build", "deploy"]


def test_ref_may_be_a_branch_tag_or_sha(http: Http) -> None:
    assert sorted(_names(http, "/repos/octo/app/commits/main/check-runs")) == ["DCO", "build", "deploy"]
    assert http.get("/repos/octo/app/commits/v1.0.0/check-runs").json()["total_count"] == 0
    assert http.get("/repos/octo/app/commits/1111111/check-runs").status_code == 200


def test_a_commit_ref_may_say_heads_or_tags(http: Http) -> None:
    # OpenAPI `commit-ref`: "a commit SHA, branch name (`heads/BRANCH_NAME`), or tag name
    # (`tags/TAG_NAME`)"; `plan --emit-workflow` resolves the action's release tag so.
    assert http.get("/repos/octo/app/commits/tags/v1.0.0").json()["sha"] == TAG_SHA
    assert http.get("/repos/octo/app/commits/heads/main").json()["sha"] == MAIN_SHA
    assert http.get("/repos/octo/app/commits/tags/main").status_code == 422
    assert http.get("/repos/octo/app/commits/heads/main/check-runs").json()["total_count"] == 3


def test_unknown_ref_answers_422(http: Http) -> None:
    response = http.get("/repos/octo/app/commits/nope/check-runs")
    assert response.status_code == 422
    assert response.json()["message"] == "No commit found for SHA: nope"


def test_jobs_become_check_runs_only_when_they_start(http: Http, clock: ManualClock) -> None:
    http.dispatch()
    clock.advance(10)
    assert _names(http, filter="all").count("deploy") == 1  # only the push run's
    clock.advance(60)
    assert _names(http, filter="all").count("deploy") == 2


def test_check_name_status_and_app_filters(http: Http, clock: ManualClock) -> None:
    http.dispatch()
    clock.advance(10)
    assert _names(http, check_name="DCO") == ["DCO"]
    assert _names(http, status="in_progress") == ["build"]
    actions = http.get(CHECKS, params={"app_id": "15368"}).json()["check_runs"]
    assert {c["app"]["slug"] for c in actions} == {"github-actions"}


def test_rerun_adds_check_runs_in_a_new_suite_so_latest_repeats_the_name(
    http: Http, clock: ManualClock
) -> None:
    runs = http.get("/repos/octo/app/actions/runs").json()["workflow_runs"]
    assert http.post(f"/repos/octo/app/actions/runs/{runs[0]['id']}/rerun").status_code == 201
    clock.advance(200)
    checks = http.get(CHECKS, params={"check_name": "build"}).json()["check_runs"]
    assert len(checks) == 2
    assert len({c["check_suite"]["id"] for c in checks}) == 2


def test_filter_latest_keeps_the_newest_run_of_a_name_within_a_suite(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["check_runs"].append(
        {
            "name": "DCO",
            "head_sha": MAIN_SHA,
            "app": "dco",
            "created": -10,
            "timeline": {"duration": 5},
            "conclusion": "failure",
        }
    )
    http = Http(start(scenario))
    latest = http.get(CHECKS, params={"check_name": "DCO"}).json()["check_runs"]
    every = http.get(CHECKS, params={"check_name": "DCO", "filter": "all"}).json()["check_runs"]
    assert [c["conclusion"] for c in latest] == ["failure"]
    assert len(every) == 2


def test_check_suites_for_a_ref(http: Http) -> None:
    suites = http.get(f"/repos/octo/app/commits/{MAIN_SHA}/check-suites").json()
    assert {s["app"]["slug"] for s in suites["check_suites"]} == {"github-actions", "dco"}
    suite = suites["check_suites"][0]
    assert http.get(f"/repos/octo/app/check-suites/{suite['id']}").json()["id"] == suite["id"]
    assert http.get(suite["check_runs_url"]).json()["total_count"] >= 1


def test_check_run_by_id(http: Http) -> None:
    check = http.get(CHECKS, params={"check_name": "build"}).json()["check_runs"][0]
    assert http.get(f"/repos/octo/app/check-runs/{check['id']}").json()["name"] == "build"


def test_a_jobs_check_run_has_the_jobs_id(http: Http) -> None:
    run = http.get("/repos/octo/app/actions/runs").json()["workflow_runs"][0]
    job = http.get(f"/repos/octo/app/actions/runs/{run['id']}/jobs").json()["jobs"][0]
    assert http.get(job["check_run_url"]).json()["id"] == job["id"]


def test_token_without_checks_read_is_refused(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["tokens"]["ro"]["permissions"]["checks"] = "none"
    http = Http(start(scenario))
    response = http.get(CHECKS, token="ro")
    assert response.status_code == 403
    assert response.headers["X-Accepted-GitHub-Permissions"] == "checks=read"


def test_pygithub_get_check_runs(gh: github.Github) -> None:
    commit = gh.get_repo("octo/app").get_commit("main")
    names = sorted(c.name for c in commit.get_check_runs())
    assert names == ["DCO", "build", "deploy"]
    assert [c.name for c in commit.get_check_runs(check_name="DCO", status="completed")] == ["DCO"]
