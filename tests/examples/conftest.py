"""Fixtures for the examples in examples/: each one's scenario, to tweak per test, and its plan run
against it through `PlanRunner` over real HTTP.

The emulator and the client share one `VirtualClock`: nodes that wait side by side overlap in
time as they would on GitHub, and an example's hour of builds takes a fraction of a second.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from wait_and_dispatch.cli import main as cli
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.emulator.log import LoggedRequest
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.requests import CallerJob
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.plans.executor import PlanContext, PlanRunner
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeOutcome, Plan, PlanResult
from wait_and_dispatch.support.clock import ManualClock, VirtualClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FOLDERS = (
    "000-docker-image-chain",
    "001-model-training",
    "002-required-backend-check",
    "003-gitops-demo",
    "004-orchestrator-per-environment",
)


class Example:
    """One folder of examples/: its plan file and its scenario as a dict a test may change."""

    def __init__(self, folder: str) -> None:
        self.folder = EXAMPLES / folder
        self.plan_path = self.folder / "plan.yml"
        self.scenario_path = self.folder / "scenario.yml"
        self.scenario: dict[str, Any] = yaml.safe_load(self.scenario_path.read_text(encoding="utf-8"))

    @property
    def repo_name(self) -> str:
        (name,) = self.scenario["repos"]  # every example holds one repository
        return str(name)

    @property
    def repo(self) -> dict[str, Any]:
        repo: dict[str, Any] = self.scenario["repos"][self.repo_name]
        return repo

    def workflow(self, file_name: str) -> dict[str, Any]:
        """The scenario's workflow with this file name, to change before the run."""
        for workflow in self.repo["workflows"]:
            if workflow["path"].rsplit("/", 1)[-1] == file_name:
                found: dict[str, Any] = workflow
                return found
        raise KeyError(f"no workflow {file_name} in {self.scenario_path}")

    def case(self, file_name: str, condition: str) -> dict[str, Any]:
        """The case of a workflow whose `if` is exactly `condition`."""
        for case in self.workflow(file_name).get("cases", []):
            if case["if"] == condition:
                found: dict[str, Any] = case
                return found
        raise KeyError(f"no case {condition!r} in {file_name}")

    def sha(self, branch: str) -> str:
        sha: str = self.repo["branches"][branch]
        return sha


@dataclass
class Ran:
    """A finished plan run: its result, and what the emulator saw."""

    plan: Plan
    result: PlanResult
    emulator: Emulator
    workdir: Path
    workflow_files: Mapping[str, str]  # workflow id (as in a dispatch's path) -> file name

    def outcome(self, node: str) -> NodeOutcome:
        return self.result.outcomes[node]

    def results(self) -> dict[str, str]:
        """Each node's result, by node id."""
        return {name: outcome.result.value for name, outcome in self.result.outcomes.items()}

    def dispatch_requests(self) -> list[LoggedRequest]:
        """The workflow_dispatch requests GitHub accepted, in order."""
        return [
            r
            for r in self.emulator.writes()
            if r.method == "POST" and r.path.endswith("/dispatches") and r.status in (200, 204)
        ]

    def workflow_file(self, request: LoggedRequest) -> str:
        """The file name of the workflow a dispatch request was for."""
        # /repos/{owner}/{repo}/actions/workflows/{id or file name}/dispatches
        workflow = request.path.split("/")[-2]
        return self.workflow_files.get(workflow, workflow)

    def dispatched(self) -> list[str]:
        """The workflow files dispatched, one entry per accepted dispatch, sorted."""
        return sorted(self.workflow_file(r) for r in self.dispatch_requests())

    def inputs(self, file_name: str) -> list[dict[str, Any]]:
        """The inputs of each accepted dispatch of this workflow (without the correlation id)."""
        found = []
        for request in self.dispatch_requests():
            if self.workflow_file(request) == file_name:
                body = request.body if isinstance(request.body, Mapping) else json.loads(request.body)
                found.append({k: v for k, v in body.get("inputs", {}).items() if k != "distinct_id"})
        return found


DryRun = Callable[..., tuple[str, list[LoggedRequest]]]


def own_caller(api: GitHubApi, repo: Repository, sha: str, own_job: tuple[str, str]) -> CallerJob:
    """The run of workflow file `own_job[0]` on `sha`, and the check run of its job `own_job[1]`."""
    file, job_name = own_job
    runs = api.get(f"{repo.api_path}/actions/runs", {"head_sha": sha}).data["workflow_runs"]
    run = next(r for r in runs if r["path"].endswith(f"/{file}"))
    checks = api.get(f"{repo.api_path}/commits/{sha}/check-runs").data["check_runs"]
    check = next(
        c for c in checks if c["name"] == job_name and c["check_suite"]["id"] == run["check_suite_id"]
    )
    return CallerJob(run_id=run["id"], run_attempt=run["run_attempt"], check_run_id=check["id"])


class Runner:
    """Runs examples' plans to their end against their scenarios, as `wait-and-dispatch plan`
    would; stops every emulator it started on `close()`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[tuple[Emulator, GitHubApi]] = []

    def __call__(
        self,
        example: Example,
        *,
        environment: str | None = None,
        variables: Mapping[str, str] | None = None,
        ref: str | None = None,
        own_job: tuple[str, str] | None = None,
    ) -> Ran:
        """`own_job` (workflow file, job name): the plan runs as that job of that workflow's run
        on the commit, as the action would know it from the runner (`GITHUB_RUN_ID`,
        `job.check_run_id`)."""
        clock = VirtualClock()
        emulator = Emulator(Scenario.from_dict(example.scenario), clock=clock)
        emulator.start()
        # Writes keep GitHub's one-second pacing: a node waiting for its turn sleeps on the virtual
        # clock (GitHubApi._write_turn), and the clock never has to be forced on (checked below).
        api = GitHubApi(
            base_url=emulator.api_url,
            token=emulator.token("dev"),
            clock=clock,
            policy=RetryPolicy(),
            timeout=10,
        )
        self.started.append((emulator, api))
        plan = load_plan(example.plan_path, environment=environment, variables=variables)
        # As the `plan` command does: github.ref_name is --ref or the default branch, github.sha its head.
        ref_name = ref or str(example.repo.get("default_branch", "main"))
        workdir = self.workdir / f"run-{len(self.started)}"
        context = PlanContext(
            repository=Repository.parse(example.repo_name),
            sha=example.sha(ref_name),
            ref_name=ref_name,
            workdir=workdir,
            caller=own_caller(api, Repository.parse(example.repo_name), example.sha(ref_name), own_job)
            if own_job
            else None,
        )
        result = PlanRunner(api, plan, context).run()
        assert clock.stalls == 0, "virtual time had to be forced on: a thread was blocked"
        files = {
            str(w.id): w.path.rsplit("/", 1)[-1]
            for w in workflow_runs.list_workflows(api, context.repository)
        }
        return Ran(plan, result, emulator, workdir, files)

    def close(self) -> None:
        for emulator, api in self.started:
            api.close()
            emulator.stop()


@pytest.fixture
def run_example(tmp_path: Path) -> Iterator[Runner]:
    """`run_example(example, environment=None, variables=None, ref=None)`: one run per call."""
    runner = Runner(tmp_path)
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def run_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """As `run_example`, for module fixtures: a run that several tests read (one run, many checks)."""
    runner = Runner(tmp_path_factory.mktemp("examples"))
    yield runner
    runner.close()


@pytest.fixture
def dry_run(monkeypatch: pytest.MonkeyPatch) -> DryRun:
    """`dry_run(example, *options)`: `wait-and-dispatch plan FILE --dry-run` against the example's
    emulator, the token in GITHUB_TOKEN as a user exports it; (what it printed, the writes)."""

    def run(example: Example, *options: str) -> tuple[str, list[LoggedRequest]]:
        with Emulator(Scenario.from_dict(example.scenario), clock=ManualClock()) as emulator:
            monkeypatch.setenv("GITHUB_TOKEN", emulator.token("dev"))
            out, err = io.StringIO(), io.StringIO()
            argv = ["plan", str(example.plan_path), "--dry-run", "--api-url", emulator.api_url]
            code = cli.main([*argv, "--repo", example.repo_name, *options], stdout=out, stderr=err)
            assert code == 0, err.getvalue()
            return out.getvalue(), emulator.writes()

    return run
