"""The emulator per API version, in GHES mode, and for a renamed repository, as GitHub answers.

Sources are in docs/github-behaviour.md: REST "Breaking changes" for 2026-03-10, GHES's rate
limits being off by default, and the 301/307 of a moved repository.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from tests.emulator.conftest import Http
from wait_and_dispatch.emulator import Emulator

Start = Callable[[dict[str, Any]], Emulator]


def test_an_unknown_version_is_refused_in_githubs_words(http: Http) -> None:
    answer = http.get("/repos/octo/app", headers={"X-GitHub-Api-Version": "v3"})
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        'The version you specified in the "X-GitHub-API-Version" request header, "v3", is not a supported '
        'version. The following versions are currently supported: "2022-11-28", "2026-03-10" (most recent).'
    )


def test_2026_03_10_dispatches_answer_200_with_the_run_unasked(http: Http) -> None:
    answer = http.post(
        "/repos/octo/app/actions/workflows/deploy.yml/dispatches",
        {"ref": "main", "inputs": {"environment": "dev"}},
        headers={"X-GitHub-Api-Version": "2026-03-10"},
    )
    assert answer.status_code == 200
    assert set(answer.json()) == {"workflow_run_id", "run_url", "html_url"}


def test_the_rate_limit_answer_has_no_rate_under_2026_03_10(http: Http) -> None:
    new = http.get("/rate_limit", headers={"X-GitHub-Api-Version": "2026-03-10"}).json()
    old = http.get("/rate_limit", headers={"X-GitHub-Api-Version": "2022-11-28"}).json()
    assert "rate" not in new and "core" in new["resources"]
    assert old["rate"] == old["resources"]["core"]


def ghes(scenario: dict[str, Any], **options: Any) -> dict[str, Any]:
    scenario["options"].update(return_run_details=False, enterprise_version="3.20.1", **options)
    return scenario


def test_ghes_mode_serves_under_api_v3_without_rate_limits(start: Start, scenario: dict[str, Any]) -> None:
    emulator = start(ghes(scenario))
    root = emulator.api_url.removesuffix("/api/v3")
    assert emulator.api_url.endswith("/api/v3")
    headers = {"Authorization": f"Bearer {emulator.token('dev')}"}
    assert requests.get(f"{root}/repos/octo/app", headers=headers, timeout=10).status_code == 404
    answer = requests.get(f"{emulator.api_url}/repos/octo/app", headers=headers, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["X-GitHub-Enterprise-Version"] == "3.20.1"
    assert not [name for name in answer.headers if name.lower().startswith("x-ratelimit")]
    limits = requests.get(f"{emulator.api_url}/rate_limit", headers=headers, timeout=10)
    assert (limits.status_code, limits.json()["message"]) == (404, "Rate limiting is not enabled.")


def test_ghes_with_rate_limiting_turned_on_counts_as_github_does(
    start: Start, scenario: dict[str, Any]
) -> None:
    emulator = start(ghes(scenario, rate_limiting=True))
    headers = {"Authorization": f"Bearer {emulator.token('dev')}"}
    answer = requests.get(f"{emulator.api_url}/repos/octo/app", headers=headers, timeout=10)
    assert answer.headers["X-RateLimit-Remaining"] == "4999"


def test_ghes_refuses_2026_03_10_and_dispatches_nothing(start: Start, scenario: dict[str, Any]) -> None:
    emulator = start(ghes(scenario))
    http = Http(emulator)
    refused = http.post(
        "/repos/octo/app/actions/workflows/deploy.yml/dispatches",
        {"ref": "main", "inputs": {"environment": "dev"}},
        headers={"X-GitHub-Api-Version": "2026-03-10"},
    )
    assert refused.status_code == 400
    assert '"2026-03-10", is not a supported version' in refused.json()["message"]
    assert '"2022-11-28" (most recent)' in refused.json()["message"]
    assert emulator.state.runs == {} or not [
        r for r in emulator.state.runs.values() if r.event == "workflow_dispatch"
    ]


def test_a_renamed_repository_answers_301_to_reads_and_307_to_writes(
    start: Start, scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["renamed_from"] = ["octo/old-app"]
    emulator = start(scenario)
    http = Http(emulator)
    repo_id = http.get("/repos/octo/app").json()["id"]
    read = http.get("/repos/octo/old-app/actions/runs?per_page=5", allow_redirects=False)
    assert read.status_code == 301
    expected = f"{emulator.api_url}/repositories/{repo_id}/actions/runs?per_page=5"
    assert read.headers["Location"] == expected
    assert read.json() == {
        "message": "Moved Permanently",
        "url": expected,
        "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects",
    }
    write = http.session.post(
        f"{emulator.api_url}/repos/octo/old-app/actions/workflows/deploy.yml/dispatches",
        json={"ref": "main", "inputs": {"environment": "dev"}},
        headers=http.headers("dev", None),
        allow_redirects=False,
        timeout=10,
    )
    assert write.status_code == 307
    assert not [r for r in emulator.state.runs.values() if r.event == "workflow_dispatch"], "nothing done"
    followed = http.get(read.headers["Location"])
    assert followed.status_code == 200 and "workflow_runs" in followed.json()
