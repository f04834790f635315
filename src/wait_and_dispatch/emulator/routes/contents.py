"""A file of the repository: REST "Get repository content"."""

from __future__ import annotations

import urllib.parse

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.exchange import ApiError, Call, Reply, Route
from wait_and_dispatch.emulator.routes.common import repo_of, require
from wait_and_dispatch.emulator.shapes import workflow_yaml

_DOC_CONTENTS = "https://docs.github.com/rest/repos/contents#get-repository-content"


def get_contents(call: Call) -> Reply:
    """repos/get-content for a file: the workflow files the scenario describes, at any ref.

    As GitHub: 404 "Not Found" for a private repository the token cannot see; 403 "Resource not
    accessible by integration" without `contents: read` (fine-grained permissions table); 404
    "No commit found for the ref X" for an unknown ref (as reported in packit/packit#767 and
    googleapis/repo-automation-bots#4725); 404 "Not Found" for a path not in the repository.
    The body is the file object of the GitHub docs ("Get repository content", object type
    file): base64 `content` in lines of 60 characters, the git blob `sha`, and an ETag, so
    conditional reads of an unchanged file are free 304s.
    """
    repo = repo_of(call, _DOC_CONTENTS)
    require(call, repo, "contents", "read")
    ref = call.request.args.get("ref") or repo.spec.default_branch
    sha = repo.resolve_commit(ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}", _DOC_CONTENTS)
    path = urllib.parse.unquote(call.args["path"]).strip("/")
    wf = next((w for w in repo.workflows if w.spec.path == path), None)
    if wf is None:
        raise ApiError(404, "Not Found", _DOC_CONTENTS)
    return Reply(200, shapes.file_contents(repo, path, ref, workflow_yaml(wf.spec).encode(), call.urls))


ROUTES = (Route("GET", "/repos/{owner}/{repo}/contents/{path}", get_contents),)
