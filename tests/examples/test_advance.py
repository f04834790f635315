"""Advance mode end to end: each example's plan run by an orchestrator whose every run (the start,
then one per completed node run, as `workflow_run` starts them) is the action's step with `plan:`
and `advance: true`, on a fresh machine; it ends as the waiting executor's run ends (every node
once, the same skips, the same values between nodes, the same conclusion and exit code)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pytest_mock import MockerFixture

from tests.examples.advance_harness import Advanced, AdvanceHarness, app_scenario, harnesses
from tests.examples.conftest import Example, Runner
from tests.examples.test_001_model_training import set_metrics
from wait_and_dispatch.plans.advance import SWEEP_PER_RUN
from wait_and_dispatch.plans.advance_refs import GitRefStore, plan_key, read_instances
from wait_and_dispatch.plans.executor import plan_error

__all__ = ["harnesses"]  # the fixture


def advance(
    example: Example,
    tmp_path: Path,
    made: list[AdvanceHarness],
    mocker: MockerFixture,
    *,
    environment: str | None = None,
    variables: Mapping[str, str] | None = None,
    ref: str | None = None,
) -> Advanced:
    workdir = tmp_path / f"advance-{len(made)}"
    harness = AdvanceHarness(
        example.scenario,
        example.plan_path,
        workdir,
        mocker.patch,
        environment=environment,
        variables=variables,
        ref=ref,
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
    """The advance run ends as the waiting executor's run of the same example, and takes at most
    one orchestrator run per node and two more."""
    waited = waiting(example, environment=environment, variables=variables, ref=ref)
    assert ran.results() == waited.results()
    assert ran.conclusion == waited.result.conclusion.value
    error = plan_error(waited.result)
    assert ran.exit_code == (int(error.exit_code) if error is not None else 0), ran.log(ran.final)
    assert sorted(waited.workflow_file(r) for r in ran.dispatch_requests()) == waited.dispatched()
    assert len(ran.of_the_instance) <= len(ran.plan.nodes) + 2


def test_seed_000_runs_every_node_once_as_the_waiting_executor_does(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = Example("000-docker-image-chain")
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert ran.results() == dict.fromkeys(["base", "ci", "deploy", "test", "lint"], "success")
    # Values between nodes: ci and deploy got the base image's run id.
    base_run = ran.nodes["base"]["outputs"]["run-id"]
    inputs = [json.loads(json.dumps(r.body))["inputs"] for r in ran.dispatch_requests()]
    assert sum(1 for i in inputs if i.get("base_run_id") == base_run) == 2
    # Each node's outputs as in waiting mode, the test results downloaded by the final run.
    assert ran.nodes["test"]["outputs"]["dispatched"] == "true"
    assert json.loads(ran.nodes["test"]["outputs"]["artifacts"])[0]["name"] == "test-results"
    # The last orchestrator run shows the plan's result in its summary.
    assert ran.final.summary.startswith("## ✅ Plan Docker images: success")


def test_no_orchestrator_run_waits_for_a_node_run(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    ran = advance(Example("000-docker-image-chain"), tmp_path, harnesses, mocker)
    # On the emulator's clock: the base image takes 15 minutes, the chain 30; each run seconds
    # (GitHub's one second between writes included).
    assert max(i.ended_at - i.started_at for i in ran.invocations) < 30


@pytest.mark.parametrize("mode", ["app-change", "pull-request", "manual-base", "manual-ci"])
def test_seed_000_modes_skip_as_the_waiting_executor_does(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture, mode: str
) -> None:
    example = Example("000-docker-image-chain")
    ran = advance(example, tmp_path, harnesses, mocker, variables={"mode": mode})
    same_as_waiting(ran, run_example, example, variables={"mode": mode})


@pytest.mark.parametrize("failing", ["build-base.yml", "build-ci.yml"])
def test_seed_000_a_failure_skips_what_needs_it_and_fails_the_plan(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture, failing: str
) -> None:
    example = Example("000-docker-image-chain")
    example.workflow(failing)["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert (ran.conclusion, ran.exit_code, ran.final.conclusion) == ("failure", 1, "failure")


def test_seed_001_trains_three_attempts_collects_and_deploys_the_best(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = Example("001-model-training")
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    selected = json.loads(ran.nodes["aggregate"]["outputs"]["result"])["selected"]
    deploys = [json.loads(json.dumps(r.body)) for r in ran.dispatch_requests() if "/deploy.yml/" in r.path]
    assert [body["inputs"]["model_run_id"] for body in deploys] == [str(selected["run-id"])]


def test_seed_001_a_failed_data_qa_skips_everything_after_it(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = Example("001-model-training")
    example.workflow("data-qa.yaml")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)


def test_seed_001_a_failed_attempt_leaves_the_others_to_aggregate(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = Example("001-model-training")
    example.case("train.yml", "inputs.attempt == 2")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert (ran.results()["train-2"], ran.conclusion) == ("failure", "success")


def test_seed_001_no_attempt_passing_the_gate_fails_the_plan_and_skips_deploy(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = Example("001-model-training")
    for attempt, dice, iou in ((1, 0.9012, 0.8611), (2, 0.9068, 0.8702)):
        set_metrics(example, attempt, dice=dice, iou=iou)
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert ran.nodes["aggregate"]["reason"].startswith("quality gate failed: ")


@pytest.mark.parametrize("variables", [{}, {"demo_mode": "quick"}])
def test_seed_003_report_runs_whatever_happened(
    tmp_path: Path,
    harnesses: list[AdvanceHarness],
    run_example: Runner,
    mocker: MockerFixture,
    variables: dict[str, str],
) -> None:
    example = Example("003-gitops-demo")
    ran = advance(example, tmp_path, harnesses, mocker, variables=variables)
    same_as_waiting(ran, run_example, example, variables=variables)


@pytest.mark.parametrize("failing", ["test.yml", "build.yml"])
def test_seed_003_a_failure_is_still_reported_and_fails_the_plan(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture, failing: str
) -> None:
    example = Example("003-gitops-demo")
    example.workflow(failing)["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert (ran.results()["report"], ran.conclusion) == ("success", "failure")


# Seed 002 (a checks node, on events or as a waiting job): tests/examples/test_advance_checks.py.


@pytest.mark.parametrize(("environment", "ref"), [("dev", "develop"), ("test", "main"), ("prd", "main")])
def test_seed_004_finds_the_pushed_runs_and_dispatches_the_rest_per_environment(
    tmp_path: Path,
    harnesses: list[AdvanceHarness],
    run_example: Runner,
    mocker: MockerFixture,
    environment: str,
    ref: str,
) -> None:
    example = Example("004-orchestrator-per-environment")
    ran = advance(example, tmp_path, harnesses, mocker, environment=environment, ref=ref)
    same_as_waiting(ran, run_example, example, environment=environment, ref=ref)


def test_seed_004_a_python_failure_skips_terraform_only(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = Example("004-orchestrator-per-environment")
    example.workflow("python-dev.yml")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses, mocker, environment="dev", ref="develop")
    same_as_waiting(ran, run_example, example, environment="dev", ref="develop")
    assert ran.results()["terraform"] == "skipped"


def test_the_instance_leaves_no_instance_once_over(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    ran = advance(Example("003-gitops-demo"), tmp_path, harnesses, mocker)
    with harnesses[-1].api() as api:
        store = GitRefStore(api, harnesses[-1].repo)
        # Its start is deleted: what is left is no instance (the next instances' runs delete it).
        key = plan_key(ran.plan)
        assert read_instances(store.matching(f"wait-and-dispatch/live/{key}/"), key) == {}
        assert len(store.matching(f"wait-and-dispatch/ended/{plan_key(ran.plan)}/")) == 1
    # The plan's time is its runs': from the first one's creation to the end, not the last run's.
    assert ran.outputs["duration"] != "0"


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
    """Two workflows whose runs the test ends (at the same moment), and a third that needs both."""

    def workflow(name: str, *inputs: str, held: bool = False) -> dict[str, Any]:
        return {
            "held": held,
            "path": f".github/workflows/{name}.yml",
            "name": name,
            "on": ["workflow_dispatch"],
            "run_name": f"{name} [${{{{ inputs.distinct_id }}}}]",
            "inputs": {key: {"type": "string"} for key in ("distinct_id", *inputs)},
            "timeline": {"queued": 5, "duration": 60},
            "conclusion": "success",
        }

    return app_scenario(
        [
            workflow("a", held=True),
            workflow("b", held=True),
            workflow("join", "a_run", "b_run"),
        ]
    )


def test_two_completions_at_the_same_moment_dispatch_the_node_they_free_once(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """50 times: a and b complete at the same moment, the two orchestrator runs their completions
    start are played at the same time, and join (which needs both) is dispatched once."""
    plan_path = tmp_path / "join.yml"
    plan_path.write_text(JOIN_PLAN, encoding="utf-8")
    harness = AdvanceHarness(join_scenario(), plan_path, tmp_path / "work", mocker.patch)
    harnesses.append(harness)
    emulator, repo = harness.emulator, harness.repo.full_name
    repetitions = 50
    for _ in range(repetitions):
        harness.start()
        harness.runner.run_until_idle()  # the start: a and b dispatched, and held by the test
        for workflow in ("a.yml", "b.yml"):
            emulator.finish_run(emulator.runs_of(repo, workflow)[-1], "success")
        # Both completions' orchestrator runs start at the same moment, and are played at once.
        harness.runner.run_until_idle()
    ran = Advanced(harness.plan, emulator, list(harness.runner.played), dict(harness.stdout))
    dispatched = sorted(r.path.split("/")[-2] for r in ran.dispatch_requests())
    assert dispatched == ["a.yml"] * repetitions + ["b.yml"] * repetitions + ["join.yml"] * repetitions
    ended = [i for i in ran.invocations if "is over: success" in ran.log(i)]
    assert len(ended) == repetitions
    # The race was real: both runs found join ready, and the ref let one of them have it.
    logs = "".join(ran.log(i) for i in ran.invocations)
    assert logs.count("join: taken by another invocation") > 0
    assert len(ran.invocations) == 4 * repetitions  # the start, a's, b's and join's completions


def test_an_orchestrator_in_another_repository_advances_on_the_callback(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    """workflow_run reaches no other repository: each node run's last job sends the callback
    repository_dispatch, and the plan ends as in waiting mode, its refs in the orchestrator's
    repository."""
    example = Example("003-gitops-demo")
    harness = AdvanceHarness(
        example.scenario,
        example.plan_path,
        tmp_path / "callback",
        mocker.patch,
        orchestrator_repository="octo/orchestrator",
    )
    harnesses.append(harness)
    ran = harness.run_with_callbacks()
    same_as_waiting(ran, run_example, example)
    assert {i.event_name for i in ran.invocations} == {"workflow_dispatch", "repository_dispatch"}
    with harness.api() as api:
        ended = GitRefStore(api, harness.home).matching(f"wait-and-dispatch/ended/{plan_key(ran.plan)}/")
    assert len(ended) == 1


def test_the_runs_of_the_next_instance_delete_the_refs_an_instance_over_left(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """The run that finds an instance over deletes its start only; each later run on a completion
    deletes at most `SWEEP_PER_RUN` of the refs left, so no run pays three deletes per node."""
    plan_path = tmp_path / "join.yml"
    plan_path.write_text(JOIN_PLAN, encoding="utf-8")
    scenario = join_scenario()
    for workflow in scenario["repos"]["octo/app"]["workflows"]:
        workflow["held"] = False
    harness = AdvanceHarness(scenario, plan_path, tmp_path / "work", mocker.patch)
    harnesses.append(harness)
    live = f"wait-and-dispatch/live/{plan_key(harness.plan)}/"
    first = harness.run()
    with harness.api() as api:
        left = {name for name, _ in GitRefStore(api, harness.repo).matching(live)}
    assert len(left) == 12  # a claim, a run, its deadline and a result for each node
    deletes = [r for r in harness.emulator.writes() if r.method == "DELETE"]
    assert len(deletes) == 1  # the start
    harness.start()
    second = harness.runner.run_until_idle()[len(first.invocations) :]
    with harness.api() as api:
        remaining = {name for name, _ in GitRefStore(api, harness.repo).matching(live)}
    assert not remaining & left
    deletes = [r for r in harness.emulator.writes() if r.method == "DELETE"]
    assert len(deletes) == 1 + len(left) + 1  # the first start, what it left, the second start
    # Three runs on a completion, each deleting a few: none deletes three refs per node.
    assert sum("completed" in harness.stdout[i.run_id] for i in second) * SWEEP_PER_RUN >= len(left)
