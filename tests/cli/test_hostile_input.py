"""Hostile and malformed input on the command line: refused as usage errors (exit 2) with a hint,
before anything is sent to GitHub, never a traceback and never a wait without end; and names from
GitHub that try to become workflow commands or take over the terminal, shown as text."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.cli.test_job_commands import FAST, cli
from tests.conftest import MAIN_SHA
from tests.edges.test_action import fast_scenario
from tests.support.hostile import (
    HOSTILE,
    alias_bomb,
    runner_commands,
    terminal_controls,
    with_hostile_names,
    with_names_hostile_to_a_terminal,
)
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.step.catalogue import INPUTS
from wait_and_dispatch.step.settings import CONFLICTS, REQUIREMENTS, Conflict, Requirement, read_settings
from wait_and_dispatch.support.clock import SystemClock
from wait_and_dispatch.support.errors import UsageError


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with serve_to_the_cli(monkeypatch, fast_scenario()) as emulator:
        yield emulator


def usage_error(emulator: Emulator, *argv: str) -> str:
    """The one `error:` line of a refused command, after checking the refusal's form."""
    writes = len(emulator.writes())
    code, out, err = cli(*argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, err
    assert lines[lines.index(errors[0]) + 1].startswith("hint: "), err
    assert len(emulator.writes()) == writes
    return errors[0]


# -- durations -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "infinity", "1e400", "1_000", "0x10"])
@pytest.mark.parametrize(
    "option", ["--timeout", "--poll-interval", "--max-poll-interval", "--discovery-timeout"]
)
def test_a_duration_that_is_not_a_finite_number_is_refused(
    emulator: Emulator, option: str, value: str
) -> None:
    line = usage_error(emulator, "run", *FAST, "--workflow", "build.yml", "--dry-run", f"{option}={value}")
    assert option.removeprefix("--") in line


def test_an_infinite_timeout_under_dry_run_is_a_usage_error_not_a_crash(emulator: Emulator) -> None:
    assert "not a duration" in usage_error(
        emulator, "run", *FAST, "--workflow", "build.yml", "--dry-run", "--timeout", "inf"
    )


@pytest.mark.parametrize("option", ["--timeout", "--poll-interval", "--max-poll-interval"])
def test_a_zero_wait_or_poll_interval_is_refused(emulator: Emulator, option: str) -> None:
    assert "more than 0" in usage_error(emulator, "run", *FAST, "--workflow", "build.yml", option, "0s")


def test_a_duration_longer_than_a_workflow_run_can_last_is_refused(emulator: Emulator) -> None:
    line = usage_error(emulator, "run", *FAST, "--workflow", "build.yml", "--timeout", "841h")
    assert "35 days" in line


def test_the_longest_duration_is_accepted(emulator: Emulator) -> None:
    code, out, err = cli("run", *FAST, "--workflow", "build.yml", "--dry-run", "--timeout", "840h")
    assert code == 0, err
    assert "would wait up to" in out


# -- repository names ------------------------------------------------------------------------------

BAD_REPOSITORIES = [
    "owner/name?x=1",
    "owner/name#",
    "owner/name%2F..",
    "owner/..",
    "owner/.",
    "-owner/name",
    "owner-/name",
    "own--er/name",
    "own.er/name",
    "o" * 40 + "/name",
    "owner/" + "n" * 101,
    "owner/na me",
    "owner/name\n::error::forged",
]


@pytest.mark.parametrize("repository", BAD_REPOSITORIES)
@pytest.mark.parametrize("command", ["run", "download"])
def test_a_repository_github_cannot_have_is_a_usage_error(
    emulator: Emulator, command: str, repository: str
) -> None:
    extra = ["--workflow", "build.yml"] if command == "run" else ["--run-id", "700100001", "--artifact", "*"]
    line = usage_error(emulator, command, *FAST, f"--repo={repository}", *extra)
    assert line.startswith("error: repository ")
    assert emulator.requests == []  # refused before anything reaches GitHub


def test_a_repository_from_github_repository_is_checked_too(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "owner/name?x=1")
    fast = [arg for arg in FAST if arg not in ("--repo", "octo/app")]
    assert "is not a GitHub repository name" in usage_error(emulator, "run", *fast, "--workflow", "build.yml")


def test_a_plans_repository_is_checked_on_its_line(emulator: Emulator, tmp_path: Path) -> None:
    plan = tmp_path / "pipeline.yml"
    plan.write_text("repository: 'octo/app#'\nnodes:\n  build: {workflow: build.yml}\n", encoding="utf-8")
    line = usage_error(emulator, "plan", str(plan), "--dry-run")
    assert f"{plan}:1:13: repository: repository 'octo/app#'" in line


@pytest.mark.parametrize(
    "repository",
    ["octo/app", "Octo-Org/app.js", "octo/.github", "o/a_b-c.d", "handle_acme/app", "o" * 39 + "/x"],
)
def test_repositories_github_allows_are_accepted(repository: str) -> None:
    assert Repository.parse(repository).full_name == repository


# -- YAML alias bombs ------------------------------------------------------------------------------


@pytest.mark.timeout(20)  # before the fix this grew by 120 MB/s and never ended
def test_a_plan_with_an_alias_bomb_under_vars_is_refused_on_its_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    plan = tmp_path / "pipeline.yml"
    plan.write_text(
        "repository: octo/app\nvars:\n" + alias_bomb("  ") + "nodes:\n  build: {workflow: build.yml}\n",
        encoding="utf-8",
    )
    line = usage_error(emulator, "plan", str(plan), "--dry-run")
    assert f"{plan}:" in line and "once its aliases are expanded" in line


@pytest.mark.timeout(20)
def test_inputs_given_as_yaml_with_an_alias_bomb_are_refused(emulator: Emulator) -> None:
    line = usage_error(
        emulator, "run", *FAST, "--workflow", "build.yml", "--dry-run", "--inputs", alias_bomb()
    )
    assert "once its aliases are expanded" in line


def test_yaml_nested_deeper_than_python_can_recurse_is_a_usage_error(emulator: Emulator) -> None:
    line = usage_error(
        emulator, "run", *FAST, "--workflow", "build.yml", "--dry-run", "--inputs", "a: " + "[" * 5000
    )
    assert "nested more than" in line


def test_a_plan_may_still_share_settings_through_anchors_and_merge_keys(
    emulator: Emulator, tmp_path: Path
) -> None:
    plan = tmp_path / "pipeline.yml"
    plan.write_text(
        "repository: octo/app\n"
        "nodes:\n"
        "  build: &common {workflow: build.yml, timeout: 5m}\n"
        "  again:\n"
        "    <<: *common\n"
        "    needs: build\n",
        encoding="utf-8",
    )
    code, _, err = cli("plan", str(plan), "--check")
    assert code == 0, err


# -- a run-id alone downloads nothing --------------------------------------------------------------


def finished_run(emulator: Emulator) -> str:
    """A completed run of build.yml, which uploaded the artifact `package` (app.txt)."""
    code, out, err = cli("run", *FAST, "--workflow", "build.yml", "--json")
    assert code == 0, err
    return str(json.loads(out)["run_id"])


def test_run_with_only_a_run_id_downloads_nothing_and_keeps_existing_files(
    emulator: Emulator, tmp_path: Path
) -> None:
    run_id = finished_run(emulator)
    mine = tmp_path / "app.txt"
    mine.write_text("my own file\n", encoding="utf-8")
    code, out, err = cli("run", *FAST, "--run-id", run_id, "--path", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["artifacts"] == []
    assert mine.read_text(encoding="utf-8") == "my own file\n"
    assert emulator.requests_to(f"/repos/octo/app/actions/runs/{run_id}/artifacts*") == []


def test_run_with_a_run_id_downloads_the_artifacts_named(emulator: Emulator, tmp_path: Path) -> None:
    run_id = finished_run(emulator)
    code, _, err = cli("run", *FAST, "--run-id", run_id, "--artifact", "package", "--path", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "app.txt").read_text(encoding="utf-8") == "hello from the build\n"


def test_download_without_an_artifact_named_is_a_usage_error(emulator: Emulator, tmp_path: Path) -> None:
    run_id = finished_run(emulator)
    line = usage_error(emulator, "download", *FAST, "--run-id", run_id, "--path", str(tmp_path))
    assert "download needs the artifacts to download" in line
    assert list(tmp_path.iterdir()) == []


# -- conflicting inputs ----------------------------------------------------------------------------

SAMPLE_VALUES = {
    "run-id": "700100001",
    "workflow": "build.yml",
    "event-type": "deploy",
    "dispatch": "always",
    "artifacts-from-branch": "main",
    "checks": "build",
    "checks-regex": "^build",
    "inputs": "environment=prod",
    "artifacts": "package",
    "client-payload": '{"environment": "prod"}',
    "ignore-checks": "lint",
    "ignore-run": "9000000001",
    "fail-fast": "true",
    "fail-on-failed-job": "true",
    "cancel-on-failure": "true",
}


@pytest.mark.parametrize("conflict", CONFLICTS, ids=lambda c: f"{c.first}+{c.second}")
def test_every_conflict_in_the_table_is_a_usage_error_naming_both(conflict: Conflict) -> None:
    values = {
        "repository": "octo/app",
        conflict.first: SAMPLE_VALUES[conflict.first],
        conflict.second: conflict.second_value or SAMPLE_VALUES[conflict.second],
    }
    with pytest.raises(UsageError) as caught:
        read_settings(values)
    assert caught.value.message.startswith(f"{conflict.first} and {conflict.second}")
    assert caught.value.hint


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=lambda r: r.name)
def test_an_input_given_without_what_it_needs_is_a_usage_error(requirement: Requirement) -> None:
    values = {
        "repository": "octo/app",
        "workflow": "build.yml",
        requirement.name: SAMPLE_VALUES[requirement.name],
    }
    with pytest.raises(UsageError) as caught:
        read_settings(values)
    assert caught.value.message.startswith(f"{requirement.name} needs {requirement.needs[0]}")


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["run", "--workflow", "build.yml", "--checks", "build"], ("--workflow", "--checks")),
        (["run", "--run-id", "700100001", "--dispatch", "always"], ("--run-id", "--dispatch always")),
        # Each named as the user typed it: --input and --artifact, not the --inputs and --artifacts
        # they add to.
        (
            ["run", "--event-type", "deploy", "--workflow", "build.yml", "--input", "environment=prod"],
            ("--event-type", "--input"),
        ),
        (["run", "--checks", "build", "--artifact", "package"], ("--checks", "--artifact")),
        (["run", "--checks", "build", "--artifacts", "package"], ("--checks", "--artifacts")),
        (["run", "--run-id", "700100001", "--checks", "build"], ("--run-id", "--checks")),
        # Nothing would be downloaded, without a word.
        (["run", "--workflow", "build.yml", "--no-wait", "--artifact", "meta"], ("--artifact", "--no-wait")),
        (
            ["download", "--workflow", "build.yml", "--no-wait", "--artifact", "meta"],
            ("--artifact", "--no-wait"),
        ),
    ],
)
def test_conflicting_options_are_refused_naming_both(
    emulator: Emulator, argv: list[str], names: tuple[str, str]
) -> None:
    line = usage_error(emulator, argv[0], *FAST, *argv[1:])
    assert line.startswith(f"error: {names[0]} and {names[1]} cannot be given together")
    assert emulator.requests == []


def test_a_gate_with_workflow_and_checks_no_longer_passes_without_looking(emulator: Emulator) -> None:
    code, out, _ = cli("run", *FAST, "--workflow", "build.yml", "--checks", "never-reported", "--json")
    assert code == 2
    result = json.loads(out)  # an error, not `checks: {}` that a gate could take for a pass
    assert result["error"]["exit_code"] == 2 and "checks" not in result


def test_no_wait_with_artifacts_is_fine_where_the_artifacts_need_no_wait() -> None:
    for extra in ({"run-id": "700100001"}, {"workflow": "build.yml", "artifacts-from-branch": "main"}):
        settings = read_settings({"repository": "octo/app", "wait": "false", "artifacts": "meta", **extra})
        assert settings.artifacts is not None and not settings.wait


def test_the_action_defaults_are_not_taken_for_given_inputs() -> None:
    defaults = {item.name: item.default for item in INPUTS if not item.default.startswith("${{")}
    settings = read_settings({**defaults, "repository": "octo/app", "run-id": "700100001"})
    assert settings.mode == "download"


# -- names from GitHub that try to become workflow commands ----------------------------------------


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(
        Scenario.from_dict(with_hostile_names(fast_scenario(conclusion="failure"))), clock=SystemClock()
    ) as emulator:
        monkeypatch.setenv("GITHUB_API_URL", emulator.api_url)
        monkeypatch.setenv("GITHUB_TOKEN", emulator.token("dev"))
        monkeypatch.delenv("GH_TOKEN", raising=False)
        yield emulator


def test_hostile_names_in_a_run_and_its_failure_reach_no_line_as_a_command(
    hostile: Emulator, tmp_path: Path
) -> None:
    code, out, err = cli("run", *FAST, "--workflow", "build.yml", "--artifact", "*", "--path", str(tmp_path))
    assert code == 1, err
    assert "Build\\n::error title=forged::pwned" in err  # shown, on its own line, escaped
    assert runner_commands(out + "\n" + err) == []


def test_hostile_check_names_reach_no_line_as_a_command(hostile: Emulator) -> None:
    assert cli("run", *FAST, "--workflow", "build.yml")[0] == 1
    code, out, err = cli("checks", *FAST, "--sha", MAIN_SHA, "--checks-discovery-timeout", "1s", "--json")
    assert code == 1, err
    assert "build\\n::error" in err
    assert runner_commands(out + "\n" + err) == []


def test_hostile_names_in_a_plans_progress_reach_no_line_as_a_command(
    hostile: Emulator, tmp_path: Path
) -> None:
    plan = tmp_path / "pipeline.yml"
    plan.write_text(
        "repository: octo/app\n"
        "defaults: {timeout: 1m, poll-interval: 0.5s, max-poll-interval: 1s}\n"
        "nodes:\n  build: {workflow: build.yml}\n",
        encoding="utf-8",
    )
    code, out, err = cli("plan", str(plan), "--workdir", str(tmp_path))
    assert code == 1, err
    assert runner_commands(out + "\n" + err) == []


# -- names from GitHub that try to take over the terminal the command line prints to ----------------

# How the command line shows them: each control character as its escape, `%0A` as it is.
SHOWN_TO_A_TERMINAL = (
    "%0A\\x1b[2J\\x1b[H\\x1b]0;retitled\\x07\\x1b[8mhidden\\x1b[0m\\x9b31m\\x08\\x08"
    "\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069"
)


@contextlib.contextmanager
def names_hostile_to_a_terminal(monkeypatch: pytest.MonkeyPatch, **workflow: Any) -> Iterator[Emulator]:
    scenario = with_names_hostile_to_a_terminal(fast_scenario(**workflow))
    with serve_to_the_cli(monkeypatch, scenario) as emulator:
        yield emulator


def test_a_failed_runs_error_and_hint_show_its_names_control_characters_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with names_hostile_to_a_terminal(monkeypatch, conclusion="failure"):
        code, out, err = cli("run", *FAST, "--workflow", "build.yml")
    assert code == 1, err
    error = next(line for line in err.splitlines() if line.startswith("error: "))
    assert f'job "build{SHOWN_TO_A_TERMINAL}"' in error
    assert f'step "Run tests{SHOWN_TO_A_TERMINAL}"' in error
    assert f"tests/test_app.py:7 assert{SHOWN_TO_A_TERMINAL}" in error
    assert terminal_controls(out + err) == []


def test_progress_lines_show_a_run_title_and_an_artifact_name_with_control_characters_escaped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with names_hostile_to_a_terminal(monkeypatch):
        code, out, err = cli(
            "run", *FAST, "--workflow", "build.yml", "--artifact", "*", "--path", str(tmp_path)
        )
    assert code == 0, err
    assert f"'Build{SHOWN_TO_A_TERMINAL} [" in err
    assert f"package{SHOWN_TO_A_TERMINAL}" in err
    assert terminal_controls(out + err) == []


def test_check_names_with_control_characters_are_shown_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    with names_hostile_to_a_terminal(monkeypatch, conclusion="failure"):
        assert cli("run", *FAST, "--workflow", "build.yml")[0] == 1
        code, out, err = cli("checks", *FAST, "--sha", MAIN_SHA, "--checks-discovery-timeout", "1s")
    assert code == 1, err
    assert f"build{SHOWN_TO_A_TERMINAL}" in err
    assert terminal_controls(out + err) == []


def test_a_plans_progress_lines_show_names_with_control_characters_escaped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = tmp_path / "pipeline.yml"
    plan.write_text(
        "repository: octo/app\n"
        "defaults: {timeout: 1m, poll-interval: 0.5s, max-poll-interval: 1s}\n"
        "nodes:\n  build: {workflow: build.yml}\n",
        encoding="utf-8",
    )
    with names_hostile_to_a_terminal(monkeypatch, conclusion="failure"):
        code, out, err = cli("plan", str(plan), "--workdir", str(tmp_path))
    assert code == 1, err
    assert f'job "build{SHOWN_TO_A_TERMINAL}"' in out + err
    assert terminal_controls(out + err) == []


def test_a_debug_traceback_shows_names_with_control_characters_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with names_hostile_to_a_terminal(monkeypatch, conclusion="failure"):
        code, out, err = cli("--debug", "run", *FAST, "--workflow", "build.yml")
    assert code == 1, err
    assert "Traceback (most recent call last)" in err
    assert f"ConclusionNotAllowedError: run 9000000001 #1 'Build{SHOWN_TO_A_TERMINAL} [" in err
    assert terminal_controls(out + err) == []


def test_a_debug_traceback_is_shown_verbatim_with_commands_stopped_around_it(
    hostile: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # in an Actions log; a terminal gets no markers
    assert cli("run", *FAST, "--workflow", "build.yml")[0] == 1
    code, _, err = cli("--debug", "run", *FAST, "--run-id", "1", "--artifact", f"x{HOSTILE}")
    assert code != 0
    assert [name for name, _ in runner_commands(err)] == ["stop-commands"]
    assert "Traceback (most recent call last)" in err


@pytest.mark.parametrize("command", ["demo", "emulator"])
@pytest.mark.parametrize("speed", ["0", "-1", "nan", "inf", "fast"])
def test_a_speed_that_is_not_a_finite_number_above_0_is_a_usage_error(
    command: str, speed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli(command, f"--speed={speed}")
    assert caught.value.code == 2
    assert "is not a finite number above 0" in capsys.readouterr().err
