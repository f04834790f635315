"""examples/004-orchestrator-per-environment: one plan, three environments (dev, test, prd); python
then terraform with its lambda package, docker then kubernetes; each code type's workflow found by
head SHA when a push already started it, else dispatched."""

from __future__ import annotations

import io

import pytest

from tests.examples.conftest import DryRun, Example, Ran, Runner
from wait_and_dispatch.cli import main as cli
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeResult

EXAMPLE = "004-orchestrator-per-environment"
BRANCHES = {"dev": "develop", "test": "main", "prd": "main"}
# Pushes to develop and main have already started python-dev.yml and python-test.yml.
PUSHED = {"dev": True, "test": True, "prd": False}
NODES = ("python", "terraform", "docker", "kubernetes")


@pytest.fixture(scope="module", params=list(BRANCHES))
def deployed(request: pytest.FixtureRequest, run_once: Runner) -> tuple[str, Ran]:
    """The plan run for one environment, as its orchestrator runs it (on its branch)."""
    environment: str = request.param
    return environment, run_once(Example(EXAMPLE), environment=environment, ref=BRANCHES[environment])


def test_every_code_type_deploys(deployed: tuple[str, Ran]) -> None:
    _, ran = deployed
    assert ran.results() == dict.fromkeys(NODES, "success")
    assert ran.result.conclusion is NodeResult.SUCCESS


def test_python_is_found_when_a_push_started_it_and_dispatched_otherwise(deployed: tuple[str, Ran]) -> None:
    environment, ran = deployed
    python = ran.outcome("python")
    assert python.outputs["dispatched"] == ("false" if PUSHED[environment] else "true")
    others = [f"{code}-{environment}.yml" for code in ("docker", "kubernetes", "terraform")]
    expected = others if PUSHED[environment] else [f"python-{environment}.yml", *others]
    assert ran.dispatched() == sorted(expected)


def test_each_environment_dispatches_on_its_branch(deployed: tuple[str, Ran]) -> None:
    environment, ran = deployed
    assert {r.body["ref"] for r in ran.dispatch_requests()} == {BRANCHES[environment]}


def test_terraform_gets_the_run_of_the_lambda_package(deployed: tuple[str, Ran]) -> None:
    environment, ran = deployed
    package_run = ran.outcome("python").outputs["run-id"]
    assert ran.inputs(f"terraform-{environment}.yml") == [{"package_run_id": package_run}]


def test_kubernetes_gets_the_run_of_the_image(deployed: tuple[str, Ran]) -> None:
    environment, ran = deployed
    image_run = ran.outcome("docker").outputs["run-id"]
    assert ran.inputs(f"kubernetes-{environment}.yml") == [{"image_run_id": image_run}]


def test_the_lambda_package_of_the_environment_is_downloaded(deployed: tuple[str, Ran]) -> None:
    environment, ran = deployed
    package = ran.workdir / "python" / "lambda-package.zip"
    assert package.read_text(encoding="utf-8").startswith(
        f"order-export lambda for {environment}, built from "
    )


def test_python_failure_skips_terraform_but_docker_and_kubernetes_go_on(run_example: Runner) -> None:
    example = Example(EXAMPLE)
    (push_run,) = [r for r in example.repo["runs"] if r["workflow"] == "python-dev.yml"]
    push_run["conclusion"] = "failure"
    ran = run_example(example, environment="dev", ref="develop")
    assert ran.results() == {
        "python": "failure",
        "terraform": "skipped",
        "docker": "success",
        "kubernetes": "success",
    }
    assert ran.outcome("terraform").reason == "skipped: python failed"
    assert ran.dispatched() == ["docker-dev.yml", "kubernetes-dev.yml"]
    assert ran.result.conclusion is NodeResult.FAILURE


def test_without_its_push_run_python_dev_cannot_be_dispatched(run_example: Runner) -> None:
    # python-dev.yml has no workflow_dispatch trigger: what `--emit-workflow` warns about.
    example = Example(EXAMPLE)
    example.repo["runs"] = [r for r in example.repo["runs"] if r["workflow"] != "python-dev.yml"]
    ran = run_example(example, environment="dev", ref="develop")
    assert ran.results() == {
        "python": "failure",
        "terraform": "skipped",
        "docker": "success",
        "kubernetes": "success",
    }
    assert "workflow_dispatch" in ran.outcome("python").reason
    assert "python-dev.yml" not in ran.dispatched()


def test_each_environment_has_its_own_trigger() -> None:
    triggers = {env: load_plan(Example(EXAMPLE).plan_path, environment=env).on for env in BRANCHES}
    assert triggers == {
        "dev": {"push": {"branches": ["develop"]}},
        "test": {"push": {"branches": ["main"]}},
        "prd": {
            "workflow_run": {
                "workflows": ["Orchestrator Serverless app (test)"],
                "types": ["completed"],
                "branches": ["main"],
            }
        },
    }


def test_emit_report_names_the_workflow_without_workflow_dispatch() -> None:
    example = Example(EXAMPLE)
    out, err = io.StringIO(), io.StringIO()
    argv = ["plan", str(example.plan_path), "--emit-workflow", "--output-dir", "-", "--action-ref", "./"]
    code = cli.main(
        [*argv, "--workflows-dir", str(example.folder / ".github" / "workflows")], stdout=out, stderr=err
    )
    assert code == 0, err.getvalue()
    # With --output-dir -, stdout holds only the workflows; the report goes to stderr.
    findings = [line for line in err.getvalue().splitlines() if line.startswith("to change: ")]
    assert len(findings) == 1
    assert findings[0].endswith(
        "python-dev.yml: node python dispatches it, but it has no workflow_dispatch trigger"
    )
    assert "name: Orchestrator Serverless app (test)" in out.getvalue()


def test_dry_run_for_test_says_it_would_reuse_the_push_run_and_writes_nothing(dry_run: DryRun) -> None:
    out, writes = dry_run(Example(EXAMPLE), "--environment", "test", "--ref", "main")
    assert writes == []
    assert "would reuse run" in out and "'Python Test [push]'" in out
    assert "would dispatch Terraform Test (.github/workflows/terraform-test.yml) on main" in out
