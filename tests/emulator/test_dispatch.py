"""Dispatching a workflow: what GitHub answers and which run it starts (REST docs "Create a
workflow dispatch event")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import github
import pytest

from tests.emulator.conftest import Http
from wait_and_dispatch.emulator import Emulator


def test_dispatch_answers_204_with_no_body(http: Http) -> None:
    response = http.dispatch()
    assert response.status_code == 204
    assert response.content == b""


def test_dispatch_with_return_run_details_answers_the_run_id_and_urls(http: Http, emu: Emulator) -> None:
    response = http.dispatch(return_run_details=True)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"workflow_run_id", "run_url", "html_url"}
    assert body["run_url"] == f"{emu.api_url}/repos/octo/app/actions/runs/{body['workflow_run_id']}"


def test_api_version_2026_03_10_returns_run_details_without_the_flag(http: Http) -> None:
    response = http.post(
        "/repos/octo/app/actions/workflows/deploy.yml/dispatches",
        {"ref": "main", "inputs": {"environment": "dev"}},
        headers={"X-GitHub-Api-Version": "2026-03-10"},
    )
    assert response.status_code == 200
    assert "workflow_run_id" in response.json()


def test_return_run_details_is_refused_when_the_option_is_off(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["options"]["return_run_details"] = False
    http = Http(start(scenario))
    response = http.dispatch(return_run_details=True)
    assert response.status_code == 422
    assert '"return_run_details" is not a permitted key' in response.json()["message"]


def test_unknown_inputs_are_refused_with_their_names(http: Http) -> None:
    response = http.dispatch(inputs={"environment": "dev", "colour": "red", "size": "xl"})
    assert response.status_code == 422
    assert response.json()["message"] == 'Unexpected inputs provided: ["colour", "size"]'


def test_missing_required_input_is_refused(http: Http) -> None:
    response = http.dispatch(inputs={})
    assert response.status_code == 422
    assert response.json()["message"] == "Required input 'environment' not provided"


def test_more_than_25_inputs_are_refused(http: Http) -> None:
    response = http.dispatch(inputs={f"i{n}": "x" for n in range(26)})
    assert response.status_code == 422
    assert "25" in response.json()["message"]


def test_choice_outside_its_options_is_refused(http: Http) -> None:
    response = http.dispatch(inputs={"environment": "staging"})
    assert response.status_code == 422
    assert "not in the list of allowed values" in response.json()["message"]


def test_unknown_ref_is_refused(http: Http) -> None:
    response = http.dispatch(ref="nope")
    assert response.status_code == 422
    assert response.json()["message"] == "No ref found for: nope"


def test_workflow_without_dispatch_trigger_is_refused(http: Http) -> None:
    response = http.dispatch(workflow="lint.yml", inputs={})
    assert response.status_code == 422
    assert response.json()["message"] == "Workflow does not have 'workflow_dispatch' trigger"


def test_unknown_workflow_answers_404(http: Http) -> None:
    assert http.dispatch(workflow="missing.yml").status_code == 404


def test_read_only_token_cannot_dispatch(http: Http) -> None:
    response = http.dispatch(token="ro")
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"
    assert response.headers["X-Accepted-GitHub-Permissions"] == "actions=write"


def test_body_that_is_not_json_answers_400(http: Http, emu: Emulator) -> None:
    response = http.session.post(
        f"{emu.api_url}/repos/octo/app/actions/workflows/deploy.yml/dispatches",
        data=b"{not json",
        headers=http.headers("dev", None),
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Problems parsing JSON"


def test_dispatch_on_a_tag_runs_on_the_tag(http: Http) -> None:
    response = http.dispatch(ref="v1.0.0", return_run_details=True)
    run = http.get(f"/repos/octo/app/actions/runs/{response.json()['workflow_run_id']}").json()
    assert (run["head_branch"], run["head_sha"]) == ("v1.0.0", "3" * 40)


def test_dispatched_run_is_workflow_dispatch_by_the_token_actor(http: Http) -> None:
    run = http.get(f"/repos/octo/app/actions/runs/{http.dispatch_run_id()}").json()
    assert run["event"] == "workflow_dispatch"
    assert run["actor"]["login"] == "octocat"
    assert run["head_sha"] == "1" * 40


def test_github_token_dispatch_is_by_github_actions_bot(http: Http) -> None:
    response = http.dispatch(token="ci", return_run_details=True)
    run = http.get(f"/repos/octo/app/actions/runs/{response.json()['workflow_run_id']}").json()
    assert run["actor"]["login"] == "github-actions[bot]"
    assert run["actor"]["type"] == "Bot"


def test_boolean_and_number_inputs_are_accepted_as_strings(http: Http) -> None:
    assert http.dispatch(inputs={"environment": "dev", "dry_run": True}).status_code == 204


def test_pygithub_create_dispatch_returns_the_run(gh: github.Github) -> None:
    workflow = gh.get_repo("octo/app").get_workflow("deploy.yml")
    run = workflow.create_dispatch(
        "main", {"environment": "prod", "correlation_id": "c-1"}, throw=True, return_run_details=True
    )
    assert run.id > 0
    assert run.display_title == "Deploy prod [c-1]"


def test_pygithub_create_dispatch_without_details_returns_true(gh: github.Github) -> None:
    workflow = gh.get_repo("octo/app").get_workflow("deploy.yml")
    assert workflow.create_dispatch("main", {"environment": "dev"}, throw=True) is True


@pytest.mark.parametrize("token", ["dev", "ci"])
def test_repository_dispatch_answers_204_and_starts_matching_workflows(http: Http, token: str) -> None:
    response = http.post(
        "/repos/octo/app/dispatches",
        {"event_type": "release", "client_payload": {"version": "2.0"}},
        token=token,
    )
    # contents: read is not enough: it needs actions: write (REST docs "Create a workflow dispatch event")
    if token == "ci":
        assert response.status_code == 403
        return
    assert response.status_code == 204
    http.emu.clock.sleep(5)
    runs = http.get("/repos/octo/app/actions/runs", params={"event": "repository_dispatch"}).json()
    assert [r["display_title"] for r in runs["workflow_runs"]] == ["Release 2.0"]
    assert runs["workflow_runs"][0]["head_branch"] == "main"


def test_repository_dispatch_with_an_unknown_type_starts_nothing(http: Http) -> None:
    assert http.post("/repos/octo/app/dispatches", {"event_type": "other"}).status_code == 204
    http.emu.clock.sleep(5)
    runs = http.get("/repos/octo/app/actions/runs", params={"event": "repository_dispatch"}).json()
    assert runs["total_count"] == 0


def test_repository_dispatch_without_event_type_is_refused(http: Http) -> None:
    response = http.post("/repos/octo/app/dispatches", {"client_payload": {}})
    assert response.status_code == 422
    assert '"event_type"' in response.json()["message"]


def test_repository_dispatch_with_more_than_10_payload_keys_is_refused(http: Http) -> None:
    payload = {f"k{n}": n for n in range(11)}
    response = http.post("/repos/octo/app/dispatches", {"event_type": "release", "client_payload": payload})
    assert response.status_code == 422
