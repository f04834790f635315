"""Acting as a GitHub App: mint an installation token for the repositories a step touches, revoke it after.

Dispatching in another repository needs more than the job's `GITHUB_TOKEN`: a PAT, or a GitHub
App installation token. With `app-id` and `app-private-key` the tool mints the token itself, so
no separate step (and no token in the workflow's outputs) is needed:

1. sign a JWT with the App's private key (PyGithub's `AppAuth`, RS256, `iat` 60 s in the past
   and valid 5 minutes, as GitHub asks in "Generating a JSON Web Token (JWT) for a GitHub App");
2. find the installation: `GET /repos/{owner}/{repo}/installation`, or for `app-installation-owner`
   `GET /orgs/{org}/installation`, then `GET /users/{user}/installation`;
3. `POST /app/installations/{id}/access_tokens` with `repositories`: a token that reaches only the
   repositories the step touches, for the hour GitHub gives it;
4. `DELETE /installation/token` when the step ends, whatever the outcome (REST "Revoke an
   installation access token"), so the token is dead before it would have expired.

Every request goes through `GitHubApi`, as every other one does. Like the rest of the engine this
module never prints and never reads the environment: the edges pass the inputs in and mask the
token before anything can print it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi, RetryEvent
from wait_and_dispatch.support.clock import Clock, SystemClock
from wait_and_dispatch.support.errors import (
    AuthenticationError,
    NotFoundError,
    UsageError,
    ValidationFailedError,
    WaitAndDispatchError,
)

# An App is named by its numeric id or, since 2024, its client id (`Iv1.…`, `Iv23…`), in `iss`.
_APP_ID = re.compile(r"^(?:[1-9][0-9]{0,18}|Iv[0-9A-Za-z.]{4,40})$")
# How long minting and revoking may take, retries and rate-limit waits included. A token that
# cannot be minted within a minute fails the step (a primary limit that resets in 50 minutes is
# not waited for); a revoke gets the runner's cancellation grace (SIGINT, SIGTERM 7.5 s later,
# then a kill: actions/runner `ProcessInvoker.cs`), after which the token dies at `expires_at`.
MINT_BUDGET = 60.0
REVOKE_BUDGET = 10.0
_QUOTABLE_ID = re.compile(r"^[0-9A-Za-z._-]{0,12}$")
_KEY_HINT = (
    "give app-private-key the whole .pem file the App's settings page generated, "
    "BEGIN and END lines included (store it as a secret)"
)
_INSTALL_HINT = (
    "install the GitHub App on the repository (the App's page: Install App), "
    "or name the account it is installed on with app-installation-owner"
)


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App's id and private key, and optionally the account its installation is on."""

    app_id: str
    private_key: str = field(repr=False)
    installation_owner: str | None = None

    @classmethod
    def parse(cls, app_id: str, private_key: str, installation_owner: str = "") -> AppCredentials:
        """Check the inputs; `\\n` written for newlines (a key pasted on one line) is undone."""
        app_id = app_id.strip()
        if not _APP_ID.match(app_id):
            # Quoted only when it cannot be a secret put in the wrong input (a key, a token).
            quoted = f" {app_id!r}" if _QUOTABLE_ID.match(app_id) else ""
            raise UsageError(
                f"app-id{quoted} is neither a GitHub App id nor a client id",
                hint="use the App ID (a number) or the Client ID (Iv…) from the App's settings page",
            )
        key = private_key.strip()
        if "\n" not in key and "\\n" in key:
            key = key.replace("\\n", "\n")
        if not (key.startswith("-----BEGIN") and "PRIVATE KEY-----" in key):
            raise UsageError("app-private-key is not a PEM private key", hint=_KEY_HINT)
        owner = installation_owner.strip() or None
        return cls(app_id=app_id, private_key=key + "\n", installation_owner=owner)

    def jwt(self) -> str:
        """A JWT that authenticates as the App for a few minutes, signed by PyGithub's AppAuth."""
        import github.Auth
        import jwt

        try:
            return str(github.Auth.AppAuth(self.app_id, self.private_key).token)
        except (
            ValueError,
            TypeError,
            jwt.PyJWTError,
        ) as error:  # cryptography: "Could not deserialize key data"
            raise UsageError(
                "app-private-key could not be read as an RSA private key", hint=_KEY_HINT
            ) from error


@dataclass
class InstallationToken:
    """A minted installation token. `repositories`: the names it is scoped to (empty: all)."""

    token: str = field(repr=False)
    installation_id: int
    account: str
    expires_at: str
    repositories: tuple[str, ...] = ()
    revoked: bool = False
    revoke_error: WaitAndDispatchError | None = None


def token_account(repositories: Sequence[Repository], owner: str | None) -> str:
    """The one account whose installation must cover every repository the step touches."""
    owners = {repo.owner.lower() for repo in repositories}
    if owner is not None:
        owners.add(owner.lower())
    if len(owners) > 1:
        names = ", ".join(sorted({repo.full_name for repo in repositories}))
        raise UsageError(
            f"an App installation token reaches one account's repositories, but this step touches {names}"
            + (f" and app-installation-owner is {owner}" if owner else ""),
            hint="split the step per account, or give github-token a token that reaches them all",
        )
    if owner is not None:
        return owner
    if not repositories:
        raise UsageError(
            "app-id was given but the step names no repository",
            hint="set repository (owner/name), or app-installation-owner",
        )
    return repositories[0].owner


def mint_installation_token(
    credentials: AppCredentials,
    repositories: Sequence[Repository],
    *,
    base_url: str,
    clock: Clock | None = None,
    on_retry: Callable[[RetryEvent], None] | None = None,
    deadline: float | None = None,
) -> InstallationToken:
    """Find the App's installation and mint a token scoped to `repositories` (deduplicated)."""
    unique = list(dict.fromkeys(repositories))
    account = token_account(unique, credentials.installation_owner)
    clock = clock or SystemClock()
    budget = clock.now() + MINT_BUDGET
    deadline = budget if deadline is None else min(deadline, budget)
    with GitHubApi(
        base_url=base_url, token=credentials.jwt(), app_jwt=True, clock=clock, on_retry=on_retry
    ) as app_api:
        try:
            installation = _installation(app_api, credentials, unique, account, deadline)
            installation_id = int(installation["id"])
            body = {"repositories": [repo.name for repo in unique]} if unique else None
            # Idempotent: a token lost in a 5xx answer is never seen by anyone and dies within the hour.
            answer = app_api.post(
                f"/app/installations/{installation_id}/access_tokens",
                body,
                idempotent=True,
                deadline=deadline,
            ).data
        except AuthenticationError as error:
            raise AuthenticationError(
                f"GitHub refused the App's JWT (app-id {credentials.app_id}): {error.message}",
                status=error.status,
                hint="check that app-id is this App's id or client id and app-private-key its current key",
            ) from error
        except ValidationFailedError as error:
            names = ", ".join(repo.full_name for repo in unique)
            raise ValidationFailedError(
                f"the App's installation on {account} does not reach {names}: {error.message}",
                status=error.status,
                hint="add the repositories to the App's installation (Configure on the App's page)",
            ) from error
    return InstallationToken(
        token=str(answer["token"]),
        installation_id=installation_id,
        account=str((installation.get("account") or {}).get("login") or account),
        expires_at=str(answer.get("expires_at") or ""),
        repositories=tuple(repo.name for repo in unique),
    )


def _installation(
    api: GitHubApi,
    credentials: AppCredentials,
    repositories: Sequence[Repository],
    account: str,
    deadline: float | None,
) -> dict[str, Any]:
    if credentials.installation_owner is None:
        repo = repositories[0]
        try:
            return dict(api.get(f"{repo.api_path}/installation", conditional=False, deadline=deadline).data)
        except NotFoundError as error:
            raise NotFoundError(
                f"the GitHub App {credentials.app_id} is not installed on {repo.full_name}",
                status=404,
                hint=_INSTALL_HINT,
            ) from error
    for kind in ("orgs", "users"):  # an organization's, else a user's
        try:
            return dict(api.get(f"/{kind}/{account}/installation", conditional=False, deadline=deadline).data)
        except NotFoundError:
            continue
    raise NotFoundError(
        f"the GitHub App {credentials.app_id} is not installed on the account {account}",
        status=404,
        hint=_INSTALL_HINT,
    )


def revoke_installation_token(
    token: InstallationToken, *, base_url: str, clock: Clock | None = None
) -> InstallationToken:
    """Revoke the token (`DELETE /installation/token`, authenticated by the token itself).

    Never raises: the step's own outcome matters more; a failure, or no answer within
    `REVOKE_BUDGET`, is kept in `revoke_error` for the edge to warn about (the token then dies at
    `expires_at` anyway).
    """
    if token.revoked:
        return token
    clock = clock or SystemClock()
    try:
        with GitHubApi(base_url=base_url, token=token.token, clock=clock) as api:
            api.request(
                "DELETE", "/installation/token", idempotent=True, deadline=clock.now() + REVOKE_BUDGET
            )
    except WaitAndDispatchError as error:  # an API error, or the budget spent (DeadlineExceededError)
        token.revoke_error = error
    else:
        token.revoked = True
    return token


@contextmanager
def installation_token(
    credentials: AppCredentials,
    repositories: Sequence[Repository],
    *,
    base_url: str,
    clock: Clock | None = None,
    on_retry: Callable[[RetryEvent], None] | None = None,
    on_minted: Callable[[InstallationToken], None] | None = None,
) -> Iterator[InstallationToken]:
    """Mint a token for the block and revoke it when the block ends, by success, error or interrupt.

    `on_minted` runs before anything else sees the token: the action masks it there.
    """
    token = mint_installation_token(
        credentials, repositories, base_url=base_url, clock=clock, on_retry=on_retry
    )
    if on_minted is not None:
        on_minted(token)
    try:
        yield token
    finally:
        revoke_installation_token(token, base_url=base_url, clock=clock)
