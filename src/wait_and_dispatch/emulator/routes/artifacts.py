"""Artifacts: REST "Artifacts" (lists, get, delete, and the download's redirect to the blob host)."""

from __future__ import annotations

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.blob_urls import sign_blob_url
from wait_and_dispatch.emulator.exchange import ApiError, Call, Reply, Route, not_found
from wait_and_dispatch.emulator.model import Artifact, Repo
from wait_and_dispatch.emulator.routes.common import page, repo_of, require, run_of, storage_redirect

_DOC_ARTIFACTS = "https://docs.github.com/rest/actions/artifacts"


def _artifact_list(call: Call, artifacts: list[Artifact]) -> Reply:
    name = call.request.args.get("name")
    now = call.now
    visible = [
        a for a in artifacts if call.state.artifact_visible(a, now) and (name is None or a.spec.name == name)
    ]
    return page(call, [shapes.artifact(call.state, a, now, call.urls) for a in visible], "artifacts")


def list_run_artifacts(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    run = run_of(call, repo)
    artifacts = [a for attempt in run.attempts for a in attempt.artifacts]
    if call.request.args.get("direction") == "desc":
        artifacts.reverse()
    return _artifact_list(call, artifacts)


def list_repo_artifacts(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    artifacts = [a for a in call.state.artifacts.values() if a.run.repo is repo]
    artifacts.sort(key=lambda a: (call.state.artifact_times(a)[0], a.id), reverse=True)
    return _artifact_list(call, artifacts)


def _artifact(call: Call, repo: Repo) -> Artifact:
    art = call.state.artifacts.get(call.args["artifact_id"])
    if art is None or art.run.repo is not repo or not call.state.artifact_visible(art, call.now):
        # Artifact.testGetNonexistentArtifact
        raise not_found("https://docs.github.com/rest/actions/artifacts#get-an-artifact")
    return art


def get_artifact(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    return Reply(200, shapes.artifact(call.state, _artifact(call, repo), call.now, call.urls))


def delete_artifact(call: Call) -> Reply:
    repo = repo_of(call)
    art = _artifact(call, repo)
    require(call, repo, "actions", "write")
    art.deleted = True
    return Reply(204)


def download_artifact(call: Call) -> Reply:
    """actions/download-artifact: 302 to a signed storage URL, 410 when expired."""
    repo = repo_of(call)
    require(call, repo, "actions", "read")
    art = _artifact(call, repo)
    if call.args["archive_format"] != "zip":
        raise not_found(_DOC_ARTIFACTS + "#download-an-artifact")
    if call.state.artifact_expired(art, call.now):
        raise ApiError(410, "Artifact has expired", _DOC_ARTIFACTS + "#download-an-artifact")
    return storage_redirect(call, sign_blob_url, art)


ROUTES = (
    Route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", list_run_artifacts),
    Route("GET", "/repos/{owner}/{repo}/actions/artifacts", list_repo_artifacts),
    Route("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}", get_artifact),
    Route("DELETE", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}", delete_artifact),
    Route("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}", download_artifact),
)
