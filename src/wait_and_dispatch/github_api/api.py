"""`GitHubApi`: the facade every caller uses (get, post, paginate, request, download).

It puts the pieces of the layer together for each request: the URL checked to be inside the API
(urls.py), the turn in the request budget (rate_limit.py), the REST API version (versions.py),
redirects within the API (urls.py), the conditional request and its ETag (here), one exchange on
the wire (transport.py), the answer read and classified (answers.py, refusals.py), all of it
under the one retry loop (retry.py).

GitHub's REST "Best practices for using the REST API": conditional requests (`If-None-Match`;
a 304 does not count against the primary rate limit), requests made serially, not concurrently.
"""

from __future__ import annotations

import collections
import contextlib
import json
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from wait_and_dispatch import USER_AGENT
from wait_and_dispatch.github_api.answers import ApiResponse, clip, decode, next_page_url
from wait_and_dispatch.github_api.downloads import DownloadResult, Downloads, SinkFactory
from wait_and_dispatch.github_api.rate_limit import RequestBudget
from wait_and_dispatch.github_api.refusals import RETRYABLE_STATUSES, classify, connection_failure
from wait_and_dispatch.github_api.retry import Retrier, RetryableError, RetryEvent, RetryHooks, RetryPolicy
from wait_and_dispatch.github_api.stats import Accounting, ApiStats
from wait_and_dispatch.github_api.storage_text import StorageText, read_tail
from wait_and_dispatch.github_api.transport import SAFE_METHODS, Wire, WireError
from wait_and_dispatch.github_api.urls import DEFAULT_API_URL, ApiUrls, Redirects
from wait_and_dispatch.github_api.versions import ApiNotice, ApiVersions, Notices
from wait_and_dispatch.support.clock import Clock, SystemClock
from wait_and_dispatch.support.errors import GitHubApiError, MalformedAnswerError, UsageError
from wait_and_dispatch.support.interrupts import on_the_wire

if TYPE_CHECKING:
    import requests

T = TypeVar("T")

_ETAG_CACHE_SIZE = 512  # answers kept for conditional requests per client


class GitHubApi:
    """A GitHub REST client that owns retries, rate limits, conditional requests and accounting.

    The token is held in one header map, sent to the API host only; it never appears in messages,
    logs or repr.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_API_URL,
        token: str | None = None,
        clock: Clock | None = None,
        timeout: int = 30,
        policy: RetryPolicy | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        user_agent: str = USER_AGENT,
        read_only: bool = False,
        rng: random.Random | None = None,
        app_jwt: bool = False,
        on_notice: Callable[[ApiNotice], None] | None = None,
    ) -> None:
        self._urls = ApiUrls(base_url)
        self.base_url = self._urls.base_url
        self.read_only = read_only  # a dry run: any write is refused before it is sent
        # The clock, policy and random source are handed to the pieces below here, once: set them
        # at construction, not afterwards.
        self.clock: Clock = clock or SystemClock()
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.on_retry = on_retry
        self.rng = rng or random.Random()  # nosec B311 # retry and poll jitter, not cryptography
        self._accounting = Accounting(self.clock)
        self.stats: ApiStats = self._accounting.stats
        self._budget = RequestBudget(self.clock, self.policy, self._accounting)
        self._retry_hooks = RetryHooks(
            self.clock, self.policy, self.rng, hold_requests=self._accounting.hold, on_retry=self._retrying
        )
        self._has_token = bool(token)
        self._scope = threading.local()
        self._downloads = Downloads(
            self.clock, timeout=timeout, user_agent=user_agent, accounting=self._accounting
        )
        self._notices = Notices(on_notice)
        self._exchange = _Exchange(
            self.base_url,
            token=token,
            app_jwt=app_jwt,
            user_agent=user_agent,
            timeout=timeout,
            display=self._urls.display,
            accounting=self._accounting,
            budget=self._budget,
            notices=self._notices,
        )
        self._versions = ApiVersions(self._notices)
        self._redirects = Redirects(self._urls, self._notices)

    def __repr__(self) -> str:
        return f"GitHubApi(base_url={self.base_url!r}, token={'<set>' if self._has_token else None})"

    @property
    def has_token(self) -> bool:
        return self._has_token

    @property
    def api_version(self) -> str:
        """The REST API version this client speaks to its server (versions.py)."""
        return self._versions.current

    @api_version.setter
    def api_version(self, version: str) -> None:
        self._versions.current = version

    @property
    def on_notice(self) -> Callable[[ApiNotice], None] | None:
        """Called once with each `ApiNotice` (the edges show it under `--debug`)."""
        return self._notices.listener

    @on_notice.setter
    def on_notice(self, listener: Callable[[ApiNotice], None] | None) -> None:
        self._notices.listener = listener

    @property
    def _storage(self) -> requests.Session:
        """The storage host's session (no token, ever): the tests fetch signed URLs with it."""
        return self._downloads.session

    def close(self) -> None:
        self._exchange.close()
        self._downloads.close()

    def __enter__(self) -> GitHubApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- deadlines and pacing --------------------------------------------------------------------

    @contextlib.contextmanager
    def deadline_scope(self, deadline: float | None, *, replace: bool = False) -> Iterator[None]:
        """Every request this thread makes inside carries `deadline` (or an earlier one it is given).

        Waits and jobs enter one, so that a call deep inside (a `get_run` before a download) cannot
        forget the deadline and wait out a rate-limit reset past it. Scopes nest: the earliest
        deadline wins, unless `replace` (a cancel after the deadline gets a short one of its own).
        """
        stack: list[tuple[float, bool]] = self._scope.__dict__.setdefault("deadlines", [])
        if deadline is None:
            yield
            return
        stack.append((deadline, replace))
        try:
            yield
        finally:
            stack.pop()

    def current_deadline(self, deadline: float | None = None) -> float | None:
        """The earliest of `deadline` and every enclosing `deadline_scope` of this thread."""
        stack: list[tuple[float, bool]] = self._scope.__dict__.get("deadlines", [])
        candidates = [] if deadline is None else [deadline]
        for scoped, replaces in reversed(stack):
            candidates.append(scoped)
            if replaces:
                break
        return min(candidates) if candidates else None

    def points_in_last_minute(self) -> int:
        """Secondary-limit points this client spent in the last 60 s of its clock."""
        return self._budget.points_in_last_minute()

    def server_time(self) -> float | None:
        """GitHub's clock now, as its last answer's `Date` header tells it (None before any answer
        carried one); see `Accounting.server_time`."""
        return self._accounting.server_time()

    # -- requests ------------------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        conditional: bool = True,
        deadline: float | None = None,
    ) -> ApiResponse:
        """GET a JSON resource. With `conditional`, an unchanged answer costs no rate limit."""
        return self.request("GET", path, params=params, conditional=conditional, deadline=deadline)

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        idempotent: bool = False,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """POST. Unless `idempotent`, a POST whose outcome is unknown is never re-sent."""
        return self.request(
            "POST", path, body=body, idempotent=idempotent, deadline=deadline, headers=headers
        )

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        items_key: str | None = None,
        deadline: float | None = None,
        conditional: bool = True,
    ) -> Iterator[Any]:
        """Yield the items of every page, following GitHub's `Link: <...>; rel="next"` header.

        GitHub says to follow the Link header rather than build page URLs ("Using pagination in
        the REST API"). `items_key` names the array in wrapped answers (`workflow_runs`,
        `artifacts`, `check_runs`); without it the answer itself is the array.
        """
        query = dict(params or {})
        query.setdefault("per_page", 100)
        url: str | None = path
        first = True
        while url is not None:
            response = self.request(
                "GET", url, params=query if first else None, conditional=conditional, deadline=deadline
            )
            first = False
            page = response.data
            items = page.get(items_key, []) if items_key is not None and isinstance(page, dict) else page
            if items is None:
                items = []
            if not isinstance(items, list):
                raise MalformedAnswerError(
                    f"GET {self._urls.display(self._urls.url(url, None))}: the answer has no list"
                    + (f" of {items_key}" if items_key else "")
                    + f" ({type(items).__name__} in its place)",
                    status=response.status,
                    method="GET",
                )
            yield from items
            url = next_page_url(response.headers.get("Link"))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        conditional: bool = False,
        deadline: float | None = None,
        leave_other_hosts: bool = False,
    ) -> ApiResponse:
        """Send one logical request, retried as the policy allows. Raises typed errors only.

        Redirects within the API are followed with the token (as octokit does): a renamed or
        transferred repository answers 301 (reads) or 307 (writes) to its new URL. A redirect to
        another host is never followed with the token: with `leave_other_hosts` the redirect is the
        answer (the artifact zip's 302 to its storage), else it is refused with a clear error.
        """
        method = method.upper()
        if self.read_only and method not in SAFE_METHODS:
            raise UsageError(
                f"dry run: refusing to send {method} {self._urls.display(self._urls.url(path, None))}",
                hint="this is a bug in wait-and-dispatch's dry run; please report it",
            )
        safe = method in SAFE_METHODS if idempotent is None else idempotent
        url = self._urls.url(path, params)
        conditional = conditional and method == "GET"

        def send(target: str) -> ApiResponse:
            return self._versions.send(
                lambda version: self._exchange.send(method, target, body, headers, safe, conditional, version)
            )

        return self._retried(
            method,
            url,
            safe,
            self.current_deadline(deadline),
            lambda: self._redirects.follow(method, url, send, leave_other_hosts=leave_other_hosts),
        )

    def artifact_storage_url(self, archive_download_url: str, *, deadline: float | None = None) -> str:
        """Ask GitHub where an artifact's zip lives: the signed storage URL from its 302 answer.

        GitHub answers `GET .../artifacts/{id}/zip` with 302 and a short-lived `Location` on a
        storage host (OpenAPI `actions/download-artifact`); 410 when the artifact has expired.
        """
        return self._storage_location(archive_download_url, "the artifact's storage", deadline)

    def read_storage_text(self, path: str, *, max_bytes: int, deadline: float | None = None) -> StorageText:
        """The end (at most `max_bytes`) of a text GitHub keeps in storage, such as a job's log.

        GitHub answers `GET .../actions/jobs/{job_id}/logs` with 302 and a signed `Location`
        (OpenAPI `actions/download-job-logs-for-workflow-run`); the redirect is read with the
        token, the text fetched from storage without it, as an artifact's bytes are. The request
        to GitHub is retried as any read; the one to storage is tried once (storage_text.py).
        """
        deadline = self.current_deadline(deadline)
        location = self._storage_location(path, "storage", deadline)
        return read_tail(
            self._downloads.session,
            location,
            max_bytes=max_bytes,
            clock=self.clock,
            timeout=float(self.timeout),
            deadline=deadline,
            accounting=self._accounting,
        )

    def _storage_location(self, path: str, what: str, deadline: float | None) -> str:
        """The signed storage URL of GitHub's 302 answer to `path`, never followed with the token."""
        response = self.request("GET", path, deadline=deadline, leave_other_hosts=True)
        location = response.header("Location")
        if response.status != 302 or not location:
            raise GitHubApiError(
                f"GET {self._urls.display(path)}: expected a 302 redirect to {what}, got {response.status}",
                status=response.status,
                method="GET",
                hint="this server does not serve downloads the way GitHub does",
            )
        return location

    def download_artifact(
        self,
        archive_download_url: str,
        destination: Path | SinkFactory,
        *,
        deadline: float | None = None,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> DownloadResult:
        """Stream an artifact's blob to `destination` in constant memory; retried if the stream is cut.

        `destination` is a file, or a factory of sinks that consume the bytes as they arrive (the
        unzipper, so the archive is read once and never stored, or a file). The factory gets the
        storage host's `StorageAnswer` before any byte of the body is read: a zip or one raw file
        (upload-artifact v7 `archive: false`) is told from the headers, at no extra cost. Each try
        asks GitHub for a fresh signed URL (they live about a minute) and fetches it with a client
        that carries no token. Returns the size and sha256 of what was written, for the caller to
        check against the artifact's `digest`; the sha256 is computed on the way, in the same pass.
        The deadline bounds every read of the body, not only the requests.
        """
        deadline = self.current_deadline(deadline)

        def attempt() -> DownloadResult:
            storage_url = self.artifact_storage_url(archive_download_url, deadline=deadline)
            return self._downloads.stream(storage_url, destination, on_progress, deadline)

        return self._retried("GET", archive_download_url, True, deadline, attempt)

    def abort_downloads(self) -> int:
        """Stop the artifact downloads in flight now, from any thread; returns how many.

        Each ends at once with `DownloadStoppedError` (its socket is shut down, which wakes a read
        blocked in another thread), so the engine's staging is cleaned up before the process
        exits. Downloads started afterwards are not affected."""
        return self._downloads.abort()

    # -- internals -----------------------------------------------------------------------------

    def _retried(
        self, method: str, url: str, safe: bool, deadline: float | None, attempt: Callable[[], T]
    ) -> T:
        """`attempt` under the retry loop, each try waiting for its turn in the request budget."""
        shown = f"{method} {self._urls.display(url)}"

        def paced() -> T:
            self._budget.await_turn(method, shown, deadline)
            return attempt()

        retrier = Retrier(self._retry_hooks, method, self._urls.display(url), safe=safe, deadline=deadline)
        return retrier.call(paced)

    def _retrying(self, event: RetryEvent) -> None:
        """Counted, then told to `on_retry` (the edges' progress lines), before each wait."""
        self._accounting.count(retries=1)
        if event.reason.endswith("rate-limit"):
            self._accounting.count(rate_limit_waits=1)
        if self.on_retry is not None:
            self.on_retry(event)


class _Exchange:
    """One request and its answer on the API host: headers (the token among them), the
    conditional request and its ETag, the answer read and counted."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        app_jwt: bool,
        user_agent: str,
        timeout: int,
        display: Callable[[str], str],
        accounting: Accounting,
        budget: RequestBudget,
        notices: Notices,
    ) -> None:
        self._base_url = base_url
        self.has_token = bool(token)
        # Held here only, sent only to the API host (never to storage, never in a message). A
        # GitHub App's JWT goes as `Bearer` (REST "Authenticating as a GitHub App").
        scheme = "Bearer" if app_jwt else "token"
        self._authorization = {"Authorization": f"{scheme} {token}"} if token else {}
        self._user_agent = user_agent
        self._display = display
        self._accounting = accounting
        self._budget = budget
        self._notices = notices
        self._etags = _EtagCache()
        self._wire = Wire(base_url, timeout=timeout)
        # GitHub asks for requests made serially, not concurrently ("Best practices for using the
        # REST API"): one request in flight per client (per token) at a time.
        self._one_at_a_time = threading.Lock()

    def close(self) -> None:
        with self._one_at_a_time:
            self._wire.close()

    def send(
        self,
        method: str,
        url: str,
        body: Any,
        extra_headers: Mapping[str, str] | None,
        safe: bool,
        conditional: bool,
        version: str,
    ) -> ApiResponse:
        """Send once, in `version`; the answer read, a refusal raised as its typed error."""
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": version,
            "User-Agent": self._user_agent,
            **self._authorization,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers.update(extra_headers or {})
        cached = self._etags.get(url) if conditional else None
        if cached is not None:
            headers["If-None-Match"] = cached.etag
        shown = f"{method} {self._display(url)}"
        write = method not in SAFE_METHODS
        with self._budget.write_turn() if write else contextlib.nullcontext(), self._one_at_a_time:
            try:
                self._accounting.count(requests=1)
                # Redirects are followed by `Redirects.follow`, within the API only.
                # A write on the wire may hold an interrupt until its answer (support/interrupts.py).
                with on_the_wire() if write else contextlib.nullcontext():
                    status, response_headers, raw = self._wire.request(
                        method, url, headers, None if body is None else json.dumps(body).encode(), safe=safe
                    )
            except WireError as exc:
                raise connection_failure(
                    shown, self._base_url, exc, method=method, url=url, safe=safe
                ) from exc
        text = raw.decode("utf-8", errors="replace")
        self._accounting.note_rate_limit(response_headers)
        self._accounting.note_server_date(response_headers)
        if status == 304 and cached is not None:
            self._accounting.count(not_modified=1)
            # A 304 need not repeat the headers of the answer it stands for; pagination needs
            # that answer's `Link`, so it is kept with the cached body.
            if cached.link and "Link" not in response_headers:
                response_headers["Link"] = cached.link
            return ApiResponse(status, response_headers, cached.data, from_cache=True)
        if "Deprecation" in response_headers or "Sunset" in response_headers:
            self._notices.deprecation(shown, response_headers)
        data, is_json = decode(text)
        if status >= 400 or status in RETRYABLE_STATUSES:
            error = classify(
                shown,
                status,
                response_headers,
                data,
                method=method,
                url=url,
                safe=safe,
                has_token=self.has_token,
            )
            if isinstance(error, RetryableError) and error.reason == "secondary-rate-limit":
                self._accounting.note_secondary_limit()
            raise error
        if 200 <= status < 300 and not is_json:
            raise MalformedAnswerError(
                f"{shown}: answered {status} with a body that is not JSON "
                f"({clip(response_headers.get('Content-Type')) or 'no Content-Type'}: "
                f"{clip(' '.join(text.split()), 60)!r})",
                status=status,
                method=method,
                url=url,
            )
        etag = response_headers.get("ETag")
        if conditional and etag and status == 200:
            self._etags.put(url, _CachedAnswer(etag, data, response_headers.get("Link")))
        return ApiResponse(status, response_headers, data)


@dataclass
class _CachedAnswer:
    etag: str
    data: Any
    link: str | None = None


class _EtagCache:
    """The answers kept for conditional requests, by URL; the least recently used goes past the cap."""

    def __init__(self) -> None:
        self._answers: collections.OrderedDict[str, _CachedAnswer] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> _CachedAnswer | None:
        with self._lock:
            answer = self._answers.get(url)
            if answer is not None:
                self._answers.move_to_end(url)
            return answer

    def put(self, url: str, answer: _CachedAnswer) -> None:
        with self._lock:
            self._answers[url] = answer
            self._answers.move_to_end(url)
            while len(self._answers) > _ETAG_CACHE_SIZE:
                self._answers.popitem(last=False)
