"""The commit's check suites behave as GitHub's do, which is what a checks wait decides from.

GitHub (REST docs "Check suites"; docs/github-behaviour.md): GitHub Actions makes one suite per
workflow run, `queued`/`in_progress` until the run's last job ends; other apps get a suite on
every push, which stays `queued` with `latest_check_runs_count: 0` for as long as the app creates
no check run, forever for one that never does (the recording CheckSuite.testGetCheckSuitesForRef:
dependabot, pygithubtest and prosebot2 days after the push, beside suites that reported).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.conftest import MAIN_SHA, REPO, SCENARIO, Api
from tests.support.openapi import OpenApiSpec, assert_conforms
from tests.support.recordings import load_exchanges
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import ManualClock

SUITES = f"{REPO}/commits/{MAIN_SHA}/check-suites"


@pytest.fixture
def suites_api(clock: ManualClock) -> Iterator[Api]:
    """The conformance scenario plus a silent dependabot suite and an app that reports late."""
    data: dict[str, Any] = copy.deepcopy(SCENARIO)
    repo = data["repos"]["octo/app"]
    repo["check_suites"] = [
        {"app": "dependabot", "head_sha": MAIN_SHA, "created": -30},
        {"app": "late-ci", "head_sha": MAIN_SHA, "created": -30},
    ]
    repo["check_runs"].append(
        {
            "name": "late",
            "head_sha": MAIN_SHA,
            "app": "late-ci",
            "created": 20,
            "timeline": {"queued": 0, "duration": 10},
            "conclusion": "success",
        }
    )
    with Emulator(Scenario.from_dict(data), clock=clock) as emulator:
        yield Api(emulator, emulator.token("dev"))


def _by_app(api: Api) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for suite in api.json(SUITES)["check_suites"]:
        out.setdefault(suite["app"]["slug"], []).append(suite)
    return out


def _recorded_silent_suites() -> list[dict[str, Any]]:
    (exchange,) = [
        e for e in load_exchanges("CheckSuite.testGetCheckSuitesForRef") if "check_suites" in e.response_body
    ][-1:]
    body = exchange.response_json
    return [s for s in body["check_suites"] if s["latest_check_runs_count"] == 0]


def test_recording_has_app_suites_that_stay_queued_with_no_check_runs() -> None:
    # What the emulator models, as GitHub sent it: queued, no conclusion, never updated.
    silent = _recorded_silent_suites()
    assert {s["app"]["slug"] for s in silent} >= {"dependabot", "prosebot2"}
    assert all(s["status"] == "queued" and s["conclusion"] is None for s in silent)
    assert all(s["created_at"] == s["updated_at"] for s in silent)


def test_app_suite_without_check_runs_stays_queued_like_the_recorded_ones(
    suites_api: Api, clock: ManualClock
) -> None:
    clock.advance(86_400)
    (dependabot,) = _by_app(suites_api)["dependabot"]
    recorded = _recorded_silent_suites()[0]
    picked = ("status", "conclusion", "latest_check_runs_count")
    assert {k: dependabot[k] for k in picked} == {k: recorded[k] for k in picked}
    assert dependabot["created_at"] == dependabot["updated_at"]
    assert set(recorded) - set(dependabot) == set()


def test_app_suite_is_queued_until_its_first_check_run_then_follows_its_runs(
    suites_api: Api, clock: ManualClock
) -> None:
    def late() -> tuple[str, int]:
        (suite,) = _by_app(suites_api)["late-ci"]
        return suite["status"], suite["latest_check_runs_count"]

    assert late() == ("queued", 0)
    clock.advance(25)
    assert late() == ("in_progress", 1)
    clock.advance(10)
    assert late() == ("completed", 1)


def test_actions_suite_is_in_progress_until_its_run_ends(suites_api: Api, clock: ManualClock) -> None:
    # The conformance scenario's deploy.yml push run started 60 s ago and lasts 600 s.
    runs = suites_api.json(f"{REPO}/actions/runs?head_sha={MAIN_SHA}&status=in_progress")["workflow_runs"]
    suite_id = runs[0]["check_suite_id"]

    def status() -> str:
        (suite,) = [s for s in _by_app(suites_api)["github-actions"] if s["id"] == suite_id]
        return str(suite["status"])

    assert status() == "in_progress"
    clock.advance(539)
    assert status() == "in_progress"
    clock.advance(2)
    assert status() == "completed"


def test_check_suites_answer_conforms_throughout(
    suites_api: Api, clock: ManualClock, spec: OpenApiSpec
) -> None:
    violations: list[str] = []
    for step in (0, 25, 600):
        clock.advance(step)
        violations += spec.check_requests_response(suites_api.get(SUITES))
    assert_conforms(violations, "check suites")


def test_created_at_of_a_suite_is_an_iso_time(suites_api: Api) -> None:
    for suite in suites_api.json(SUITES)["check_suites"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", suite["created_at"])
