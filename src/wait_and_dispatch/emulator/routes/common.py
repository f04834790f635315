"""What route handlers share: the lookups and checks most of them begin with (the repository,
the token's permission, the workflow, the run, a ref) and a page of a list with GitHub's Link."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from wait_and_dispatch.emulator.exchange import DOCS, ApiError, Call, Reply, invalid, not_found

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from wait_and_dispatch.emulator.model import Repo, Run, Workflow
    from wait_and_dispatch.emulator.specs import TokenSpec

DOC_RUNS = "https://docs.github.com/rest/actions/workflow-runs"


Target = TypeVar("Target")


def int_arg(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def parse_json(request: Request) -> Any:
    """The body as JSON, or None when there is none or it is not JSON (for the request log)."""
    if request.method in ("GET", "HEAD"):
        return None
    data = request.get_data(cache=True)
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 "Problems parsing JSON" for anything else."""
    data = request.get_data(cache=True)
    try:
        body = json.loads(data) if data else {}
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Problems parsing JSON", DOCS) from None
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON", DOCS)
    return body


def token_can_see(token: TokenSpec | None, repo: Repo) -> bool:
    if token is not None and (token.repos is None or repo.full_name in token.repos):
        return True
    return not repo.spec.private


def repo_of(call: Call, doc: str = DOCS) -> Repo:
    full = f"{call.args['owner']}/{call.args['repo']}"
    repo = call.state.repos.get(full)
    if repo is None:
        # GitHub matches owner/name case-insensitively.
        repo = next((r for r in call.state.repos.values() if r.full_name.lower() == full.lower()), None)
    # A private repo the token cannot see answers 404, exactly like a missing one.
    if repo is None or not token_can_see(call.token, repo):
        raise not_found(doc)
    return repo


def require(call: Call, repo: Repo, scope: str, level: str) -> None:
    """403 when the token lacks `scope: level` on `repo` (GitHub docs, "Permissions required for
    fine-grained tokens"; the accepted permission is named in x-accepted-github-permissions)."""
    token = call.token
    ranks = {"none": 0, "read": 1, "write": 2}
    has_repo = token is not None and (token.repos is None or repo.full_name in token.repos)
    granted = token.permissions.get(scope, "none") if token is not None and has_repo else "read"
    if token is None and level == "write":
        raise ApiError(401, "Requires authentication", DOCS)
    if ranks[granted] < ranks[level]:
        kind = "personal access token" if token is not None and token.kind == "pat" else "integration"
        raise ApiError(
            403,
            f"Resource not accessible by {kind}",
            DOCS,
            {"X-Accepted-GitHub-Permissions": f"{scope}={level}"},
        )


def workflow_of(call: Call, repo: Repo) -> Workflow:
    wf = repo.workflow(urllib.parse.unquote(call.args["workflow_id"]))
    if wf is None:
        raise not_found("https://docs.github.com/rest/actions/workflows#get-a-workflow")
    return wf


def run_of(call: Call, repo: Repo) -> Run:
    run = call.state.runs.get(call.args["run_id"])
    # GET by id works at once, before the run shows in lists (apache/airflow PR #71305: a
    # dispatched run can take seconds to appear in the list endpoints).
    if run is None or run.repo is not repo or not run.exists(call.now):
        raise not_found(DOC_RUNS + "#get-a-workflow-run")
    return run


def storage_redirect(call: Call, sign: Callable[[str, Target, float, bytes], str], target: Target) -> Reply:
    """GitHub's answer to a download (an artifact, a job's log, a run's logs): 302 to a URL on the
    storage host, signed by `sign(blob host, expiry, key)` for `target` and valid for
    `artifact_url_ttl` seconds, with no body."""
    expiry = call.now + call.state.options.artifact_url_ttl
    location = sign(call.urls.blob, target, expiry, call.signing_key)
    return Reply(302, None, {"Location": location, "Content-Length": "0"})


def page(call: Call, items: list[Any], key: str, total: int | None = None) -> Reply:
    """Slice `items` by per_page (default 30, max 100) and page; GitHub's Link header."""
    chunk, headers = _slice(call, items)
    total_count = len(items) if total is None else total
    return Reply(200, {"total_count": total_count, key: chunk}, headers)


def bare_page(call: Call, items: list[Any]) -> Reply:
    """A page of a list GitHub answers as a bare array (check run annotations; the git refs lists,
    OpenAPI `git/list-matching-refs`), as `page` slices it."""
    chunk, headers = _slice(call, items)
    return Reply(200, chunk, headers)


def _slice(call: Call, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    per_page = int_arg(call.request.args.get("per_page"), 30)
    per_page = 30 if per_page < 1 else min(per_page, 100)
    page = max(1, int_arg(call.request.args.get("page"), 1))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    last = max(1, -(-len(items) // per_page))
    if last > 1:
        headers["Link"] = _link(call, page, last)
    return chunk, headers


def _link(call: Call, page: int, last: int) -> str:
    """`<URL>; rel="next", <URL>; rel="last"` (page 1), prev/next/last/first in the middle,
    prev/first on the last page; URLs on /repositories/{id}/... with the request's query
    and `page` last (PyGithub's recorded exchanges, tests/ReplayData:
    Artifact.testGetArtifactsFromRepoWithName, Repository tags in
    Workflow.testCreateDispatchWithTag)."""
    path = call.path
    match = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", path)
    if match:
        repo = call.state.repos.get(f"{match.group(1)}/{match.group(2)}")
        if repo is not None:
            path = f"/repositories/{repo.id}{match.group(3) or ''}"
    query = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(call.request.query_string.decode(), keep_blank_values=True)
        if k != "page"
    ]

    def url(n: int) -> str:
        return f"<{call.urls.api}{path}?{urllib.parse.urlencode([*query, ('page', str(n))])}>"

    parts = []
    if page > 1:
        parts.append(f'{url(min(page - 1, last))}; rel="prev"')
    if page < last:
        parts.append(f'{url(page + 1)}; rel="next"')
        parts.append(f'{url(last)}; rel="last"')
    if page > 1:
        parts.append(f'{url(1)}; rel="first"')
    return ", ".join(parts)


def resolve_ref(call: Call, repo: Repo) -> str:
    sha = repo.resolve_commit(urllib.parse.unquote(call.args["ref"]))
    if sha is None:
        # repos/get-commit 422 "No commit found for SHA: x"
        raise invalid(
            f"No commit found for SHA: {call.args['ref']}",
            "https://docs.github.com/rest/commits/commits#get-a-commit",
        )
    return sha
