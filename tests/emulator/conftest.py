"""Fixtures for the emulator's behaviour tests: a scenario to tweak, the emulator on loopback
sharing a ManualClock with the test, PyGithub and raw `requests` clients."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import github
import pytest
import requests

from wait_and_dispatch.emulator import Emulator

MAIN_SHA = "1111111111111111111111111111111111111111"
FEATURE_SHA = "2222222222222222222222222222222222222222"
TAG_SHA = "3333333333333333333333333333333333333333"
OLD_SHA = "4444444444444444444444444444444444444444"

SCENARIO: dict[str, Any] = {
    "options": {"return_run_details": True, "dispatch_visibility_delay": 3, "artifact_url_ttl": 60},
    "tokens": {
        "dev": {
            "secret": "ghp_dev",
            "kind": "pat",
            "repos": "*",
            "permissions": {"actions": "write", "contents": "write", "checks": "read"},
            "actor": "octocat",
        },
        "ci": {
            "secret": "ghs_ci",
            "kind": "github_token",
            "repos": ["octo/app"],
            "permissions": {"actions": "write", "contents": "read", "checks": "read"},
        },
        "ro": {
            "secret": "ghs_ro",
            "kind": "github_token",
            "repos": ["octo/app"],
            "permissions": {"actions": "read", "contents": "read", "checks": "read"},
        },
    },
    "repos": {
        "octo/app": {
            "private": True,
            "default_branch": "main",
            "branches": {"main": MAIN_SHA, "feature/x": FEATURE_SHA},
            "tags": {"v1.0.0": TAG_SHA},
            "commits": {MAIN_SHA: {"message": "Add login page (#42)\n\nLonger description."}},
            "workflows": [
                {
                    "path": ".github/workflows/deploy.yml",
                    "name": "Deploy",
                    "id": 1001,
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
                    "artifacts": [
                        {"name": "package", "files": {"pkg/app.txt": "hello\n"}, "retention_days": 90},
                    ],
                },
                {
                    "path": ".github/workflows/lint.yml",
                    "name": "Lint",
                    "on": ["push"],
                    "timeline": {"queued": 0, "duration": 30},
                },
                {
                    "path": ".github/workflows/release.yml",
                    "name": "Release",
                    "on": {"repository_dispatch": ["release"]},
                    "run_name": "Release ${{ github.event.client_payload.version }}",
                    "timeline": {"queued": 0, "duration": 30},
                },
            ],
            "runs": [
                {
                    "workflow": "deploy.yml",
                    "event": "push",
                    "head_sha": MAIN_SHA,
                    "head_branch": "main",
                    "created": -600,
                    "timeline": {"queued": 0, "duration": 300},
                    "conclusion": "failure",
                    "actor": "octocat",
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
                },
            ],
        },
        "octo/public": {"private": False, "branches": {"main": MAIN_SHA}},
        "octo/secret": {"private": True, "branches": {"main": MAIN_SHA}},
    },
}


@pytest.fixture
def scenario() -> dict[str, Any]:
    """A fresh copy of SCENARIO that a test may change before it starts the emulator."""
    return copy.deepcopy(SCENARIO)


@pytest.fixture
def start(start_emulator: Callable[[dict[str, Any]], Emulator]) -> Callable[[dict[str, Any]], Emulator]:
    """The shared starter from tests/conftest.py (stopped at teardown), under this suite's name."""
    return start_emulator


@pytest.fixture
def emu(start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]) -> Emulator:
    return start(scenario)


@pytest.fixture
def gh(emu: Emulator) -> Iterator[github.Github]:
    # PyGithub spaces requests (0.25 s) and writes (1 s) by default: not needed on loopback.
    client = github.Github(
        base_url=emu.api_url,
        auth=github.Auth.Token(emu.token("dev")),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    yield client
    client.close()


class Http:
    """`requests` against the emulator with a token picked by name."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.session = requests.Session()

    def headers(self, token: str | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.emu.token(token)}"
        headers.update(extra or {})
        return headers

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.emu.api_url + path

    def get(
        self, path: str, token: str | None = "dev", headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        return self.session.get(self.url(path), headers=self.headers(token, headers), timeout=10, **kwargs)

    def post(
        self,
        path: str,
        json: Any = None,
        token: str | None = "dev",
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        return self.session.post(self.url(path), json=json, headers=self.headers(token, headers), timeout=10)

    def dispatch(self, token: str = "dev", workflow: str = "deploy.yml", **body: Any) -> requests.Response:
        body.setdefault("ref", "main")
        body.setdefault("inputs", {"environment": "dev"})
        return self.post(f"/repos/octo/app/actions/workflows/{workflow}/dispatches", body, token=token)

    def dispatch_run_id(self, **inputs: Any) -> int:
        response = self.dispatch(inputs={"environment": "dev", **inputs}, return_run_details=True)
        assert response.status_code == 200, response.text
        run_id: int = response.json()["workflow_run_id"]
        return run_id


@pytest.fixture
def http(emu: Emulator) -> Iterator[Http]:
    client = Http(emu)
    yield client
    client.session.close()
