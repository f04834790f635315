"""What a failed request means: the typed error (errors.py) for each refusal or broken connection.

A refusal worth waiting out (a rate limit; a 5xx or a connection error of a request that is safe
to repeat) comes back wrapped in `RetryableError` for the retry loop; a write whose outcome is
unknown (a 5xx, or a connection that failed after it was sent) is `WriteOutcomeUnknownError`, so
the engine looks for its effect before anything is sent again (a re-sent dispatch can start a
duplicate run).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from wait_and_dispatch.github_api.answers import describe
from wait_and_dispatch.github_api.rate_limit import rate_limit_refusal
from wait_and_dispatch.github_api.retry import RetryableError
from wait_and_dispatch.github_api.transport import Headers, WireError
from wait_and_dispatch.github_api.versions import API_VERSION, FALLBACK_API_VERSION, refuses_version
from wait_and_dispatch.support.errors import (
    AuthenticationError,
    ConnectionFailedError,
    GitHubApiError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ValidationFailedError,
    WriteOutcomeUnknownError,
)

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

ANONYMOUS_HINT = (
    "no token was found: set GITHUB_TOKEN or GH_TOKEN (or log in with `gh auth login`), or pass "
    "github-token in the action; without one, private repositories answer 404"
)


def connection_failure(
    shown: str, base_url: str, exc: WireError, *, method: str, url: str, safe: bool
) -> Exception:
    """The error for a request the network failed; `shown` is the request as messages show it."""
    failure = ConnectionFailedError(
        f"{shown}: could not reach GitHub at {base_url} ({describe(exc)})", method=method, url=url
    )
    if safe or exc.never_sent:
        return RetryableError("connection", failure)
    # The request may have reached GitHub before the connection failed: do not send it again.
    return WriteOutcomeUnknownError(
        f"{shown}: the connection failed after the request was sent ({describe(exc)}); "
        "GitHub may have applied it",
        method=method,
        url=url,
    )


def classify(
    shown: str,
    status: int,
    headers: Headers,
    data: Any,
    *,
    method: str,
    url: str,
    safe: bool,
    has_token: bool,
) -> Exception:
    """The error for an answer of 400 and above (or a retryable 5xx); `shown` as in messages."""
    message = data.get("message", "") if isinstance(data, dict) else ""
    line = f"{shown}: {status}" + (f" {message}" if message else "")
    limited = rate_limit_refusal(line, status, headers, message, method=method, url=url)
    if limited is not None:
        return limited
    if status in RETRYABLE_STATUSES:
        final_server = ServerError(line, status=status, method=method, url=url)
        if safe:
            return RetryableError("server-error", final_server)
        # A 5xx from a write says nothing of whether it was applied (a proxy can fail after
        # GitHub accepted it): report it as unknown, never re-send it blindly.
        return WriteOutcomeUnknownError(
            f"{line}; GitHub may or may not have applied it", status=status, method=method, url=url
        )
    # Without a token GitHub answers as it does to anyone: 404 for a private repository, 403
    # for a write; the hint must say that no token was found rather than blame the names.
    no_token = None if has_token else ANONYMOUS_HINT
    if status == 401:
        return AuthenticationError(line, status=status, method=method, url=url, hint=no_token)
    if status == 403:
        return PermissionDeniedError(
            line, status=status, method=method, url=url, hint=no_token or _permission_hint(url)
        )
    if status == 404:
        return NotFoundError(line, status=status, method=method, url=url, hint=no_token)
    if status == 400 and refuses_version(message):
        return ValidationFailedError(
            line,
            status=status,
            method=method,
            url=url,
            hint="this server supports neither REST API version "
            f"{API_VERSION} nor {FALLBACK_API_VERSION}; check --api-url (GITHUB_API_URL)",
        )
    if status in (400, 422):
        details = _validation_details(data)
        return ValidationFailedError(line + details, status=status, method=method, url=url)
    if status >= 500:
        return ServerError(line, status=status, method=method, url=url)
    return GitHubApiError(
        line,
        status=status,
        method=method,
        url=url,
        hint=f"GitHub refused {shown} with {status}; its message above says why",
    )


def _validation_details(data: Any) -> str:
    """GitHub's 422 `errors` array, condensed to a short suffix."""
    if not isinstance(data, dict):
        return ""
    errors = data.get("errors")
    if not isinstance(errors, list) or not errors:
        return ""
    parts: list[str] = []
    for error in errors[:3]:
        if isinstance(error, dict):
            parts.append(str(error.get("message") or error.get("code") or error))
        else:
            parts.append(str(error))
    return " (" + "; ".join(parts) + ")"


def _permission_hint(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    if path.endswith("/dispatches") and "/actions/workflows/" in path:
        return "give the token `actions: write` (permissions: actions: write) to dispatch workflows"
    if path.endswith("/dispatches"):
        return "give the token `contents: write` to send a repository_dispatch event"
    if path.endswith(("/cancel", "/force-cancel", "/rerun", "/rerun-failed-jobs")):
        return "give the token `actions: write` to cancel or re-run workflow runs"
    if "/git/ref" in path or "/git/matching-refs/" in path:
        return (
            "give the token `contents: write` to create, move or delete git refs (`contents: read` to read)"
        )
    if "/check-runs" in path:
        return "give the token `checks: read`"
    return "give the token `actions: read` (and `contents: read` for private repositories)"
