"""examples/000-docker-image-chain: the base image, then the CI image and the deployment, then test
and lint, in the seed's five execution modes, and what a failure skips."""

from __future__ import annotations

import pytest

from tests.examples.conftest import DryRun, Example, Ran, Runner
from wait_and_dispatch.plans.model import NodeResult

EXAMPLE = "000-docker-image-chain"
WORKFLOWS = {
    "base": "build-base.yml",
    "ci": "build-ci.yml",
    "deploy": "deploy.yml",
    "test": "test.yml",
    "lint": "lint.yml",
}


@pytest.fixture(scope="module")
def pushed(run_once: Runner) -> Ran:
    """A push to main that changes torch.requirements.txt: the plan's default mode."""
    return run_once(Example(EXAMPLE))


def test_a_pytorch_change_runs_the_whole_chain(pushed: Ran) -> None:
    assert pushed.results() == dict.fromkeys(WORKFLOWS, "success")
    assert pushed.result.conclusion is NodeResult.SUCCESS


def test_every_workflow_is_dispatched_exactly_once(pushed: Ran) -> None:
    assert pushed.dispatched() == sorted(WORKFLOWS.values())


def test_ci_image_and_deployment_get_the_base_image_run(pushed: Ran) -> None:
    base_run = pushed.outcome("base").outputs["run-id"]
    assert pushed.inputs("build-ci.yml") == [{"base_run_id": base_run}]
    assert pushed.inputs("deploy.yml") == [{"base_run_id": base_run}]


def test_each_image_waits_for_the_one_it_builds_on(pushed: Ran) -> None:
    base, ci, deploy, test = (pushed.outcome(n) for n in ("base", "ci", "deploy", "test"))
    assert base.finished is not None and ci.finished is not None and deploy.finished is not None
    assert ci.started is not None and deploy.started is not None and test.started is not None
    assert ci.started >= base.finished and deploy.started >= base.finished
    assert test.started >= ci.finished
    # The CI image and the deployment build side by side.
    assert deploy.started < ci.finished


def test_test_results_are_downloaded_into_the_test_folder(pushed: Ran) -> None:
    junit = pushed.workdir / "test" / "junit.xml"
    assert 'tests="214"' in junit.read_text(encoding="utf-8")


# The seed's table "Execution Modes"; the push with a PyTorch change is `pushed` above.
MODES = {
    "app-change": {
        "base": "skipped",
        "ci": "success",
        "deploy": "success",
        "test": "success",
        "lint": "success",
    },
    "pull-request": {
        "base": "skipped",
        "ci": "skipped",
        "deploy": "skipped",
        "test": "success",
        "lint": "success",
    },
    "manual-base": {
        "base": "success",
        "ci": "success",
        "deploy": "skipped",
        "test": "success",
        "lint": "success",
    },
    "manual-ci": {
        "base": "skipped",
        "ci": "success",
        "deploy": "skipped",
        "test": "success",
        "lint": "success",
    },
}


@pytest.mark.parametrize("mode", MODES)
def test_execution_mode_runs_its_row_of_the_table(run_example: Runner, mode: str) -> None:
    ran = run_example(Example(EXAMPLE), variables={"mode": mode})
    assert ran.results() == MODES[mode]
    assert ran.dispatched() == sorted(
        WORKFLOWS[n] for n, result in MODES[mode].items() if result == "success"
    )
    assert ran.result.conclusion is NodeResult.SUCCESS
    for name, result in MODES[mode].items():
        if result == "skipped":
            reason = ran.outcome(name).reason
            assert reason.startswith("skipped: if: ") and reason.endswith(" is false"), reason


def test_base_image_failure_skips_everything_after_it(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    example.workflow("build-base.yml")["conclusion"] = "failure"
    ran = run_example(example)
    assert ran.results() == {"base": "failure", **dict.fromkeys(("ci", "deploy", "test", "lint"), "skipped")}
    run_id = ran.outcome("base").outputs["run-id"]
    assert ran.outcome("base").reason.startswith(f'run {run_id} failed: job "')  # the failed job, named
    # failure() sees every node a node depends on: test and lint skip for the base image too.
    assert all(
        ran.outcome(n).reason.startswith("skipped: base failed, so if: !failure() && !cancelled()")
        for n in ("ci", "deploy", "test", "lint")
    )
    assert ran.dispatched() == ["build-base.yml"]
    assert ran.result.conclusion is NodeResult.FAILURE


def test_ci_image_failure_skips_test_and_lint_but_deploy_goes_on(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    example.workflow("build-ci.yml")["conclusion"] = "failure"
    ran = run_example(example)
    assert ran.results() == {
        "base": "success",
        "ci": "failure",
        "deploy": "success",
        "test": "skipped",
        "lint": "skipped",
    }
    assert ran.outcome("test").reason == "skipped: ci failed, so if: !failure() && !cancelled() is false"
    assert ran.dispatched() == ["build-base.yml", "build-ci.yml", "deploy.yml"]
    assert ran.result.conclusion is NodeResult.FAILURE


def test_dry_run_says_what_it_would_dispatch_and_writes_nothing(dry_run: DryRun) -> None:
    out, writes = dry_run(Example(EXAMPLE))
    assert writes == []
    for workflow in WORKFLOWS.values():
        assert f".github/workflows/{workflow}) on main" in out
