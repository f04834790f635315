"""Advance mode: the example plans run event by event with GitHub as the only state, and end as the
waiting executor ends them (every node once, the same skips, the same values between nodes, the
same conclusion)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.examples.advance_harness import Advanced, AdvanceHarness
from tests.examples.conftest import Example, Runner
from tests.examples.test_001_model_training import set_metrics
from wait_and_dispatch.plans.advance import GitRefStore, plan_key, read_instances
from wait_and_dispatch.plans.executor import plan_error
from wait_and_dispatch.plans.model import NodeResult


@pytest.fixture
def harnesses(tmp_path: Path) -> Iterator[list[AdvanceHarness]]:
    made: list[AdvanceHarness] = []
    yield made
    for harness in made:
        harness.close()


def advance(
    example: Example,
    tmp_path: Path,
    made: list[AdvanceHarness],
    *,
    environment: str | None = None,
    variables: Mapping[str, str] | None = None,
    ref: str | None = None,
) -> Advanced:
    workdir = tmp_path / f"advance-{len(made)}"
    harness = AdvanceHarness(
        example.scenario, example.plan_path, workdir, environment=environment, variables=variables, ref=ref
    )
    made.append(harness)
    return harness.run()


def same_as_waiting(
    ran: Advanced,
    waiting: Runner,
    example: Example,
    *,
    environment: str | None = None,
    variables: Mapping[str, str] | None = None,
    ref: str | None = None,
) -> None:
    """The advance run ends as the waiting executor's run of the same example."""
    waited = waiting(example, environment=environment, variables=variables, ref=ref)
    assert ran.results() == waited.results()
    assert ran.result.conclusion is waited.result.conclusion
    advance_error, waiting_error = plan_error(ran.result), plan_error(waited.result)
    assert (advance_error and advance_error.exit_code) == (waiting_error and waiting_error.exit_code)
    assert sorted(waited.workflow_file(r) for r in ran.dispatch_requests()) == waited.dispatched()


def test_seed_000_runs_every_node_once_as_the_waiting_executor_does(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("000-docker-image-chain")
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)
    assert ran.results() == dict.fromkeys(["base", "ci", "deploy", "test", "lint"], "success")
    # Values between nodes: ci and deploy got the base image's run id.
    base_run = ran.outcome("base").outputs["run-id"]
    inputs = [json.loads(json.dumps(r.body))["inputs"] for r in ran.dispatch_requests()]
    assert sum(1 for i in inputs if i.get("base_run_id") == base_run) == 2
    # The test results were downloaded by the invocation that recorded the run.
    assert ran.outcome("test").outputs["download-path"]


def test_every_orchestrator_run_is_short_and_there_are_at_most_nodes_plus_two(
    tmp_path: Path, harnesses: list[AdvanceHarness]
) -> None:
    ran = advance(Example("000-docker-image-chain"), tmp_path, harnesses)
    assert len(ran.of_the_instance) <= len(ran.plan.nodes) + 2
    # A small number of counted requests per event, whatever the plan's size.
    assert max(i.counted for i in ran.invocations) <= 30


@pytest.mark.parametrize("mode", ["app-change", "pull-request", "manual-base", "manual-ci"])
def test_seed_000_modes_skip_as_the_waiting_executor_does(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mode: str
) -> None:
    example = Example("000-docker-image-chain")
    ran = advance(example, tmp_path, harnesses, variables={"mode": mode})
    same_as_waiting(ran, run_example, example, variables={"mode": mode})


def test_seed_000_a_failed_base_image_skips_the_rest_and_fails_the_plan(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("000-docker-image-chain")
    example.workflow("build-base.yml")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)
    assert ran.result.conclusion is NodeResult.FAILURE
    error = plan_error(ran.result)
    assert error is not None and int(error.exit_code) == 1


def test_seed_000_a_failed_ci_image_skips_test_and_lint_and_deploy_goes_on(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("000-docker-image-chain")
    example.workflow("build-ci.yml")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)
    assert ran.results()["deploy"] == "success"


def test_seed_001_trains_three_attempts_collects_and_deploys_the_best(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("001-model-training")
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)
    selected = json.loads(ran.outcome("aggregate").outputs["result"])["selected"]
    deploys = [r for r in ran.dispatch_requests() if "deploy" in r.path]
    assert [json.loads(json.dumps(r.body))["inputs"]["model_run_id"] for r in deploys] == [
        str(selected["run-id"])
    ]


def test_seed_001_a_failed_data_qa_skips_everything_after_it(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("001-model-training")
    example.workflow("data-qa.yaml")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)


def test_seed_001_a_failed_attempt_leaves_the_others_to_aggregate(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("001-model-training")
    example.case("train.yml", "inputs.attempt == 2")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)
    assert ran.outcome("train-2").allowed_failure
    assert ran.result.conclusion is NodeResult.SUCCESS


def test_seed_001_no_attempt_passing_the_gate_fails_the_plan_and_skips_deploy(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("001-model-training")
    for attempt, dice, iou in ((1, 0.9012, 0.8611), (2, 0.9068, 0.8702)):
        set_metrics(example, attempt, dice=dice, iou=iou)
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)
    assert ran.outcome("aggregate").reason.startswith("quality gate failed: ")


def test_seed_003_report_runs_whatever_happened(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("003-gitops-demo")
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)


def test_seed_003_quick_mode_skips_the_demo(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("003-gitops-demo")
    ran = advance(example, tmp_path, harnesses, variables={"demo_mode": "quick"})
    same_as_waiting(ran, run_example, example, variables={"demo_mode": "quick"})
    assert ran.results()["demo"] == "skipped"


@pytest.mark.parametrize("ref", ["pull-request/123", "main"])
def test_seed_002_the_checks_node_waits_in_the_invocation_that_makes_it_ready(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, ref: str
) -> None:
    """The required check cannot be an event of its own: its node is the short waiting job."""
    example = Example("002-required-backend-check")
    ran = advance(example, tmp_path, harnesses, ref=ref)
    same_as_waiting(ran, run_example, example, ref=ref)
    assert ran.results()["backend-status-check"] == "success"
    started = ran.invocations[0].report.advanced[0]
    assert any(line.startswith("backend-status-check: 12 checks passed") for line in started.lines)


@pytest.mark.parametrize(("environment", "ref"), [("dev", "develop"), ("test", "main"), ("prd", "main")])
def test_seed_004_finds_the_pushed_runs_and_dispatches_the_rest_per_environment(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, environment: str, ref: str
) -> None:
    example = Example("004-orchestrator-per-environment")
    ran = advance(example, tmp_path, harnesses, environment=environment, ref=ref)
    same_as_waiting(ran, run_example, example, environment=environment, ref=ref)
    assert len(ran.of_the_instance) <= len(ran.plan.nodes) + 2


def test_seed_004_a_python_failure_skips_terraform_only(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner
) -> None:
    example = Example("004-orchestrator-per-environment")
    example.workflow("python-dev.yml")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses, environment="dev", ref="develop")
    same_as_waiting(ran, run_example, example, environment="dev", ref="develop")
    assert ran.results()["terraform"] == "skipped"


@pytest.mark.parametrize("failing", ["test.yml", "build.yml"])
def test_seed_003_a_failure_is_still_reported_and_fails_the_plan(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, failing: str
) -> None:
    example = Example("003-gitops-demo")
    example.workflow(failing)["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses)
    same_as_waiting(ran, run_example, example)
    assert ran.results()["report"] == "success"
    assert ran.result.conclusion is NodeResult.FAILURE


def test_the_instance_leaves_no_live_refs_once_over(tmp_path: Path, harnesses: list[AdvanceHarness]) -> None:
    example = Example("003-gitops-demo")
    ran = advance(example, tmp_path, harnesses)
    harness = harnesses[-1]
    with harness.api() as api:
        store = GitRefStore(api, harness.repo)
        assert read_instances(store.matching("wait-and-dispatch/"), plan_key(ran.plan)) == {}
        assert len(store.matching(f"wait-and-dispatch/ended/{plan_key(ran.plan)}/")) == 1


def test_a_run_of_no_instance_is_nothing_to_do(tmp_path: Path, harnesses: list[AdvanceHarness]) -> None:
    example = Example("000-docker-image-chain")
    harness = AdvanceHarness(example.scenario, example.plan_path, tmp_path)
    harnesses.append(harness)
    invocation = harness.deliver({"id": 424242, "name": "Elsewhere", "status": "completed"})
    (report,) = invocation.report.advanced
    assert report.instance is None
    assert report.lines == ["run 424242 belongs to no instance of plan Docker images: nothing to do"]
    assert invocation.report.error is None


JOIN_PLAN = """\
name: Join
repository: octo/app
ref: main
defaults:
  dispatch: always  # every instance its own runs (if-missing would reuse the last instance's)
nodes:
  a:
    workflow: a.yml
  b:
    workflow: b.yml
  join:
    workflow: join.yml
    needs: [a, b]
    inputs:
      a_run: ${{ needs.a.outputs.run-id }}
      b_run: ${{ needs.b.outputs.run-id }}
"""


def join_scenario() -> dict[str, Any]:
    """Two workflows that take exactly as long, and a third that needs both."""

    def workflow(name: str, *inputs: str) -> dict[str, Any]:
        return {
            "path": f".github/workflows/{name}.yml",
            "name": name,
            "on": ["workflow_dispatch"],
            "run_name": f"{name} [${{{{ inputs.distinct_id }}}}]",
            "inputs": {key: {"type": "string"} for key in ("distinct_id", *inputs)},
            "timeline": {"queued": 5, "duration": 60},
            "conclusion": "success",
        }

    return {
        "options": {"return_run_details": True},
        "tokens": {},
        "repos": {
            "octo/app": {
                "private": True,
                "default_branch": "main",
                "branches": {"main": "a" * 40},
                "workflows": [workflow("a"), workflow("b"), workflow("join", "a_run", "b_run")],
            }
        },
    }


def test_two_completions_at_the_same_moment_dispatch_the_node_they_free_once(
    tmp_path: Path, harnesses: list[AdvanceHarness]
) -> None:
    """50 times: a and b complete together, their two orchestrator runs advance the instance at the
    same moment, and join (which needs both) is dispatched once, by one of them."""
    plan_path = tmp_path / "join.yml"
    plan_path.write_text(JOIN_PLAN, encoding="utf-8")
    harness = AdvanceHarness(join_scenario(), plan_path, tmp_path / "work")
    harnesses.append(harness)
    repetitions = 50
    for _ in range(repetitions):
        started = harness.start().report.advanced[0]
        assert set(started.dispatched) == {"a", "b"}
        harness.clock.advance(120)
        with harness.api() as api:
            runs = [
                api.get(f"{harness.repo.api_path}/actions/runs/{started.dispatched[name]}").data
                for name in ("a", "b")
            ]
        assert all(run["status"] == "completed" for run in runs)
        barrier = threading.Barrier(2)

        def deliver(run: dict[str, Any], barrier: threading.Barrier = barrier) -> list[str]:
            barrier.wait()
            invocation = harness.deliver(run)
            return [node for report in invocation.report.advanced for node in report.dispatched]

        with ThreadPoolExecutor(max_workers=2) as pool:
            dispatched = [node for nodes in pool.map(deliver, runs) for node in nodes]
        assert dispatched == ["join"], dispatched
    joins = [r for r in harness.advanced.dispatch_requests() if "/join.yml/" in r.path]
    assert len(joins) == repetitions
    # The race was real: both found join ready, and the ref let one of them have it.
    lines = [line for i in harness.advanced.invocations for r in i.report.advanced for line in r.lines]
    assert lines.count("join: taken by another invocation") > 0
