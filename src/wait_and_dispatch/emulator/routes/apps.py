"""GitHub Apps (REST "Apps"): the App authenticates with a JWT, finds its installations, mints
installation tokens; an installation token can revoke itself."""

from __future__ import annotations

import secrets
import string
from typing import Any

from wait_and_dispatch.emulator import check_shapes
from wait_and_dispatch.emulator.exchange import ApiError, Call, Reply, Route, invalid, not_found
from wait_and_dispatch.emulator.routes.common import parse_json
from wait_and_dispatch.emulator.shapes import iso
from wait_and_dispatch.emulator.specs import GitHubAppSpec, TokenSpec

_DOC_APPS = "https://docs.github.com/rest/apps/apps"
# REST "Create an installation access token for an app": a repository outside the installation.
_NOT_IN_INSTALLATION = (
    "There is at least one repository that does not exist or is not accessible to the parent installation."
)
_NOT_GRANTED = "The permissions requested are not granted to this installation."
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def _app(call: Call) -> GitHubAppSpec:
    """The App a JWT authenticated; 401 for anything else, as GitHub answers the /app endpoints."""
    token = call.token
    if token is None or token.app_slug is None:
        raise ApiError(401, "A JSON web token could not be decoded", _DOC_APPS)
    return call.state.apps[token.app_slug]


def get_app(call: Call) -> Reply:
    return Reply(200, check_shapes.github_app(_app(call), call.urls))


def get_repo_installation(call: Call) -> Reply:
    app = _app(call)
    full = f"{call.args['owner']}/{call.args['repo']}".lower()
    for inst in app.installations:
        covers = inst.repos is None or full in (r.lower() for r in inst.repos)
        exists = full in (r.lower() for r in call.state.repos)
        if inst.account.lower() == full.split("/")[0] and covers and exists:
            return Reply(200, check_shapes.installation(app, inst, call.urls))
    raise not_found(_DOC_APPS)


def get_account_installation(call: Call) -> Reply:
    app = _app(call)
    for inst in app.installations:
        if inst.account.lower() == (call.args.get("org") or call.args["username"]).lower():
            return Reply(200, check_shapes.installation(app, inst, call.urls))
    raise not_found(_DOC_APPS)


def create_installation_token(call: Call) -> Reply:
    app = _app(call)
    inst = next((i for i in app.installations if i.id == call.args["installation_id"]), None)
    if inst is None:
        raise not_found(_DOC_APPS)
    body = parse_json(call.request)
    body = body if isinstance(body, dict) else {}
    covered = [
        r
        for r in call.state.repos.values()
        if r.full_name.split("/")[0].lower() == inst.account.lower()
        and (inst.repos is None or r.full_name in inst.repos)
    ]
    names = body.get("repositories")
    ids = body.get("repository_ids")
    scoped: tuple[str, ...] | None = None if inst.repos is None else tuple(r.full_name for r in covered)
    if names is not None or ids is not None:
        chosen = []
        for name in names or []:
            repo = next((r for r in covered if r.full_name.split("/")[1].lower() == str(name).lower()), None)
            if repo is None:
                raise invalid(_NOT_IN_INSTALLATION, _DOC_APPS)
            chosen.append(repo.full_name)
        for repo_id in ids or []:
            repo = next((r for r in covered if r.id == repo_id), None)
            if repo is None:
                raise invalid(_NOT_IN_INSTALLATION, _DOC_APPS)
            chosen.append(repo.full_name)
        scoped = tuple(dict.fromkeys(chosen))
    permissions = dict(inst.permissions)
    asked = body.get("permissions")
    if isinstance(asked, dict):
        ranks = {"none": 0, "read": 1, "write": 2}
        for scope, level in asked.items():
            if ranks.get(str(level), 3) > ranks[inst.permissions.get(scope, "none")]:
                raise invalid(_NOT_GRANTED, _DOC_APPS)
        permissions = {scope: str(asked.get(scope, "none")) for scope in inst.permissions}
    number = call.state.ids.next("installation_token")
    token = TokenSpec(
        name=f"installation-{inst.id}-{number}",
        secret="ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36)),
        kind="app",
        repos=scoped,
        permissions=permissions,
        actor=f"{app.slug}[bot]",
        expires_at=call.now + 3600,
        installation_id=inst.id,
    )
    call.state.tokens[token.name] = token
    answer: dict[str, Any] = {
        "token": token.secret,
        "expires_at": iso(token.expires_at),
        "permissions": {**permissions, "metadata": "read"},
        "repository_selection": "all" if scoped is None else "selected",
    }
    return Reply(201, answer)


def revoke_installation_token(call: Call) -> Reply:
    token = call.token
    if token is None:
        raise ApiError(401, "Requires authentication", _DOC_APPS)
    if token.installation_id is None:
        raise ApiError(403, "Resource not accessible by personal access token", _DOC_APPS)
    call.state.tokens.pop(token.name, None)
    call.state.revoked_tokens.append(token.name)
    return Reply(204)


ROUTES = (
    Route("GET", "/app", get_app),
    Route("GET", "/repos/{owner}/{repo}/installation", get_repo_installation),
    Route("GET", "/orgs/{org}/installation", get_account_installation),
    Route("GET", "/users/{username}/installation", get_account_installation),
    Route("POST", "/app/installations/{installation_id}/access_tokens", create_installation_token),
    Route("DELETE", "/installation/token", revoke_installation_token),
)
