"""examples/001-model-training: data QA, data upload, three training attempts side by side, the best
one judged against the baseline, and the deployment of its model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.examples.conftest import DryRun, Example, Ran, Runner
from wait_and_dispatch.plans.model import NodeResult

EXAMPLE = "001-model-training"
DATA_BRANCH = "data/20260207-220516"
NODES = ("data-qa", "data-upload", "train-1", "train-2", "train-3", "aggregate", "deploy")


def set_metrics(example: Example, attempt: int, dice: float, iou: float) -> None:
    """Give one training attempt other metrics than the scenario's."""
    case = example.case("train.yml", f"inputs.attempt == {attempt}")
    metrics = next(a for a in case["artifacts"] if a["name"].startswith("metrics-"))
    metrics["files"]["metrics.json"] = json.dumps({"attempt": attempt, "dice": dice, "iou": iou})


def aggregate_result(ran: Ran) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(ran.outcome("aggregate").outputs["result"])
    return result


@pytest.fixture(scope="module")
def trained(run_once: Runner) -> Ran:
    return run_once(Example(EXAMPLE))


def test_new_data_is_trained_judged_and_deployed(trained: Ran) -> None:
    assert trained.results() == dict.fromkeys(NODES, "success")
    assert trained.result.conclusion is NodeResult.SUCCESS


def test_every_workflow_is_dispatched_once_and_training_once_per_attempt(trained: Ran) -> None:
    assert trained.dispatched() == ["data-qa.yaml", "data-upload.yaml", "deploy.yml", *["train.yml"] * 3]
    assert sorted(trained.inputs("train.yml"), key=str) == [
        {"attempt": "1"},
        {"attempt": "2"},
        {"attempt": "3"},
    ]


def test_training_runs_on_the_data_branch_and_deployment_on_main(trained: Ran) -> None:
    refs = {trained.workflow_file(r): r.body["ref"] for r in trained.dispatch_requests()}
    assert refs == {
        "data-qa.yaml": DATA_BRANCH,
        "data-upload.yaml": DATA_BRANCH,
        "train.yml": DATA_BRANCH,
        "deploy.yml": "main",
    }


def test_the_three_attempts_train_side_by_side(trained: Ran) -> None:
    upload_done = trained.outcome("data-upload").finished
    attempts = [trained.outcome(f"train-{n}") for n in (1, 2, 3)]
    starts = [a.started for a in attempts]
    ends = [a.finished for a in attempts]
    assert upload_done is not None and None not in starts and None not in ends
    assert all(start >= upload_done for start in starts if start is not None)
    assert max(s for s in starts if s is not None) < min(e for e in ends if e is not None)


def test_aggregate_selects_the_attempt_with_the_highest_dice(trained: Ran) -> None:
    selected = aggregate_result(trained)["selected"]
    assert (selected["node"], selected["artifact"], selected["dice"]) == ("train-2", "metrics-2", 0.9286)
    assert selected["run-id"] == int(trained.outcome("train-2").outputs["run-id"])
    assert trained.outcome("aggregate").reason == (
        "collected 3 artifacts from train-1, train-2, train-3; selected metrics-2 of train-2"
    )


def test_the_selected_attempt_passes_the_quality_gate(trained: Ran) -> None:
    assert aggregate_result(trained)["gate"] is True


def test_aggregate_keeps_each_attempts_metrics_in_its_own_folder(trained: Ran) -> None:
    for attempt in (1, 2, 3):
        path = trained.workdir / "metrics" / f"metrics-{attempt}" / "metrics.json"
        assert json.loads(path.read_text(encoding="utf-8"))["attempt"] == attempt


def test_deploy_ships_the_model_of_the_selected_attempt(trained: Ran) -> None:
    assert trained.inputs("deploy.yml") == [{"model_run_id": trained.outcome("train-2").outputs["run-id"]}]


def test_data_qa_failure_skips_everything_after_it(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    example.workflow("data-qa.yaml")["conclusion"] = "failure"
    ran = run_example(example)
    assert ran.results() == {"data-qa": "failure", **dict.fromkeys(NODES[1:], "skipped")}
    assert ran.outcome("data-upload").reason == "skipped: data-qa failed"
    assert ran.outcome("train-2").reason == "skipped: data-upload was skipped"
    assert ran.outcome("deploy").reason == "skipped: aggregate was skipped"
    assert ran.dispatched() == ["data-qa.yaml"]
    assert ran.result.conclusion is NodeResult.FAILURE


def test_no_attempt_passing_the_gate_fails_aggregate_and_skips_deploy(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    set_metrics(example, 1, dice=0.9012, iou=0.8611)
    set_metrics(example, 2, dice=0.9068, iou=0.8702)
    ran = run_example(example)
    assert ran.results() == {
        **dict.fromkeys(NODES[:5], "success"),
        "aggregate": "failure",
        "deploy": "skipped",
    }
    assert ran.outcome("aggregate").reason == (
        "quality gate failed: selected.dice >= 0.9075 && selected.iou >= 0.8665 "
        "(train-2: dice=0.9068, iou=0.8702)"
    )
    assert aggregate_result(ran)["gate"] is False
    assert "deploy.yml" not in ran.dispatched()
    assert ran.result.conclusion is NodeResult.FAILURE


def test_a_failed_attempt_leaves_the_others_to_aggregate(run_example: Runner) -> None:
    # Attempt 2, the best, crashes before it writes its metrics.
    example = Example(EXAMPLE)
    case = example.case("train.yml", "inputs.attempt == 2")
    case["conclusion"] = "failure"
    case["artifacts"] = []
    ran = run_example(example)
    assert ran.results() == {**dict.fromkeys(NODES, "success"), "train-2": "failure"}
    assert ran.outcome("train-2").allowed_failure  # continue-on-error: the plan goes on
    assert ran.outcome("aggregate").reason == (
        "collected 2 artifacts from train-1, train-2, train-3; selected metrics-1 of train-1"
    )
    assert ran.inputs("deploy.yml") == [{"model_run_id": ran.outcome("train-1").outputs["run-id"]}]
    assert ran.result.conclusion is NodeResult.SUCCESS


def test_dry_run_says_what_it_would_do_and_writes_nothing(dry_run: DryRun) -> None:
    out, writes = dry_run(Example(EXAMPLE))
    assert writes == []
    assert f'on {DATA_BRANCH} (6137a94) with inputs {{"attempt": "2"' in out
    assert "would select the artifact whose metrics.json has the highest dice" in out
