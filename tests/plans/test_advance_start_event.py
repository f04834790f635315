"""Which `workflow_run` of a workflow the plan starts on is a start in advance mode: its
completion only, as the advance orchestrator listens (session/advance.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.session.advance import read_event

PLAN = """\
name: Chain
repository: octo/app
on:
  workflow_run:
    workflows: [Release train]
nodes:
  build:
    workflow: build.yml
"""


def event(tmp_path: Path, action: str) -> dict[str, str]:
    path = tmp_path / "event.json"
    payload = {"action": action, "workflow_run": {"id": 5}, "workflow": {"name": "Release train"}}
    path.write_text(json.dumps(payload), encoding="utf-8")
    return {
        "GITHUB_EVENT_NAME": "workflow_run",
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_RUN_ID": "777",
    }


@pytest.mark.parametrize("action", ["requested", "in_progress"])
def test_a_start_workflows_run_that_did_not_complete_starts_nothing(tmp_path: Path, action: str) -> None:
    (tmp_path / "plan.yml").write_text(PLAN, encoding="utf-8")
    read = read_event(event(tmp_path, action), load_plan(tmp_path / "plan.yml"))
    assert not read.starts
    assert read.ignored == f"workflow_run {action!r} is not a completion"


def test_a_start_workflows_completed_run_starts_and_is_kept_as_the_trigger(tmp_path: Path) -> None:
    (tmp_path / "plan.yml").write_text(PLAN, encoding="utf-8")
    read = read_event(event(tmp_path, "completed"), load_plan(tmp_path / "plan.yml"))
    assert (read.starts, read.trigger_run) == (True, 5)


@pytest.mark.parametrize(
    ("branch_filter", "branch", "starts"),
    [
        ("branches: [release/*]", "release/2", True),
        ("branches: [release/*]", "main", False),
        ("branches: [release/*]", "release/2/hotfix", False),  # `*` stops at `/`
        ("branches: ['release/**', '!release/old/**']", "release/old/1", False),
        ("branches: ['release/**', '!release/old/**', release/old/keep]", "release/old/keep", True),
        ("branches-ignore: [dependabot/**]", "dependabot/pip/x", False),
        ("branches-ignore: [dependabot/**]", "main", True),
    ],
)
def test_the_plans_own_branch_filter_is_applied_to_its_start(
    tmp_path: Path, branch_filter: str, branch: str, starts: bool
) -> None:
    # The orchestrator's trigger cannot carry it: it would filter the nodes' completions too.
    plan = PLAN.replace("[Release train]\n", f"[Release train]\n    {branch_filter}\n")
    (tmp_path / "plan.yml").write_text(plan, encoding="utf-8")
    environ = event(tmp_path, "completed")
    payload = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
    payload["workflow_run"]["head_branch"] = branch
    Path(environ["GITHUB_EVENT_PATH"]).write_text(json.dumps(payload), encoding="utf-8")
    read = read_event(environ, load_plan(tmp_path / "plan.yml"))
    assert read.starts is starts
    if not starts:
        assert (
            read.ignored
            == f"a run of Release train on {branch}, which the plan's on.workflow_run branches leave out"
        )
