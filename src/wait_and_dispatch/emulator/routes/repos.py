"""A repository and its commits: REST "Get a repository" and "Get a commit"."""

from __future__ import annotations

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.exchange import Call, Reply, Route
from wait_and_dispatch.emulator.routes.common import repo_of, require, resolve_ref


def get_repo(call: Call) -> Reply:
    repo = repo_of(call)
    token = call.token
    write = (
        token is not None
        and (token.repos is None or repo.full_name in token.repos)
        and token.permissions.get("contents") == "write"
    )
    perms = {"admin": False, "maintain": write, "push": write, "triage": write, "pull": True}
    return Reply(200, shapes.repo_full(repo, call.urls, perms))


def get_commit(call: Call) -> Reply:
    repo = repo_of(call)
    require(call, repo, "contents", "read")
    return Reply(200, shapes.commit(repo, resolve_ref(call, repo), call.urls))


ROUTES = (
    Route("GET", "/repos/{owner}/{repo}", get_repo),
    Route("GET", "/repos/{owner}/{repo}/commits/{ref}", get_commit),
)
