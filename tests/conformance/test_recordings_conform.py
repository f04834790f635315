"""The harness agrees with GitHub: every recorded real exchange conforms to the description.

If the harness rejected what GitHub really sent, its verdicts on the emulator would mean nothing.
Where a recording predates a field the description now requires, the allowance is listed below,
field by field and recording by recording.
"""

from __future__ import annotations

import re

import pytest

from tests.support.openapi import OpenApiSpec, assert_conforms
from tests.support.recordings import Exchange, all_exchanges, recording_names

SPEC = OpenApiSpec.load()
COVERED = [exchange for exchange in all_exchanges() if SPEC.covers(exchange.method, exchange.path_with_query)]
UNCOVERED = [exchange for exchange in all_exchanges() if exchange not in COVERED]

# Required fields that GitHub added after these exchanges were recorded: (recording, where in the
# body, field). The description is from 2026; the recordings go back to 2020.
FIELDS_ADDED_AFTER_RECORDING = frozenset(
    {
        # Workflow runs listed in May 2020, before run names (`display_title`, 2022) and the
        # workflow file `path` were part of a workflow run.
        *(
            (source, ".workflow_runs[*]", field)
            for source in (
                "Repository.testGetWorkflowRuns",
                "Workflow.testGetRunsWithNoArguments",
                "Workflow.testGetRunsWithStrings",
            )
            for field in ("display_title", "path")
        ),
        # Repositories fetched in 2020-2022, before `has_discussions` was part of a repository.
        *(
            (source, "", "has_discussions")
            for source in (
                "Artifact.testDelete",
                "Repository.testGetWorkflowId",
                "Repository.testGetWorkflowRuns",
                "Repository.testGetWorkflows",
                "Workflow.setUp",
                "Workflow.testCreateDispatchForNonTriggerEnabled",
                "Workflow.testCreateDispatchWithReturnRunDetails",
                "Workflow.testCreateDispatchWithString",
            )
        ),
    }
)

_MISSING_REQUIRED = re.compile(r": body(?P<where>[^:]*): '(?P<field>\w+)' is a required property$")


def _allowed(exchange: Exchange, violation: str) -> bool:
    match = _MISSING_REQUIRED.search(violation)
    if match is None:
        return False
    where = re.sub(r"\[\d+\]", "[*]", match["where"])
    return (exchange.source, where, match["field"]) in FIELDS_ADDED_AFTER_RECORDING


def _api_version(exchange: Exchange) -> str | None:
    return exchange.request_headers.get("X-GitHub-Api-Version")


@pytest.mark.parametrize("exchange", COVERED, ids=lambda exchange: exchange.id)
def test_recorded_response_conforms_to_the_description(exchange: Exchange) -> None:
    violations = SPEC.check_response(
        exchange.method,
        exchange.path_with_query,
        exchange.status,
        exchange.response_headers,
        exchange.response_body,
        api_version=_api_version(exchange),
    )
    assert_conforms([violation for violation in violations if not _allowed(exchange, violation)], exchange.id)


@pytest.mark.parametrize("exchange", COVERED, ids=lambda exchange: exchange.id)
def test_recorded_request_conforms_to_the_description(exchange: Exchange) -> None:
    assert_conforms(
        SPEC.check_request(
            exchange.method,
            exchange.path_with_query,
            body=exchange.request_body,
            api_version=_api_version(exchange),
        ),
        exchange.id,
    )


def test_every_allowance_is_still_needed() -> None:
    used = set()
    for exchange in COVERED:
        violations = SPEC.check_response(
            exchange.method,
            exchange.path_with_query,
            exchange.status,
            exchange.response_headers,
            exchange.response_body,
        )
        for violation in violations:
            match = _MISSING_REQUIRED.search(violation)
            if match and _allowed(exchange, violation):
                used.add((exchange.source, re.sub(r"\[\d+\]", "[*]", match["where"]), match["field"]))
    assert used == FIELDS_ADDED_AFTER_RECORDING


def test_only_exchanges_outside_the_subset_go_unchecked() -> None:
    assert sorted({(exchange.method, exchange.path) for exchange in UNCOVERED}) == [
        ("GET", "/user"),
        ("GET", "/users/jacquev6"),
    ]


def test_recordings_exercise_the_operations_the_project_relies_on() -> None:
    exercised = {
        (operation.method, operation.template)
        for exchange in COVERED
        if (operation := SPEC.find_operation(exchange.method, exchange.path_with_query)) is not None
    }
    assert {
        ("GET", "/rate_limit"),
        ("GET", "/repos/{owner}/{repo}"),
        ("GET", "/repos/{owner}/{repo}/actions/artifacts"),
        ("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}"),
        ("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}"),
        ("GET", "/repos/{owner}/{repo}/actions/runs"),
        ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}"),
        ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts"),
        ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}"),
        ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs"),
        ("GET", "/repos/{owner}/{repo}/actions/workflows"),
        ("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}"),
        ("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"),
        ("GET", "/repos/{owner}/{repo}/commits/{ref}"),
        ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
        ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-suites"),
        ("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel"),
        ("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs"),
        ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
    } <= exercised


def test_every_copied_recording_is_parsed() -> None:
    assert {exchange.source for exchange in all_exchanges()} == set(recording_names())
