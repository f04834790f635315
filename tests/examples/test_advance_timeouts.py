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
from tests.examples.test_003_gitops_demo import with_plan_timeout
from tests.examples.test_advance import advance, same_as_waiting
from tests.examples.test_advance_checks import GATE_PLAN, gate_scenario
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


def test_a_checks_node_waiting_on_events_stops_at_the_plans_deadline_as_in_waiting_mode(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    # The required check's builds take up to 45 minutes; its node waits on the completion of the
    # pr.yaml run that carries them, 2 hours at most by its own timeout, but never past the plan's
    # 20 minutes.
    example = with_plan(
        Example("002-required-backend-check"), tmp_path, "defaults:\n", "timeout: 20m\n\ndefaults:\n"
    )
    ran = advance(example, tmp_path, harnesses, mocker, ref="main")
    same_as_waiting(ran, run_example, example, ref="main")
    assert ran.results()["backend-status-check"] == "failure"
    assert ran.exit_code == ExitCode.TIMEOUT
    # No orchestrator run waited for the checks: the first event past the deadline (pr.yaml's
    # completion, 45 minutes in) ended the node with the checks as they were at the deadline.
    assert max(i.ended_at - i.started_at for i in ran.invocations) < 30
    (ending,) = [i for i in ran.invocations if "backend-status-check: timed out: checks on" in ran.log(i)]
    assert ending.event_name == "workflow_run"
    assert ending.payload["workflow_run"]["path"] == ".github/workflows/pr.yaml"
    assert ending.started_at - ran.invocations[0].started_at > 20 * 60
    waited = run_example(example, ref="main").result.outcomes["backend-status-check"].reason
    reason = ran.nodes["backend-status-check"]["reason"]
    assert reason.startswith("checks on 6ee6678 still running after 19m5")  # its wait began 2s in
    assert reason.split(": ", 1)[1] == waited.split(": ", 1)[1]  # the same checks still running


GATE_KEY = "    checks-workflows: [c1.yml, c2.yml]\n"


def gate_harness(
    tmp_path: Path, mocker: MockerFixture, made: list[AdvanceHarness], *, schedule: tuple[str, ...] = ()
) -> AdvanceHarness:
    """The gate of two checks carried by c1.yml and c2.yml (held: the test ends them), with a
    timeout of 5 minutes, started while their runs go on: it waits on events."""
    plan_path = tmp_path / "gate.yml"
    plan_path.write_text(GATE_PLAN.replace(GATE_KEY, f"{GATE_KEY}    timeout: 5m\n"), encoding="utf-8")
    scenario = gate_scenario()
    for workflow in scenario["repos"]["octo/app"]["workflows"][:2]:  # c1's lint and c2's unit
        workflow["jobs"][0]["duration"] = workflow["timeline"]["duration"] = 3600  # till the test ends them
    harness = AdvanceHarness(scenario, plan_path, tmp_path / "work", mocker.patch, schedule=schedule)
    made.append(harness)
    with harness.api() as api:  # the commit's own runs (a push's, say)
        for workflow in ("c1.yml", "c2.yml"):
            api.post(f"{harness.repo.api_path}/actions/workflows/{workflow}/dispatches", {"ref": "main"})
    harness.clock.advance(10)  # their jobs, hence checks, have started
    harness.start()
    harness.runner.run_until_idle()
    return harness


def finish(harness: AdvanceHarness, workflow: str, conclusion: str = "success") -> None:
    emulator = harness.emulator
    emulator.finish_run(emulator.runs_of(harness.repo.full_name, workflow)[-1], conclusion)


def played(harness: AdvanceHarness) -> Advanced:
    return Advanced(harness.plan, harness.emulator, list(harness.runner.played), dict(harness.stdout))


GATE_TIMED_OUT = (
    "gate: timed out: checks on aaaaaaa still running after 5m0s: lint (in_progress), unit (in_progress)"
)


def test_a_checks_node_waiting_on_events_times_out_at_its_own_timeout_while_its_checks_run(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = gate_harness(tmp_path, mocker, harnesses)
    harness.clock.advance(6 * 60)
    finish(harness, "c1.yml")  # lint completes a minute after the gate's deadline; unit goes on
    harness.runner.run_until_idle()
    ran = played(harness)
    start, ending = ran.invocations
    assert "the runs of c1.yml, c2.yml advance it" in ran.log(start)
    # As the waiting job saw it at its deadline: lint completed later, so it was still running.
    assert ending.event_name == "workflow_run"
    assert GATE_TIMED_OUT in ran.log(ending)
    assert ran.results() == {"gate": "failure", "after": "skipped"}
    assert (ran.conclusion, ran.exit_code) == ("failure", ExitCode.TIMEOUT)
    assert not [r for r in ran.dispatch_requests() if "/after.yml/" in r.path]


def test_the_sweep_ends_a_checks_node_waiting_on_events_past_its_deadline(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = gate_harness(tmp_path, mocker, harnesses, schedule=(sweep_cron("5m"),))
    emulator, home = harness.emulator, harness.home.full_name
    harness.clock.advance(4 * 60)
    emulator.fire_schedule(home, ORCHESTRATOR, sweep_cron("5m"))
    (early,) = harness.runner.play_waiting()
    harness.clock.advance(2 * 60)  # the gate's deadline passed; no carrying run has completed
    emulator.fire_schedule(home, ORCHESTRATOR, sweep_cron("5m"))
    (late,) = harness.runner.play_waiting()
    assert "no deadline passed (1 in progress)" in harness.stdout[early.run_id]
    assert GATE_TIMED_OUT in harness.stdout[late.run_id]
    ran = played(harness)
    assert ran.final == late
    assert ran.results() == {"gate": "failure", "after": "skipped"}
    assert late.exit_code == ExitCode.TIMEOUT


def test_checks_decided_before_the_deadline_and_read_after_it_are_that_outcome(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = gate_harness(tmp_path, mocker, harnesses)
    harness.clock.advance(60)
    finish(harness, "c1.yml")
    finish(harness, "c2.yml")  # both checks passed a minute in
    harness.clock.advance(5 * 60)  # the orchestrator runs of their completions start after the deadline
    harness.runner.run_until_idle()
    ran = played(harness)
    reader = next(i for i in ran.invocations if "gate:" in ran.log(i) and i.event_name == "workflow_run")
    assert reader.started_at > ran.invocations[0].started_at + 5 * 60
    assert "gate: 2 checks passed on aaaaaaa" in ran.log(reader)
    assert "timed out" not in "".join(ran.log(i) for i in ran.invocations)
    assert (ran.conclusion, ran.results()) == ("success", {"gate": "success", "after": "success"})


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


def test_a_check_failed_before_the_deadline_and_read_after_it_fails_the_node_not_times_it_out(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    harness = gate_harness(tmp_path, mocker, harnesses)
    harness.clock.advance(60)
    finish(harness, "c1.yml", "failure")  # lint fails a minute in; unit goes on past the deadline
    harness.clock.advance(5 * 60)  # the orchestrator run of its completion starts after the deadline
    harness.runner.run_until_idle()
    ran = played(harness)
    # fail-fast: the waiting job's wait ended at lint's failure, before its deadline.
    assert "gate: checks failed on aaaaaaa: lint (failure)" in ran.log(ran.final)
    assert "timed out" not in "".join(ran.log(i) for i in ran.invocations)
    assert ran.results() == {"gate": "failure", "after": "skipped"}
    assert ran.exit_code == ExitCode.CONCLUSION_NOT_ALLOWED


def test_a_checks_node_that_waits_in_the_orchestrator_run_stops_at_the_plans_deadline(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    # The required check's builds take up to 45 minutes; its node (no `checks-workflows`, and a
    # regex: no workflow is known to carry its checks) waits in the run that starts the plan, 2
    # hours at most by its own timeout, but never past the plan's 20 minutes.
    example = with_plan(
        Example("002-required-backend-check"), tmp_path, "defaults:\n", "timeout: 20m\n\ndefaults:\n"
    )
    example = with_plan(example, tmp_path, "    checks-workflows: pr.yaml\n", "")
    ran = advance(example, tmp_path, harnesses, mocker, ref="main")
    same_as_waiting(ran, run_example, example, ref="main")
    assert ran.results()["backend-status-check"] == "failure"
    assert ran.exit_code == ExitCode.TIMEOUT
    first = ran.invocations[0]
    assert 20 * 60 <= first.ended_at - first.started_at < 22 * 60


def test_a_collect_node_ready_after_the_plans_deadline_runs_all_the_same_as_in_waiting_mode(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    # Seed 003 with 30 minutes: test and demo are over them, results (collect) becomes ready at
    # the event that times them out and collects deploy's artifact; report fails without starting.
    example = with_plan_timeout(tmp_path, "30m")
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert ran.results() == {
        **dict.fromkeys(("build", "deploy", "results"), "success"),
        **dict.fromkeys(("test", "demo", "report"), "failure"),
    }
    assert ran.exit_code == ExitCode.TIMEOUT
