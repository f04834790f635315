"""The scheduler on its own (docs/plans.md, "Running a plan"): from what is known about a plan,
which nodes start, which end without running and why, and whether the plan has ended and how.

No API, no threads, no clock: each test builds a state by hand, as the executor (or a step that
rebuilds the state from GitHub's runs) would, and reads the step the scheduler gives.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, Plan
from wait_and_dispatch.plans.scheduler import (
    PlanContext,
    PlanState,
    Step,
    cancelled_while_running,
    empty_outputs,
    next_step,
    state_from,
    when_stopped,
)
from wait_and_dispatch.support.errors import UsageError

CONTEXT = PlanContext(repository=Repository("octo", "app"), sha="abc1234", ref_name="main")


def plan(text: str) -> Plan:
    return load_plan(Path("plan.yml"), text=textwrap.dedent(text))


def ran(
    name: str, result: NodeResult = NodeResult.SUCCESS, /, *, allowed: bool = False, **outputs: str
) -> NodeOutcome:
    """The outcome of a node that ran, with these outputs (`run_id` for `run-id`)."""
    values = empty_outputs()
    values.update({key.replace("_", "-"): value for key, value in outputs.items()})
    return NodeOutcome(name, result, values, reason=f"{name} {result.value}", allowed_failure=allowed)


def after(the_plan: Plan, state: PlanState, *outcomes: NodeOutcome) -> Step:
    """Record these ended nodes (each first started, as the executor does), then take a step."""
    for outcome in outcomes:
        state = state.started(outcome.name).ended(outcome, fail_fast=the_plan.fail_fast)
    return next_step(the_plan, CONTEXT, state)


def results(step: Step) -> dict[str, str]:
    return {o.name: o.reason for o in step.decided}


DIAMOND = """\
    name: diamond
    nodes:
      base: {workflow: base.yml}
      left: {workflow: left.yml, needs: [base]}
      right: {workflow: right.yml, needs: [base]}
      join: {workflow: join.yml, needs: [left, right]}
    """


def test_the_nodes_without_needs_start_first_and_the_others_wait() -> None:
    step = next_step(plan(DIAMOND), CONTEXT, PlanState())

    assert step.start == ("base",)
    assert step.decided == ()
    assert step.state.running == frozenset({"base"})
    assert not step.over
    assert step.conclusion is None


def test_a_node_starts_once_every_need_has_succeeded() -> None:
    diamond = plan(DIAMOND)

    first = after(diamond, PlanState(), ran("base"))
    second = after(diamond, first.state, ran("left"))
    third = after(diamond, second.state, ran("right"))

    assert first.start == ("left", "right")
    assert second.start == ()
    assert third.start == ("join",)


def test_a_step_leaves_the_state_it_was_given_unchanged() -> None:
    diamond = plan(DIAMOND)
    state = PlanState()

    next_step(diamond, CONTEXT, state)

    assert state == PlanState()


def test_a_failed_need_skips_the_nodes_after_it_in_one_step() -> None:
    step = after(plan(DIAMOND), PlanState(), ran("base", NodeResult.FAILURE))

    assert step.start == ()
    assert results(step) == {
        "left": "skipped: base failed",
        "right": "skipped: base failed",
        "join": "skipped: left was skipped",
    }
    assert step.over
    assert step.conclusion is NodeResult.FAILURE


def test_the_plan_ends_in_success_when_every_node_succeeded() -> None:
    diamond = plan(DIAMOND)
    state = after(diamond, PlanState(), ran("base"), ran("left"), ran("right")).state

    step = after(diamond, state, ran("join"))

    assert step.over
    assert step.conclusion is NodeResult.SUCCESS


def test_an_if_reads_the_result_and_outputs_of_needs() -> None:
    the_plan = plan(
        """\
        name: ifs
        nodes:
          build: {workflow: build.yml, continue-on-error: true}
          report:
            workflow: report.yml
            needs: [build]
            if: always() && needs.build.outputs.conclusion == 'failure'
          deploy:
            workflow: deploy.yml
            needs: [build]
            if: needs.build.outputs.conclusion == 'success'
        """
    )

    step = after(the_plan, PlanState(), ran("build", NodeResult.FAILURE, allowed=True, conclusion="failure"))

    assert step.start == ("report",)
    assert results(step) == {"deploy": "skipped: if: needs.build.outputs.conclusion == 'success' is false"}


def test_an_if_on_needs_result_sees_success_for_a_failure_allowed_by_continue_on_error() -> None:
    the_plan = plan(
        """\
        name: allowed
        nodes:
          flaky: {workflow: flaky.yml, continue-on-error: true}
          next:
            workflow: next.yml
            needs: [flaky]
            if: needs.flaky.result == 'success'
        """
    )

    step = after(the_plan, PlanState(), ran("flaky", NodeResult.FAILURE, allowed=True))
    last = after(the_plan, step.state, ran("next"))

    assert step.start == ("next",)
    assert last.conclusion is NodeResult.SUCCESS


def test_failure_runs_a_node_when_a_node_upstream_failed_and_success_skips_it() -> None:
    the_plan = plan(
        """\
        name: upstream
        nodes:
          a: {workflow: a.yml}
          b: {workflow: b.yml, needs: [a], if: always()}
          on-failure: {workflow: alert.yml, needs: [b], if: failure()}
          c: {workflow: c.yml, needs: [b]}
        """
    )
    state = after(the_plan, PlanState(), ran("a", NodeResult.FAILURE)).state

    step = after(the_plan, state, ran("b"))

    assert step.start == ("on-failure",)
    assert results(step) == {"c": "skipped: a failed"}


def test_an_if_that_cannot_be_evaluated_fails_the_node_without_running_it() -> None:
    the_plan = plan(
        """\
        name: broken
        nodes:
          a: {workflow: a.yml}
          b: {workflow: b.yml, needs: [a], if: "fromJSON(needs.a.outputs.result).x"}
        """
    )

    step = after(the_plan, PlanState(), ran("a", result="not json"))

    (outcome,) = step.decided
    assert outcome.result is NodeResult.FAILURE
    assert isinstance(outcome.error, UsageError)
    assert outcome.reason.startswith("b.if: ")
    assert step.state.fail_fast_after is None  # it did not run, so fail-fast does not count it


def test_fail_fast_skips_what_has_not_started_but_runs_a_node_with_a_status_function() -> None:
    the_plan = plan(
        """\
        name: fast
        fail-fast: true
        nodes:
          a: {workflow: a.yml}
          b: {workflow: b.yml}
          c: {workflow: c.yml, needs: [b]}
          cleanup: {workflow: cleanup.yml, needs: [b], if: always()}
        """
    )
    state = next_step(the_plan, CONTEXT, PlanState()).state  # a and b run

    step = next_step(the_plan, CONTEXT, state.ended(ran("a", NodeResult.FAILURE), fail_fast=True))
    last = next_step(the_plan, CONTEXT, step.state.ended(ran("b"), fail_fast=True))

    assert step.start == () and step.decided == ()  # b is still running: it finishes
    assert step.state.fail_fast_after == "a"
    assert last.start == ("cleanup",)
    assert results(last) == {"c": "skipped: fail-fast after a failed"}


def test_without_fail_fast_the_branches_that_do_not_depend_on_a_failure_go_on() -> None:
    the_plan = plan(
        """\
        name: slow
        nodes:
          a: {workflow: a.yml}
          b: {workflow: b.yml}
          c: {workflow: c.yml, needs: [b]}
        """
    )
    state = next_step(the_plan, CONTEXT, PlanState()).state
    state = next_step(the_plan, CONTEXT, state.ended(ran("a", NodeResult.FAILURE), fail_fast=False)).state

    step = next_step(the_plan, CONTEXT, state.ended(ran("b"), fail_fast=False))

    assert step.start == ("c",)


def test_no_more_nodes_run_at_once_than_the_plans_concurrency() -> None:
    the_plan = plan(
        """\
        name: narrow
        concurrency: 2
        nodes:
          a: {workflow: a.yml}
          b: {workflow: b.yml}
          c: {workflow: c.yml}
          d: {workflow: d.yml}
        """
    )

    first = next_step(the_plan, CONTEXT, PlanState())
    second = next_step(the_plan, CONTEXT, first.state.ended(ran("b"), fail_fast=False))

    assert first.start == ("a", "b")
    assert second.start == ("c",)
    assert second.state.running == frozenset({"a", "c"})


def test_a_matrix_node_is_one_node_per_member_and_its_id_in_needs_waits_for_all_of_them() -> None:
    the_plan = plan(
        """\
        name: matrix
        nodes:
          train:
            workflow: train.yml
            matrix: {attempt: [1, 2]}
            inputs: {attempt: "${{ matrix.attempt }}"}
          pick:
            workflow: pick.yml
            needs: [train]
            if: needs.train-2.outputs.run-id != ''
        """
    )

    first = next_step(the_plan, CONTEXT, PlanState())
    second = next_step(the_plan, CONTEXT, first.state.ended(ran("train-1"), fail_fast=False))
    third = next_step(the_plan, CONTEXT, second.state.ended(ran("train-2", run_id="7"), fail_fast=False))

    assert first.start == ("train-1", "train-2")
    assert the_plan.nodes["train-2"].matrix == {"attempt": 2}
    assert second.start == ()
    assert third.start == ("pick",)


def test_cancelling_decides_every_node_not_started_except_those_with_a_status_function() -> None:
    the_plan = plan(
        """\
        name: cancel
        nodes:
          a: {workflow: a.yml}
          b: {workflow: b.yml, needs: [a]}
          report: {workflow: report.yml, needs: [a], if: cancelled()}
        """
    )
    running = next_step(the_plan, CONTEXT, PlanState()).state

    step = next_step(the_plan, CONTEXT, running.cancel())
    last = next_step(
        the_plan,
        CONTEXT,
        step.state.ended(cancelled_while_running(ran("a", NodeResult.FAILURE, run_id="9")), fail_fast=False),
    )

    assert results(step) == {"b": "cancelled: the plan was cancelled"}
    assert step.start == ()  # report waits for a, which is still running
    assert last.start == ("report",)  # cancelled() is true
    assert not last.over
    assert next_step(the_plan, CONTEXT, last.state.ended(ran("report"), fail_fast=False)).conclusion is (
        NodeResult.CANCELLED
    )


def test_a_node_whose_run_was_cancelled_with_the_plan_is_cancelled_not_failed() -> None:
    failed = cancelled_while_running(ran("a", NodeResult.FAILURE, run_id="9"))
    succeeded = cancelled_while_running(ran("b", NodeResult.SUCCESS, run_id="10"))

    assert (failed.result, failed.reason) == (
        NodeResult.CANCELLED,
        "cancelled: run 9 was cancelled with the plan",
    )
    assert succeeded.result is NodeResult.SUCCESS  # its outputs are real


def test_a_state_rebuilt_from_what_each_node_gave_decides_as_the_recorded_one() -> None:
    # A step that knows the nodes only from their runs, in no particular order, gets the same
    # answer as the executor that recorded them as they ended.
    the_plan = plan(
        """\
        name: rebuilt
        fail-fast: true
        nodes:
          a: {workflow: a.yml}
          b: {workflow: b.yml}
          c: {workflow: c.yml, needs: [b]}
          d: {workflow: d.yml, needs: [a], if: always()}
        """
    )
    a = replace(ran("a", NodeResult.FAILURE), started=1.0, finished=5.0)
    b = replace(ran("b"), started=1.0, finished=9.0)
    recorded = PlanState().started("a").started("b").ended(a, fail_fast=True).ended(b, fail_fast=True)

    rebuilt = state_from(the_plan, [b, a])

    assert rebuilt == recorded
    step = next_step(the_plan, CONTEXT, rebuilt)
    assert step.start == ("d",)
    assert results(step) == {"c": "skipped: fail-fast after a failed"}


def test_a_node_failed_by_its_if_does_not_stop_new_nodes_when_the_state_is_rebuilt() -> None:
    the_plan = plan(
        """\
        name: rebuilt
        fail-fast: true
        nodes:
          a: {workflow: a.yml}
          b: {workflow: b.yml}
        """
    )
    decided = replace(ran("a", NodeResult.FAILURE), finished=1.0)  # never started: its `if` failed

    assert next_step(the_plan, CONTEXT, state_from(the_plan, [decided])).start == ("b",)


@pytest.mark.parametrize(("running", "said"), [(True, "still in progress"), (False, "not started")])
def test_a_plan_that_stops_waiting_gives_every_node_without_an_outcome_cancelled(
    running: bool, said: str
) -> None:
    the_plan = plan(DIAMOND)
    state = PlanState(outcomes={"base": ran("base")}, running=frozenset({"left"} if running else ()))

    outcomes = when_stopped(the_plan, state.cancel())

    assert list(outcomes) == ["base", "left", "right", "join"]
    assert outcomes["base"].result is NodeResult.SUCCESS
    assert (
        outcomes["left"].reason
        == f"cancelled: {'still in progress' if running else 'not started'} when the plan stopped"
    )
    assert outcomes["join"].reason == "cancelled: not started when the plan stopped"
    assert said in outcomes["left"].reason
