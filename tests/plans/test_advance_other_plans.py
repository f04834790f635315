"""A completed run of no instance of this plan, but of an instance of another plan key in the same
repository: said only when that is this plan before a rename (plans/advance_guards.py), never
because other plans, or this plan's other environments, go on beside it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.advance import Advancer
from wait_and_dispatch.plans.advance_refs import RefStore, live_prefix, plan_key
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import Plan

PLAN = """\
name: Deploy
repository: octo/app
nodes:
  build:
    workflow: build.yml
environments:
  dev: {}
  prod: {}
"""


class _Refs:
    """Refs in memory: what `Advancer.completed` reads before any other request."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def matching(self, prefix: str) -> list[tuple[str, str]]:
        return [(name, "1" * 40) for name in self.names if name.startswith(prefix)]

    def create(self, name: str, sha: str) -> Any:
        raise AssertionError(f"created {name}")

    def delete(self, name: str) -> None:
        raise AssertionError(f"deleted {name}")


def instance_of(key: str, run: int) -> list[str]:
    """An instance of plan key `key` whose node build dispatched run `run`."""
    return [f"{live_prefix(key)}7/start/push/main", f"{live_prefix(key)}7/run/build/{run}"]


def completed(plan: Plan, tmp_path: Path, refs: list[str], old: Plan | None) -> str:
    advancer = Advancer(
        cast(GitHubApi, None),
        plan,
        Repository.parse("octo/app"),
        cast(RefStore, _Refs(refs)),
        workdir=tmp_path,
        plan_sha="2" * 40,
        plan_at=lambda sha: old,
    )
    (report,) = advancer.completed(9001)
    (line,) = report.lines
    return line


def loaded(tmp_path: Path, environment: str) -> Plan:
    path = tmp_path / "plan.yml"
    path.write_text(PLAN, encoding="utf-8")
    return load_plan(path, environment=environment)


def test_a_run_of_this_plan_under_its_old_name_names_it_and_how_to_finish_it(tmp_path: Path) -> None:
    plan = loaded(tmp_path, "dev")
    old = replace(plan, name="Ship")
    line = completed(plan, tmp_path, instance_of(plan_key(old), 9001), old)
    assert line == (
        f"run 9001 belongs to no instance of plan Deploy (environment dev), but is node build of instance "
        f"7 of plan Ship (environment dev) (key {plan_key(old)}), as this plan file named it at 1111111, "
        "in octo/app: the plan was renamed, which left that instance behind; hint: to finish it, run the "
        "orchestrator with the plan named Ship (environment dev) again until it ends, or drop it by "
        f"deleting its refs under refs/wait-and-dispatch/live/{plan_key(old)}/7/"
    )


def test_a_run_of_this_plans_other_environment_is_no_warning(tmp_path: Path) -> None:
    dev, prod = loaded(tmp_path, "dev"), loaded(tmp_path, "prod")
    line = completed(dev, tmp_path, instance_of(plan_key(prod), 9001), None)
    assert line == "run 9001 belongs to no instance of plan Deploy: nothing to do"


def test_a_run_of_another_plan_file_sharing_a_workflow_is_no_warning(tmp_path: Path) -> None:
    plan = loaded(tmp_path, "dev")
    other = replace(plan, name="Nightly")
    # This plan file, read at the other instance's commit, was this plan: the instance is another's.
    line = completed(plan, tmp_path, instance_of(plan_key(other), 9001), plan)
    assert line == "run 9001 belongs to no instance of plan Deploy: nothing to do"


def test_a_run_of_an_instance_from_before_this_plan_file_existed_is_no_warning(tmp_path: Path) -> None:
    plan = loaded(tmp_path, "dev")
    other = replace(plan, name="Nightly")
    line = completed(plan, tmp_path, instance_of(plan_key(other), 9001), None)  # not at that commit
    assert line == "run 9001 belongs to no instance of plan Deploy: nothing to do"
