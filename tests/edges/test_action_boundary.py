# ruff: noqa: F811 - the `step` and `start_step` fixtures come from test_action.py
"""The action's one boundary: whatever goes wrong, one error annotation with a hint, a documented
exit code, no traceback, and no dispatched run left going that nobody can see; and its `result`
output is the command line's `--json` object, validated by the same schema."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import MAIN_SHA
from tests.edges.test_action import StartStep, Step, fast_scenario, start_step, step  # noqa: F401
from wait_and_dispatch.program import main
from wait_and_dispatch.step.results import schema_text

VALIDATOR = jsonschema.Draft202012Validator(json.loads(schema_text()))
LONG_RUN = {"queued": 0, "duration": 600}
CANCEL_ON_CANCEL = {"INPUT_CANCEL-ON-CANCEL": "true"}  # action.yml's default, which the runner passes


def dispatches(step: Step) -> list[str]:
    return [w.path for w in step.emulator.writes() if w.path.endswith("/dispatches")]


def cancels(step: Step) -> list[str]:
    return [w.path for w in step.emulator.writes() if w.path.endswith("/cancel")]


def the_error(step: Step) -> Any:
    errors = step.commands("error")
    assert len(errors) == 1, step.stdout
    assert "Traceback" not in step.stdout
    return errors[0]


# -- one shape, one schema ------------------------------------------------------------------------


def cli_json(*argv: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    main([*argv, "--json"], stdout=out, stderr=err)
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def test_the_result_output_is_the_command_lines_json_object(
    step: Step, monkeypatch: pytest.MonkeyPatch
) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml"})
    assert step.run().returncode == 0, step.stdout
    result = json.loads(step.outputs["result"])
    VALIDATOR.validate(result)
    assert result["dispatched"] is True and result["api"]["requests"] > 0 and "cost" not in result
    # The command line finds the same run: the same object, but for what the second call did.
    monkeypatch.setenv("GITHUB_API_URL", step.emulator.api_url)
    monkeypatch.setenv("GITHUB_TOKEN", step.emulator.token("dev"))
    command_line = cli_json("run", "--repo", "octo/app", "--run-id", str(result["run_id"]))
    VALIDATOR.validate(command_line)
    own = {"waited", "api", "dispatched"}
    assert {k: v for k, v in result.items() if k not in own} == {
        k: v for k, v in command_line.items() if k not in own
    }


def test_a_checks_result_output_has_checks_fields_only_and_validates(step: Step) -> None:
    step.env.update({"INPUT_CHECKS": "never-reported", "INPUT_CHECKS-DISCOVERY-TIMEOUT": "1s"})
    step.env["INPUT_SHA"] = MAIN_SHA
    assert step.run().returncode == 3, step.stdout
    result = json.loads(step.outputs["result"])
    VALIDATOR.validate(result)
    assert result["command"] == "checks" and "dispatched" not in result and "status" not in result
    assert result["error"]["exit_code"] == 3


def test_a_missing_artifact_is_an_artifact_error_in_the_result_output(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_ARTIFACTS": "nope"})
    assert step.run().returncode == 5, step.stdout
    result = json.loads(step.outputs["result"])
    VALIDATOR.validate(result)
    assert result["outcome"] == "artifact-error"
    assert result["error"]["exit_code"] == 5 and "nope" in result["error"]["message"]


# -- the runner's files ----------------------------------------------------------------------------


def test_a_state_file_that_is_a_folder_fails_the_step_before_anything_is_dispatched(
    step: Step, tmp_path: Path
) -> None:
    folder = tmp_path / "state-folder"
    folder.mkdir()
    step.env.update({"INPUT_WORKFLOW": "build.yml", "GITHUB_STATE": str(folder)})
    assert step.run().returncode == 2, step.stdout
    error = the_error(step)
    assert "$GITHUB_STATE" in error.message and "How to fix" in error.message
    assert dispatches(step) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full (a full disk)")
def test_outputs_on_a_full_disk_cancel_the_run_dispatched_without_waiting(start_step: StartStep) -> None:
    step = start_step(fast_scenario(timeline=LONG_RUN))
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_WAIT": "false", "GITHUB_OUTPUT": "/dev/full"})
    step.env.update(CANCEL_ON_CANCEL)
    assert step.run().returncode == 2, step.stdout
    error = the_error(step)
    assert "$GITHUB_OUTPUT (/dev/full) cannot be written" in error.message
    assert len(dispatches(step)) == 1 and len(cancels(step)) == 1, step.stdout  # not left going unseen
    assert any("cancelled runs" in w.message for w in step.commands("warning"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full (a full disk)")
def test_state_on_a_full_disk_after_the_dispatch_cancels_the_run(start_step: StartStep) -> None:
    step = start_step(fast_scenario(timeline=LONG_RUN))
    step.env.update({"INPUT_WORKFLOW": "build.yml", "GITHUB_STATE": "/dev/full", **CANCEL_ON_CANCEL})
    assert step.run().returncode == 2, step.stdout
    assert "$GITHUB_STATE (/dev/full) cannot be written" in the_error(step).message
    assert len(dispatches(step)) == 1 and len(cancels(step)) == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full (a full disk)")
def test_a_summary_on_a_full_disk_is_one_warning_and_the_step_keeps_its_result(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "GITHUB_STEP_SUMMARY": "/dev/full"})
    step.env.update({"INPUT_TIMEOUT": "5s", "INPUT_CANCEL-ON-TIMEOUT": "false", **CANCEL_ON_CANCEL})
    assert step.run().returncode == 0, step.stdout
    assert step.commands("error") == [] and "Traceback" not in step.stdout
    warnings = [w for w in step.commands("warning") if w.properties["title"] == "Job summary not written"]
    assert len(warnings) == 1 and "$GITHUB_STEP_SUMMARY (/dev/full)" in warnings[0].message
    assert step.outputs["conclusion"] == "success" and cancels(step) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full (a full disk)")
def test_a_failing_step_with_a_summary_on_a_full_disk_keeps_its_own_error(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_ARTIFACTS": "nope"})
    step.env["GITHUB_STEP_SUMMARY"] = "/dev/full"
    assert step.run().returncode == 5, step.stdout
    assert "nope" in the_error(step).message
    titles = [w.properties["title"] for w in step.commands("warning")]
    assert titles.count("Job summary not written") == 1


# -- inputs the action refuses before any request -------------------------------------------------


def test_no_wait_with_artifacts_is_refused_naming_both(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_WAIT": "false", "INPUT_ARTIFACTS": "meta"})
    assert step.run().returncode == 2, step.stdout
    assert the_error(step).message.startswith("artifacts and wait: false cannot be given together")
    assert step.emulator.requests == []


def test_a_token_with_a_line_break_is_refused_without_showing_it(step: Step) -> None:
    token = step.emulator.token("dev")
    broken = token[:10] + "\r\n" + token[10:]
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_GITHUB-TOKEN": broken})
    assert step.run().returncode == 2, step.stdout
    assert "github-token" in the_error(step).message
    shown = [line for line in step.stdout.splitlines() if not line.startswith("::add-mask")]
    assert not [line for line in shown if token[:10] in line], step.stdout
    assert step.emulator.requests == []


def test_an_api_url_with_a_port_out_of_range_is_an_input_error(step: Step) -> None:
    step.env.update({"INPUT_WORKFLOW": "build.yml", "INPUT_API-URL": "http://127.0.0.1:99999"})
    assert step.run().returncode == 2, step.stdout
    assert "port" in the_error(step).message


# -- an error nobody anticipated ------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_with_exit_code_70_and_no_traceback(
    step: Step, tmp_path: Path
) -> None:
    # The runner always writes GitHub's event payload; one that is not is an environment nobody
    # anticipated (here a pull request whose head is not an object).
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": "not an object"}}), encoding="utf-8")
    step.env.update({"INPUT_CHECKS": "build", "GITHUB_EVENT_PATH": str(event)})
    assert step.run().returncode == 70, step.stdout
    error = the_error(step)
    assert error.message.startswith("unexpected error: AttributeError")
    assert error.properties["title"] == "wait-and-dispatch internal error"


def test_with_step_debug_logging_the_traceback_is_shown_between_stop_commands(
    step: Step, tmp_path: Path
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": "not an object"}}), encoding="utf-8")
    step.env.update({"INPUT_CHECKS": "build", "GITHUB_EVENT_PATH": str(event), "RUNNER_DEBUG": "1"})
    assert step.run().returncode == 70, step.stdout
    lines = step.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].removeprefix("::stop-commands::")
    assert lines[start + 1] == "Traceback (most recent call last):"
    assert f"::{token}::" in lines[start + 2 :]
