"""The emulator over real HTTP, with a scenario that has something behind every endpoint.

`emu` is shared by a module and must only be read; tests that write (dispatch, cancel, re-run) or
move the clock take `fresh_emu`. `ids` are discovered through the API, as a client would.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.support.openapi import OpenApiSpec
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import ManualClock

MAIN_SHA = "3a6235b56eecc0e193c1e267b064d0ae1a8ba5d6"
FEATURE_SHA = "10a7135a04f71e6101f8b013aded8a662d08fd1f"
SITE_SHA = "fd09d934bcce792176d6b79d6d0387e938b62b7a"
DEPLOY_WORKFLOW_ID = 1001
CI_WORKFLOW_ID = 1002
EVENT_WORKFLOW_ID = 1003
REPO = "/repos/octo/app"

SCENARIO: dict[str, Any] = {
    "options": {
        "return_run_details": True,
        "dispatch_visibility_delay": 3,
        "artifact_url_ttl": 60,
        "anonymous_rate_limit": 60,
    },
    "tokens": {
        "ci": {
            "secret": "ghs_conformance_ci",
            "kind": "github_token",
            "repos": ["octo/app"],
            "permissions": {"actions": "write", "contents": "write", "checks": "read"},
        },
        "ro": {
            "secret": "ghs_conformance_ro",
            "kind": "github_token",
            "repos": ["octo/app"],
            "permissions": {"actions": "read", "contents": "read", "checks": "read"},
        },
        "nocontents": {
            "secret": "ghs_conformance_nocontents",
            "kind": "github_token",
            "repos": ["octo/app"],
            "permissions": {"actions": "write", "contents": "none", "checks": "read"},
        },
        "dev": {
            "secret": "ghp_conformance_dev",
            "kind": "pat",
            "repos": "*",
            "permissions": {"actions": "write", "contents": "write", "checks": "read"},
            "actor": "octocat",
        },
    },
    "repos": {
        "octo/app": {
            "private": True,
            "default_branch": "main",
            "branches": {"main": MAIN_SHA, "feature/x": FEATURE_SHA},
            "tags": {"v1.0.0": MAIN_SHA},
            "workflows": [
                {
                    "path": ".github/workflows/deploy.yml",
                    "name": "Deploy",
                    "id": DEPLOY_WORKFLOW_ID,
                    "on": ["workflow_dispatch", "push"],
                    "run_name": "Deploy ${{ inputs.environment }} [${{ inputs.correlation_id }}]",
                    "inputs": {
                        "environment": {"type": "choice", "options": ["dev", "prod"], "required": True},
                        "dry_run": {"type": "boolean", "default": False},
                        "correlation_id": {"type": "string", "required": False},
                    },
                    "timeline": {"queued": 5, "duration": 120},
                    "conclusion": "success",
                    "jobs": [
                        {"name": "build", "steps": ["Set up job", "Build"], "start": 0, "duration": 60},
                        {
                            "name": "deploy",
                            "steps": ["Deploy ${{ inputs.correlation_id }}"],
                            "start": 60,
                            "duration": 60,
                        },
                    ],
                    "artifacts": [{"name": "package", "files": {"pkg/app.txt": "application"}}],
                },
                {
                    "path": ".github/workflows/ci.yml",
                    "name": "CI",
                    "id": CI_WORKFLOW_ID,
                    "on": ["push"],
                    "jobs": [
                        {"name": "lint", "steps": ["Set up job", "Lint"], "start": 0, "duration": 30},
                        {"name": "test", "steps": ["Set up job", "Test"], "start": 30, "duration": 60},
                    ],
                },
                {
                    "path": ".github/workflows/event.yml",
                    "name": "On event",
                    "id": EVENT_WORKFLOW_ID,
                    "on": {"repository_dispatch": ["deploy"]},
                    "timeline": {"queued": 2, "duration": 30},
                    "jobs": [{"name": "react", "steps": ["React"], "start": 0, "duration": 30}],
                },
            ],
            "runs": [
                {  # completed, failed, with an artifact: the run most tests look at
                    "workflow": "ci.yml",
                    "event": "push",
                    "head_sha": MAIN_SHA,
                    "head_branch": "main",
                    "created": -600,
                    "timeline": {"queued": 0, "duration": 300},
                    "conclusion": "failure",
                    "actor": "octocat",
                    "artifacts": [{"name": "report", "files": {"report.txt": "2 failed"}}],
                },
                {  # still in progress when the emulator starts (cancel answers 202)
                    "workflow": "deploy.yml",
                    "event": "push",
                    "head_sha": MAIN_SHA,
                    "head_branch": "main",
                    "created": -60,
                    "timeline": {"queued": 0, "duration": 600},
                    "conclusion": "success",
                },
                {  # three days old, its artifact expired (download answers 410)
                    "workflow": "ci.yml",
                    "event": "push",
                    "head_sha": FEATURE_SHA,
                    "head_branch": "feature/x",
                    "created": -259200,
                    "timeline": {"queued": 0, "duration": 60},
                    "conclusion": "success",
                    "artifacts": [{"name": "old-report", "files": {"report.txt": "ok"}, "expired": True}],
                },
            ],
            "check_runs": [
                {
                    "name": "DCO",
                    "head_sha": MAIN_SHA,
                    "app": "dco",
                    "created": -30,
                    "timeline": {"queued": 0, "duration": 20},
                    "conclusion": "success",
                    "output_title": "DCO",
                    "output_summary": "All commits are signed off, one with a note.",
                    "annotations": [
                        {
                            "path": "README.md",
                            "start_line": 2,
                            "level": "notice",
                            "message": "Signed off twice.",
                        },
                        {
                            "path": "README.md",
                            "start_line": 4,
                            "end_line": 6,
                            "level": "warning",
                            "message": "x",
                        },
                    ],
                }
            ],
        },
        "octo/secret": {"private": True, "branches": {"main": SITE_SHA}},
        "octo/site": {"private": False, "branches": {"main": SITE_SHA}},
    },
}


def scenario_with(**options: Any) -> dict[str, Any]:
    """The conformance scenario with some options changed."""
    data = copy.deepcopy(SCENARIO)
    data["options"].update(options)
    return data


class Api:
    """Plain `requests` against the emulator, as one token (or anonymously)."""

    def __init__(self, emu: Emulator, token: str | None) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/vnd.github+json"
        self.session.headers["User-Agent"] = "wait-and-dispatch-conformance"
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.emu.api_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return self.session.request(
            method,
            self.url(path),
            json=json,
            headers=dict(headers or {}),
            allow_redirects=False,
            timeout=10,
        )

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> requests.Response:
        return self.request("GET", path, headers=headers)

    def json(self, path: str) -> Any:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()


@dataclass(frozen=True)
class Ids:
    """Identifiers of the scenario's objects, as the API reports them."""

    failed_run: int
    running_run: int
    old_run: int
    job: int
    artifact: int
    expired_artifact: int
    check_run: int
    check_suite: int

    def fill(self, template: str) -> str:
        return template.format(
            repo=REPO,
            sha=MAIN_SHA,
            deploy=DEPLOY_WORKFLOW_ID,
            ci=CI_WORKFLOW_ID,
            failed_run=self.failed_run,
            running_run=self.running_run,
            old_run=self.old_run,
            job=self.job,
            artifact=self.artifact,
            expired_artifact=self.expired_artifact,
            check_run=self.check_run,
            check_suite=self.check_suite,
        )


def discover_ids(api: Api) -> Ids:
    runs = api.json(f"{REPO}/actions/runs?per_page=100")["workflow_runs"]
    failed = next(run for run in runs if run["conclusion"] == "failure")
    running = next(run for run in runs if run["status"] != "completed")
    old = next(run for run in runs if run["head_sha"] == FEATURE_SHA)
    job = api.json(f"{REPO}/actions/runs/{failed['id']}/jobs")["jobs"][0]
    artifact = api.json(f"{REPO}/actions/runs/{failed['id']}/artifacts")["artifacts"][0]
    expired = api.json(f"{REPO}/actions/runs/{old['id']}/artifacts")["artifacts"][0]
    check_runs = api.json(f"{REPO}/commits/{MAIN_SHA}/check-runs?filter=all")["check_runs"]
    check_run = next(check_run for check_run in check_runs if check_run["name"] == "DCO")
    return Ids(
        failed_run=failed["id"],
        running_run=running["id"],
        old_run=old["id"],
        job=job["id"],
        artifact=artifact["id"],
        expired_artifact=expired["id"],
        check_run=check_run["id"],
        check_suite=check_run["check_suite"]["id"],
    )


@pytest.fixture(scope="session")
def spec() -> OpenApiSpec:
    return OpenApiSpec.load()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """Shared by a module: read it, never write to it or move its clock."""
    with Emulator(Scenario.from_dict(SCENARIO), clock=ManualClock()) as emulator:
        yield emulator


@pytest.fixture
def fresh_emu(clock: ManualClock) -> Iterator[Emulator]:
    """An emulator of the test's own, for writes and for moving the clock."""
    with Emulator(Scenario.from_dict(SCENARIO), clock=clock) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def api(emu: Emulator) -> Api:
    return Api(emu, emu.token("dev"))


@pytest.fixture(scope="module")
def ids(api: Api) -> Ids:
    return discover_ids(api)


@pytest.fixture
def fresh_api(fresh_emu: Emulator) -> Api:
    return Api(fresh_emu, fresh_emu.token("dev"))


@pytest.fixture
def fresh_ids(fresh_api: Api) -> Ids:
    return discover_ids(fresh_api)
