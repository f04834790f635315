"""The contents API for workflow files: what GitHub answers to `GET /repos/{o}/{r}/contents/{path}`.

The file object is the one of GitHub's description (`repos/get-content`, "Content File"):
base64 `content` in lines of 60 characters, the git blob `sha`, an ETag for conditional reads.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import yaml

from tests.emulator.conftest import Http
from wait_and_dispatch.emulator import Emulator

DEPLOY = "/repos/octo/app/contents/.github/workflows/deploy.yml"


def test_a_workflow_file_comes_base64_encoded_with_its_git_blob_sha(http: Http) -> None:
    response = http.get(DEPLOY + "?ref=main")
    assert response.status_code == 200
    body = response.json()
    assert (body["type"], body["encoding"], body["path"], body["name"]) == (
        "file",
        "base64",
        ".github/workflows/deploy.yml",
        "deploy.yml",
    )
    lines = body["content"].split("\n")
    assert lines[-1] == "" and all(len(line) <= 60 for line in lines)
    raw = base64.b64decode(body["content"])
    assert body["size"] == len(raw)
    assert body["sha"] == hashlib.sha1(b"blob %d\0" % len(raw) + raw, usedforsecurity=False).hexdigest()


def test_the_file_is_the_workflow_the_scenario_describes(http: Http) -> None:
    text = base64.b64decode(http.get(DEPLOY + "?ref=main").json()["content"]).decode()
    document = yaml.safe_load(text)
    assert document["name"] == "Deploy"
    assert document["run-name"] == "Deploy ${{ inputs.environment }} [${{ inputs.correlation_id }}]"
    inputs = document["on"]["workflow_dispatch"]["inputs"]
    assert inputs["environment"] == {"type": "choice", "required": True, "options": ["dev", "prod"]}
    assert "push" in document["on"]


def test_an_unchanged_file_read_again_conditionally_is_a_free_304(http: Http) -> None:
    first = http.get(DEPLOY + "?ref=main")
    used = int(first.headers["X-RateLimit-Used"])
    again = http.get(DEPLOY + "?ref=main", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert int(again.headers["X-RateLimit-Used"]) == used


def test_a_missing_file_or_ref_is_404_and_no_contents_permission_is_403(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["tokens"]["nocontents"] = {
        "secret": "ghs_nocontents",
        "kind": "github_token",
        "repos": ["octo/app"],
        "permissions": {"actions": "write", "contents": "none"},
    }
    http = Http(start(scenario))
    missing = http.get("/repos/octo/app/contents/.github/workflows/nope.yml?ref=main")
    assert (missing.status_code, missing.json()["message"]) == (404, "Not Found")
    no_ref = http.get(DEPLOY + "?ref=nope")
    assert (no_ref.status_code, no_ref.json()["message"]) == (404, "No commit found for the ref nope")
    refused = http.get(DEPLOY + "?ref=main", token="nocontents")
    assert (refused.status_code, refused.json()["message"]) == (403, "Resource not accessible by integration")
    assert refused.headers["X-Accepted-GitHub-Permissions"] == "contents=read"
    hidden = http.get(DEPLOY + "?ref=main", token=None)
    assert hidden.status_code == 404, "a private repository answers 404 to anonymous reads"


def test_a_workflow_run_trigger_is_written_with_the_workflows_it_listens_to(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["workflows"].append(
        {
            "path": ".github/workflows/after.yml",
            "name": "After Deploy",
            "on": {"workflow_run": {"workflows": ["Deploy"], "types": ["completed"], "branches": ["main"]}},
        }
    )
    http = Http(start(scenario))
    content = http.get("/repos/octo/app/contents/.github/workflows/after.yml").json()["content"]
    document = yaml.safe_load(base64.b64decode(content))
    assert document["on"] == {
        "workflow_run": {"workflows": ["Deploy"], "types": ["completed"], "branches": ["main"]}
    }
