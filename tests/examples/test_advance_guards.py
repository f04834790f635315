"""Advance mode's guards, end to end on the emulator: inputs that would make it do the wrong thing
without a word (plans/advance_guards.py)."""

from __future__ import annotations

from collections.abc import Mapping
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


def moved_on(tmp_path: Path, made: list[AdvanceHarness], mocker: MockerFixture, plan_path: Path) -> str:
    """The plan started on main at aaa…, a and b held; then main moves on to bbb… and a completes:
    the completion's run has main's new head checked out. Its log."""
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    plan_path.write_text(JOIN_PLAN, encoding="utf-8")
    scenario = join_scenario()
    scenario["repos"]["octo/app"]["branches"]["next"] = "b" * 40
    harness = AdvanceHarness(scenario, plan_path, tmp_path / "work", mocker.patch)
    made.append(harness)
    harness.start()
    harness.runner.run_until_idle()
    (start,) = harness.runner.played
    with harness.api() as api:
        api.request(
            "PATCH", f"{harness.repo.api_path}/git/refs/heads/main", body={"sha": "b" * 40, "force": True}
        )
    harness.emulator.finish_run(harness.emulator.runs_of(harness.repo.full_name, "a.yml")[-1], "success")
    harness.runner.run_until_idle()
    (completion,) = [i for i in harness.runner.played if i.run_id != start.run_id]
    return harness.stdout[completion.run_id]


def test_an_absolute_plan_path_in_a_checkout_is_read_at_the_instances_commit_from_the_repository_root(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)  # the git top level, as actions/checkout leaves it
    log = moved_on(tmp_path, harnesses, mocker, checkout / "ci" / "plan.yml")
    (read,) = harnesses[0].emulator.requests_to("/repos/octo/app/contents/*plan.yml")
    assert (read.path, read.query["ref"]) == ("/repos/octo/app/contents/ci/plan.yml", ["a" * 40])
    # The emulator serves only workflow files: the plan is not there, and the run says so.
    assert "the plan file is not at aaaaaaa" in log


def test_a_plan_path_outside_the_checkout_says_so_and_what_to_do(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    plan = tmp_path / "elsewhere" / "plan.yml"
    log = moved_on(tmp_path, harnesses, mocker, plan)
    assert harnesses[0].emulator.requests_to("/repos/octo/app/contents/*plan.yml") == []
    assert (
        "instance " in log
        and (f"started on aaaaaaa, where the plan file {plan} cannot be read: it is outside the checkout ")
        in log
    )
    assert (
        "(give the plan as a path inside the orchestrator's checkout); going on with it as it is at bbbbbbb"
        in log
    )


def test_the_action_refuses_a_plan_that_starts_on_a_workflow_its_checkout_shows_a_node_runs(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    on = "on:\n  workflow_dispatch:\n  workflow_run:\n    workflows: [a]\n"
    plan_path = tmp_path / "plan.yml"
    plan_path.write_text(JOIN_PLAN.replace("ref: main\n", "ref: main\n" + on), encoding="utf-8")
    harness = AdvanceHarness(join_scenario(), plan_path, tmp_path / "work", mocker.patch)
    harnesses.append(harness)
    step = harness.runner.step

    def checked_out(environ: Mapping[str, str]) -> int:
        """The orchestrator's checkout has the node workflows, a.yml named `a`."""
        workflows = Path(environ["GITHUB_WORKSPACE"]) / ".github" / "workflows"
        workflows.mkdir(parents=True)
        (workflows / "a.yml").write_text(
            "name: a\non: workflow_dispatch\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
            "    steps: [{run: 'true'}]\n",
            encoding="utf-8",
        )
        return step(environ)

    harness.runner.step = checked_out
    harness.start()
    harness.runner.run_until_idle()
    (start,) = harness.runner.played
    log = harness.stdout[start.run_id]
    assert start.exit_code == 2, log
    assert "the plan starts on the completion of 'a', but node a runs it" in log
    assert harness.emulator.runs_of(harness.repo.full_name, "a.yml") == []


def test_a_rerun_of_a_nodes_recorded_run_says_it_changes_nothing(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = held_start(tmp_path, harnesses, mocker, JOIN_PLAN)
    repo = harness.repo.full_name
    a_run = harness.emulator.runs_of(repo, "a.yml")[-1]
    harness.emulator.finish_run(a_run, "failure")
    harness.runner.run_until_idle()  # a recorded as failed; b still going
    played = len(harness.runner.played)
    with harness.api() as api:  # GitHub's "Re-run": the same run id, a second attempt
        api.post(f"{harness.repo.api_path}/actions/runs/{a_run}/rerun", {})
    harness.emulator.finish_run(a_run, "success")
    harness.runner.run_until_idle()
    (again,) = harness.runner.played[played:]
    log = harness.stdout[again.run_id]
    assert (
        "a: its result is recorded already (failure): attempt 2 of its run changes nothing in this "
        "instance; start the plan anew to run the node again"
    ) in log
