"""GitHub's rate limits as the emulator applies them: the primary hourly budget of each token
and the secondary limit on points per minute (REST "Rate limits for the REST API")."""

from __future__ import annotations

import threading

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.exchange import ApiError
from wait_and_dispatch.emulator.model import RATE_LIMITS, Budget, stable_id
from wait_and_dispatch.emulator.shapes import Urls
from wait_and_dispatch.emulator.specs import TokenSpec
from wait_and_dispatch.emulator.state import State

DOC_RATE_LIMITS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


def budget_for(state: State, token: TokenSpec | None) -> Budget:
    """The primary budget a request spends: the token's, or the anonymous one."""
    if token is None:
        return state.budget("anonymous", state.options.anonymous_rate_limit)
    limit = token.rate_limit if token.rate_limit is not None else RATE_LIMITS[token.kind]
    return state.budget(f"token:{token.name}", limit)


def exhausted(token: TokenSpec | None, urls: Urls) -> ApiError:
    """403 for a spent primary budget. The wording names the user, installation or IP (PyGithub
    tests/ReplayData SpecificExceptions.testRateLimitExceeded, and GitHub today)."""
    if token is None:
        who = "127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. "
        who += "Check out the documentation for more details.)"
    elif token.kind == "pat":
        who = f"user ID {shapes.user(token.actor, urls)['id']}."
    else:
        who = f"installation ID {stable_id(token.name, 10_000_000, 80_000_000)}."
    return ApiError(403, f"API rate limit exceeded for {who}", DOC_RATE_LIMITS, exhausted=True)


def secondary_limited(retry_after: int, message: str | None = None) -> ApiError:
    return ApiError(
        403,
        message or SECONDARY_MESSAGE,
        DOC_RATE_LIMITS + "#about-secondary-rate-limits",
        {"Retry-After": str(retry_after)},
    )


class SecondaryLimit:
    """GitHub's secondary limit on points per minute, when the scenario turns it on.

    REST "Rate limits for the REST API": no more than 900 points per minute for REST
    endpoints; GET, HEAD and OPTIONS cost 1 point, POST, PATCH, PUT and DELETE 5. The answer
    is 403 with the secondary-limit message and `retry-after`. Every request counts, 304s too
    (the docs exempt none).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Points per token: (clock time, points) in the last minute.
        self._points: dict[str, list[tuple[float, int]]] = {}

    def spend(self, limit: int | None, method: str, token: TokenSpec | None, now: float) -> None:
        if limit is None:
            return
        points = 1 if method in ("GET", "HEAD", "OPTIONS") else 5
        key = token.name if token is not None else "anonymous"
        with self._lock:
            spent = [(at, p) for at, p in self._points.get(key, []) if at > now - 60.0]
            total = sum(p for _, p in spent)
            if total + points > limit:
                self._points[key] = spent
                oldest = spent[0][0] if spent else now
                raise secondary_limited(max(1, int(oldest + 60.0 - now + 0.999)))
            spent.append((now, points))
            self._points[key] = spent


def uses_rate_limit(error: ApiError, path: str) -> bool:
    """Whether an error answer uses up a unit of the primary rate limit, as on GitHub.

    GitHub counts 4xx answers: PyGithub's recorded exchanges (tests/ReplayData)
    `Artifact.testGetNonexistentArtifact` (404), `Workflow.testCreateDispatchException` (422) and
    `WorkflowRun.test_cancel` (403) each raise `X-RateLimit-Used` by one. A 401 is not counted
    against the token (it was not recognised), a refusal for an exhausted budget adds nothing to a
    budget already spent, and `/rate_limit` is exempt (REST "Get rate limit status for the
    authenticated user"). 5xx answers are GitHub's fault and are not counted.
    """
    return 400 <= error.status < 500 and error.status != 401 and not error.exhausted and path != "/rate_limit"
