"""Advance mode's event, as a job is given it: which runs start an instance, which record a
completed run, which are nothing to do, and what the payload may not hold."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.advance import (
    CALLBACK_EVENT_TYPE,
    Advancer,
    AdvanceReport,
)
from wait_and_dispatch.plans.advance_nodes import runs_inline
from wait_and_dispatch.plans.advance_refs import Instance, RefStore, read_instances
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeResult, Plan
from wait_and_dispatch.session.advance import read_event
from wait_and_dispatch.support.errors import UsageError

PLAN = """\
name: Chain
repository: octo/app
on:
  workflow_dispatch:
  workflow_run:
    workflows: [Release train]
    types: [completed]
nodes:
  build:
    workflow: build.yml
  gate:
    checks: [lint]
    needs: [build]
  pick:
    run-id: "42"
  collect:
    needs: [build]
    collect:
      from: [build]
"""


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    path = tmp_path / "plan.yml"
    path.write_text(PLAN, encoding="utf-8")
    return load_plan(path)


def environ(tmp_path: Path, event: str, payload: dict[str, Any] | None = None) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload or {}), encoding="utf-8")
    return {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": "octo/orchestrator",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_REF": "refs/heads/release/2.0",
        "GITHUB_RUN_ID": "777",
    }


# (`schedule` starts one when it is the plan's own: tests/plans/test_advance_sweep.py.)
@pytest.mark.parametrize("event", ["workflow_dispatch", "push"])
def test_the_orchestrators_own_start_begins_an_instance(plan: Plan, tmp_path: Path, event: str) -> None:
    read = read_event(environ(tmp_path, event), plan)
    assert read.starts
    assert (read.run_id, read.ref_name, read.repository.full_name) == (
        "777",
        "release/2.0",
        "octo/orchestrator",
    )


def test_a_completed_node_run_is_recorded(plan: Plan, tmp_path: Path) -> None:
    payload = {
        "action": "completed",
        "workflow_run": {"id": 9001, "name": "Build"},
        "workflow": {"name": "Build"},
    }
    read = read_event(environ(tmp_path, "workflow_run", payload), plan)
    assert (read.starts, read.completed_run) == (False, 9001)


def test_a_run_of_a_workflow_the_plan_starts_on_is_a_start(plan: Plan, tmp_path: Path) -> None:
    payload = {"action": "completed", "workflow_run": {"id": 5}, "workflow": {"name": "Release train"}}
    assert read_event(environ(tmp_path, "workflow_run", payload), plan).starts


def test_a_run_that_did_not_complete_is_nothing_to_do(plan: Plan, tmp_path: Path) -> None:
    payload = {"action": "requested", "workflow_run": {"id": 5}, "workflow": {"name": "Build"}}
    read = read_event(environ(tmp_path, "workflow_run", payload), plan)
    assert read.ignored == "workflow_run 'requested' is not a completion"


def test_the_callback_names_the_completed_run(plan: Plan, tmp_path: Path) -> None:
    payload = {"action": CALLBACK_EVENT_TYPE, "client_payload": {"run_id": "31337"}}
    assert read_event(environ(tmp_path, "repository_dispatch", payload), plan).completed_run == 31337
    other = {"action": "deploy", "client_payload": {"run_id": 1}}
    assert read_event(environ(tmp_path, "repository_dispatch", other), plan).starts


@pytest.mark.parametrize("run_id", [None, "12a", True, -3.5, {"id": 1}])
def test_a_payload_without_a_run_id_is_refused(plan: Plan, tmp_path: Path, run_id: Any) -> None:
    payload = {"action": "completed", "workflow_run": {"id": run_id}, "workflow": {"name": "Build"}}
    with pytest.raises(UsageError, match="names no run id"):
        read_event(environ(tmp_path, "workflow_run", payload), plan)


def test_without_the_runners_variables_it_says_where_to_run_it(plan: Plan) -> None:
    with pytest.raises(
        UsageError, match="GITHUB_EVENT_NAME, GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_REF, GITHUB_RUN_ID"
    ):
        read_event({}, plan)


def test_a_payload_that_is_not_json_is_refused(plan: Plan, tmp_path: Path) -> None:
    env = environ(tmp_path, "workflow_run")
    Path(env["GITHUB_EVENT_PATH"]).write_text("<html>", encoding="utf-8")
    with pytest.raises(UsageError, match="is not a JSON object"):
        read_event(env, plan)


def test_a_payload_that_is_not_utf8_is_refused(plan: Plan, tmp_path: Path) -> None:
    env = environ(tmp_path, "workflow_run")
    Path(env["GITHUB_EVENT_PATH"]).write_bytes(b'\xff\xfe{"action": "completed"}')
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        read_event(env, plan)


def test_a_run_id_of_other_digits_than_ascii_is_refused(plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        read_event({**environ(tmp_path, "workflow_dispatch"), "GITHUB_RUN_ID": "\u00b2"}, plan)
    payload = {"action": "completed", "workflow_run": {"id": "\u00b2"}, "workflow": {"name": "Build"}}
    with pytest.raises(UsageError, match="names no run id"):
        read_event(environ(tmp_path, "workflow_run", payload), plan)


class _Refs:
    """Refs in memory, for what `Advancer.start` decides before any API call."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.created: list[str] = []

    def matching(self, prefix: str) -> list[tuple[str, str]]:
        return [(name, "a" * 40) for name in self.names if name.startswith(prefix)]

    def create(self, name: str, sha: str) -> Any:
        self.created.append(name)
        raise AssertionError(f"created {name}")

    def delete(self, name: str) -> None:
        raise AssertionError(f"deleted {name}")


def test_a_rerun_of_the_run_that_started_an_instance_now_over_starts_nothing(
    plan: Plan, tmp_path: Path
) -> None:
    # GitHub's "Re-run" keeps the run id: the instance it names is over, its live refs deleted.
    from wait_and_dispatch.plans.advance_refs import ended_ref, plan_key

    refs = _Refs([ended_ref(plan_key(plan), "777"), ended_ref(plan_key(plan), "7770")])
    advancer = Advancer(
        cast(GitHubApi, None), plan, Repository.parse("octo/app"), cast(RefStore, refs), workdir=tmp_path
    )
    report = advancer.start("777", "a" * 40, event_name="workflow_dispatch", ref_name="main")
    assert refs.created == [] and report.dispatched == {}
    assert report.lines == [
        "plan Chain: instance 777 is over already (this re-runs the run that started it): nothing to do; "
        "start the orchestrator anew to run the plan again"
    ]


def test_only_workflow_nodes_that_dispatch_and_wait_are_advanced_by_events(plan: Plan) -> None:
    assert {name: runs_inline(node) for name, node in plan.nodes.items()} == {
        "build": False,
        "gate": True,
        "pick": True,
        "collect": True,
    }


def test_refs_that_are_not_an_instances_are_left_out() -> None:
    prefix = "wait-and-dispatch/live/k/"
    refs = [
        (f"{prefix}1/start/push/main", "a" * 40),
        (f"{prefix}1/claim/build", "a" * 40),
        (f"{prefix}1/claim/gate", "a" * 40),
        (f"{prefix}1/claim-3/gate", "a" * 40),  # its third claim, after recovery
        (f"{prefix}1/claim-x/pick", "a" * 40),  # no claim number
        (f"{prefix}1/claim-1/pick", "a" * 40),  # the first claim has no number
        (f"{prefix}1/inline/gate/3/1700000000/9002", "a" * 40),
        (f"{prefix}1/inline/gate/x/1700000000/9002", "a" * 40),  # no claim number
        (f"{prefix}1/run/build/9001", "a" * 40),
        (f"{prefix}1/done/build/success", "a" * 40),
        (f"{prefix}1/done/gate/maybe", "a" * 40),  # no result
        (f"{prefix}1/run/gate/x", "a" * 40),  # no run id
        (f"{prefix}2/claim/build", "a" * 40),  # no start: half made
        ("wait-and-dispatch/live/other/3/start/push/main", "a" * 40),
    ]
    (instance,) = read_instances(refs, "k").values()
    assert (instance.id, instance.event_name, instance.ref_name) == ("1", "push", "main")
    assert (instance.claims, instance.runs, instance.done) == (
        {"build": 1, "gate": 3},
        {"build": 9001},
        {"build": NodeResult.SUCCESS},
    )
    assert instance.inline == {("gate", 3): (1700000000.0, 9002)}


def test_an_instance_advances_with_the_plan_as_it_was_where_it_started(plan: Plan, tmp_path: Path) -> None:
    """A workflow_run job checks out the default branch's head: the plan may have changed since
    the instance started, or the instance may have started on another branch."""
    started, now = "1" * 40, "2" * 40
    older = replace(plan, name="Chain as it was")
    read: list[str] = []

    def plan_at(sha: str) -> Plan | None:
        read.append(sha)
        return older if sha == started else None

    advancer = Advancer(
        cast(GitHubApi, None),
        plan,
        Repository.parse("octo/app"),
        cast(RefStore, None),
        workdir=tmp_path,
        plan_sha=now,
        plan_at=plan_at,
    )
    report = AdvanceReport("7")
    assert advancer._plan_of(Instance("7", now, "push", "main"), report) is plan
    assert advancer._plan_of(Instance("7", started, "push", "main"), report) is older
    assert advancer._plan_of(Instance("8", "3" * 40, "push", "main"), report) is plan
    assert read == [started, "3" * 40]
    assert report.lines == [
        "the plan file is not at 3333333, where instance 8 started: going on with it as it is at 2222222"
    ]
