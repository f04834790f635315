"""Timeouts in advance mode (plans/advance_deadlines.py): the plan's `timeout` and a node's, enforced
on every event of an instance as the waiting executor enforces them while it waits: the node fails
with a timeout, its run is cancelled with `cancel-on-timeout`, what needs it is skipped, the plan
fails with the timeout's exit code; a run that completes after its deadline is judged timed out.
"""

from __future__ import annotations

from pathlib import Path

from pytest_mock import MockerFixture

from tests.examples.advance_harness import AdvanceHarness, harnesses
from tests.examples.conftest import Example, Runner
from tests.examples.test_advance import advance, same_as_waiting
from wait_and_dispatch.support.errors import ExitCode

__all__ = ["harnesses"]  # the fixture

SKIPPED_AFTER_BASE = {"ci": "skipped", "deploy": "skipped", "test": "skipped", "lint": "skipped"}


def test_a_node_over_its_timeout_fails_the_plan_as_in_waiting_mode(
    tmp_path: Path, harnesses: list[AdvanceHarness], run_example: Runner, mocker: MockerFixture
) -> None:
    example = Example("000-docker-image-chain")
    # The base image takes 15 minutes: its 10 are over before its run completes.
    plan = example.plan_path.read_text(encoding="utf-8")
    example.plan_path = tmp_path / "plan.yml"
    example.plan_path.write_text(
        plan.replace("    workflow: build-base.yml\n", "    workflow: build-base.yml\n    timeout: 10m\n"),
        encoding="utf-8",
    )
    ran = advance(example, tmp_path, harnesses, mocker)
    same_as_waiting(ran, run_example, example)
    assert ran.results() == {"base": "failure", **SKIPPED_AFTER_BASE}
    assert ran.exit_code == ExitCode.TIMEOUT
    assert "still in_progress after 10m" in ran.log(ran.final), ran.log(ran.final)
    print([(i.event_name, ran.log(i)) for i in ran.invocations])
