"""GET /rate_limit: the token's budgets, as REST "Get rate limit status for the authenticated user"."""

from __future__ import annotations

from typing import Any

from wait_and_dispatch.emulator.exchange import DOCS, ApiError, Call, Reply, Route
from wait_and_dispatch.emulator.limits import budget_for


def get_rate_limit(call: Call) -> Reply:
    if not call.state.options.rate_limited:
        # GHES with rate limiting off (its default): actions/stale#1227, magithub#104.
        raise ApiError(404, "Rate limiting is not enabled.", DOCS)
    budget = budget_for(call.state, call.token)
    core = {
        "limit": budget.limit,
        "used": budget.used,
        "remaining": budget.remaining,
        "reset": budget.reset_at(call.now),
    }
    reset = int(call.now + 3600)
    other = {"limit": 30, "used": 0, "remaining": 30, "reset": int(call.now + 60)}
    answer: dict[str, Any] = {
        "resources": {
            "core": core,
            "search": other,
            "graphql": {"limit": budget.limit, "used": 0, "remaining": budget.limit, "reset": reset},
            "integration_manifest": {"limit": 5000, "used": 0, "remaining": 5000, "reset": reset},
            "code_search": {"limit": 10, "used": 0, "remaining": 10, "reset": int(call.now + 60)},
        },
    }
    # 2026-03-10 removed the deprecated `rate`, a copy of `resources.core` (REST "Breaking changes").
    if call.request.headers.get("X-GitHub-Api-Version") != "2026-03-10":
        answer["rate"] = core
    return Reply(200, answer)


ROUTES = (
    # "Accessing this endpoint does not count against your REST API rate limit."
    Route("GET", "/rate_limit", get_rate_limit, counted=False),
)
