"""A small plan and the scenario it drives, in real time (runs of seconds), for the edges' tests:
build -> test -> report (always), with the test run getting the build's run id as an input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.edges.test_action import fast_scenario
from wait_and_dispatch.emulator import Emulator

WORKFLOW_IDS = {"build.yml": 101, "test.yml": 102, "report.yml": 103}

PLAN = """\
name: Small pipeline
repository: octo/app
defaults:
  timeout: 1m
  correlation-input: correlation_id
  poll-interval: 0.3s
  max-poll-interval: 0.5s
nodes:
  build:
    name: Build
    workflow: build.yml
    artifacts: [package]
  test:
    workflow: test.yml
    needs: [build]
    inputs:
      build_run: ${{ needs.build.outputs.run-id }}
  report:
    workflow: report.yml
    needs: [test]
    if: always()
"""


def small_scenario(*, test_conclusion: str = "success") -> dict[str, Any]:
    scenario = fast_scenario(timeline={"queued": 0, "duration": 1})
    workflows = scenario["repos"]["octo/app"]["workflows"]
    build = workflows[0]
    test = copy.deepcopy(build)
    test.update(
        path=".github/workflows/test.yml",
        name="Test",
        run_name="Test [${{ inputs.correlation_id }}]",
        conclusion=test_conclusion,
        artifacts=[],
    )
    test["inputs"] = {"correlation_id": {"type": "string"}, "build_run": {"type": "string", "required": True}}
    report = copy.deepcopy(build)
    report.update(path=".github/workflows/report.yml", name="Report", artifacts=[])
    report["run_name"] = "Report [${{ inputs.correlation_id }}]"
    report["inputs"] = {"correlation_id": {"type": "string"}}
    workflows += [test, report]
    for workflow, workflow_id in zip(workflows, WORKFLOW_IDS.values(), strict=True):
        workflow["id"] = workflow_id
    return scenario


def dispatched_workflows(emulator: Emulator) -> list[str]:
    """The file names of the workflows dispatched, in order (the engine dispatches by file name
    when it was given one, else by id)."""
    names = {str(workflow_id): name for name, workflow_id in WORKFLOW_IDS.items()}
    names.update({name: name for name in WORKFLOW_IDS})
    return [
        names[w.path.split("/")[-2]]
        for w in emulator.writes()
        if w.path.endswith("/dispatches") and w.status < 300
    ]


def write_plan(folder: Path, text: str = PLAN) -> Path:
    path = folder / "pipeline.yml"
    path.write_text(text, encoding="utf-8")
    return path
