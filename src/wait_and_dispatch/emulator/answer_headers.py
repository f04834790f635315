"""The headers of the API host's answers, as GitHub sends them (PyGithub's recorded exchanges,
tests/ReplayData, and GitHub's REST docs for the ones that depend on the scenario)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from werkzeug.http import http_date
from werkzeug.wrappers import Request

from wait_and_dispatch.emulator.model import Budget
from wait_and_dispatch.emulator.specs import Options, TokenSpec

# Headers every REST answer carries (PyGithub's recorded exchanges, tests/ReplayData, e.g.
# Workflow.testCreateDispatchException, recorded 2024).
_COMMON_HEADERS = (
    ("Server", "GitHub.com"),
    ("X-GitHub-Media-Type", "github.v3; format=json"),
    (
        "Access-Control-Expose-Headers",
        "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, "
        "X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, "
        "X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset",
    ),
    ("Access-Control-Allow-Origin", "*"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubdomains; preload"),
    ("X-Frame-Options", "deny"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-XSS-Protection", "0"),
    ("Referrer-Policy", "origin-when-cross-origin, strict-origin-when-cross-origin"),
    ("Content-Security-Policy", "default-src 'none'"),
)


def answer_headers(
    options: Options,
    request: Request,
    token: TokenSpec | None,
    budget: Budget,
    now: float,
    request_id: str,
    *,
    etag: str | None = None,
    extra: Mapping[str, str] | None = None,
    cache: bool = False,
    exempt: bool = False,
    exhausted: bool = False,
) -> list[tuple[str, str]]:
    """GitHub's headers on an answer: date, caching, ETag, token details, the API version,
    x-ratelimit-*, the ones every answer carries, the handler's own, and the request id."""
    headers: list[tuple[str, str]] = [("Date", http_date(now))]
    if cache:
        headers.append(
            (
                "Cache-Control",
                "no-cache"
                if exempt
                else ("private, max-age=60, s-maxage=60" if token else "public, max-age=60, s-maxage=60"),
            )
        )
        headers.append(
            (
                "Vary",
                "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding, Accept, X-Requested-With",
            )
        )
    else:
        headers.append(("Vary", "Accept-Encoding, Accept, X-Requested-With"))
    if etag is not None:
        headers.append(("ETag", etag))
    if token is not None and token.kind == "pat":
        headers.append(("X-OAuth-Scopes", "repo, workflow"))
        headers.append(("X-Accepted-OAuth-Scopes", ""))
        headers.append(
            (
                "github-authentication-token-expiration",
                time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now + 30 * 86400)),
            )
        )
    headers.append(
        ("x-github-api-version-selected", request.headers.get("X-GitHub-Api-Version", "2022-11-28"))
    )
    # x-ratelimit-* on every answer (PyGithub recordings since 2023 add used and resource); none where
    # rate limiting is off (GHES by default).
    if options.rate_limited:
        reset = budget.reset_at(now)
        headers.extend(
            [
                ("X-RateLimit-Limit", str(budget.limit)),
                ("X-RateLimit-Remaining", "0" if exhausted else str(budget.remaining)),
                ("X-RateLimit-Reset", str(reset)),
                ("X-RateLimit-Used", str(budget.limit if exhausted else min(budget.used, budget.limit))),
                ("X-RateLimit-Resource", "core"),
            ]
        )
    headers.extend(_COMMON_HEADERS)
    poll = options.poll_interval_header
    if poll is not None and request.method == "GET":
        headers.append(("X-Poll-Interval", str(poll)))
    if options.enterprise_version:
        headers.append(("X-GitHub-Enterprise-Version", options.enterprise_version))
    for key, value in (extra or {}).items():
        headers.append((key, value))
    headers.append(("X-GitHub-Request-Id", request_id))
    return headers
