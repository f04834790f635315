"""`plan --advance` refuses what would make advance mode do the wrong thing without a word, before
anything runs or is written (plans/advance_guards.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.action_release import serving_the_release
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator

PLAN = """\
name: Chain
repository: octo/app
on:
  workflow_dispatch:
  workflow_run:
    workflows: [Release train, Build it]
    types: [completed]
nodes:
  build:
    workflow: build.yml
  deploy:
    workflow: Deploy
    needs: [build]
"""

WORKFLOW = """\
name: {name}
on:
  workflow_dispatch:
jobs:
  a:
    runs-on: ubuntu-latest
    steps: [{{run: 'true'}}]
"""


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def release(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An API serving the action's release tag, which --emit-workflow pins `uses:` to."""
    with serving_the_release(monkeypatch) as emulator:
        yield emulator


def chain(tmp_path: Path, plan: str = PLAN) -> tuple[Path, Path]:
    """The plan file and its workflows folder: build.yml is named "Build it"."""
    workflows = tmp_path / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "build.yml").write_text(WORKFLOW.format(name="Build it"), encoding="utf-8")
    path = tmp_path / "plan.yml"
    path.write_text(plan, encoding="utf-8")
    return path, workflows


def test_check_refuses_a_start_trigger_that_is_a_nodes_workflow_on_its_line(tmp_path: Path) -> None:
    plan, workflows = chain(tmp_path)
    code, out, err = cli("plan", str(plan), "--check", "--advance", "--workflows-dir", str(workflows))
    assert (code, out) == (2, "")
    assert (
        f"{plan}:6:32: on.workflow_run.workflows: the plan starts on the completion of 'Build it', but "
        "node build runs it: in advance mode each completion would start the plan again"
    ) in err
    assert "hint: start the plan on another workflow's completion" in err


def test_check_refuses_a_start_trigger_that_a_node_names_by_its_name(tmp_path: Path) -> None:
    plan, _ = chain(tmp_path, PLAN.replace("[Release train, Build it]", "[Deploy]"))
    code, _, err = cli("plan", str(plan), "--check", "--advance", "--workflows-dir", str(tmp_path / "none"))
    assert code == 2
    assert "the completion of 'Deploy', but node deploy runs it" in err


def test_check_refuses_a_plan_that_starts_on_its_own_advance_orchestrator(tmp_path: Path) -> None:
    plan, workflows = chain(
        tmp_path, PLAN.replace("[Release train, Build it]", "[Orchestrator Chain advance]")
    )
    code, _, err = cli("plan", str(plan), "--check", "--advance", "--workflows-dir", str(workflows))
    assert code == 2
    assert "'Orchestrator Chain advance', but it is the advance orchestrator itself" in err


def test_waiting_mode_and_other_start_triggers_are_not_refused(tmp_path: Path) -> None:
    plan, workflows = chain(tmp_path)
    code, _, err = cli("plan", str(plan), "--check", "--workflows-dir", str(workflows))
    assert code == 0, err
    other, _ = chain(tmp_path / "other", PLAN.replace(", Build it]", "]"))
    code, _, err = cli("plan", str(other), "--check", "--advance", "--workflows-dir", str(workflows))
    assert code == 0, err


def test_emit_workflow_advance_refuses_it_and_writes_nothing(tmp_path: Path, release: Emulator) -> None:
    plan, workflows = chain(tmp_path)
    output = tmp_path / "out"
    code, out, err = cli(
        "plan", str(plan), "--emit-workflow", "--advance", "--output-dir", str(output),
        "--workflows-dir", str(workflows),
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert "node build runs it" in err
    assert not output.exists()


def test_advance_refuses_it_before_reading_the_event(tmp_path: Path) -> None:
    plan, workflows = chain(tmp_path)
    code, _, err = cli("plan", str(plan), "--advance", "--workflows-dir", str(workflows))
    assert code == 2
    assert "node build runs it" in err and "GITHUB_EVENT_NAME" not in err


@pytest.mark.parametrize(
    ("content", "why"),
    [(None, "not found in"), ("on: [workflow_dispatch\n", "cannot be read as YAML")],
)
def test_emit_workflow_advance_refuses_a_node_workflow_whose_name_cannot_be_read(
    tmp_path: Path, release: Emulator, content: str | None, why: str
) -> None:
    # workflow_run matches names, not paths: listening to the file's path would never fire.
    plan, workflows = chain(tmp_path, PLAN.replace("[Release train, Build it]", "[Release train]"))
    (workflows / "build.yml").unlink()
    if content is not None:
        (workflows / "build.yml").write_text(content, encoding="utf-8")
    output = tmp_path / "out"
    code, out, err = cli(
        "plan", str(plan), "--emit-workflow", "--advance", "--output-dir", str(output),
        "--workflows-dir", str(workflows),
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert f"error: node build: its workflow {workflows / 'build.yml'} {why}" in err
    assert "hint: give the workflow a `name:` or make the file readable" in err
    assert not output.exists()


@pytest.mark.parametrize("advance", [[], ["--advance"]])
def test_emit_workflow_writes_the_plans_path_from_the_repository_root(
    tmp_path: Path, release: Emulator, monkeypatch: pytest.MonkeyPatch, advance: list[str]
) -> None:
    # Run from a folder below the root (or given absolute), the path as given names no file in the
    # orchestrator's checkout.
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    plan, workflows = chain(checkout / "ci", PLAN.replace("[Release train, Build it]", "[Release train]"))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.chdir(checkout / "ci")
    argv = ["--emit-workflow", *advance, "--output-dir", "-", "--workflows-dir", str(workflows)]
    for given in ("plan.yml", str(plan)):
        code, out, err = cli("plan", given, *argv)
        assert code == 0, err
        assert "# Generated from ci/plan.yml\n" in out
        assert ("          plan: ci/plan.yml\n" in out) is bool(advance)  # the waiting one: collect nodes


def test_check_refuses_a_workflow_run_start_on_other_types_than_completed(tmp_path: Path) -> None:
    # The advance orchestrator's one workflow_run trigger is written `types: [completed]`.
    plan, workflows = chain(tmp_path, PLAN.replace(", Build it]", "]").replace("[completed]", "[requested]"))
    code, _, err = cli("plan", str(plan), "--check", "--advance", "--workflows-dir", str(workflows))
    assert code == 2
    assert f"{plan}:7:12: on.workflow_run.types: in advance mode the plan starts on a workflow_run " in err


def test_emit_workflow_advance_leaves_the_plans_branch_filter_to_the_advance_step(
    tmp_path: Path, release: Emulator
) -> None:
    # On the trigger it would filter the nodes' completions too: nodes run on main would never
    # advance a plan that starts after release branches' runs.
    filtered = PLAN.replace("[Release train, Build it]", "[Release train]\n    branches: [release/*]")
    plan, workflows = chain(tmp_path, filtered)
    argv = ["--emit-workflow", "--advance", "--output-dir", "-", "--workflows-dir", str(workflows)]
    code, out, err = cli("plan", str(plan), *argv)
    assert code == 0, err
    emitted = yaml.safe_load(out)
    assert emitted[True]["workflow_run"] == {
        "workflows": ["Release train", "Build it"],
        "types": ["completed"],
    }
    assert "# The plan's own workflow_run branch filter is applied by the advance step" in out


def test_check_refuses_a_plan_that_starts_on_another_plans_advance_orchestrator(tmp_path: Path) -> None:
    # It completes once per event of its plan: each of those would start this plan.
    chained = PLAN.replace("[Release train, Build it]", "[Orchestrator Build (test) advance]")
    plan, workflows = chain(tmp_path, chained)
    code, _, err = cli("plan", str(plan), "--check", "--advance", "--workflows-dir", str(workflows))
    assert code == 2
    assert (
        "'Orchestrator Build (test) advance', but that is an advance orchestrator, which completes once "
        "per event of its plan"
    ) in err
