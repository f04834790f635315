"""The action's metadata, packaging and docs say what step/catalogue.py says: checked, so they cannot drift.

`src/wait_and_dispatch/step/catalogue.py` is the single source of the inputs and outputs. These tests hold
`action.yml`, `composite/action.yml`, the Dockerfile, the README's tables and the example workflows
in README.md and docs/MIGRATION.md to it, and run actionlint over the workflows when it is installed
(`python3 dev.py lint` installs it and is where it is enforced).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from tests.support.actionlint import actionlint_command
from wait_and_dispatch import ACTION_REPOSITORY
from wait_and_dispatch.step.catalogue import INPUT_NAMES, INPUTS, OUTPUT_NAMES, OUTPUTS, Input, find_input
from wait_and_dispatch.step.peer_names import ALIASES, OUTPUT_ALIAS_NAMES, OUTPUT_ALIASES, Alias

ROOT = Path(__file__).resolve().parents[1]


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return cast(dict[str, Any], data)


ACTION = load_yaml(ROOT / "action.yml")
COMPOSITE = load_yaml(ROOT / "composite" / "action.yml")
README = (ROOT / "README.md").read_text(encoding="utf-8")
MIGRATION = (ROOT / "docs" / "MIGRATION.md").read_text(encoding="utf-8")


def expected_inputs() -> dict[str, dict[str, Any]]:
    """action.yml's `inputs:` as step/catalogue.py defines them: each input with its aliases right after
    it, then the peers' inputs that have no equivalent here."""
    expected: dict[str, dict[str, Any]] = {}
    for item in INPUTS:
        entry: dict[str, Any] = {"description": item.description, "required": False}
        if item.default:
            entry["default"] = item.default
        expected[item.name] = entry
        for name in item.aliases:
            expected[name] = {"required": False}
    for alias in ALIASES:
        if alias.input is None:
            expected[alias.name] = {"required": False}
    return expected


def expected_outputs() -> dict[str, str]:
    """action.yml's `outputs:`, names to descriptions: ours, then the peers' names."""
    return {
        **{o.name: o.description for o in OUTPUTS},
        **{o.name: metadata().output_descriptions()[o.name] for o in OUTPUT_ALIASES},
    }


def metadata() -> Any:
    """tools/action_metadata.py, which writes the inputs and outputs of both action.yml files."""
    spec = importlib.util.spec_from_file_location("action_metadata", ROOT / "tools" / "action_metadata.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- action.yml ----------------------------------------------------------------------------------


def test_action_declares_every_input_and_alias_and_nothing_else_in_options_order() -> None:
    assert list(ACTION["inputs"]) == list(expected_inputs())


@pytest.mark.parametrize("item", INPUTS, ids=lambda item: item.name)
def test_action_input_has_the_description_and_default_of_options(item: Input) -> None:
    declared = ACTION["inputs"][item.name]
    # Defaults stay strings (`"true"`, `"5m"`): YAML would otherwise make some of them booleans.
    assert declared == expected_inputs()[item.name]


def test_both_action_files_are_what_tools_action_metadata_writes() -> None:
    assert metadata().main(["--check"]) == 0, "run python3 tools/action_metadata.py"


@pytest.mark.parametrize("alias", ALIASES, ids=lambda alias: alias.name)
def test_alias_is_declared_deprecated_with_a_message_naming_the_new_input(alias: Alias) -> None:
    declared = ACTION["inputs"][alias.name]
    # No default: the action must see whether the user set the old name.
    assert set(declared) == {"description", "required", "deprecationMessage"}
    assert declared["required"] is False
    for peer in alias.peers:
        assert peer in declared["deprecationMessage"]
    if alias.input is not None:
        item = find_input(alias.input)
        assert f"`{item.name}`" in declared["deprecationMessage"]
        assert declared["description"].startswith(f"Deprecated alias of `{item.name}`")
        assert declared["description"].endswith(item.description)
    else:
        assert alias.note in declared["description"] and alias.note in declared["deprecationMessage"]


def test_action_outputs_are_the_outputs_of_options_with_their_descriptions() -> None:
    assert {name: o["description"] for name, o in ACTION["outputs"].items()} == expected_outputs()
    assert list(ACTION["outputs"]) == [*OUTPUT_NAMES, *OUTPUT_ALIAS_NAMES]
    for alias in OUTPUT_ALIASES:
        assert alias.peers[0] in ACTION["outputs"][alias.name]["description"]


def test_action_is_marketplace_ready() -> None:
    assert ACTION["name"] == "wait-and-dispatch"
    assert ACTION["description"].strip() and ACTION["author"].strip()
    # The colours the Marketplace accepts ("Metadata syntax for GitHub Actions", branding.color).
    colors = {"white", "black", "yellow", "blue", "green", "orange", "red", "purple", "gray-dark"}
    assert ACTION["branding"]["color"] in colors
    assert re.fullmatch(r"[a-z0-9-]+", ACTION["branding"]["icon"])


def test_action_runs_the_dockerfile_and_a_post_step_only_when_the_job_is_cancelled() -> None:
    runs = ACTION["runs"]
    assert runs["using"] == "docker"
    assert runs["image"] == "Dockerfile"
    # The image's ENTRYPOINT is the main step. `args` would reach the post step too, and inputs
    # arrive as INPUT_* anyway.
    assert "entrypoint" not in runs and "args" not in runs
    # `docker run --entrypoint` takes one executable, so the post entrypoint is a path, not a command.
    assert re.fullmatch(r"/[\w/.-]+", runs["post-entrypoint"])
    assert runs["post-if"] == "cancelled()"


# --- composite/action.yml ------------------------------------------------------------------------


def composite_steps() -> list[dict[str, Any]]:
    assert COMPOSITE["runs"]["using"] == "composite"
    return cast(list[dict[str, Any]], COMPOSITE["runs"]["steps"])


def run_step() -> dict[str, Any]:
    return next(step for step in composite_steps() if step.get("id") == "run")


def test_composite_action_has_the_same_inputs_as_the_container_action() -> None:
    assert COMPOSITE["inputs"] == ACTION["inputs"]
    assert list(COMPOSITE["inputs"]) == list(ACTION["inputs"])


def test_composite_action_outputs_come_from_the_run_step() -> None:
    assert COMPOSITE["outputs"] == {
        name: {"description": description, "value": f"${{{{ steps.run.outputs.{name} }}}}"}
        for name, description in expected_outputs().items()
    }


def test_composite_action_maps_every_input_and_alias_to_its_input_variable() -> None:
    # Composite actions get no INPUT_* from the runner ("Metadata syntax for GitHub Actions", inputs).
    env = run_step()["env"]
    expected = {
        variable: f"${{{{ inputs.{name} }}}}"
        for item in INPUTS
        for name, variable in zip((item.name, *item.aliases), item.env_names, strict=True)
    }
    expected |= {alias.env_name: f"${{{{ inputs.{alias.name} }}}}" for alias in ALIASES}
    assert {k: v for k, v in env.items() if k.startswith("INPUT_")} == expected


def test_composite_action_execs_the_action_subcommand_in_bash() -> None:
    # bash exists on Linux, macOS and Windows runners; `exec` makes the step's process the program,
    # so the runner's SIGINT on cancellation reaches its handler.
    for step in composite_steps():
        if "run" in step:
            assert step["shell"] == "bash"
    assert shlex.split(run_step()["run"]) == ["exec", "$WAIT_AND_DISPATCH", "action"]


def test_composite_action_pins_its_actions_by_sha_and_setup_python_as_ci_does() -> None:
    uses = [step["uses"] for step in composite_steps() if "uses" in step]
    assert [u.split("@")[0] for u in uses] == ["actions/setup-python", "actions/cache"]
    text = (ROOT / "composite" / "action.yml").read_text(encoding="utf-8")
    for reference in uses:
        sha = reference.split("@", 1)[1]
        assert re.fullmatch(r"[0-9a-f]{40}", sha), "pin actions by full commit SHA"
        assert re.search(rf"uses: {re.escape(reference)} # v\d+\.\d+\.\d+\n", text), "with a version comment"
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert f"{uses[0]} # " in ci


def test_composite_action_caches_pip_without_setup_pythons_cache() -> None:
    # setup-python's cache-dependency-path must lie in the caller's workspace
    # (actions/setup-python#361): `cache: pip` with this action's constraints.txt would fail every
    # user's job.
    (python,) = [
        step for step in composite_steps() if str(step.get("uses", "")).startswith("actions/setup-python@")
    ]
    assert "cache" not in python["with"]
    install = next(step for step in composite_steps() if step.get("id") == "install")
    assert "--no-cache-dir" not in install["run"]
    assert '--constraint "$ACTION_ROOT/constraints.txt" "$ACTION_ROOT"' in install["run"]


# --- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation line"
    return instructions


def console_script() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scripts = cast(dict[str, str], pyproject["project"]["scripts"])
    assert list(scripts) == ["wait-and-dispatch"]
    return "wait-and-dispatch"


def test_dockerfile_starts_from_a_slim_official_python_image_pinned_by_digest() -> None:
    keyword, image = dockerfile_instructions()[0]
    assert keyword == "FROM"
    # The tag says which image it is (and is what dependabot follows); the digest is what is pulled.
    assert re.fullmatch(r"python:3\.12-slim@sha256:[0-9a-f]{64}", image)


def test_dockerfile_python_is_one_the_package_supports() -> None:
    image = dockerfile_instructions()[0][1]
    python = re.search(r"python:(3\.\d+)", image)
    assert python is not None
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"Programming Language :: Python :: {python[1]}" in pyproject["project"]["classifiers"]


def test_dockerfile_has_no_user_and_no_workdir() -> None:
    # "Dockerfile support for GitHub Actions": actions run as root, or they cannot write
    # GITHUB_WORKSPACE; the runner sets the working directory to the mounted workspace.
    keywords = [keyword for keyword, _ in dockerfile_instructions()]
    assert "USER" not in keywords and "WORKDIR" not in keywords


def test_dockerfile_entrypoint_is_the_action_subcommand_in_exec_form_at_an_absolute_path() -> None:
    entrypoints = [args for keyword, args in dockerfile_instructions() if keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    command = json.loads(entrypoints[0])  # exec form is a JSON array; shell form would not parse
    # The official python images install Python under /usr/local, so pip puts console scripts
    # in /usr/local/bin.
    assert command == [f"/usr/local/bin/{console_script()}", "action"]
    assert "CMD" not in [keyword for keyword, _ in dockerfile_instructions()]


def test_dockerfile_installs_the_post_entrypoint_as_action_post() -> None:
    post = ACTION["runs"]["post-entrypoint"]
    runs = " ".join(args for keyword, args in dockerfile_instructions() if keyword == "RUN")
    assert f"> {post}" in runs and f"chmod 0755 {post}" in runs
    assert f"exec /usr/local/bin/{console_script()} action --post" in runs


def test_dockerfile_installs_the_package_pinned_by_the_constraints() -> None:
    runs = " ".join(args for keyword, args in dockerfile_instructions() if keyword == "RUN")
    assert re.search(r"pip install --no-cache-dir --constraint \S+/constraints\.txt ", runs)


def test_dockerfile_copies_the_build_context_once() -> None:
    # .dockerignore decides what the context holds (the test below): the source tree's packaging
    # files on main, and the release's wheel as well in the release build.
    copies = [args for keyword, args in dockerfile_instructions() if keyword == "COPY"]
    assert copies == [". /opt/wait-and-dispatch/"]


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerignore_sends_only_what_pip_install_needs_and_the_release_wheel() -> None:
    patterns = dockerignore_patterns()
    # Everything is excluded first, so .git, .venv, node_modules, tests and caches stay out ...
    assert patterns[0] == "*"
    included = {p[1:] for p in patterns if p.startswith("!")}
    # ... and what building the package needs is let back in: pyproject.toml names the readme and
    # the license files, and setuptools refuses to build without them.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = {"pyproject.toml", "constraints.txt", pyproject["readme"], *pyproject["license-files"], "src"}
    assert included == needed | {"dist/*.whl"}
    for source in needed:
        assert (ROOT / source).exists()
    assert "**/__pycache__" in patterns


def test_dockerfile_installs_the_source_tree_unless_given_a_wheel_from_dist() -> None:
    instructions = dockerfile_instructions()
    assert ("ARG", 'WHEEL=""') in instructions
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert '"") package=/opt/wait-and-dispatch ;;' in runs
    assert '*.whl) package="/opt/wait-and-dispatch/dist/$WHEEL" ;;' in runs
    # A path instead of a file name is refused, so the build installs only what is in dist/.
    assert "*/*" in runs.split("*.whl)", 1)[0]
    assert 'pip install --no-cache-dir --constraint /opt/wait-and-dispatch/constraints.txt "$package"' in runs


# --- README tables -------------------------------------------------------------------------------


def readme_section(title: str) -> str:
    assert f"\n## {title}\n" in README, f"README has no section {title!r}"
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def table_rows(section: str) -> list[list[str]]:
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[2:]]  # after header


def test_readme_inputs_table_lists_every_input_with_its_default_and_nothing_else() -> None:
    rows = table_rows(readme_section("Inputs"))
    assert [name for name, _, _ in rows] == [f"`{name}`" for name in INPUT_NAMES]
    for (_, default, description), item in zip(rows, INPUTS, strict=True):
        assert default == (f"`{item.default}`" if item.default else "")
        # The peers' names are in docs/MIGRATION.md's tables, not in every row here.
        assert description == item.description


def test_readme_outputs_table_lists_every_output_and_nothing_else() -> None:
    rows = table_rows(readme_section("Outputs"))
    assert rows == [[f"`{o.name}`", o.description] for o in OUTPUTS]


def test_the_inputs_and_outputs_sections_follow_the_quick_start() -> None:
    titles = re.findall(r"^## (.+)$", README, re.MULTILINE)
    start = titles.index("Quick start")
    assert titles[start + 1 : start + 4] == ["Use it in a workflow", "Inputs", "Outputs"]


# --- examples in README.md and docs/MIGRATION.md -------------------------------------------------


def yaml_blocks(markdown: str) -> list[Any]:
    return [yaml.safe_load(block) for block in re.findall(r"^```ya?ml\n(.*?)^```", markdown, re.M | re.S)]


def steps_using(node: Any, action: str) -> Iterator[dict[str, Any]]:
    """Every step (a mapping with `uses:`) in a YAML document whose `uses:` contains `action`."""
    if isinstance(node, dict):
        if action in str(node.get("uses", "")):
            yield node
        for value in node.values():
            yield from steps_using(value, action)
    elif isinstance(node, list):
        for value in node:
            yield from steps_using(value, action)


def our_steps(markdown: str) -> list[dict[str, Any]]:
    return [step for doc in yaml_blocks(markdown) for step in steps_using(doc, "/wait-and-dispatch")]


@pytest.mark.parametrize(("doc", "text"), [("README.md", README), ("docs/MIGRATION.md", MIGRATION)])
def test_examples_use_only_inputs_the_action_has_under_their_current_names(doc: str, text: str) -> None:
    steps = our_steps(text)
    assert steps, f"{doc} shows no step that uses the action"
    for step in steps:
        assert re.fullmatch(rf"{re.escape(ACTION_REPOSITORY)}(/composite)?@v\d+", step["uses"])
        unknown = set(step.get("with", {})) - set(INPUT_NAMES)
        assert not unknown, f"{doc}: {step['uses']} has no input {sorted(unknown)}"


# --- actionlint ----------------------------------------------------------------------------------


def dev_actionlint_files() -> list[str]:
    """The files `dev.py lint` gives actionlint, so this test lints exactly the same ones."""
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    return cast(list[str], dev.actionlint_files())


def test_workflows_pass_actionlint() -> None:
    files = dev_actionlint_files()
    assert ".github/workflows/ci.yml" in files and "README.md" in files
    result = subprocess.run(
        [*actionlint_command(), *files], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # ci.yml and the README's example at least: a Markdown example that stopped being found
    # (its fence or its `jobs:` changed) would otherwise go unlinted without a word.
    linted = re.search(r"actionlint: (\d+) workflow", result.stdout)
    assert linted and int(linted[1]) >= 2, result.stdout


def test_actionlint_reports_a_broken_workflow_with_its_position(tmp_path: Path) -> None:
    broken = tmp_path / "broken.md"
    broken.write_text(
        "Text.\n\n```yaml\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.no_such_property }}\n```\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [*actionlint_command(), str(broken)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    # Line 9 of the Markdown file: the block's 6th line, after the 3 lines before it.
    assert re.match(rf"{re.escape(str(broken))}:9:\d+: .*no_such_property.* \[expression\]$", result.stdout)


def test_lint_mjs_extracts_the_workflows_it_lints_for_zizmor(tmp_path: Path) -> None:
    # `dev.py lint` runs zizmor on what --extract writes: the same workflows actionlint sees.
    doc = tmp_path / "doc.md"
    workflow = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n"
    doc.write_text(
        f"Text.\n\n```yaml\n{workflow}```\n\nA step, not a workflow:\n\n```yaml\n- run: echo\n```\n",
        encoding="utf-8",
    )
    out = tmp_path / "extracted"
    result = subprocess.run(
        [*actionlint_command(), "--extract", str(out), str(doc)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)
    assert entry == {"path": str(out / "0.yml"), "file": str(doc), "lineOffset": 3}
    assert (out / "0.yml").read_text(encoding="utf-8") == workflow


# The action's credentials. On the command line the token comes from the environment (GH_TOKEN,
# GITHUB_TOKEN, gh); a GitHub App's private key is never an option, where `ps` would show it.
CREDENTIAL_INPUTS = ("github-token", "app-id", "app-private-key", "app-installation-owner")


def test_every_input_has_a_cli_option_and_is_read_by_the_code() -> None:
    import argparse

    from wait_and_dispatch.action import main as action
    from wait_and_dispatch.cli.parser import PLAN_OPTIONS, build_parser
    from wait_and_dispatch.session import plan_step
    from wait_and_dispatch.step import credentials, run, settings
    from wait_and_dispatch.step.catalogue import INPUTS

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run_options = {flag for a in commands.choices["run"]._actions for flag in a.option_strings}
    plan_options = {flag for a in commands.choices["plan"]._actions for flag in a.option_strings}
    code = "".join(
        Path(str(module.__file__)).read_text() for module in (settings, run, action, plan_step, credentials)
    )
    for item in INPUTS:
        if item.cli:
            assert f"--{item.name}" in run_options, item.name
        elif item.name not in CREDENTIAL_INPUTS:  # credentials come from the environment, never an option
            assert item.name in PLAN_OPTIONS, f"input {item.name} has no command-line equivalent"
            option = PLAN_OPTIONS[item.name]
            assert option == "FILE" or option in plan_options, item.name
        assert f'"{item.name}"' in code, f"input {item.name} is read by none of step, plan_step, action"


def job_command_flags() -> dict[str, set[str]]:
    """The option strings of `run`, `checks` and `download`, read from the parser itself."""
    import argparse

    from wait_and_dispatch.cli.parser import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: {flag for action in commands.choices[name]._actions for flag in action.option_strings}
        for name in ("run", "checks", "download")
    }


# The job commands' options that are no action input: the command line's own.
COMMAND_LINE_ONLY = {
    "-h",
    "--help",
    "--debug",
    "-q",
    "--quiet",
    "--input",  # one workflow input, added to --inputs
    "--artifact",  # one artifact, added to --artifacts
    "--insecure-http",
    "--json",
    "-R",  # gh's spellings of --repository
    "--repo",
}


def test_the_job_commands_options_are_the_catalogues_inputs_and_the_command_lines_own() -> None:
    from wait_and_dispatch.cli.parser import job_inputs

    for command, flags in job_command_flags().items():
        expected = set()
        for name in job_inputs(command):
            expected.add(f"--{name}")
            if find_input(name).default in ("true", "false"):  # a flag, with its --no- form
                expected.add(f"--no-{name}")
        assert flags - COMMAND_LINE_ONLY == expected, command


def test_the_command_line_takes_none_of_the_peer_actions_names() -> None:
    # The peers' names let a workflow step move here by renaming `uses:`; a command line has no
    # step to move, so each input has one option. gh's `--repo` is the repository, as `repo` is.
    for command, flags in job_command_flags().items():
        taken = sorted(alias.name for alias in ALIASES if f"--{alias.name}" in flags and alias.name != "repo")
        assert not taken, f"{command} takes the peers' names {taken}"
