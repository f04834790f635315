"""Advance mode never dispatches a node twice and never stalls, when an orchestrator run dies between
claiming a node and recording its run, or a create's answer is lost (plans/advance.py, "Never
dispatch twice, never stall"): the next orchestrator run of the instance, whatever its event,
recovers the node. Played end to end on the emulator, faults injected there."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_mock import MockerFixture

from tests.examples.advance_harness import Advanced, AdvanceHarness, harnesses
from tests.examples.test_advance import JOIN_PLAN, join_scenario
from wait_and_dispatch.emulator import Fault
from wait_and_dispatch.plans import advance_nodes, advance_work
from wait_and_dispatch.plans.advance_refs import GitRefStore, plan_key, read_instances

__all__ = ["harnesses"]  # the fixture

REFS = "/repos/octo/app/git/refs"


class Killed(BaseException):
    """The orchestrator's job killed mid-step (a runner lost): nothing of the step runs on."""


def harness_for(
    tmp_path: Path, made: list[AdvanceHarness], mocker: MockerFixture, plan: str, *, held: bool
) -> AdvanceHarness:
    plan_path = tmp_path / "plan.yml"
    plan_path.write_text(plan, encoding="utf-8")
    scenario = join_scenario()
    for workflow in scenario["repos"]["octo/app"]["workflows"]:
        workflow["held"] = held and workflow["name"] in ("a", "b")
    harness = AdvanceHarness(scenario, plan_path, tmp_path / "work", mocker.patch)
    made.append(harness)
    step = harness.runner.step

    def job(environ: Mapping[str, str]) -> int:
        try:
            return step(environ)
        except Killed:
            harness.stdout[int(environ["GITHUB_RUN_ID"])] = ""  # its log is lost with it
            return 137  # as a job whose step process was killed

    harness.runner.step = job
    return harness


def dispatched(ran: Advanced) -> list[str]:
    return sorted(r.path.split("/")[-2] for r in ran.dispatch_requests())


def played(harness: AdvanceHarness) -> Advanced:
    return Advanced(harness.plan, harness.emulator, list(harness.runner.played), dict(harness.stdout))


def kill_when_starting(mocker: MockerFixture, node: str, times: int = 1) -> list[str]:
    """Kill the orchestrator's step right after its first claim on `node`, before it dispatches it."""
    original = advance_work.InstanceWork._run
    killed: list[str] = []

    def run(work: Any, planned: Any, number: int) -> Any:
        if planned.name == node and number == 1 and len(killed) < times:
            killed.append(node)
            raise Killed
        return original(work, planned, number)

    mocker.patch.object(advance_work.InstanceWork, "_run", autospec=True, side_effect=run)
    return killed


def test_a_run_whose_dispatcher_died_before_recording_it_is_found_by_its_completion(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """The start dispatches a, then its job dies before it records a's run (the run ref's create
    fails twice). a's completion is of no recorded instance, but its name shows the correlation
    id of the instance's claim on a: that run advances the instance, a once, and the plan ends."""
    harness = harness_for(tmp_path, harnesses, mocker, JOIN_PLAN, held=False)
    # Creates: the instance's start, the claim on a, then a's run ref (and its one retry).
    harness.emulator.inject(Fault(path=REFS, method="POST", status=502, after=2, times=2))
    ran = harness.run()
    assert dispatched(ran) == ["a.yml", "b.yml", "join.yml"]
    assert ran.invocations[0].conclusion == "failure"
    (recovering,) = [i for i in ran.invocations if "a: claimed with nothing recorded" in ran.log(i)]
    assert "a: dispatched run " in ran.log(recovering)
    assert (ran.conclusion, ran.exit_code) == ("success", 0)
    assert len(ran.of_the_instance) <= len(ran.plan.nodes) + 2


def test_a_claim_whose_answer_was_lost_is_claimed_again_and_dispatched_once(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """The claim on a is made but its answer lost (a 502 after the write): read back, the ref is
    there but cannot be told ours. Nobody may act on it: a is claimed again (claim/a/2) once the
    grace has passed with no run of it, and dispatched once."""
    harness = harness_for(tmp_path, harnesses, mocker, JOIN_PLAN, held=False)
    fault = harness.emulator.inject(Fault(path=REFS, method="POST", kind="apply_then_fail", after=1))
    ran = harness.run()
    assert fault.fired == 1
    assert dispatched(ran) == ["a.yml", "b.yml", "join.yml"]
    start = ran.log(ran.invocations[0])
    assert "a: the answer to its claim was lost; recovering it" in start
    assert f"giving its claim's holder {advance_nodes.RECOVERY_GRACE:.0f}s to record it" in start
    assert (ran.conclusion, ran.exit_code) == ("success", 0)


RACE_PLAN = """\
name: Race
repository: octo/app
ref: main
defaults:
  dispatch: always
nodes:
  a:
    workflow: a.yml
  b:
    workflow: b.yml
  x:
    workflow: join.yml
"""


def test_two_recoverers_at_the_same_moment_dispatch_the_stranded_node_once(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """10 times: the start dispatches a and b, claims x and dies. a and b complete at the same
    moment; the two orchestrator runs they start both find x claimed with nothing recorded, both
    wait out the grace, and one of them has x's second claim: x is dispatched once."""
    harness = harness_for(tmp_path, harnesses, mocker, RACE_PLAN, held=True)
    emulator, repo = harness.emulator, harness.repo.full_name
    repetitions = 10
    killed = kill_when_starting(mocker, "x", times=repetitions)
    for repetition in range(repetitions):
        harness.start()
        harness.runner.run_until_idle()  # the start: a and b dispatched, x claimed, then killed
        assert len(killed) == repetition + 1
        for workflow in ("a.yml", "b.yml"):
            emulator.finish_run(emulator.runs_of(repo, workflow)[-1], "success")
        harness.runner.run_until_idle()
    ran = played(harness)
    assert dispatched(ran) == ["a.yml"] * repetitions + ["b.yml"] * repetitions + ["join.yml"] * repetitions
    assert len([i for i in ran.invocations if "is over: success" in ran.log(i)]) == repetitions
    logs = "".join(ran.log(i) for i in ran.invocations)
    # Both recovered x each time; the second claim let exactly one of them have it.
    assert logs.count("x: claimed with nothing recorded; recovering it") == 2 * repetitions
    lost = logs.count("x: taken by another invocation") + logs.count("x: recorded by another invocation")
    assert lost == repetitions
    with harness.api() as api:
        refs = GitRefStore(api, harness.repo).matching(f"wait-and-dispatch/live/{plan_key(ran.plan)}/")
        assert read_instances(refs, plan_key(ran.plan)) == {}  # every instance over


def test_a_node_that_does_not_wait_whose_job_died_after_dispatching_is_recorded_not_dispatched_again(
    tmp_path: Path, harnesses: list[AdvanceHarness], mocker: MockerFixture
) -> None:
    """x runs in the start's job (`wait: false`), which dies after dispatching it and before
    recording it. Its `inline` ref names that job's run, which is over: the next run (a's
    completion) finds x's run by its correlation id and records it, without waiting out x's
    timeout and without a second dispatch."""
    plan = RACE_PLAN.replace("    workflow: join.yml\n", "    workflow: join.yml\n    wait: false\n")
    harness = harness_for(tmp_path, harnesses, mocker, plan, held=True)
    original = advance_work.InstanceWork._note_run
    killed: list[str] = []

    def note_run(work: Any, name: str, outcome: Any) -> Any:
        if name == "x" and not killed:
            killed.append("x")
            raise Killed
        return original(work, name, outcome)

    mocker.patch.object(advance_work.InstanceWork, "_note_run", autospec=True, side_effect=note_run)
    emulator, repo = harness.emulator, harness.repo.full_name
    harness.start()
    harness.runner.run_until_idle()
    assert killed == ["x"]
    for workflow in ("a.yml", "b.yml"):
        emulator.finish_run(emulator.runs_of(repo, workflow)[-1], "success")
        harness.runner.run_until_idle()
    ran = played(harness)
    assert dispatched(ran) == ["a.yml", "b.yml", "join.yml"]
    (recovering,) = [i for i in ran.invocations if "x: claimed with nothing recorded" in ran.log(i)]
    assert "giving its claim's holder" not in ran.log(recovering)
    assert (ran.conclusion, ran.results()["x"], ran.nodes["x"]["outputs"]["dispatched"]) == (
        "success",
        "success",
        "true",
    )
