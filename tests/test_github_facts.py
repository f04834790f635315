"""The tests' own list of run states (tests/support/github_facts.py) agrees with GitHub's REST
description, the copy in tests/data/github-openapi/, so the oracle the emulator and the engine are
checked against is GitHub's and not a guess."""

from __future__ import annotations

import json
from typing import Any

from tests.support.github_facts import RUN_CONCLUSIONS, RUN_STATUSES
from tests.support.openapi import SPEC_FILE


def operation(operation_id: str) -> dict[str, Any]:
    spec = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise AssertionError(f"{operation_id} is not in {SPEC_FILE.name}")


def test_the_runs_status_filter_takes_every_status_and_every_conclusion_but_startup_failure() -> None:
    parameters = operation("actions/list-workflow-runs-for-repo")["parameters"]
    (status,) = [p for p in parameters if p["name"] == "status"]
    documented = set(status["schema"]["enum"])
    assert documented == set(RUN_STATUSES) | set(RUN_CONCLUSIONS) - {"startup_failure"}


def test_startup_failure_is_a_conclusion_of_a_workflow_runs_check_suite() -> None:
    answer = operation("checks/list-suites-for-ref")["responses"]["200"]["content"]["application/json"]
    conclusion = answer["schema"]["properties"]["check_suites"]["items"]["properties"]["conclusion"]
    assert set(RUN_CONCLUSIONS) <= set(conclusion["enum"])
