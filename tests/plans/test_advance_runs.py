"""`RunBook`: the runs of an instance's nodes read one by one while few, in one list from
`LIST_FROM` on, a run the list does not show yet read by itself, and a completed run never twice."""

from __future__ import annotations

import re

from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.advance_runs import LIST_FROM, RunBook
from wait_and_dispatch.support.clock import ManualClock

REPO = Repository.parse("octo/app")
_ONE_RUN = re.compile(r"/actions/runs/\d+$")


def dispatch(api: GitHubApi) -> int:
    answer = api.post(
        f"{REPO.api_path}/actions/workflows/build.yml/dispatches", {"ref": "main", "return_run_details": True}
    )
    run_id: int = answer.data["workflow_run_id"]
    return run_id


def reads(emulator: Emulator, since: int) -> tuple[int, int]:
    """(lists of runs, reads of one run) since request number `since`."""
    sent = [r for r in emulator.requests[since:] if r.method == "GET"]
    return (
        sum(1 for r in sent if r.path.endswith("/actions/runs")),
        sum(1 for r in sent if _ONE_RUN.search(r.path)),
    )


def test_fewer_runs_than_the_threshold_are_read_one_by_one(
    api: GitHubApi, emulator: Emulator, clock: ManualClock
) -> None:
    began = clock.now()
    runs = [dispatch(api) for _ in range(LIST_FROM - 1)]
    clock.advance(10)
    book = RunBook(api, REPO, lambda: began)
    before = len(emulator.requests)
    book.read(runs)
    assert reads(emulator, before) == (0, LIST_FROM - 1)
    assert not book.listed


def test_from_the_threshold_on_the_runs_are_read_in_one_list(
    api: GitHubApi, emulator: Emulator, clock: ManualClock
) -> None:
    began = clock.now()
    runs = [dispatch(api) for _ in range(LIST_FROM + 2)]
    clock.advance(10)  # past the few seconds before a new run is listed
    book = RunBook(api, REPO, lambda: began)
    before = len(emulator.requests)
    book.read(runs)
    assert reads(emulator, before) == (1, 0)
    assert book.listed
    assert [book.last(run_id).status for run_id in runs] == ["in_progress"] * len(runs)


def test_a_run_the_list_does_not_show_yet_is_read_by_itself(
    api: GitHubApi, emulator: Emulator, clock: ManualClock
) -> None:
    began = clock.now()
    runs = [dispatch(api) for _ in range(LIST_FROM)]
    clock.advance(10)
    late = dispatch(api)  # listed only after dispatch_visibility_delay
    book = RunBook(api, REPO, lambda: began)
    before = len(emulator.requests)
    book.read([*runs, late])
    assert reads(emulator, before) == (1, 1)
    assert book.last(late).id == late


def test_a_completed_run_is_not_read_again_and_goes_to_the_node_jobs(
    api: GitHubApi, emulator: Emulator, clock: ManualClock
) -> None:
    began = clock.now()
    runs = [dispatch(api) for _ in range(LIST_FROM)]
    clock.advance(300)  # queued 5 s, 120 s each: all completed
    book = RunBook(api, REPO, lambda: began)
    book.read(runs)
    before = len(emulator.requests)
    assert all(book.run(run_id).completed for run_id in runs)
    book.read(runs)
    assert reads(emulator, before) == (0, 0)
    assert set(book.known) == {("octo/app", run_id) for run_id in runs}


def test_a_run_still_going_is_read_again_when_its_outcome_is_asked(
    api: GitHubApi, emulator: Emulator, clock: ManualClock
) -> None:
    run_id = dispatch(api)
    book = RunBook(api, REPO, lambda: clock.now())
    assert not book.run(run_id).completed
    clock.advance(300)
    assert book.run(run_id).completed
    assert ("octo/app", run_id) in book.known
