"""Every endpoint the emulator serves answers as GitHub's OpenAPI description says.

Each case is one request with the status GitHub answers to it; the answer must have that status
and conform to the description (status documented, body schema, documented headers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conformance.conftest import (
    CI_WORKFLOW_ID,
    DEPLOY_WORKFLOW_ID,
    MAIN_SHA,
    REPO,
    Api,
    Ids,
    scenario_with,
)
from tests.support.openapi import OpenApiSpec, assert_conforms
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import ManualClock

BAD_TOKEN = "<a secret no token has>"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # formatted with Ids.fill
    status: int
    body: Any = None
    token: str | None = "dev"
    headers: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # part of GitHub's error message (recordings, docs/github-behaviour.md)
    documented_request: bool = True  # False: the request itself breaks the description on purpose

    def send(self, api: Api, ids: Ids) -> Any:
        if self.token == BAD_TOKEN:
            api = Api(api.emu, "ghp_no_such_token_0000000000000000000000")
        elif self.token != "dev":
            api = Api(api.emu, None if self.token is None else api.emu.token(self.token))
        return api.request(self.method, ids.fill(self.path), json=self.body, headers=self.headers)


READS = [
    Case("rate limit", "GET", "/rate_limit", 200),
    Case("repository", "GET", "{repo}", 200),
    Case("workflows", "GET", "{repo}/actions/workflows", 200),
    Case("workflow by id", "GET", "{repo}/actions/workflows/{deploy}", 200),
    Case("workflow by file name", "GET", "{repo}/actions/workflows/deploy.yml", 200),
    Case("workflow runs", "GET", "{repo}/actions/workflows/{ci}/runs", 200),
    Case("workflow runs by file name", "GET", "{repo}/actions/workflows/ci.yml/runs", 200),
    Case("repository runs", "GET", "{repo}/actions/runs", 200),
    Case(
        "repository runs filtered",
        "GET",
        "{repo}/actions/runs?head_sha={sha}&event=push&branch=main&status=failure&actor=octocat"
        "&exclude_pull_requests=true&created=>=2025-12-01T00:00:00Z",
        200,
    ),
    Case("repository runs one per page", "GET", "{repo}/actions/runs?per_page=1&page=2", 200),
    Case("run", "GET", "{repo}/actions/runs/{failed_run}", 200),
    Case("run in progress", "GET", "{repo}/actions/runs/{running_run}", 200),
    Case("run attempt", "GET", "{repo}/actions/runs/{failed_run}/attempts/1", 200),
    Case("run jobs", "GET", "{repo}/actions/runs/{failed_run}/jobs", 200),
    Case("run jobs of every attempt", "GET", "{repo}/actions/runs/{failed_run}/jobs?filter=all", 200),
    Case("run jobs in progress", "GET", "{repo}/actions/runs/{running_run}/jobs", 200),
    Case("attempt jobs", "GET", "{repo}/actions/runs/{failed_run}/attempts/1/jobs", 200),
    Case("job", "GET", "{repo}/actions/jobs/{job}", 200),
    Case("job logs", "GET", "{repo}/actions/jobs/{job}/logs", 302),
    Case("run logs", "GET", "{repo}/actions/runs/{failed_run}/logs", 302),
    Case("job annotations", "GET", "{repo}/check-runs/{job}/annotations", 200),
    Case("check run", "GET", "{repo}/check-runs/{check_run}", 200),
    Case("check run annotations", "GET", "{repo}/check-runs/{check_run}/annotations", 200),
    Case(
        "check run annotations one per page",
        "GET",
        "{repo}/check-runs/{check_run}/annotations?per_page=1",
        200,
    ),
    Case("run artifacts", "GET", "{repo}/actions/runs/{failed_run}/artifacts", 200),
    Case("run artifacts by name", "GET", "{repo}/actions/runs/{failed_run}/artifacts?name=report", 200),
    Case("repository artifacts", "GET", "{repo}/actions/artifacts", 200),
    Case("repository artifacts by name", "GET", "{repo}/actions/artifacts?name=report&per_page=1", 200),
    Case("artifact", "GET", "{repo}/actions/artifacts/{artifact}", 200),
    Case("expired artifact", "GET", "{repo}/actions/artifacts/{expired_artifact}", 200),
    Case("artifact download", "GET", "{repo}/actions/artifacts/{artifact}/zip", 302),
    Case("commit by sha", "GET", "{repo}/commits/{sha}", 200),
    Case("commit by branch", "GET", "{repo}/commits/main", 200),
    Case("check runs for a sha", "GET", "{repo}/commits/{sha}/check-runs", 200),
    Case("check runs for a branch", "GET", "{repo}/commits/main/check-runs", 200),
    Case("check runs for a tag", "GET", "{repo}/commits/v1.0.0/check-runs", 200),
    Case(
        "check runs filtered",
        "GET",
        "{repo}/commits/{sha}/check-runs?check_name=DCO&status=completed&filter=all&per_page=100",
        200,
    ),
    Case("check suites for a sha", "GET", "{repo}/commits/{sha}/check-suites", 200),
    Case("public repository anonymously", "GET", "/repos/octo/site", 200, token=None),
    Case("workflow file on a branch", "GET", "{repo}/contents/.github/workflows/deploy.yml?ref=main", 200),
    Case("workflow file at a tag", "GET", "{repo}/contents/.github/workflows/deploy.yml?ref=v1.0.0", 200),
    Case("workflow file on the default branch", "GET", "{repo}/contents/.github/workflows/deploy.yml", 200),
    Case("git ref of a branch", "GET", "{repo}/git/ref/heads/main", 200),
    Case("git ref of a tag", "GET", "{repo}/git/ref/tags/v1.0.0", 200),
    Case("matching git refs", "GET", "{repo}/git/matching-refs/heads/", 200),
    Case("matching git refs, none", "GET", "{repo}/git/matching-refs/tags/v9", 200),
]

WRITES = [
    Case(
        "dispatch",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        204,
        {"ref": "main", "inputs": {"environment": "dev"}},
    ),
    Case(
        "dispatch by file name with a tag",
        "POST",
        "{repo}/actions/workflows/deploy.yml/dispatches",
        204,
        {"ref": "v1.0.0", "inputs": {"environment": "prod", "dry_run": "true", "correlation_id": "c-1"}},
    ),
    Case(
        "dispatch returning the run",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        200,
        {"ref": "main", "inputs": {"environment": "dev"}, "return_run_details": True},
    ),
    Case(
        "dispatch under api version 2026-03-10",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        200,
        {"ref": "main", "inputs": {"environment": "dev"}},
        headers={"X-GitHub-Api-Version": "2026-03-10"},
    ),
    Case(
        "dispatch with github token",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        204,
        {"ref": "main", "inputs": {"environment": "dev"}},
        token="ci",
    ),
    Case(
        "repository dispatch",
        "POST",
        "{repo}/dispatches",
        204,
        {"event_type": "deploy", "client_payload": {"x": "1"}},
    ),
    Case("cancel", "POST", "{repo}/actions/runs/{running_run}/cancel", 202),
    Case("force cancel", "POST", "{repo}/actions/runs/{running_run}/force-cancel", 202),
    Case("rerun", "POST", "{repo}/actions/runs/{failed_run}/rerun", 201),
    Case("rerun failed jobs", "POST", "{repo}/actions/runs/{failed_run}/rerun-failed-jobs", 201),
    Case("create a git ref", "POST", "{repo}/git/refs", 201, {"ref": "refs/heads/claim/1", "sha": MAIN_SHA}),
    Case(
        "force a git ref", "PATCH", "{repo}/git/refs/heads/feature/x", 200, {"sha": MAIN_SHA, "force": True}
    ),
    Case("delete a git ref", "DELETE", "{repo}/git/refs/tags/v1.0.0", 204),
]

ERRORS = [
    Case("unknown run", "GET", "{repo}/actions/runs/987654321", 404, message="Not Found"),
    Case(
        "unknown run attempt", "GET", "{repo}/actions/runs/{failed_run}/attempts/9", 404, message="Not Found"
    ),
    Case("unknown workflow", "GET", "{repo}/actions/workflows/missing.yml", 404, message="Not Found"),
    Case(
        "runs of an unknown workflow",
        "GET",
        "{repo}/actions/workflows/missing.yml/runs",
        404,
        message="Not Found",
    ),
    Case("unknown job", "GET", "{repo}/actions/jobs/987654321", 404, message="Not Found"),
    Case("logs of an unknown job", "GET", "{repo}/actions/jobs/987654321/logs", 404, message="Not Found"),
    Case(
        "logs of a run in progress", "GET", "{repo}/actions/runs/{running_run}/logs", 404, message="Not Found"
    ),
    Case(
        "annotations of an unknown check run",
        "GET",
        "{repo}/check-runs/987654321/annotations",
        404,
        message="Not Found",
    ),
    Case("unknown artifact", "GET", "{repo}/actions/artifacts/987654321", 404, message="Not Found"),
    Case(
        "download of an unknown artifact",
        "GET",
        "{repo}/actions/artifacts/987654321/zip",
        404,
        message="Not Found",
    ),
    Case("unknown repository", "GET", "/repos/octo/missing", 404, message="Not Found"),
    Case("file not in the repository", "GET", "{repo}/contents/README.md?ref=main", 404, message="Not Found"),
    Case(
        "file at a ref that does not exist",
        "GET",
        "{repo}/contents/.github/workflows/deploy.yml?ref=nope",
        404,
        message="No commit found for the ref nope",
    ),
    Case(
        "file without contents read",
        "GET",
        "{repo}/contents/.github/workflows/deploy.yml?ref=main",
        403,
        token="nocontents",
        message="Resource not accessible by integration",
    ),
    Case("repository outside the token", "GET", "/repos/octo/secret", 404, token="ci", message="Not Found"),
    Case("private repository anonymously", "GET", "{repo}", 404, token=None, message="Not Found"),
    Case("bad credentials", "GET", "{repo}", 401, token=BAD_TOKEN, message="Bad credentials"),
    Case(
        "dispatch without actions write",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        403,
        {"ref": "main", "inputs": {"environment": "dev"}},
        token="ro",
        message="Resource not accessible by integration",
    ),
    Case(
        "dispatch of an unknown workflow",
        "POST",
        "{repo}/actions/workflows/missing.yml/dispatches",
        404,
        {"ref": "main"},
        message="Not Found",
    ),
    Case(
        "dispatch with an unknown input",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        422,
        {"ref": "main", "inputs": {"environment": "dev", "colour": "blue"}},
        message="Unexpected inputs provided",
    ),
    Case(
        "dispatch without a required input",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        422,
        {"ref": "main", "inputs": {}},
        message="Required input 'environment' not provided",
    ),
    Case(
        "dispatch with a choice outside the options",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        422,
        {"ref": "main", "inputs": {"environment": "staging"}},
    ),
    Case(
        "dispatch with more than 25 inputs",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        422,
        {"ref": "main", "inputs": {"environment": "dev"} | {f"extra_{n}": "x" for n in range(25)}},
        documented_request=False,
    ),
    Case(
        "dispatch to an unknown ref",
        "POST",
        "{repo}/actions/workflows/{deploy}/dispatches",
        422,
        {"ref": "nowhere", "inputs": {"environment": "dev"}},
        message="No ref found for: nowhere",
    ),
    Case(
        "dispatch of a workflow without workflow_dispatch",
        "POST",
        "{repo}/actions/workflows/{ci}/dispatches",
        422,
        {"ref": "main"},
        message="Workflow does not have 'workflow_dispatch' trigger",
    ),
    Case(
        "repository dispatch without contents write",
        "POST",
        "{repo}/dispatches",
        403,
        {"event_type": "deploy"},
        token="ro",
        message="Resource not accessible by integration",
    ),
    Case("cancel of a completed run", "POST", "{repo}/actions/runs/{failed_run}/cancel", 409),
    Case("git ref that does not exist", "GET", "{repo}/git/ref/heads/nope", 404, message="Not Found"),
    Case(
        "create a git ref that exists",
        "POST",
        "{repo}/git/refs",
        422,
        {"ref": "refs/heads/main", "sha": MAIN_SHA},
        message="Reference already exists",
    ),
    Case(
        "create a git ref without contents write",
        "POST",
        "{repo}/git/refs",
        403,
        {"ref": "refs/heads/claim/two", "sha": MAIN_SHA},
        token="ro",
        message="Resource not accessible by integration",
    ),
    Case(
        "delete a git ref that does not exist",
        "DELETE",
        "{repo}/git/refs/heads/nope",
        422,
        message="Reference does not exist",
    ),
    Case("download of an expired artifact", "GET", "{repo}/actions/artifacts/{expired_artifact}/zip", 410),
]


def _ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


@pytest.mark.parametrize("case", READS, ids=_ids(READS))
def test_read_answers_githubs_status(case: Case, api: Api, ids: Ids) -> None:
    response = case.send(api, ids)
    assert response.status_code == case.status, response.text


@pytest.mark.parametrize("case", READS, ids=_ids(READS))
def test_read_answer_conforms_to_the_description(case: Case, api: Api, ids: Ids, spec: OpenApiSpec) -> None:
    assert_conforms(spec.check_requests_response(case.send(api, ids)), case.name)


@pytest.mark.parametrize("case", WRITES, ids=_ids(WRITES))
def test_write_answers_githubs_status(case: Case, fresh_api: Api, fresh_ids: Ids) -> None:
    response = case.send(fresh_api, fresh_ids)
    assert response.status_code == case.status, response.text


@pytest.mark.parametrize("case", WRITES, ids=_ids(WRITES))
def test_write_answer_conforms_to_the_description(
    case: Case, fresh_api: Api, fresh_ids: Ids, spec: OpenApiSpec
) -> None:
    assert_conforms(spec.check_requests_response(case.send(fresh_api, fresh_ids)), case.name)


@pytest.mark.parametrize("case", ERRORS, ids=_ids(ERRORS))
def test_error_answers_githubs_status(case: Case, api: Api, ids: Ids) -> None:
    response = case.send(api, ids)
    assert response.status_code == case.status, response.text


@pytest.mark.parametrize("case", ERRORS, ids=_ids(ERRORS))
def test_error_answer_conforms_to_the_description(case: Case, api: Api, ids: Ids, spec: OpenApiSpec) -> None:
    assert_conforms(spec.check_requests_response(case.send(api, ids)), case.name)


@pytest.mark.parametrize(
    "case", [case for case in ERRORS if case.message], ids=_ids([case for case in ERRORS if case.message])
)
def test_error_answer_carries_githubs_message(case: Case, api: Api, ids: Ids) -> None:
    assert case.message is not None
    assert case.message in case.send(api, ids).json()["message"]


DOCUMENTED_REQUESTS = [case for case in READS + WRITES + ERRORS if case.documented_request]


@pytest.mark.parametrize("case", DOCUMENTED_REQUESTS, ids=_ids(DOCUMENTED_REQUESTS))
def test_case_request_conforms_to_the_description(case: Case, spec: OpenApiSpec) -> None:
    # The requests themselves must be ones GitHub documents, or the cases prove nothing.
    ids = Ids(1, 2, 3, 4, 5, 6, 7, 8)
    violations = spec.check_request(
        case.method, ids.fill(case.path), body=case.body, api_version=case.headers.get("X-GitHub-Api-Version")
    )
    assert_conforms(violations, case.name)


def test_dispatch_returning_the_run_names_a_run_that_exists(fresh_api: Api) -> None:
    answer = fresh_api.request(
        "POST",
        f"{REPO}/actions/workflows/{DEPLOY_WORKFLOW_ID}/dispatches",
        json={"ref": "main", "inputs": {"environment": "dev"}, "return_run_details": True},
    ).json()
    run = fresh_api.json(f"{REPO}/actions/runs/{answer['workflow_run_id']}")
    assert (answer["run_url"], run["workflow_id"]) == (run["url"], DEPLOY_WORKFLOW_ID)


def test_dispatch_naming_return_run_details_where_unknown_answers_422() -> None:
    with Emulator(Scenario.from_dict(scenario_with(return_run_details=False)), clock=ManualClock()) as emu:
        response = Api(emu, emu.token("dev")).request(
            "POST",
            f"{REPO}/actions/workflows/{DEPLOY_WORKFLOW_ID}/dispatches",
            json={"ref": "main", "inputs": {"environment": "dev"}, "return_run_details": True},
        )
    assert (response.status_code, "return_run_details" in response.json()["message"]) == (422, True)


def test_dispatch_naming_return_run_details_where_unknown_conforms(spec: OpenApiSpec) -> None:
    with Emulator(Scenario.from_dict(scenario_with(return_run_details=False)), clock=ManualClock()) as emu:
        response = Api(emu, emu.token("dev")).request(
            "POST",
            f"{REPO}/actions/workflows/{DEPLOY_WORKFLOW_ID}/dispatches",
            json={"ref": "main", "inputs": {"environment": "dev"}, "return_run_details": True},
        )
    assert_conforms(spec.check_requests_response(response))


def test_exhausted_rate_limit_answers_403_that_conforms(spec: OpenApiSpec) -> None:
    with Emulator(Scenario.from_dict(scenario_with(anonymous_rate_limit=1)), clock=ManualClock()) as emu:
        anonymous = Api(emu, None)
        anonymous.get("/repos/octo/site")
        response = anonymous.get("/repos/octo/site")
    assert response.status_code == 403
    assert_conforms(spec.check_requests_response(response))


def test_exhausted_rate_limit_answer_carries_githubs_message_and_zero_remaining() -> None:
    with Emulator(Scenario.from_dict(scenario_with(anonymous_rate_limit=1)), clock=ManualClock()) as emu:
        anonymous = Api(emu, None)
        anonymous.get("/repos/octo/site")
        response = anonymous.get("/repos/octo/site")
    assert response.json()["message"].startswith("API rate limit exceeded for ")
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_unknown_commit_answers_a_documented_error(fresh_api: Api, spec: OpenApiSpec) -> None:
    # The description documents both 404 and 422 for "get a commit"; either is GitHub-like.
    response = fresh_api.get(f"{REPO}/commits/{'0' * 40}")
    assert response.status_code in (404, 422)
    assert_conforms(spec.check_requests_response(response))


# -- every operation of the description ---------------------------------------------------

_PARAMETERS = {
    "owner": "octo",
    "repo": "app",
    "run_id": "{failed_run}",
    "attempt_number": "1",
    "job_id": "{job}",
    "artifact_id": "{artifact}",
    "archive_format": "zip",
    "workflow_id": str(CI_WORKFLOW_ID),
    "ref": MAIN_SHA,
    "check_run_id": "{check_run}",
    "installation_id": "1",
    "org": "octo",
    "username": "octo",
    "path": ".github/workflows/ci.yml",
}
_SPEC = OpenApiSpec.load()
OPERATIONS = sorted(_SPEC.templates())


def _example_body(method: str, template: str) -> Any:
    request_body = _SPEC.operation(method, template).spec.get("requestBody")
    if request_body is None:
        return None
    examples = request_body["content"]["application/json"].get("examples", {})
    return next(iter(examples.values()))["value"] if examples else {}


@pytest.mark.parametrize(("method", "template"), OPERATIONS, ids=[f"{m} {t}" for m, t in OPERATIONS])
def test_whatever_the_emulator_answers_to_a_documented_operation_conforms(
    method: str, template: str, request: pytest.FixtureRequest, spec: OpenApiSpec
) -> None:
    # Operations the emulator does not implement may answer an error GitHub could send (404);
    # anything else it answers must be what GitHub documents. Writes get an emulator of their own.
    api: Api = request.getfixturevalue("api" if method == "GET" else "fresh_api")
    ids: Ids = request.getfixturevalue("ids" if method == "GET" else "fresh_ids")
    path = template
    for name, value in _PARAMETERS.items():
        path = path.replace("{" + name + "}", ids.fill(value))
    response = api.request(method, path, json=_example_body(method, template))
    assert_conforms(spec.check_requests_response(response), f"{method} {path}")
