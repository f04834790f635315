"""`cases:` a workflow whose runs go differently by their inputs, event or branch; and artifact
names and contents rendered with the run's context (docs/emulator.md, "Scenario reference")."""

from __future__ import annotations

import copy
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.emulator.conftest import MAIN_SHA, SCENARIO, Http
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import UsageError

Start = Callable[[dict[str, Any]], Emulator]


def _deploy(scenario: dict[str, Any]) -> dict[str, Any]:
    workflow: dict[str, Any] = scenario["repos"]["octo/app"]["workflows"][0]
    return workflow


def _run(http: Http, run_id: int) -> dict[str, Any]:
    response = http.get(f"/repos/octo/app/actions/runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _finished(http: Http, clock: ManualClock, environment: str = "dev", **inputs: str) -> dict[str, Any]:
    run_id = http.dispatch_run_id(environment=environment, **inputs)
    clock.advance(3600)
    return _run(http, run_id)


def _artifacts(http: Http, run_id: int) -> dict[str, dict[str, Any]]:
    body = http.get(f"/repos/octo/app/actions/runs/{run_id}/artifacts").json()
    return {a["name"]: a for a in body["artifacts"]}


def _download(http: Http, artifact: dict[str, Any]) -> zipfile.ZipFile:
    response = http.get(artifact["archive_download_url"], allow_redirects=False)
    assert response.status_code == 302, response.text
    blob = requests.get(response.headers["Location"], timeout=10)
    return zipfile.ZipFile(io.BytesIO(blob.content))


# -- choosing a case ---------------------------------------------------------------------------


def test_run_matching_a_case_takes_its_conclusion(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["cases"] = [{"if": "inputs.environment == 'prod'", "conclusion": "failure"}]
    http = Http(start(scenario))
    assert _finished(http, clock, "prod")["conclusion"] == "failure"


def test_run_matching_no_case_keeps_the_workflows_values(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["cases"] = [{"if": "inputs.environment == 'prod'", "conclusion": "failure"}]
    http = Http(start(scenario))
    assert _finished(http, clock, "dev")["conclusion"] == "success"


def test_first_true_case_wins(start: Start, scenario: dict[str, Any], clock: ManualClock) -> None:
    _deploy(scenario)["cases"] = [
        {"if": "inputs.environment == 'prod'", "conclusion": "timed_out"},
        {"if": "true", "conclusion": "failure"},
    ]
    http = Http(start(scenario))
    assert _finished(http, clock, "prod")["conclusion"] == "timed_out"
    assert _finished(http, clock, "dev")["conclusion"] == "failure"


def test_if_may_be_written_inside_dollar_braces(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["cases"] = [{"if": "${{ inputs.correlation_id == 'x' }}", "conclusion": "cancelled"}]
    http = Http(start(scenario))
    assert _finished(http, clock, correlation_id="x")["conclusion"] == "cancelled"


def test_if_may_call_the_expression_functions(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["cases"] = [
        {"if": "startsWith(inputs.correlation_id, 'flaky-')", "conclusion": "failure"}
    ]
    http = Http(start(scenario))
    assert _finished(http, clock, correlation_id="flaky-1")["conclusion"] == "failure"
    assert _finished(http, clock, correlation_id="steady-1")["conclusion"] == "success"


def test_case_sees_the_event_name_and_branch_of_a_scenario_run(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    # The scenario's push run on main sets no conclusion of its own: the case decides it.
    del scenario["repos"]["octo/app"]["runs"][0]["conclusion"]
    _deploy(scenario)["cases"] = [
        {"if": "github.event_name == 'push' && github.ref_name == 'main'", "conclusion": "action_required"}
    ]
    http = Http(start(scenario))
    runs = http.get("/repos/octo/app/actions/runs", params={"event": "push", "head_sha": MAIN_SHA}).json()
    assert [r["conclusion"] for r in runs["workflow_runs"]] == ["action_required"]
    assert _finished(http, clock)["conclusion"] == "success"


def test_case_sees_the_client_payload_of_a_repository_dispatch(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    release = scenario["repos"]["octo/app"]["workflows"][2]
    release["cases"] = [{"if": "github.event.client_payload.version == '2.0'", "conclusion": "failure"}]
    http = Http(start(scenario))
    for version in ("1.0", "2.0"):
        body = {"event_type": "release", "client_payload": {"version": version}}
        assert http.post("/repos/octo/app/dispatches", body).status_code == 204
    clock.advance(600)
    runs = http.get("/repos/octo/app/actions/runs", params={"event": "repository_dispatch"}).json()
    assert {r["display_title"]: r["conclusion"] for r in runs["workflow_runs"]} == {
        "Release 1.0": "success",
        "Release 2.0": "failure",
    }


def test_case_conclusion_list_is_taken_in_turn_by_re_runs(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["cases"] = [
        {"if": "inputs.environment == 'prod'", "conclusion": ["failure", "success"]}
    ]
    http = Http(start(scenario))
    run = _finished(http, clock, "prod")
    assert run["conclusion"] == "failure"
    assert http.post(f"/repos/octo/app/actions/runs/{run['id']}/rerun").status_code == 201
    clock.advance(3600)
    again = _run(http, run["id"])
    assert (again["run_attempt"], again["conclusion"]) == (2, "success")


# -- what a case overrides ---------------------------------------------------------------------


def test_case_timeline_changes_only_the_phases_it_names(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    # The workflow queues for 5 s and runs for 120 s; the prod case runs for 600 s.
    _deploy(scenario)["cases"] = [{"if": "inputs.environment == 'prod'", "timeline": {"duration": 600}}]
    http = Http(start(scenario))
    run_id = http.dispatch_run_id(environment="prod")
    clock.advance(4)
    assert _run(http, run_id)["status"] == "queued"
    clock.advance(300)
    assert _run(http, run_id)["status"] == "in_progress"
    clock.advance(301)
    assert _run(http, run_id)["status"] == "completed"


def test_case_jobs_replace_the_workflows_jobs(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["cases"] = [
        {
            "if": "inputs.environment == 'prod'",
            "jobs": [{"name": "approve ${{ inputs.environment }}", "start": 0, "duration": 120}],
        }
    ]
    http = Http(start(scenario))
    run = _finished(http, clock, "prod")
    jobs = http.get(f"/repos/octo/app/actions/runs/{run['id']}/jobs").json()["jobs"]
    assert [j["name"] for j in jobs] == ["approve prod"]


def test_case_artifacts_replace_the_workflows_artifacts(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["cases"] = [
        {
            "if": "inputs.environment == 'prod'",
            "artifacts": [{"name": "release-notes", "files": {"a.md": "x"}}],
        }
    ]
    http = Http(start(scenario))
    assert set(_artifacts(http, _finished(http, clock, "prod")["id"])) == {"release-notes"}
    assert set(_artifacts(http, _finished(http, clock, "dev")["id"])) == {"package"}


def test_case_with_no_artifacts_uploads_none(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["cases"] = [{"if": "inputs.environment == 'prod'", "artifacts": []}]
    http = Http(start(scenario))
    assert _artifacts(http, _finished(http, clock, "prod")["id"]) == {}


# -- rendered artifacts -------------------------------------------------------------------------


def test_artifact_name_is_rendered_with_the_runs_inputs(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["artifacts"] = [{"name": "package-${{ inputs.environment }}", "files": {"a.txt": "a"}}]
    http = Http(start(scenario))
    run = _finished(http, clock, "prod")
    assert set(_artifacts(http, run["id"])) == {"package-prod"}
    by_name = http.get("/repos/octo/app/actions/artifacts", params={"name": "package-prod"}).json()
    assert [a["workflow_run"]["id"] for a in by_name["artifacts"]] == [run["id"]]


def test_artifact_file_contents_are_rendered_with_the_runs_context(
    start: Start, scenario: dict[str, Any], clock: ManualClock
) -> None:
    _deploy(scenario)["artifacts"] = [
        {
            "name": "report",
            "files": {
                "report.json": '{"environment": "${{ inputs.environment }}", '
                '"attempt": ${{ github.run_attempt }}}',
                "plain.txt": "no template here",
            },
        }
    ]
    http = Http(start(scenario))
    archive = _download(http, _artifacts(http, _finished(http, clock, "prod")["id"])["report"])
    assert archive.read("report.json") == b'{"environment": "prod", "attempt": 1}'
    assert archive.read("plain.txt") == b"no template here"


# -- validation --------------------------------------------------------------------------------


def _refused(change: Callable[[dict[str, Any]], None], message: str) -> None:
    data = copy.deepcopy(SCENARIO)
    change(data)
    with pytest.raises(UsageError, match=message):
        Scenario.from_dict(data)


def test_unknown_key_in_a_case_is_named_with_its_path() -> None:
    _refused(
        lambda d: _deploy(d).update(cases=[{"if": "true", "conclsion": "failure"}]),
        r"repos\.octo/app\.workflows\[0\]\.cases\[0\]: unknown key 'conclsion'",
    )


def test_case_without_if_is_refused() -> None:
    _refused(
        lambda d: _deploy(d).update(cases=[{"conclusion": "failure"}]),
        r"workflows\[0\]\.cases\[0\]\.if: required",
    )


def test_bad_expression_in_a_case_if_is_named() -> None:
    _refused(
        lambda d: _deploy(d).update(cases=[{"if": "true"}, {"if": "inputs.x =="}]),
        r"workflows\[0\]\.cases\[1\]\.if: ",
    )


def test_status_function_in_a_case_if_is_refused() -> None:
    _refused(
        lambda d: _deploy(d).update(cases=[{"if": "always()"}]),
        r"workflows\[0\]\.cases\[0\]\.if: unknown function always\(\)",
    )


def test_bad_conclusion_in_a_case_is_named() -> None:
    _refused(
        lambda d: _deploy(d).update(cases=[{"if": "true", "conclusion": "great"}]),
        r"cases\[0\]\.conclusion: 'great' is not one of",
    )


def test_unknown_key_in_a_case_timeline_is_named() -> None:
    _refused(
        lambda d: _deploy(d).update(cases=[{"if": "true", "timeline": {"duraton": 5}}]),
        r"cases\[0\]\.timeline: unknown key 'duraton'",
    )


def test_bad_expression_in_an_artifact_name_is_named() -> None:
    _refused(
        lambda d: _deploy(d).update(artifacts=[{"name": "metrics-${{ inputs. }}"}]),
        r"workflows\[0\]\.artifacts\[0\]\.name: ",
    )


def test_bad_expression_in_artifact_contents_is_named() -> None:
    _refused(
        lambda d: _deploy(d).update(artifacts=[{"name": "m", "files": {"m.json": "${{ inputs.x"}}]),
        r"workflows\[0\]\.artifacts\[0\]\.files\.m\.json: ",
    )
