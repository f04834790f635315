"""Git references: REST "Git references" (get one, list matching, create, update, delete).

Creating a ref is GitHub's one atomic compare-and-set that needs no more than `contents: write`:
a second create of the same name answers 422 "Reference already exists" whoever asks, which is
what lets two processes agree on who does a thing first. Handlers run under the model's lock, so
two creates of one name at the same moment get one 201 and one 422, as on GitHub.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from typing import Any

from wait_and_dispatch.emulator.exchange import ApiError, Call, Reply, Route, invalid
from wait_and_dispatch.emulator.model import Repo
from wait_and_dispatch.emulator.routes.common import json_body, repo_of, require
from wait_and_dispatch.support.github_vocabulary import REFUSED_IN_REF_NAMES

_DOC = "https://docs.github.com/rest/git/refs"
_DOC_GET = _DOC + "#get-a-reference"
_DOC_CREATE = _DOC + "#create-a-reference"
_DOC_UPDATE = _DOC + "#update-a-reference"
_DOC_DELETE = _DOC + "#delete-a-reference"
_SHA = re.compile(r"^[0-9a-f]{40}$")


def ref_json(call: Call, repo: Repo, name: str) -> dict[str, Any]:
    """OpenAPI `git-ref` (shape and node id as in the example of `git/get-ref`)."""
    api = f"{call.urls.api}/repos/{repo.full_name}/git"
    sha = repo.refs[name]
    return {
        "ref": name,
        "node_id": base64.b64encode(f"03:Ref{name}".encode()).decode(),
        "url": f"{api}/{name}",
        "object": {"type": "commit", "sha": sha, "url": f"{api}/commits/{sha}"},
    }


def _ref_arg(call: Call) -> str:
    """The URL's ref (`heads/main`) as its full name (`refs/heads/main`). The path takes the name
    without `refs/`: `git/refs/refs/heads/x` names a ref that does not exist
    (github/rest-api-description#2746)."""
    return "refs/" + urllib.parse.unquote(call.args["ref"]).strip("/")


def _commit_of(call: Call, repo: Repo, body: dict[str, Any], doc: str) -> str:
    sha = body.get("sha")
    if sha is None:
        raise invalid('Invalid request.\n\n"sha" wasn\'t supplied.', doc)
    if not isinstance(sha, str):
        raise invalid(f"Invalid request.\n\nFor 'properties/sha', {json.dumps(sha)} is not a string.", doc)
    # A SHA the repository does not have: 422 "Object does not exist" (octokit/octokit.js#562).
    if not _SHA.match(sha) or sha not in repo.known_shas():
        raise invalid("Object does not exist", doc)
    return sha


def get_ref(call: Call) -> Reply:
    """git/get-ref: one ref by `heads/<branch>` or `tags/<tag>`; 404 when there is none."""
    repo = repo_of(call, _DOC_GET)
    require(call, repo, "contents", "read")
    name = _ref_arg(call)
    if name not in repo.refs:
        raise ApiError(404, "Not Found", _DOC_GET)
    return Reply(200, ref_json(call, repo, name))


def list_matching_refs(call: Call) -> Reply:
    """git/list-matching-refs: every ref whose name starts with the one given, sorted by name;
    an empty array, not a 404, when none does. All of them in one answer: GitHub ignores
    `per_page` and `page` here and sends no Link header (github/docs#3863, google/go-github#1567;
    google/go-github#3924 dropped the list options as the docs no longer list them)."""
    repo = repo_of(call, _DOC + "#list-matching-references")
    require(call, repo, "contents", "read")
    prefix = _ref_arg(call)
    names = sorted(name for name in repo.refs if name.startswith(prefix))
    return Reply(200, [ref_json(call, repo, name) for name in names])


def create_ref(call: Call) -> Reply:
    """git/create-ref: 201 with the ref; 422 "Reference already exists" when it does
    (renovatebot/renovate#20281, gm3dmo/the-power#16)."""
    repo = repo_of(call, _DOC_CREATE)
    require(call, repo, "contents", "write")
    body = json_body(call.request)
    name = body.get("ref")
    if name is None:
        raise invalid('Invalid request.\n\n"ref" wasn\'t supplied.', _DOC_CREATE)
    if not isinstance(name, str):
        raise invalid(
            f"Invalid request.\n\nFor 'properties/ref', {json.dumps(name)} is not a string.", _DOC_CREATE
        )
    # OpenAPI git/create-ref: "If it doesn't start with 'refs' and have at least two slashes, it
    # will be rejected"; the messages as octokit/octokit.rb#675 quotes them.
    if not name.startswith("refs/") or name.count("/") < 2:
        raise invalid("Reference name must contain at least three slash-separated components.", _DOC_CREATE)
    if REFUSED_IN_REF_NAMES.search(name):
        raise invalid(f"{name} is not a valid ref name.", _DOC_CREATE)
    sha = _commit_of(call, repo, body, _DOC_CREATE)
    if name in repo.refs:
        raise invalid("Reference already exists", _DOC_CREATE)
    if any(other.startswith(name + "/") or name.startswith(other + "/") for other in repo.refs):
        # `a/b` cannot live beside `a/b/c` in git; GitHub answers "Reference update failed"
        # (microsoft/vscode-remote-repositories-github#122).
        raise invalid("Reference update failed", _DOC_CREATE)
    repo.refs[name] = sha
    answer = ref_json(call, repo, name)
    return Reply(201, answer, {"Location": answer["url"]})


def update_ref(call: Call) -> Reply:
    """git/update-ref: move a ref; without `force`, only forward (422 "Update is not a fast
    forward", prose/prose#148), the ancestry read from the scenario commits' `parents`."""
    repo = repo_of(call, _DOC_UPDATE)
    require(call, repo, "contents", "write")
    name = _ref_arg(call)
    body = json_body(call.request)
    if name not in repo.refs:
        raise invalid("Reference does not exist", _DOC_UPDATE)
    sha = _commit_of(call, repo, body, _DOC_UPDATE)
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise invalid(
            f"Invalid request.\n\nFor 'properties/force', {json.dumps(force)} is not a boolean.", _DOC_UPDATE
        )
    if not force and not repo.descends_from(sha, repo.refs[name]):
        raise invalid("Update is not a fast forward", _DOC_UPDATE)
    repo.refs[name] = sha
    return Reply(200, ref_json(call, repo, name))


def delete_ref(call: Call) -> Reply:
    """git/delete-ref: 204; 422 "Reference does not exist" for a ref that is not there
    (googleapis/github-repo-automation#138, jcabi/jcabi-github#1335)."""
    repo = repo_of(call, _DOC_DELETE)
    require(call, repo, "contents", "write")
    name = _ref_arg(call)
    if name not in repo.refs:
        raise invalid("Reference does not exist", _DOC_DELETE)
    if name == f"refs/heads/{repo.spec.default_branch}":
        # GitHub keeps a repository's default branch (wording unverified).
        raise invalid("Cannot delete the default branch", _DOC_DELETE)
    del repo.refs[name]
    return Reply(204)


ROUTES = (
    Route("GET", "/repos/{owner}/{repo}/git/ref/{ref}", get_ref),
    Route("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}", list_matching_refs),
    Route("POST", "/repos/{owner}/{repo}/git/refs", create_ref),
    Route("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}", update_ref),
    Route("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}", delete_ref),
)
