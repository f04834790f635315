"""Every cell of the fault matrix (matrix.py) ends as it says, and keeps the five invariants.

The job runs as the edges run it (`read_settings` + `run_job` over `Engine` and `GitHubApi`),
against the emulator over HTTP, on a manual clock shared with the emulator: a 75-second outage or
an hour until a rate-limit reset takes no real time, while deadlines are measured on that clock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BASE_SCENARIO, MAIN_SHA
from tests.reliability.matrix import CELLS, Cell, During
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.emulator.faults import Fault
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.engine.progress import ProgressEvent
from wait_and_dispatch.github_api import GitHubApi, RetryEvent, RetryPolicy
from wait_and_dispatch.step.run import JobReport, run_job
from wait_and_dispatch.step.settings import read_settings
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import WaitAndDispatchError

DEADLINE_SLACK = 5.0  # the invariant: never a wait past the deadline + 5 s


class ScheduledClock(ManualClock):
    """A manual clock that does something to the emulated GitHub once time reaches a moment."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def at(self, when: float, action: Callable[[], None]) -> None:
        self.pending.append((when, action))

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        due = [item for item in self.pending if item[0] <= self.now()]
        self.pending = [item for item in self.pending if item[0] > self.now()]
        for _, action in due:
            action()


@dataclass
class Ending:
    code: int
    message: str
    report: JobReport | None
    elapsed: float
    channels: list[str]  # every text the job produced: progress, retries, outputs, messages
    fired: list[int]  # how often each injected fault was answered
    during_done: bool  # the cell's `during` action happened (or it has none)


def scenario_for(cell: Cell) -> dict[str, Any]:
    scenario = copy.deepcopy(BASE_SCENARIO)
    scenario["options"]["dispatch_visibility_delay"] = 3
    if cell.scenario is not None:
        cell.scenario(scenario)
    return scenario


def act(emulator: Emulator, run_id: int, action: str) -> None:
    base = f"{emulator.api_url}/repos/octo/app/actions/runs/{run_id}"
    headers = {"Authorization": f"Bearer {emulator.token('dev')}"}
    if action == "delete":
        response = requests.delete(base, headers=headers, timeout=10)
    else:
        response = requests.post(f"{base}/rerun", headers=headers, timeout=10)
    assert response.status_code in (201, 204), response.text


def dispatched_runs(emulator: Emulator) -> list[Any]:
    with emulator.state.lock:
        return [run for run in emulator.state.runs.values() if run.event == "workflow_dispatch"]


def run_cell(cell: Cell, tmp_path: Path) -> tuple[Ending, Emulator]:
    clock = ScheduledClock()
    emulator = Emulator(Scenario.from_dict(scenario_for(cell)), clock=clock).start()
    injected = [emulator.inject(Fault(**fields)) for fields in cell.faults]
    channels: list[str] = []
    events: list[ProgressEvent] = []

    def on_progress(event: ProgressEvent) -> None:
        events.append(event)
        channels.append(event.message)

    def on_retry(event: RetryEvent) -> None:
        channels.append(f"{event.reason} {event.detail} {event.path}")

    if cell.during is not None:
        during: During = cell.during

        def when_dispatched() -> None:
            runs = dispatched_runs(emulator)
            if runs:
                act(emulator, runs[0].id, during.action)

        clock.at(emulator.state.start + during.at, when_dispatched)
    api = GitHubApi(
        base_url=emulator.api_url,
        token=emulator.token("dev"),
        clock=clock,
        timeout=cell.request_timeout,
        policy=RetryPolicy(),
        on_retry=on_retry,
    )
    values = {**cell.values, "repository": "octo/app", "path": str(tmp_path / "download")}
    start = clock.now()
    report: JobReport | None = None
    try:
        with api:
            settings = read_settings(values, default_sha=MAIN_SHA)
            report = run_job(Engine(api, on_progress), settings)
        error = report.error
    except WaitAndDispatchError as raised:
        error = raised
    elapsed = clock.now() - start
    if report is not None:
        channels.extend(f"{name}={value}" for name, value in report.outputs.items())
    if error is not None:
        channels.extend([error.message, error.hint, *error.details])
    code = 0 if error is None else int(error.exit_code)
    message = "" if error is None else error.message
    fired = [f.fired for f in injected]
    return Ending(code, message, report, elapsed, channels, fired, not clock.pending), emulator


@pytest.fixture
def cell_run(tmp_path: Path) -> Iterator[Callable[[Cell], tuple[Ending, Emulator]]]:
    started: list[Emulator] = []

    def run(cell: Cell) -> tuple[Ending, Emulator]:
        ending, emulator = run_cell(cell, tmp_path)
        started.append(emulator)
        return ending, emulator

    yield run
    for emulator in started:
        emulator.stop()


@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_the_cell_ends_as_documented_and_keeps_every_invariant(
    cell: Cell, cell_run: Callable[[Cell], tuple[Ending, Emulator]], tmp_path: Path
) -> None:
    ending, emulator = cell_run(cell)
    # The fault happened: a cell whose fault never fires tests nothing.
    assert all(ending.fired), f"{cell.id}: a fault never fired ({ending.fired})"
    if cell.during is not None:
        assert ending.report is None or ending.during_done, f"{cell.id}: {cell.during.action} never happened"
        if cell.during.action == "rerun":
            assert ending.report is not None and ending.report.run is not None
            assert ending.report.run.run.run_attempt == 2

    # The expected ending: recovered, or the documented exit code with a message that says why.
    assert ending.code == cell.expect, f"{cell.id}: exit {ending.code}: {ending.message}"
    if cell.expect:
        assert cell.message.lower() in ending.message.lower(), ending.message
        assert "\n" not in ending.message  # one line
    elif ending.report is not None and ending.report.checks is not None:  # a checks job
        assert ending.report.checks.outcome.value == "success"
    else:
        assert ending.report is not None and ending.report.run is not None
        assert ending.report.run.run.conclusion == "success"

    # One dispatch per request, never the wrong run.
    runs = dispatched_runs(emulator)
    assert len(runs) <= 1, f"{cell.id}: {len(runs)} runs dispatched for one request"
    if ending.report is not None and ending.report.run is not None:
        assert [r.id for r in runs] == [ending.report.run.run.id]

    # Never a wait past the deadline + 5 s.
    timeout = parse_duration(cell.values["timeout"])
    assert ending.elapsed <= timeout + DEADLINE_SLACK, f"{cell.id}: took {ending.elapsed:.0f}s of {timeout}s"

    # Never a partial artifact in place: the whole artifact, or nothing at all.
    target = tmp_path / "download"
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) if target.exists() else []
    if ending.code == 0 and cell.values.get("artifacts"):
        assert written == ["app.txt"] and (target / "app.txt").read_text() == "hello from the build\n"
    else:
        assert written == [], f"{cell.id}: left {written}"
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".wait-and-dispatch")]

    # Never a secret in any channel.
    secret = emulator.token("dev")
    assert not [text for text in ending.channels if secret in text]
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_every_phase_has_cells_and_ids_are_unique() -> None:
    from tests.reliability.matrix import PHASES

    assert {cell.phase for cell in CELLS} == set(PHASES)
    assert len({cell.id for cell in CELLS}) == len(CELLS)


def test_the_reliability_page_shows_the_matrix() -> None:
    from tests.reliability.render import DOC, render

    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/reliability.md is stale: python -m tests.reliability.render --write"
    )
