"""The poll governor: one fixed cadence per token, shared by every waiter, that slows down only
when the request budget or GitHub asks for it, and says why.

Single-waiter tests run on the shared `ManualClock`; tests with waiters in several threads (as
plan nodes wait) run on a `VirtualClock`, so the waits overlap as they would in real time.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import BASE_SCENARIO, MAIN_SHA
from wait_and_dispatch.emulator import Emulator, Fault, Scenario
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
from wait_and_dispatch.engine.requests import WaitOptions
from wait_and_dispatch.engine.results import Outcome
from wait_and_dispatch.engine.waiting import RunTarget, wait_for_run, wait_for_runs
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.github_api.polling import governor_for
from wait_and_dispatch.support.clock import ManualClock, VirtualClock

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]
APP = Repository("octo", "app")


def add_run(scenario: dict[str, Any], repo: str = "octo/app", **fields: Any) -> None:
    run: dict[str, Any] = {
        "workflow": "build.yml",
        "event": "push",
        "head_sha": MAIN_SHA,
        "head_branch": "main",
        "created": 0,
        "timeline": {"queued": 0, "duration": 300},
        "conclusion": "success",
    }
    run.update(fields)
    scenario["repos"][repo].setdefault("runs", []).append(run)


def one_run(
    start_emulator: StartEmulator, scenario: dict[str, Any], make_api: MakeApi, **api_options: Any
) -> tuple[Emulator, GitHubApi, WorkflowRun]:
    emulator = start_emulator(scenario)
    api = make_api(emulator, **api_options)
    return emulator, api, workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)[0]


def pauses(events: list[ProgressEvent]) -> list[float]:
    return [e.next_poll_in for e in events if e.kind is ProgressKind.POLL and e.next_poll_in is not None]


def slowed(events: list[ProgressEvent]) -> list[str]:
    return [e.message for e in events if e.kind is ProgressKind.SLOWED]


# -- GitHub's signals -------------------------------------------------------------------------------


def test_x_poll_interval_spaces_the_polls_and_the_progress_line_says_why(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario_dict["options"]["poll_interval_header"] = 30
    add_run(scenario_dict)
    _, api, run = one_run(start_emulator, scenario_dict, make_api)
    events: list[ProgressEvent] = []
    result = wait_for_run(api, APP, run, WaitOptions(max_poll_interval=10), on_progress=events.append)
    assert result.outcome is Outcome.SUCCESS
    assert pauses(events) and all(p >= 30 for p in pauses(events)), "GitHub's interval beats the user's max"
    assert slowed(events)[0] == (
        "polling slowed to every 30s: GitHub asks for polls at most every 30s (x-poll-interval)"
    )
    assert all("(slowed: GitHub asks" in e.message for e in events if e.kind is ProgressKind.POLL)


def test_a_secondary_limit_holds_the_next_poll_and_halves_the_pace_for_a_while(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    add_run(scenario_dict, timeline={"queued": 0, "duration": 200})
    emulator, api, run = one_run(start_emulator, scenario_dict, make_api)
    runs_path = f"/repos/octo/app/actions/runs/{run.id}"
    emulator.inject(Fault(path=runs_path, kind="secondary_rate_limit", retry_after=20, after=5, times=1))
    events: list[ProgressEvent] = []
    result = wait_for_run(api, APP, run, WaitOptions(), on_progress=events.append)
    assert result.outcome is Outcome.SUCCESS
    polls = [r for r in emulator.requests if r.path == runs_path]
    refused = next(i for i, r in enumerate(polls) if r.status == 403)
    assert polls[refused + 1].time - polls[refused].time >= 20, "retry-after is honoured"
    later = [b.time - a.time for a, b in zip(polls[refused + 1 :], polls[refused + 2 :], strict=False)]
    assert later and all(2.0 <= gap <= 4.0 for gap in later), "twice the cadence after the limit"
    assert any("secondary rate limit" in message for message in slowed(events))


def test_a_low_remaining_budget_spreads_polls_until_the_reset_within_the_users_bound(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario_dict["tokens"]["dev"]["rate_limit"] = 40  # under 50 units left from the first answer
    add_run(scenario_dict, timeline={"queued": 0, "duration": 600})
    _, api, run = one_run(start_emulator, scenario_dict, make_api)
    events: list[ProgressEvent] = []
    result = wait_for_run(api, APP, run, WaitOptions(max_poll_interval=45), on_progress=events.append)
    assert result.outcome is Outcome.SUCCESS
    # ~3,600 s to the reset over ~39 units is ~92 s a poll: held to max-poll-interval.
    assert pauses(events) and all(p == pytest.approx(45) for p in pauses(events)[:-1])
    assert "rate-limit units left until" in slowed(events)[0]


def test_a_tight_request_budget_slows_the_shared_tick_and_says_so(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    repos = [f"octo/r{i}" for i in range(12)]
    for name in repos:
        scenario_dict["repos"][name] = {"branches": {"main": MAIN_SHA}, "workflows": []}
        scenario_dict["repos"][name]["workflows"] = copy.deepcopy(
            scenario_dict["repos"]["octo/app"]["workflows"]
        )
        add_run(scenario_dict, name, timeline={"queued": 0, "duration": 120})
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator)
    targets = [
        RunTarget(
            Repository.parse(name), workflow_runs.find_runs(api, Repository.parse(name), head_sha=MAIN_SHA)[0]
        )
        for name in repos
    ]
    governor_for(api).target_per_minute = 180  # 12 reads a tick: at most one tick every 4 s
    events: list[ProgressEvent] = []
    start = clock.now()
    results = wait_for_runs(api, targets, WaitOptions(), on_progress=events.append)
    assert all(r.outcome is Outcome.SUCCESS for r in results)
    assert all(p >= 4.0 - 1e-6 for p in pauses(events)[1:])
    assert slowed(events) and "12 requests per poll would pass 180 a minute" in slowed(events)[0]
    # Once the first tick has shown what a tick costs, the process keeps to the budget.
    steady = [r for r in emulator.requests if r.time >= start + 10]
    per_minute = len(steady) * 60 / (clock.now() - start - 10)
    assert per_minute <= 180 * 1.05  # unpaced, 12 reads every 1-2 s would be about 480


# -- waiters share the schedule ---------------------------------------------------------------------


@pytest.fixture
def vclock() -> Iterator[VirtualClock]:
    clock = VirtualClock()
    yield clock
    assert clock.stalls == 0


def wait_in_threads(
    vclock: VirtualClock, runs: int, *, duration: float = 100.0
) -> tuple[Emulator, GitHubApi, list[Any], float]:
    """`runs` runs of one repository, each waited for by its own thread (as plan nodes wait)."""
    scenario = copy.deepcopy(BASE_SCENARIO)
    for i in range(runs):
        add_run(scenario, created=-i, timeline={"queued": 0, "duration": duration + 5 * i})
    emulator = Emulator(Scenario.from_dict(scenario), clock=vclock).start()
    api = GitHubApi(base_url=emulator.api_url, token=emulator.token("dev"), clock=vclock, timeout=10)
    found = workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)
    results: list[Any] = [None] * len(found)
    start = vclock.now()
    threads = []
    # Every thread watches its run before any polls: as plan nodes started together would.
    barrier = threading.Barrier(len(found))

    def wait(i: int) -> None:
        try:
            barrier.wait()
            results[i] = wait_for_run(api, APP, found[i], WaitOptions())
        finally:
            releases[i]()

    for i in range(len(found)):
        threads.append(threading.Thread(target=wait, args=(i,)))
    releases = [vclock.hold(thread) for thread in threads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    api.close()
    return emulator, api, results, start


def test_waiters_in_threads_share_one_list_request_per_tick(vclock: VirtualClock) -> None:
    emulator, _, results, start = wait_in_threads(vclock, 8)
    try:
        assert all(r is not None and r.outcome is Outcome.SUCCESS for r in results)
        sent = [r for r in emulator.requests if r.time >= start]
        ticks = {r.time for r in sent}
        listed = [r for r in sent if r.path == "/repos/octo/app/actions/runs"]
        # One read per tick serves all eight waiters: the requests are hardly more than the ticks
        # (a waiter may read its own run once, before the others watch theirs).
        assert len(sent) <= len(ticks) + 8
        assert len(listed) >= len(ticks) - 8
    finally:
        emulator.stop()


def test_requests_of_one_token_go_out_one_at_a_time_whatever_the_waiters(vclock: VirtualClock) -> None:
    emulator, _, results, _ = wait_in_threads(vclock, 6, duration=30)
    try:
        assert all(r is not None for r in results)
        assert emulator.max_in_flight == 1
    finally:
        emulator.stop()
