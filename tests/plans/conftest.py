"""Plan fixtures: a repository of workflows in the emulator, plans built from the model's
dataclasses, and a runner over real HTTP, all on one `VirtualClock`.

The clock is virtual because nodes run concurrently: their waits must overlap in simulated time
(two 10-minute runs side by side take 10 minutes, not 20) while the test takes milliseconds.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.plans.executor import PlanContext, PlanEvent, PlanRunner
from wait_and_dispatch.plans.model import Collect, NodeKind, Plan, PlanNode, Select
from wait_and_dispatch.support.clock import VirtualClock

BOT = Repository("octo", "bot")
BOT_SHA = "c" * 40
QUEUED = 5  # seconds every run spends queued


def workflow(
    file: str,
    duration: float,
    *,
    conclusion: str = "success",
    inputs: tuple[str, ...] = (),
    artifacts: tuple[tuple[str, Mapping[str, Any]], ...] = (),
) -> dict[str, Any]:
    """A dispatchable workflow whose runs show their correlation id (so each plan node's run is
    told apart from another node's run of the same workflow), with JSON files as artifacts."""
    return {
        "path": f".github/workflows/{file}",
        "name": file.removesuffix(".yml"),
        "on": ["workflow_dispatch"],
        "run_name": file.removesuffix(".yml") + " [${{ inputs.distinct_id }}]",
        "inputs": {
            "distinct_id": {"type": "string", "required": False},
            **{name: {"type": "string", "required": False} for name in inputs},
        },
        "timeline": {"queued": QUEUED, "duration": duration},
        "conclusion": conclusion,
        "jobs": [{"name": "main", "steps": ["Run"], "start": 0, "duration": duration}],
        "artifacts": [
            {"name": name, "files": {"metrics.json": json.dumps(content)}} for name, content in artifacts
        ],
    }


# Seed 000's pipeline, with its durations: base 15 min, then CI image 5 min and deploy 8 min,
# then test 2 min and lint 1 min after the CI image.
SEED_WORKFLOWS = {
    "base": workflow("base.yml", 900),
    "ci": workflow("ci.yml", 300, inputs=("base_run_id",)),
    "deploy": workflow("deploy.yml", 480),
    "test": workflow("test.yml", 120),
    "lint": workflow("lint.yml", 60),
    "report": workflow("report.yml", 30, inputs=("base_result", "ci_result")),
}


def training_workflows(metrics: Mapping[int, Mapping[str, float]]) -> dict[str, dict[str, Any]]:
    """`train-N.yml` uploading artifact `metrics-N` with `metrics.json` = `metrics[N]`."""
    return {
        f"train-{n}": workflow(f"train-{n}.yml", 600, artifacts=((f"metrics-{n}", values),))
        for n, values in metrics.items()
    }


def scenario(workflows: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "options": {"return_run_details": True, "dispatch_visibility_delay": 3, "artifact_url_ttl": 60},
        "tokens": {
            "dev": {
                "secret": "ghp_plans_dev_secret",
                "kind": "pat",
                "repos": "*",
                "permissions": {"actions": "write", "contents": "write", "checks": "read"},
                "actor": "octocat",
            }
        },
        "repos": {
            BOT.full_name: {
                "private": True,
                "default_branch": "main",
                "branches": {"main": BOT_SHA},
                "workflows": [copy.deepcopy(w) for w in workflows.values()],
            }
        },
    }


def node(
    name: str,
    *,
    needs: tuple[str, ...] = (),
    condition: str = "",
    continue_on_error: bool = False,
    **values: Any,
) -> PlanNode:
    """A workflow node as the loader makes it: `<name>.yml`, `path` named after it, and quick
    polling (a node notices its run's end within 10 s); keyword values use `_` for `-`."""
    return PlanNode(
        name=name,
        title=name,
        kind=NodeKind.WORKFLOW,
        needs=needs,
        condition=condition,
        values={
            "workflow": f"{name}.yml",
            "path": name,
            "poll-interval": "5s",
            "max-poll-interval": "10s",
            **{key.replace("_", "-"): value for key, value in values.items()},
        },
        continue_on_error=continue_on_error,
    )


def collect_node(
    name: str,
    sources: tuple[str, ...],
    *,
    patterns: tuple[str, ...] = ("metrics-*",),
    select: Select | None = None,
    gate: str | None = None,
    condition: str = "",
) -> PlanNode:
    return PlanNode(
        name=name,
        title=name,
        kind=NodeKind.COLLECT,
        needs=sources,
        condition=condition,
        values={"path": name},
        collect=Collect(sources=sources, patterns=patterns, path="metrics"),
        select=select,
        gate=gate,
    )


def make_plan(
    *nodes: PlanNode,
    concurrency: int = 8,
    fail_fast: bool = False,
    timeout: float | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Plan:
    return Plan(
        file="pipeline.yml",
        name="Docker images",
        environment=None,
        environments=(),
        repository=BOT.full_name,
        concurrency=concurrency,
        fail_fast=fail_fast,
        timeout=timeout,
        vars=dict(variables or {}),
        nodes={n.name: n for n in nodes},
    )


def seed_plan(**options: Any) -> Plan:
    """Seed 000: base, then ci (given base's run id) and deploy, then test and lint after ci."""
    return make_plan(
        node("base"),
        node("ci", needs=("base",), inputs={"base_run_id": "${{ needs.base.outputs.run-id }}"}),
        node("deploy", needs=("base",)),
        node("test", needs=("ci",)),
        node("lint", needs=("ci",)),
        **options,
    )


@pytest.fixture
def vclock() -> Iterator[VirtualClock]:
    clock = VirtualClock()
    yield clock
    # Every wait in these tests is decided by the clock alone, never by a stall timeout.
    assert clock.stalls == 0


@pytest.fixture
def start_bot(vclock: VirtualClock) -> Iterator[Callable[[Mapping[str, dict[str, Any]]], Emulator]]:
    started: list[Emulator] = []

    def start(workflows: Mapping[str, dict[str, Any]]) -> Emulator:
        emulator = Emulator(Scenario.from_dict(scenario(workflows)), clock=vclock)
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def bot_api(vclock: VirtualClock) -> Iterator[Callable[..., GitHubApi]]:
    clients: list[GitHubApi] = []

    def make(emulator: Emulator, *, read_only: bool = False) -> GitHubApi:
        api = GitHubApi(
            base_url=emulator.api_url,
            token=emulator.token("dev"),
            clock=vclock,
            # Writes keep GitHub's one-second pacing: a writer waiting for its turn sleeps on the
            # virtual clock (GitHubApi._write_turn), so concurrent dispatches never stall it.
            policy=RetryPolicy(),
            timeout=10,
            read_only=read_only,
        )
        clients.append(api)
        return api

    yield make
    for api in clients:
        api.close()


class Recorder:
    """The events a runner reported, in order."""

    def __init__(self) -> None:
        self.events: list[PlanEvent] = []

    def __call__(self, event: PlanEvent) -> None:
        self.events.append(event)

    def for_node(self, name: str) -> list[PlanEvent]:
        return [e for e in self.events if e.node == name]


@pytest.fixture
def make_runner(
    start_bot: Callable[[Mapping[str, dict[str, Any]]], Emulator],
    bot_api: Callable[..., GitHubApi],
    tmp_path: Path,
) -> Callable[..., tuple[PlanRunner, Emulator, Recorder]]:
    """A runner for `plan` over an emulator serving `workflows`, downloading under tmp_path."""

    def make(
        plan: Plan,
        workflows: Mapping[str, dict[str, Any]] = SEED_WORKFLOWS,
        *,
        read_only: bool = False,
        on_event: Callable[[PlanEvent], None] | None = None,
    ) -> tuple[PlanRunner, Emulator, Recorder]:
        emulator = start_bot(workflows)
        recorder = Recorder()

        def record(event: PlanEvent) -> None:
            recorder(event)
            if on_event is not None:
                on_event(event)

        runner = PlanRunner(
            bot_api(emulator, read_only=read_only),
            plan,
            PlanContext(repository=BOT, sha=BOT_SHA, ref_name="main", workdir=tmp_path),
            on_event=record,
        )
        return runner, emulator, recorder

    return make


def failing(workflows: Mapping[str, dict[str, Any]], *names: str) -> dict[str, dict[str, Any]]:
    """The workflows, with those named concluding `failure`."""
    changed = copy.deepcopy(dict(workflows))
    for name in names:
        changed[name]["conclusion"] = "failure"
    return changed
