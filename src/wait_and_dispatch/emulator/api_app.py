"""The API host: a WSGI app that answers the REST endpoints of the OpenAPI subset like GitHub does.

This module is the request pipeline every request goes through, in GitHub's order: faults (they
model the network and GitHub's front end, so they come first), authentication (401), the API
version (400), the secondary rate limit, routing (404), the handler under the model lock, then
conditional requests (304) and the primary rate limit (403) before the answer gets GitHub's
headers (as in PyGithub's recorded exchanges, tests/ReplayData). The endpoints themselves are
declared per resource in `emulator/routes/`, each as its URL template next to its handler.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from wait_and_dispatch.emulator.answer_headers import answer_headers
from wait_and_dispatch.emulator.auth import authenticate
from wait_and_dispatch.emulator.events import settle
from wait_and_dispatch.emulator.exchange import DOCS, ApiError, Call, Reply, Route, not_found
from wait_and_dispatch.emulator.faults import Fault, FaultSet, drop_connection
from wait_and_dispatch.emulator.limits import (
    SecondaryLimit,
    budget_for,
    exhausted,
    secondary_limited,
    uses_rate_limit,
)
from wait_and_dispatch.emulator.log import LoggedRequest, RequestLog
from wait_and_dispatch.emulator.model import Budget
from wait_and_dispatch.emulator.routes import url_map
from wait_and_dispatch.emulator.routes.common import parse_json
from wait_and_dispatch.emulator.shapes import Urls
from wait_and_dispatch.emulator.specs import TokenSpec
from wait_and_dispatch.emulator.state import State

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

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
        self._secondary = SecondaryLimit()
        self.url_map = url_map()

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
        # The shape of GitHub's x-github-request-id (PyGithub recordings:
        # "E3A5:292E30:123CE55:1DCE5F8:663934DF").
        request_id = (
            f"{0xE000 + number % 0x1000:04X}:{number * 7919 % 0x10000:04X}:{number:06X}:"
            f"{number * 31:06X}:{int(now) % 0x100000000:08X}"
        )
        body_json = parse_json(request)
        entry = LoggedRequest.build("api", request, body_json, now)
        path = self._rewrite_repositories_path(request.path)
        fault = self.faults.take("api", request.method, path, now - self.state.start)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind == "reset":
            self.log.add(entry.finish(0, None))
            drop_connection(environ)
        response = self._answer(request, path, now, request_id, fault, entry)
        self.log.add(entry)
        return response(environ, start_response)

    def _rewrite_repositories_path(self, path: str) -> str:
        # Link headers use /repositories/{id}/... (PyGithub's recorded exchanges, tests/ReplayData:
        # Artifact.testGetArtifactsFromRepo), so clients that follow them arrive here: serve them
        # as /repos/{owner}/{repo}/...
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
            token, authenticated = authenticate(self.state, request)
            entry.token_name = token.name if token else None
            with self.state.lock:
                budget = budget_for(self.state, token)
                budget.refresh(now)
            if not authenticated:
                raise ApiError(401, "Bad credentials", DOCS)
            if fault is not None and fault.kind != "apply_then_fail":
                raise self._fault_error(fault, token)
            self._secondary.spend(self.state.options.secondary_points_per_minute, request.method, token, now)
            version = request.headers.get("X-GitHub-Api-Version")
            known = API_VERSIONS if self.state.options.return_run_details else GHES_API_VERSIONS
            if version is not None and version not in known:
                listed = ", ".join(
                    f'"{v}"' + (" (most recent)" if i == len(known) - 1 else "") for i, v in enumerate(known)
                )
                raise ApiError(400, _UNSUPPORTED_VERSION.format(version=version, known=listed), DOCS)
            route, args = self._route(request, path)
            exempt = not route.counted
            limited = self.state.options.rate_limited
            with self.state.lock:
                # Runs started by events that have happened by now exist before anyone looks.
                settle(self.state, now, self.urls)
                if request.method not in ("GET", "HEAD") and not exempt and limited and budget.remaining <= 0:
                    raise exhausted(token, self.urls)
                call = Call(
                    request=request,
                    token=token,
                    now=now,
                    args=dict(args),
                    path=path,
                    state=self.state,
                    urls=self.urls,
                    signing_key=self.signing_key,
                )
                reply = route.handler(call)
                body = None if reply.body is None else _dump(reply.body)
                etag = None
                if request.method == "GET" and reply.status == 200 and body is not None:
                    # Weak ETag over the body (PyGithub recordings: W/"<sha256 hex>").
                    etag = f'W/"{hashlib.sha256(body).hexdigest()}"'
                    if _etag_matches(request.headers.get("If-None-Match"), etag):
                        # A 304 does not count against the primary rate limit (REST "Best
                        # practices for using the REST API", conditional requests).
                        headers = answer_headers(
                            self.state.options, request, token, budget, now, request_id, etag=etag
                        )
                        entry.finish(304, token)
                        return Response(None, 304, headers=headers)
                if request.method in ("GET", "HEAD") and not exempt and limited and budget.remaining <= 0:
                    raise exhausted(token, self.urls)
                if not exempt:
                    budget.used += 1
                    counted = True
            if fault is not None:  # apply_then_fail: the change above is real; the answer is lost
                raise ApiError(fault.status, fault.message or _reason(fault.status), DOCS)
            headers = answer_headers(
                self.state.options,
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
                budget = budget_for(self.state, token)
                if uses_rate_limit(error, path) and not counted:
                    if budget.remaining <= 0:  # spent: GitHub refuses before looking further
                        error = exhausted(token, self.urls)
                    else:
                        budget.used += 1
            payload: dict[str, Any] = {
                "message": error.message,
                "documentation_url": error.doc,
                "status": str(error.status),
            }
            headers = answer_headers(
                self.state.options,
                request,
                token,
                budget,
                now,
                request_id,
                extra=error.headers,
                exhausted=error.exhausted,
            )
            headers.append(("Content-Type", "application/json; charset=utf-8"))
            entry.finish(error.status, token)
            return Response(_dump(payload), error.status, headers=headers)

    def _route(self, request: Request, path: str) -> tuple[Route, Mapping[str, Any]]:
        """The route that answers, and the values of its URL template; 404 when none does."""
        moved = self._moved(request, path)
        if moved is not None:
            return Route(request.method, path, lambda _call: moved), {}
        try:
            route, args = self.url_map.bind("emulator").match(path, method=request.method)
        except (NotFound, MethodNotAllowed):
            raise not_found() from None
        return route, args

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

    def _fault_error(self, fault: Fault, token: TokenSpec | None) -> ApiError:
        if fault.kind == "secondary_rate_limit":
            error = secondary_limited(
                fault.retry_after if fault.retry_after is not None else 60, fault.message
            )
            error.status = fault.status
            return error
        if fault.kind == "primary_rate_limit":
            error = exhausted(token, self.urls)
            error.status = fault.status
            return error
        return ApiError(fault.status, fault.message or _reason(fault.status), DOCS)


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


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    strip = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == strip for tag in header.split(","))
