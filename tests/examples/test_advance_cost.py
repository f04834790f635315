"""What one advance invocation spends reading runs: a small constant whatever the number of nodes
(plans/advance_runs.py). A plan fans out to `width` nodes whose runs complete one after another,
then joins them; each orchestrator run's counted requests are read from the emulator's log."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pytest_mock import MockerFixture

from tests.examples.advance_harness import (
    ORCHESTRATOR,
    TOKEN,
    Advanced,
    AdvanceHarness,
    app_scenario,
    harnesses,
)
from tests.examples.fan_plans import fan_plan, fan_scenario
from wait_and_dispatch.emulator.log import LoggedRequest
from wait_and_dispatch.plans.advance_runs import LIST_FROM

__all__ = ["harnesses"]  # the fixture

_ONE_RUN = re.compile(r"/actions/runs/\d+$")


def run_fan(width: int, tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture) -> Advanced:
    plan_path = tmp_path / f"fan{width}.yml"
    plan_path.write_text(fan_plan(width), encoding="utf-8")
    harness = AdvanceHarness(fan_scenario(width), plan_path, tmp_path / f"work{width}", mocker.patch)
    harnesses.append(harness)
    ran = harness.run()
    assert ran.conclusion == "success"
    assert len(ran.nodes) == width + 2
    return ran


def counted(ran: Advanced, invocation: Any) -> list[LoggedRequest]:
    """The requests of one orchestrator run that count against the rate limit."""
    return [
        r
        for r in ran.emulator.requests
        if r.token_name == TOKEN
        and r.host == "api"
        and r.status != 304
        and ORCHESTRATOR not in r.path
        and invocation.started_at <= r.time <= invocation.ended_at
    ]


def middle(ran: Advanced) -> list[Any]:
    """The runs on the completion of a w<i> that dispatch nothing (every w<i> but the last)."""
    return [i for i in ran.invocations if i.event_name == "workflow_run" and i not in (ran.final,)][1:-1]


def test_an_event_with_many_runs_still_going_reads_them_in_one_list(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """With 8 nodes going, a completion reads their runs with one list, not one request each,
    and spends what it spends with 5 going."""
    spent = {}
    for width in (LIST_FROM + 1, 8):
        ran = run_fan(width, tmp_path, harnesses, mocker)
        runs = middle(ran)
        assert len(runs) == width - 1
        spent[width] = [len(counted(ran, i)) for i in runs]
        first = counted(ran, runs[0])  # width - 1 runs going besides its own
        assert sum(1 for r in first if r.method == "GET" and r.path.endswith("/actions/runs")) == 1
        assert sum(1 for r in first if r.method == "GET" and _ONE_RUN.search(r.path)) <= 2
    assert max(spent[8]) == max(spent[LIST_FROM + 1])


def test_the_run_that_ends_the_plan_reads_every_node_run_in_one_list(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """The plan's whole result needs every node's run: one list and the instance's first run,
    not a request per node."""
    ran = run_fan(8, tmp_path, harnesses, mocker)
    final = counted(ran, ran.final)
    assert sum(1 for r in final if r.method == "GET" and r.path.endswith("/actions/runs")) == 1
    assert sum(1 for r in final if r.method == "GET" and _ONE_RUN.search(r.path)) <= 2
    assert {name: node["result"] for name, node in ran.nodes.items()} == dict.fromkeys(ran.nodes, "success")


LAG_PLAN = """\
name: lag
defaults:
  dispatch: always  # every instance its own runs
nodes:
  a:
    workflow: a.yml
  b:
    workflow: b.yml
  c:
    workflow: c.yml
  d:
    workflow: d.yml
  join:
    workflow: join.yml
    needs: [a, b]
"""


def lag_scenario() -> dict[str, Any]:
    """Four workflows whose runs the test ends, and a join; lists of runs a minute behind."""

    def workflow(name: str, *, held: bool) -> dict[str, Any]:
        return {
            "held": held,
            "path": f".github/workflows/{name}.yml",
            "name": name,
            "on": ["workflow_dispatch"],
            "run_name": f"{name} [${{{{ inputs.distinct_id }}}}]",
            "inputs": {"distinct_id": {"type": "string"}},
            "timeline": {"queued": 5, "duration": 60},
            "conclusion": "success",
        }

    return app_scenario(
        [
            *(workflow(name, held=True) for name in "abcd"),
            workflow("join", held=False),
        ],
        list_status_lag=60,
    )


def test_two_completions_at_once_seen_going_by_a_lagging_list_still_free_their_node_once(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """50 times: a and b complete at the same moment while c and d go on, so each completion's
    run reads the four runs in one list, which shows the other completion's run still going; the
    refs read again after recording its own tell one of the two, and join is dispatched once."""
    plan_path = tmp_path / "lag.yml"
    plan_path.write_text(LAG_PLAN, encoding="utf-8")
    harness = AdvanceHarness(lag_scenario(), plan_path, tmp_path / "work", mocker.patch)
    harnesses.append(harness)
    emulator, repo = harness.emulator, harness.repo.full_name
    repetitions = 50
    for repetition in range(repetitions):
        harness.start()
        harness.runner.run_until_idle()  # the start: a, b, c and d dispatched, held by the test
        for workflow in ("a.yml", "b.yml"):
            emulator.finish_run(emulator.runs_of(repo, workflow)[-1], "success")
        harness.runner.run_until_idle()  # both completions' runs at once; join runs and completes
        assert len(emulator.runs_of(repo, "join.yml")) == repetition + 1
        for workflow in ("c.yml", "d.yml"):
            emulator.finish_run(emulator.runs_of(repo, workflow)[-1], "success")
        harness.runner.run_until_idle()
    ran = Advanced(harness.plan, emulator, list(harness.runner.played), dict(harness.stdout))
    dispatched = sorted(r.path.split("/")[-2] for r in ran.dispatch_requests())
    assert dispatched == sorted([*(f"{n}.yml" for n in "abcd"), "join.yml"] * repetitions)
    assert sum("is over: success" in ran.log(i) for i in ran.invocations) == repetitions
    listed = [r for r in emulator.requests if r.method == "GET" and r.path == f"/repos/{repo}/actions/runs"]
    assert listed  # the runs still going were read in one list
