"""Advance mode's checks nodes (plans/advance_checks.py): seed 002's required status check advances
on the completion of the pr.yaml run that carries its builds, with no orchestrator run waiting for
them, and ends as the waiting executor's run ends; without `checks-workflows` it falls back to the
short waiting job of the run that makes it ready.

In seed 002's scenario pr.yaml carries its own `backend-status-check` job, which runs the plan in
waiting mode and lasts as long as that wait. In advance mode the plan runs in the orchestrator, not
inside pr.yaml: `without_the_waiting_job` drops that job, and pr.yaml's run ends with its last build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_mock import MockerFixture

from tests.examples.advance_harness import ORCHESTRATOR, Advanced, AdvanceHarness, app_scenario, harnesses
from tests.examples.conftest import Example, Runner
from tests.examples.test_advance import advance, same_as_waiting
from wait_and_dispatch.plans.advance_deadlines import sweep_cron
from wait_and_dispatch.support.errors import ExitCode

__all__ = ["harnesses"]  # the fixture

SEED = "002-required-backend-check"
# The seed's builds take 40 to 45 minutes: no orchestrator run may take more than seconds.
SECONDS_A_RUN = 30


def without_the_waiting_job(example: Example) -> Example:
    """pr.yaml without its `backend-status-check` job (the waiting mode's job that runs the plan):
    the run completes when its last build does."""
    workflow = example.workflow("pr.yaml")
    for holder in (workflow, *workflow.get("cases", [])):
        jobs = [job for job in holder["jobs"] if job["name"] != "backend-status-check"]
        holder["jobs"] = jobs
        last = max(job["start"] + job["duration"] for job in jobs)
        holder["timeline"] = {**holder.get("timeline", workflow["timeline"]), "duration": last}
    return example


def plan_without_key(example: Example, tmp_path: Path) -> Example:
    """The example's plan without `checks-workflows:`: nothing says which workflows carry its checks."""
    text = example.plan_path.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if "checks-workflows:" not in line]
    example.plan_path = tmp_path / "plan.yml"
    example.plan_path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return example


@pytest.mark.parametrize("ref", ["pull-request/123", "main"])
def test_seed_002_the_checks_node_advances_on_the_completion_of_the_run_that_carries_its_checks(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture, ref: str
) -> None:
    example = without_the_waiting_job(Example(SEED))
    ran = advance(example, tmp_path, harnesses, mocker, ref=ref)
    same_as_waiting(ran, run_example, example, ref=ref)
    # The start found the builds going and ended; pr.yaml's completion (a workflow no node
    # dispatches, listened to by name) started the run that recorded the check.
    start, *_ = ran.invocations
    assert "its checks on" in ran.log(start) and "the runs of pr.yaml advance it" in ran.log(start)
    (recorder,) = [i for i in ran.invocations if "backend-status-check: 12 checks passed" in ran.log(i)]
    assert recorder.event_name == "workflow_run"
    assert recorder.payload["workflow_run"]["path"] == ".github/workflows/pr.yaml"
    # No orchestrator run waited for the checks.
    assert max(i.ended_at - i.started_at for i in ran.invocations) < SECONDS_A_RUN


def test_seed_002_a_failed_build_fails_the_check_as_in_waiting_mode(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = without_the_waiting_job(Example(SEED))
    jobs = example.workflow("pr.yaml")["jobs"]
    next(job for job in jobs if job["name"] == "operator (arm64)")["conclusion"] = "failure"
    ran = advance(example, tmp_path, harnesses, mocker, ref="main")
    same_as_waiting(ran, run_example, example, ref="main")
    assert (ran.results()["backend-status-check"], ran.exit_code) == ("failure", 1)
    assert max(i.ended_at - i.started_at for i in ran.invocations) < SECONDS_A_RUN


def test_seed_002_a_check_missing_once_the_carrying_run_completed_is_missing_as_in_waiting_mode(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = without_the_waiting_job(Example(SEED))
    plan = example.plan_path.read_text(encoding="utf-8").replace(
        "    checks-regex: '^(vllm|sglang|trtllm|operator) \\('\n",
        "    checks: [operator (amd64), operator (riscv64)]\n",
    )
    example.plan_path = tmp_path / "plan.yml"
    example.plan_path.write_text(plan, encoding="utf-8")
    ran = advance(example, tmp_path, harnesses, mocker, ref="main")
    same_as_waiting(ran, run_example, example, ref="main")
    node = ran.nodes["backend-status-check"]
    assert node["result"] == "failure"
    assert "operator (riscv64)" in node["reason"]
    assert max(i.ended_at - i.started_at for i in ran.invocations) < SECONDS_A_RUN


def test_seed_002_without_checks_workflows_the_checks_node_waits_in_the_run_that_makes_it_ready(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = plan_without_key(without_the_waiting_job(Example(SEED)), tmp_path)
    ran = advance(example, tmp_path, harnesses, mocker, ref="pull-request/123")
    same_as_waiting(ran, run_example, example, ref="pull-request/123")
    start = ran.invocations[0]
    assert "backend-status-check: 12 checks passed" in ran.log(start)
    assert start.ended_at - start.started_at > 1800  # the short waiting job of that node


GATE_PLAN = """\
name: Gate
repository: octo/app
ref: main
defaults:
  dispatch: always  # every instance its own run of after.yml
nodes:
  gate:
    checks: [lint, unit]
    checks-workflows: [c1.yml, c2.yml]
  after:
    workflow: after.yml
    needs: [gate]
"""


def gate_scenario() -> dict[str, Any]:
    """Two workflows whose runs carry the gate's checks (held: the test ends them), and one the
    gate frees."""

    def workflow(name: str, job: str, *, held: bool) -> dict[str, Any]:
        return {
            "held": held,
            "path": f".github/workflows/{name}.yml",
            "name": name.upper(),
            "on": ["workflow_dispatch"],
            "run_name": f"{name} [${{{{ inputs.distinct_id }}}}]",
            "inputs": {"distinct_id": {"type": "string"}},
            "timeline": {"queued": 5, "duration": 60},
            "jobs": [{"name": job, "start": 0, "duration": 60}],
            "conclusion": "success",
        }

    return app_scenario(
        [
            workflow("c1", "lint", held=True),
            workflow("c2", "unit", held=True),
            workflow("after", "deploy", held=False),
        ]
    )


def test_two_carrying_runs_completing_at_once_record_one_outcome_and_dispatch_once(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """30 times: the two runs that carry the gate's checks complete at the same moment, the two
    orchestrator runs their completions start are played at the same time, both read the checks
    decided, and the node the gate frees is dispatched once."""
    plan_path = tmp_path / "gate.yml"
    plan_path.write_text(GATE_PLAN, encoding="utf-8")
    harness = AdvanceHarness(gate_scenario(), plan_path, tmp_path / "work", mocker.patch)
    harnesses.append(harness)
    emulator, repo = harness.emulator, harness.repo.full_name
    repetitions = 30
    for _ in range(repetitions):
        with harness.api() as api:  # the commit's own runs (a push's, say)
            for workflow in ("c1.yml", "c2.yml"):
                api.post(f"{harness.repo.api_path}/actions/workflows/{workflow}/dispatches", {"ref": "main"})
        harness.clock.advance(10)  # their jobs, hence checks, have started
        harness.start()
        harness.runner.run_until_idle()  # the start: the checks are going, the gate waits on events
        for workflow in ("c1.yml", "c2.yml"):
            emulator.finish_run(emulator.runs_of(repo, workflow)[-1], "success")
        harness.runner.run_until_idle()
    ran = Advanced(harness.plan, emulator, list(harness.runner.played), dict(harness.stdout))
    dispatched = sorted(r.path.split("/")[-2] for r in ran.dispatch_requests())
    assert dispatched.count("after.yml") == repetitions
    assert len([i for i in ran.invocations if "is over: success" in ran.log(i)]) == repetitions
    logs = "".join(ran.log(i) for i in ran.invocations)
    # Each instance's gate recorded once or twice (a run that reads the refs after the other one
    # recorded it reads no checks), always the same outcome; the race was real: both runs read the
    # checks decided, and the claim let one of them dispatch after.
    assert repetitions < logs.count("gate: 2 checks passed") <= 2 * repetitions
    assert "gate: its checks on" in logs and "failure" not in logs
    assert 0 < logs.count("after: taken by another invocation") <= repetitions


def test_the_workflows_that_carry_the_checks_are_inferred_from_their_job_names_at_the_commit(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """Without checks-workflows: lint and unit are jobs of c1.yml and c2.yml as their files are at
    the commit, so those runs' completions advance the gate, and nothing waits."""
    plan_path = tmp_path / "gate.yml"
    plan_path.write_text(GATE_PLAN.replace("    checks-workflows: [c1.yml, c2.yml]\n", ""), encoding="utf-8")
    harness = AdvanceHarness(gate_scenario(), plan_path, tmp_path / "work", mocker.patch)
    harnesses.append(harness)
    emulator, repo = harness.emulator, harness.repo.full_name
    with harness.api() as api:
        for workflow in ("c1.yml", "c2.yml"):
            api.post(f"{harness.repo.api_path}/actions/workflows/{workflow}/dispatches", {"ref": "main"})
    harness.clock.advance(10)
    harness.start()
    harness.runner.run_until_idle()
    for workflow in ("c1.yml", "c2.yml"):
        harness.clock.advance(5)
        emulator.finish_run(emulator.runs_of(repo, workflow)[-1], "success")
        harness.runner.run_until_idle()
    ran = Advanced(harness.plan, emulator, list(harness.runner.played), dict(harness.stdout))
    start, *_ = ran.invocations
    assert "gate: its checks on aaaaaaa are not done; the runs of c1.yml, c2.yml advance it" in ran.log(start)
    # c1's completion leaves unit running; c2's records the gate.
    assert "gate: run" in ran.log(ran.invocations[1]) and "are not done" in ran.log(ran.invocations[1])
    assert "gate: 2 checks passed" in ran.log(ran.invocations[2])
    assert (ran.conclusion, ran.results()) == ("success", {"gate": "success", "after": "success"})
    assert max(i.ended_at - i.started_at for i in ran.invocations) < SECONDS_A_RUN


def test_an_orchestrator_in_another_repository_runs_the_checks_node_as_a_waiting_job(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    """workflow_run reaches only the orchestrator's repository: a pr.yaml run of ai-dynamo/dynamo
    never starts an orchestrator in octo/orchestrator, so checks-workflows cannot advance the node,
    which waits in the run that makes it ready. (github.sha is then the orchestrator's commit:
    the plan names main's head.)"""
    example = without_the_waiting_job(Example(SEED))
    plan = example.plan_path.read_text(encoding="utf-8").replace("${{ github.sha }}", example.sha("main"))
    example.plan_path = tmp_path / "plan.yml"
    example.plan_path.write_text(plan, encoding="utf-8")
    harness = AdvanceHarness(
        example.scenario,
        example.plan_path,
        tmp_path / "callback",
        mocker.patch,
        ref="main",
        orchestrator_repository="octo/orchestrator",
    )
    harnesses.append(harness)
    ran = harness.run_with_callbacks()
    same_as_waiting(ran, run_example, example, ref="main")
    start = ran.invocations[0]
    assert "backend-status-check: 12 checks passed" in ran.log(start)
    assert start.ended_at - start.started_at > 1800


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("defaults:\n", "timeout: 10m\ndefaults:\n"),  # the plan's
        ("    checks-workflows:", "    timeout: 10m\n    checks-workflows:"),  # the node's own
    ],
)
def test_the_sweep_times_out_a_checks_node_waiting_on_events_whose_checks_never_end(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture, old: str, new: str
) -> None:
    """The carrying runs last hours: no completion comes, and the sweep past the deadline ends the
    gate as the waiting job ends at its deadline, the checks still running."""
    plan_path = tmp_path / "gate.yml"
    plan_path.write_text(GATE_PLAN.replace(old, new, 1), encoding="utf-8")
    scenario = gate_scenario()
    for workflow in scenario["repos"]["octo/app"]["workflows"][:2]:
        workflow["timeline"]["duration"] = workflow["jobs"][0]["duration"] = 3 * 3600
    harness = AdvanceHarness(
        scenario, plan_path, tmp_path / "work", mocker.patch, schedule=(sweep_cron("5m"),)
    )
    harnesses.append(harness)
    with harness.api() as api:  # the commit's carrying runs
        for workflow in ("c1.yml", "c2.yml"):
            api.post(f"{harness.repo.api_path}/actions/workflows/{workflow}/dispatches", {"ref": "main"})
    harness.clock.advance(10)
    harness.start()
    harness.runner.play_waiting()
    for _ in range(4):  # 20 minutes of sweeps
        harness.clock.advance(300)
        harness.emulator.fire_schedule(harness.home.full_name, ORCHESTRATOR, sweep_cron("5m"))
        harness.runner.play_waiting()
    (final,) = [i for i in harness.runner.played if "nodes<<" in i.output_file.read_text(encoding="utf-8")]
    log = harness.stdout[final.run_id]
    assert final.event_name == "schedule"
    assert "gate: timed out: checks on aaaaaaa still running after " in log
    assert "after: skipped: gate failed" in log
    assert final.exit_code == ExitCode.TIMEOUT
