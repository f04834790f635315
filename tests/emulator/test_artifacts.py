"""Artifacts and their download through the storage host (REST docs "Artifacts"; docs/github-behaviour.md)."""

from __future__ import annotations

import hashlib
import io
import stat
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import github
import requests

from tests.emulator.conftest import Http
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.support.clock import ManualClock


def _finished_run(http: Http, clock: ManualClock) -> int:
    run_id = http.dispatch_run_id()
    clock.advance(200)
    return run_id


def _artifacts(http: Http, run_id: int, **params: str) -> list[dict[str, Any]]:
    body = http.get(f"/repos/octo/app/actions/runs/{run_id}/artifacts", params=params).json()
    items: list[dict[str, Any]] = body["artifacts"]
    return items


def _location(http: Http, artifact: dict[str, Any]) -> str:
    response = http.get(artifact["archive_download_url"], allow_redirects=False)
    assert response.status_code == 302, response.text
    location: str = response.headers["Location"]
    return location


def test_artifacts_appear_when_the_run_completes(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(60)
    assert _artifacts(http, run_id) == []
    clock.advance(100)
    assert [a["name"] for a in _artifacts(http, run_id)] == ["package"]


def test_artifact_fields(http: Http, clock: ManualClock) -> None:
    run_id = _finished_run(http, clock)
    artifact = _artifacts(http, run_id)[0]
    assert artifact["expired"] is False
    assert artifact["expires_at"] == "2026-04-01T00:02:05Z"  # completion + 90 days
    assert artifact["workflow_run"]["id"] == run_id
    assert artifact["workflow_run"]["head_branch"] == "main"
    assert artifact["digest"].startswith("sha256:")


def test_name_filter_is_an_exact_match(http: Http, clock: ManualClock) -> None:
    run_id = _finished_run(http, clock)
    assert len(_artifacts(http, run_id, name="package")) == 1
    assert _artifacts(http, run_id, name="pack") == []


def test_repository_artifacts_with_name_filter(http: Http, clock: ManualClock) -> None:
    first = _finished_run(http, clock)
    second = _finished_run(http, clock)
    body = http.get("/repos/octo/app/actions/artifacts", params={"name": "package"}).json()
    # Newest first; the scenario's failed push run uploaded one too, earlier.
    assert [a["workflow_run"]["id"] for a in body["artifacts"]][:2] == [second, first]
    assert body["total_count"] == 3


def test_download_redirects_to_the_blob_host_and_the_digest_matches(
    http: Http, emu: Emulator, clock: ManualClock
) -> None:
    artifact = _artifacts(http, _finished_run(http, clock))[0]
    location = _location(http, artifact)
    assert location.startswith(emu.blob_url + "/artifacts/")
    blob = requests.get(location, timeout=10)
    assert blob.status_code == 200
    assert blob.headers["Content-Length"] == str(len(blob.content)) == str(artifact["size_in_bytes"])
    assert artifact["digest"] == "sha256:" + hashlib.sha256(blob.content).hexdigest()
    assert zipfile.ZipFile(io.BytesIO(blob.content)).read("pkg/app.txt") == b"hello\n"


def test_blob_host_rejects_a_request_carrying_authorization(http: Http, clock: ManualClock) -> None:
    location = _location(http, _artifacts(http, _finished_run(http, clock))[0])
    blob = requests.get(location, headers={"Authorization": "token ghp_dev"}, timeout=10)
    assert blob.status_code == 400
    assert blob.headers["Content-Type"] == "application/xml"
    assert "<Code>InvalidAuthenticationInfo</Code>" in blob.text


def test_signed_url_expires_after_artifact_url_ttl(http: Http, clock: ManualClock) -> None:
    location = _location(http, _artifacts(http, _finished_run(http, clock))[0])
    clock.advance(61)
    blob = requests.get(location, timeout=10)
    assert blob.status_code == 403
    assert "<Code>AuthenticationFailed</Code>" in blob.text


def test_forged_signature_is_rejected(http: Http, clock: ManualClock) -> None:
    location = _location(http, _artifacts(http, _finished_run(http, clock))[0])
    assert requests.get(location.replace("sig=", "sig=x"), timeout=10).status_code == 403
    assert requests.get(location.split("?")[0], timeout=10).status_code == 403


def test_blob_host_serves_byte_ranges(http: Http, clock: ManualClock) -> None:
    location = _location(http, _artifacts(http, _finished_run(http, clock))[0])
    whole = requests.get(location, timeout=10).content
    part = requests.get(location, headers={"Range": "bytes=10-"}, timeout=10)
    assert part.status_code == 206
    assert part.content == whole[10:]


def test_expired_artifact_is_listed_as_expired_and_download_answers_410(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["repos"]["octo/app"]["workflows"][0]["artifacts"][0]["retention_days"] = 1
    http = Http(start(scenario))
    run_id = _finished_run(http, clock)
    clock.advance(86400)
    artifact = _artifacts(http, run_id)[0]
    assert artifact["expired"] is True
    response = http.get(artifact["archive_download_url"], allow_redirects=False)
    assert response.status_code == 410


def test_scenario_can_mark_an_artifact_expired(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["runs"][0]["artifacts"] = [
        {"name": "old", "files": {"a": "b"}, "expired": True}
    ]
    http = Http(start(scenario))
    artifact = http.get("/repos/octo/app/actions/artifacts").json()["artifacts"][0]
    assert (artifact["name"], artifact["expired"]) == ("old", True)


def test_scenario_digest_may_be_null_or_wrong(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["runs"][0]["artifacts"] = [
        {"name": "v3", "files": {"a": "b"}, "digest": None},
        {"name": "tampered", "files": {"a": "b"}, "digest": "sha256:" + "0" * 64},
    ]
    http = Http(start(scenario))
    digests = {
        a["name"]: a["digest"] for a in http.get("/repos/octo/app/actions/artifacts").json()["artifacts"]
    }
    assert digests == {"v3": None, "tampered": "sha256:" + "0" * 64}


def test_crafted_zip_entries_are_served_as_given(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["runs"][0]["artifacts"] = [
        {
            "name": "evil",
            "entries": [{"name": "../evil.txt", "content": "x"}, {"name": "link", "symlink": "/etc/passwd"}],
        }
    ]
    http = Http(start(scenario))
    artifact = http.get("/repos/octo/app/actions/artifacts").json()["artifacts"][0]
    archive = zipfile.ZipFile(io.BytesIO(requests.get(_location(http, artifact), timeout=10).content))
    assert archive.namelist() == ["../evil.txt", "link"]
    link = archive.getinfo("link")
    assert stat.S_ISLNK(link.external_attr >> 16)
    assert archive.read("link") == b"/etc/passwd"


def test_big_synthetic_artifact_streams_in_constant_memory(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    # Bigger than the 10 MB buffer werkzeug may allocate once while draining a request.
    size = 24 * 1024 * 1024
    scenario["repos"]["octo/app"]["runs"][0]["artifacts"] = [{"name": "big", "size": size}]
    http = Http(start(scenario))
    artifact = http.get("/repos/octo/app/actions/artifacts").json()["artifacts"][0]
    assert artifact["size_in_bytes"] > size
    digest = hashlib.sha256()
    tracemalloc.start()
    with requests.get(_location(http, artifact), stream=True, timeout=10) as blob:
        assert blob.headers["Content-Length"] == str(artifact["size_in_bytes"])
        for chunk in blob.iter_content(65536):
            digest.update(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert artifact["digest"] == "sha256:" + digest.hexdigest()
    assert peak < size / 2


def test_deleted_artifact_is_gone(http: Http, emu: Emulator, clock: ManualClock) -> None:
    artifact = _artifacts(http, _finished_run(http, clock))[0]
    response = http.session.delete(artifact["url"], headers=http.headers("dev", None))
    assert response.status_code == 204
    assert http.get(artifact["url"]).status_code == 404


def test_cancelled_run_uploads_no_artifacts(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    http.post(f"/repos/octo/app/actions/runs/{run_id}/cancel")
    clock.advance(200)
    assert _artifacts(http, run_id) == []


def test_pygithub_lists_artifacts(gh: github.Github, clock: ManualClock) -> None:
    repo = gh.get_repo("octo/app")
    run = repo.get_workflow("deploy.yml").create_dispatch(
        "main", {"environment": "dev"}, throw=True, return_run_details=True
    )
    clock.advance(200)
    run = repo.get_workflow_run(run.id)
    assert [a.name for a in run.get_artifacts()] == ["package"]
    assert next(iter(repo.get_artifacts(name="package"))).workflow_run.id == run.id
