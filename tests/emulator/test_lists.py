"""Listing runs: eventual consistency, filters, ordering and GitHub's pagination."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import github

from tests.emulator.conftest import FEATURE_SHA, MAIN_SHA, Http
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.support.clock import ManualClock

RUNS = "/repos/octo/app/actions/runs"


def _ids(response: Any) -> list[int]:
    return [r["id"] for r in response.json()["workflow_runs"]]


def test_dispatched_run_shows_in_lists_only_after_the_visibility_delay(
    http: Http, clock: ManualClock
) -> None:
    run_id = http.dispatch_run_id()
    assert run_id not in _ids(http.get(RUNS))
    assert http.get(f"{RUNS}/{run_id}").status_code == 200
    clock.advance(3)
    assert run_id in _ids(http.get(RUNS))


def test_runs_are_listed_newest_first(http: Http, clock: ManualClock) -> None:
    first = http.dispatch_run_id()
    clock.advance(1)
    second = http.dispatch_run_id()
    clock.advance(5)
    assert _ids(http.get(RUNS))[:2] == [second, first]


def test_head_sha_filter(http: Http, clock: ManualClock) -> None:
    feature = http.dispatch(ref="feature/x", return_run_details=True).json()["workflow_run_id"]
    clock.advance(5)
    assert _ids(http.get(RUNS, params={"head_sha": FEATURE_SHA})) == [feature]


def test_event_branch_and_actor_filters(http: Http, clock: ManualClock) -> None:
    mine = http.dispatch(token="ci", ref="feature/x", return_run_details=True).json()["workflow_run_id"]
    clock.advance(5)
    params = {"event": "workflow_dispatch", "branch": "feature/x", "actor": "github-actions[bot]"}
    assert _ids(http.get(RUNS, params=params)) == [mine]
    assert _ids(http.get(RUNS, params={"event": "push"})) != [mine]


def test_status_filter_takes_a_status_or_a_conclusion(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(10)
    assert _ids(http.get(RUNS, params={"status": "in_progress"})) == [run_id]
    assert len(_ids(http.get(RUNS, params={"status": "failure"}))) == 1  # the scenario's push run
    assert _ids(http.get(RUNS, params={"status": "completed"})) != [run_id]


def test_created_filter_uses_search_date_syntax(http: Http, clock: ManualClock) -> None:
    # The ManualClock starts at 2026-01-01T00:00:00Z; the scenario's push run is 10 minutes older.
    run_id = http.dispatch_run_id()
    clock.advance(5)
    assert _ids(http.get(RUNS, params={"created": ">=2026-01-01T00:00:00Z"})) == [run_id]
    assert run_id not in _ids(http.get(RUNS, params={"created": "<2026-01-01T00:00:00Z"}))
    assert len(_ids(http.get(RUNS, params={"created": "2025-12-31T23:50:00Z..2026-01-01T00:00:00Z"}))) == 2
    assert len(_ids(http.get(RUNS, params={"created": "2026-01-01"}))) == 1
    assert len(_ids(http.get(RUNS, params={"created": ">2026-01-01T00:00:00+01:00"}))) == 2


def test_created_filter_has_one_second_precision(http: Http, clock: ManualClock) -> None:
    clock.advance(0.4)
    first = http.dispatch_run_id()
    clock.advance(0.4)
    second = http.dispatch_run_id()
    clock.advance(5)
    assert set(_ids(http.get(RUNS, params={"created": "2026-01-01T00:00:00Z"}))) == {first, second}


def test_workflow_runs_list_only_that_workflow(http: Http, clock: ManualClock) -> None:
    http.post("/repos/octo/app/dispatches", {"event_type": "release"})
    clock.advance(5)
    runs = http.get("/repos/octo/app/actions/workflows/release.yml/runs").json()
    assert [r["path"] for r in runs["workflow_runs"]] == [".github/workflows/release.yml"]


def test_total_count_counts_every_page(http: Http, clock: ManualClock) -> None:
    for _ in range(4):
        http.dispatch()
    clock.advance(5)
    body = http.get(RUNS, params={"per_page": 2}).json()
    assert body["total_count"] == 5
    assert len(body["workflow_runs"]) == 2


def test_link_header_on_the_first_page_has_next_and_last(
    http: Http, emu: Emulator, clock: ManualClock
) -> None:
    for _ in range(4):
        http.dispatch()
    clock.advance(5)
    link = http.get(RUNS, params={"event": "workflow_dispatch", "per_page": 2}).headers["Link"]
    base = f"{emu.api_url}/repositories/700000001/actions/runs"
    assert link == (
        f'<{base}?event=workflow_dispatch&per_page=2&page=2>; rel="next", '
        f'<{base}?event=workflow_dispatch&per_page=2&page=2>; rel="last"'
    )


def test_link_header_on_a_middle_page_has_prev_next_last_first(http: Http, clock: ManualClock) -> None:
    for _ in range(5):
        http.dispatch()
    clock.advance(5)
    link = http.get(RUNS, params={"per_page": 2, "page": 2}).headers["Link"]
    assert re.findall(r'page=(\d)>; rel="(\w+)"', link) == [
        ("1", "prev"),
        ("3", "next"),
        ("3", "last"),
        ("1", "first"),
    ]


def test_link_header_on_the_last_page_has_prev_and_first(http: Http, clock: ManualClock) -> None:
    for _ in range(3):
        http.dispatch()
    clock.advance(5)
    link = http.get(RUNS, params={"per_page": 2, "page": 2}).headers["Link"]
    assert re.findall(r'rel="(\w+)"', link) == ["prev", "first"]


def test_single_page_has_no_link_header(http: Http) -> None:
    assert "Link" not in http.get(RUNS).headers


def test_link_urls_can_be_followed(http: Http, clock: ManualClock) -> None:
    for _ in range(3):
        http.dispatch()
    clock.advance(5)
    first = http.get(RUNS, params={"per_page": 2})
    next_url = first.links["next"]["url"]
    second = http.get(next_url)
    assert second.status_code == 200
    assert set(_ids(first)).isdisjoint(_ids(second))


def test_per_page_is_capped_at_100(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["runs"] = [
        {"workflow": "lint.yml", "head_sha": MAIN_SHA, "created": -n} for n in range(1, 106)
    ]
    http = Http(start(scenario))
    body = http.get(RUNS, params={"per_page": 500}).json()
    assert (body["total_count"], len(body["workflow_runs"])) == (105, 100)


def test_pygithub_get_runs_with_head_sha_pages_through_everything(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["runs"] = [
        {"workflow": "deploy.yml", "head_sha": MAIN_SHA, "created": -n} for n in range(1, 41)
    ]
    emu = start(scenario)
    gh = github.Github(
        base_url=emu.api_url,
        auth=github.Auth.Token(emu.token("dev")),
        retry=None,
        per_page=15,
        seconds_between_requests=None,
    )
    runs = gh.get_repo("octo/app").get_workflow("deploy.yml").get_runs(head_sha=MAIN_SHA)
    assert runs.totalCount == 40
    assert len({r.id for r in runs}) == 40
    gh.close()


def test_workflows_are_listed(http: Http) -> None:
    body = http.get("/repos/octo/app/actions/workflows").json()
    assert body["total_count"] == 3
    assert body["workflows"][0]["id"] == 1001
    assert http.get("/repos/octo/app/actions/workflows/1001").json()["path"] == ".github/workflows/deploy.yml"


def test_disabling_a_workflow_blocks_dispatch(http: Http, emu: Emulator) -> None:
    response = http.session.put(
        f"{emu.api_url}/repos/octo/app/actions/workflows/deploy.yml/disable",
        headers=http.headers("dev", None),
    )
    assert response.status_code == 204
    assert http.get("/repos/octo/app/actions/workflows/deploy.yml").json()["state"] == "disabled_manually"
    assert http.dispatch().status_code == 422
