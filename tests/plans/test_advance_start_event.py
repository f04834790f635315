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
