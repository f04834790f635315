"""Three ways the emulator differed from GitHub, each checked against what
GitHub sends: the recordings in tests/data/recordings, the OpenAPI description and the REST docs.

- 4xx answers use up the primary rate limit; 401 and 304 do not.
- A GHES that predates an API version answers 400 to it, and does nothing.
- `${{ github.run_id }}` is the run's id in `run-name` and in artifact templates.
"""

from __future__ import annotations

import copy
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conformance.conftest import DEPLOY_WORKFLOW_ID, REPO, SCENARIO, Api, scenario_with
from tests.support.openapi import OpenApiSpec, assert_conforms
from tests.support.recordings import load_exchanges
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.emulator.api_app import GHES_API_VERSIONS
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock

# -- 4xx answers count against the primary rate limit ---------------------------------------------


def _used(response: Any) -> int:
    return int(response.headers["X-RateLimit-Used"])


@pytest.mark.parametrize(
    ("recording", "status"),
    [
        ("Artifact.testGetNonexistentArtifact", 404),
        ("Workflow.testCreateDispatchException", 422),
        ("WorkflowRun.test_cancel", 403),
    ],
)
def test_recordings_show_github_counting_a_4xx_answer(recording: str, status: int) -> None:
    exchanges = load_exchanges(recording)
    failed = next(e for e in exchanges if e.status == status)
    before = exchanges[failed.index - 1]
    assert (
        int(failed.response_headers["X-RateLimit-Used"])
        == int(before.response_headers["X-RateLimit-Used"]) + 1
    )


def test_a_404_uses_up_one_unit_like_get_nonexistent_artifact(fresh_api: Api) -> None:
    before = fresh_api.get("/repos/octo/app")
    missing = fresh_api.get(f"{REPO}/actions/artifacts/396724437")
    assert missing.status_code == 404
    assert _used(missing) == _used(before) + 1


def test_a_422_dispatch_uses_up_one_unit_like_create_dispatch_exception(fresh_api: Api) -> None:
    before = fresh_api.get("/repos/octo/app")
    refused = fresh_api.request(
        "POST", f"{REPO}/actions/workflows/{DEPLOY_WORKFLOW_ID}/dispatches", json={"ref": "main"}
    )
    assert refused.status_code == 422  # the required input `environment` is missing
    assert _used(refused) == _used(before) + 1


def test_a_403_cancel_uses_up_one_unit_like_workflow_run_test_cancel(fresh_emu: Emulator) -> None:
    api = Api(fresh_emu, fresh_emu.token("ro"))  # may read, not cancel
    listed = api.get(f"{REPO}/actions/runs")
    refused = api.request("POST", f"{REPO}/actions/runs/{listed.json()['workflow_runs'][0]['id']}/cancel")
    assert refused.status_code == 403
    assert _used(refused) == _used(listed) + 1


def test_the_next_answer_shows_the_unit_a_4xx_used(fresh_api: Api) -> None:
    first = fresh_api.get("/repos/octo/app")
    fresh_api.get(f"{REPO}/actions/runs/1")
    after = fresh_api.get("/repos/octo/app")
    assert int(first.headers["X-RateLimit-Remaining"]) - int(after.headers["X-RateLimit-Remaining"]) == 2


def test_a_401_uses_up_nothing(fresh_emu: Emulator, fresh_api: Api) -> None:
    before = fresh_api.get("/repos/octo/app")
    assert Api(fresh_emu, "ghp_not_a_token").get("/repos/octo/app").status_code == 401
    after = fresh_api.get("/repos/octo/app")
    assert _used(after) == _used(before) + 1


def test_a_4xx_with_the_budget_spent_is_the_rate_limit_answer(clock: ManualClock) -> None:
    data = copy.deepcopy(SCENARIO)
    data["tokens"]["dev"]["rate_limit"] = 2
    with Emulator(Scenario.from_dict(data), clock=clock) as emu:
        api = Api(emu, emu.token("dev"))
        api.get("/repos/octo/app")
        api.get(f"{REPO}/actions/artifacts/1")  # a 404: the second unit
        refused = api.get(f"{REPO}/actions/artifacts/1")
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("API rate limit exceeded")
    assert refused.headers["X-RateLimit-Remaining"] == "0"


# -- API versions a GHES cannot know ------------------------------------------------------------


@pytest.fixture
def ghes(clock: ManualClock) -> Iterator[Emulator]:
    """A GHES that predates `return_run_details` and API version 2026-03-10."""
    with Emulator(Scenario.from_dict(scenario_with(return_run_details=False)), clock=clock) as emulator:
        yield emulator


def _dispatch(api: Api, version: str) -> Any:
    return api.request(
        "POST",
        f"{REPO}/actions/workflows/{DEPLOY_WORKFLOW_ID}/dispatches",
        json={"ref": "main", "inputs": {"environment": "dev"}},
        headers={"X-GitHub-Api-Version": version},
    )


def _run_count(api: Api) -> int:
    return int(api.json(f"{REPO}/actions/runs")["total_count"])


def test_ghes_answers_400_to_an_api_version_it_predates(ghes: Emulator) -> None:
    api = Api(ghes, ghes.token("dev"))
    answer = _dispatch(api, "2026-03-10")
    assert answer.status_code == 400
    assert "2026-03-10" in answer.json()["message"]


def test_ghes_dispatches_nothing_under_an_api_version_it_predates(ghes: Emulator, clock: ManualClock) -> None:
    api = Api(ghes, ghes.token("dev"))
    before = _run_count(api)
    _dispatch(api, "2026-03-10")
    clock.advance(60)  # past the scenario's dispatch visibility delay
    assert _run_count(api) == before


def test_ghes_refusal_of_an_api_version_is_a_documented_error(ghes: Emulator, spec: OpenApiSpec) -> None:
    answer = _dispatch(Api(ghes, ghes.token("dev")), "2026-03-10")
    assert set(answer.json()) >= {"message", "documentation_url"}
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"


def test_ghes_accepts_the_version_it_knows(ghes: Emulator) -> None:
    assert _dispatch(Api(ghes, ghes.token("dev")), "2022-11-28").status_code == 204


def test_github_com_accepts_2026_03_10_and_returns_the_run(fresh_api: Api) -> None:
    answer = _dispatch(fresh_api, "2026-03-10")
    assert answer.status_code == 200
    assert "workflow_run_id" in answer.json()


# -- github.run_id ----------------------------------------------------------------------------


def _scenario_with_run_id_templates() -> Scenario:
    data = copy.deepcopy(SCENARIO)
    deploy = data["repos"]["octo/app"]["workflows"][0]
    deploy["run_name"] = "Deploy run ${{ github.run_id }}"
    deploy["artifacts"] = [
        {"name": "package-${{ github.run_id }}", "files": {"id.txt": "run ${{ github.run_id }}"}}
    ]
    return Scenario.from_dict(data)


def _dispatched_run(api: Api, clock: ManualClock) -> dict[str, Any]:
    answer = api.request(
        "POST",
        f"{REPO}/actions/workflows/{DEPLOY_WORKFLOW_ID}/dispatches",
        json={"ref": "main", "inputs": {"environment": "dev"}, "return_run_details": True},
    ).json()
    clock.advance(3600)
    run: dict[str, Any] = api.json(f"{REPO}/actions/runs/{answer['workflow_run_id']}")
    return run


def test_run_name_renders_github_run_id_as_the_runs_id(clock: ManualClock, spec: OpenApiSpec) -> None:
    with Emulator(_scenario_with_run_id_templates(), clock=clock) as emu:
        api = Api(emu, emu.token("dev"))
        run = _dispatched_run(api, clock)
        assert_conforms(spec.check_requests_response(api.get(f"{REPO}/actions/runs/{run['id']}")))
    assert (run["display_title"], run["name"]) == (f"Deploy run {run['id']}", f"Deploy run {run['id']}")


def test_artifact_templates_render_github_run_id(clock: ManualClock) -> None:
    with Emulator(_scenario_with_run_id_templates(), clock=clock) as emu:
        api = Api(emu, emu.token("dev"))
        run = _dispatched_run(api, clock)
        artifact = api.json(f"{REPO}/actions/runs/{run['id']}/artifacts")["artifacts"][0]
        location = api.get(f"{REPO}/actions/artifacts/{artifact['id']}/zip").headers["Location"]
        archive = zipfile.ZipFile(io.BytesIO(requests.get(location, timeout=10).content))  # no token
    assert artifact["name"] == f"package-{run['id']}"
    assert archive.read("id.txt").decode() == f"run {run['id']}"


def test_our_client_falls_back_once_to_the_api_version_such_a_ghes_knows(
    ghes: Emulator, clock: ManualClock
) -> None:
    with GitHubApi(base_url=ghes.api_url, token=ghes.token("dev"), clock=clock) as api:
        assert workflow_runs.default_branch(api, Repository("octo", "app")) == "main"
        assert workflow_runs.default_branch(api, Repository("octo", "app")) == "main"
    sent = [
        (
            {name.lower(): value for name, value in request.headers.items()}.get("x-github-api-version"),
            request.status,
        )
        for request in ghes.requests
    ]
    # The first request tries 2026-03-10 and is refused (nothing done); it is sent again, and
    # every later one goes in the version the server knows.
    assert sent[0] == ("2026-03-10", 400)
    assert {version for version, _ in sent[1:]} <= set(GHES_API_VERSIONS)
    assert all(status < 400 for _, status in sent[1:])
    assert len(sent) == 3


# -- a renamed repository ----------------------------------------------------------------------


@pytest.fixture
def moved(clock: ManualClock) -> Iterator[Emulator]:
    data = copy.deepcopy(SCENARIO)
    data["repos"]["octo/app"]["renamed_from"] = ["octo/old-app"]
    with Emulator(Scenario.from_dict(data), clock=clock) as emulator:
        yield emulator


def test_a_renamed_repository_answers_reads_with_a_documented_301(moved: Emulator, spec: OpenApiSpec) -> None:
    answer = Api(moved, moved.token("dev")).get("/repos/octo/old-app")
    assert answer.status_code == 301
    assert_conforms(spec.check_requests_response(answer))


def test_a_renamed_repository_answers_writes_with_a_documented_307(
    moved: Emulator, spec: OpenApiSpec
) -> None:
    answer = Api(moved, moved.token("dev")).request("PATCH", "/repos/octo/old-app", json={"description": "x"})
    assert answer.status_code == 307
    assert_conforms(spec.check_requests_response(answer))
