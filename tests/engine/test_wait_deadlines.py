"""Deadlines in the retry layer: every request made during a wait or
a job carries its deadline. An outage shorter than the wait is ridden out; one that outlasts it
ends the wait at the deadline (exit 3); a rate-limit reset or retry-after past the deadline is not
waited for. Faults come from the emulator over HTTP, time from the shared `ManualClock`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MAIN_SHA
from tests.engine.conftest import MakeEngine
from wait_and_dispatch.emulator import Emulator, Fault
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.requests import ArtifactSelection, WaitOptions
from wait_and_dispatch.engine.results import Outcome
from wait_and_dispatch.engine.waiting import wait_for_run
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import DeadlineExceededError, ExitCode, RateLimitExceededError

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]
APP = Repository("octo", "app")
RUNS = "/repos/octo/app/actions/runs/*"


def with_run(scenario: dict[str, Any], duration: float) -> dict[str, Any]:
    scenario["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": MAIN_SHA,
            "head_branch": "main",
            "created": 0,
            "timeline": {"queued": 0, "duration": duration},
            "conclusion": "success",
        }
    ]
    return scenario


def dispatched_run(api: GitHubApi) -> int:
    answer = api.post(
        "/repos/octo/app/actions/workflows/build.yml/dispatches", {"ref": "main", "return_run_details": True}
    )
    return int(answer.data["workflow_run_id"])


def test_a_70_second_outage_during_a_5_minute_wait_is_ridden_out(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    emulator = start_emulator(with_run(scenario_dict, 200))
    api = make_api(emulator)
    run = workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)[0]
    emulator.inject(Fault(path=RUNS, status=503, times=None, since=30, until=100))
    result = wait_for_run(api, APP, run, WaitOptions(timeout=300))
    assert result.outcome is Outcome.SUCCESS
    assert [r.status for r in emulator.requests].count(503) > 10, "the outage was met, and retried"
    assert result.run.updated_at is not None and clock.now() - result.run.updated_at <= 2.0


def test_the_end_of_an_outage_is_seen_within_a_few_seconds(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    emulator = start_emulator(with_run(scenario_dict, 60))
    api = make_api(emulator)
    run = workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)[0]
    start = clock.now()
    emulator.inject(Fault(path=RUNS, status=502, times=None, since=10, until=130))
    wait_for_run(api, APP, run, WaitOptions(timeout=300))
    assert clock.now() - start <= 130 + 5.0, "retries under a deadline stop growing at a few seconds"


def test_an_outage_that_outlasts_the_wait_times_out_at_the_deadline(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    emulator = start_emulator(with_run(scenario_dict, 600))
    api = make_api(emulator)
    run = workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)[0]
    emulator.inject(Fault(path=RUNS, status=503, times=None, since=20))
    start = clock.now()
    with pytest.raises(DeadlineExceededError, match="503") as caught:
        wait_for_run(api, APP, run, WaitOptions(timeout=120))
    assert caught.value.exit_code == ExitCode.TIMEOUT
    assert int(caught.value.exit_code) == 3
    assert 110 <= clock.now() - start <= 120


def test_download_run_does_not_wait_for_a_rate_limit_reset_past_its_deadline(
    emulator: Emulator, make_engine: MakeEngine, clock: ManualClock, tmp_path: Path
) -> None:
    engine = make_engine(emulator)
    run_id = dispatched_run(engine.api)
    emulator.inject(Fault(path=f"/repos/octo/app/actions/runs/{run_id}", kind="primary_rate_limit", times=1))
    slept = len(clock.slept)
    with pytest.raises(RateLimitExceededError, match="resets at") as caught:
        engine.download_run(APP, run_id, WaitOptions(timeout=60), ArtifactSelection(path=tmp_path))
    assert clock.slept[slept:] == [], "the reset is an hour away: not waited for"
    assert "deadline" in caught.value.hint


def test_a_retry_after_past_the_deadline_is_not_waited_for(
    emulator: Emulator, make_engine: MakeEngine, clock: ManualClock, tmp_path: Path
) -> None:
    engine = make_engine(emulator)
    run_id = dispatched_run(engine.api)
    emulator.inject(
        Fault(path=f"/repos/octo/app/actions/runs/{run_id}", kind="secondary_rate_limit", retry_after=120)
    )
    start = clock.now()
    with pytest.raises(RateLimitExceededError, match="secondary rate limit"):
        engine.download_run(APP, run_id, WaitOptions(timeout=60), ArtifactSelection(path=tmp_path))
    assert clock.now() - start < 60


def test_a_secondary_limit_holds_back_every_request_of_the_token(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    api = make_api(emulator)
    emulator.inject(Fault(path="/repos/octo/app", kind="secondary_rate_limit", retry_after=30, times=1))
    refused_at = clock.now()
    with pytest.raises(RateLimitExceededError):
        api.get("/repos/octo/app", deadline=clock.now() + 5)  # too short to wait out: fails at once
    assert clock.now() == refused_at
    api.get("/repos/octo/app/actions/runs")  # another request, as another waiter would send
    assert emulator.requests[-1].path == "/repos/octo/app/actions/runs"
    assert emulator.requests[-1].time >= refused_at + 30, "not sent before GitHub's retry-after"


def test_a_request_held_back_past_its_deadline_fails_at_once(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    api = make_api(emulator)
    emulator.inject(Fault(path="/repos/octo/app", kind="secondary_rate_limit", retry_after=300, times=1))
    with pytest.raises(RateLimitExceededError):
        api.get("/repos/octo/app", deadline=clock.now() + 5)
    sent = len(emulator.requests)
    with pytest.raises(RateLimitExceededError, match="secondary rate limit asked for no requests") as caught:
        api.get("/repos/octo/app/actions/runs", deadline=clock.now() + 60)
    assert len(emulator.requests) == sent, "not sent at all"
    assert clock.slept == []
    assert "timeout" in caught.value.hint
