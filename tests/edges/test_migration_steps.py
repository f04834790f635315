"""A peer action's step moved to this action as its users move it: only `uses:` changes.

Each test builds the step's environment as the runner does for a container action: `INPUT_*` for
every input of our action.yml that has a default (expressions evaluated), then one `INPUT_*` per
key of the peer step's `with:` (upper-cased, hyphens kept). The action then runs as a subprocess
against the emulator in real time, with runs of a few seconds, and the outputs are read back under
the peer's names as the steps after it read them. docs/MIGRATION.md has a section per peer.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_SCENARIO, MAIN_SHA
from tests.support.runner_contract import commands_in, outputs_of
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.step.catalogue import INPUTS
from wait_and_dispatch.support.clock import SystemClock

ENTRYPOINT = [sys.executable, "-m", "wait_and_dispatch", "action"]
# The job the step runs in: the runner's GITHUB_JOB is its id, its key under `jobs:` (docs "Store
# information in variables"), which the emulator's workflow files number job1, job2, ...; its
# check run carries its name.
JOB = "job1"
JOB_NAME = "enforce-all-checks"


def scenario(*, conclusion: str = "success", checks: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """octo/app with build.yml (workflow_dispatch and push, an artifact `package`), deploy.yml
    (repository_dispatch `deploy`), both runs of a few seconds, and these app check runs."""
    data = copy.deepcopy(BASE_SCENARIO)
    repo = data["repos"]["octo/app"]
    build = repo["workflows"][0]
    build.update({"timeline": {"queued": 1, "duration": 2}, "conclusion": conclusion})
    build["jobs"][0]["duration"] = 2
    repo["workflows"].append(
        {
            "path": ".github/workflows/deploy.yml",
            "name": "Deploy",
            "on": {"repository_dispatch": {"types": ["deploy"]}},
            # as lasith-kg/dispatch-workflow's README has it, for its `discover`
            "run_name": "Deploy [${{ github.event.client_payload.distinct_id }}]",
            "timeline": {"queued": 1, "duration": 2},
            "conclusion": "success",
            "jobs": [{"name": "deploy", "steps": ["Set up job", "Deploy"], "start": 0, "duration": 2}],
        }
    )
    repo["check_runs"] = list(checks)
    data["options"]["dispatch_visibility_delay"] = 0
    return data


def check(name: str, *, duration: float = 2, conclusion: str = "success") -> dict[str, Any]:
    return {
        "name": name,
        "head_sha": MAIN_SHA,
        "app": "external-ci",
        "timeline": {"queued": 0, "duration": duration},
        "conclusion": conclusion,
    }


@dataclass
class Step:
    emulator: Emulator
    workspace: Path
    env: dict[str, str]
    returncode: int = -1
    stdout: str = ""

    def with_(self, values: dict[str, str]) -> Step:
        """The peer step's `with:`, as the runner passes it."""
        self.env.update({f"INPUT_{name.replace(' ', '_').upper()}": value for name, value in values.items()})
        return self

    def run(self) -> Step:
        (self.workspace.parent / "output").write_text("", encoding="utf-8")
        done = subprocess.run(
            ENTRYPOINT,
            env=self.env,
            cwd=self.workspace,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        self.returncode, self.stdout = done.returncode, done.stdout + done.stderr
        return self

    @property
    def outputs(self) -> dict[str, str]:
        return outputs_of(self.workspace.parent / "output")

    def messages(self, name: str) -> list[str]:
        return [c.message for c in commands_in(self.stdout) if c.name == name]


StartStep = Callable[..., Step]


@pytest.fixture
def start_step(tmp_path: Path) -> Iterator[StartStep]:
    started: list[Emulator] = []

    def start(data: dict[str, Any] | None = None) -> Step:
        emulator = Emulator(Scenario.from_dict(data or scenario()), clock=SystemClock()).start()
        started.append(emulator)
        workspace = tmp_path / "workspace"
        workspace.mkdir(exist_ok=True)
        for name in ("output", "summary.md", "state"):
            (tmp_path / name).touch()
        evaluated = {
            "${{ github.token }}": emulator.token("ci"),
            "${{ github.repository }}": "octo/app",
            "${{ github.api_url }}": emulator.api_url,
            # As on GHES, where the job context has no check_run_id: the own check is then known by
            # GITHUB_JOB's name in the own run.
            "${{ job.check_run_id }}": "",
        }
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(sys.path),
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "octo/app",
            "GITHUB_REPOSITORY_OWNER": "octo",
            "GITHUB_SHA": MAIN_SHA,
            "GITHUB_JOB": JOB,
            "GITHUB_API_URL": emulator.api_url,
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(tmp_path / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_STATE": str(tmp_path / "state"),
            # action.yml's defaults, as the runner passes them for every input the step leaves out
            **{
                item.env_names[0]: evaluated.get(item.default, item.default)
                for item in INPUTS
                if item.default
            },
        }
        return Step(emulator, workspace, env)

    yield start
    for emulator in started:
        emulator.stop()


def dispatched_inputs(step: Step) -> list[dict[str, Any]]:
    return [
        w.body.get("inputs", w.body.get("client_payload"))
        for w in step.emulator.writes()
        if w.path.endswith("/dispatches") and w.status in (200, 204)
    ]


# -- convictional/trigger-workflow-and-wait ---------------------------------------------------------


def convictional(step: Step) -> Step:
    return step.with_(
        {
            "owner": "octo",
            "repo": "app",
            "github_token": step.emulator.token("dev"),
            "workflow_file_name": "build.yml",
            "ref": "main",
            "wait_interval": "1",
            "client_payload": '{"environment": "prod"}',
        }
    )


def test_convictional_triggers_a_new_run_each_time_waits_and_writes_its_outputs(
    start_step: StartStep,
) -> None:
    step = convictional(start_step()).run()
    assert step.returncode == 0, step.stdout
    first = step.outputs
    assert first["workflow_id"] == first["run-id"] and first["workflow_url"] == first["run-url"]
    assert first["workflow_url"].endswith(f"/octo/app/actions/runs/{first['run-id']}")
    assert (first["conclusion"], first["dispatched"]) == ("success", "true")

    again = step.run().outputs  # trigger-workflow-and-wait always triggers: no run is reused
    assert step.returncode == 0, step.stdout
    assert again["dispatched"] == "true" and again["workflow_id"] != first["workflow_id"]
    assert [inputs.get("environment") for inputs in dispatched_inputs(step)] == ["prod", "prod"]


def test_convictional_propagate_failure_false_passes_the_step_with_the_runs_conclusion(
    start_step: StartStep,
) -> None:
    step = (
        convictional(start_step(scenario(conclusion="failure"))).with_({"propagate_failure": "false"}).run()
    )
    assert step.returncode == 0, step.stdout
    assert step.outputs["conclusion"] == "failure" and step.outputs["workflow_id"]


def test_convictional_comment_downstream_url_is_refused_before_any_request(start_step: StartStep) -> None:
    step = convictional(start_step())
    step.with_({"comment_downstream_url": "https://api.github.com/repos/octo/app/issues/1/comments"}).run()
    assert step.returncode == 2
    [error] = step.messages("error")
    assert "comment_downstream_url" in error and "run-url" in error
    assert step.emulator.requests == []


# -- lasith-kg/dispatch-workflow -------------------------------------------------------------------


def test_lasith_kg_workflow_dispatch_sends_a_new_run_and_returns_with_its_id_without_waiting(
    start_step: StartStep,
) -> None:
    step = start_step()
    step.with_(
        {
            "dispatch-method": "workflow_dispatch",
            "repo": "app",
            "owner": "octo",
            "ref": "main",
            "workflow": "build.yml",
            "token": step.emulator.token("dev"),
            "workflow-inputs": '{"environment": "prod"}',
            "discover": "true",
        }
    ).run()
    assert step.returncode == 0, step.stdout
    outputs = step.outputs
    assert outputs["run-id"] and outputs["run-url"].endswith(f"/actions/runs/{outputs['run-id']}")
    assert outputs["dispatched"] == "true" and outputs["status"] != "completed"  # not waited for
    assert dispatched_inputs(step)[0]["environment"] == "prod"


def test_lasith_kg_repository_dispatch_sends_workflow_inputs_as_the_client_payload(
    start_step: StartStep,
) -> None:
    step = start_step()
    step.with_(
        {
            "dispatch-method": "repository_dispatch",
            "repo": "app",
            "owner": "octo",
            "token": step.emulator.token("dev"),
            "event-type": "deploy",
            "workflow-inputs": '{"environment": "prod"}',
            "discover": "true",
        }
    ).run()
    assert step.returncode == 0, step.stdout
    deploy = step.emulator.state.repos["octo/app"].workflow("deploy.yml")
    assert deploy is not None
    [run] = [r for r in step.emulator.state.repos["octo/app"].runs if r.id == int(step.outputs["run-id"])]
    assert run.workflow.id == deploy.id
    [write] = [w for w in step.emulator.writes() if w.path.endswith("/dispatches")]
    assert write.body["event_type"] == "deploy" and write.body["client_payload"]["environment"] == "prod"


# -- fountainhead/action-wait-for-check ------------------------------------------------------------


def fountainhead(step: Step) -> Step:
    return step.with_(
        {
            "token": step.emulator.token("dev"),
            "checkName": "build",
            "ref": MAIN_SHA,
            "timeoutSeconds": "60",
            "intervalSeconds": "1",
        }
    )


def test_fountainhead_waits_for_the_named_check_and_sets_conclusion(start_step: StartStep) -> None:
    step = fountainhead(start_step(scenario(checks=(check("build"), check("lint", duration=600))))).run()
    assert step.returncode == 0, step.stdout
    assert step.outputs["conclusion"] == "success"
    assert json.loads(step.outputs["checks"]) == {"build": "success"}


def test_fountainhead_conclusion_is_success_only_for_a_check_that_succeeded(start_step: StartStep) -> None:
    # A skipped check is not `success` there: `if: steps.wait.outputs.conclusion == 'success'`
    # after it skips the same steps as before (the step fails; continue-on-error keeps the job).
    step = fountainhead(start_step(scenario(checks=(check("build", conclusion="skipped"),)))).run()
    assert step.returncode == 1
    assert step.outputs["conclusion"] == "failure"
    assert json.loads(step.outputs["checks"]) == {"build": "skipped"}


# -- poseidon/wait-for-status-checks ---------------------------------------------------------------


def pushed(*, test: str = "success") -> dict[str, Any]:
    """A push to main started CI (jobs lint and test) and the workflow whose job JOB (named
    JOB_NAME) runs the step."""
    data = scenario()
    repo = data["repos"]["octo/app"]
    repo["workflows"] += [
        {
            "path": ".github/workflows/ci.yml",
            "name": "CI",
            "on": ["push"],
            "timeline": {"queued": 0, "duration": 3},
            "conclusion": "success" if test == "success" else "failure",
            "jobs": [
                {"name": "lint", "start": 0, "duration": 2},
                {"name": "test", "start": 0, "duration": 3, "conclusion": test},
            ],
        },
        {
            "path": ".github/workflows/summary.yml",
            "name": "Summary",
            "on": ["push"],
            "timeline": {"queued": 0, "duration": 600},
            "conclusion": "success",
            "jobs": [{"name": JOB_NAME, "start": 0, "duration": 600}],
        },
    ]
    repo["runs"] = [
        {"workflow": name, "event": "push", "head_sha": MAIN_SHA, "head_branch": "main"}
        for name in ("ci.yml", "summary.yml")
    ]
    return data


def test_poseidon_waits_for_every_check_but_its_own_jobs_and_fails_on_a_failed_one(
    start_step: StartStep,
) -> None:
    step = start_step(pushed(test="failure"))
    # The step runs in summary.yml's run, as the runner says; its own job's check runs for ten
    # minutes: waited for, it would time the step out. It is found from GITHUB_JOB (an id, not the
    # check's name) in that run's workflow file, not through the alias's `ignore-checks: job1`.
    runs = step.emulator.state.repos["octo/app"].runs
    [own] = [run for run in runs if run.workflow.spec.file_name == "summary.yml"]
    step.env.update({"GITHUB_RUN_ID": str(own.id), "GITHUB_RUN_ATTEMPT": "1"})
    step.with_({"token": step.emulator.token("dev"), "ignore": "test,coverage"}).run()
    assert step.returncode == 0, step.stdout
    assert json.loads(step.outputs["checks"]) == {"lint": "success"}
    assert any(JOB in notice and "poseidon" in notice for notice in step.messages("notice"))

    del step.env["INPUT_IGNORE"]  # only `token`, as most of its users write it
    step.with_({"interval": "1"}).run()
    assert step.returncode == 1, step.stdout
    assert json.loads(step.outputs["checks"]) == {"lint": "success", "test": "failure"}


# -- peter-evans/repository-dispatch ---------------------------------------------------------------


def test_peter_evans_sends_the_event_and_the_step_finds_and_waits_for_its_run(start_step: StartStep) -> None:
    step = start_step()
    step.with_(
        {
            "token": step.emulator.token("dev"),
            "repository": "octo/app",
            "event-type": "deploy",
            "client-payload": '{"environment": "prod"}',
        }
    ).run()
    assert step.returncode == 0, step.stdout
    assert (step.outputs["dispatched"], step.outputs["conclusion"]) == ("true", "success")
    assert dispatched_inputs(step)[0]["environment"] == "prod"


# -- steps that only download (actions/download-artifact, dawidd6) ----------------------------------


def failed_run(start_step: StartStep) -> tuple[Step, str]:
    """A step, and the id of a push run of build.yml that failed ten minutes ago (it still uploaded
    its artifact `package`)."""
    data = scenario()
    data["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": MAIN_SHA,
            "head_branch": "main",
            "created": -600,
            "conclusion": "failure",
        }
    ]
    step = start_step(data)
    [run] = step.emulator.state.repos["octo/app"].runs
    return step, str(run.id)


def test_download_artifact_takes_the_artifacts_of_a_failed_run(start_step: StartStep) -> None:
    step, run_id = failed_run(start_step)
    step.with_(
        {"name": "package", "path": "reports", "github-token": step.emulator.token("dev"), "run-id": run_id}
    )
    step.run()
    assert step.returncode == 0, step.stdout
    assert (step.workspace / "reports" / "app.txt").read_text(encoding="utf-8") == "hello from the build\n"
    assert step.outputs["download-path"] == "reports" and step.outputs["conclusion"] == "failure"


def test_dawidd6_run_id_takes_the_artifacts_of_a_failed_run(start_step: StartStep) -> None:
    step, run_id = failed_run(start_step)
    step.with_({"run_id": run_id, "name": "package", "path": "dist"}).run()
    assert step.returncode == 0, step.stdout
    assert step.outputs["found_artifact"] == "true"
    assert (step.workspace / "dist" / "app.txt").is_file()


def test_download_artifact_run_id_without_a_name_downloads_every_artifact_and_says_so(
    start_step: StartStep,
) -> None:
    step, run_id = failed_run(start_step)
    step.with_({"path": "reports", "github-token": step.emulator.token("dev"), "run-id": run_id}).run()
    assert step.returncode == 0, step.stdout
    assert [a["name"] for a in json.loads(step.outputs["artifacts"])] == ["package"]
    assert (step.workspace / "reports" / "app.txt").is_file()
    assert [m for m in step.messages("notice") if "downloading every artifact" in m]


def test_a_run_id_with_nothing_to_download_says_so_in_one_line(start_step: StartStep) -> None:
    step, run_id = failed_run(start_step)
    step.with_({"run-id": run_id, "allowed-conclusions": "any"}).run()
    assert step.returncode == 0, step.stdout
    [said] = [m for m in step.messages("notice") if "nothing is downloaded" in m]
    assert run_id in said and "artifacts: '*'" in said and "\n" not in said
    assert step.outputs["artifacts"] == "[]" and sorted(os.listdir(step.workspace)) == []


def test_download_artifact_pattern_matching_nothing_passes_and_says_so(start_step: StartStep) -> None:
    step, run_id = failed_run(start_step)
    step.with_({"pattern": "report-*", "path": "reports", "run-id": run_id}).run()
    assert step.returncode == 0, step.stdout
    [said] = [m for m in step.messages("warning") if "report-*" in m]
    assert "package" in said  # what the run has
    assert step.outputs["artifacts"] == "[]" and not (step.workspace / "reports").exists()
