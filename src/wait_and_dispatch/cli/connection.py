"""Where GitHub is and which token to use, resolved from options and the environment at the edge."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Connection:
    """Where GitHub is and who we are, resolved from options and the environment at the edge."""

    api_url: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"Connection(api_url={self.api_url!r}, token={'<set>' if self.token else None})"


def resolve_connection(
    api_url: str | None, environ: Mapping[str, str], *, gh_token: Callable[[], str | None] | None = None
) -> Connection:
    """`--api-url`, else `GITHUB_API_URL` (set by the runner; GHES: https://HOST/api/v3), else
    api.github.com; the token from `GITHUB_TOKEN`, else `GH_TOKEN` (the GitHub CLI's name), else
    what `gh auth token` prints when the GitHub CLI is installed and logged in."""
    from wait_and_dispatch.github_api import DEFAULT_API_URL, normalize_api_url

    url = normalize_api_url(api_url or environ.get("GITHUB_API_URL") or DEFAULT_API_URL)
    token = (environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or "").strip() or None
    if token is None and gh_token is not None:
        token = gh_token()
    return Connection(url, token)


def token_from_gh() -> str | None:
    """`gh auth token`, if the GitHub CLI is there and logged in; None otherwise."""
    import shutil
    import subprocess  # nosec B404 # runs only `gh auth token`, below

    gh = shutil.which("gh")
    if gh is None:
        return None
    try:
        done = subprocess.run(  # nosec B603 # noqa: S603 - a fixed command line, no user input
            [gh, "auth", "token"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
