"""Timeouts in advance mode (plans/advance_deadlines.py): the plan's `timeout` and a node's, enforced
on every event of an instance as the waiting executor enforces them while it waits: the node fails
with a timeout, its run is cancelled with `cancel-on-timeout`, what needs it is skipped, the plan
fails with the timeout's exit code; a run that completes after its deadline is judged timed out.
"""

from __future__ import annotations

from pathlib import Path

from pytest_mock import MockerFixture

from tests.examples.advance_harness import ORCHESTRATOR, TOKEN, Advanced, AdvanceHarness, harnesses
from tests.examples.conftest import Example, Runner
from tests.examples.test_advance import advance, same_as_waiting
from tests.support.advance_runner import Invocation
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.plans.advance_deadlines import sweep_cron
from wait_and_dispatch.plans.advance_refs import plan_key
from wait_and_dispatch.support.errors import ExitCode

__all__ = ["harnesses"]  # the fixture

SKIPPED_AFTER_BASE = {"ci": "skipped", "deploy": "skipped", "test": "skipped", "lint": "skipped"}


def with_plan(example: Example, tmp_path: Path, old: str, new: str) -> Example:
    """The example with its plan file changed: `old` replaced by `new`, once."""
    text = example.plan_path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    example.plan_path = tmp_path / "plan.yml"
    example.plan_path.write_text(text.replace(old, new), encoding="utf-8")
    return example


def test_a_node_over_its_timeout_fails_the_plan_as_in_waiting_mode(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    # The base image takes 15 minutes: its 10 are over before its run completes, and its
    # completion is the event that arrives.
    base = "    workflow: build-base.yml\n"
    example = with_plan(Example("000-docker-image-chain"), tmp_path, base, f"{base}    timeout: 10m\n")
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert ran.results() == {"base": "failure", **SKIPPED_AFTER_BASE}
    assert ran.exit_code == ExitCode.TIMEOUT
    assert "still in_progress after 10m" in ran.log(ran.final), ran.log(ran.final)


def run_conclusions(emulator: Emulator, token: str, workflow: str) -> list[str | None]:
    """The conclusions of a workflow's runs (by file name), as GitHub lists them now."""
    api = GitHubApi(base_url=emulator.api_url, token=emulator.token(token), policy=RetryPolicy(), timeout=10)
    with api:
        runs = api.paginate("/repos/octo/bot/actions/runs", {"per_page": 100}, items_key="workflow_runs")
        return [r["conclusion"] for r in runs if str(r["path"]).endswith(f"/{workflow}")]


def test_a_node_over_its_timeout_is_cancelled_at_the_next_event_of_its_instance(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    # Deploy takes 8 minutes, its timeout is 5: the CI image's completion, 20 seconds after
    # deploy's deadline, is the first event that finds it over, and cancels its run.
    deploy = "    workflow: deploy.yml\n"
    example = with_plan(
        Example("000-docker-image-chain"),
        tmp_path,
        deploy,
        f"{deploy}    timeout: 5m\n    cancel-on-timeout: true\n",
    )
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert ran.results() == {
        "base": "success",
        "ci": "success",
        "deploy": "failure",
        "test": "success",
        "lint": "success",
    }
    assert ran.exit_code == ExitCode.TIMEOUT
    assert run_conclusions(ran.emulator, TOKEN, "deploy.yml") == ["cancelled"]
    waited = run_example(example)
    assert run_conclusions(waited.emulator, "dev", "deploy.yml") == ["cancelled"]
    (cancelling,) = [i for i in ran.invocations if "deploy: cancelling run" in ran.log(i)]
    assert "of ci completed" in ran.log(cancelling)


def test_the_plans_timeout_ends_the_nodes_in_progress_and_fails_those_ready_after_it(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    # The base image takes 15 minutes, then the CI image 5 and deploy 8: at 18 minutes both are
    # still going. Lint runs whatever happened, so it is ready once the CI image is over: after
    # the plan's deadline.
    example = with_plan(
        Example("000-docker-image-chain"), tmp_path, "defaults:\n", "timeout: 18m\n\ndefaults:\n"
    )
    text = example.plan_path.read_text(encoding="utf-8")
    lint, condition = text.rsplit("    if:", 1)  # lint's, the last node
    assert "lint:" in lint and "failure()" in condition
    example.plan_path.write_text(lint + "    if: ${{ always() }}\n", encoding="utf-8")
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert ran.results() == {
        "base": "success",
        "ci": "failure",
        "deploy": "failure",
        "test": "skipped",
        "lint": "failure",
    }
    assert ran.exit_code == ExitCode.TIMEOUT
    assert "the plan's timeout (18m0s) passed before lint could start" in ran.log(ran.final)


def sweep_harness(tmp_path: Path, mocker: MockerFixture, made: list[AdvanceHarness]) -> AdvanceHarness:
    """Seed 000 whose base image takes three hours against a timeout of 10 minutes, and an
    orchestrator with the sweep's schedule every 5 minutes."""
    base = "    workflow: build-base.yml\n"
    example = with_plan(Example("000-docker-image-chain"), tmp_path, base, f"{base}    timeout: 10m\n")
    example.workflow("build-base.yml")["timeline"] = {"queued": 20, "duration": 3 * 3600}
    example.workflow("build-base.yml")["jobs"][0]["duration"] = 3 * 3600
    harness = AdvanceHarness(
        example.scenario,
        example.plan_path,
        tmp_path / "advance",
        mocker.patch,
        schedule=(sweep_cron("5m"),),
    )
    made.append(harness)
    return harness


def sweep_until_over(harness: AdvanceHarness, *, every: float, within: float) -> list[Invocation]:
    """Play the orchestrator's runs, the sweep's every `every` seconds of the clock, until one
    of them reports the plan's result."""
    harness.start()
    began = harness.clock.now()
    next_tick = began + every
    while harness.clock.now() - began < within:
        harness.runner.play_waiting()
        played = list(harness.runner.played)
        if any("nodes<<" in i.output_file.read_text(encoding="utf-8") for i in played):
            return played
        activity = harness.emulator.seconds_to_next_activity()
        if activity is not None and harness.clock.now() + activity < next_tick:
            harness.clock.advance(activity)
            continue
        harness.clock.advance(max(0.0, next_tick - harness.clock.now()))
        harness.emulator.fire_schedule(harness.home.full_name, ORCHESTRATOR, sweep_cron("5m"))
        next_tick += every
    raise AssertionError("the plan did not end")


def test_the_sweep_ends_a_node_whose_run_never_completes_at_its_first_tick_past_the_deadline(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = sweep_harness(tmp_path, mocker, harnesses)
    played = sweep_until_over(harness, every=300, within=3600)
    final = played[-1]
    assert final.event_name == "schedule"
    assert harness.stdout[final.run_id].count("base: timed out: run") == 1
    # The ticks at 5 and 10 minutes found no deadline passed; the one at 15 ended the plan,
    # hours before the base image's run completes.
    assert [i.event_name for i in played] == ["workflow_dispatch", "schedule", "schedule", "schedule"]
    assert final.started_at - played[0].started_at < 16 * 60
    assert final.exit_code == ExitCode.TIMEOUT
    ran = Advanced(harness.plan, harness.emulator, played, dict(harness.stdout))
    assert ran.final == final
    assert ran.results() == {"base": "failure", **SKIPPED_AFTER_BASE}


def test_a_sweep_with_no_deadline_passed_reads_the_refs_once_and_starts_nothing(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = sweep_harness(tmp_path, mocker, harnesses)
    harness.start()
    harness.runner.play_waiting()
    harness.clock.advance(300)
    harness.emulator.fire_schedule(harness.home.full_name, ORCHESTRATOR, sweep_cron("5m"))
    before = len(harness.emulator.requests)
    (tick,) = harness.runner.play_waiting()
    paths = [r.path for r in harness.emulator.requests[before:]]
    assert paths == [f"/repos/octo/bot/git/matching-refs/wait-and-dispatch/live/{plan_key(harness.plan)}/"]
    assert tick.exit_code == 0
    assert "no deadline passed (1 in progress)" in harness.stdout[tick.run_id]


def test_a_node_that_waits_in_the_orchestrator_run_stops_at_the_plans_deadline(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    # The required check's builds take up to 45 minutes; its node waits in the run that starts the
    # plan, 2 hours at most by its own timeout, but never past the plan's 20 minutes.
    example = with_plan(
        Example("002-required-backend-check"), tmp_path, "defaults:\n", "timeout: 20m\n\ndefaults:\n"
    )
    ran = advance(example, tmp_path, harnesses, mocker, ref="main")
    same_as_waiting(ran, run_example, example, ref="main")
    assert ran.results()["backend-status-check"] == "failure"
    assert ran.exit_code == ExitCode.TIMEOUT
    first = ran.invocations[0]
    assert 20 * 60 <= first.ended_at - first.started_at < 22 * 60


def test_githubs_clock_ahead_of_the_runners_times_out_nothing_that_completed_in_time(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    # GitHub's times (a run's creation and completion) are an hour ahead of the runner's clock:
    # the deadlines are compared on one clock, so every node still succeeds.
    example = Example("000-docker-image-chain")
    example.scenario["options"]["clock_offset"] = 3600
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert set(ran.results().values()) == {"success"}
