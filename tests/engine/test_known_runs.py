"""`Engine`'s `known_runs`: a completed run the caller has read already is not read again by a
job given its id (advance mode reads many runs in one list); anything else is read as before."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.requests import ArtifactSelection, WaitOptions
from wait_and_dispatch.engine.workflow_runs import get_run
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock

APP = Repository.parse("octo/app")
_ONE_RUN = re.compile(r"/actions/runs/\d+$")


def dispatch(api: GitHubApi) -> int:
    answer = api.post(
        f"{APP.api_path}/actions/workflows/build.yml/dispatches", {"ref": "main", "return_run_details": True}
    )
    run_id: int = answer.data["workflow_run_id"]
    return run_id


def run_reads(emulator: Emulator, since: int) -> int:
    return sum(1 for r in emulator.requests[since:] if r.method == "GET" and _ONE_RUN.search(r.path))


def test_a_known_completed_run_is_not_read_again(
    api: GitHubApi, make_api: Callable[..., GitHubApi], emulator: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    run_id = dispatch(api)
    clock.advance(300)
    known = get_run(api, APP, run_id)
    before = len(emulator.requests)
    result = Engine(api, known_runs={("octo/app", run_id): known}).download_run(
        APP, run_id, WaitOptions(timeout=60), ArtifactSelection(path=tmp_path)
    )
    assert run_reads(emulator, before) == 0
    fresh = make_api(emulator)  # a new client: no ETag, so the same job reads the run
    read = Engine(fresh).download_run(APP, run_id, WaitOptions(timeout=60), ArtifactSelection(path=tmp_path))
    assert (result.run, result.outcome, result.artifacts) == (read.run, read.outcome, read.artifacts)


def test_a_known_run_still_going_is_waited_for_as_before(
    api: GitHubApi, emulator: Emulator, clock: ManualClock
) -> None:
    run_id = dispatch(api)
    going = get_run(api, APP, run_id)
    assert not going.completed
    clock.advance(300)
    before = len(emulator.requests)
    result = Engine(api, known_runs={("octo/app", run_id): going}).download_run(
        APP, run_id, WaitOptions(timeout=600), None
    )
    assert result.run.completed
    assert run_reads(emulator, before) >= 1
