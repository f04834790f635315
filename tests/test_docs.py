"""The docs say what the code does: checked, so they cannot drift apart."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from wait_and_dispatch import ACTION_REPOSITORY
from wait_and_dispatch.cli.parser import EXIT_CODES_HELP, build_parser
from wait_and_dispatch.support.errors import ExitCode

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


def quick_start_commands() -> list[list[str]]:
    """The commands of each ```sh block of the quick start, without comments and continuations."""
    section = README.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    return [
        [line.split("#", 1)[0].strip() for line in block.replace("\\\n", " ").strip().splitlines()]
        for block in blocks
    ]


def test_quick_start_begins_with_installing_from_pypi_and_running_the_demo() -> None:
    # What a person reading the PyPI page can do first, without a clone or a token.
    assert quick_start_commands()[0] == ["pipx install wait-and-dispatch", "wait-and-dispatch demo"]


def test_quick_start_from_a_clone_is_two_commands_that_dev_py_accepts() -> None:
    # .ci/run and the contributors' guide rely on these two commands, exactly.
    assert ["python3 dev.py demo", "python3 dev.py test"] in quick_start_commands()


def test_quick_start_commands_are_commands_the_cli_has() -> None:
    parser = build_parser()
    for block in quick_start_commands():
        for command in block:
            if command.startswith("wait-and-dispatch "):
                # parse_args exits (SystemExit 2) on an unknown subcommand or option.
                parser.parse_args(shlex.split(command)[1:])


# Where links in README.md lead on PyPI: PyPI shows the README without the repository around it,
# so a relative link (docs/plans.md) would lead nowhere there.
LINK_TARGETS = re.compile(
    r"\]\(([^)\s]+)[^)]*\)|^\[[^\]]+\]:\s*(\S+)|(?:href|src)=[\"']([^\"']+)", re.MULTILINE
)


def test_every_link_in_the_readme_is_absolute() -> None:
    targets = [next(group for group in match.groups() if group) for match in LINK_TARGETS.finditer(README)]
    assert targets, "the README links nowhere"
    relative = [target for target in targets if not target.startswith(("https://", "#"))]
    assert not relative, f"relative links break on PyPI: {relative}"


# The action's name is written once (ACTION_REPOSITORY); the placeholder it replaced must not come
# back.
PLACEHOLDER = "OWNER" + "/wait-and-dispatch"  # not gh's `[HOST/]OWNER/REPO`, which is documented
NOT_OURS = {".git", ".venv", "node_modules", "build", "dist", "data", "__pycache__"}


def project_text_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & NOT_OURS or any(part.endswith(".egg-info") for part in parts) or not path.is_file():
            continue
        if path.suffix in {
            ".py",
            ".md",
            ".yml",
            ".yaml",
            ".toml",
            ".json",
            ".txt",
            ".cfg",
            ".in",
        } or path.name in {
            "Dockerfile",
            "LICENSE",
        }:
            files.append(path)
    return files


def test_no_file_uses_the_owner_placeholder_for_the_actions_repository() -> None:
    files = project_text_files()
    assert ROOT / "README.md" in files and ROOT / "action.yml" in files
    stray = [
        path.relative_to(ROOT).as_posix()
        for path in files
        if PLACEHOLDER in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not stray, f"{PLACEHOLDER} is {ACTION_REPOSITORY} now: {stray}"


def test_readme_and_docs_name_the_action_by_its_repository() -> None:
    assert f"uses: {ACTION_REPOSITORY}@v1" in README
    assert f"{ACTION_REPOSITORY}/composite@v1" in README


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
    assert len(scenario.faults) == 13
    assert (scenario.faults[-1].since, scenario.faults[-1].until) == (30, 100)
    assert scenario.options.poll_interval_header == 30
    assert scenario.options.secondary_points_per_minute == 900


def layout_table(markdown: str) -> list[str]:
    rows = markdown.split("| path | what |", 1)[1].strip().split("\n\n", 1)[0]
    return rows.splitlines()


def test_contributing_mirrors_the_readme_layout_table() -> None:
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert layout_table(contributing) == layout_table(README)
    for row in layout_table(README)[1:]:
        path = row.split("`", 2)[1]
        assert (ROOT / path).exists(), f"the layout table names {path}, which does not exist"


def test_contributing_documents_the_commands_the_readme_and_ci_use() -> None:
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for command in ("python3 dev.py demo", "python3 dev.py test", "python3 dev.py lint", "bash .ci/run"):
        assert command in contributing


# Every Markdown file a reader of the repository (or of PyPI) opens.
MARKDOWN = [
    ROOT / "README.md",
    ROOT / "ARCHITECTURE.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "SECURITY.md",
    ROOT / "CHANGELOG.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "examples" / "README.md",
    *sorted((ROOT / "examples").glob("*/README.md")),
]
# A file of the repository written in backticks: `tools/release/release_notes.py`, `cli/signals.py`.
NAMED_FILE = re.compile(r"`((?:\.?[\w-]+/)+[\w.-]+\.(?:py|json|ya?ml|md|mjs|toml|txt))`")
REPOSITORY_LINK = re.compile(
    rf"^https://github\.com/{re.escape(ACTION_REPOSITORY)}/(?:blob|tree)/main/([^#?]*)"
)


def named_file_exists(name: str) -> bool:
    # The docs name a module by its path in the repository or in the package (cli/main.py).
    return any((base / name).exists() for base in (ROOT, ROOT / "src", ROOT / "src" / "wait_and_dispatch"))


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_file_a_document_names_exists(doc: Path) -> None:
    names = NAMED_FILE.findall(doc.read_text(encoding="utf-8"))
    missing = sorted({name for name in names if not named_file_exists(name)})
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_link_of_a_document_into_the_repository_leads_to_a_file(doc: Path) -> None:
    broken = []
    for match in LINK_TARGETS.finditer(doc.read_text(encoding="utf-8")):
        target = next(group for group in match.groups() if group)
        if target.startswith(("#", "mailto:")):
            continue
        in_repository = REPOSITORY_LINK.match(target)
        if in_repository:
            path = ROOT / in_repository.group(1)
        elif "://" in target:
            continue  # another site: not ours to check offline
        else:
            path = doc.parent / target.split("#", 1)[0]
        if not path.exists():
            broken.append(target)
    assert not broken, f"{doc.name} links to files that do not exist: {broken}"


def documented_commands(markdown: str) -> list[str]:
    """Each `wait-and-dispatch ...` command of the ```sh blocks, up to a pipe, redirection or comment."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s(?:#|\||>)\s?", line, maxsplit=1)[0].strip()
            line = line.removeprefix(".venv/bin/")
            if line.startswith("wait-and-dispatch "):
                commands.append(line)
    return commands


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_documented_command_line_is_one_the_cli_accepts(doc: Path) -> None:
    parser = build_parser()
    for command in documented_commands(doc.read_text(encoding="utf-8")):
        # parse_args exits (SystemExit 2) on an unknown subcommand, option or choice.
        parser.parse_args(shlex.split(command)[1:])


def test_the_readme_shows_the_command_line_and_the_emulator_each_under_its_heading() -> None:
    commands = documented_commands(README)
    assert any(command.startswith("wait-and-dispatch run ") for command in commands)
    emulator = README.split("\n## The emulator\n", 1)[1].split("\n## ", 1)[0]
    assert documented_commands(emulator)[0] == "wait-and-dispatch emulator"


def test_contributing_and_the_readme_say_the_same_of_what_dev_py_lint_runs() -> None:
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    lines = {
        doc: [line for line in text.splitlines() if line.startswith("python3 dev.py lint")]
        for doc, text in (("README.md", README), ("CONTRIBUTING.md", contributing))
    }
    assert lines["README.md"] and lines["README.md"] == lines["CONTRIBUTING.md"]
    dev_py = (ROOT / "dev.py").read_text(encoding="utf-8")
    for tool in ("ruff", "mypy", "bandit", "actionlint", "zizmor"):
        assert tool in dev_py and tool in lines["README.md"][0], tool


def test_the_layout_table_has_a_row_for_every_module_and_subpackage() -> None:
    package = ROOT / "src" / "wait_and_dispatch"
    rows = {row.split("`", 2)[1].rstrip("/") for row in layout_table(README)[1:]}
    parts = [
        path
        for path in package.iterdir()
        if (path.suffix == ".py" and path.name not in {"__init__.py", "__main__.py"})
        or (path.is_dir() and (path / "__init__.py").exists())
    ]
    missing = sorted(path.name for path in parts if path.relative_to(ROOT).as_posix() not in rows)
    assert not missing, f"README.md's layout table (and CONTRIBUTING.md's) has no row for {missing}"


def test_moving_from_repository_dispatch_is_not_called_a_rename_of_uses() -> None:
    """peter-evans/repository-dispatch only sends the event; this action also finds and waits for
    the run: the docs say what that asks of the token and of the workflows that listen."""
    paragraph = " ".join(
        README[README.index("- **The action**") : README.index("- **The command line**")].split()
    )
    assert "peter-evans/repository-dispatch is the exception" in paragraph
    for words in ("actions: read", "no workflow or several workflows", "Keep repository-dispatch"):
        assert words in paragraph, words
    migration = (ROOT / "docs" / "MIGRATION.md").read_text(encoding="utf-8")
    section = " ".join(migration[migration.index("## From peter-evans/repository-dispatch") :].split())
    for words in (
        "not only a rename of `uses:`",
        "`actions: read`",
        "Exactly one workflow",
        "When none",
        "When several",
    ):
        assert words in section, words
    assert "Keep peter-evans/repository-dispatch for" in section
