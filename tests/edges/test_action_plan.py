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
from tests.examples.conftest import Example
from tests.examples.test_002_required_backend_check import on_a_busy_commit
from tests.support.small_plan import dispatched_workflows, small_scenario, write_plan
from wait_and_dispatch.github_api import GitHubApi


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
    error, *raised = step.commands("error")
    assert "test" in error.message
    assert raised and all(r.properties["title"].startswith("octo/app · ") for r in raised)


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


def test_seed_002s_plan_ends_its_check_after_the_last_build_on_a_busy_commit(start_step: StartStep) -> None:  # noqa: F811
    # The plan runs as pr.yaml's backend-status-check job: its run (from GITHUB_RUN_ID) and the
    # sibling dynamo-status-check stay in progress for ten minutes; the builds end 5 s in.
    example = on_a_busy_commit(Example("002-required-backend-check"), "main")
    for job in (j for w in example.repo["workflows"] for j in w["jobs"] if j["duration"] == 9):
        job.update({"start": 0, "duration": 5})
    for file in ("deploy-operator.yml", "deploy-test.yml", "cleanup.yml"):
        workflow = example.workflow(file)
        workflow["timeline"] = {"queued": 1, "duration": 2}
        workflow["jobs"][0]["duration"] = 2
    example.scenario["options"]["dispatch_visibility_delay"] = 0
    step = start_step(example.scenario)
    # The example's plan, polling every second instead of every 30 s.
    plan = example.plan_path.read_text(encoding="utf-8")
    plan = plan.replace("poll-interval: 30s", "poll-interval: 1s").replace(
        "max-poll-interval: 2m", "max-poll-interval: 2s"
    )
    (step.folder / "plan.yml").write_text(plan, encoding="utf-8")
    with GitHubApi(base_url=step.emulator.api_url, token=step.emulator.token("dev")) as api:
        runs = api.get("/repos/ai-dynamo/dynamo/actions/runs", {"head_sha": example.sha("main")}).data
        checks = api.get(f"/repos/ai-dynamo/dynamo/commits/{example.sha('main')}/check-runs").data
    own = next(run for run in runs["workflow_runs"] if run["path"].endswith("/pr.yaml"))
    own_check = next(
        c["id"]
        for c in checks["check_runs"]
        if c["name"] == "backend-status-check" and c["check_suite"]["id"] == own["check_suite_id"]
    )
    step.env.pop("INPUT_PATH")
    step.env.update(
        {
            "INPUT_PLAN": str(step.folder / "plan.yml"),
            "INPUT_REPOSITORY": "ai-dynamo/dynamo",
            "GITHUB_REPOSITORY": "ai-dynamo/dynamo",
            "GITHUB_SHA": example.sha("main"),
            "GITHUB_REF_NAME": "main",
            "GITHUB_RUN_ID": str(own["id"]),
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_JOB": "job1",  # backend-status-check, the first job of the emulator's pr.yaml
            # What the runner makes of action.yml's `${{ job.check_run_id }}` on github.com.
            "INPUT_IGNORE-CHECK-RUN": str(own_check),
        }
    )
    started = time.monotonic()

    step.run(timeout=90)

    assert step.returncode == 0, step.stdout
    assert time.monotonic() - started < 60  # not the ten minutes of the own run and the sibling
    nodes = json.loads(step.outputs["nodes"])
    assert {name: node["result"] for name, node in nodes.items()} == dict.fromkeys(
        (
            "backend-status-check",
            "deploy-operator",
            "cleanup",
            *(f"deploy-test-{f}" for f in ("vllm", "sglang", "trtllm")),
        ),
        "success",
    )
    assert f"not waiting for PR (run {own['id']}, pr.yaml), this job's own run: no job left" in step.stdout
    assert "not waiting for Container validation (dynamo)" in step.stdout
