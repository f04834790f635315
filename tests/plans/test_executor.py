"""Running a plan (docs/plans.md, "Running a plan"): nodes start as soon as their needs allow,
independent ones at once, failures skip what depends on them, and cancelling stops it all.

Every test drives the emulator over HTTP on a shared VirtualClock: the 25-minute pipeline of
seed 000 runs in simulated time, its waits overlapping as they would for real.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.plans.conftest import (
    QUEUED,
    SEED_WORKFLOWS,
    Recorder,
    collect_node,
    failing,
    make_plan,
    node,
    seed_plan,
    training_workflows,
    workflow,
)
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.plans.executor import PlanEvent, PlanEventKind, PlanRunner, plan_error
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, PlanResult, Select
from wait_and_dispatch.support.clock import VirtualClock
from wait_and_dispatch.support.errors import (
    ArtifactError,
    ArtifactNotFoundError,
    ConclusionNotAllowedError,
    ExitCode,
    GateFailedError,
    UsageError,
    WaitTimeoutError,
)

MakeRunner = Callable[..., tuple[PlanRunner, Emulator, Recorder]]

GATE = "selected.dice >= 0.9075 && selected.iou >= 0.8665"


def inputs_of(emulator: Emulator, run_id: str) -> dict[str, Any]:
    """The inputs the emulator's run was dispatched with."""
    return dict(emulator.state.runs[int(run_id)].context["inputs"])


def conclusion_in_emulator(emulator: Emulator, run_id: int) -> str:
    return emulator.state.runs[run_id].latest.final_conclusion()


def results(result: PlanResult) -> dict[str, str]:
    return {name: o.result.value for name, o in result.outcomes.items()}


def reasons(result: PlanResult) -> dict[str, str]:
    return {name: o.reason for name, o in result.outcomes.items()}


def span(outcome: NodeOutcome) -> tuple[float, float]:
    assert outcome.started is not None and outcome.finished is not None
    return outcome.started, outcome.finished


class Later:
    """An event callback: `seconds` of virtual time after the plan's first event, do `action`.

    Its thread is started (and held on the clock) from the node thread that reports the event,
    so no time can pass before it sleeps; a thread started before `run()` would sleep alone and
    the clock would jump straight to its wake-up.
    """

    def __init__(self, clock: VirtualClock, seconds: float, action: Callable[[], object]) -> None:
        self.clock = clock
        self.seconds = seconds
        self.action = action
        self.thread: threading.Thread | None = None

    def __call__(self, event: PlanEvent) -> None:
        if self.thread is not None:
            return
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.release = self.clock.hold(self.thread)
        self.thread.start()

    def _work(self) -> None:
        try:
            self.clock.sleep(self.seconds)
            self.action()
        finally:
            self.release()

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(timeout=5)


# -- scheduling ------------------------------------------------------------------------------------


def test_seed_plan_runs_every_node_and_succeeds(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(seed_plan())

    result = runner.run()

    assert results(result) == dict.fromkeys(["base", "ci", "deploy", "test", "lint"], "success")
    assert result.conclusion is NodeResult.SUCCESS
    assert len(result.dispatched) == 5
    assert plan_error(result) is None


def test_nodes_start_when_their_needs_finish_and_independent_ones_overlap(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(seed_plan())

    result = runner.run()

    o = result.outcomes
    assert o["ci"].started == o["deploy"].started == o["base"].finished
    assert o["test"].started == o["lint"].started == o["ci"].finished
    # The longest chain is base (15 min) then deploy (8 min): the plan takes about that long,
    # not the 31 minutes of the five runs one after another.
    critical_path = (900 + QUEUED) + (480 + QUEUED)
    assert critical_path <= result.elapsed < critical_path + 60


def test_when_base_fails_every_node_after_it_is_skipped(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(seed_plan(), failing(SEED_WORKFLOWS, "base"))

    result = runner.run()

    assert results(result) == {
        "base": "failure",
        "ci": "skipped",
        "deploy": "skipped",
        "test": "skipped",
        "lint": "skipped",
    }
    assert reasons(result)["ci"] == "skipped: base failed"
    assert reasons(result)["test"] == "skipped: ci was skipped"
    assert result.conclusion is NodeResult.FAILURE
    assert len(result.dispatched) == 1


def test_when_ci_fails_its_dependents_are_skipped_and_deploy_goes_on(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(seed_plan(), failing(SEED_WORKFLOWS, "ci"))

    result = runner.run()

    assert results(result) == {
        "base": "success",
        "ci": "failure",
        "deploy": "success",
        "test": "skipped",
        "lint": "skipped",
    }
    assert reasons(result)["lint"] == "skipped: ci failed"
    assert reasons(result)["ci"].endswith("failed: failure")
    assert isinstance(result.outcomes["ci"].error, ConclusionNotAllowedError)


def test_no_more_nodes_than_the_concurrency_are_in_progress_at_once(make_runner: MakeRunner) -> None:
    plan = make_plan(node("base"), node("deploy"), node("test"), node("lint"), concurrency=2)
    runner, _, _ = make_runner(plan)

    result = runner.run()

    spans = [span(o) for o in result.outcomes.values()]
    in_progress_at_each_start = [sum(1 for s, e in spans if s <= start < e) for start, _ in spans]
    assert max(in_progress_at_each_start) == 2
    assert results(result) == dict.fromkeys(["base", "deploy", "test", "lint"], "success")


def test_nodes_waiting_for_a_free_slot_start_in_plan_order(make_runner: MakeRunner) -> None:
    plan = make_plan(node("lint"), node("test"), node("deploy"), concurrency=1)
    runner, _, _ = make_runner(plan)

    result = runner.run()

    o = result.outcomes
    assert o["lint"].finished == o["test"].started
    assert o["test"].finished == o["deploy"].started


def test_events_tell_when_each_node_starts_progresses_and_finishes(make_runner: MakeRunner) -> None:
    runner, _, recorder = make_runner(seed_plan(), failing(SEED_WORKFLOWS, "base"))

    runner.run()

    base = recorder.for_node("base")
    assert base[0].kind is PlanEventKind.STARTED
    assert base[0].message == "finding or dispatching base.yml"
    assert {e.kind for e in base[1:-1]} == {PlanEventKind.PROGRESS}
    assert base[-1].kind is PlanEventKind.FINISHED
    assert base[-1].outcome is not None and base[-1].outcome.result is NodeResult.FAILURE
    ci = recorder.for_node("ci")
    assert [e.kind for e in ci] == [PlanEventKind.FINISHED]
    assert ci[0].message == "skipped: base failed"


# -- conditions ------------------------------------------------------------------------------------


def test_an_always_node_runs_after_a_failure_and_sees_the_results_of_its_needs(
    make_runner: MakeRunner,
) -> None:
    plan = make_plan(
        node("base"),
        node("ci", needs=("base",)),
        node(
            "report",
            needs=("base", "ci"),
            condition="always()",
            inputs={
                "base_result": "${{ needs.base.result }}",
                "ci_result": "${{ needs.ci.result }}",
            },
        ),
    )
    runner, emulator, _ = make_runner(plan, failing(SEED_WORKFLOWS, "base"))

    result = runner.run()

    report = result.outcomes["report"]
    assert report.result is NodeResult.SUCCESS
    assert inputs_of(emulator, report.outputs["run-id"]) | {"distinct_id": ""} == {
        "base_result": "failure",
        "ci_result": "skipped",
        "distinct_id": "",
    }
    assert result.conclusion is NodeResult.FAILURE


def test_a_failure_node_runs_only_when_something_before_it_failed(make_runner: MakeRunner) -> None:
    plan = make_plan(
        node("base"),
        node("ci", needs=("base",)),
        node("report", needs=("ci",), condition="failure()"),
    )
    runner, _, _ = make_runner(plan, failing(SEED_WORKFLOWS, "base"))

    result = runner.run()

    # base failed two levels up: failure() looks at every node report depends on.
    assert results(result) == {"base": "failure", "ci": "skipped", "report": "success"}


def test_an_if_that_is_false_skips_the_node_and_says_so(make_runner: MakeRunner) -> None:
    plan = make_plan(
        node("base"),
        node("deploy", needs=("base",), condition="vars.mode == 'full'"),
        variables={"mode": "quick"},
    )
    runner, _, _ = make_runner(plan)

    result = runner.run()

    assert results(result) == {"base": "success", "deploy": "skipped"}
    assert reasons(result)["deploy"] == "skipped: if: vars.mode == 'full' is false"
    assert result.conclusion is NodeResult.SUCCESS


def test_an_if_without_a_status_function_still_needs_its_needs_to_succeed(make_runner: MakeRunner) -> None:
    plan = make_plan(
        node("base"),
        node("deploy", needs=("base",), condition="vars.mode == 'full'"),
        variables={"mode": "full"},
    )
    runner, _, _ = make_runner(plan, failing(SEED_WORKFLOWS, "base"))

    result = runner.run()

    # As on GitHub: `if: X` means `success() && (X)`.
    assert reasons(result)["deploy"] == "skipped: base failed"


def test_an_if_that_cannot_be_evaluated_fails_the_node(make_runner: MakeRunner) -> None:
    plan = make_plan(node("base", condition="nosuchfunction()"))
    runner, _, _ = make_runner(plan)

    result = runner.run()

    base = result.outcomes["base"]
    assert base.result is NodeResult.FAILURE
    assert isinstance(base.error, UsageError)
    assert "nosuchfunction" in base.reason
    assert result.dispatched == ()


def test_continue_on_error_lets_the_nodes_after_it_run_and_the_plan_succeed(make_runner: MakeRunner) -> None:
    plan = make_plan(node("base", continue_on_error=True), node("ci", needs=("base",)))
    runner, _, _ = make_runner(plan, failing(SEED_WORKFLOWS, "base"))

    result = runner.run()

    base = result.outcomes["base"]
    assert base.result is NodeResult.FAILURE and base.allowed_failure
    assert result.outcomes["ci"].result is NodeResult.SUCCESS
    assert result.conclusion is NodeResult.SUCCESS
    assert plan_error(result) is None


def test_a_continue_on_error_failure_reads_success_in_the_needs_context(make_runner: MakeRunner) -> None:
    plan = make_plan(
        node("base", continue_on_error=True),
        node("ci", needs=("base",), condition="needs.base.result == 'success'"),
    )
    runner, _, _ = make_runner(plan, failing(SEED_WORKFLOWS, "base"))

    result = runner.run()

    assert result.outcomes["ci"].result is NodeResult.SUCCESS  # as on GitHub (actions/runner#1161)


def test_success_looks_at_every_node_upstream_not_only_the_direct_needs(make_runner: MakeRunner) -> None:
    plan = make_plan(
        node("base"),
        node("report", needs=("base",), condition="always()"),
        node("ci", needs=("report",)),
    )
    runner, _, _ = make_runner(plan, failing(SEED_WORKFLOWS, "base"))

    result = runner.run()

    assert results(result) == {"base": "failure", "report": "success", "ci": "skipped"}
    assert reasons(result)["ci"] == "skipped: base failed"


def test_fail_fast_starts_no_more_nodes_after_a_failure(make_runner: MakeRunner) -> None:
    # lint fails after a minute, while base (15 minutes) is in progress; ci waits for base.
    plan = make_plan(
        node("lint"),
        node("base"),
        node("ci", needs=("base",)),
        node("report", needs=("base",), condition="always()"),
        fail_fast=True,
    )
    runner, _, _ = make_runner(plan, failing(SEED_WORKFLOWS, "lint"))

    result = runner.run()

    assert results(result) == {"lint": "failure", "base": "success", "ci": "skipped", "report": "success"}
    assert reasons(result)["ci"] == "skipped: fail-fast after lint failed"


def test_without_fail_fast_branches_that_do_not_depend_on_the_failure_go_on(make_runner: MakeRunner) -> None:
    plan = make_plan(node("lint"), node("base"), node("ci", needs=("base",)))
    runner, _, _ = make_runner(plan, failing(SEED_WORKFLOWS, "lint"))

    result = runner.run()

    assert results(result) == {"lint": "failure", "base": "success", "ci": "success"}


# -- values ----------------------------------------------------------------------------------------


def test_the_outputs_of_needs_are_rendered_into_the_dispatched_inputs(make_runner: MakeRunner) -> None:
    runner, emulator, _ = make_runner(seed_plan())

    result = runner.run()

    base_run = result.outcomes["base"].outputs["run-id"]
    ci_run = result.outcomes["ci"].outputs["run-id"]
    assert inputs_of(emulator, ci_run)["base_run_id"] == base_run


def test_a_template_that_cannot_be_rendered_fails_the_node_without_dispatching(
    make_runner: MakeRunner,
) -> None:
    plan = make_plan(node("base", inputs={"x": "${{ needs.base.outputs[ }}"}))
    runner, _, _ = make_runner(plan)

    result = runner.run()

    assert result.outcomes["base"].result is NodeResult.FAILURE
    assert isinstance(result.outcomes["base"].error, UsageError)
    assert result.dispatched == ()


def test_a_plan_timeout_caps_the_wait_of_a_node(make_runner: MakeRunner) -> None:
    # base takes 15 minutes; its own timeout (30 minutes) would wait for it, the plan's does not.
    plan = make_plan(node("base"), node("ci", needs=("base",)), timeout=600)
    runner, _, _ = make_runner(plan)

    result = runner.run()

    base = result.outcomes["base"]
    assert base.result is NodeResult.FAILURE
    assert isinstance(base.error, WaitTimeoutError)
    assert base.finished is not None and base.finished - result.started <= 600
    assert reasons(result)["ci"] == "skipped: base failed"


# -- failures and cancelling -----------------------------------------------------------------------


def test_plan_error_names_the_failed_nodes_with_the_exit_code_of_the_first(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(seed_plan(), failing(SEED_WORKFLOWS, "ci"))
    result = runner.run()

    error = plan_error(result)

    assert error is not None
    ci_run = result.outcomes["ci"].outputs["run-id"]
    assert error.message == f"plan Docker images: 1 of 5 nodes failed: ci (run {ci_run} failed: failure)"
    assert error.exit_code == ExitCode.CONCLUSION_NOT_ALLOWED
    assert "--json" in error.hint


def test_cancel_cancels_the_dispatched_runs_and_the_nodes_that_did_not_run(
    make_runner: MakeRunner, vclock: VirtualClock
) -> None:
    canceller = Later(vclock, 1000, lambda: runner.cancel())  # base done, ci and deploy in progress
    runner, emulator, _ = make_runner(seed_plan(), on_event=canceller)

    result = runner.run()
    canceller.join()

    assert results(result) == {
        "base": "success",
        "ci": "cancelled",
        "deploy": "cancelled",
        "test": "cancelled",
        "lint": "cancelled",
    }
    assert reasons(result)["test"] == "cancelled: the plan was cancelled"
    in_progress = [int(result.outcomes[name].outputs["run-id"]) for name in ("ci", "deploy")]
    assert [conclusion_in_emulator(emulator, run_id) for run_id in in_progress] == ["cancelled", "cancelled"]
    assert result.conclusion is NodeResult.CANCELLED
    error = plan_error(result)
    assert error is not None and error.exit_code == ExitCode.INTERRUPTED
    assert error.message == "plan Docker images: 4 of 5 nodes cancelled: ci, deploy, test, lint"


def test_a_cancelled_node_runs_after_a_cancel(make_runner: MakeRunner, vclock: VirtualClock) -> None:
    plan = make_plan(
        node("base"),
        node("ci", needs=("base",)),
        node("report", needs=("ci",), condition="cancelled()"),
    )
    canceller = Later(vclock, 100, lambda: runner.cancel())
    runner, _, _ = make_runner(plan, on_event=canceller)

    result = runner.run()
    canceller.join()

    assert results(result) == {"base": "cancelled", "ci": "cancelled", "report": "success"}


def test_cancel_is_idempotent_and_says_what_it_cancelled(
    make_runner: MakeRunner, vclock: VirtualClock
) -> None:
    said: list[dict[int, str]] = []
    canceller = Later(vclock, 100, lambda: said.extend([runner.cancel(), runner.cancel()]))
    runner, _, _ = make_runner(make_plan(node("base")), on_event=canceller)

    result = runner.run()
    canceller.join()

    assert said == [{result.dispatched[0]: "cancelled"}, {}]


def test_a_bug_in_a_node_stops_the_plan_and_is_raised(make_runner: MakeRunner) -> None:
    def broken(event: PlanEvent) -> None:
        if event.kind is PlanEventKind.STARTED and event.node == "ci":
            raise RuntimeError("bug in the progress display")

    runner, emulator, _ = make_runner(
        make_plan(node("base"), node("deploy"), node("ci", needs=("base",))),
        {**SEED_WORKFLOWS, "base": {**SEED_WORKFLOWS["base"], "timeline": {"queued": 0, "duration": 10}}},
        on_event=broken,
    )

    with pytest.raises(RuntimeError, match="bug in the progress display"):
        runner.run()

    # deploy was in progress when the bug happened: the plan cancelled its run.
    [deploy] = [run for run in emulator.state.runs.values() if run.workflow.spec.name == "deploy"]
    assert conclusion_in_emulator(emulator, deploy.id) == "cancelled"


def test_a_bug_while_deciding_which_nodes_run_is_raised_too(make_runner: MakeRunner) -> None:
    def broken(event: PlanEvent) -> None:
        if event.kind is PlanEventKind.FINISHED and event.node == "ci":  # reported as it is skipped
            raise RuntimeError("bug in the progress display")

    runner, _, _ = make_runner(seed_plan(), failing(SEED_WORKFLOWS, "base"), on_event=broken)

    with pytest.raises(RuntimeError, match="bug in the progress display"):
        runner.run()


# -- collect, select, gate -------------------------------------------------------------------------


def training_plan(gate: str | None = GATE) -> Any:
    return make_plan(
        node("train-1"),
        node("train-2"),
        node("train-3"),
        collect_node(
            "best",
            ("train-1", "train-2", "train-3"),
            select=Select(file="metrics.json", key="dice", highest=True),
            gate=gate,
        ),
    )


GOOD = {1: {"dice": 0.91, "iou": 0.87}, 2: {"dice": 0.93, "iou": 0.88}, 3: {"dice": 0.92, "iou": 0.86}}
POOR = {1: {"dice": 0.89, "iou": 0.85}, 2: {"dice": 0.9012, "iou": 0.8601}, 3: {"dice": 0.90, "iou": 0.86}}


def test_collect_downloads_every_runs_artifact_and_selects_the_best(
    make_runner: MakeRunner, tmp_path: Path
) -> None:
    runner, _, _ = make_runner(training_plan(gate=None), training_workflows(GOOD))

    result = runner.run()

    best = result.outcomes["best"]
    assert best.result is NodeResult.SUCCESS
    for n in (1, 2, 3):
        written = json.loads((tmp_path / "metrics" / f"metrics-{n}" / "metrics.json").read_text())
        assert written == GOOD[n]
    selected = json.loads(best.outputs["result"])["selected"]
    assert selected == {
        "dice": 0.93,
        "iou": 0.88,
        "artifact": "metrics-2",
        "run-id": int(result.outcomes["train-2"].outputs["run-id"]),
        "node": "train-2",
    }
    assert best.outputs["run-id"] == result.outcomes["train-2"].outputs["run-id"]
    assert [a["name"] for a in json.loads(best.outputs["artifacts"])] == [
        "metrics-1",
        "metrics-2",
        "metrics-3",
    ]
    assert best.outputs["download-path"] == str(tmp_path / "metrics")


def test_a_gate_that_holds_passes_the_collect_node(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(training_plan(), training_workflows(GOOD))

    result = runner.run()

    assert result.outcomes["best"].result is NodeResult.SUCCESS
    assert json.loads(result.outcomes["best"].outputs["result"])["gate"] is True


def test_a_gate_that_fails_shows_the_gate_and_the_selected_values(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(training_plan(), training_workflows(POOR))

    result = runner.run()

    best = result.outcomes["best"]
    assert best.result is NodeResult.FAILURE
    assert isinstance(best.error, GateFailedError)
    assert best.error.message == f"quality gate failed: {GATE} (train-2: dice=0.9012, iou=0.8601)"
    assert best.error.exit_code == ExitCode.CONCLUSION_NOT_ALLOWED
    assert json.loads(best.outputs["result"])["gate"] is False


def test_an_always_collect_node_leaves_out_sources_without_a_run(make_runner: MakeRunner) -> None:
    plan = make_plan(
        node("train-1"),
        node("train-2", condition="vars.skip != 'train-2'"),
        collect_node("all", ("train-1", "train-2"), condition="always()"),
        variables={"skip": "train-2"},
    )
    runner, _, _ = make_runner(plan, training_workflows(GOOD))

    result = runner.run()

    collected = result.outcomes["all"]
    assert collected.result is NodeResult.SUCCESS
    assert [a["name"] for a in json.loads(collected.outputs["artifacts"])] == ["metrics-1"]
    assert "left out train-2 (skipped)" in collected.reason


def test_the_same_artifact_name_from_two_nodes_goes_into_each_nodes_folder(
    make_runner: MakeRunner, tmp_path: Path
) -> None:
    # A matrix's members upload the same name (and an unzipped artifact is named after its file):
    # each node's copy is kept, in a folder of its own, and select still picks the best.
    workflows = training_workflows(GOOD)
    workflows["train-2"]["artifacts"][0]["name"] = "metrics-1"
    plan = make_plan(
        node("train-1"),
        node("train-2"),
        node("train-3"),
        collect_node(
            "all",
            ("train-1", "train-2", "train-3"),
            select=Select(file="metrics.json", key="dice", highest=True),
        ),
    )
    runner, _, _ = make_runner(plan, workflows)

    result = runner.run()

    collected = result.outcomes["all"]
    assert collected.result is NodeResult.SUCCESS, collected.reason
    for n, name in ((1, "metrics-1"), (2, "metrics-1"), (3, "metrics-3")):
        written = json.loads((tmp_path / "metrics" / f"train-{n}" / name / "metrics.json").read_text())
        assert written == GOOD[n]
    selected = json.loads(collected.outputs["result"])["selected"]
    assert (selected["node"], selected["artifact"], selected["dice"]) == ("train-2", "metrics-1", 0.93)


def test_a_missing_select_key_is_an_artifact_error_that_says_what_the_file_has(
    make_runner: MakeRunner,
) -> None:
    plan = make_plan(
        node("train-1"),
        collect_node(
            "best", ("train-1",), select=Select(file="metrics.json", key="scores.f1", highest=False)
        ),
    )
    runner, _, _ = make_runner(plan, training_workflows(GOOD))

    result = runner.run()

    error = result.outcomes["best"].error
    assert isinstance(error, ArtifactError)
    assert error.message.startswith("scores.f1 in metrics.json of artifact metrics-1 (node train-1, run ")
    assert error.hint.endswith("the file has: dice, iou")


def test_a_pattern_no_source_has_is_an_artifact_not_found_error(make_runner: MakeRunner) -> None:
    plan = make_plan(node("train-1"), collect_node("all", ("train-1",), patterns=("model-*",)))
    runner, _, _ = make_runner(plan, training_workflows(GOOD))

    result = runner.run()

    error = result.outcomes["all"].error
    assert isinstance(error, ArtifactNotFoundError)
    assert "train-1 (run " in error.message and "): metrics-1" in error.message


# -- dry run and single nodes ----------------------------------------------------------------------


def test_preview_says_what_each_node_would_do_without_writing(make_runner: MakeRunner) -> None:
    plan = make_plan(
        *seed_plan().nodes.values(),
        node("images", needs=("ci",), run_id="${{ needs.ci.outputs.run-id }}", artifacts=["image-*"]),
    )
    runner, emulator, _ = make_runner(plan, read_only=True)

    preview = dict(runner.preview())

    assert list(preview) == ["base", "ci", "deploy", "test", "lint", "images"]
    assert preview["base"][0].startswith("would dispatch base (.github/workflows/base.yml) on main")
    assert preview["ci"][0] == "runs after: base"
    assert '"base_run_id": "${{ needs.base.outputs.run-id }}"' in preview["ci"][1]
    assert preview["images"][1:] == [
        "would use the run of ci",
        "would download image-* from it into " + str(runner.context.workdir / "images"),
    ]
    assert emulator.writes() == []


def test_run_node_runs_one_node_with_needs_given_as_json(make_runner: MakeRunner) -> None:
    runner, emulator, _ = make_runner(seed_plan())

    outcome = runner.run_node("ci", {"base": {"result": "success", "outputs": {"run-id": "4242"}}})

    assert outcome.result is NodeResult.SUCCESS
    assert inputs_of(emulator, outcome.outputs["run-id"])["base_run_id"] == "4242"
    assert runner.dispatched == [int(outcome.outputs["run-id"])]


def test_run_node_does_not_evaluate_the_if(make_runner: MakeRunner) -> None:
    # GitHub evaluated it already for the job that runs this node.
    plan = make_plan(node("base"), node("deploy", needs=("base",), condition="vars.mode == 'full'"))
    runner, _, _ = make_runner(plan)

    outcome = runner.run_node("deploy", {"base": {"result": "failure", "outputs": {}}})

    assert outcome.result is NodeResult.SUCCESS


def test_run_node_of_an_unknown_node_is_a_usage_error(make_runner: MakeRunner) -> None:
    runner, _, _ = make_runner(seed_plan())

    with pytest.raises(UsageError, match="has no node 'cd'"):
        runner.run_node("cd", {})


def test_a_plan_loaded_from_yaml_runs_like_one_built_by_hand(make_runner: MakeRunner, tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yml"
    path.write_text(
        """\
name: Docker images
repository: octo/bot
ref: main
defaults:
  timeout: 30m
  poll-interval: 5s
  max-poll-interval: 10s
nodes:
  base:
    name: Build base image
    workflow: base.yml
  ci:
    workflow: ci.yml
    needs: [base]
    inputs:
      base_run_id: ${{ needs.base.outputs.run-id }}
  deploy:
    workflow: deploy.yml
    needs: [base]
  test:
    workflow: test.yml
    needs: [ci]
  lint:
    workflow: lint.yml
    needs: [ci]
""",
        encoding="utf-8",
    )
    runner, emulator, _ = make_runner(load_plan(path), failing(SEED_WORKFLOWS, "ci"))

    result = runner.run()

    assert results(result) == {
        "base": "success",
        "ci": "failure",
        "deploy": "success",
        "test": "skipped",
        "lint": "skipped",
    }
    base_run = result.outcomes["base"].outputs["run-id"]
    assert inputs_of(emulator, result.outcomes["ci"].outputs["run-id"])["base_run_id"] == base_run


# -- unzipped artifacts ----------------------------------------------------------------------------


def test_a_node_downloads_zipped_and_unzipped_artifacts_and_its_outputs_say_how_each_was_kept(
    make_runner: MakeRunner, tmp_path: Path
) -> None:
    build = workflow("build.yml", 60)
    build["artifacts"] = [
        {"name": "dist", "files": {"app.txt": "application"}},
        {"name": "report.html", "archive": False, "content": "<p>41 passed</p>"},
    ]
    plan = make_plan(node("build", artifacts="dist\nreport.html", skip_decompress=True))
    runner, _, _ = make_runner(plan, {"build": build})

    result = runner.run()

    outputs = result.outcomes["build"].outputs
    assert result.outcomes["build"].result is NodeResult.SUCCESS
    assert [(a["name"], a["kind"], a["file"]) for a in json.loads(outputs["artifacts"])] == [
        ("dist", "file", str(tmp_path / "build" / "dist" / "dist.zip")),
        ("report.html", "file", str(tmp_path / "build" / "report.html" / "report.html")),
    ]
    assert (tmp_path / "build" / "report.html" / "report.html").read_text() == "<p>41 passed</p>"
