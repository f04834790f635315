"""Fixtures shared by every test: a controllable clock, the emulator over real HTTP, and clients.

Tests share one `ManualClock` between the client and the emulator, so waiting on a 20-minute run
takes milliseconds while the emulator still sees the time pass.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.support.clock import ManualClock

MAIN_SHA = "a" * 40
FEATURE_SHA = "b" * 40

BASE_SCENARIO: dict[str, Any] = {
    "options": {"return_run_details": True, "dispatch_visibility_delay": 3, "artifact_url_ttl": 60},
    "tokens": {
        "dev": {
            "secret": "ghp_dev_secret",
            "kind": "pat",
            "repos": "*",
            "permissions": {"actions": "write", "contents": "write", "checks": "read"},
            "actor": "octocat",
        },
        "ci": {
            "secret": "ghs_ci_secret",
            "kind": "github_token",
            "repos": ["octo/app"],
            "permissions": {"actions": "write", "contents": "read", "checks": "read"},
        },
        "readonly": {
            "secret": "ghs_readonly_secret",
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
            "workflows": [
                {
                    "path": ".github/workflows/build.yml",
                    "name": "Build",
                    "on": ["workflow_dispatch", "push"],
                    "run_name": "Build [${{ inputs.correlation_id }}]",
                    "inputs": {
                        "correlation_id": {"type": "string", "required": False},
                        "environment": {"type": "choice", "options": ["dev", "prod"], "default": "dev"},
                    },
                    "timeline": {"queued": 5, "duration": 120},
                    "conclusion": "success",
                    "jobs": [
                        {"name": "build", "steps": ["Set up job", "Build"], "start": 0, "duration": 120}
                    ],
                    "artifacts": [{"name": "package", "files": {"app.txt": "hello from the build\n"}}],
                }
            ],
        },
        "octo/public": {
            "private": False,
            "default_branch": "main",
            "branches": {"main": MAIN_SHA},
            "workflows": [],
        },
    },
}


@pytest.fixture(autouse=True)
def _no_gh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's `gh` variables must not reach the tests: GH_TOKEN wins over the GITHUB_TOKEN
    a test sets, and GH_HOST or an enterprise token would point the command line elsewhere
    (cli/connection.py reads them as `gh` does)."""
    for name in ("GH_TOKEN", "GH_HOST", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def scenario_dict() -> dict[str, Any]:
    """A deep copy of the base scenario that a test may change before starting the emulator."""
    return copy.deepcopy(BASE_SCENARIO)


@pytest.fixture
def start_emulator(clock: ManualClock) -> Iterator[Callable[[dict[str, Any]], Emulator]]:
    started: list[Emulator] = []

    def start(scenario: dict[str, Any]) -> Emulator:
        emulator = Emulator(Scenario.from_dict(scenario), clock=clock)
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(start_emulator: Callable[[dict[str, Any]], Emulator], scenario_dict: dict[str, Any]) -> Emulator:
    return start_emulator(scenario_dict)


@pytest.fixture
def make_api(clock: ManualClock) -> Iterator[Callable[..., GitHubApi]]:
    clients: list[GitHubApi] = []

    def make(emulator: Emulator, token: str | None = "dev", **options: Any) -> GitHubApi:
        options.setdefault("policy", RetryPolicy())
        options.setdefault("timeout", 10)
        api = GitHubApi(
            base_url=emulator.api_url,
            token=emulator.token(token) if token else None,
            clock=clock,
            **options,
        )
        clients.append(api)
        return api

    yield make
    for api in clients:
        api.close()


@pytest.fixture
def api(make_api: Callable[..., GitHubApi], emulator: Emulator) -> GitHubApi:
    return make_api(emulator)
