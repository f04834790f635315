"""The `list_status_lag` switch: lists of runs show each run as it was that many seconds ago,
while "Get a workflow run" shows it as it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.emulator.conftest import Http
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.support.clock import ManualClock

RUNS = "/repos/octo/app/actions/runs"


def _listed(http: Http, run_id: int) -> tuple[str, str | None]:
    (run,) = [r for r in http.get(RUNS).json()["workflow_runs"] if r["id"] == run_id]
    return run["status"], run["conclusion"]


def test_a_lagging_list_shows_a_completed_run_as_it_was_before(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["options"]["list_status_lag"] = 30
    http = Http(start(scenario))
    run_id = http.dispatch_run_id()
    clock.advance(125 + 10)  # queued 5 s, then 120 s: completed 10 s ago
    assert http.get(f"{RUNS}/{run_id}").json()["status"] == "completed"
    assert _listed(http, run_id) == ("in_progress", None)
    clock.advance(20)
    assert _listed(http, run_id) == ("completed", "success")


def test_without_the_switch_a_list_shows_a_run_as_it_is(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(125)
    assert _listed(http, run_id) == ("completed", "success")
