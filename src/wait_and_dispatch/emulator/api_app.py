"""The API host: a WSGI app that answers the REST endpoints of the OpenAPI subset like GitHub does.

Every request goes through the same edge, in GitHub's order: faults (they model the network
and GitHub's front end, so they come first), authentication (401), routing, the handler under
the model lock, then conditional requests (304) and the primary rate limit (403) before the
answer gets GitHub's headers (github-recordings/*.txt).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import string
import threading
import time
import urllib.parse
from base64 import b64decode, urlsafe_b64encode
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from wait_and_dispatch.emulator import shapes
from wait_and_dispatch.emulator.faults import Fault, FaultSet
from wait_and_dispatch.emulator.log import LoggedRequest, RequestLog
from wait_and_dispatch.emulator.scenario import GitHubAppSpec, TokenSpec
from wait_and_dispatch.emulator.shapes import Urls, iso, workflow_yaml
from wait_and_dispatch.emulator.state import (
    RATE_LIMITS,
    Artifact,
    Attempt,
    Budget,
    Repo,
    Run,
    State,
    Workflow,
    stable_id,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

DOCS = "https://docs.github.com/rest"
# Headers every REST answer carries (github-recordings, e.g. Workflow.testCreateDispatchException,
# recorded 2024).
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
# API versions github.com accepts in X-GitHub-Api-Version (GitHub changelog 2026-03-12: 2026-03-10
# makes the dispatch return the run).
API_VERSIONS = ("2022-11-28", "2026-03-10")
# What a GHES that predates `return_run_details` (3.17-3.20, `return_run_details: false` in a
# scenario) knows: only 2022-11-28 is described for those releases, and REST "API versions" says
# an unsupported version gets 400 with nothing done.
GHES_API_VERSIONS = ("2022-11-28",)
# GitHub's words for a version it does not support (expipiplus1/update-nix-fetchgit#79, 400 with
# documentation_url https://docs.github.com/rest).
_UNSUPPORTED_VERSION = (
    'The version you specified in the "X-GitHub-API-Version" request header, "{version}", is not a '
    "supported version. The following versions are currently supported: {known}."
)
# A moved repository's answer (gidgethub/gidgethub#214, 18F/charlie#85).
_DOC_REDIRECTS = "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"
RUN_STATUSES = ("requested", "queued", "pending", "waiting", "in_progress", "completed")
_SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
MAX_INPUTS = 25  # OpenAPI actions/create-workflow-dispatch: inputs maxProperties 25
MAX_INPUTS_CHARS = 65535  # GITHUB-FACTS "Dispatch" (workflow syntax docs)
MAX_CLIENT_PAYLOAD_KEYS = 10  # GitHub docs repos/create-dispatch-event: client_payload max 10 properties


class ApiError(Exception):
    """An answer other than success, with GitHub's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        doc: str = DOCS,
        headers: Mapping[str, str] | None = None,
        *,
        exhausted: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.doc = doc
        self.headers = dict(headers or {})
        self.exhausted = exhausted  # the answer reports the primary budget as spent


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or None for no body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One request as the handlers see it."""

    request: Request
    token: TokenSpec | None
    now: float
    args: dict[str, Any]
    path: str


def _not_found(doc: str = DOCS) -> ApiError:
    return ApiError(404, "Not Found", doc)


def _invalid(message: str, doc: str) -> ApiError:
    return ApiError(422, message, doc)


_DOC_DISPATCH = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
_DOC_RUNS = "https://docs.github.com/rest/actions/workflow-runs"
_DOC_ARTIFACTS = "https://docs.github.com/rest/actions/artifacts"
_DOC_CHECKS = "https://docs.github.com/rest/checks/runs"
_DOC_REPO_DISPATCH = "https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event"
_DOC_CONTENTS = "https://docs.github.com/rest/repos/contents#get-repository-content"
_DOC_APPS = "https://docs.github.com/rest/apps/apps"
# REST "Create an installation access token for an app": a repository outside the installation.
_NOT_IN_INSTALLATION = (
    "There is at least one repository that does not exist or is not accessible to the parent installation."
)
_NOT_GRANTED = "The permissions requested are not granted to this installation."
_TOKEN_ALPHABET = string.ascii_letters + string.digits


class ApiApp:
    """WSGI app of the API host. `faults` and `log` are shared with the blob host."""

    def __init__(
        self,
        state: State,
        faults: FaultSet,
        log: RequestLog,
        urls: Callable[[], Urls],
        signing_key: bytes,
    ) -> None:
        self.state = state
        self.faults = faults
        self.log = log
        self._urls = urls
        self.signing_key = signing_key
        self._counter = 0
        self._counter_lock = threading.Lock()
        # Requests being answered right now, and the most there ever were at once: GitHub asks
        # for serial requests and limits concurrent ones (REST "Rate limits": 100 at most).
        self.in_flight = 0
        self.max_in_flight = 0
        # Secondary-limit points per token: (clock time, points) in the last minute.
        self._points: dict[str, list[tuple[float, int]]] = {}
        r = "/repos/<owner>/<repo>"
        a = f"{r}/actions"
        self.url_map = Map(
            [
                Rule("/rate_limit", endpoint="rate_limit", methods=["GET"]),
                Rule(r, endpoint="get_repo", methods=["GET"]),
                Rule(f"{a}/workflows", endpoint="list_workflows", methods=["GET"]),
                Rule(f"{a}/workflows/<workflow_id>", endpoint="get_workflow", methods=["GET"]),
                Rule(f"{a}/workflows/<workflow_id>/enable", endpoint="enable_workflow", methods=["PUT"]),
                Rule(f"{a}/workflows/<workflow_id>/disable", endpoint="disable_workflow", methods=["PUT"]),
                Rule(f"{a}/workflows/<workflow_id>/dispatches", endpoint="dispatch", methods=["POST"]),
                Rule(f"{a}/workflows/<workflow_id>/runs", endpoint="list_workflow_runs", methods=["GET"]),
                Rule(f"{a}/runs", endpoint="list_repo_runs", methods=["GET"]),
                Rule(f"{a}/runs/<int:run_id>", endpoint="get_run", methods=["GET"]),
                Rule(f"{a}/runs/<int:run_id>", endpoint="delete_run", methods=["DELETE"]),
                Rule(
                    f"{a}/runs/<int:run_id>/attempts/<int:attempt>", endpoint="get_attempt", methods=["GET"]
                ),
                Rule(
                    f"{a}/runs/<int:run_id>/attempts/<int:attempt>/jobs",
                    endpoint="attempt_jobs",
                    methods=["GET"],
                ),
                Rule(f"{a}/runs/<int:run_id>/jobs", endpoint="run_jobs", methods=["GET"]),
                Rule(f"{a}/runs/<int:run_id>/timing", endpoint="run_timing", methods=["GET"]),
                Rule(f"{a}/runs/<int:run_id>/cancel", endpoint="cancel", methods=["POST"]),
                Rule(f"{a}/runs/<int:run_id>/force-cancel", endpoint="force_cancel", methods=["POST"]),
                Rule(f"{a}/runs/<int:run_id>/rerun", endpoint="rerun", methods=["POST"]),
                Rule(f"{a}/runs/<int:run_id>/rerun-failed-jobs", endpoint="rerun_failed", methods=["POST"]),
                Rule(f"{a}/runs/<int:run_id>/artifacts", endpoint="run_artifacts", methods=["GET"]),
                Rule(f"{a}/jobs/<int:job_id>", endpoint="get_job", methods=["GET"]),
                Rule(f"{a}/artifacts", endpoint="repo_artifacts", methods=["GET"]),
                Rule(f"{a}/artifacts/<int:artifact_id>", endpoint="get_artifact", methods=["GET"]),
                Rule(f"{a}/artifacts/<int:artifact_id>", endpoint="delete_artifact", methods=["DELETE"]),
                Rule(
                    f"{a}/artifacts/<int:artifact_id>/<archive_format>", endpoint="download", methods=["GET"]
                ),
                Rule(f"{r}/commits/<path:ref>", endpoint="get_commit", methods=["GET"]),
                Rule(f"{r}/contents/<path:path>", endpoint="get_contents", methods=["GET"]),
                Rule(f"{r}/commits/<path:ref>/check-runs", endpoint="ref_check_runs", methods=["GET"]),
                Rule(f"{r}/commits/<path:ref>/check-suites", endpoint="ref_check_suites", methods=["GET"]),
                Rule(f"{r}/check-runs/<int:check_run_id>", endpoint="get_check_run", methods=["GET"]),
                Rule(f"{r}/check-suites/<int:suite_id>", endpoint="get_check_suite", methods=["GET"]),
                Rule(
                    f"{r}/check-suites/<int:suite_id>/check-runs",
                    endpoint="suite_check_runs",
                    methods=["GET"],
                ),
                Rule(f"{r}/dispatches", endpoint="repository_dispatch", methods=["POST"]),
                # GitHub Apps (REST "Apps"): the App authenticates with a JWT, mints installation
                # tokens, and an installation token can revoke itself.
                Rule("/app", endpoint="get_app", methods=["GET"]),
                Rule(f"{r}/installation", endpoint="repo_installation", methods=["GET"]),
                Rule("/orgs/<account>/installation", endpoint="account_installation", methods=["GET"]),
                Rule("/users/<account>/installation", endpoint="account_installation", methods=["GET"]),
                Rule(
                    "/app/installations/<int:installation_id>/access_tokens",
                    endpoint="create_installation_token",
                    methods=["POST"],
                ),
                Rule("/installation/token", endpoint="revoke_installation_token", methods=["DELETE"]),
            ],
            strict_slashes=False,
            merge_slashes=False,
        )

    @property
    def urls(self) -> Urls:
        return self._urls()

    # -- the edge --------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self._counter_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._serve(environ, start_response)
        finally:
            with self._counter_lock:
                self.in_flight -= 1

    def _serve(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        now = self.state.now()
        with self._counter_lock:
            self._counter += 1
            number = self._counter
        # The shape of GitHub's x-github-request-id (recordings: "E3A5:292E30:123CE55:1DCE5F8:663934DF").
        request_id = (
            f"{0xE000 + number % 0x1000:04X}:{number * 7919 % 0x10000:04X}:{number:06X}:"
            f"{number * 31:06X}:{int(now) % 0x100000000:08X}"
        )
        body_json = _parse_json(request)
        entry = LoggedRequest.build("api", request, body_json, now)
        path = self._rewrite_repositories_path(request.path)
        fault = self.faults.take("api", request.method, path, now - self.state.start)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind == "reset":
            self.log.add(entry.finish(0, None))
            _drop_connection(environ)
        response = self._answer(request, path, now, request_id, fault, entry)
        self.log.add(entry)
        return response(environ, start_response)

    def _rewrite_repositories_path(self, path: str) -> str:
        # Link headers use /repositories/{id}/... (github-recordings: Artifact.testGetArtifactsFromRepo),
        # so clients that follow them arrive here: serve them as /repos/{owner}/{repo}/...
        match = re.match(r"^/repositories/(\d+)(/.*)?$", path)
        if match:
            with self.state.lock:
                for repo in self.state.repos.values():
                    if repo.id == int(match.group(1)):
                        return f"/repos/{repo.full_name}{match.group(2) or ''}"
        return path

    def _answer(
        self,
        request: Request,
        path: str,
        now: float,
        request_id: str,
        fault: Fault | None,
        entry: LoggedRequest,
    ) -> Response:
        token: TokenSpec | None = None
        budget: Budget
        counted = False  # this request has used up a unit of the primary rate limit
        try:
            if fault is not None and fault.kind == "html":
                entry.finish(fault.status, None)
                page = (
                    "<!DOCTYPE html><html><head><title>Sign in to continue</title></head><body></body></html>"
                )
                return Response(page, fault.status, content_type="text/html; charset=utf-8")
            if path.startswith("/_web/"):
                entry.finish(200, None)
                return Response(
                    "<html><body>emulated github.com page</body></html>", 200, content_type="text/html"
                )
            token, authenticated = self._authenticate(request)
            entry.token_name = token.name if token else None
            with self.state.lock:
                budget = self._budget(token)
                budget.refresh(now)
            if not authenticated:
                raise ApiError(401, "Bad credentials", DOCS)
            if fault is not None and fault.kind != "apply_then_fail":
                raise self._fault_error(fault, token, budget, now)
            self._spend_secondary_points(request.method, token, now)
            version = request.headers.get("X-GitHub-Api-Version")
            known = API_VERSIONS if self.state.options.return_run_details else GHES_API_VERSIONS
            if version is not None and version not in known:
                listed = ", ".join(
                    f'"{v}"' + (" (most recent)" if i == len(known) - 1 else "") for i, v in enumerate(known)
                )
                raise ApiError(400, _UNSUPPORTED_VERSION.format(version=version, known=listed), DOCS)
            moved = self._moved(request, path)
            args: Mapping[str, Any]
            if moved is not None:
                endpoint, args = "moved", {}
            else:
                try:
                    endpoint, args = self.url_map.bind("emulator").match(path, method=request.method)
                except (NotFound, MethodNotAllowed):
                    raise _not_found() from None
            exempt = endpoint == "rate_limit"  # "does not count against your rate limit" (rate-limit/get)
            limited = self.state.options.rate_limited
            with self.state.lock:
                if request.method not in ("GET", "HEAD") and not exempt and limited and budget.remaining <= 0:
                    raise self._exhausted(token, budget, now)
                call = Call(request=request, token=token, now=now, args=dict(args), path=path)
                reply: Reply = moved if moved is not None else getattr(self, f"_{endpoint}")(call)
                body = None if reply.body is None else _dump(reply.body)
                etag = None
                if request.method == "GET" and reply.status == 200 and body is not None:
                    # Weak ETag over the body (recordings: W/"<sha256 hex>").
                    etag = f'W/"{hashlib.sha256(body).hexdigest()}"'
                    if _etag_matches(request.headers.get("If-None-Match"), etag):
                        # A 304 does not count against the primary rate limit (GITHUB-FACTS
                        # "Rate limits", REST best-practices doc).
                        headers = self._headers(request, token, budget, now, request_id, etag=etag)
                        entry.finish(304, token)
                        return Response(None, 304, headers=headers)
                if request.method in ("GET", "HEAD") and not exempt and limited and budget.remaining <= 0:
                    raise self._exhausted(token, budget, now)
                if not exempt:
                    budget.used += 1
                    counted = True
            if fault is not None:  # apply_then_fail: the change above is real; the answer is lost
                raise ApiError(fault.status, fault.message or _reason(fault.status), DOCS)
            headers = self._headers(
                request,
                token,
                budget,
                now,
                request_id,
                etag=etag,
                extra=reply.headers,
                cache=reply.status == 200 and request.method == "GET",
                exempt=exempt,
            )
            entry.finish(reply.status, token)
            if body is None:
                return Response(
                    b"" if reply.status not in (204, 304) else None, reply.status, headers=headers
                )
            headers.append(("Content-Type", "application/json; charset=utf-8"))
            return Response(body, reply.status, headers=headers)
        except ApiError as error:
            with self.state.lock:
                budget = self._budget(token)
                if _uses_rate_limit(error, path) and not counted:
                    if budget.remaining <= 0:  # spent: GitHub refuses before looking further
                        error = self._exhausted(token, budget, now)
                    else:
                        budget.used += 1
            payload: dict[str, Any] = {
                "message": error.message,
                "documentation_url": error.doc,
                "status": str(error.status),
            }
            headers = self._headers(
                request, token, budget, now, request_id, extra=error.headers, exhausted=error.exhausted
            )
            headers.append(("Content-Type", "application/json; charset=utf-8"))
            entry.finish(error.status, token)
            return Response(_dump(payload), error.status, headers=headers)

    def _moved(self, request: Request, path: str) -> Reply | None:
        """A request naming a repository by a name it had before: 301 for GET and HEAD, 307 for any
        other method, to the same path under /repositories/{id} (GitHub changelog 2015-04-17
        "Repository redirects": "either a 301 or 307 HTTP redirect, depending on the type of
        request"; the Location and body as in gidgethub/gidgethub#214)."""
        match = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", path)
        if match is None:
            return None
        old = f"{match.group(1)}/{match.group(2)}".lower()
        with self.state.lock:
            repo = next(
                (r for r in self.state.repos.values() if old in (n.lower() for n in r.spec.renamed_from)),
                None,
            )
        if repo is None:
            return None
        query = request.query_string.decode("latin-1")
        location = f"{self.urls.api}/repositories/{repo.id}{match.group(3) or ''}" + (
            f"?{query}" if query else ""
        )
        status = 301 if request.method in ("GET", "HEAD") else 307
        body = {"message": "Moved Permanently", "url": location, "documentation_url": _DOC_REDIRECTS}
        return Reply(status, body, {"Location": location})

    def _authenticate(self, request: Request) -> tuple[TokenSpec | None, bool]:
        """(token, ok): (None, True) for anonymous; (None, False) for unknown credentials."""
        header = request.headers.get("Authorization")
        if header is None:
            return None, True
        scheme, _, value = header.strip().partition(" ")
        secret = value.strip()
        if scheme.lower() == "basic":
            # git and some clients send the token as the password of basic auth.
            try:
                secret = b64decode(secret).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return None, False
        elif scheme.lower() not in ("token", "bearer"):
            return None, False
        with self.state.lock:
            tokens = list(self.state.tokens.values())
            now = self.state.now()
        for token in tokens:
            if hmac.compare_digest(token.secret, secret):
                # An installation token lasts one hour (REST "Create an installation access token").
                expired = token.expires_at is not None and now >= token.expires_at
                return (None, False) if expired else (token, True)
        if scheme.lower() == "bearer" and secret.count(".") == 2:
            app = self._app_of_jwt(secret)
            if app is not None:
                return app, True
        return None, False

    def _app_of_jwt(self, encoded: str) -> TokenSpec | None:
        """The App whose key signed this JWT, as a principal that only the /app endpoints accept.

        GitHub's rules ("Generating a JSON Web Token (JWT) for a GitHub App"): RS256, `iss` the App's
        id or client id, `exp` at most 10 minutes ahead. A JWT is real time, whatever the scenario's
        clock: the client signs it with the wall clock, so it is checked against the wall clock.
        """
        import jwt  # PyJWT: only a scenario with apps needs it

        for spec in self.state.apps.values():
            try:
                claims = jwt.decode(
                    encoded,
                    spec.public_key,
                    algorithms=["RS256"],
                    options={"require": ["iat", "exp", "iss"], "verify_iat": False},
                    leeway=60,
                )
            except jwt.PyJWTError:
                continue
            if str(claims["iss"]) not in (str(spec.id), f"Iv1.{spec.id:016x}"):
                continue
            if float(claims["exp"]) > time.time() + 600 + 60:
                continue  # "'Expiration time' claim ('exp') is too far in the future"
            return TokenSpec(
                name=f"app:{spec.slug}",
                secret="",  # nosec B106 # an App JWT has no stored secret: it was verified above
                kind="app",
                repos=(),
                permissions={},
                actor=spec.slug,
                app_slug=spec.slug,
            )
        return None

    def _budget(self, token: TokenSpec | None) -> Budget:
        if token is None:
            return self.state.budget("anonymous", self.state.options.anonymous_rate_limit)
        limit = token.rate_limit if token.rate_limit is not None else RATE_LIMITS[token.kind]
        return self.state.budget(f"token:{token.name}", limit)

    def _headers(
        self,
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
        # x-ratelimit-* on every answer (recordings since 2023 add used and resource); none where
        # rate limiting is off (GHES by default).
        if self.state.options.rate_limited:
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
        poll = self.state.options.poll_interval_header
        if poll is not None and request.method == "GET":
            headers.append(("X-Poll-Interval", str(poll)))
        if self.state.options.enterprise_version:
            headers.append(("X-GitHub-Enterprise-Version", self.state.options.enterprise_version))
        for key, value in (extra or {}).items():
            headers.append((key, value))
        headers.append(("X-GitHub-Request-Id", request_id))
        return headers

    def _spend_secondary_points(self, method: str, token: TokenSpec | None, now: float) -> None:
        """GitHub's secondary limit on points per minute, when the scenario turns it on.

        REST "Rate limits for the REST API": no more than 900 points per minute for REST
        endpoints; GET, HEAD and OPTIONS cost 1 point, POST, PATCH, PUT and DELETE 5. The answer
        is 403 with the secondary-limit message and `retry-after`. Every request counts, 304s too
        (the docs exempt none).
        """
        limit = self.state.options.secondary_points_per_minute
        if limit is None:
            return
        points = 1 if method in ("GET", "HEAD", "OPTIONS") else 5
        key = token.name if token is not None else "anonymous"
        with self._counter_lock:
            spent = [(at, p) for at, p in self._points.get(key, []) if at > now - 60.0]
            total = sum(p for _, p in spent)
            if total + points > limit:
                self._points[key] = spent
                oldest = spent[0][0] if spent else now
                retry_after = max(1, int(oldest + 60.0 - now + 0.999))
                raise ApiError(
                    403,
                    _SECONDARY_MESSAGE,
                    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                    {"Retry-After": str(retry_after)},
                )
            spent.append((now, points))
            self._points[key] = spent

    def _exhausted(self, token: TokenSpec | None, budget: Budget, now: float) -> ApiError:
        # SpecificExceptions.testRateLimitExceeded; today's wording names the user, installation or IP.
        if token is None:
            who = "127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. "
            who += "Check out the documentation for more details.)"
        elif token.kind == "pat":
            who = f"user ID {shapes.user(token.actor, self.urls)['id']}."
        else:
            who = f"installation ID {stable_id(token.name, 10_000_000, 80_000_000)}."
        return ApiError(
            403,
            f"API rate limit exceeded for {who}",
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            exhausted=True,
        )

    def _fault_error(self, fault: Fault, token: TokenSpec | None, budget: Budget, now: float) -> ApiError:
        if fault.kind == "secondary_rate_limit":
            return ApiError(
                fault.status,
                fault.message or _SECONDARY_MESSAGE,
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                {"Retry-After": str(fault.retry_after if fault.retry_after is not None else 60)},
            )
        if fault.kind == "primary_rate_limit":
            error = self._exhausted(token, budget, now)
            error.status = fault.status
            return error
        return ApiError(fault.status, fault.message or _reason(fault.status), DOCS)

    # -- helpers for handlers -----------------------------------------------------------------

    def _token_can_see(self, token: TokenSpec | None, repo: Repo) -> bool:
        if token is not None and (token.repos is None or repo.full_name in token.repos):
            return True
        return not repo.spec.private

    def _repo(self, call: Call, doc: str = DOCS) -> Repo:
        full = f"{call.args['owner']}/{call.args['repo']}"
        repo = self.state.repos.get(full)
        if repo is None:
            # GitHub matches owner/name case-insensitively.
            repo = next((r for r in self.state.repos.values() if r.full_name.lower() == full.lower()), None)
        # A private repo the token cannot see answers 404, exactly like a missing one.
        if repo is None or not self._token_can_see(call.token, repo):
            raise _not_found(doc)
        return repo

    def _require(self, call: Call, repo: Repo, scope: str, level: str) -> None:
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

    def _workflow(self, call: Call, repo: Repo) -> Workflow:
        wf = repo.workflow(urllib.parse.unquote(call.args["workflow_id"]))
        if wf is None:
            raise _not_found("https://docs.github.com/rest/actions/workflows#get-a-workflow")
        return wf

    def _run(self, call: Call, repo: Repo) -> Run:
        run = self.state.runs.get(call.args["run_id"])
        # GET by id works at once, before the run shows in lists (GITHUB-FACTS "Finding runs").
        if run is None or run.repo is not repo or not run.exists(call.now):
            raise _not_found(_DOC_RUNS + "#get-a-workflow-run")
        return run

    def _page(self, call: Call, items: list[Any], key: str, total: int | None = None) -> Reply:
        """Slice `items` by per_page (default 30, max 100) and page; GitHub's Link header."""
        per_page = _int_arg(call.request.args.get("per_page"), 30)
        per_page = 30 if per_page < 1 else min(per_page, 100)
        page = max(1, _int_arg(call.request.args.get("page"), 1))
        total_count = len(items) if total is None else total
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        last = max(1, -(-len(items) // per_page))
        if last > 1:
            headers["Link"] = self._link(call, page, last)
        return Reply(200, {"total_count": total_count, key: chunk}, headers)

    def _link(self, call: Call, page: int, last: int) -> str:
        """`<URL>; rel="next", <URL>; rel="last"` (page 1), prev/next/last/first in the middle,
        prev/first on the last page; URLs on /repositories/{id}/... with the request's query
        and `page` last (github-recordings: Artifact.testGetArtifactsFromRepoWithName,
        Repository tags in Workflow.testCreateDispatchWithTag)."""
        path = call.path
        match = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", path)
        if match:
            repo = self.state.repos.get(f"{match.group(1)}/{match.group(2)}")
            if repo is not None:
                path = f"/repositories/{repo.id}{match.group(3) or ''}"
        query = [
            (k, v)
            for k, v in urllib.parse.parse_qsl(call.request.query_string.decode(), keep_blank_values=True)
            if k != "page"
        ]

        def url(n: int) -> str:
            return f"<{self.urls.api}{path}?{urllib.parse.urlencode([*query, ('page', str(n))])}>"

        parts = []
        if page > 1:
            parts.append(f'{url(min(page - 1, last))}; rel="prev"')
        if page < last:
            parts.append(f'{url(page + 1)}; rel="next"')
            parts.append(f'{url(last)}; rel="last"')
        if page > 1:
            parts.append(f'{url(1)}; rel="first"')
        return ", ".join(parts)

    def _visible_runs(self, repo: Repo, now: float) -> list[Run]:
        # Dispatched runs reach list endpoints after dispatch_visibility_delay
        # (GITHUB-FACTS "Finding runs": apache/airflow PR #71305).
        runs = [r for r in repo.runs if r.exists(now) and now >= r.visible_at]
        return sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)

    def _run_json(self, run: Run, attempt: Attempt, now: float) -> dict[str, Any]:
        return shapes.workflow_run(self.state, run, attempt, now, self.urls)

    # -- endpoints --------------------------------------------------------------------------

    def _rate_limit(self, call: Call) -> Reply:
        if not self.state.options.rate_limited:
            # GHES with rate limiting off (its default): actions/stale#1227, magithub#104.
            raise ApiError(404, "Rate limiting is not enabled.", DOCS)
        budget = self._budget(call.token)
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

    # -- GitHub Apps ---------------------------------------------------------------------------

    def _app(self, call: Call) -> GitHubAppSpec:
        """The App a JWT authenticated; 401 for anything else, as GitHub answers the /app endpoints."""
        token = call.token
        if token is None or token.app_slug is None:
            raise ApiError(401, "A JSON web token could not be decoded", _DOC_APPS)
        return self.state.apps[token.app_slug]

    def _get_app(self, call: Call) -> Reply:
        return Reply(200, shapes.github_app(self._app(call), self.urls))

    def _repo_installation(self, call: Call) -> Reply:
        app = self._app(call)
        full = f"{call.args['owner']}/{call.args['repo']}".lower()
        for inst in app.installations:
            covers = inst.repos is None or full in (r.lower() for r in inst.repos)
            exists = full in (r.lower() for r in self.state.repos)
            if inst.account.lower() == full.split("/")[0] and covers and exists:
                return Reply(200, shapes.installation(app, inst, self.urls))
        raise _not_found(_DOC_APPS)

    def _account_installation(self, call: Call) -> Reply:
        app = self._app(call)
        for inst in app.installations:
            if inst.account.lower() == call.args["account"].lower():
                return Reply(200, shapes.installation(app, inst, self.urls))
        raise _not_found(_DOC_APPS)

    def _create_installation_token(self, call: Call) -> Reply:
        app = self._app(call)
        inst = next((i for i in app.installations if i.id == call.args["installation_id"]), None)
        if inst is None:
            raise _not_found(_DOC_APPS)
        body = _parse_json(call.request)
        body = body if isinstance(body, dict) else {}
        covered = [
            r
            for r in self.state.repos.values()
            if r.full_name.split("/")[0].lower() == inst.account.lower()
            and (inst.repos is None or r.full_name in inst.repos)
        ]
        names = body.get("repositories")
        ids = body.get("repository_ids")
        scoped: tuple[str, ...] | None = None if inst.repos is None else tuple(r.full_name for r in covered)
        if names is not None or ids is not None:
            chosen = []
            for name in names or []:
                repo = next(
                    (r for r in covered if r.full_name.split("/")[1].lower() == str(name).lower()), None
                )
                if repo is None:
                    raise _invalid(_NOT_IN_INSTALLATION, _DOC_APPS)
                chosen.append(repo.full_name)
            for repo_id in ids or []:
                repo = next((r for r in covered if r.id == repo_id), None)
                if repo is None:
                    raise _invalid(_NOT_IN_INSTALLATION, _DOC_APPS)
                chosen.append(repo.full_name)
            scoped = tuple(dict.fromkeys(chosen))
        permissions = dict(inst.permissions)
        asked = body.get("permissions")
        if isinstance(asked, dict):
            ranks = {"none": 0, "read": 1, "write": 2}
            for scope, level in asked.items():
                if ranks.get(str(level), 3) > ranks[inst.permissions.get(scope, "none")]:
                    raise _invalid(
                        "The permissions requested are not granted to this installation.", _DOC_APPS
                    )
            permissions = {scope: str(asked.get(scope, "none")) for scope in inst.permissions}
        number = self.state.ids.next("installation_token")
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
        self.state.tokens[token.name] = token
        answer: dict[str, Any] = {
            "token": token.secret,
            "expires_at": iso(token.expires_at),
            "permissions": {**permissions, "metadata": "read"},
            "repository_selection": "all" if scoped is None else "selected",
        }
        return Reply(201, answer)

    def _revoke_installation_token(self, call: Call) -> Reply:
        token = call.token
        if token is None:
            raise ApiError(401, "Requires authentication", _DOC_APPS)
        if token.installation_id is None:
            raise ApiError(403, "Resource not accessible by personal access token", _DOC_APPS)
        self.state.tokens.pop(token.name, None)
        self.state.revoked_tokens.append(token.name)
        return Reply(204)

    def _get_repo(self, call: Call) -> Reply:
        repo = self._repo(call)
        token = call.token
        write = (
            token is not None
            and (token.repos is None or repo.full_name in token.repos)
            and token.permissions.get("contents") == "write"
        )
        perms = {"admin": False, "maintain": write, "push": write, "triage": write, "pull": True}
        return Reply(200, shapes.repo_full(repo, self.urls, perms))

    def _wf_json(self, wf: Workflow) -> dict[str, Any]:
        return shapes.workflow(
            wf.repo, wf.id, wf.spec.name, wf.spec.path, wf.state, wf.created_at, wf.updated_at, self.urls
        )

    def _list_workflows(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        return self._page(call, [self._wf_json(wf) for wf in repo.workflows], "workflows")

    def _get_workflow(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        return Reply(200, self._wf_json(self._workflow(call, repo)))

    def _enable_workflow(self, call: Call) -> Reply:
        repo = self._repo(call)
        wf = self._workflow(call, repo)
        self._require(call, repo, "actions", "write")
        wf.state, wf.updated_at = "active", call.now
        return Reply(204)

    def _disable_workflow(self, call: Call) -> Reply:
        repo = self._repo(call)
        wf = self._workflow(call, repo)
        self._require(call, repo, "actions", "write")
        if wf.state != "active":
            # Workflow.testDisabledWhenAlreadyDisabled
            raise ApiError(
                403,
                "Unable to disable a workflow that is not active.",
                "https://docs.github.com/rest/actions/workflows#disable-a-workflow",
            )
        wf.state, wf.updated_at = "disabled_manually", call.now
        return Reply(204)

    def _dispatch(self, call: Call) -> Reply:
        """actions/create-workflow-dispatch (GITHUB-FACTS "Dispatch")."""
        repo = self._repo(call, _DOC_DISPATCH)
        wf = self._workflow(call, repo)
        self._require(call, repo, "actions", "write")
        body = _json_body(call.request)
        options = self.state.options
        allowed = ("ref", "inputs", "return_run_details") if options.return_run_details else ("ref", "inputs")
        for key in body:
            if key not in allowed:
                # GHES <= 3.20 rejects the field it does not know (benc-uk/workflow-dispatch#86).
                raise _invalid(f'Invalid request.\n\n"{key}" is not a permitted key.', _DOC_DISPATCH)
        if "ref" not in body:
            raise _invalid('Invalid request.\n\n"ref" wasn\'t supplied.', _DOC_DISPATCH)
        ref = body["ref"]
        if not isinstance(ref, str):
            raise _invalid(
                f"Invalid request.\n\nFor 'properties/ref', {json.dumps(ref)} is not a string.", _DOC_DISPATCH
            )
        raw_inputs = body.get("inputs") or {}
        if not isinstance(raw_inputs, dict):
            raise _invalid(
                f"Invalid request.\n\nFor 'properties/inputs', {json.dumps(raw_inputs)} is not an object.",
                _DOC_DISPATCH,
            )
        if len(raw_inputs) > MAX_INPUTS:
            # OpenAPI: inputs maxProperties 25. The wording is the validator's (unverified).
            raise _invalid(
                f"Invalid request.\n\nFor 'properties/inputs', more than {MAX_INPUTS} properties "
                f"were supplied ({len(raw_inputs)}).",
                _DOC_DISPATCH,
            )
        # 2026-03-10 removed `return_run_details` and always answers with the run (REST "Breaking
        # changes"); whether it then refuses the field or ignores it is unverified: it is ignored.
        want_details = body.get("return_run_details") is True or (
            call.request.headers.get("X-GitHub-Api-Version") == "2026-03-10"
        )
        if "workflow_dispatch" not in wf.spec.triggers:
            # Workflow.testCreateDispatchForNonTriggerEnabled
            raise _invalid("Workflow does not have 'workflow_dispatch' trigger", _DOC_DISPATCH)
        if wf.state != "active":
            raise _invalid("Cannot trigger a 'workflow_dispatch' on a disabled workflow", _DOC_DISPATCH)
        named = repo.branch_or_tag(ref)
        if named is None:
            raise _invalid(f"No ref found for: {ref}", _DOC_DISPATCH)
        inputs: dict[str, str] = {}
        for key, value in raw_inputs.items():
            if isinstance(value, bool):
                inputs[key] = "true" if value else "false"
            elif isinstance(value, int | float | str):
                # Values are strings; clients often send booleans and numbers (GITHUB-FACTS).
                inputs[key] = str(value)
            else:
                raise _invalid(
                    f"Invalid request.\n\nFor 'properties/{key}', {json.dumps(value)} is not a string.",
                    _DOC_DISPATCH,
                )
        if sum(len(k) + len(v) for k, v in inputs.items()) > MAX_INPUTS_CHARS:
            raise _invalid("inputs are too large.", _DOC_DISPATCH)  # wording unverified
        declared = {i.name: i for i in wf.spec.inputs}
        unexpected = [k for k in inputs if k not in declared]
        if unexpected:
            raise _invalid(
                f"Unexpected inputs provided: {json.dumps(unexpected, separators=(', ', ': '))}",
                _DOC_DISPATCH,
            )
        for spec in wf.spec.inputs:
            if spec.name not in inputs:
                if spec.default is not None:
                    inputs[spec.name] = spec.default
                elif spec.required:
                    # Workflow.testCreateDispatchException
                    raise _invalid(f"Required input '{spec.name}' not provided", _DOC_DISPATCH)
                elif spec.type == "boolean":
                    inputs[spec.name] = "false"
                else:
                    inputs[spec.name] = ""
                continue
            value = inputs[spec.name]
            if spec.type == "choice" and value not in spec.options:
                raise _invalid(
                    f"Provided value '{value}' for input '{spec.name}' not in the list of allowed values",
                    _DOC_DISPATCH,
                )
            if spec.type == "boolean" and value not in ("true", "false"):
                raise _invalid(
                    f"Provided value '{value}' for input '{spec.name}' is not a valid boolean", _DOC_DISPATCH
                )  # wording unverified
            if spec.type == "number":
                try:
                    float(value)
                except ValueError:
                    raise _invalid(
                        f"Provided value '{value}' for input '{spec.name}' is not a valid number",
                        _DOC_DISPATCH,
                    ) from None  # wording unverified
        actor = call.token.actor if call.token else "octocat"
        run = self.state.dispatch(repo, wf, named[0], named[1], inputs, actor)
        if want_details and options.return_run_details:
            base = f"{self.urls.api}/repos/{repo.full_name}/actions/runs/{run.id}"
            return Reply(
                200,
                {
                    "workflow_run_id": run.id,
                    "run_url": base,
                    "html_url": f"{self.urls.web}/{repo.full_name}/actions/runs/{run.id}",
                },
            )
        return Reply(204)

    def _repository_dispatch(self, call: Call) -> Reply:
        """repos/create-dispatch-event: 204, never the run (GITHUB-FACTS "Dispatch")."""
        repo = self._repo(call, _DOC_REPO_DISPATCH)
        self._require(call, repo, "contents", "write")
        body = _json_body(call.request)
        event_type = body.get("event_type")
        if event_type is None:
            raise _invalid('Invalid request.\n\n"event_type" wasn\'t supplied.', _DOC_REPO_DISPATCH)
        if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
            raise _invalid(
                "Invalid request.\n\nFor 'properties/event_type', "
                f"{json.dumps(event_type)} is not a valid event type.",
                _DOC_REPO_DISPATCH,
            )
        payload = body.get("client_payload") or {}
        if not isinstance(payload, dict):
            raise _invalid(
                f"Invalid request.\n\nFor 'properties/client_payload', {json.dumps(payload)} is not an "
                "object.",
                _DOC_REPO_DISPATCH,
            )
        if len(payload) > MAX_CLIENT_PAYLOAD_KEYS:
            raise _invalid(
                f"Invalid request.\n\nNo more than {MAX_CLIENT_PAYLOAD_KEYS} properties are allowed; "
                f"{len(payload)} were supplied.",
                _DOC_REPO_DISPATCH,
            )
        actor = call.token.actor if call.token else "octocat"
        self.state.repository_dispatch(repo, event_type, payload, actor)
        return Reply(204)

    def _filter_runs(self, call: Call, runs: list[Run]) -> Reply:
        """actions/list-workflow-runs filters (GITHUB-FACTS "Finding runs")."""
        args = call.request.args
        now = call.now
        out = runs
        filtered = False
        for key in ("head_sha", "event", "branch", "actor", "status", "created", "check_suite_id"):
            value = args.get(key)
            if value is None or value == "":
                continue
            filtered = True
            if key == "head_sha":
                out = [r for r in out if r.head_sha == value]
            elif key == "event":
                out = [r for r in out if r.event == value]
            elif key == "branch":
                out = [r for r in out if r.head_branch == value]
            elif key == "actor":
                out = [r for r in out if r.actor.lower() == value.lower()]
            elif key == "status":
                # `status` takes a status or a conclusion (OpenAPI enum).
                def matches(run: Run, wanted: str = value) -> bool:
                    status, conclusion, _ = run.latest.status_at(now)
                    return wanted == (status if wanted in RUN_STATUSES else conclusion)

                out = [r for r in out if matches(r)]
            elif key == "check_suite_id":
                suite = _int_arg(value, -1)
                out = [r for r in out if any(a.check_suite_id == suite for a in r.attempts)]
            elif key == "created":
                low, high = parse_created(value)
                # 1-second precision (GITHUB-FACTS "Finding runs", Alfresco PR #1407).
                out = [r for r in out if low <= int(r.created_at) <= high]
        if filtered:
            # "at most 1,000 results with filters" (GITHUB-FACTS "Finding runs").
            out = out[:1000]
        return self._page(call, [self._run_json(r, r.latest, now) for r in out], "workflow_runs")

    def _list_workflow_runs(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        wf = self._workflow(call, repo)
        return self._filter_runs(call, [r for r in self._visible_runs(repo, call.now) if r.workflow is wf])

    def _list_repo_runs(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        return self._filter_runs(call, self._visible_runs(repo, call.now))

    def _get_run(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        run = self._run(call, repo)
        return Reply(200, self._run_json(run, run.latest, call.now))

    def _delete_run(self, call: Call) -> Reply:
        repo = self._repo(call)
        run = self._run(call, repo)
        self._require(call, repo, "actions", "write")
        run.deleted = True
        return Reply(204)

    def _get_attempt(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        run = self._run(call, repo)
        attempt = run.attempt(call.args["attempt"])
        if attempt is None:
            raise _not_found(_DOC_RUNS + "#get-a-workflow-run-attempt")
        return Reply(200, self._run_json(run, attempt, call.now))

    def _jobs_reply(self, call: Call, run: Run, attempts: list[Attempt]) -> Reply:
        items = []
        for attempt in attempts:
            for job, job_state in self.state.job_states(run, attempt, call.now):
                items.append(shapes.job(run, attempt, job, job_state, call.now, self.urls))
        return self._page(call, items, "jobs")

    def _run_jobs(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        run = self._run(call, repo)
        # Only the latest attempt's jobs unless filter=all (GITHUB-FACTS "Finding runs").
        if call.request.args.get("filter", "latest") == "all":
            return self._jobs_reply(call, run, list(run.attempts))
        return self._jobs_reply(call, run, [run.latest])

    def _attempt_jobs(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        run = self._run(call, repo)
        attempt = run.attempt(call.args["attempt"])
        if attempt is None:
            raise _not_found(_DOC_RUNS + "#list-jobs-for-a-workflow-run-attempt")
        return self._jobs_reply(call, run, [attempt])

    def _get_job(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        found = self.state.jobs.get(call.args["job_id"])
        if found is None or found[0].repo is not repo or not found[0].exists(call.now):
            raise _not_found(
                "https://docs.github.com/rest/actions/workflow-jobs#get-a-job-for-a-workflow-run"
            )
        run, attempt, job = found
        job_state = attempt.job_state(job, call.now)
        if job_state is None:
            raise _not_found(
                "https://docs.github.com/rest/actions/workflow-jobs#get-a-job-for-a-workflow-run"
            )
        return Reply(200, shapes.job(run, attempt, job, job_state, call.now, self.urls))

    def _run_timing(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        run = self._run(call, repo)
        attempt = run.latest
        status, _, _ = attempt.status_at(call.now)
        body: dict[str, Any] = {"billable": {}}
        if status == "completed":
            body["run_duration_ms"] = int((attempt.end - attempt.origin) * 1000)
        return Reply(200, body)

    def _cancel(self, call: Call) -> Reply:
        repo = self._repo(call)
        run = self._run(call, repo)
        self._require(call, repo, "actions", "write")
        if not self.state.cancel(run):
            # actions/cancel-workflow-run: 409 when the run already completed.
            raise ApiError(
                409, "Cannot cancel a workflow run that is completed.", _DOC_RUNS + "#cancel-a-workflow-run"
            )
        return Reply(202, {})

    def _force_cancel(self, call: Call) -> Reply:
        repo = self._repo(call)
        run = self._run(call, repo)
        self._require(call, repo, "actions", "write")
        if not self.state.cancel(run):
            raise ApiError(
                409,
                "Cannot cancel a workflow run that is completed.",
                _DOC_RUNS + "#force-cancel-a-workflow-run",
            )
        return Reply(202, {})

    def _rerun_common(self, call: Call, failed_only: bool) -> Reply:
        repo = self._repo(call)
        run = self._run(call, repo)
        self._require(call, repo, "actions", "write")
        if run.latest.status_at(call.now)[0] != "completed":
            # Wording unverified: GitHub refuses to re-run a run that is still going.
            raise ApiError(403, "This workflow is already running", _DOC_RUNS + "#re-run-a-workflow")
        actor = call.token.actor if call.token else "octocat"
        if not self.state.rerun(run, actor, failed_only):
            raise ApiError(
                403,
                "This workflow run has no failed jobs to re-run",  # wording unverified
                _DOC_RUNS + "#re-run-failed-jobs-from-a-workflow-run",
            )
        # actions/re-run-workflow: 201 with `{}` (WorkflowRun.test_rerun_failed_jobs).
        return Reply(201, {})

    def _rerun(self, call: Call) -> Reply:
        return self._rerun_common(call, False)

    def _rerun_failed(self, call: Call) -> Reply:
        return self._rerun_common(call, True)

    def _artifact_list(self, call: Call, artifacts: list[Artifact]) -> Reply:
        name = call.request.args.get("name")
        now = call.now
        visible = [
            a
            for a in artifacts
            if self.state.artifact_visible(a, now) and (name is None or a.spec.name == name)
        ]
        return self._page(
            call, [shapes.artifact(self.state, a, now, self.urls) for a in visible], "artifacts"
        )

    def _run_artifacts(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        run = self._run(call, repo)
        artifacts = [a for attempt in run.attempts for a in attempt.artifacts]
        if call.request.args.get("direction") == "desc":
            artifacts.reverse()
        return self._artifact_list(call, artifacts)

    def _repo_artifacts(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        artifacts = [a for a in self.state.artifacts.values() if a.run.repo is repo]
        artifacts.sort(key=lambda a: (self.state.artifact_times(a)[0], a.id), reverse=True)
        return self._artifact_list(call, artifacts)

    def _artifact(self, call: Call, repo: Repo) -> Artifact:
        art = self.state.artifacts.get(call.args["artifact_id"])
        if art is None or art.run.repo is not repo or not self.state.artifact_visible(art, call.now):
            # Artifact.testGetNonexistentArtifact
            raise _not_found("https://docs.github.com/rest/actions/artifacts#get-an-artifact")
        return art

    def _get_artifact(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        return Reply(200, shapes.artifact(self.state, self._artifact(call, repo), call.now, self.urls))

    def _delete_artifact(self, call: Call) -> Reply:
        repo = self._repo(call)
        art = self._artifact(call, repo)
        self._require(call, repo, "actions", "write")
        art.deleted = True
        return Reply(204)

    def _download(self, call: Call) -> Reply:
        """actions/download-artifact: 302 to a signed storage URL, 410 when expired."""
        repo = self._repo(call)
        self._require(call, repo, "actions", "read")
        art = self._artifact(call, repo)
        if call.args["archive_format"] != "zip":
            raise _not_found(_DOC_ARTIFACTS + "#download-an-artifact")
        if self.state.artifact_expired(art, call.now):
            raise ApiError(410, "Artifact has expired", _DOC_ARTIFACTS + "#download-an-artifact")
        location = sign_blob_url(
            self.urls.blob, art, call.now + self.state.options.artifact_url_ttl, self.signing_key
        )
        return Reply(302, None, {"Location": location, "Content-Length": "0"})

    def _resolve_ref(self, call: Call, repo: Repo) -> str:
        sha = repo.resolve_commit(urllib.parse.unquote(call.args["ref"]))
        if sha is None:
            # repos/get-commit 422 "No commit found for SHA: x"
            raise _invalid(
                f"No commit found for SHA: {call.args['ref']}",
                "https://docs.github.com/rest/commits/commits#get-a-commit",
            )
        return sha

    def _get_commit(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "contents", "read")
        return Reply(200, shapes.commit(repo, self._resolve_ref(call, repo), self.urls))

    def _get_contents(self, call: Call) -> Reply:
        """repos/get-content for a file: the workflow files the scenario describes, at any ref.

        As GitHub: 404 "Not Found" for a private repository the token cannot see; 403 "Resource not
        accessible by integration" without `contents: read` (fine-grained permissions table); 404
        "No commit found for the ref X" for an unknown ref (as reported in packit/packit#767 and
        googleapis/repo-automation-bots#4725); 404 "Not Found" for a path not in the repository.
        The body is the file object of the GitHub docs ("Get repository content", object type
        file): base64 `content` in lines of 60 characters, the git blob `sha`, and an ETag, so
        conditional reads of an unchanged file are free 304s.
        """
        repo = self._repo(call, _DOC_CONTENTS)
        self._require(call, repo, "contents", "read")
        ref = call.request.args.get("ref") or repo.spec.default_branch
        sha = repo.resolve_commit(ref)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {ref}", _DOC_CONTENTS)
        path = urllib.parse.unquote(call.args["path"]).strip("/")
        wf = next((w for w in repo.workflows if w.spec.path == path), None)
        if wf is None:
            raise ApiError(404, "Not Found", _DOC_CONTENTS)
        return Reply(200, shapes.file_contents(repo, path, ref, workflow_yaml(wf.spec).encode(), self.urls))

    def _all_check_runs(self, repo: Repo, sha: str, now: float) -> list[tuple[int, float, dict[str, Any]]]:
        """(suite id, start time, body) of every check run on `sha`: jobs that have started and
        the scenario's app check runs."""
        out: list[tuple[int, float, dict[str, Any]]] = []
        for run in repo.runs:
            if run.head_sha != sha or not run.exists(now):
                continue
            for attempt in run.attempts:
                for job, job_state in self.state.job_states(run, attempt, now):
                    out.append(
                        (
                            attempt.check_suite_id,
                            job_state.started_at,
                            shapes.job_check_run(run, attempt, job, job_state, self.urls),
                        )
                    )
        for cr in repo.check_runs:
            if cr.spec.head_sha == sha:
                state = cr.state(now)
                if state is not None:
                    out.append((cr.suite_id, cr.created_at, shapes.app_check_run(repo, cr, state, self.urls)))
        return out

    def _check_run_list(self, call: Call, runs: list[tuple[int, float, dict[str, Any]]]) -> Reply:
        args = call.request.args
        name = args.get("check_name")
        status = args.get("status")
        app_id = args.get("app_id")
        if name is not None:
            runs = [r for r in runs if r[2]["name"] == name]
        if status is not None:
            runs = [r for r in runs if r[2]["status"] == status]
        if app_id is not None:
            runs = [r for r in runs if str(r[2]["app"]["id"]) == app_id]
        if args.get("filter", "latest") == "latest":
            # `latest` keeps the most recent check run per name *within each check suite*
            # (GITHUB-FACTS "Check runs", lewagon PR #156).
            newest: dict[tuple[int, str], tuple[int, float, dict[str, Any]]] = {}
            for item in runs:
                key = (item[0], item[2]["name"])
                if key not in newest or (item[1], item[2]["id"]) > (newest[key][1], newest[key][2]["id"]):
                    newest[key] = item
            runs = [r for r in runs if newest[(r[0], r[2]["name"])] is r]
        runs.sort(key=lambda r: (r[1], r[2]["id"]), reverse=True)
        return self._page(call, [r[2] for r in runs], "check_runs")

    def _ref_check_runs(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "checks", "read")
        sha = self._resolve_ref(call, repo)
        return self._check_run_list(call, self._all_check_runs(repo, sha, call.now))

    def _suites(self, repo: Repo, sha: str | None, now: float) -> list[tuple[float, dict[str, Any]]]:
        out: list[tuple[float, dict[str, Any]]] = []
        for run in repo.runs:
            if (sha is not None and run.head_sha != sha) or not run.exists(now):
                continue
            for attempt in run.attempts:
                status, conclusion, changed = attempt.status_at(now)
                suite_status = (
                    "completed"
                    if status == "completed"
                    else ("in_progress" if status == "in_progress" else "queued")
                )
                out.append(
                    (
                        attempt.origin,
                        shapes.check_suite(
                            repo,
                            attempt.check_suite_id,
                            run.head_sha,
                            run.head_branch,
                            suite_status,
                            conclusion,
                            attempt.origin,
                            changed,
                            "github-actions",
                            15368,
                            len(self.state.job_states(run, attempt, now)),
                            self.urls,
                        ),
                    )
                )
        slugs = {app_id: slug for slug, app_id in self.state.app_ids.items()}
        for (app_id, suite_sha), suite_id in repo.app_suites.items():
            if sha is not None and suite_sha != sha:
                continue
            members = [(cr, cr.state(now)) for cr in repo.check_runs if cr.suite_id == suite_id]
            states = [s for _, s in members if s is not None]
            created_at = [cr.created_at for cr, _ in members] + [
                t for t in (repo.app_suite_created.get(suite_id),) if t is not None
            ]
            created = min(created_at)
            if now < created:
                continue
            # GitHub derives an app suite's status from its check runs: `queued` until one starts,
            # and forever for an app that never creates one (the recording
            # CheckSuite.testGetCheckSuitesForRef: dependabot, prosebot2 queued with
            # latest_check_runs_count 0 days after the push); `completed` once all have.
            conclusion = None
            if not states or all(s.status == "queued" for s in states):
                status = "queued"
            elif all(s.status == "completed" for s in states):
                status = "completed"
                order = (
                    "action_required",
                    "cancelled",
                    "timed_out",
                    "failure",
                    "neutral",
                    "skipped",
                    "success",
                )
                conclusion = min((s.conclusion or "success" for s in states), key=order.index)
            else:
                status = "in_progress"
            updated = max([created] + [s.completed_at or s.started_at or created for s in states])
            branch = next((b for b, s in repo.spec.branches.items() if s == suite_sha), None)
            out.append(
                (
                    created,
                    shapes.check_suite(
                        repo,
                        suite_id,
                        suite_sha,
                        branch,
                        status,
                        conclusion,
                        created,
                        min(now, updated),
                        slugs.get(app_id, "external-ci"),
                        app_id,
                        len(states),
                        self.urls,
                    ),
                )
            )
        return out

    def _ref_check_suites(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "checks", "read")
        sha = self._resolve_ref(call, repo)
        suites = self._suites(repo, sha, call.now)
        app_id = call.request.args.get("app_id")
        if app_id is not None:
            suites = [s for s in suites if str(s[1]["app"]["id"]) == app_id]
        suites.sort(key=lambda s: (s[0], s[1]["id"]), reverse=True)
        return self._page(call, [s[1] for s in suites], "check_suites")

    def _get_check_suite(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "checks", "read")
        for _, suite in self._suites(repo, None, call.now):
            if suite["id"] == call.args["suite_id"]:
                return Reply(200, suite)
        raise _not_found("https://docs.github.com/rest/checks/suites#get-a-check-suite")

    def _suite_check_runs(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "checks", "read")
        suite_id = call.args["suite_id"]
        shas = {run.head_sha for run in repo.runs for a in run.attempts if a.check_suite_id == suite_id}
        shas |= {sha for (_, sha), sid in repo.app_suites.items() if sid == suite_id}
        if not shas:
            raise _not_found("https://docs.github.com/rest/checks/runs#list-check-runs-in-a-check-suite")
        runs = [r for r in self._all_check_runs(repo, shas.pop(), call.now) if r[0] == suite_id]
        return self._check_run_list(call, runs)

    def _get_check_run(self, call: Call) -> Reply:
        repo = self._repo(call)
        self._require(call, repo, "checks", "read")
        wanted = call.args["check_run_id"]
        found = self.state.jobs.get(wanted)
        if found is not None and found[0].repo is repo:
            run, attempt, job = found
            job_state = attempt.job_state(job, call.now)
            if job_state is not None and run.exists(call.now):
                return Reply(200, shapes.job_check_run(run, attempt, job, job_state, self.urls))
        for cr in repo.check_runs:
            state = cr.state(call.now)
            if cr.id == wanted and state is not None:
                return Reply(200, shapes.app_check_run(repo, cr, state, self.urls))
        raise _not_found(_DOC_CHECKS + "#get-a-check-run")


# -- module helpers ----------------------------------------------------------------------------


def _dump(value: Any) -> bytes:
    # GitHub answers compact JSON in UTF-8 (every recording).
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


def _int_arg(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _parse_json(request: Request) -> Any:
    if request.method in ("GET", "HEAD"):
        return None
    data = request.get_data(cache=True)
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def _json_body(request: Request) -> dict[str, Any]:
    data = request.get_data(cache=True)
    try:
        body = json.loads(data) if data else {}
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Problems parsing JSON", DOCS) from None
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON", DOCS)
    return body


def _uses_rate_limit(error: ApiError, path: str) -> bool:
    """Whether an error answer uses up a unit of the primary rate limit, as on GitHub.

    GitHub counts 4xx answers: the recordings `Artifact.testGetNonexistentArtifact` (404),
    `Workflow.testCreateDispatchException` (422) and `WorkflowRun.test_cancel` (403) each raise
    `X-RateLimit-Used` by one. A 401 is not counted against the token (it was not recognised), a
    refusal for an exhausted budget adds nothing to a budget already spent, and `/rate_limit` is
    exempt (GITHUB-FACTS "Rate limits"). 5xx answers are GitHub's fault and are not counted.
    """
    return 400 <= error.status < 500 and error.status != 401 and not error.exhausted and path != "/rate_limit"


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    strip = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == strip for tag in header.split(","))


def _drop_connection(environ: WSGIEnvironment) -> None:
    """Close the connection without an answer (the `reset` fault)."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats ConnectionError as a dropped connection and sends nothing more.
    raise ConnectionAbortedError("emulator fault: connection reset")


def sign_blob_url(blob_base: str, art: Artifact, expires: float, key: bytes) -> str:
    """An Azure-SAS-like URL on the blob host: `se` (expiry) and `sig` (HMAC) in the query.

    A zip's path ends in `<name>.zip`. An `archive: false` artifact's does not, and its URL carries
    the headers storage is to answer with, as an Azure SAS does (`rscd`: Content-Disposition,
    `rsct`: Content-Type; both signed): the file's name and the type its extension gives."""
    se = iso(expires) or ""
    rscd, rsct = blob_overrides(art)
    sig = _blob_signature(art.id, se, rscd, rsct, key)
    overrides = [("rscd", rscd), ("rsct", rsct)] if not art.spec.archive else []
    query = urllib.parse.urlencode(
        [
            ("sv", "2025-01-05"),
            ("spr", "https,http"),
            ("se", se),
            ("sr", "b"),
            ("sp", "r"),
            *overrides,
            ("sig", sig),
        ]
    )
    suffix = ".zip" if art.spec.archive else ""
    return f"{blob_base}/artifacts/{art.id}/{urllib.parse.quote(art.spec.name)}{suffix}?{query}"


def blob_overrides(art: Artifact) -> tuple[str, str]:
    """(rscd, rsct) of an `archive: false` artifact; empty for a zip, whose headers are fixed."""
    if art.spec.archive:
        return "", ""
    return content_disposition(art.spec.name), art.spec.content_type or content_type_for(art.spec.name)


def content_disposition(name: str) -> str:
    """`attachment` with the name: ASCII as is, else an ASCII stand-in and `filename*` (RFC 6266)."""
    if name.isascii() and '"' not in name and "\\" not in name:
        return f'attachment; filename="{name}"'
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


# upload-artifact v7 sets an unzipped artifact's content type from its extension, and
# application/octet-stream for any other (@actions/artifact `upload/types.ts`, `getMimeType`).
_CONTENT_TYPES = {
    ".txt": "text/plain", ".html": "text/html", ".htm": "text/html", ".css": "text/css",
    ".csv": "text/csv", ".xml": "text/xml", ".md": "text/markdown",
    ".js": "application/javascript", ".mjs": "application/javascript", ".json": "application/json",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".svg": "image/svg+xml", ".webp": "image/webp", ".ico": "image/x-icon", ".bmp": "image/bmp",
    ".tiff": "image/tiff", ".tif": "image/tiff",
    ".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg", ".flac": "audio/flac",
    ".mp4": "video/mp4", ".webm": "video/webm", ".avi": "video/x-msvideo", ".mov": "video/quicktime",
    ".pdf": "application/pdf", ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".zip": "application/zip", ".tar": "application/x-tar", ".gz": "application/gzip",
    ".rar": "application/vnd.rar", ".7z": "application/x-7z-compressed",
    ".wasm": "application/wasm", ".yaml": "application/x-yaml", ".yml": "application/x-yaml",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
}  # fmt: skip


def content_type_for(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    return _CONTENT_TYPES.get(suffix, "application/octet-stream")


def _blob_signature(art_id: int, se: str, rscd: str, rsct: str, key: bytes) -> str:
    signed = f"{art_id}\n{se}\n{rscd}\n{rsct}".encode()
    return urlsafe_b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def check_blob_signature(art_id: int, se: str, sig: str, key: bytes, rscd: str = "", rsct: str = "") -> bool:
    return hmac.compare_digest(_blob_signature(art_id, se, rscd, rsct, key), sig)


def parse_created(value: str) -> tuple[int, int]:
    """The `created` filter in GitHub search date syntax (GitHub docs "Understanding the search
    syntax", "Query for dates"): `>=D`, `>D`, `<=D`, `<D`, `A..B` (`*` open), or `D`; D is a
    date or a date-time, UTC unless it carries an offset. Bounds are inclusive epoch seconds."""
    value = value.strip()
    lo, hi = -(2**62), 2**62

    def bounds(text: str) -> tuple[int, int]:
        text = text.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
                start = int(day.timestamp())
                return start, start + 86399
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(
                f"Invalid value for created: {value!r}",  # wording unverified
                _DOC_RUNS + "#list-workflow-runs-for-a-repository",
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        second = int(parsed.timestamp())
        if parsed.second == 0 and re.fullmatch(r".*T\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?", text):
            return second, second + 59  # minute precision given: the whole minute
        return second, second

    if ".." in value:
        left, right = value.split("..", 1)
        if left.strip() != "*":
            lo = bounds(left)[0]
        if right.strip() != "*":
            hi = bounds(right)[1]
        return lo, hi
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            first, last = bounds(value[len(op) :])
            return {">=": (first, hi), ">": (last + 1, hi), "<=": (lo, last), "<": (lo, first - 1)}[op]
    return bounds(value)
