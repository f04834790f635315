"""examples/003-gitops-demo: build, deploy, test and the self-healing demo side by side, then a
report that runs whatever happened and gets every job's artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.examples.conftest import DryRun, Example, Ran, Runner
from wait_and_dispatch.plans.model import NodeResult
from wait_and_dispatch.support.errors import DeadlineExceededError, WaitTimeoutError

EXAMPLE = "003-gitops-demo"
NODES = ("build", "deploy", "test", "demo", "results", "report")


def collected(ran: Ran) -> list[str]:
    return [a["name"] for a in json.loads(ran.outcome("results").outputs["artifacts"])]


@pytest.fixture(scope="module")
def full(run_once: Runner) -> Ran:
    """demo_mode: full, the plan's default."""
    return run_once(Example(EXAMPLE))


def test_full_demo_runs_every_job(full: Ran) -> None:
    assert full.results() == dict.fromkeys(NODES, "success")
    assert full.result.conclusion is NodeResult.SUCCESS


def test_every_workflow_is_dispatched_exactly_once(full: Ran) -> None:
    assert full.dispatched() == ["build.yml", "demo.yml", "deploy.yml", "report.yml", "test.yml"]


def test_test_and_demo_run_side_by_side_after_deploy(full: Ran) -> None:
    deploy, test, demo = (full.outcome(n) for n in ("deploy", "test", "demo"))
    assert deploy.finished is not None and test.started is not None and demo.started is not None
    assert test.started >= deploy.finished and demo.started >= deploy.finished
    assert test.finished is not None and demo.started < test.finished


def test_results_collects_every_jobs_artifacts(full: Ran) -> None:
    assert sorted(collected(full)) == ["cluster-state", "demo-artifacts", "test-results"]
    results = full.workdir / "results"
    assert (results / "cluster-state" / "kubeconfig.yaml").is_file()
    assert "predict_batch" in (results / "test-results" / "results.json").read_text(encoding="utf-8")
    assert "auto-heal" in (results / "demo-artifacts" / "argocd-history.txt").read_text(encoding="utf-8")


def test_report_is_dispatched_with_each_jobs_result_and_the_collected_artifacts(full: Ran) -> None:
    (inputs,) = full.inputs("report.yml")
    assert {k: v for k, v in inputs.items() if k != "artifacts"} == {
        "build_result": "success",
        "deploy_result": "success",
        "test_result": "success",
        "demo_result": "success",
    }
    assert inputs["artifacts"] == full.outcome("results").outputs["artifacts"]


def test_quick_mode_skips_the_demo_and_reports_without_it(run_example: Runner) -> None:
    ran = run_example(Example(EXAMPLE), variables={"demo_mode": "quick"})
    assert ran.results() == {**dict.fromkeys(NODES, "success"), "demo": "skipped"}
    assert ran.outcome("demo").reason == "skipped: if: vars.demo_mode == 'full' is false"
    assert sorted(collected(ran)) == ["cluster-state", "test-results"]
    assert "left out demo (skipped)" in ran.outcome("results").reason
    assert ran.inputs("report.yml")[0]["demo_result"] == "skipped"
    assert "demo.yml" not in ran.dispatched()
    assert ran.result.conclusion is NodeResult.SUCCESS


def test_failed_test_still_gets_its_report_and_fails_the_plan(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    example.workflow("test.yml")["conclusion"] = "failure"
    ran = run_example(example)
    assert ran.results() == {**dict.fromkeys(NODES, "success"), "test": "failure"}
    # A failed run still uploads what it wrote: the report gets the test results.
    assert "test-results" in collected(ran)
    assert ran.inputs("report.yml")[0]["test_result"] == "failure"
    assert ran.result.conclusion is NodeResult.FAILURE
    assert [o.name for o in ran.result.failed()] == ["test"]


def test_failed_build_reports_what_happened_and_collects_nothing(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    example.workflow("build.yml")["conclusion"] = "failure"
    ran = run_example(example)
    assert ran.results() == {
        "build": "failure",
        **dict.fromkeys(("deploy", "test", "demo", "results"), "skipped"),
        "report": "success",
    }
    assert ran.outcome("results").reason == (
        "skipped: build failed, so if: always() && needs.deploy.result != 'skipped' is false"
    )
    assert ran.inputs("report.yml")[0]["build_result"] == "failure"
    assert ran.dispatched() == ["build.yml", "report.yml"]


def with_plan_timeout(tmp_path: Path, timeout: str) -> Example:
    """The example with a plan-level `timeout`, its plan file written in `tmp_path`."""
    example = Example(EXAMPLE)
    text = example.plan_path.read_text(encoding="utf-8")
    example.plan_path = tmp_path / "plan.yml"
    example.plan_path.write_text(
        text.replace("\ndefaults:\n", f"\ntimeout: {timeout}\n\ndefaults:\n", 1), encoding="utf-8"
    )
    return example


# 30 minutes end while test and demo run (deploy ends near minute 25): their waits end at the
# plan's deadline, and results, then report, become ready there (docs/plans.md, timeouts).


def test_collect_ready_at_the_plans_deadline_runs_all_the_same(tmp_path: Path, run_example: Runner) -> None:
    ran = run_example(with_plan_timeout(tmp_path, "30m"))
    assert all(isinstance(ran.outcome(n).error, WaitTimeoutError) for n in ("test", "demo"))
    # What exists by then: deploy's artifact (test and demo upload theirs as they end), not cut
    # off by the deadline it started at.
    assert ran.outcome("results").result is NodeResult.SUCCESS, ran.outcome("results").reason
    assert collected(ran) == ["cluster-state"]


def test_a_workflow_node_ready_at_the_plans_deadline_fails_without_starting(
    tmp_path: Path, run_example: Runner
) -> None:
    ran = run_example(with_plan_timeout(tmp_path, "30m"))
    report = ran.outcome("report")
    assert isinstance(report.error, DeadlineExceededError), report.reason
    assert report.reason == "the plan's timeout (30m0s) passed before report could start"
    assert "report.yml" not in ran.dispatched()


def test_dry_run_says_what_it_would_do_and_writes_nothing(dry_run: DryRun) -> None:
    out, writes = dry_run(Example(EXAMPLE), "--var", "demo_mode=quick")
    assert writes == []
    assert "would collect every artifact from the runs of deploy, test, demo" in out
