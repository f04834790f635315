"""Waiting for runs: every status and conclusion, re-run attempts, timeouts that end on time,
conditional polls that cost nothing on a fixed cadence, and many runs on one shared poll budget.
The poll governor's own behaviour (slowing down, sharing across waiters) is in
test_poll_governor.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import MAIN_SHA
from tests.support.github_facts import RUN_CONCLUSIONS
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
from wait_and_dispatch.engine.requests import WaitOptions, parse_conclusions
from wait_and_dispatch.engine.results import ApiCost, Outcome, RunResult
from wait_and_dispatch.engine.waiting import RunTarget, wait_for_run, wait_for_runs
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import ConclusionNotAllowedError, WaitTimeoutError

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]
APP = Repository("octo", "app")


def add_run(scenario: dict[str, Any], **fields: Any) -> None:
    run: dict[str, Any] = {
        "workflow": "build.yml",
        "event": "push",
        "head_sha": MAIN_SHA,
        "head_branch": "main",
        "created": 0,
        "timeline": {"queued": 5, "duration": 120},
        "conclusion": "success",
    }
    run.update(fields)
    scenario["repos"]["octo/app"].setdefault("runs", []).append(run)


def newest_run(api: GitHubApi) -> WorkflowRun:
    return workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)[0]


def start_with_run(
    start_emulator: StartEmulator, scenario: dict[str, Any], make_api: MakeApi, **run: Any
) -> tuple[Emulator, GitHubApi, WorkflowRun]:
    add_run(scenario, **run)
    emulator = start_emulator(scenario)
    api = make_api(emulator)
    return emulator, api, newest_run(api)


def test_every_status_on_the_way_is_reported_in_order(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    timeline = {"requested": 10, "pending": 30, "queued": 30, "waiting": 60, "duration": 300}
    _, api, run = start_with_run(start_emulator, scenario_dict, make_api, timeline=timeline)
    events: list[ProgressEvent] = []
    result = wait_for_run(
        api, APP, run, WaitOptions(poll_interval=5, max_poll_interval=10), on_progress=events.append
    )
    statuses = [e.status for e in events if e.kind is ProgressKind.STATUS]
    assert statuses == ["pending", "queued", "waiting", "in_progress", "completed"]
    assert result.outcome is Outcome.SUCCESS
    assert any("waiting for an environment approval" in e.message for e in events)


@pytest.mark.parametrize("conclusion", RUN_CONCLUSIONS)
def test_each_conclusion_is_judged_against_the_allowed_ones(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, conclusion: str
) -> None:
    _, api, run = start_with_run(start_emulator, scenario_dict, make_api, conclusion=conclusion)
    default = wait_for_run(api, APP, run, WaitOptions())
    assert default.run.conclusion == conclusion
    assert default.outcome is (Outcome.SUCCESS if conclusion == "success" else Outcome.CONCLUSION_NOT_ALLOWED)
    anything = wait_for_run(
        api, APP, run, WaitOptions(allowed_conclusions=parse_conclusions("any", default=frozenset()))
    )
    assert anything.outcome is Outcome.SUCCESS


def test_a_timeout_ends_on_time_and_says_how_long_it_waited(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    _, api, run = start_with_run(
        start_emulator, scenario_dict, make_api, timeline={"queued": 0, "duration": 7200}
    )
    start = clock.now()
    result = wait_for_run(api, APP, run, WaitOptions(timeout=600, poll_interval=7, max_poll_interval=60))
    assert result.outcome is Outcome.TIMED_OUT
    assert clock.now() - start == pytest.approx(600, abs=0.01)
    assert not result.cancelled


def test_cancel_on_timeout_cancels_the_run(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    emulator, api, run = start_with_run(
        start_emulator, scenario_dict, make_api, timeline={"queued": 0, "duration": 7200}
    )
    events: list[ProgressEvent] = []
    result = wait_for_run(
        api, APP, run, WaitOptions(timeout=300, cancel_on_timeout=True), on_progress=events.append
    )
    assert result.outcome is Outcome.TIMED_OUT and result.cancelled
    assert [w.path for w in emulator.writes()] == [f"/repos/octo/app/actions/runs/{run.id}/cancel"]
    assert any(e.kind is ProgressKind.CANCELLED for e in events)
    clock.advance(5)
    assert workflow_runs.get_run(api, APP, run.id).conclusion == "cancelled"


def test_a_rerun_started_before_we_look_is_followed_to_its_end(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    _, api, run = start_with_run(start_emulator, scenario_dict, make_api, conclusion=["failure", "success"])
    clock.advance(200)
    failed = workflow_runs.get_run(api, APP, run.id)
    assert (failed.run_attempt, failed.conclusion) == (1, "failure")
    api.post(f"/repos/octo/app/actions/runs/{run.id}/rerun")
    result = wait_for_run(api, APP, failed, WaitOptions())
    assert (result.run.run_attempt, result.run.conclusion, result.outcome) == (2, "success", Outcome.SUCCESS)


def test_unchanged_polls_are_answered_304_and_spend_no_rate_limit(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    _, api, run = start_with_run(
        start_emulator, scenario_dict, make_api, timeline={"queued": 0, "duration": 3600}
    )
    before = api.stats.snapshot()
    result = wait_for_run(api, APP, run, WaitOptions(timeout=7200, poll_interval=5, max_poll_interval=30))
    assert result.outcome is Outcome.SUCCESS
    spent = api.stats.units_spent - before.units_spent
    polls = api.stats.requests - before.requests
    assert polls > 100 and api.stats.not_modified - before.not_modified >= polls - 5
    assert spent <= 5, "a waited hour costs a handful of rate-limit units"


def test_completion_is_seen_within_two_seconds_without_reading_the_history(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    for age, duration in ((5000, 590), (4000, 600), (3000, 610)):
        add_run(scenario_dict, created=-age, timeline={"queued": 0, "duration": duration})
    emulator, api, run = start_with_run(
        start_emulator, scenario_dict, make_api, timeline={"queued": 0, "duration": 600}
    )
    before = len(emulator.requests)
    result = wait_for_run(api, APP, run, WaitOptions())
    assert result.run.updated_at is not None
    assert 0 <= clock.now() - result.run.updated_at <= 2.0
    paths = {r.path for r in emulator.requests[before:]}
    assert paths == {f"/repos/octo/app/actions/runs/{run.id}"}, "no look-up of the workflow's past runs"


def test_polls_keep_a_fixed_jittered_cadence_however_long_the_wait(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    _, api, run = start_with_run(
        start_emulator, scenario_dict, make_api, timeline={"queued": 0, "duration": 1800}
    )
    events: list[ProgressEvent] = []
    wait_for_run(api, APP, run, WaitOptions(timeout=3600), on_progress=events.append)
    pauses = [e.next_poll_in for e in events if e.kind is ProgressKind.POLL and e.next_poll_in is not None]
    assert len(pauses) > 900
    assert all(1.0 <= p <= 2.0 for p in pauses), "every gap is poll-interval to twice it, start to end"
    assert max(pauses[:100]) - min(pauses[:100]) > 0.5, "jittered, so processes do not poll in lockstep"
    assert not any(e.kind is ProgressKind.SLOWED for e in events)


def test_poll_interval_sets_the_cadence(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    _, api, run = start_with_run(
        start_emulator, scenario_dict, make_api, timeline={"queued": 0, "duration": 600}
    )
    events: list[ProgressEvent] = []
    wait_for_run(
        api, APP, run, WaitOptions(poll_interval=10, max_poll_interval=60), on_progress=events.append
    )
    pauses = [e.next_poll_in for e in events if e.kind is ProgressKind.POLL and e.next_poll_in is not None]
    assert pauses and all(10.0 <= p <= 20.0 for p in pauses)


def test_many_runs_share_one_poll_budget(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    for i in range(50):
        add_run(scenario_dict, created=-i, timeline={"queued": 0, "duration": 600 + 10 * i})
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator)
    runs = workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)
    assert len(runs) == 50
    options = WaitOptions(poll_interval=5, max_poll_interval=60)

    single = make_api(emulator)
    wait_for_run(single, APP, runs[0], options)
    one_run_requests = single.stats.requests

    before = api.stats.requests
    results = wait_for_runs(api, [RunTarget(APP, run) for run in runs], options)
    assert [r.run.id for r in results] == [run.id for run in runs]
    assert all(r.outcome is Outcome.SUCCESS for r in results)
    many = api.stats.requests - before
    # Waiting on each run alone would cost about 50 times one run's requests. Shared, it costs a
    # few times one run's (the runs end at 50 different moments, and each change is read), with
    # jittered polls making the count vary by a few requests from one trial to the next.
    separately = 50 * one_run_requests
    assert many < separately / 5, f"50 runs took {many} requests; one run alone took {one_run_requests}"


def test_results_turn_into_one_line_errors_with_the_run_link(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    _, api, run = start_with_run(start_emulator, scenario_dict, make_api, conclusion="failure")
    waited = wait_for_run(api, APP, run, WaitOptions())
    cost = ApiCost(1, 0, 1, 0, 99)
    failed = RunResult(waited.run, False, waited.outcome, waited.waited, cost).error()
    assert isinstance(failed, ConclusionNotAllowedError)
    assert failed.message == f"{run.describe()} concluded failure (allowed: success): {run.html_url}"
    assert "\n" not in failed.message
    timed_out = RunResult(waited.run, False, Outcome.TIMED_OUT, 65, cost).error()
    assert isinstance(timed_out, WaitTimeoutError) and "after 1m5s" in timed_out.message
