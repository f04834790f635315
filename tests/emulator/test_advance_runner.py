"""The runner played for an event-driven orchestrator (tests/support/advance_runner.py): each run
of the orchestrator workflow gets GitHub's job environment and event payload, ends as its step
exits, and its end is an event; runs that wait together are played at the same time, so two
invocations can race for a git ref as on GitHub."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.advance_runner import OrchestratorRunner
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine.git_refs import Claim, create_ref
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.support.clock import ManualClock

MAIN = "1111111111111111111111111111111111111111"
APP = Repository("octo", "app")


def _node(file: str, name: str) -> dict[str, Any]:
    return {
        "path": f".github/workflows/{file}",
        "name": name,
        "on": ["workflow_dispatch"],
        "run_name": name + " [${{ inputs.round }}]",
        "inputs": {"round": {"type": "string", "default": "0"}},
        "timeline": {"queued": 0, "duration": 60},
    }


SCENARIO: dict[str, Any] = {
    "options": {"dispatch_visibility_delay": 0},
    "tokens": {
        "dev": {"secret": "ghp_runner_dev", "kind": "pat", "repos": "*", "actor": "octocat"},
        "ci": {"secret": "ghs_runner_ci", "kind": "github_token", "repos": ["octo/app"]},
        "bot": {"secret": "ghs_runner_app", "kind": "app", "repos": ["octo/app"], "actor": "planner[bot]"},
    },
    "repos": {
        "octo/app": {
            "default_branch": "main",
            "branches": {"main": MAIN},
            "workflows": [
                _node("build.yml", "Build"),
                _node("test.yml", "Test"),
                _node("deploy.yml", "Deploy"),
                {
                    "path": ".github/workflows/orchestrator.yml",
                    "name": "Orchestrator",
                    "on": {
                        "workflow_dispatch": None,
                        "workflow_run": {"workflows": ["Build", "Test", "Deploy"], "types": ["completed"]},
                        "repository_dispatch": {"types": ["node-done"]},
                    },
                    "inputs": {"round": {"type": "string", "default": "0"}},
                    "held": True,
                    "timeline": {"queued": 0},
                },
                {
                    "path": ".github/workflows/after.yml",
                    "name": "After Orchestrator",
                    "on": {"workflow_run": {"workflows": ["Orchestrator"], "types": ["completed"]}},
                    "timeline": {"queued": 0, "duration": 10},
                },
            ],
        }
    },
}


@pytest.fixture
def emu(start: Callable[[dict[str, Any]], Emulator]) -> Emulator:
    return start(copy.deepcopy(SCENARIO))


def _post(emu: Emulator, path: str, body: Mapping[str, Any], token: str = "dev") -> requests.Response:
    answer = requests.post(
        f"{emu.api_url}/repos/octo/app/{path}",
        json=body,
        headers={"Authorization": f"Bearer {emu.token(token)}"},
        timeout=10,
    )
    assert answer.status_code in (200, 204), answer.text
    return answer


def _dispatch(emu: Emulator, workflow: str, round_: int = 0, token: str = "dev") -> None:
    _post(
        emu,
        f"actions/workflows/{workflow}/dispatches",
        {"ref": "main", "inputs": {"round": str(round_)}},
        token,
    )


def _runner(
    emu: Emulator, clock: ManualClock, step: Callable[[Mapping[str, str]], int], tmp_path: Path
) -> OrchestratorRunner:
    return OrchestratorRunner(
        emu,
        clock,
        "octo/app",
        "orchestrator.yml",
        step,
        tmp_path,
        token="ci",
        env={"APP_TOKEN": emu.token("bot")},
    )


def _conclusion(emu: Emulator, run_id: int) -> str | None:
    answer = requests.get(
        f"{emu.api_url}/repos/octo/app/actions/runs/{run_id}",
        headers={"Authorization": f"Bearer {emu.token('dev')}"},
        timeout=10,
    )
    conclusion: str | None = answer.json()["conclusion"]
    return conclusion


def test_each_orchestrator_run_gets_githubs_job_environment(
    emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    seen: list[dict[str, str]] = []

    def step(environ: Mapping[str, str]) -> int:
        seen.append(dict(environ))
        return 0

    _dispatch(emu, "orchestrator.yml", round_=7)
    [played] = _runner(emu, clock, step, tmp_path).run_until_idle()
    [environ] = seen
    assert {
        key: environ[key] for key in ("GITHUB_EVENT_NAME", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_REF")
    } == {
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": MAIN,
        "GITHUB_REF": "refs/heads/main",
    }
    assert environ["GITHUB_RUN_ID"] == str(played.run_id)
    assert environ["GITHUB_TOKEN"] == emu.token("ci")
    assert environ["APP_TOKEN"] == emu.token("bot")
    assert environ["GITHUB_API_URL"] == emu.api_url
    event = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
    assert event["inputs"] == {"round": "7"}
    assert all(Path(environ[name]).is_file() for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"))
    assert _conclusion(emu, played.run_id) == "success"


def test_the_run_ends_as_the_step_exits_and_its_end_is_an_event(
    emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    _dispatch(emu, "orchestrator.yml")
    [played] = _runner(emu, clock, lambda environ: 1, tmp_path).run_until_idle()
    assert (played.exit_code, played.conclusion, _conclusion(emu, played.run_id)) == (1, "failure", "failure")
    [after] = emu.runs_of("octo/app", "after.yml")
    assert emu.job_context(after).payload["workflow_run"]["id"] == played.run_id


def test_a_step_that_raises_fails_its_run(emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    def step(environ: Mapping[str, str]) -> int:
        raise RuntimeError("the step broke")

    _dispatch(emu, "orchestrator.yml")
    runner = _runner(emu, clock, step, tmp_path)
    with pytest.raises(RuntimeError, match="the step broke"):
        runner.run_until_idle()
    assert _conclusion(emu, runner.played[0].run_id) == "failure"


def _chain_step(clock: ManualClock, token_variable: str) -> Callable[[Mapping[str, str]], int]:
    """Build, then Test, each dispatched when the run before it completes: an orchestrator that
    never waits, with the token named by `token_variable`."""

    def step(environ: Mapping[str, str]) -> int:
        event = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        after = {"workflow_dispatch": "build.yml", "Build": "test.yml"}
        key = event["workflow_run"]["name"].split(" [")[0] if "workflow_run" in event else "workflow_dispatch"
        if key in after:
            with GitHubApi(
                base_url=environ["GITHUB_API_URL"], token=environ[token_variable], clock=clock
            ) as api:
                api.post(f"{APP.api_path}/actions/workflows/{after[key]}/dispatches", {"ref": "main"})
        return 0

    return step


def test_a_chain_advances_on_each_completion_with_an_app_token(
    emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    _dispatch(emu, "orchestrator.yml")
    played = _runner(emu, clock, _chain_step(clock, "APP_TOKEN"), tmp_path).run_until_idle()
    assert [p.event_name for p in played] == ["workflow_dispatch", "workflow_run", "workflow_run"]
    assert [p.payload["workflow_run"]["name"] for p in played[1:]] == ["Build [0]", "Test [0]"]
    assert played[-1].started_at - played[0].started_at >= 120  # two nodes of a minute, nobody waiting


def test_with_the_github_token_the_chain_stops_at_the_first_node(
    emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    _dispatch(emu, "orchestrator.yml")
    played = _runner(emu, clock, _chain_step(clock, "GITHUB_TOKEN"), tmp_path).run_until_idle()
    assert [p.event_name for p in played] == ["workflow_dispatch"]
    assert len(emu.runs_of("octo/app", "build.yml")) == 1


def test_a_repository_dispatch_callback_is_played_with_its_client_payload(
    emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    _post(
        emu, "dispatches", {"event_type": "node-done", "client_payload": {"node": "build", "run_id": 5}}, "ci"
    )
    [played] = _runner(emu, clock, lambda environ: 0, tmp_path).run_until_idle()
    assert (played.event_name, played.payload["client_payload"]) == (
        "repository_dispatch",
        {"node": "build", "run_id": 5},
    )


ROUNDS = 10


def test_two_simultaneous_completions_are_played_at_once_and_one_claim_wins(
    emu: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    together = threading.Barrier(2, timeout=10)  # both invocations inside the step at once

    def step(environ: Mapping[str, str]) -> int:
        event = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        if "workflow_run" not in event or event["workflow_run"]["name"].startswith("Deploy"):
            return 0
        round_ = re.search(r"\[(\d+)\]", event["workflow_run"]["name"])
        assert round_ is not None
        together.wait()
        with GitHubApi(
            base_url=environ["GITHUB_API_URL"], token=environ["APP_TOKEN"], clock=clock, policy=RetryPolicy()
        ) as api:
            if create_ref(api, APP, f"refs/plan/round-{round_[1]}/deploy", MAIN) is Claim.CREATED:
                api.post(
                    f"{APP.api_path}/actions/workflows/deploy.yml/dispatches",
                    {"ref": "main", "inputs": {"round": round_[1]}},
                )
        return 0

    runner = _runner(emu, clock, step, tmp_path)
    for round_ in range(ROUNDS):
        _dispatch(emu, "build.yml", round_)  # at the same instant: both complete a minute later
        _dispatch(emu, "test.yml", round_)
        runner.run_until_idle()
    deploys = [
        emu.job_context(run).payload["inputs"]["round"] for run in emu.runs_of("octo/app", "deploy.yml")
    ]
    assert sorted(deploys, key=int) == [str(n) for n in range(ROUNDS)]
    assert len(runner.played) == ROUNDS * 3  # two completions and the deploy's, per round
