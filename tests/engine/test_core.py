"""The main job through `Engine.run`: find or dispatch, wait, download, and the result's fields."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import MAIN_SHA
from tests.engine.conftest import APP, MakeEngine
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine import artifact_selection, workflow_runs
from wait_and_dispatch.engine.progress import ProgressKind
from wait_and_dispatch.engine.requests import ArtifactSelection, DispatchPolicy, RunRequest, WaitOptions
from wait_and_dispatch.engine.results import Outcome
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import ConclusionNotAllowedError, WaitTimeoutError

StartEmulator = Callable[[dict[str, Any]], Emulator]


def test_dispatch_wait_and_download_gives_every_output(
    emulator: Emulator, make_engine: MakeEngine, tmp_path: Path, clock: ManualClock
) -> None:
    engine = make_engine(emulator)
    start = clock.now()
    result = engine.run(
        RunRequest(APP, "build.yml", inputs={"environment": "prod"}),
        WaitOptions(timeout=600),
        artifacts=ArtifactSelection(patterns=("package",), path=tmp_path),
    )
    assert result.outcome is Outcome.SUCCESS and result.error() is None
    assert result.dispatched
    run = result.run
    assert (run.status, run.conclusion, run.head_sha, run.run_attempt) == (
        "completed",
        "success",
        MAIN_SHA,
        1,
    )
    assert run.html_url.endswith(f"/octo/app/actions/runs/{run.id}")
    assert result.duration == 125  # queued 5 s, then 120 s in progress
    assert result.waited == clock.now() - start
    assert [a.name for a in result.artifacts] == ["package"]
    assert result.artifacts[0].verified
    assert (tmp_path / "app.txt").read_text() == "hello from the build\n"
    assert result.download_path == tmp_path
    assert result.cost.requests > 0 and result.cost.rate_limit_remaining is not None
    assert result.cost.rate_limit_units < 20
    kinds = {event.kind for event in engine.events}
    assert {ProgressKind.DISPATCHED, ProgressKind.STATUS, ProgressKind.ARTIFACT} <= kinds


def test_a_failed_run_is_not_downloaded_from_and_reports_the_conclusion(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine, tmp_path: Path
) -> None:
    scenario_dict["repos"]["octo/app"]["workflows"][0]["conclusion"] = "failure"
    engine = make_engine(start_emulator(scenario_dict))
    result = engine.run(
        RunRequest(APP, "build.yml"), WaitOptions(), artifacts=ArtifactSelection(path=tmp_path / "out")
    )
    assert result.outcome is Outcome.CONCLUSION_NOT_ALLOWED
    assert result.artifacts == () and not (tmp_path / "out").exists()
    assert isinstance(result.error(), ConclusionNotAllowedError)


def test_the_timeout_covers_dispatch_and_wait_together(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine, clock: ManualClock
) -> None:
    scenario_dict["repos"]["octo/app"]["workflows"][0]["timeline"] = {"queued": 5, "duration": 3600}
    engine = make_engine(start_emulator(scenario_dict))
    start = clock.now()
    result = engine.run(RunRequest(APP, "build.yml"), WaitOptions(timeout=300))
    assert result.outcome is Outcome.TIMED_OUT
    assert clock.now() - start <= 300 + 1e-6
    error = result.error()
    assert isinstance(error, WaitTimeoutError) and "still in_progress after 5m0s" in error.message


def test_without_waiting_the_run_is_returned_as_found(emulator: Emulator, make_engine: MakeEngine) -> None:
    result = make_engine(emulator).run(
        RunRequest(APP, "build.yml", dispatch=DispatchPolicy.ALWAYS), WaitOptions(), wait=False
    )
    assert result.outcome is Outcome.SUCCESS and result.dispatched
    assert result.run.status != "completed" and result.duration is None


def test_artifacts_from_the_latest_successful_run_on_a_branch(
    start_emulator: StartEmulator,
    scenario_dict: dict[str, Any],
    make_engine: MakeEngine,
    tmp_path: Path,
) -> None:
    scenario_dict["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": MAIN_SHA,
            "head_branch": "main",
            "created": -900,
        }
    ]
    engine = make_engine(start_emulator(scenario_dict))
    result = engine.run(
        RunRequest(APP, "build.yml", ref="feature/x", dispatch=DispatchPolicy.ALWAYS),
        WaitOptions(),
        artifacts=ArtifactSelection(patterns=("package",), path=tmp_path, from_branch="main"),
    )
    assert result.run.head_branch == "feature/x"
    main_run = workflow_runs.find_runs(engine.api, APP, event="push", branch="main")[0]
    from_main = {a.id for a in artifact_selection.list_artifacts(engine.api, APP, main_run.id)}
    assert [a.id for a in result.artifacts] == sorted(from_main)
    assert (tmp_path / "app.txt").exists()
