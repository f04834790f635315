"""The runner contract, read back the way the runner reads it
(docs/github-behaviour.md#the-runner-contract)."""

from __future__ import annotations

import io
import json
import os
import re
import uuid
from pathlib import Path

import pytest

from tests.support.hostile import HOSTILE, runner_commands
from tests.support.runner_contract import commands_in, outputs_of, parse_file_commands
from wait_and_dispatch.action.runner import SUMMARY_LIMIT_BYTES, TRUNCATION_NOTE, RunnerChannel
from wait_and_dispatch.support.errors import UsageError


@pytest.fixture
def runner_files(tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STATE": str(tmp_path / "state"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }


@pytest.fixture
def stdout() -> io.StringIO:
    return io.StringIO()


# -- outputs -------------------------------------------------------------------------------------


def test_outputs_round_trip_through_the_runners_parser(
    runner_files: dict[str, str], stdout: io.StringIO
) -> None:
    artifacts = json.dumps(
        [
            {
                "name": "dist",
                "id": 7,
                "size": 1024,
                "digest": None,
                "path": "out/dist",
                "kind": "zip",
                "file": None,
            }
        ]
    )
    values = {"run-id": "9000000001", "artifacts": artifacts, "conclusion": "", "status": "completed"}

    RunnerChannel(runner_files, stdout).set_outputs(values)

    assert outputs_of(Path(runner_files["GITHUB_OUTPUT"])) == values
    assert json.loads(outputs_of(Path(runner_files["GITHUB_OUTPUT"]))["artifacts"])[0]["path"] == "out/dist"


def test_multi_line_values_survive_lines_that_look_like_delimiters(
    runner_files: dict[str, str], stdout: io.StringIO
) -> None:
    tricky = "first line\nEOF\nghadelimiter_0123456789abcdef0123456789abcdef\n\nlast line with = and <<"

    RunnerChannel(runner_files, stdout).set_outputs({"result": tricky})

    (record,) = parse_file_commands(Path(runner_files["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert record.value == tricky
    assert record.delimiter is not None
    assert record.delimiter not in tricky.split("\n")


def test_a_delimiter_that_occurs_in_the_value_is_drawn_again(
    runner_files: dict[str, str], stdout: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Force the first random delimiter to be one the value contains alone on a line.
    drawn = iter([uuid.UUID(int=1), uuid.UUID(int=2)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn))
    collision = f"ghadelimiter_{uuid.UUID(int=1).hex}"
    value = f"before\n{collision}\nafter"

    RunnerChannel(runner_files, stdout).set_outputs({"result": value})

    (record,) = parse_file_commands(Path(runner_files["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert record.delimiter == f"ghadelimiter_{uuid.UUID(int=2).hex}"
    assert record.value == value


def test_an_unknown_output_name_is_refused_before_anything_is_written(
    runner_files: dict[str, str], stdout: io.StringIO
) -> None:
    with pytest.raises(ValueError, match="run_ids"):
        RunnerChannel(runner_files, stdout).set_outputs({"run-url": "https://x", "run_ids": "1"})

    assert not Path(runner_files["GITHUB_OUTPUT"]).exists()


def test_without_github_output_nothing_is_written_and_a_debug_line_says_so_once(
    stdout: io.StringIO, tmp_path: Path
) -> None:
    runner = RunnerChannel({}, stdout)

    runner.set_outputs({"run-id": "1"})
    runner.set_outputs({"run-id": "2"})

    assert list(tmp_path.iterdir()) == []
    debug = [c for c in commands_in(stdout.getvalue()) if c.name == "debug"]
    assert len(debug) == 1
    assert "GITHUB_OUTPUT is not set" in debug[0].message


def test_the_process_environment_is_left_as_it_was(
    runner_files: dict[str, str], stdout: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.setenv("GITHUB_STATE", "/elsewhere/state")

    runner = RunnerChannel(runner_files, stdout)
    runner.set_outputs({"run-id": "1"})
    runner.save_state("cancel", "1")

    assert "GITHUB_OUTPUT" not in os.environ
    assert os.environ["GITHUB_STATE"] == "/elsewhere/state"


# -- inputs --------------------------------------------------------------------------------------


def test_inputs_are_read_with_hyphens_kept_and_whitespace_stripped(stdout: io.StringIO) -> None:
    environ = {
        "INPUT_GITHUB-TOKEN": "  ghs_secret\n",
        "INPUT_ALLOWED-CONCLUSIONS": " success, skipped ",
        "INPUT_WORKFLOW": "deploy.yml",
        # What a runner that replaced hyphens would set: not an input of ours.
        "INPUT_ALLOWED_CONCLUSIONS": "wrong",
    }

    values = RunnerChannel(environ, stdout).inputs()

    assert values["github-token"] == "ghs_secret"
    assert values["allowed-conclusions"] == "success, skipped"
    assert values["workflow"] == "deploy.yml"
    assert values["ref"] == ""


def test_every_input_is_returned_by_its_canonical_name(stdout: io.StringIO) -> None:
    from wait_and_dispatch.step.catalogue import INPUT_NAMES

    assert tuple(RunnerChannel({}, stdout).inputs()) == INPUT_NAMES


def test_an_alias_fills_an_empty_canonical_input_and_a_notice_names_the_new_input(
    stdout: io.StringIO,
) -> None:
    environ = {"INPUT_CHECKS": "", "INPUT_CHECK-NAME": "build\ntest", "INPUT_PATTERN": "dist-*"}
    runner = RunnerChannel(environ, stdout)

    values = runner.inputs()
    runner.inputs()  # asked twice, reported once

    assert values["checks"] == "build\ntest"
    assert values["artifacts"] == "dist-*"
    notices = [
        c
        for c in commands_in(stdout.getvalue())
        if c.name == "notice" and c.properties["title"].startswith("Input ")
    ]
    assert len(notices) == 2
    assert {n.properties["title"] for n in notices} == {
        "Input check-name is now checks",
        "Input pattern is now artifacts",
    }
    assert "rename it to `checks`" in notices[0].message + notices[1].message


def test_an_alias_replaces_a_canonical_input_that_only_holds_the_action_yml_default(
    stdout: io.StringIO,
) -> None:
    environ = {"INPUT_POLL-INTERVAL": "1s", "INPUT_WAIT-INTERVAL": "20s"}

    assert RunnerChannel(environ, stdout).inputs()["poll-interval"] == "20s"


def test_a_canonical_input_set_by_the_user_wins_over_its_alias_with_a_warning(stdout: io.StringIO) -> None:
    environ = {"INPUT_CHECKS": "lint", "INPUT_CHECK-NAME": "build"}

    assert RunnerChannel(environ, stdout).inputs()["checks"] == "lint"
    (warning,) = [c for c in commands_in(stdout.getvalue()) if c.name == "warning"]
    assert warning.properties["title"] == "Input check-name ignored"
    assert "remove `check-name`" in warning.message


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        ("INPUT_WORKFLOWS", "workflow"),
        ("INPUT_API_URL", "api-url"),
        ("INPUT_CHECK-NAMES", "checks"),
    ],
)
def test_an_unknown_input_is_warned_about_with_the_closest_input(
    stdout: io.StringIO, variable: str, meant: str
) -> None:
    RunnerChannel({variable: "x"}, stdout).inputs()

    (warning,) = commands_in(stdout.getvalue())
    assert warning.name == "warning"
    assert warning.properties["title"] == "Unknown input"
    assert f"did you mean `{meant}`?" in warning.message


def test_an_unknown_input_with_no_close_match_lists_the_inputs(stdout: io.StringIO) -> None:
    RunnerChannel({"INPUT_ZZZZZZ": "x", "HOME": "/root"}, stdout).inputs()

    (warning,) = commands_in(stdout.getvalue())
    assert "unexpected input `zzzzzz` is ignored" in warning.message
    assert "github-token, repository" in warning.message


# -- annotations, masks, groups ------------------------------------------------------------------


def test_annotations_escape_the_message_and_title_as_the_runner_decodes_them(stdout: io.StringIO) -> None:
    RunnerChannel({}, stdout).error(
        "run 42 concluded failure\n100% of jobs failed",
        title="Run: deploy, attempt 2",
        hint="open the run",
        url="https://github.com/octo/app/actions/runs/42",
    )

    line = stdout.getvalue()
    assert line == (
        "::error title=Run%3A deploy%2C attempt 2::run 42 concluded failure%0A100%25 of jobs failed"
        "%0AHow to fix: open the run%0Ahttps://github.com/octo/app/actions/runs/42\n"
    )
    (command,) = commands_in(line)
    assert command.properties == {"title": "Run: deploy, attempt 2"}
    assert command.message.splitlines() == [
        "run 42 concluded failure",
        "100% of jobs failed",
        "How to fix: open the run",
        "https://github.com/octo/app/actions/runs/42",
    ]


def test_warning_and_notice_without_hint_or_link_carry_just_the_message(stdout: io.StringIO) -> None:
    runner = RunnerChannel({}, stdout)

    runner.warning("slow", title="Slow")
    runner.notice("found run 7", title="Run")

    assert stdout.getvalue() == "::warning title=Slow::slow\n::notice title=Run::found run 7\n"


def test_mask_hides_a_value_and_each_of_its_lines_and_skips_empty_ones(stdout: io.StringIO) -> None:
    runner = RunnerChannel({}, stdout)

    runner.mask("ghs_secret")
    runner.mask("")
    runner.mask("  ")
    runner.mask("-----BEGIN KEY-----\nabc")

    assert [(c.name, c.message) for c in commands_in(stdout.getvalue())] == [
        ("add-mask", "ghs_secret"),
        ("add-mask", "-----BEGIN KEY-----\nabc"),
        ("add-mask", "-----BEGIN KEY-----"),
        ("add-mask", "abc"),
    ]


def test_a_group_is_closed_even_when_its_body_raises(stdout: io.StringIO) -> None:
    with pytest.raises(RuntimeError, match="boom"), RunnerChannel({}, stdout).group("Waiting for run 42"):
        raise RuntimeError("boom")

    assert [(c.name, c.message) for c in commands_in(stdout.getvalue())] == [
        ("group", "Waiting for run 42"),
        ("endgroup", ""),
    ]


def test_the_group_body_writes_to_the_real_stdout_not_the_runner_stream(
    stdout: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    with RunnerChannel({}, stdout).group("g"):
        print("progress line")

    assert capsys.readouterr().out == "progress line\n"
    assert "progress line" not in stdout.getvalue()


# -- state ---------------------------------------------------------------------------------------


def test_state_saved_by_the_main_step_is_read_back_by_the_post_step(
    runner_files: dict[str, str], stdout: io.StringIO
) -> None:
    RunnerChannel(runner_files, stdout).save_state("dispatched-runs", "9000000001\n9000000002")

    # The runner turns $GITHUB_STATE's records into STATE_<name> for the post step.
    saved = parse_file_commands(Path(runner_files["GITHUB_STATE"]).read_text(encoding="utf-8"))
    post = RunnerChannel({f"STATE_{record.name}": record.value for record in saved}, stdout)
    assert post.state("dispatched-runs") == "9000000001\n9000000002"
    assert post.state("missing") is None


def test_without_github_state_nothing_is_saved(stdout: io.StringIO) -> None:
    RunnerChannel({}, stdout).save_state("dispatched-runs", "1")

    assert [c.name for c in commands_in(stdout.getvalue())] == ["debug"]


# -- job summary ---------------------------------------------------------------------------------


def test_a_summary_is_appended_as_given(runner_files: dict[str, str], stdout: io.StringIO) -> None:
    runner = RunnerChannel(runner_files, stdout)

    runner.summary("## first")
    runner.summary("## second")

    assert Path(runner_files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8") == "## first\n## second\n"


def test_a_summary_over_1_mib_is_cut_at_a_line_and_says_so(
    runner_files: dict[str, str], stdout: io.StringIO
) -> None:
    # 2 MiB of lines mixing 1-, 2- and 4-byte characters.
    line = "| check-é | ✅ success | 🚀 " + "x" * 40 + " |\n"
    markdown = line * (2 * SUMMARY_LIMIT_BYTES // len(line.encode("utf-8")))

    RunnerChannel(runner_files, stdout).summary(markdown)

    data = Path(runner_files["GITHUB_STEP_SUMMARY"]).read_bytes()
    assert len(data) <= SUMMARY_LIMIT_BYTES
    text = data.decode("utf-8")  # strict: no character was split
    assert text.endswith("\n\n" + TRUNCATION_NOTE + "\n")
    kept = text.removesuffix("\n\n" + TRUNCATION_NOTE + "\n")
    assert kept.endswith(line.rstrip("\n"))
    assert markdown.startswith(kept)
    assert len(data) > SUMMARY_LIMIT_BYTES - len(line.encode("utf-8")) - 200  # not cut more than needed


def test_a_single_line_over_the_limit_is_cut_between_characters(
    runner_files: dict[str, str], stdout: io.StringIO
) -> None:
    RunnerChannel(runner_files, stdout).summary("é🚀" * SUMMARY_LIMIT_BYTES)

    data = Path(runner_files["GITHUB_STEP_SUMMARY"]).read_bytes()
    assert len(data) <= SUMMARY_LIMIT_BYTES
    assert data.decode("utf-8").endswith(TRUNCATION_NOTE + "\n")


def test_the_limit_counts_what_the_step_already_wrote(
    runner_files: dict[str, str], stdout: io.StringIO
) -> None:
    summary = Path(runner_files["GITHUB_STEP_SUMMARY"])
    summary.write_bytes(b"x" * (SUMMARY_LIMIT_BYTES - 1000) + b"\n")
    runner = RunnerChannel(runner_files, stdout)

    runner.summary("a line\n" * 1000)
    assert summary.stat().st_size <= SUMMARY_LIMIT_BYTES
    assert summary.read_text(encoding="utf-8").endswith(TRUNCATION_NOTE + "\n")

    size = summary.stat().st_size
    runner.summary("nothing more fits")
    assert summary.stat().st_size == size


def test_without_a_summary_file_nothing_is_written(stdout: io.StringIO, tmp_path: Path) -> None:
    RunnerChannel({}, stdout).summary("## hello")

    assert list(tmp_path.iterdir()) == []


def test_an_alias_wins_over_an_input_whose_default_is_an_expression(stdout: io.StringIO) -> None:
    # The runner has already evaluated `${{ github.token }}`: set or defaulted looks the same.
    environ = {"INPUT_GITHUB-TOKEN": "ghs_job_token", "INPUT_TOKEN": "ghp_personal"}

    assert RunnerChannel(environ, stdout).inputs()["github-token"] == "ghp_personal"


def test_of_two_aliases_of_one_input_the_first_in_options_wins_with_a_warning(stdout: io.StringIO) -> None:
    # download-artifact ignores `pattern` when `name` is given.
    environ = {"INPUT_PATTERN": "dist-*", "INPUT_NAME": "report"}

    assert RunnerChannel(environ, stdout).inputs()["artifacts"] == "report"
    (warning,) = [c for c in commands_in(stdout.getvalue()) if c.name == "warning"]
    assert warning.properties["title"] == "Input pattern ignored"
    assert "its alias `name`" in warning.message


@pytest.mark.parametrize(
    ("environ", "repository"),
    [
        ({"INPUT_REPO": "octo-org/deployments"}, "octo-org/deployments"),  # benc-uk, dawidd6
        ({"INPUT_REPO": "deployments", "INPUT_OWNER": "octo-org"}, "octo-org/deployments"),  # Codex-
        ({"INPUT_REPO": "deployments"}, "octo/deployments"),  # the caller's owner
    ],
)
def test_repo_is_owner_name_with_a_slash_and_the_name_beside_owner_without(
    stdout: io.StringIO, environ: dict[str, str], repository: str
) -> None:
    assert (
        RunnerChannel({"GITHUB_REPOSITORY": "octo/app", **environ}, stdout).inputs()["repository"]
        == repository
    )


def test_owner_without_repo_is_a_usage_error(stdout: io.StringIO) -> None:
    with pytest.raises(UsageError, match="owner is given without repo"):
        RunnerChannel({"INPUT_OWNER": "octo-org"}, stdout).inputs()


def test_a_download_only_peers_input_implies_dispatch_never_unless_dispatch_is_set(
    stdout: io.StringIO,
) -> None:
    found = {"INPUT_WORKFLOW": "build.yml", "INPUT_NAME": "dist", "INPUT_DISPATCH": "if-missing"}

    assert RunnerChannel(found, stdout).inputs()["dispatch"] == "never"
    assert (
        RunnerChannel({**found, "INPUT_DISPATCH": "always"}, io.StringIO()).inputs()["dispatch"] == "always"
    )
    assert any("a peer that only downloads" in c.message for c in commands_in(stdout.getvalue()))


@pytest.mark.parametrize(
    ("variable", "value", "input_name", "expected"),
    [
        ("INPUT_WAIT-INTERVAL", "10", "poll-interval", "10s"),  # lewagon: seconds
        ("INPUT_WAIT-INTERVAL", "20s", "poll-interval", "20s"),  # a unit is kept
        ("INPUT_POLL_INTERVAL_MS", "2500", "poll-interval", "2500ms"),  # await-remote-run
        ("INPUT_RUN_TIMEOUT_SECONDS", "300", "timeout", "300s"),
        ("INPUT_WORKFLOW_CONCLUSION", "completed", "allowed-conclusions", "any"),  # dawidd6
        ("INPUT_SYNC-STATUS", "false", "allowed-conclusions", "any"),  # benc-uk
        ("INPUT_FAIL-ON-NO-CHECKS", "false", "if-checks-missing", "ignore"),  # lewagon
    ],
)
def test_a_peer_value_is_written_in_our_format(
    stdout: io.StringIO, variable: str, value: str, input_name: str, expected: str
) -> None:
    assert RunnerChannel({variable: value}, stdout).inputs()[input_name] == expected


def test_running_workflow_name_is_added_to_ignore_checks(stdout: io.StringIO) -> None:
    environ = {"INPUT_IGNORE-CHECKS": "lint,coverage", "INPUT_RUNNING-WORKFLOW-NAME": "Publish"}

    assert RunnerChannel(environ, stdout).inputs()["ignore-checks"] == "lint,coverage\nPublish"


def test_a_peer_input_without_equivalent_is_refused_unless_it_asks_for_what_we_do(
    stdout: io.StringIO,
) -> None:
    assert RunnerChannel({"INPUT_SKIP_UNPACK": "false"}, stdout).inputs()
    assert "has no effect" in stdout.getvalue()
    with pytest.raises(UsageError, match="skip_unpack"):
        RunnerChannel({"INPUT_SKIP_UNPACK": "true"}, io.StringIO()).inputs()


def test_download_artifacts_skip_decompress_is_our_input_of_the_same_name(stdout: io.StringIO) -> None:
    assert RunnerChannel({"INPUT_SKIP-DECOMPRESS": "true"}, stdout).inputs()["skip-decompress"] == "true"
    assert stdout.getvalue() == ""


# -- hostile text in commands ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["error", "warning", "notice"])
def test_an_annotation_with_hostile_text_is_one_command_that_decodes_to_that_text(
    runner_files: dict[str, str], stdout: io.StringIO, kind: str
) -> None:
    runner = RunnerChannel(runner_files, stdout)
    getattr(runner, kind)(f"run {HOSTILE} failed", title=f"Build{HOSTILE}", hint=HOSTILE)
    assert [name for name, _ in runner_commands(stdout.getvalue())] == [kind]
    (command,) = commands_in(stdout.getvalue())
    assert command.properties == {"title": f"Build{HOSTILE}"}
    assert command.message == f"run {HOSTILE} failed\nHow to fix: {HOSTILE}"


def test_a_group_and_a_debug_line_with_hostile_text_are_one_command_each(
    runner_files: dict[str, str], stdout: io.StringIO
) -> None:
    runner = RunnerChannel(runner_files, stdout)
    with runner.group(f"plan {HOSTILE}"):
        runner.debug(HOSTILE)
    assert [name for name, _ in runner_commands(stdout.getvalue())] == ["group", "debug", "endgroup"]


def test_poseidon_ignore_pattern_leaves_out_the_checks_it_matches_beside_match_pattern(
    stdout: io.StringIO,
) -> None:
    alone = RunnerChannel({"INPUT_IGNORE_PATTERN": "lint"}, stdout).inputs()["checks-regex"]
    both = RunnerChannel({"INPUT_MATCH_PATTERN": "^ci/", "INPUT_IGNORE_PATTERN": "lint"}, stdout).inputs()

    names = ["ci/test", "ci/lint-go", "deploy", "eslint"]
    assert [n for n in names if re.search(alone, n)] == ["ci/test", "deploy"]
    assert [n for n in names if re.search(both["checks-regex"], n)] == ["ci/test"]
    assert both["if-checks-missing"] == "ignore"  # poseidon passes when nothing matches


def test_poseidon_leaves_out_its_own_jobs_check_and_waits_for_every_other_given_only_a_token(
    stdout: io.StringIO,
) -> None:
    bare = {"GITHUB_JOB": "summary", "INPUT_TOKEN": "t"}
    assert RunnerChannel(bare, stdout).inputs()["ignore-checks"] == "summary"
    listed = RunnerChannel({**bare, "INPUT_IGNORE": "lint, summary"}, io.StringIO()).inputs()
    assert listed["ignore-checks"] == "lint, summary"  # named already: not twice
    # `token` beside a workflow is another peer's (return-dispatch, ...): nothing is ignored.
    assert (
        RunnerChannel({**bare, "INPUT_WORKFLOW": "build.yml"}, io.StringIO()).inputs()["ignore-checks"] == ""
    )


def test_lasith_kg_workflow_inputs_are_the_client_payload_of_a_repository_dispatch(
    stdout: io.StringIO,
) -> None:
    step = {"INPUT_DISPATCH-METHOD": "repository_dispatch", "INPUT_WORKFLOW-INPUTS": '{"a": "1"}'}
    values = RunnerChannel({**step, "INPUT_EVENT-TYPE": "deploy"}, stdout).inputs()
    assert (values["client-payload"], values["inputs"]) == ('{"a": "1"}', "")
    assert (values["dispatch"], values["wait"]) == ("always", "false")
    workflow = {"INPUT_DISPATCH-METHOD": "workflow_dispatch", "INPUT_WORKFLOW": "build.yml"}
    values = RunnerChannel({**workflow, "INPUT_WORKFLOW-INPUTS": '{"a": "1"}'}, io.StringIO()).inputs()
    assert (values["client-payload"], values["inputs"]) == ("", '{"a": "1"}')


def test_a_name_of_one_peer_implies_over_a_name_peers_share(stdout: io.StringIO) -> None:
    # github_token is dawidd6's (only downloads: dispatch never) and convictional's (dispatches).
    step = {
        "INPUT_GITHUB_TOKEN": "t",
        "INPUT_WORKFLOW_FILE_NAME": "deploy.yml",
        "INPUT_DISPATCH": "if-missing",
    }
    assert RunnerChannel(step, stdout).inputs()["dispatch"] == "always"
    dawidd6 = {"INPUT_GITHUB_TOKEN": "t", "INPUT_WORKFLOW": "build.yml", "INPUT_DISPATCH": "if-missing"}
    assert RunnerChannel(dawidd6, io.StringIO()).inputs()["dispatch"] == "never"


@pytest.mark.parametrize(
    ("environ", "needed"),
    [
        ({"INPUT_DISPATCH-METHOD": "repository_dispatch", "INPUT_WORKFLOW": "build.yml"}, "needs event-type"),
        ({"INPUT_DISPATCH-METHOD": "workflow_dispatch", "INPUT_EVENT-TYPE": "deploy"}, "needs workflow"),
    ],
)
def test_lasith_kg_dispatch_method_that_the_inputs_would_not_send_is_refused(
    stdout: io.StringIO, environ: dict[str, str], needed: str
) -> None:
    with pytest.raises(UsageError, match=needed):
        RunnerChannel(environ, stdout).inputs()
