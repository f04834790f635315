"""One error hierarchy for the whole tool.

Every error the core raises is a `WaitAndDispatchError` with a one-line message, a hint that says
how to fix it, and the documented exit code the edges (CLI, action) exit with. Exit codes are
part of the public contract: see "Exit codes" in README.md.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    SUCCESS = 0
    CONCLUSION_NOT_ALLOWED = 1
    USAGE = 2
    TIMEOUT = 3
    GITHUB_API = 4
    ARTIFACT = 5
    INTERRUPTED = 130


class WaitAndDispatchError(Exception):
    """Base class: `str(error)` is the one-line message; `hint` says what to do about it."""

    exit_code: ExitCode = ExitCode.GITHUB_API
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint


class UsageError(WaitAndDispatchError):
    """Bad input from the user: options, inputs, scenario or plan files."""

    exit_code = ExitCode.USAGE


class GitHubApiError(WaitAndDispatchError):
    """GitHub answered with an error, or could not be reached."""

    exit_code = ExitCode.GITHUB_API

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.method = method
        self.url = url


class AuthenticationError(GitHubApiError):
    default_hint = (
        "check the token: set GITHUB_TOKEN (or GH_TOKEN) to a valid token, or pass github-token in the action"
    )


class PermissionDeniedError(GitHubApiError):
    default_hint = (
        "give the token the permission this call needs: `actions: write` to dispatch or cancel "
        "workflow runs, `contents: write` for repository_dispatch, `actions: read` and `checks: read` to wait"
    )


class NotFoundError(GitHubApiError):
    default_hint = (
        "check the repository and workflow names; a private repository the token cannot see "
        "also answers 404, so check the token's access too"
    )


class ValidationFailedError(GitHubApiError):
    """GitHub refused the request body (422, or 400 for an unknown field on older servers)."""

    default_hint = "check the inputs against the `on.workflow_dispatch.inputs` the workflow declares"


class RateLimitExceededError(GitHubApiError):
    def __init__(
        self,
        message: str,
        *,
        reset_at: float | None = None,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            method=method,
            url=url,
            hint=hint
            or (
                "wait for the rate limit to reset, raise the timeout so the wait fits, or use a token "
                "with a larger budget (a GitHub App installation token or a PAT)"
            ),
        )
        self.reset_at = reset_at


class ServerError(GitHubApiError):
    default_hint = "GitHub is having trouble; check https://www.githubstatus.com and try again"


class ConnectionFailedError(GitHubApiError):
    default_hint = "check the network and the API URL (--api-url / GITHUB_API_URL)"


class WriteOutcomeUnknownError(GitHubApiError):
    """A write (such as a dispatch) may or may not have reached GitHub: it is never re-sent blindly.

    The engine looks for what the write may have done (the run it may have started) before it
    decides whether to send it again.
    """

    default_hint = "the request may have been applied; look for its effect before sending it again"


class DeadlineExceededError(WaitAndDispatchError):
    """The caller's deadline passed (or would pass) before GitHub gave an answer."""

    exit_code = ExitCode.TIMEOUT
    default_hint = "raise the timeout, or check why GitHub is slow or rate-limiting this token"
