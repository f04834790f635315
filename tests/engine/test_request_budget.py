"""What a dispatch-and-wait costs in rate-limit units: it pays only for what is needed.

Counted two ways, and both must hold: by the client (every answer but a 304, so 4xx answers
count, as GitHub counts them: recordings Artifact.testGetNonexistentArtifact,
Workflow.testCreateDispatchException) and by the emulator's own accounting (`/rate_limit`,
which is free). The budgets: on github.com, with `dispatch: always` and the SHA known, the
contents read, the dispatch, the run's first read and its state changes: at most 5, plus 2 per
artifact; on GHES without run details at most 7 (6, and the first request, refused for its API
version 2026-03-10 and sent again in 2022-11-28); `dispatch: if-missing` adds only the look-up
of the runs for the SHA, and the commit when the SHA was not given.

Waits read no history of durations: the poll governor's fixed cadence does not need it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import MAIN_SHA
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.requests import ArtifactSelection, DispatchPolicy, RunRequest, WaitOptions
from wait_and_dispatch.engine.results import Outcome, RunResult
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.support.clock import VirtualClock

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]
APP = Repository("octo", "app")


def emulator_units(emulator: Emulator, make_api: MakeApi, token: str = "dev") -> int:
    """What the emulator counted against the token (`GET /rate_limit` itself is free)."""
    used: int = make_api(emulator, token).get("/rate_limit").data["resources"]["core"]["used"]
    return used


def run(engine: Engine, tmp_path: Path | None = None, **fields: Any) -> RunResult:
    fields.setdefault("workflow", "build.yml")
    fields.setdefault("ref", "main")
    fields.setdefault("sha", MAIN_SHA)
    fields.setdefault("dispatch", DispatchPolicy.ALWAYS)
    artifacts = ArtifactSelection(patterns=("package",), path=tmp_path) if tmp_path else None
    options = WaitOptions(timeout=600)
    result = engine.run(RunRequest(APP, **fields), options, artifacts=artifacts)
    assert result.outcome is Outcome.SUCCESS
    return result


def test_dispatch_and_wait_on_github_com_costs_at_most_five_units(
    emulator: Emulator, make_api: MakeApi
) -> None:
    engine = Engine(make_api(emulator))
    result = run(engine)
    assert result.dispatched
    assert result.cost.rate_limit_units <= 5, result.cost.describe()
    assert emulator_units(emulator, make_api) <= 5


def test_each_artifact_adds_two_units(emulator: Emulator, make_api: MakeApi, tmp_path: Path) -> None:
    engine = Engine(make_api(emulator))
    result = run(engine, tmp_path)
    assert [a.name for a in result.artifacts] == ["package"]
    assert result.cost.rate_limit_units <= 5 + 2, result.cost.describe()
    assert emulator_units(emulator, make_api) <= 5 + 2


def test_if_missing_adds_only_the_look_up_of_the_runs_and_the_commit_when_not_given(
    emulator: Emulator, make_api: MakeApi
) -> None:
    always = run(Engine(make_api(emulator))).cost.rate_limit_units
    known_sha = run(
        Engine(make_api(emulator)), dispatch=DispatchPolicy.IF_MISSING, inputs={"environment": "prod"}
    )
    assert known_sha.cost.rate_limit_units <= always + 1, known_sha.cost.describe()
    unknown_sha = run(
        Engine(make_api(emulator)),
        dispatch=DispatchPolicy.IF_MISSING,
        sha=None,
        inputs={"environment": "dev"},
    )
    assert unknown_sha.cost.rate_limit_units <= always + 2, unknown_sha.cost.describe()


def test_dispatch_always_reads_neither_the_workflow_nor_the_commit_when_both_are_known(
    emulator: Emulator, make_api: MakeApi
) -> None:
    run(Engine(make_api(emulator)), sha=None)
    paths = [r.path for r in emulator.requests]
    assert "/repos/octo/app/actions/workflows/build.yml" not in paths
    assert not [p for p in paths if p.startswith("/repos/octo/app/commits/")]
    assert paths.count("/repos/octo/app/contents/.github/workflows/build.yml") == 1


def ghes(scenario: dict[str, Any], callers: int) -> dict[str, Any]:
    """GHES 3.20 with rate limiting turned on by its admin (else nothing is counted): no run
    details, no API version 2026-03-10, says its version; the workflow shows `distinct_id` in
    run-name. One token per caller, so that each one's units are counted apart."""
    scenario["options"].update(return_run_details=False, enterprise_version="3.20.1", rate_limiting=True)
    workflow = scenario["repos"]["octo/app"]["workflows"][0]
    workflow["inputs"]["distinct_id"] = {"type": "string", "required": False}
    workflow["run_name"] = "Build [${{ inputs.distinct_id }}]"
    for n in range(callers):
        scenario["tokens"][f"caller{n}"] = dict(scenario["tokens"]["dev"], secret=f"ghp_caller_{n}")
    return scenario


def test_dispatch_and_wait_on_ghes_without_run_details_costs_at_most_seven_units(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(ghes(scenario_dict, 1))
    result = run(Engine(make_api(emulator, "caller0")))
    assert result.dispatched
    assert result.cost.rate_limit_units <= 7, result.cost.describe()
    assert emulator_units(emulator, make_api, "caller0") <= 7
    assert [p.status for p in emulator.writes()] == [204], "no refused return_run_details first"


def test_five_callers_at_once_on_ghes_each_get_their_own_run_within_seven_units(
    scenario_dict: dict[str, Any],
) -> None:
    clock = VirtualClock()
    emulator = Emulator(Scenario.from_dict(ghes(scenario_dict, 5)), clock=clock).start()
    results: dict[int, RunResult] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)
    apis = [
        GitHubApi(
            base_url=emulator.api_url, token=emulator.token(f"caller{n}"), clock=clock, policy=RetryPolicy()
        )
        for n in range(5)
    ]

    def caller(n: int, release: Callable[[], None]) -> None:
        try:
            barrier.wait()
            results[n] = run(Engine(apis[n]))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            release()

    threads = []
    for n in range(5):
        releases: list[Callable[[], None]] = []
        thread = threading.Thread(target=lambda n=n, releases=releases: caller(n, releases[0]))
        releases.append(clock.hold(thread))  # taken before the thread starts, so time waits for it
        threads.append(thread)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for api in apis:
            api.close()
        emulator.stop()
    assert errors == []
    assert len({result.run.id for result in results.values()}) == 5, "every caller got a different run"
    sent = {p.token_name: p.body["inputs"]["distinct_id"] for p in emulator.writes() if p.status == 204}
    for n, result in results.items():
        assert sent[f"caller{n}"] in result.run.display_title, "each caller got the run it started"
        assert result.cost.rate_limit_units <= 7, result.cost.describe()
    assert clock.stalls == 0
