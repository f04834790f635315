"""The command line fits the shell: global options before or after the command, each command's
--help shows only its own options, and completion scripts for bash, zsh and fish that know every
command and option (generated from the parser, so none can be missing)."""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.edges.test_action import fast_scenario
from wait_and_dispatch.cli.completion import describe
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.cli.parser import build_parser, job_inputs
from wait_and_dispatch.emulator import Emulator

FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with serve_to_the_cli(monkeypatch, fast_scenario()) as emulator:
        yield emulator


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "run", *FAST, "--workflow", "nope.yml"],
        ["run", *FAST, "--workflow", "nope.yml", "--debug"],
    ],
    ids=["before", "after"],
)
def test_debug_works_before_or_after_the_command(emulator: Emulator, argv: list[str]) -> None:
    code, _, err = cli(*argv)
    assert code == 4
    assert "Traceback" in err and "error: workflow 'nope.yml' not found" in err


def test_without_debug_there_is_no_traceback(emulator: Emulator) -> None:
    code, _, err = cli("run", *FAST, "--workflow", "nope.yml")
    assert code == 4 and "Traceback" not in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_keeps_the_result_and_drops_the_progress(emulator: Emulator, where: str) -> None:
    argv = ["run", *FAST, "--workflow", "build.yml"]
    argv = ["-q", *argv] if where == "before" else [*argv, "--quiet"]
    code, out, err = cli(*argv)
    assert code == 0, err
    assert err == "" and "conclusion: success" in out


def test_quiet_still_shows_errors(emulator: Emulator) -> None:
    code, _, err = cli("--quiet", "run", *FAST, "--workflow", "nope.yml")
    assert code == 4
    assert err.startswith("error: workflow 'nope.yml' not found") and "\nhint: " in err


def test_a_global_option_given_before_is_kept_when_the_command_does_not_repeat_it() -> None:
    args = build_parser().parse_args(["--debug", "--quiet", "run", "--workflow", "a.yml"])
    assert args.debug is True and args.quiet is True
    args = build_parser().parse_args(["run", "--workflow", "a.yml"])
    assert args.debug is False and args.quiet is False


def test_checks_help_shows_only_the_options_about_checks(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of("checks", capsys)
    for option in ("--checks", "--checks-regex", "--sha", "--timeout", "--debug", "--json"):
        assert option in text
    for option in ("--workflow", "--artifacts", "--dispatch", "--inputs", "--run-id", "--path"):
        assert f"{option} " not in text, option


def test_download_help_shows_only_the_options_about_downloads(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of("download", capsys)
    for option in ("--run-id", "--artifacts", "--path", "--workflow", "--sha", "--allow-forks"):
        assert option in text
    for option in ("--checks", "--dispatch", "--inputs", "--event-type", "--cancel-on-cancel"):
        assert f"{option} " not in text, option


def test_checks_and_download_do_not_offer_the_other_ones_if_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "--if-artifacts-missing" not in help_of("checks", capsys)
    assert "--if-checks-missing" not in help_of("download", capsys)


@pytest.mark.parametrize("command", ["run", "checks", "download"])
def test_help_is_in_the_command_lines_words_not_the_actions(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = " ".join(help_of(command, capsys).split())
    for action_words in ("github.sha", "pull request's head SHA", "this step", "the step", "job's"):
        assert action_words not in text, action_words
    assert "[HOST/]OWNER/REPO" in text and "-R [HOST/]OWNER/REPO, --repo" in text


@pytest.mark.parametrize(
    ("command", "other_commands_words"),
    [
        ("checks", ("artifact", "dispatch", "workflows", "--ref", "which run")),
        ("download", ("find or dispatch", "dispatching", "after a dispatch", "--ref", "check runs")),
    ],
)
def test_each_commands_help_speaks_of_what_that_command_does(
    command: str, other_commands_words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_of(command, capsys)
    options = " ".join(text[text.index("options:") : text.index("global options")].split())
    for words in other_commands_words:
        assert words not in options, words


def test_plan_help_does_not_show_the_job_options(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of("plan", capsys)
    assert "--emit-workflow" in text and "--insecure-http" in text
    assert "--workflow " not in text and "--artifacts " not in text


def test_run_takes_every_input_the_command_line_has() -> None:
    from wait_and_dispatch.step.catalogue import INPUTS

    assert job_inputs("run") == [item.name for item in INPUTS if item.cli]
    assert set(job_inputs("checks")) < set(job_inputs("run"))
    assert set(job_inputs("download")) < set(job_inputs("run"))


def all_flags() -> dict[str, list[str]]:
    """Every command and its option strings, read from the parser itself."""
    return {
        name: [flag for action in parser._actions for flag in action.option_strings]
        for name, parser in subcommands().items()
    }


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_knows_every_command_and_option(shell: str) -> None:
    code, script, err = cli("completion", shell)
    assert code == 0, err
    flags = all_flags()
    assert set(flags) >= {"run", "checks", "download", "plan", "completion"}
    for command, options in flags.items():
        assert command in script, command
        for flag in options:
            word = flag.lstrip("-") if shell == "fish" else flag  # fish writes `-l name`, `-s q`
            assert word in script, (command, flag)


def test_describe_reads_values_files_and_choices_from_the_parser() -> None:
    top, commands = describe(build_parser())
    by_name = {command.name: command for command in commands}
    assert by_name["plan"].positional == "file"
    assert by_name["completion"].choices == ("bash", "zsh", "fish")
    plan_options = {flag: option for option in by_name["plan"].options for flag in option.flags}
    assert plan_options["--summary-file"].kind == "file" and plan_options["--workdir"].kind == "folder"
    assert not plan_options["--dry-run"].takes_value and plan_options["--var"].takes_value
    assert {"--debug", "--quiet", "-q"} <= {flag for option in top for flag in option.flags}


def shell_script(shell: str, tmp_path: Path) -> Path:
    path = tmp_path / f"completion.{shell}"
    path.write_text(cli("completion", shell)[1], encoding="utf-8")
    return path


def test_the_bash_script_parses_and_completes(tmp_path: Path) -> None:
    script = shell_script("bash", tmp_path)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False).returncode == 0
    (tmp_path / "pipeline.yml").write_text("nodes: {}\n")
    probe = (
        f"source {script}\n"
        'complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _wait_and_dispatch; '
        'echo "${COMPREPLY[*]}"; }\n'
        "complete_words wait-and-dispatch ch\n"
        "complete_words wait-and-dispatch --debug run --wor\n"
        "complete_words wait-and-dispatch completion ''\n"
        "complete_words wait-and-dispatch plan pipe\n"
        "complete_words wait-and-dispatch run --workflow ''\n"
    )
    done = subprocess.run(
        ["bash", "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["checks", "--workflow", "bash zsh fish", "pipeline.yml", ""]


# Types into an interactive zsh on a pseudo-terminal and reads until the completed word shows.
ZSH_PROBE = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='> '; autoload -U compinit; compinit -u -d $1/zcompdump; source $2; wait-and-dispatch() { : }"
zpty -n -w z $'wait-and-dispatch ch\t'
zpty -r z out '*checks*' && print "completed checks"
zpty -n -w z $'\C-u'
zpty -n -w z $'wait-and-dispatch --debug run --workf\t'
zpty -r z out '*--workflow*' && print "completed --workflow"
zpty -d z
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_parses_registers_itself_and_completes(tmp_path: Path) -> None:
    script = shell_script("zsh", tmp_path)
    assert subprocess.run(["zsh", "-n", str(script)], capture_output=True, check=False).returncode == 0
    probe = (
        f"autoload -U compinit; compinit -u -d {tmp_path}/zcompdump; source {script}; "
        "print -r -- ${_comps[wait-and-dispatch]}"
    )
    done = subprocess.run(["zsh", "-fc", probe], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "_wait_and_dispatch"
    (tmp_path / "probe.zsh").write_text(ZSH_PROBE, encoding="utf-8")
    done = subprocess.run(
        ["zsh", "-f", str(tmp_path / "probe.zsh"), str(tmp_path), str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.splitlines() == ["completed checks", "completed --workflow"], done.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_the_fish_script_parses_and_completes(tmp_path: Path) -> None:
    script = shell_script("fish", tmp_path)
    assert (
        subprocess.run(["fish", "--no-execute", str(script)], capture_output=True, check=False).returncode
        == 0
    )
    probe = (
        f"source {script}; complete -C 'wait-and-dispatch ch'; complete -C 'wait-and-dispatch run --wor'; "
        "complete -C 'wait-and-dispatch completion '"
    )
    done = subprocess.run(
        ["fish", "--no-config", "-c", probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    words = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert words[:2] == ["checks", "--workflow"]
    assert sorted(words[2:]) == ["bash", "fish", "zsh"]


def test_no_command_offers_a_summary_option_that_would_do_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # The job summary is the action's ($GITHUB_STEP_SUMMARY); from a terminal, plan writes one to
    # --summary-file when asked, and run, checks and download print their result instead.
    for command in ("run", "checks", "download"):
        assert "--summary" not in help_of(command, capsys), command
    assert "--summary-file" in help_of("plan", capsys)


def test_an_unknown_option_is_told_with_the_commands_usage_and_a_hint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--repo", "octo/app", "--no-such-option", "x"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: wait-and-dispatch run ")
    assert err.splitlines()[-2:] == [
        "wait-and-dispatch run: error: unrecognized arguments: --no-such-option x",
        "hint: wait-and-dispatch run --help lists what it takes",
    ]


def test_an_unknown_command_is_told_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["frob"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "hint: wait-and-dispatch --help lists what it takes"
