"""Advance mode's guards, end to end on the emulator: inputs that would make it do the wrong thing
without a word (plans/advance_guards.py)."""

from __future__ import annotations

from pathlib import Path

from pytest_mock import MockerFixture

from tests.examples.advance_harness import AdvanceHarness, harnesses
from tests.examples.test_advance import JOIN_PLAN, join_scenario
from wait_and_dispatch.plans.advance_refs import plan_key

__all__ = ["harnesses"]  # the fixture


def held_start(
    tmp_path: Path, made: list[AdvanceHarness], mocker: MockerFixture, plan: str
) -> AdvanceHarness:
    """The plan started, a and b dispatched and held by the test."""
    plan_path = tmp_path / "plan.yml"
    plan_path.write_text(plan, encoding="utf-8")
    harness = AdvanceHarness(join_scenario(), plan_path, tmp_path / "work", mocker.patch)
    made.append(harness)
    harness.start()
    harness.runner.run_until_idle()
    return harness


def test_a_run_of_an_instance_left_behind_by_a_renamed_plan_says_so_and_exits_0(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = held_start(tmp_path, harnesses, mocker, JOIN_PLAN)
    old_key = plan_key(harness.plan)
    (start,) = harness.runner.played
    (tmp_path / "plan.yml").write_text(
        JOIN_PLAN.replace("name: Join", "name: Join renamed"), encoding="utf-8"
    )
    a_run = harness.emulator.runs_of(harness.repo.full_name, "a.yml")[-1]
    harness.emulator.finish_run(a_run, "success")
    harness.runner.run_until_idle()
    (completion,) = [i for i in harness.runner.played if i.run_id != start.run_id]
    log = harness.stdout[completion.run_id]
    assert completion.exit_code == 0, log
    assert (
        f"run {a_run} belongs to no instance of plan Join renamed, but is node a of instance "
        f"{start.run_id} of another plan key, {old_key}, in octo/app: the plan was probably renamed"
    ) in log
    assert f"refs/wait-and-dispatch/live/{old_key}/{start.run_id}/" in log
    assert "belongs to no instance of plan Join renamed: nothing to do" not in log


def test_a_run_of_no_instance_is_not_blamed_on_another_plan_merely_in_progress(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = held_start(tmp_path, harnesses, mocker, JOIN_PLAN)
    (start,) = harness.runner.played
    # Another plan's instance is in progress (this one, renamed), and a run of nobody's completes.
    (tmp_path / "plan.yml").write_text(JOIN_PLAN.replace("name: Join", "name: Other"), encoding="utf-8")
    with harness.api() as api:
        api.post(f"{harness.repo.api_path}/actions/workflows/join.yml/dispatches", {"ref": "main"})
    harness.runner.run_until_idle()
    (completion,) = [i for i in harness.runner.played if i.run_id != start.run_id]
    log = harness.stdout[completion.run_id]
    assert completion.exit_code == 0, log
    assert "belongs to no instance of plan Other: nothing to do" in log
    assert "another plan key" not in log


def test_a_node_run_of_the_workflow_the_plan_starts_on_advances_its_instance_and_starts_none(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    # Written by hand past the load check (which the orchestrator's checkout could not make: it has
    # no workflow files): the plan starts when workflow `a` completes, and node a runs it.
    plan = JOIN_PLAN.replace(
        "ref: main\n", "ref: main\non:\n  workflow_dispatch:\n  workflow_run:\n    workflows: [a]\n"
    )
    harness = held_start(tmp_path, harnesses, mocker, plan)
    (start,) = harness.runner.played
    a_run = harness.emulator.runs_of(harness.repo.full_name, "a.yml")[-1]
    harness.emulator.finish_run(a_run, "success")
    harness.runner.run_until_idle()
    (completion,) = [i for i in harness.runner.played if i.run_id != start.run_id]
    log = harness.stdout[completion.run_id]
    assert f"plan Join: instance {start.run_id}: run {a_run} of a completed" in log
    assert "started on" not in log
    assert len(harness.emulator.runs_of(harness.repo.full_name, "a.yml")) == 1
