"""The emulator's answers have the shapes and headers of GitHub's recorded answers.

The description says what is allowed; the recordings say what GitHub actually sends: the same
keys on each object, weak ETags, X-RateLimit-* on every answer, `Link` formatted as GitHub
formats it, `Location` on the artifact download, JSON as `application/json; charset=utf-8`, and
304 with no body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.conformance.conftest import DEPLOY_WORKFLOW_ID, MAIN_SHA, REPO, Api, Ids
from tests.conformance.test_emulator_endpoints import ERRORS, READS, Case
from tests.support.github_facts import RUN_CONCLUSIONS, RUN_STATUSES
from tests.support.openapi import OpenApiSpec, assert_conforms, documented_properties
from tests.support.recordings import load_exchanges
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.support.clock import ManualClock

WEAK_ETAG = re.compile(r'^W/"[^"]+"$')
LINK_PART = re.compile(r'^<(?P<url>[^>]+)>; rel="(?P<rel>[a-z]+)"$')
RATE_LIMIT_NUMBERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used")

JSON_READS = [case for case in READS if case.status == 200]


def _ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


def _dig(value: Any, pick: tuple[str | int, ...]) -> Any:
    for step in pick:
        value = value[step]
    return value


def _dig_schema(schema: Mapping[str, Any], pick: tuple[str | int, ...]) -> Mapping[str, Any]:
    for step in pick:
        schema = schema["items"] if isinstance(step, int) else schema["properties"][step]
    return schema


@dataclass(frozen=True)
class RecordedObject:
    """An object GitHub sent (recording, exchange, where in the body) and its emulated peer."""

    kind: str
    recording: str
    exchange: int
    pick: tuple[str | int, ...]
    template: str  # the operation, for the keys the description documents
    emulated_path: str  # formatted with Ids.fill
    emulated_pick: tuple[str | int, ...]

    def recorded_keys(self) -> set[str]:
        return set(_dig(load_exchanges(self.recording)[self.exchange].response_json, self.pick))

    def documented_keys(self, spec: OpenApiSpec) -> set[str]:
        schema = spec.operation("GET", self.template).response_schema(200)
        assert schema is not None
        return documented_properties(_dig_schema(schema, self.pick))

    def emulated_keys(self, api: Api, ids: Ids) -> set[str]:
        return set(_dig(api.json(ids.fill(self.emulated_path)), self.emulated_pick))


RECORDED_OBJECTS = [
    RecordedObject(
        "workflow run",
        "WorkflowRun.testGetAttempt",
        1,
        (),
        "/repos/{owner}/{repo}/actions/runs/{run_id}",
        "{repo}/actions/runs/{failed_run}",
        (),
    ),
    RecordedObject(
        "workflow run attempt",
        "WorkflowRun.testGetAttempt",
        2,
        (),
        "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}",
        "{repo}/actions/runs/{failed_run}/attempts/1",
        (),
    ),
    RecordedObject(
        "workflow run in a list",
        "PullRequest2408.test_get_workflow_runs",
        0,
        ("workflow_runs", 0),
        "/repos/{owner}/{repo}/actions/runs",
        "{repo}/actions/runs",
        ("workflow_runs", 0),
    ),
    RecordedObject(
        "workflow run list",
        "PullRequest2408.test_get_workflow_runs",
        0,
        (),
        "/repos/{owner}/{repo}/actions/runs",
        "{repo}/actions/runs",
        (),
    ),
    RecordedObject(
        "workflow",
        "Workflow.testDisable",
        1,
        (),
        "/repos/{owner}/{repo}/actions/workflows/{workflow_id}",
        "{repo}/actions/workflows/{deploy}",
        (),
    ),
    RecordedObject(
        "workflow list",
        "Repository.testGetWorkflows",
        1,
        (),
        "/repos/{owner}/{repo}/actions/workflows",
        "{repo}/actions/workflows",
        (),
    ),
    RecordedObject(
        "job",
        "Repository.testGetWorkflowJob",
        1,
        (),
        "/repos/{owner}/{repo}/actions/jobs/{job_id}",
        "{repo}/actions/jobs/{job}",
        (),
    ),
    RecordedObject(
        "job step",
        "Repository.testGetWorkflowJob",
        1,
        ("steps", 0),
        "/repos/{owner}/{repo}/actions/jobs/{job_id}",
        "{repo}/actions/jobs/{job}",
        ("steps", 0),
    ),
    RecordedObject(
        "job list",
        "WorkflowRun.test_jobs",
        0,
        (),
        "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
        "{repo}/actions/runs/{failed_run}/jobs",
        (),
    ),
    RecordedObject(
        "artifact",
        "Artifact.testGetSingleArtifactFromRepo",
        0,
        (),
        "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}",
        "{repo}/actions/artifacts/{artifact}",
        (),
    ),
    RecordedObject(
        "artifact workflow_run",
        "Artifact.testGetSingleArtifactFromRepo",
        0,
        ("workflow_run",),
        "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}",
        "{repo}/actions/artifacts/{artifact}",
        ("workflow_run",),
    ),
    RecordedObject(
        "artifact list",
        "Artifact.testGetArtifactsFromWorkflow",
        1,
        (),
        "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts",
        "{repo}/actions/runs/{failed_run}/artifacts",
        (),
    ),
    RecordedObject(
        "check run",
        "CheckRun.testGetCheckRunsForRefFilterByFilter",
        1,
        ("check_runs", 0),
        "/repos/{owner}/{repo}/commits/{ref}/check-runs",
        "{repo}/commits/{sha}/check-runs?check_name=DCO",
        ("check_runs", 0),
    ),
    RecordedObject(
        "check run list",
        "CheckRun.testGetCheckRunsForRefFilterByFilter",
        1,
        (),
        "/repos/{owner}/{repo}/commits/{ref}/check-runs",
        "{repo}/commits/{sha}/check-runs",
        (),
    ),
    RecordedObject(
        "check suite",
        "CheckSuite.testGetCheckSuitesForRef",
        1,
        ("check_suites", 0),
        "/repos/{owner}/{repo}/commits/{ref}/check-suites",
        "{repo}/commits/{sha}/check-suites",
        ("check_suites", 0),
    ),
    RecordedObject("rate limit", "RateLimiting.testGetRateLimit", 0, (), "/rate_limit", "/rate_limit", ()),
    RecordedObject(
        "rate limit core",
        "RateLimiting.testGetRateLimit",
        0,
        ("resources", "core"),
        "/rate_limit",
        "/rate_limit",
        ("resources", "core"),
    ),
]


@pytest.mark.parametrize("recorded", RECORDED_OBJECTS, ids=[recorded.kind for recorded in RECORDED_OBJECTS])
def test_emulated_object_has_every_key_github_sends(recorded: RecordedObject, api: Api, ids: Ids) -> None:
    assert recorded.recorded_keys() - recorded.emulated_keys(api, ids) == set()


@pytest.mark.parametrize("recorded", RECORDED_OBJECTS, ids=[recorded.kind for recorded in RECORDED_OBJECTS])
def test_emulated_object_has_no_key_github_neither_sends_nor_documents(
    recorded: RecordedObject, api: Api, ids: Ids, spec: OpenApiSpec
) -> None:
    known = recorded.recorded_keys() | recorded.documented_keys(spec)
    assert recorded.emulated_keys(api, ids) - known == set()


# -- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", JSON_READS, ids=_ids(JSON_READS))
def test_json_answer_has_githubs_content_type(case: Case, api: Api, ids: Ids) -> None:
    assert case.send(api, ids).headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("case", JSON_READS, ids=_ids(JSON_READS))
def test_json_answer_has_a_weak_etag(case: Case, api: Api, ids: Ids) -> None:
    assert WEAK_ETAG.match(case.send(api, ids).headers.get("ETag", "")), "no weak ETag"


@pytest.mark.parametrize("case", READS + ERRORS, ids=_ids(READS + ERRORS))
def test_answer_carries_numeric_rate_limit_headers(case: Case, api: Api, ids: Ids) -> None:
    headers = case.send(api, ids).headers
    assert {name: headers.get(name, "").isdigit() for name in RATE_LIMIT_NUMBERS} == dict.fromkeys(
        RATE_LIMIT_NUMBERS, True
    )


@pytest.mark.parametrize("case", READS + ERRORS, ids=_ids(READS + ERRORS))
def test_answer_names_its_rate_limit_resource(case: Case, api: Api, ids: Ids) -> None:
    assert case.send(api, ids).headers.get("X-RateLimit-Resource") == "core"


@pytest.mark.parametrize("case", ERRORS, ids=_ids(ERRORS))
def test_error_answer_is_json_like_githubs(case: Case, api: Api, ids: Ids) -> None:
    assert case.send(api, ids).headers["Content-Type"] == "application/json; charset=utf-8"


def _links(response: requests.Response) -> list[tuple[str, str]]:
    header = response.headers.get("Link")
    assert header is not None, "no Link header"
    parts = [LINK_PART.match(part) for part in header.split(", ")]
    assert all(parts), f"Link not in GitHub's format: {header!r}"
    return [(match["rel"], match["url"]) for match in parts if match]


def test_first_page_links_next_then_last(api: Api) -> None:
    rels = [rel for rel, _ in _links(api.get(f"{REPO}/actions/runs?per_page=1"))]
    assert rels == ["next", "last"]


def test_middle_page_links_prev_next_last_first_in_githubs_order(api: Api) -> None:
    rels = [rel for rel, _ in _links(api.get(f"{REPO}/actions/runs?per_page=1&page=2"))]
    assert rels == ["prev", "next", "last", "first"]


def test_last_page_links_prev_and_first_only(api: Api) -> None:
    total = api.json(f"{REPO}/actions/runs")["total_count"]
    rels = [rel for rel, _ in _links(api.get(f"{REPO}/actions/runs?per_page=1&page={total}"))]
    assert rels == ["prev", "first"]


def test_single_page_has_no_link(api: Api) -> None:
    assert "Link" not in api.get(f"{REPO}/actions/runs?per_page=100").headers


def test_links_point_back_at_the_emulator_and_keep_the_filters(api: Api) -> None:
    links = _links(api.get(f"{REPO}/actions/runs?per_page=1&event=push"))
    assert all(url.startswith(api.emu.api_url + "/") and "event=push" in url for _, url in links)


def test_following_next_gives_the_next_page(api: Api) -> None:
    first = api.get(f"{REPO}/actions/runs?per_page=1")
    second = api.get(dict(_links(first))["next"])
    assert second.json()["workflow_runs"][0]["id"] != first.json()["workflow_runs"][0]["id"]


def test_artifact_download_redirects_to_the_blob_host(api: Api, ids: Ids) -> None:
    response = api.get(ids.fill("{repo}/actions/artifacts/{artifact}/zip"))
    assert response.headers["Location"].startswith(api.emu.blob_url + "/")


def test_blob_host_serves_the_zip_with_its_length_to_a_request_without_authorization(
    api: Api, ids: Ids
) -> None:
    location = api.get(ids.fill("{repo}/actions/artifacts/{artifact}/zip")).headers["Location"]
    blob = requests.get(location, timeout=10)
    assert (blob.status_code, blob.content[:2], blob.headers["Content-Length"]) == (
        200,
        b"PK",
        str(len(blob.content)),
    )


def test_blob_host_rejects_a_request_with_authorization(api: Api, ids: Ids) -> None:
    location = api.get(ids.fill("{repo}/actions/artifacts/{artifact}/zip")).headers["Location"]
    blob = requests.get(location, headers={"Authorization": f"Bearer {api.emu.token('dev')}"}, timeout=10)
    assert blob.status_code in (400, 403)


# -- conditional requests -----------------------------------------------------------------


def _run_path(ids: Ids) -> str:
    return ids.fill("{repo}/actions/runs/{failed_run}")


def test_matching_if_none_match_answers_304_with_an_empty_body(fresh_api: Api, fresh_ids: Ids) -> None:
    etag = fresh_api.get(_run_path(fresh_ids)).headers["ETag"]
    again = fresh_api.get(_run_path(fresh_ids), headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")


def test_not_modified_answer_conforms_to_the_description(
    fresh_api: Api, fresh_ids: Ids, spec: OpenApiSpec
) -> None:
    etag = fresh_api.get(_run_path(fresh_ids)).headers["ETag"]
    assert_conforms(
        spec.check_requests_response(fresh_api.get(_run_path(fresh_ids), headers={"If-None-Match": etag}))
    )


def test_not_modified_answer_repeats_the_etag(fresh_api: Api, fresh_ids: Ids) -> None:
    etag = fresh_api.get(_run_path(fresh_ids)).headers["ETag"]
    again = fresh_api.get(_run_path(fresh_ids), headers={"If-None-Match": etag})
    assert again.headers.get("ETag") == etag


def test_not_modified_answer_spends_no_rate_limit(fresh_api: Api, fresh_ids: Ids) -> None:
    first = fresh_api.get(_run_path(fresh_ids))
    fresh_api.get(_run_path(fresh_ids), headers={"If-None-Match": first.headers["ETag"]})
    after = fresh_api.get("/repos/octo/app")
    assert int(first.headers["X-RateLimit-Remaining"]) - int(after.headers["X-RateLimit-Remaining"]) == 1


def test_stale_if_none_match_answers_200(fresh_api: Api, fresh_ids: Ids) -> None:
    response = fresh_api.get(_run_path(fresh_ids), headers={"If-None-Match": 'W/"stale"'})
    assert response.status_code == 200


def test_etag_changes_when_the_run_changes(
    fresh_emu: Emulator, fresh_api: Api, fresh_ids: Ids, clock: ManualClock
) -> None:
    path = fresh_ids.fill("{repo}/actions/runs/{running_run}")
    before = fresh_api.get(path).headers["ETag"]
    clock.advance(3600)
    assert fresh_api.get(path).headers["ETag"] != before


# -- a run through its life ---------------------------------------------------------------

MOMENTS = [0, 4, 6, 30, 70, 124, 130, 3600]


def _dispatch_and_wait(api: Api, clock: ManualClock, seconds: float) -> dict[str, Any]:
    answer = api.request(
        "POST",
        f"{REPO}/actions/workflows/{DEPLOY_WORKFLOW_ID}/dispatches",
        json={
            "ref": "main",
            "inputs": {"environment": "dev", "correlation_id": "c-42"},
            "return_run_details": True,
        },
    ).json()
    clock.advance(seconds)
    run: dict[str, Any] = api.json(f"{REPO}/actions/runs/{answer['workflow_run_id']}")
    return run


@pytest.mark.parametrize("moment", MOMENTS)
def test_run_status_is_one_github_documents(moment: int, fresh_api: Api, clock: ManualClock) -> None:
    assert _dispatch_and_wait(fresh_api, clock, moment)["status"] in RUN_STATUSES


@pytest.mark.parametrize("moment", MOMENTS)
def test_run_conclusion_is_set_exactly_when_completed(
    moment: int, fresh_api: Api, clock: ManualClock
) -> None:
    run = _dispatch_and_wait(fresh_api, clock, moment)
    assert (run["status"] == "completed") == (run["conclusion"] in RUN_CONCLUSIONS)
    assert run["conclusion"] is None or run["conclusion"] in RUN_CONCLUSIONS


@pytest.mark.parametrize("moment", MOMENTS)
def test_answers_about_a_dispatched_run_conform_throughout_its_life(
    moment: int, fresh_api: Api, clock: ManualClock, spec: OpenApiSpec
) -> None:
    run = _dispatch_and_wait(fresh_api, clock, moment)
    paths = [
        f"{REPO}/actions/runs/{run['id']}",
        f"{REPO}/actions/runs/{run['id']}/jobs",
        f"{REPO}/actions/runs/{run['id']}/artifacts",
        f"{REPO}/actions/runs?head_sha={MAIN_SHA}",
        f"{REPO}/commits/{MAIN_SHA}/check-runs?filter=all",
        f"{REPO}/commits/{MAIN_SHA}/check-suites",
    ]
    violations = [
        violation for path in paths for violation in spec.check_requests_response(fresh_api.get(path))
    ]
    assert_conforms(violations, f"the run at {moment}s")


def test_completed_dispatched_run_is_named_by_its_run_name(fresh_api: Api, clock: ManualClock) -> None:
    run = _dispatch_and_wait(fresh_api, clock, 3600)
    assert (run["display_title"], run["name"]) == ("Deploy dev [c-42]", "Deploy dev [c-42]")


def test_run_urls_point_back_at_the_emulator(api: Api, ids: Ids) -> None:
    run = api.json(ids.fill("{repo}/actions/runs/{failed_run}"))
    urls = {
        key: run[key]
        for key in ("url", "jobs_url", "logs_url", "artifacts_url", "cancel_url", "rerun_url", "workflow_url")
    }
    assert urls["url"] == api.emu.api_url + ids.fill("{repo}/actions/runs/{failed_run}")
    assert all(url.startswith(api.emu.api_url + "/") for url in urls.values()), urls


def test_artifact_download_url_points_back_at_the_emulator(api: Api, ids: Ids) -> None:
    artifact = api.json(ids.fill("{repo}/actions/artifacts/{artifact}"))
    assert artifact["archive_download_url"] == api.emu.api_url + ids.fill(
        "{repo}/actions/artifacts/{artifact}/zip"
    )
