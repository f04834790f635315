"""`workflow_run` events as GitHub fires them (GitHub docs, "Events that trigger workflows"): a
run that completes starts the workflows of its repository that name it, by its name, on the
default branch, with the webhook payload; not for another repository's workflows, not for a run
dispatched with a GITHUB_TOKEN (a switch), and at most three levels deep (a switch). A `held`
workflow's runs last until the test ends them, and their completion is an event too."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support.openapi import OpenApiSpec, assert_conforms
from wait_and_dispatch.emulator import Emulator, JobContext
from wait_and_dispatch.support.clock import ManualClock

MAIN = "1111111111111111111111111111111111111111"
RELEASE = "2222222222222222222222222222222222222222"


def _listener(path: str, name: str, listens_to: list[str], **trigger: Any) -> dict[str, Any]:
    return {
        "path": f".github/workflows/{path}",
        "name": name,
        "on": {"workflow_run": {"workflows": listens_to, "types": ["completed"], **trigger}},
        "timeline": {"queued": 0, "duration": 30},
    }


SCENARIO: dict[str, Any] = {
    "options": {"dispatch_visibility_delay": 0},
    "tokens": {
        "dev": {"secret": "ghp_events_dev", "kind": "pat", "repos": "*", "actor": "octocat"},
        "ci": {"secret": "ghs_events_ci", "kind": "github_token", "repos": ["octo/app"]},
        "bot": {"secret": "ghs_events_app", "kind": "app", "repos": "*"},
    },
    "repos": {
        "octo/app": {
            "default_branch": "main",
            "branches": {"main": MAIN, "release/1": RELEASE},
            "workflows": [
                {
                    "path": ".github/workflows/build.yml",
                    "name": "Build",
                    "on": ["workflow_dispatch"],
                    "inputs": {"target": {"type": "string", "default": "all"}},
                    "timeline": {"queued": 0, "duration": 60},
                    "conclusion": "failure",
                },
                _listener("after.yml", "After Build", ["Build"]),
                _listener("by-file.yml", "By File", ["build.yml"]),
                _listener("second.yml", "Second", ["After Build"]),
                _listener("third.yml", "Third", ["Second"]),
                _listener("fourth.yml", "Fourth", ["Third"]),
                {
                    "path": ".github/workflows/release-only.yml",
                    "name": "Release Only",
                    "on": {
                        "workflow_run": {
                            "workflows": ["Build"],
                            "types": ["completed"],
                            "branches": ["release/**"],
                        }
                    },
                    "timeline": {"queued": 0, "duration": 30},
                },
                {
                    "path": ".github/workflows/callback.yml",
                    "name": "Callback",
                    "on": {"repository_dispatch": {"types": ["node-done"]}},
                    "timeline": {"queued": 0, "duration": 30},
                },
            ],
        },
        "octo/other": {
            "branches": {"main": MAIN},
            "workflows": [_listener("after.yml", "After Build", ["Build"])],
        },
    },
}


@pytest.fixture
def spec() -> OpenApiSpec:
    return OpenApiSpec.load()


@pytest.fixture
def events_scenario() -> dict[str, Any]:
    return copy.deepcopy(SCENARIO)


def _dispatch(emu: Emulator, token: str = "dev", ref: str = "main", workflow: str = "build.yml") -> int:
    answer = requests.post(
        f"{emu.api_url}/repos/octo/app/actions/workflows/{workflow}/dispatches",
        json={"ref": ref, "return_run_details": True},
        headers={"Authorization": f"Bearer {emu.token(token)}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    run_id: int = answer.json()["workflow_run_id"]
    return run_id


def _runs(emu: Emulator, workflow: str, repo: str = "octo/app") -> list[int]:
    return emu.runs_of(repo, workflow)


def _run(emu: Emulator, run_id: int) -> dict[str, Any]:
    answer = requests.get(
        f"{emu.api_url}/repos/octo/app/actions/runs/{run_id}",
        headers={"Authorization": f"Bearer {emu.token('dev')}"},
        timeout=10,
    )
    body: dict[str, Any] = answer.json()
    return body


def test_a_completed_run_starts_the_workflow_that_names_it(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    emu = start(events_scenario)
    build = _dispatch(emu)
    clock.advance(59)
    assert _runs(emu, "after.yml") == []
    clock.advance(1)
    [after] = _runs(emu, "after.yml")
    run = _run(emu, after)
    assert (run["event"], run["head_branch"], run["head_sha"], run["status"]) == (
        "workflow_run",
        "main",
        MAIN,
        "in_progress",
    )
    assert run["created_at"] == _run(emu, build)["updated_at"]


@pytest.fixture
def after_build(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> tuple[int, JobContext]:
    """A run of Build completed, and the job of the After Build run it started."""
    emu = start(events_scenario)
    build = _dispatch(emu)
    clock.advance(60)
    [after] = _runs(emu, "after.yml")
    return build, emu.job_context(after)


def test_the_listener_gets_githubs_webhook_payload(
    after_build: tuple[int, JobContext], spec: OpenApiSpec
) -> None:
    build, job = after_build
    payload = dict(job.payload)
    assert (job.event_name, job.ref, job.sha, job.repository) == (
        "workflow_run",
        "refs/heads/main",
        MAIN,
        "octo/app",
    )
    assert payload["action"] == "completed"
    assert (payload["workflow_run"]["id"], payload["workflow_run"]["conclusion"]) == (build, "failure")
    assert (payload["workflow_run"]["status"], payload["workflow"]["name"]) == ("completed", "Build")
    assert payload["workflow_run"]["event"] == "workflow_dispatch"
    assert payload["sender"]["login"] == "octocat"
    assert_conforms(spec.check_webhook("workflow-run-completed", payload), "the workflow_run payload")


def test_listeners_are_matched_by_the_workflows_name_not_its_file(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    emu = start(events_scenario)
    _dispatch(emu)
    clock.advance(600)
    assert len(_runs(emu, "after.yml")) == 1
    assert _runs(emu, "by-file.yml") == []


def test_a_workflow_of_another_repository_is_not_started(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    emu = start(events_scenario)
    _dispatch(emu)
    clock.advance(600)
    assert _runs(emu, "after.yml", repo="octo/other") == []


@pytest.mark.parametrize(
    ("token", "switch", "listeners"),
    [
        pytest.param("dev", False, 1, id="a personal access token's run starts listeners"),
        pytest.param("bot", False, 1, id="an App token's run starts listeners"),
        pytest.param("ci", False, 0, id="a GITHUB_TOKEN's run starts none"),
        pytest.param("ci", True, 1, id="with the switch off a GITHUB_TOKEN's run starts listeners"),
    ],
)
def test_the_token_a_run_was_dispatched_with_decides_whether_it_fires(
    start: Callable[[dict[str, Any]], Emulator],
    events_scenario: dict[str, Any],
    clock: ManualClock,
    token: str,
    switch: bool,
    listeners: int,
) -> None:
    events_scenario["options"]["workflow_run_from_github_token"] = switch
    emu = start(events_scenario)
    _dispatch(emu, token=token)
    clock.advance(600)
    assert len(_runs(emu, "after.yml")) == listeners


def test_workflow_run_chains_stop_after_three_levels(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    emu = start(events_scenario)
    _dispatch(emu)
    clock.advance(3600)
    counts = [len(_runs(emu, w)) for w in ("after.yml", "second.yml", "third.yml", "fourth.yml")]
    assert counts == [1, 1, 1, 0]


def test_the_depth_limit_is_a_switch(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    events_scenario["options"]["workflow_run_max_depth"] = 1
    emu = start(events_scenario)
    _dispatch(emu)
    clock.advance(3600)
    assert [len(_runs(emu, w)) for w in ("after.yml", "second.yml")] == [1, 0]


def test_a_dispatch_starts_a_new_chain_whatever_started_its_dispatcher(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    # A run started by the API is at depth 0, as a push or a dispatch by a person is: the chain
    # GitHub limits is of runs started by `workflow_run` itself.
    emu = start(events_scenario)
    for _ in range(3):
        _dispatch(emu, token="bot")
        clock.advance(3600)
    assert len(_runs(emu, "third.yml")) == 3


def test_without_types_every_activity_fires(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    workflows = events_scenario["repos"]["octo/app"]["workflows"]
    workflows.append(
        {**_listener("any.yml", "Any", ["Build"]), "on": {"workflow_run": {"workflows": ["Build"]}}}
    )
    emu = start(events_scenario)
    _dispatch(emu)
    clock.advance(60)
    actions = [emu.job_context(run).payload["action"] for run in _runs(emu, "any.yml")]
    assert actions == ["requested", "in_progress", "completed"]


def test_types_pick_the_activity_that_fires(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    workflows = events_scenario["repos"]["octo/app"]["workflows"]
    workflows.append(_listener("on-request.yml", "On Request", ["Build"], types=["requested"]))
    workflows.append(_listener("on-start.yml", "On Start", ["Build"], types=["in_progress"]))
    emu = start(events_scenario)
    _dispatch(emu)
    assert len(_runs(emu, "on-request.yml")) == 1
    assert emu.job_context(_runs(emu, "on-request.yml")[0]).payload["action"] == "requested"
    clock.advance(1)
    assert emu.job_context(_runs(emu, "on-start.yml")[0]).payload["action"] == "in_progress"


def test_a_branch_filter_is_on_the_head_branch_of_the_run_that_fired(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    emu = start(events_scenario)
    _dispatch(emu, ref="main")
    clock.advance(600)
    assert _runs(emu, "release-only.yml") == []
    _dispatch(emu, ref="release/1")
    clock.advance(600)
    [run] = _runs(emu, "release-only.yml")
    assert emu.job_context(run).payload["workflow_run"]["head_branch"] == "release/1"


def test_a_held_run_lasts_until_the_test_finishes_it_and_its_end_is_an_event(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    workflows = events_scenario["repos"]["octo/app"]["workflows"]
    workflows.append({**_listener("orchestrator.yml", "Orchestrator", ["Build"]), "held": True})
    workflows.append(_listener("after-orchestrator.yml", "After Orchestrator", ["Orchestrator"]))
    emu = start(events_scenario)
    _dispatch(emu)
    clock.advance(86400)
    [held] = _runs(emu, "orchestrator.yml")
    assert _run(emu, held)["status"] == "in_progress"
    assert _runs(emu, "after-orchestrator.yml") == []
    emu.finish_run(held, "success")
    assert (_run(emu, held)["status"], _run(emu, held)["conclusion"]) == ("completed", "success")
    [after] = _runs(emu, "after-orchestrator.yml")
    assert emu.job_context(after).payload["workflow_run"]["conclusion"] == "success"
    with pytest.raises(ValueError, match="already completed"):
        emu.finish_run(held, "failure")


def test_a_held_run_never_finished_is_cancelled_at_githubs_run_time_limit(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    workflows = events_scenario["repos"]["octo/app"]["workflows"]
    workflows.append({**_listener("orchestrator.yml", "Orchestrator", ["Build"]), "held": True})
    emu = start(events_scenario)
    _dispatch(emu)
    clock.advance(60 + 35 * 86400)
    [held] = _runs(emu, "orchestrator.yml")
    assert _run(emu, held)["conclusion"] == "cancelled"


def test_only_a_held_workflows_run_can_be_finished_by_the_test(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any]
) -> None:
    emu = start(events_scenario)
    build = _dispatch(emu)
    with pytest.raises(ValueError, match="not of a held workflow"):
        emu.finish_run(build, "success")


def test_a_repository_dispatch_gives_its_run_the_client_payload(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any]
) -> None:
    emu = start(events_scenario)
    answer = requests.post(
        f"{emu.api_url}/repos/octo/app/dispatches",
        json={"event_type": "node-done", "client_payload": {"run_id": 42, "node": "build"}},
        headers={"Authorization": f"Bearer {emu.token('ci')}"},
        timeout=10,
    )
    assert answer.status_code == 204
    [run] = _runs(emu, "callback.yml")
    job = emu.job_context(run)
    assert (job.event_name, job.payload["action"], job.payload["branch"]) == (
        "repository_dispatch",
        "node-done",
        "main",
    )
    assert job.payload["client_payload"] == {"run_id": 42, "node": "build"}


def test_a_dispatched_runs_job_gets_the_workflow_dispatch_payload(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], spec: OpenApiSpec
) -> None:
    emu = start(events_scenario)
    job = emu.job_context(_dispatch(emu, ref="release/1"))
    assert (job.event_name, job.ref, job.sha, job.workflow) == (
        "workflow_dispatch",
        "refs/heads/release/1",
        RELEASE,
        "Build",
    )
    assert job.payload["inputs"] == {"target": "all"}
    assert_conforms(
        spec.check_webhook("workflow-dispatch", dict(job.payload)), "the workflow_dispatch payload"
    )


def test_a_listeners_run_is_listed_with_event_workflow_run(
    start: Callable[[dict[str, Any]], Emulator], events_scenario: dict[str, Any], clock: ManualClock
) -> None:
    emu = start(events_scenario)
    _dispatch(emu)
    clock.advance(60)
    listed = requests.get(
        f"{emu.api_url}/repos/octo/app/actions/runs?event=workflow_run",
        headers={"Authorization": f"Bearer {emu.token('dev')}"},
        timeout=10,
    ).json()
    assert [r["name"] for r in listed["workflow_runs"]] == ["After Build"]


def test_the_payload_check_finds_a_payload_that_is_not_githubs(
    after_build: tuple[int, JobContext], spec: OpenApiSpec
) -> None:
    payload = dict(after_build[1].payload)
    del payload["workflow"]
    assert spec.check_webhook("workflow-run-completed", payload) != []


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ("workflow_run", "name the workflows listened to"),
        ({"workflow_run": {"types": ["completed"]}}, "name at least one workflow"),
        ({"workflow_run": {"workflows": ["Build"], "types": ["finished"]}}, "'finished' is not one of"),
        (
            {"workflow_run": {"workflows": ["Build"], "branches": ["a"], "branches-ignore": ["b"]}},
            "not both",
        ),
        ({"workflow_run": {"workflows": ["Build"], "branch": ["a"]}}, "unknown key 'branch'"),
    ],
)
def test_a_workflow_run_trigger_github_would_refuse_fails_the_scenario(trigger: Any, message: str) -> None:
    from wait_and_dispatch.emulator import Scenario
    from wait_and_dispatch.support.errors import UsageError

    scenario = copy.deepcopy(SCENARIO)
    scenario["repos"]["octo/app"]["workflows"][1]["on"] = trigger
    with pytest.raises(UsageError, match=message):
        Scenario.from_dict(scenario)
