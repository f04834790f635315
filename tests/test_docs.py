"""The docs say what the code does: checked, so they cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

from wait_and_dispatch.cli.main import EXIT_CODES_HELP, build_parser
from wait_and_dispatch.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_exit_codes() -> dict[int, str]:
    section = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {
        int(code): text.strip() for code, text in re.findall(r"^\| (\d+) \| (.+?) \|$", section, re.MULTILINE)
    }


def test_readme_documents_every_exit_code_and_no_other() -> None:
    assert set(readme_exit_codes()) == {int(code) for code in ExitCode}


def test_cli_help_lists_the_same_exit_codes_as_the_readme() -> None:
    documented = readme_exit_codes()
    in_help = {
        int(code): text.strip()
        for code, text in re.findall(r"^\s+(\d+)\s+(.+)$", EXIT_CODES_HELP, re.MULTILINE)
    }
    assert in_help == documented


def test_quick_start_is_two_commands_that_dev_py_accepts() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]


def test_readme_explains_every_runtime_dependency() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    deps = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    names = re.findall(r'"([A-Za-z0-9_.-]+)', deps)
    table = README.split("## Dependencies, and why each is here", 1)[1].split("\n## ", 1)[0]
    for name in names:
        assert f"| {name}" in table, f"README does not say why {name} is a dependency"


def test_every_cli_subcommand_is_mentioned_in_the_readme() -> None:
    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert subcommands is not None
    for name in subcommands:
        assert f"wait-and-dispatch {name}" in README or f"dev.py {name}" in README, name


def test_the_documented_scenario_is_accepted_by_the_emulator() -> None:
    from wait_and_dispatch.emulator import Scenario

    doc = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    example = doc.split("## Scenario reference", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    scenario = Scenario.from_text(example)
    assert set(scenario.tokens) == {"ci"}
    assert len(scenario.faults) == 8
    assert (scenario.faults[-1].since, scenario.faults[-1].until) == (30, 100)
    assert scenario.options.poll_interval_header == 30
    assert scenario.options.secondary_points_per_minute == 900
