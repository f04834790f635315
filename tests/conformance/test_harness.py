"""The harness catches what does not conform (a checker that accepts everything proves nothing)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.openapi import OpenApiSpec, assert_conforms
from tests.support.recordings import Headers, load_exchanges, parse_exchanges

SPEC = OpenApiSpec.load()
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
RUN_PATH = "/repos/octo/app/actions/runs/30433642"


def _recorded_run() -> dict[str, Any]:
    run: dict[str, Any] = load_exchanges("WorkflowRun.testGetAttempt")[1].response_json
    return run


def test_recorded_run_is_accepted() -> None:
    assert SPEC.check_response("GET", RUN_PATH, 200, JSON_HEADERS, _recorded_run()) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "30433642"), ("run_number", None), ("created_at", "yesterday"), ("head_sha", 7)],
)
def test_run_field_of_the_wrong_type_is_reported(field: str, value: object) -> None:
    run = _recorded_run() | {field: value}
    violations = SPEC.check_response("GET", RUN_PATH, 200, JSON_HEADERS, run)
    assert any(f"body.{field}" in violation for violation in violations), violations


def test_run_missing_a_required_field_is_reported() -> None:
    run = _recorded_run()
    del run["display_title"]
    assert SPEC.check_response("GET", RUN_PATH, 200, JSON_HEADERS, run) == [
        f"GET {RUN_PATH} -> 200: body: 'display_title' is a required property"
    ]


def test_job_status_outside_the_enum_is_reported() -> None:
    job = load_exchanges("Repository.testGetWorkflowJob")[1].response_json | {"status": "running"}
    violations = SPEC.check_response("GET", "/repos/o/r/actions/jobs/1", 200, JSON_HEADERS, job)
    assert len(violations) == 1
    assert "body.status: 'running' is not one of" in violations[0]


def test_null_conclusion_of_a_job_in_progress_is_accepted() -> None:
    # `conclusion` is `nullable` with an enum of outcomes: null until the job completes.
    job = load_exchanges("Repository.testGetWorkflowJob")[1].response_json | {
        "status": "in_progress",
        "conclusion": None,
        "completed_at": None,
    }
    assert SPEC.check_response("GET", "/repos/o/r/actions/jobs/1", 200, JSON_HEADERS, job) == []


def test_undocumented_success_status_is_reported() -> None:
    assert SPEC.check_response("GET", RUN_PATH, 201, JSON_HEADERS, _recorded_run()) == [
        f"GET {RUN_PATH} -> 201: status 201 is not documented for actions/get-workflow-run (['200'])"
    ]


def test_generic_error_status_with_githubs_error_body_is_accepted() -> None:
    body = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    assert SPEC.check_response("GET", RUN_PATH, 404, JSON_HEADERS, body) == []


def test_error_body_without_a_message_is_reported() -> None:
    assert SPEC.check_response("GET", RUN_PATH, 404, JSON_HEADERS, {"error": "nope"}) == [
        f"GET {RUN_PATH} -> 404: error body: 'message' is a required property"
    ]


def test_error_without_a_body_is_reported() -> None:
    assert SPEC.check_response("GET", RUN_PATH, 422, {}, b"") == [
        f"GET {RUN_PATH} -> 422: a 422 error without the JSON error body GitHub sends"
    ]


def test_not_modified_with_a_body_is_reported() -> None:
    assert SPEC.check_response("GET", RUN_PATH, 304, {}, b"{}") == [
        f"GET {RUN_PATH} -> 304: 304 Not Modified must have an empty body"
    ]


def test_body_on_a_no_content_answer_is_reported() -> None:
    path = "/repos/o/r/actions/workflows/1/dispatches"
    assert SPEC.check_response("POST", path, 204, JSON_HEADERS, b"{}") == [
        f"POST {path} -> 204: the description documents no body for 204, got one"
    ]


def test_redirect_without_location_is_reported() -> None:
    path = "/repos/o/r/actions/artifacts/1/zip"
    assert SPEC.check_response("GET", path, 302, {}, b"") == [
        f"GET {path} -> 302: missing the documented header Location",
        f"GET {path} -> 302: a 302 redirect without Location",
    ]


def test_malformed_link_header_is_reported() -> None:
    path = "/repos/o/r/actions/runs"
    headers = JSON_HEADERS | {"Link": "https://x/runs?page=2; rel=next"}
    violations = SPEC.check_response("GET", path, 200, headers, {"total_count": 0, "workflow_runs": []})
    assert violations == [
        f"GET {path} -> 200: Link header not in GitHub's format: 'https://x/runs?page=2; rel=next'"
    ]


def test_missing_link_header_is_accepted() -> None:
    path = "/repos/o/r/actions/runs"
    assert SPEC.check_response("GET", path, 200, JSON_HEADERS, {"total_count": 0, "workflow_runs": []}) == []


def test_json_body_with_a_non_json_content_type_is_reported() -> None:
    path = "/repos/o/r/actions/runs"
    violations = SPEC.check_response(
        "GET", path, 200, {"Content-Type": "text/html"}, {"total_count": 0, "workflow_runs": []}
    )
    assert violations == [f"GET {path} -> 200: Content-Type 'text/html' for a JSON body"]


def test_rate_limit_answer_without_its_documented_headers_is_reported() -> None:
    body = load_exchanges("RateLimiting.testGetRateLimit")[0].response_json
    violations = SPEC.check_response("GET", "/rate_limit", 200, JSON_HEADERS, body)
    assert [violation.rsplit(" ", 1)[-1] for violation in violations] == [
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ]


def test_unknown_path_is_reported() -> None:
    assert SPEC.check_response("GET", "/repos/o/r/actions/secrets", 200, {}, {}) == [
        "GET /repos/o/r/actions/secrets -> 200: no operation in the description matches this path"
    ]


def test_non_numeric_run_id_matches_no_operation() -> None:
    assert SPEC.find_operation("GET", "/repos/o/r/actions/runs/latest") is None


def test_workflow_file_name_matches_the_workflow_operation() -> None:
    operation = SPEC.find_operation("GET", "/repos/o/r/actions/workflows/deploy.yml?x=1")
    assert operation is not None
    assert operation.template == "/repos/{owner}/{repo}/actions/workflows/{workflow_id}"


def test_repository_id_paths_from_link_headers_match_repository_operations() -> None:
    operation = SPEC.find_operation(
        "GET", "https://api.github.com/repositories/631628708/actions/artifacts?page=2"
    )
    assert operation is not None
    assert operation.template == "/repos/{owner}/{repo}/actions/artifacts"


def test_undocumented_query_parameter_is_reported() -> None:
    assert SPEC.check_request("GET", "/repos/o/r/actions/runs?sha=abc") == [
        "GET /repos/o/r/actions/runs?sha=abc: query parameter 'sha' is not documented "
        "(['actor', 'branch', 'check_suite_id', 'created', 'event', 'exclude_pull_requests', "
        "'head_sha', 'page', 'per_page', 'status'])"
    ]


def test_query_parameter_outside_its_enum_is_reported() -> None:
    violations = SPEC.check_request("GET", "/repos/o/r/actions/runs", {"status": "running"})
    assert len(violations) == 1
    assert "query status: 'running' is not one of" in violations[0]


def test_search_syntax_in_created_is_accepted() -> None:
    assert SPEC.check_request("GET", "/repos/o/r/actions/runs", {"created": ">=2026-01-01T00:00:00Z"}) == []


def test_non_integer_page_size_is_reported() -> None:
    assert SPEC.check_request("GET", "/repos/o/r/actions/runs?per_page=many") == [
        "GET /repos/o/r/actions/runs?per_page=many: query per_page: 'many' is not of type 'integer'"
    ]


def test_dispatch_without_ref_is_reported() -> None:
    path = "/repos/o/r/actions/workflows/1/dispatches"
    assert SPEC.check_request("POST", path, body={"inputs": {}}) == [
        f"POST {path}: request body: 'ref' is a required property"
    ]


def test_dispatch_with_more_than_25_inputs_is_reported() -> None:
    path = "/repos/o/r/actions/workflows/1/dispatches"
    inputs = {f"input_{number}": "x" for number in range(26)}
    violations = SPEC.check_request("POST", path, body=json.dumps({"ref": "main", "inputs": inputs}))
    assert len(violations) == 1
    assert "request body.inputs" in violations[0]


def test_body_on_an_operation_without_one_is_reported() -> None:
    path = "/repos/o/r/actions/runs/1/cancel"
    assert SPEC.check_request("POST", path, body={"force": True}) == [
        f"POST {path}: the description documents no request body, got one"
    ]


def test_dispatch_answering_204_is_accepted_by_default() -> None:
    assert SPEC.check_response("POST", "/repos/o/r/actions/workflows/1/dispatches", 204, {}, b"") == []


def test_dispatch_answering_204_under_api_version_2026_03_10_is_reported() -> None:
    path = "/repos/o/r/actions/workflows/1/dispatches"
    violations = SPEC.check_response("POST", path, 204, {}, b"", api_version="2026-03-10")
    assert violations == [
        f"POST {path} -> 204: status 204 is not documented for actions/create-workflow-dispatch (['200'])"
    ]


def test_assert_conforms_lists_every_violation() -> None:
    with pytest.raises(AssertionError, match=r"the run does not conform[^\n]*\n  first\n  second"):
        assert_conforms(["first", "second"], "the run")


def test_assert_conforms_accepts_no_violations() -> None:
    assert_conforms([], "the run")


def test_recorded_headers_are_looked_up_case_insensitively() -> None:
    exchange = load_exchanges("Artifact.testGetSingleArtifactFromRepo")[0]
    assert exchange.response_headers["etag"] == exchange.response_headers["ETag"]


def test_repeated_headers_fold_into_one_value() -> None:
    assert Headers([("Vary", "Accept"), ("vary", "Cookie")])["VARY"] == "Accept, Cookie"


def test_recorded_exchange_without_bodies_parses_to_none() -> None:
    exchange = load_exchanges("Workflow.testCreateDispatchWithString")[-1]
    assert (exchange.status, exchange.response_json, exchange.request_json["ref"]) == (204, None, "main")


def test_recorded_get_has_no_request_body() -> None:
    assert load_exchanges("Workflow.setUp")[0].request_body is None


def test_recorded_query_is_split_from_the_path() -> None:
    exchange = load_exchanges("Repository.testGetWorkflowRunsCreated")[1]
    assert (exchange.path, exchange.query) == (
        "/repos/PyGithub/PyGithub/actions/runs",
        {"created": ["2022-12-24"]},
    )


def test_truncated_recording_is_rejected() -> None:
    with pytest.raises(ValueError, match="truncated"):
        parse_exchanges("https\nGET\napi.github.com\nNone\n/x\n{}\n")
