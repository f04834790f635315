"""`wait-and-dispatch action` run as the runner runs it: a subprocess given only environment
variables (`INPUT_*` with hyphens kept, the file-command paths), against the emulator in real
time with runs of a few seconds. Outputs are read back as the runner parses `$GITHUB_OUTPUT`.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_SCENARIO, MAIN_SHA
from tests.support.hostile import runner_commands, with_hostile_names
from tests.support.runner_contract import commands_in, outputs_of
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.step.peer_names import OUTPUT_ALIAS_NAMES
from wait_and_dispatch.support.clock import SystemClock

ENTRYPOINT = [sys.executable, "-m", "wait_and_dispatch", "action"]


def fast_scenario(**workflow: Any) -> dict[str, Any]:
    scenario = copy.deepcopy(BASE_SCENARIO)
    build = scenario["repos"]["octo/app"]["workflows"][0]
    build["timeline"] = {"queued": 1, "duration": 2}
    build["jobs"][0]["duration"] = 2
    build.update(workflow)
    scenario["options"]["dispatch_visibility_delay"] = 0
    return scenario


@dataclass
class Step:
    """One action step: its environment, and what it left behind."""

    emulator: Emulator
    folder: Path
    env: dict[str, str]
    returncode: int = -1
    stdout: str = ""

    def run(self, *extra: str, timeout: float = 60) -> Step:
        # The workspace is the step's working directory, as on the runner (never the repository's).
        done = subprocess.run(
            [*ENTRYPOINT, *extra],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.returncode, self.stdout = done.returncode, done.stdout + done.stderr
        return self

    @property
    def outputs(self) -> dict[str, str]:
        return outputs_of(self.folder / "output")

    @property
    def summary(self) -> str:
        return (self.folder / "summary.md").read_text(encoding="utf-8")

    def commands(self, name: str) -> list[Any]:
        return [c for c in commands_in(self.stdout) if c.name == name]


StartStep = Callable[..., Step]


@pytest.fixture
def start_step(tmp_path: Path) -> Iterator[StartStep]:
    started: list[Emulator] = []

    def start(scenario: dict[str, Any] | None = None) -> Step:
        emulator = Emulator(Scenario.from_dict(scenario or fast_scenario()), clock=SystemClock()).start()
        started.append(emulator)
        for name in ("output", "summary.md", "state"):
            (tmp_path / name).touch()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(sys.path),
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "octo/app",
            "GITHUB_SHA": MAIN_SHA,
            "GITHUB_API_URL": emulator.api_url,
            "GITHUB_OUTPUT": str(tmp_path / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_STATE": str(tmp_path / "state"),
            # What action.yml's defaults make the runner pass:
            "INPUT_GITHUB-TOKEN": emulator.token("dev"),
            "INPUT_REPOSITORY": "octo/app",
            "INPUT_DISPATCH": "if-missing",
            "INPUT_WAIT": "true",
            "INPUT_TIMEOUT": "1m",
            "INPUT_POLL-INTERVAL": "1s",
            "INPUT_MAX-POLL-INTERVAL": "2s",
            "INPUT_SUMMARY": "true",
            "INPUT_PATH": str(tmp_path / "download"),
        }
        return Step(emulator, tmp_path, env)

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def step(start_step: StartStep) -> Step:
    return start_step()


def test_dispatch_wait_and_download_writes_every_output_and_a_summary(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_ARTIFACTS": "package"})
    step.run()
    assert step.returncode == 0, step.stdout
    outputs = step.outputs
    assert set(outputs) == {*OUTPUT_NAMES, *OUTPUT_ALIAS_NAMES}
    assert (outputs["status"], outputs["conclusion"], outputs["dispatched"]) == (
        "completed",
        "success",
        "true",
    )
    assert outputs["head-sha"] == MAIN_SHA and outputs["run-url"].endswith(f"/runs/{outputs['run-id']}")
    artifacts = json.loads(outputs["artifacts"])
    assert [a["name"] for a in artifacts] == ["package"]
    assert (Path(outputs["download-path"]) / "app.txt").read_text() == "hello from the build\n"
    result = json.loads(outputs["result"])
    assert result["outcome"] == "success" and result["api"]["requests"] > 0
    assert "## ✅ Build" in step.summary and f"[#{outputs['run-number']}]" in step.summary
    assert [c.message for c in step.commands("add-mask")] == [step.emulator.token("dev")]
    assert step.emulator.token("dev") not in step.stdout.replace(
        "::add-mask ::" + step.emulator.token("dev"), ""
    )


def test_a_failed_run_fails_the_step_but_outputs_are_still_written(start_step: StartStep) -> None:
    step = start_step(fast_scenario(conclusion="failure"))
    step.env["INPUT_WORKFLOW"] = "build.yml"
    step.run()
    assert step.returncode == 1
    assert step.outputs["conclusion"] == "failure" and step.outputs["run-id"]
    [error] = step.commands("error")
    assert error.properties["title"] == "Run or check failed"
    assert "concluded failure (allowed: success)" in error.message
    assert step.outputs["run-url"] in error.message
    assert "## ❌" in step.summary


def test_a_timeout_ends_the_step_on_time_with_exit_code_3(start_step: StartStep) -> None:
    step = start_step(fast_scenario(timeline={"queued": 1, "duration": 600}))
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_TIMEOUT": "3s"})
    start = time.monotonic()
    step.run()
    assert step.returncode == 3
    assert time.monotonic() - start < 20
    assert step.outputs["status"] == "in_progress" and step.outputs["conclusion"] == ""
    assert step.commands("error")[0].properties["title"] == "Timed out"


def test_bad_input_is_one_error_with_a_hint_and_exit_code_2(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_TIMEOUT": "soon"})
    step.run()
    assert step.returncode == 2
    [error] = step.commands("error")
    assert error.properties["title"] == "Invalid input"
    assert "timeout 'soon' is not a duration" in error.message and "1h30m" in error.message
    assert "**How to fix:**" in step.summary
    assert "Traceback" not in step.stdout


def test_a_token_without_access_is_exit_code_4(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_GITHUB-TOKEN": "ghp_not_a_real_token"})
    step.run()
    assert step.returncode == 4
    assert "Bad credentials" in step.commands("error")[0].message


def test_a_missing_artifact_is_exit_code_5(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_ARTIFACTS": "no-such-artifact"})
    step.run()
    assert step.returncode == 5
    assert "no-such-artifact" in step.commands("error")[0].message
    assert step.outputs["conclusion"] == "success"


def test_lewagon_input_names_work_as_aliases(step: Step) -> None:
    # The check runs come from a run of the workflow: start one first.
    step.env.update({"INPUT_WORKFLOW": "build.yml"})
    step.run()
    assert step.returncode == 0, step.stdout
    checks_step = dict(step.env)
    del checks_step["INPUT_WORKFLOW"]
    checks_step.update({"INPUT_CHECK-NAME": "build", "INPUT_WAIT-INTERVAL": "1s", "INPUT_SHA": MAIN_SHA})
    step.env = checks_step
    step.run()
    assert step.returncode == 0, step.stdout
    assert json.loads(step.outputs["checks"]) == {"build": "success"}
    assert any("check-name" in n.message for n in step.commands("notice"))


def test_lewagon_ref_names_the_commit_whose_checks_to_wait_for(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml"})
    step.run()
    assert step.returncode == 0, step.stdout
    del step.env["INPUT_WORKFLOW"]
    # As lewagon users write it: `ref: ${{ github.ref }}`, a branch, not a SHA.
    step.env.update({"INPUT_CHECK-NAME": "build", "INPUT_REF": "refs/heads/main", "GITHUB_SHA": "0" * 40})
    step.run()
    assert step.returncode == 0, step.stdout
    assert step.outputs["head-sha"] == MAIN_SHA
    assert json.loads(step.outputs["checks"]) == {"build": "success"}


def test_peer_output_names_are_written_with_the_values_of_the_outputs_they_alias(step: Step) -> None:
    # benc-uk's, return-dispatch's and the-actions-org's names, read by the steps after it.
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_NAME": "package", "INPUT_DISPATCH": "always"})
    step.run()
    assert step.returncode == 0, step.stdout
    outputs = step.outputs
    run_id = outputs["run-id"]
    assert outputs["run_id"] == outputs["runId"] == outputs["workflow-id"] == run_id
    assert outputs["run_url"] == outputs["runUrlHtml"] == outputs["workflow-url"] == outputs["run-url"]
    assert outputs["workflow-conclusion"] == "success"
    assert outputs["runUrl"] == f"{step.emulator.api_url}/repos/octo/app/actions/runs/{run_id}"
    build = step.emulator.state.repos["octo/app"].workflow("build.yml")
    assert build is not None and outputs["workflowId"] == str(build.id)
    assert outputs["found_artifact"] == "true" and outputs["error_message"] == ""


def test_dawidd6s_outputs_say_when_no_artifact_was_found_and_why(step: Step) -> None:
    step.env.update(
        {"INPUT_WORKFLOW": "build.yml", "INPUT_NAME": "no-such-artifact", "INPUT_DISPATCH": "always"}
    )
    step.run()
    assert step.returncode == 5
    assert step.outputs["found_artifact"] == "false"
    assert "no-such-artifact" in step.outputs["error_message"]


def test_dawidd6s_if_no_artifact_found_warn_passes_the_step_with_a_warning(step: Step) -> None:
    step.env.update(
        {
            "INPUT_WORKFLOW": "build.yml",
            "INPUT_NAME": "no-such-artifact",
            "INPUT_IF_NO_ARTIFACT_FOUND": "warn",
            "INPUT_DISPATCH": "always",
        }
    )
    step.run()
    assert step.returncode == 0, step.stdout
    [warning] = [w for w in step.commands("warning") if w.properties["title"] == "Not found"]
    assert "no-such-artifact" in warning.message and "if-artifacts-missing: warn" in warning.message
    assert step.outputs["found_artifact"] == "false" and step.outputs["artifacts"] == "[]"
    assert step.outputs["conclusion"] == "success"


def test_a_peer_input_that_cannot_be_honoured_fails_the_step_before_any_request(step: Step) -> None:
    step.env.update({"INPUT_RUN-ID": "1", "INPUT_ARTIFACT-IDS": "12345"})
    step.run()
    assert step.returncode == 2
    [error] = step.commands("error")
    assert error.properties["title"] == "Invalid input" and "artifact-ids" in error.message
    assert step.emulator.requests == []


def test_dry_run_sends_no_write_and_says_what_it_would_do(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_DRY-RUN": "true", "INPUT_ARTIFACTS": "package"})
    step.run()
    assert step.returncode == 0, step.stdout
    assert step.emulator.writes() == []
    notices = [n.message for n in step.commands("notice")]
    assert any(m.startswith("would dispatch Build") for m in notices)
    assert any("would wait up to 1m0s" in m for m in notices), notices
    assert "dry run" in step.summary


def test_cancelling_the_step_cancels_the_run_it_dispatched(start_step: StartStep) -> None:
    step = start_step(fast_scenario(timeline={"queued": 1, "duration": 600}))
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_CANCEL-ON-CANCEL": "true"})
    process = subprocess.Popen(
        ENTRYPOINT, env=step.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 30
    while not [w for w in step.emulator.writes() if w.path.endswith("/dispatches") and w.status == 200]:
        assert time.monotonic() < deadline, "the step never dispatched"
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 130, stdout
    assert [w.path for w in step.emulator.writes() if w.path.endswith("/cancel")]
    assert "cancelled" in stdout


def test_the_post_step_cancels_runs_left_running_by_a_cancelled_job(start_step: StartStep) -> None:
    step = start_step(fast_scenario(timeline={"queued": 1, "duration": 600}))
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_WAIT": "false"})
    step.run()
    assert step.returncode == 0, step.stdout
    run_id = step.outputs["run-id"]
    step.env["STATE_dispatched-runs"] = run_id  # as the runner passes saved state to the post step
    step.run("--post")
    assert step.returncode == 0, step.stdout
    assert [w.path for w in step.emulator.writes()][-1] == f"/repos/octo/app/actions/runs/{run_id}/cancel"


def test_a_run_id_alone_downloads_nothing_into_the_workspace(start_step: StartStep) -> None:
    first = start_step()
    first.env.update({"INPUT_WORKFLOW": "build.yml"})
    first.run()
    assert first.returncode == 0, first.stdout
    run_id = first.outputs["run-id"]
    # The step leaves `path` out: the runner passes action.yml's default, the workspace.
    first.env["INPUT_PATH"] = "."
    download = first.folder
    (download / "app.txt").write_text("my own file\n", encoding="utf-8")
    first.env.pop("INPUT_WORKFLOW")
    first.env["INPUT_RUN-ID"] = run_id
    first.run()
    assert first.returncode == 0, first.stdout
    assert first.outputs["artifacts"] == "[]"
    assert (download / "app.txt").read_text(encoding="utf-8") == "my own file\n"
    assert [c for c in first.commands("notice") if f"nothing is downloaded from run {run_id}" in c.message]


def test_hostile_names_from_github_become_no_command_in_the_actions_log(start_step: StartStep) -> None:
    step = start_step(with_hostile_names(fast_scenario(conclusion="failure")))
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_ARTIFACTS": "*"})
    step.run()
    assert step.returncode == 1, step.stdout
    commands = runner_commands(step.stdout)
    assert sorted({name for name, _ in commands}) == ["add-mask", "endgroup", "error", "group"]
    assert [line for name, line in commands if name == "add-mask"] == [
        f"::add-mask ::{step.emulator.token('dev')}"
    ]
    (error,) = step.commands("error")
    assert error.properties == {"title": "Run or check failed"}
    assert "Build\n::error title=forged::pwned" in error.message  # the annotation shows it as data
    assert [c.message for c in step.commands("group")] == ["wait-and-dispatch"]


def test_the_post_step_cancels_each_run_in_the_repository_it_was_dispatched_in(
    start_step: StartStep,
) -> None:
    """A plan's nodes may dispatch in other repositories: the post step cancels each run there."""
    scenario = fast_scenario(timeline={"queued": 1, "duration": 600})
    scenario["repos"]["octo/deploy"] = copy.deepcopy(scenario["repos"]["octo/app"])
    step = start_step(scenario)
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_WAIT": "false"})
    here = step.run().outputs["run-id"]
    step.env["INPUT_REPOSITORY"] = "octo/deploy"
    there = step.run().outputs["run-id"]
    step.env["INPUT_REPOSITORY"] = "octo/app"
    step.env["STATE_dispatched-runs"] = f"{here},octo/deploy#{there}"
    step.run("--post")
    assert step.returncode == 0, step.stdout
    cancels = [w.path for w in step.emulator.writes() if w.path.endswith("/cancel")]
    assert cancels == [
        f"/repos/octo/app/actions/runs/{here}/cancel",
        f"/repos/octo/deploy/actions/runs/{there}/cancel",
    ]


def test_an_unzipped_artifact_and_a_zip_kept_whole_are_outputs_and_summary_rows(
    start_step: StartStep,
) -> None:
    scenario = fast_scenario()
    scenario["repos"]["octo/app"]["workflows"][0]["artifacts"].append(
        {"name": "report.html", "archive": False, "content": "<p>41 passed</p>"}
    )
    step = start_step(scenario)
    step.env.update(
        {
            "INPUT_WORKFLOW": "build.yml",
            "INPUT_ARTIFACTS": "package\nreport.html",
            "INPUT_SKIP-DECOMPRESS": "true",
        }
    )
    step.run()
    assert step.returncode == 0, step.stdout
    download = Path(step.env["INPUT_PATH"])
    assert [(a["name"], a["kind"], a["file"]) for a in json.loads(step.outputs["artifacts"])] == [
        ("package", "file", str(download / "package" / "package.zip")),
        ("report.html", "file", str(download / "report.html" / "report.html")),
    ]
    assert (download / "report.html" / "report.html").read_text() == "<p>41 passed</p>"
    rows = [line for line in step.summary.splitlines() if " | file | " in line]
    assert len(rows) == 2 and all(
        line.endswith("report.html | ✓ |") or "package.zip" in line for line in rows
    )


def test_cancelling_the_step_before_its_run_is_listed_names_the_correlation_id(start_step: StartStep) -> None:
    scenario = fast_scenario(
        timeline={"queued": 1, "duration": 600}, run_name="Build [${{ inputs.distinct_id }}]"
    )
    scenario["repos"]["octo/app"]["workflows"][0]["inputs"]["distinct_id"] = {"type": "string"}
    scenario["options"].update(
        return_run_details=False, enterprise_version="3.20.0", dispatch_visibility_delay=20
    )
    step = start_step(scenario)
    step.env.update(
        {
            "INPUT_WORKFLOW": "build.yml",
            "INPUT_CORRELATION-INPUT": "distinct_id",
            "INPUT_DISCOVERY-TIMEOUT": "5m",
        }
    )
    process = subprocess.Popen(
        ENTRYPOINT, env=step.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 30
    while not (
        sent := [w for w in step.emulator.writes() if w.path.endswith("/dispatches") and w.status < 300]
    ):
        assert time.monotonic() < deadline, "the step never dispatched"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 130, stdout
    [error] = [line for line in stdout.splitlines() if line.startswith("::error")]
    assert sent[0].body["inputs"]["distinct_id"] in error, stdout


def test_on_a_ghes_that_refuses_2026_03_10_the_fallback_is_one_debug_line(start_step: StartStep) -> None:
    scenario = fast_scenario()
    scenario["options"].update(return_run_details=False, enterprise_version="3.20.1")
    step = start_step(scenario)
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_DRY-RUN": "true"})
    step.run()
    assert step.returncode == 0, step.stdout
    said = [c.message for c in step.commands("debug") if "REST API version 2026-03-10" in c.message]
    assert len(said) == 1, step.stdout


def test_a_checks_step_knows_its_own_run_and_check_from_the_runner(start_step: StartStep) -> None:
    # The step is the `gate` job (job1) of gate.yml's run, which lasts ten minutes; without
    # job.check_run_id (GHES), its own check is known by the job's name in its own run.
    from tests.cli.test_job_commands import with_own_run

    step = start_step(with_own_run(fast_scenario()))
    with GitHubApi(base_url=step.emulator.api_url, token=step.emulator.token("dev")) as api:
        run = api.get("/repos/octo/app/actions/runs", {"head_sha": MAIN_SHA}).data["workflow_runs"][0]
    step.env.update(
        {
            "INPUT_CHECKS-REGEX": ".",
            "INPUT_SHA": MAIN_SHA,
            "GITHUB_RUN_ID": str(run["id"]),
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_JOB": "job1",
        }
    )

    step.run()

    assert step.returncode == 0, step.stdout
    assert json.loads(step.outputs["checks"]) == {"unit": "success"}
    assert f"not waiting for Gate (run {run['id']}, gate.yml), this job's own run" in step.stdout
