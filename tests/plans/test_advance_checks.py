"""Which workflows carry a checks node's checks, inferred from the job names of the repository's
workflow files (plans/advance_checks.py `infer`): only when every check the node names is a job's."""

from __future__ import annotations

from pathlib import Path

from wait_and_dispatch.engine.workflow_file import JobNames, parse_workflow_jobs
from wait_and_dispatch.plans.advance_checks import infer, read_workflow_folder
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import PlanNode

CI = """\
name: CI
on: push
jobs:
  lint:
    runs-on: ubuntu-latest
    steps: [{run: 'true'}]
  build:
    strategy: {matrix: {python: ['3.11', '3.12']}}
    runs-on: ubuntu-latest
    steps: [{run: 'true'}]
"""
DEPLOY = """\
name: Deploy
on: push
jobs:
  smoke:
    name: smoke ${{ github.ref_name }}
    runs-on: ubuntu-latest
    steps: [{run: 'true'}]
"""


def jobs(text: str) -> tuple[JobNames, ...]:
    parsed = parse_workflow_jobs(text)
    assert parsed is not None
    return parsed


WORKFLOWS = {"ci.yml": jobs(CI), "deploy.yml": jobs(DEPLOY)}


def node(tmp_path: Path, keys: str) -> PlanNode:
    (tmp_path / "plan.yml").write_text(f"name: p\nnodes:\n  gate: {{{keys}}}\n", encoding="utf-8")
    return load_plan(tmp_path / "plan.yml").nodes["gate"]


def test_named_checks_that_are_jobs_are_carried_by_their_workflows(tmp_path: Path) -> None:
    gate = node(tmp_path, "checks: [lint, 'build (3.12)', smoke main]")
    # A matrix job's name gets its values; an expression in a job's name stands for any text.
    assert infer(gate, WORKFLOWS) == (("ci.yml", "deploy.yml"), "")


def test_a_named_check_that_no_job_reports_leaves_the_node_a_waiting_job(tmp_path: Path) -> None:
    gate = node(tmp_path, "checks: [lint, DCO]")
    assert infer(gate, WORKFLOWS) == ((), "no job of a workflow is named DCO: another app may report it")


def test_a_regex_or_every_check_is_never_inferred(tmp_path: Path) -> None:
    assert infer(node(tmp_path, "checks-regex: '^lint'"), WORKFLOWS)[0] == ()
    assert infer(node(tmp_path, "checks: [lint], checks-regex: '^build'"), WORKFLOWS)[0] == ()


def test_an_unreadable_workflow_or_unknown_workflows_leave_the_node_a_waiting_job(tmp_path: Path) -> None:
    gate = node(tmp_path, "checks: [lint]")
    assert infer(gate, {**WORKFLOWS, "broken.yml": None}) == ((), "broken.yml cannot be read as a workflow")
    assert infer(gate, None) == ((), "the repository's workflows cannot be listed")


def test_the_checkouts_workflow_folder_is_read_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text(CI, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a workflow", encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("jobs: [", encoding="utf-8")
    found = read_workflow_folder(tmp_path)
    assert found is not None
    assert sorted(found) == ["broken.yaml", "ci.yml"]
    assert found["broken.yaml"] is None
    assert read_workflow_folder(tmp_path / "none") is None
