"""examples/002-required-backend-check: the required `backend-status-check` over the framework builds
of a pull-request/N branch (skipped builds are fine, a failed one is not), and the deployment tests
that only run on main."""

from __future__ import annotations

import json

import pytest

from tests.examples.conftest import DryRun, Example, Ran, Runner
from wait_and_dispatch.plans.model import NodeResult

EXAMPLE = "002-required-backend-check"
PR_BRANCH = "pull-request/123"
DEPLOYMENT = ("deploy-operator", "deploy-test-vllm", "deploy-test-sglang", "deploy-test-trtllm", "cleanup")
BUILT = [
    "trtllm (amd64, cuda13.0)",
    "trtllm (arm64, cuda13.0)",
    "vllm (amd64, cuda12.9)",
    "vllm (amd64, cuda13.0)",
    "vllm (arm64, cuda12.9)",
    "vllm (arm64, cuda13.0)",
]
NOT_CHANGED = [
    "operator (amd64)",
    "operator (arm64)",
    "sglang (amd64, cuda12.9)",
    "sglang (amd64, cuda13.0)",
    "sglang (arm64, cuda12.9)",
    "sglang (arm64, cuda13.0)",
]


def checks_seen(ran: Ran) -> dict[str, str]:
    checks: dict[str, str] = json.loads(ran.outcome("backend-status-check").outputs["checks"])
    return checks


@pytest.fixture(scope="module")
def on_pull_request(run_once: Runner) -> Ran:
    """The plan run for the commit copy-pr-bot pushed to pull-request/123."""
    return run_once(Example(EXAMPLE), ref=PR_BRANCH)


@pytest.fixture(scope="module")
def on_main(run_once: Runner) -> Ran:
    return run_once(Example(EXAMPLE), ref="main")


def test_check_passes_when_the_changed_frameworks_build(on_pull_request: Ran) -> None:
    outcome = on_pull_request.outcome("backend-status-check")
    assert outcome.result is NodeResult.SUCCESS
    assert outcome.reason == "12 checks passed on 59ad8fb"


def test_builds_that_did_not_run_count_as_passed(on_pull_request: Ran) -> None:
    assert checks_seen(on_pull_request) == {
        **dict.fromkeys(BUILT, "success"),
        **dict.fromkeys(NOT_CHANGED, "skipped"),
    }


def test_check_waits_until_the_last_build_has_finished(on_pull_request: Ran) -> None:
    # pr.yaml started ten minutes before the plan and its slowest builds end 45.5 minutes in, so
    # the last check completes 35.5 minutes (2,130 s) after the plan starts; the node sees it at
    # one of its next polls, which come at most every 2 minutes (max-poll-interval).
    waited = on_pull_request.outcome("backend-status-check").duration
    assert waited is not None and 2130 <= waited < 2130 + 300


def test_deployment_tests_are_skipped_on_a_pull_request_branch(on_pull_request: Ran) -> None:
    assert on_pull_request.results() == {
        "backend-status-check": "success",
        **dict.fromkeys(DEPLOYMENT, "skipped"),
    }
    assert (
        on_pull_request.outcome("deploy-operator").reason == "skipped: if: github.ref_name == 'main' is false"
    )
    assert on_pull_request.outcome("deploy-test-vllm").reason == "skipped: deploy-operator was skipped"
    assert on_pull_request.dispatched() == []
    assert on_pull_request.result.conclusion is NodeResult.SUCCESS


def test_a_failed_build_fails_the_check(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    case = example.case("pr.yaml", f"github.ref_name == '{PR_BRANCH}'")
    case["conclusion"] = "failure"
    next(j for j in case["jobs"] if j["name"] == "trtllm (amd64, cuda13.0)")["conclusion"] = "failure"
    ran = run_example(example, ref=PR_BRANCH)
    assert ran.results() == {"backend-status-check": "failure", **dict.fromkeys(DEPLOYMENT, "skipped")}
    assert checks_seen(ran)["trtllm (amd64, cuda13.0)"] == "failure"
    assert "trtllm (amd64, cuda13.0)" in ran.outcome("backend-status-check").reason
    assert ran.result.conclusion is NodeResult.FAILURE


def test_on_main_the_deployment_tests_run_after_the_check(on_main: Ran) -> None:
    assert on_main.results() == dict.fromkeys(("backend-status-check", *DEPLOYMENT), "success")
    assert on_main.dispatched() == ["cleanup.yml", "deploy-operator.yml", *["deploy-test.yml"] * 3]
    assert sorted(i["framework"] for i in on_main.inputs("deploy-test.yml")) == ["sglang", "trtllm", "vllm"]


def test_on_main_every_framework_is_built_and_checked(on_main: Ran) -> None:
    assert checks_seen(on_main) == dict.fromkeys(BUILT + NOT_CHANGED, "success")


def test_deployment_tests_follow_the_operator_and_cleanup_follows_them(on_main: Ran) -> None:
    operator = on_main.outcome("deploy-operator")
    tests = [on_main.outcome(f"deploy-test-{f}") for f in ("vllm", "sglang", "trtllm")]
    cleanup = on_main.outcome("cleanup")
    assert operator.finished is not None and cleanup.started is not None
    assert all(t.started is not None and t.started >= operator.finished for t in tests)
    assert all(t.finished is not None and cleanup.started >= t.finished for t in tests)


def test_cleanup_runs_even_when_a_deployment_test_fails(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    example.workflow("deploy-test.yml")["cases"] = [
        {"if": "inputs.framework == 'sglang'", "conclusion": "failure"}
    ]
    ran = run_example(example, ref="main")
    assert ran.results() == {
        **dict.fromkeys(("backend-status-check", *DEPLOYMENT), "success"),
        "deploy-test-sglang": "failure",
    }
    assert ran.result.conclusion is NodeResult.FAILURE


def test_dry_run_on_the_pull_request_branch_writes_nothing(dry_run: DryRun) -> None:
    out, writes = dry_run(Example(EXAMPLE), "--ref", PR_BRANCH)
    assert writes == []
    assert "would wait up to 2h0m0s for checks on 59ad8fb: /^(vllm|sglang|trtllm|operator) \\(/" in out


def on_a_busy_commit(example: Example, branch: str) -> Example:
    """The builds on `branch` end within 10 s of the plan's start, while the plan's own job (of the
    same pr.yaml run) and the sibling dynamo-status-check (another workflow) run for ten minutes."""
    for file in ("pr.yaml", "container-validation-dynamo.yml"):
        workflow = example.workflow(file)
        workflow["timeline"] = {"queued": 0, "duration": 600}
        for job in [*workflow["jobs"], *(j for case in workflow.get("cases", []) for j in case["jobs"])]:
            long = job["name"] in ("backend-status-check", "dynamo-status-check", "build-dynamo")
            job.update({"start": 0, "duration": 600} if long else {"start": 1, "duration": 9})
    for run in example.repo["runs"]:
        if run["head_branch"] == branch:
            run["created"] = 0
    return example


def test_on_a_busy_commit_the_check_ends_after_the_last_build_and_the_deployments_run(
    run_example: Runner,
) -> None:
    example = on_a_busy_commit(Example(EXAMPLE), "main")

    ran = run_example(example, ref="main", own_job=("pr.yaml", "backend-status-check"))

    assert ran.results() == dict.fromkeys(("backend-status-check", *DEPLOYMENT), "success")
    check = ran.outcome("backend-status-check")
    assert check.reason == "12 checks passed on 6ee6678"
    # The last build ends 10 s in; the node sees it at its next poll, not when the own run or the
    # sibling ends ten minutes in. Polls follow each other after 1 to 2 times poll-interval (30s,
    # jittered), so that poll comes at most 60 s after the one before the build ended.
    assert check.duration is not None and 10 <= check.duration <= 10 + 2 * 30 + 1
