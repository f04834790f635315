"""The action with `plan:`: the whole plan from one step, outputs per node, a summary with the
graph, one annotation per plan problem on its line, one node run alone (`plan-node`), and a
cancelled step cancelling what the plan started."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from tests.edges.test_action import ENTRYPOINT, StartStep, Step, start_step  # noqa: F401 - start_step is a fixture
from tests.support.small_plan import dispatched_workflows, small_scenario, write_plan


def plan_step(start_step: StartStep, **scenario: str) -> Step:  # noqa: F811 - the fixture's value
    step = start_step(small_scenario(**scenario))
    step.env["INPUT_PLAN"] = str(write_plan(step.folder))
    step.env.pop("INPUT_PATH")
    step.env["GITHUB_REF_NAME"] = "main"
    return step


def test_a_plan_runs_from_one_step_with_each_nodes_outputs(start_step: StartStep) -> None:  # noqa: F811
    step = plan_step(start_step).run()
    assert step.returncode == 0, step.stdout
    outputs = step.outputs
    assert outputs["conclusion"] == "success"
    nodes = json.loads(outputs["nodes"])
    assert {name: node["result"] for name, node in nodes.items()} == {
        "build": "success",
        "test": "success",
        "report": "success",
    }
    assert nodes["build"]["outputs"]["run-url"].startswith("http")
    assert "[build] " in step.stdout and "[report] " in step.stdout
    assert "```mermaid" in step.summary and "| Node | Result |" in step.summary


def test_a_failed_node_fails_the_step_after_writing_the_outputs(start_step: StartStep) -> None:  # noqa: F811
    step = plan_step(start_step, test_conclusion="failure").run()
    assert step.returncode == 1, step.stdout
    assert step.outputs["conclusion"] == "failure"
    assert json.loads(step.outputs["nodes"])["report"]["result"] == "success"  # if: always()
    (error,) = step.commands("error")
    assert "test" in error.message


def test_each_plan_problem_is_an_annotation_on_its_line(start_step: StartStep) -> None:  # noqa: F811
    step = plan_step(start_step)
    plan = Path(step.env["INPUT_PLAN"])
    plan.write_text(
        "nodes:\n  a:\n    workflow: a.yml\n    needs: [zz]\n  b:\n    checks: [x]\n    timout: 1m\n"
    )
    step.run()
    assert step.returncode == 2
    annotations = [c for c in step.commands("error") if c.properties.get("title") == "Invalid plan"]
    assert sorted(int(a.properties["line"]) for a in annotations) == [4, 7]
    assert all(a.properties["file"] == str(plan) for a in annotations)
    assert step.outputs == {}


def test_plan_node_runs_one_node_with_the_needs_it_is_given(start_step: StartStep) -> None:  # noqa: F811
    step = plan_step(start_step)
    step.env["INPUT_PLAN-NODE"] = "test"
    step.env["INPUT_PLAN-NEEDS"] = json.dumps({"build": {"result": "success", "outputs": {"run-id": "4242"}}})
    step.run()
    assert step.returncode == 0, step.stdout
    dispatches = [w for w in step.emulator.writes() if w.path.endswith("/dispatches")]
    assert dispatched_workflows(step.emulator) == ["test.yml"]
    assert dispatches[0].body["inputs"]["build_run"] == "4242"
    assert step.outputs["conclusion"] == "success" and step.outputs["run-id"]


def test_plan_dry_run_sends_no_write(start_step: StartStep) -> None:  # noqa: F811
    step = plan_step(start_step)
    step.env["INPUT_DRY-RUN"] = "true"
    step.run()
    assert step.returncode == 0, step.stdout
    assert step.emulator.writes() == []
    assert "Plan Small pipeline: dry run" in step.summary


def test_cancelling_the_step_cancels_the_runs_the_plan_dispatched(start_step: StartStep) -> None:  # noqa: F811
    scenario = small_scenario()
    scenario["repos"]["octo/app"]["workflows"][0]["timeline"] = {"queued": 0, "duration": 600}
    step = start_step(scenario)
    step.env["INPUT_PLAN"] = str(write_plan(step.folder))
    process = subprocess.Popen(
        ENTRYPOINT, env=step.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 30
    while not dispatched_workflows(step.emulator):
        assert time.monotonic() < deadline, "the plan never dispatched"
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 130, stdout
    assert dispatched_workflows(step.emulator) == ["build.yml"]  # nothing started after the signal
    cancels = [w.path for w in step.emulator.writes() if w.path.endswith("/cancel")]
    assert len(cancels) == 1
    assert "the plan was cancelled; cancelled the runs it dispatched" in stdout


def test_plan_flags_are_read_like_every_other_flag(start_step: StartStep) -> None:  # noqa: F811
    step = plan_step(start_step)
    step.env["INPUT_DRY-RUN"] = "maybe"
    step.run()
    assert step.returncode == 2
    assert "dry-run must be true or false, not 'maybe'" in step.stdout
    assert step.emulator.writes() == []
