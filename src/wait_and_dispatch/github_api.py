"""The one place that talks HTTP to GitHub.

Built on the standard library's `http.client` (one kept-alive connection, `_Wire` at the end
of this module), so that retries have exactly one owner: `_Retrier` below, and so that the first
request goes out without importing PyGithub (175 ms) or `requests` and `urllib3` (more than half
of what was left): issue 12, item 5. Artifact zips stream from the storage host through
`requests`, imported only for a download, with a session that carries no token. Proxies
(`HTTPS_PROXY`, `NO_PROXY`) and a CA bundle (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`) are honoured
as `requests` honours them.

What it does for every caller:
- speaks REST API version 2026-03-10, and 2022-11-28 from the moment a server refuses it (each
  connection is refused at most once; the refused request is sent again, nothing was done);
- follows redirects within the API with the token (a renamed or transferred repository answers
  301 or 307), never to another host; says once, through `on_notice`, what it learnt: an older
  version spoken, a deprecated endpoint (`Deprecation`/`Sunset`), a moved repository;
- refuses answers that are not GitHub's: a success whose body is not JSON is a
  `MalformedAnswerError`, and header numbers that are not finite or out of any range are ignored;
- retries 5xx answers and connection errors with exponential backoff and jitter, but only for
  requests that are safe to repeat: a write such as a dispatch that may have reached GitHub is
  never re-sent; it raises `WriteOutcomeUnknownError` so the engine can look for its effect first
  (a retried dispatch can start a duplicate run);
- honours secondary rate limits (`retry-after`, else at least 60 s, then exponential), which are
  refusals and so safe to retry even for writes;
- waits for the primary limit's `x-ratelimit-reset` only if that fits in the caller's deadline,
  else fails at once with `RateLimitExceededError`;
- keeps ETags and sends `If-None-Match`, so that polling something unchanged is answered 304 and
  costs nothing against the primary rate limit;
- spaces writes one second apart and sends requests one at a time, as GitHub asks;
- keeps the process under GitHub's secondary limit on points per minute (a GET is 1 point, a
  write 5) with a sliding window, and holds every request back while GitHub has asked it to
  (`retry-after` on a secondary limit), not only the one that was refused;
- carries a deadline into every request made in a `deadline_scope` (a wait, a job), so that no
  call site can forget it: nothing is waited for past it;
- remembers what GitHub said about pacing (`x-poll-interval`, secondary limits, the remaining
  budget) in `ApiStats`, for the poll governor (engine/polling.py) to slow down on;
- counts what it did (`ApiStats`) for progress lines, outputs and benchmarks.

Sources (also in ../shared/GITHUB-FACTS.md):
- REST "Best practices for using the REST API": conditional requests, 304 not counted, serial
  requests, one second between mutative requests, secondary limit handling.
- REST "Rate limits for the REST API": x-ratelimit-* headers, 403/429, retry-after, at least one
  minute when absent, exponential backoff when it persists.
- PyGithub #3080 and `GithubRetry`: retries POSTs and sleeps silently until reset.
- REST "Rate limits for the REST API", "Calculating points for the secondary rate limit": no
  more than 900 points per minute for REST endpoints; GET, HEAD and OPTIONS are 1 point, POST,
  PATCH, PUT and DELETE 5.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import datetime
import hashlib
import http.client
import json
import logging
import math
import os
import random
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from wait_and_dispatch import USER_AGENT
from wait_and_dispatch.support.clock import Clock, SystemClock
from wait_and_dispatch.support.errors import (
    ArtifactDownloadError,
    ArtifactError,
    AuthenticationError,
    ConnectionFailedError,
    DeadlineExceededError,
    DownloadStoppedError,
    GitHubApiError,
    MalformedAnswerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitExceededError,
    ServerError,
    UsageError,
    ValidationFailedError,
    WriteOutcomeUnknownError,
)

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"

# The REST API version we speak: 2026-03-10, the first calendar version with breaking changes
# (GitHub changelog 2026-03-12, "REST API version 2026-03-10 is now available"; REST "Breaking
# changes"). Under it the dispatch answers 200 with the run's id without being asked. A server that
# does not know it (a GitHub Enterprise Server release from before it) answers 400 naming the header
# and does nothing (REST "API versions"); the client then speaks 2022-11-28, which github.com keeps
# supporting for at least 24 months after 2026-03-10. docs/github-behaviour.md says which changes
# of 2026-03-10 touch the endpoints and fields this tool uses.
API_VERSION = "2026-03-10"
FALLBACK_API_VERSION = "2022-11-28"
# Redirects followed per request: a renamed or transferred repository answers one (301 for reads,
# 307 for writes; GitHub changelog 2015-04-17 "Repository redirects"); a few more allow for a
# rename of the owner too. octokit (fetch) follows up to 20; an API answer that keeps redirecting
# past 5 is a loop, not a move.
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Numbers read from headers beyond this are not GitHub's (epoch seconds, counts and waits are far
# smaller): a tampering proxy or a broken server; they are ignored as if absent.
_HEADER_NUMBER_MAX = 1e11

_SAFE_METHODS = frozenset({"GET", "HEAD"})
_RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
_ETAG_CACHE_SIZE = 512
_DOWNLOAD_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the API layer tries before giving up. One instance, shared by every request."""

    attempts: int = 6  # tries per request, the first included
    initial_backoff: float = 1.0  # seconds before the first retry of a 5xx or connection error
    max_backoff: float = 30.0
    # Under a deadline (a wait), reads are retried until it, and their waits stop growing here,
    # so the end of an outage is seen within a few seconds.
    max_backoff_in_wait: float = 4.0
    jitter: float = 1.0  # up to this many seconds added at random to each backoff
    secondary_limit_wait: float = 60.0  # without retry-after: "wait at least one minute" (GitHub docs)
    write_interval: float = 1.0  # "wait at least one second between each" mutative request
    max_rate_limit_wait: float | None = None  # cap on waiting for a primary reset without a deadline
    # Points the process may spend in any 60 s (GitHub's secondary limit is 900 for REST); None: no cap.
    points_per_minute: int | None = 600


@dataclass
class ApiStats:
    """What the API layer did so far. `rate_limit_*` mirror GitHub's last `x-ratelimit-*` headers."""

    requests: int = 0  # HTTP requests sent to the API host, retries and 304s included
    not_modified: int = 0  # answered 304: free against the primary rate limit
    retries: int = 0
    rate_limit_waits: int = 0  # times we waited for a primary or secondary limit
    downloaded_bytes: int = 0
    rate_limit_limit: int | None = None
    rate_limit_remaining: int | None = None
    rate_limit_used: int | None = None
    rate_limit_reset: float | None = None
    rate_limit_resource: str | None = None
    poll_interval: float | None = None  # the last `x-poll-interval` GitHub sent: poll no more often
    secondary_limits: int = 0  # secondary-limit answers (403/429) so far
    secondary_limit_at: float | None = None  # clock time of the last one
    hold_until: float | None = None  # GitHub asked for no requests before this clock time
    paced_waits: int = 0  # times a request waited for the points-per-minute window
    server_date: float | None = None  # GitHub's clock at its last answer (its `Date` header)
    server_date_at: float | None = None  # our clock when that answer came

    @property
    def units_spent(self) -> int:
        """Requests that counted against the primary rate limit (every answer but a 304)."""
        return self.requests - self.not_modified

    def snapshot(self) -> ApiStats:
        return replace(self)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: Headers
    data: Any
    from_cache: bool = False  # True when GitHub answered 304 and `data` is our cached copy

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass(frozen=True)
class RetryEvent:
    """Reported before the API layer waits: why, for how long, and for which request."""

    # "server-error" | "connection" | "stream-cut" | "storage-refused" | "secondary-rate-limit"
    # | "primary-rate-limit"
    reason: str
    wait: float
    attempt: int
    method: str
    path: str
    detail: str


@dataclass(frozen=True)
class ApiNotice:
    """Something the API layer learnt that is worth one line under `--debug`, said once.

    `kind` is "api-version" (the server refused our REST API version; we speak an older one),
    "deprecation" (GitHub marked an endpoint deprecated with `Deprecation`/`Sunset` headers) or
    "moved" (a repository answered 301: it was renamed or transferred).
    """

    kind: str
    message: str


@dataclass(frozen=True)
class DownloadResult:
    path: Path | None  # None when the bytes went to a sink rather than a file
    size: int
    sha256: str  # hex digest of the bytes written


@dataclass(frozen=True)
class StorageAnswer:
    """What the storage host said before its body: enough to decide how to keep the bytes.

    Read from the response headers, so the caller decides (zip or one file, and its name) before
    a byte of the body is read: no second request, no wasted download.
    """

    url: str  # the signed URL the bytes come from (its path may end in `.zip`)
    length: int | None  # the body's length as it arrives, None when not given or content-encoded
    content_type: str  # as sent, parameters included; "" when absent
    content_disposition: str  # "" when absent


class DownloadSink(Protocol):
    """Where a download's bytes go, as they arrive: a file, or an unzipper (engine/unzip.py)."""

    def write(self, data: bytes, /) -> object: ...

    def __enter__(self) -> object: ...

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None, /
    ) -> object: ...


# Called at the start of each try with what the storage host answered: a cut stream is retried
# from the start, so every try writes into a fresh sink.
SinkFactory = Callable[[StorageAnswer], DownloadSink]


class _RetryableError(Exception):
    """An answer worth waiting out: raised inside the retry loop only, never to callers."""

    def __init__(self, reason: str, final: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.reason = reason
        self.final = final  # what the caller gets if retrying ends without success
        self.retry_after = retry_after


@dataclass
class _CachedAnswer:
    etag: str
    data: Any
    link: str | None = None


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
        self.base_url = normalize_api_url(base_url)
        self.read_only = read_only  # a dry run: any write is refused before it is sent
        self.clock: Clock = clock or SystemClock()
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.on_retry = on_retry
        self.stats = ApiStats()
        self.rng = rng or random.Random()  # nosec B311 # retry and poll jitter, not cryptography
        self._has_token = bool(token)
        self._user_agent = user_agent
        self._wire_to_api = _Wire(self.base_url, timeout=timeout)
        # Held here only, sent only to the API host (never to storage, never in a message). A
        # GitHub App's JWT goes as `Bearer` (REST "Authenticating as a GitHub App").
        scheme = "Bearer" if app_jwt else "token"
        self._authorization = {"Authorization": f"{scheme} {token}"} if token else {}
        self._prefix = urllib.parse.urlsplit(self.base_url).path.rstrip("/")
        # GitHub asks for requests made serially, not concurrently ("Best practices for using the
        # REST API"): one request in flight per client (per token) at a time.
        self._wire = threading.Lock()
        self._pace_lock = threading.Lock()
        self._sent: collections.deque[tuple[float, int]] = collections.deque()  # (time, points)
        self._scope = threading.local()
        self._stats_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._etags: collections.OrderedDict[str, _CachedAnswer] = collections.OrderedDict()
        self._next_write: float | None = None  # the earliest time the next write may be sent
        self._storage_session: requests.Session | None = None
        self._downloads: set[_Download] = set()  # storage streams in flight, for abort_downloads
        self._downloads_lock = threading.Lock()
        self.on_notice = on_notice
        # The version this client speaks to its server: API_VERSION until the server refuses it.
        self.api_version = API_VERSION
        self._notices: set[str] = set()  # what was said already (each notice once)
        # Permanent redirects (301) seen: the old URL's answer lives at the new one from now on.
        self._moved: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"GitHubApi(base_url={self.base_url!r}, token={'<set>' if self._has_token else None})"

    @property
    def has_token(self) -> bool:
        return self._has_token

    def close(self) -> None:
        with self._wire:
            self._wire_to_api.close()
        if self._storage_session is not None:
            self._storage_session.close()

    @property
    def _storage(self) -> requests.Session:
        """The storage host's session, made at the first download (requests is imported then)."""
        if self._storage_session is None:
            import requests

            session = requests.Session()
            # A fresh session for the storage host: no Authorization, ever. Blob storage rejects
            # it (octocrab #563), and the token must not leave GitHub. Setting `auth` also stops
            # requests from adding credentials from ~/.netrc.
            session.auth = _no_auth
            session.headers["User-Agent"] = self._user_agent
            self._storage_session = session
        return self._storage_session

    def __enter__(self) -> GitHubApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- deadlines and pacing --------------------------------------------------------------------

    @contextlib.contextmanager
    def deadline_scope(self, deadline: float | None, *, replace: bool = False) -> Iterator[None]:
        """Every request this thread makes inside carries `deadline` (or an earlier one it is given).

        Waits and jobs enter one, so that a call deep inside (a `get_run` before a download) cannot
        forget the deadline and wait out a rate-limit reset past it (issue 11, defect 7). Scopes
        nest: the earliest deadline wins, unless `replace` (a cancel after the deadline gets a
        short one of its own).
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
        with self._pace_lock:
            self._forget_before(self.clock.now() - 60.0)
            return sum(points for _, points in self._sent)

    def _forget_before(self, cutoff: float) -> None:
        while self._sent and self._sent[0][0] <= cutoff:
            self._sent.popleft()

    def _await_turn(self, method: str, url: str, deadline: float | None) -> None:
        """Wait, before a request, while GitHub has asked us to hold back or the minute is spent.

        The window is kept well under GitHub's 900 points per minute; a hold comes from a
        secondary limit's `retry-after`, and applies to every request of this token, not only to
        the one refused. Neither is waited for past the deadline.
        """
        points = 1 if method in _SAFE_METHODS else 5
        limit = self.policy.points_per_minute
        while True:
            with self._pace_lock:
                now = self.clock.now()
                wait = 0.0
                held = False
                hold = self.stats.hold_until
                if hold is not None and hold > now:
                    wait, held = hold - now, True
                elif limit is not None:
                    self._forget_before(now - 60.0)
                    spent = sum(p for _, p in self._sent)
                    if spent + points > limit and self._sent:
                        # Until enough of the oldest requests leave the window.
                        over = spent + points - limit
                        freed = 0
                        for at, p in self._sent:
                            freed += p
                            if freed >= over:
                                wait = at + 60.0 - now
                                break
                if wait <= 0:
                    self._sent.append((now, points))
                    return
            if deadline is not None and now + wait > deadline:
                why = (
                    "GitHub's secondary rate limit asked for no requests"
                    if held
                    else f"the {limit} points a minute this process allows itself are spent"
                )
                raise RateLimitExceededError(
                    f"{method} {self._display(url)}: not sent: {why} for {wait:.0f}s more, past the deadline",
                    hint="raise the timeout, or wait on fewer runs at once with this token",
                )
            self._count(paced_waits=1)
            self.clock.sleep(wait)

    def _hold_requests(self, seconds: float) -> None:
        with self._stats_lock:
            until = self.clock.now() + seconds
            self.stats.hold_until = max(self.stats.hold_until or 0.0, until)

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
                    f"GET {self._display(self._url(url, None))}: the answer has no list"
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
        if self.read_only and method not in _SAFE_METHODS:
            raise UsageError(
                f"dry run: refusing to send {method} {self._display(self._url(path, None))}",
                hint="this is a bug in wait-and-dispatch's dry run; please report it",
            )
        safe = method in _SAFE_METHODS if idempotent is None else idempotent
        url = self._url(path, params)
        retrier = _Retrier(self, method, url, safe=safe, deadline=self.current_deadline(deadline))
        return retrier.call(
            lambda: self._send_following(
                method, url, body, headers, safe, conditional and method == "GET", leave_other_hosts
            )
        )

    def artifact_storage_url(self, archive_download_url: str, *, deadline: float | None = None) -> str:
        """Ask GitHub where an artifact's zip lives: the signed storage URL from its 302 answer.

        GitHub answers `GET .../artifacts/{id}/zip` with 302 and a short-lived `Location` on a
        storage host (OpenAPI `actions/download-artifact`); 410 when the artifact has expired.
        """
        # The redirect to the storage host is read here, never followed with the token.
        response = self.request("GET", archive_download_url, deadline=deadline, leave_other_hosts=True)
        location = response.header("Location")
        if response.status != 302 or not location:
            raise GitHubApiError(
                f"GET {self._display(archive_download_url)}: expected a 302 redirect to the artifact's "
                f"storage, got {response.status}",
                status=response.status,
                method="GET",
                hint="this server does not serve artifact downloads the way GitHub does",
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
        retrier = _Retrier(self, "GET", archive_download_url, safe=True, deadline=deadline)

        def attempt() -> DownloadResult:
            storage_url = self.artifact_storage_url(archive_download_url, deadline=deadline)
            return self._stream_to(storage_url, destination, on_progress, deadline)

        return retrier.call(attempt)

    def abort_downloads(self) -> int:
        """Stop the artifact downloads in flight now, from any thread; returns how many.

        Each ends at once with `DownloadStoppedError` (its socket is shut down, which wakes a read
        blocked in another thread), so the engine's staging is cleaned up before the process
        exits. Downloads started afterwards are not affected."""
        with self._downloads_lock:
            downloads = list(self._downloads)
        for download in downloads:
            download.stop()
        return len(downloads)

    # -- internals -----------------------------------------------------------------------------

    def _url(self, path: str, params: Mapping[str, Any] | None) -> str:
        """An absolute URL under base_url: relative paths get the prefix, absolute URLs are kept."""
        if path.startswith(("http://", "https://")):
            # Absolute URLs (Link headers, `url` fields) must point into this API, never elsewhere:
            # the request carries the token.
            base = urllib.parse.urlsplit(self.base_url)
            target = urllib.parse.urlsplit(path)
            if (target.scheme, target.netloc) != (base.scheme, base.netloc) or not target.path.startswith(
                self._prefix
            ):
                raise GitHubApiError(
                    f"refusing to send the token to {target.scheme}://{target.netloc}{target.path}: "
                    f"it is outside the API at {self.base_url}",
                    hint="check --api-url / GITHUB_API_URL; it must be the API this URL came from",
                )
            url = path
        else:
            url = self.base_url + (path if path.startswith("/") else "/" + path)
        if params:
            pairs = [(k, _query_value(v)) for k, v in params.items() if v is not None]
            if pairs:
                url += ("&" if "?" in url else "?") + urllib.parse.urlencode(pairs)
        return url

    def _display(self, url: str) -> str:
        """The path of a URL as we show it in messages (no host, never any credentials)."""
        parts = urllib.parse.urlsplit(url)
        shown = parts.path
        if self._prefix and shown.startswith(self._prefix):
            shown = shown[len(self._prefix) :] or "/"
        return shown + (f"?{parts.query}" if parts.query else "")

    @contextlib.contextmanager
    def _write_turn(self) -> Iterator[None]:
        """Hold the write lock for one write sent at least `write_interval` after the last one.

        The lock is held across the send, so two threads cannot both decide that a second has
        passed; but never across the pause: a thread waiting for its turn releases the lock and
        sleeps on the clock, so a `VirtualClock` sees it asleep rather than blocked, and moves on.
        """
        while True:
            with self._write_lock:
                wait = 0.0 if self._next_write is None else self._next_write - self.clock.now()
                if wait <= 0 or self.policy.write_interval <= 0:
                    try:
                        yield
                    finally:
                        self._next_write = self.clock.now() + self.policy.write_interval
                    return
            self.clock.sleep(wait)

    def _send_following(
        self,
        method: str,
        url: str,
        body: Any,
        extra_headers: Mapping[str, str] | None,
        safe: bool,
        conditional: bool,
        leave_other_hosts: bool,
    ) -> ApiResponse:
        """One try of a request: redirects within the API followed, at most MAX_REDIRECTS of them."""
        url = self._moved_to(url)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send_versioned(method, url, body, extra_headers, safe, conditional)
            if response.status not in _REDIRECTS:
                return response
            target = self._redirect_target(method, url, response, leave_other_hosts)
            if target is None:
                return response
            if response.status in (301, 308):
                # "This and all future requests should be directed to the new URI" (REST
                # "Best practices": follow redirects): the next poll goes there directly.
                self._remember_move(url, target)
            url = target
        raise GitHubApiError(
            f"{method} {self._display(url)}: still redirected after {MAX_REDIRECTS} redirects",
            method=method,
            url=url,
            hint="the API keeps redirecting; check --api-url (GITHUB_API_URL) and the repository's name",
        )

    def _redirect_target(
        self, method: str, url: str, response: ApiResponse, leave_other_hosts: bool
    ) -> str | None:
        """Where to send the request next, or None to hand the redirect to the caller."""
        status = response.status
        shown = f"{method} {self._display(url)}"
        location = response.header("Location")
        if not location:
            raise GitHubApiError(
                f"{shown}: answered {status} without saying where to (no Location header)",
                status=status,
                method=method,
                url=url,
            )
        target = urllib.parse.urljoin(url, location.strip())
        if not self._inside_api(target):
            if leave_other_hosts:
                return None
            parts = urllib.parse.urlsplit(target)
            elsewhere = _clip(f"{parts.scheme}://{parts.netloc}{parts.path}")
            raise GitHubApiError(
                f"{shown}: answered {status}, a redirect to {elsewhere}, "
                f"outside the API at {self.base_url}; it was not followed, so the token was not sent there",
                status=status,
                method=method,
                url=url,
                hint="GitHub redirects API requests only within the API; check --api-url (GITHUB_API_URL) "
                "and any proxy in between",
            )
        if method not in _SAFE_METHODS and status in (301, 302, 303):
            # Followed, these would turn the write into a GET (RFC 9110 15.4); GitHub answers 307 to
            # writes for a moved repository, so this is not GitHub: the write is not sent again.
            moved_to = _clip(self._display(target))
            raise GitHubApiError(
                f"{shown}: answered {status} to {moved_to}; the {method} was not sent again",
                status=status,
                method=method,
                url=url,
                hint="if the repository was renamed or transferred, use its new owner/name",
            )
        if status in (301, 308):
            self._notice(
                f"moved:{self._display(url).split('/')[1:4]}",
                ApiNotice(
                    "moved",
                    f"{shown} moved permanently to {self._display(target)}: the repository was renamed or "
                    "transferred; requests follow it to its new place",
                ),
            )
        return target

    def _inside_api(self, url: str) -> bool:
        base = urllib.parse.urlsplit(self.base_url)
        target = urllib.parse.urlsplit(url)
        return (target.scheme, target.netloc) == (base.scheme, base.netloc) and target.path.startswith(
            self._prefix + "/"
        )

    def _moved_to(self, url: str) -> str:
        with self._cache_lock:
            for _ in range(MAX_REDIRECTS):
                if url not in self._moved:
                    break
                url = self._moved[url]
        return url

    def _remember_move(self, url: str, target: str) -> None:
        with self._cache_lock:
            if len(self._moved) >= _ETAG_CACHE_SIZE:
                self._moved.clear()
            self._moved[url] = target

    def _send_versioned(
        self,
        method: str,
        url: str,
        body: Any,
        extra_headers: Mapping[str, str] | None,
        safe: bool,
        conditional: bool,
    ) -> ApiResponse:
        """Send once in this client's API version; once, on the server's refusal of it, in the older one.

        GitHub answers a version it does not support with 400 and does nothing (REST "API
        versions"), so even a write is safe to send again.
        """
        version = self.api_version
        try:
            return self._send_once(method, url, body, extra_headers, safe, conditional, version)
        except ValidationFailedError as refusal:
            if (
                version == FALLBACK_API_VERSION
                or refusal.status != 400
                or not _refuses_version(refusal.message)
            ):
                raise
        with self._stats_lock:
            if self.api_version == version:
                self.api_version = FALLBACK_API_VERSION
        self._notice(
            "api-version",
            ApiNotice(
                "api-version",
                f"the server does not support REST API version {version}; speaking {FALLBACK_API_VERSION}",
            ),
        )
        return self._send_once(method, url, body, extra_headers, safe, conditional, FALLBACK_API_VERSION)

    def _notice(self, key: str, notice: ApiNotice) -> None:
        """Say `notice` once per client: logged, and handed to `on_notice` (the edges show it)."""
        with self._stats_lock:
            if key in self._notices:
                return
            self._notices.add(key)
        log.info("%s", notice.message)
        if self.on_notice is not None:
            self.on_notice(notice)

    def _note_deprecation(self, method: str, url: str, headers: Headers) -> None:
        """GitHub marks deprecated endpoints with `Deprecation` and `Sunset` headers and a
        `Link: <...>; rel="deprecation"` (octokit/request.js warns on them): say so once."""
        deprecation = _clip(headers.get("Deprecation"))
        sunset = _clip(headers.get("Sunset"))
        link = _clip(_link_of(headers.get("Link"), "deprecation"))
        parts = [f"deprecated since {deprecation}" if deprecation else "deprecated"]
        if sunset:
            parts.append(f"to be removed on {sunset}")
        if link:
            parts.append(f"see {link}")
        self._notice(
            f"deprecation:{deprecation}|{sunset}|{link}",
            ApiNotice("deprecation", f"{method} {self._display(url)}: GitHub says it is " + ", ".join(parts)),
        )

    def _send_once(
        self,
        method: str,
        url: str,
        body: Any,
        extra_headers: Mapping[str, str] | None,
        safe: bool,
        conditional: bool,
        version: str = API_VERSION,
    ) -> ApiResponse:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": version,
            "User-Agent": self._user_agent,
            **self._authorization,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers.update(extra_headers or {})
        cached = self._cached(url) if conditional else None
        if cached is not None:
            headers["If-None-Match"] = cached.etag
        write = method not in _SAFE_METHODS
        with self._write_turn() if write else contextlib.nullcontext(), self._wire:
            try:
                self._count(requests=1)
                # Redirects are followed by `_send_following`, within the API only.
                status, response_headers, raw = self._wire_to_api.request(
                    method, url, headers, None if body is None else json.dumps(body).encode(), safe=safe
                )
            except _WireError as exc:
                raise self._connection_failure(method, url, exc, safe) from exc
        text = raw.decode("utf-8", errors="replace")
        self._note_rate_limit(response_headers)
        self._note_server_date(response_headers)
        if status == 304 and cached is not None:
            self._count(not_modified=1)
            # A 304 need not repeat the headers of the answer it stands for; pagination needs
            # that answer's `Link`, so it is kept with the cached body.
            if cached.link and "Link" not in response_headers:
                response_headers["Link"] = cached.link
            return ApiResponse(status, response_headers, cached.data, from_cache=True)
        if "Deprecation" in response_headers or "Sunset" in response_headers:
            self._note_deprecation(method, url, response_headers)
        data, is_json = _decode(text)
        if status >= 400 or status in _RETRYABLE_STATUSES:
            raise self._classify(method, url, status, response_headers, data, safe)
        if 200 <= status < 300 and not is_json:
            raise MalformedAnswerError(
                f"{method} {self._display(url)}: answered {status} with a body that is not JSON "
                f"({_clip(response_headers.get('Content-Type')) or 'no Content-Type'}: "
                f"{_clip(' '.join(text.split()), 60)!r})",
                status=status,
                method=method,
                url=url,
            )
        etag = response_headers.get("ETag")
        if conditional and etag and status == 200:
            self._remember(url, _CachedAnswer(etag, data, response_headers.get("Link")))
        return ApiResponse(status, response_headers, data)

    def _cached(self, key: str) -> _CachedAnswer | None:
        with self._cache_lock:
            answer = self._etags.get(key)
            if answer is not None:
                self._etags.move_to_end(key)
            return answer

    def _remember(self, key: str, answer: _CachedAnswer) -> None:
        """Keep the answer for conditional requests; the least recently used goes past the cap."""
        with self._cache_lock:
            self._etags[key] = answer
            self._etags.move_to_end(key)
            while len(self._etags) > _ETAG_CACHE_SIZE:
                self._etags.popitem(last=False)

    def _count(self, **deltas: int) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def _note_rate_limit(self, headers: Headers) -> None:
        # GHES has rate limiting off by default and sends none of these headers.
        with self._stats_lock:
            for header, attribute in (
                ("x-ratelimit-limit", "rate_limit_limit"),
                ("x-ratelimit-remaining", "rate_limit_remaining"),
                ("x-ratelimit-used", "rate_limit_used"),
            ):
                value = _int_header(headers, header)
                if value is not None:
                    setattr(self.stats, attribute, value)
            reset = _int_header(headers, "x-ratelimit-reset")
            if reset is not None:
                self.stats.rate_limit_reset = float(reset)
            resource = headers.get("x-ratelimit-resource")
            if resource:
                self.stats.rate_limit_resource = resource
            # "x-poll-interval": how many seconds GitHub wants between polls of this endpoint
            # (REST "Best practices": honour it; the Events API sends it).
            poll = _float_header(headers, "x-poll-interval")
            if poll is not None and poll > 0:
                self.stats.poll_interval = poll

    def _note_server_date(self, headers: Headers) -> None:
        date = _http_date(headers.get("Date"))
        if date is not None:
            with self._stats_lock:
                self.stats.server_date, self.stats.server_date_at = date, self.clock.now()

    def server_time(self) -> float | None:
        """GitHub's clock now, as its last answer's `Date` header tells it (None before any answer
        carried one).

        Timestamps GitHub compares (the `created` filter of run lists, `created_at`) are on its
        clock, not ours. `Date` has one-second precision and is read after the answer travelled,
        so this is never ahead of GitHub's clock, and behind it by at most a second and the
        latency.
        """
        with self._stats_lock:
            date, at = self.stats.server_date, self.stats.server_date_at
        return None if date is None or at is None else date + max(0.0, self.clock.now() - at)

    def _note_secondary_limit(self) -> None:
        with self._stats_lock:
            self.stats.secondary_limits += 1
            self.stats.secondary_limit_at = self.clock.now()

    def _connection_failure(self, method: str, url: str, exc: _WireError, safe: bool) -> Exception:
        shown = f"{method} {self._display(url)}"
        failure = ConnectionFailedError(
            f"{shown}: could not reach GitHub at {self.base_url} ({_describe(exc)})", method=method, url=url
        )
        if safe or exc.never_sent:
            return _RetryableError("connection", failure)
        # The request may have reached GitHub before the connection failed: do not send it again.
        return WriteOutcomeUnknownError(
            f"{shown}: the connection failed after the request was sent ({_describe(exc)}); "
            "GitHub may have applied it",
            method=method,
            url=url,
        )

    def _classify(
        self,
        method: str,
        url: str,
        status: int,
        headers: Headers,
        data: Any,
        safe: bool,
    ) -> Exception:
        message = data.get("message", "") if isinstance(data, dict) else ""
        shown = f"{method} {self._display(url)}"
        line = f"{shown}: {status}" + (f" {message}" if message else "")
        remaining = _int_header(headers, "x-ratelimit-remaining")
        lowered = message.lower()

        if status in (403, 429) and ("secondary rate limit" in lowered or "abuse" in lowered):
            self._note_secondary_limit()
            retry_after = _float_header(headers, "retry-after")
            final = RateLimitExceededError(
                f"{line} (secondary rate limit)", status=status, method=method, url=url
            )
            return _RetryableError("secondary-rate-limit", final, retry_after=retry_after)
        if status in (403, 429) and (remaining == 0 or lowered.startswith("api rate limit exceeded")):
            reset = _int_header(headers, "x-ratelimit-reset")
            final = RateLimitExceededError(
                f"{line} (primary rate limit; resets at {_clock_time(reset)})",
                reset_at=float(reset) if reset is not None else None,
                status=status,
                method=method,
                url=url,
            )
            return _RetryableError("primary-rate-limit", final)
        if status == 429:  # too many requests without a recognised message: treat as secondary
            self._note_secondary_limit()
            retry_after = _float_header(headers, "retry-after")
            final = RateLimitExceededError(line, status=status, method=method, url=url)
            return _RetryableError("secondary-rate-limit", final, retry_after=retry_after)
        if status in _RETRYABLE_STATUSES:
            final_server = ServerError(line, status=status, method=method, url=url)
            if safe:
                return _RetryableError("server-error", final_server)
            # A 5xx from a write says nothing of whether it was applied (a proxy can fail after
            # GitHub accepted it): report it as unknown, never re-send it blindly.
            return WriteOutcomeUnknownError(
                f"{line}; GitHub may or may not have applied it", status=status, method=method, url=url
            )
        # Without a token GitHub answers as it does to anyone: 404 for a private repository, 403
        # for a write; the hint must say that no token was found rather than blame the names.
        no_token = None if self._has_token else ANONYMOUS_HINT
        if status == 401:
            return AuthenticationError(line, status=status, method=method, url=url, hint=no_token)
        if status == 403:
            return PermissionDeniedError(
                line, status=status, method=method, url=url, hint=no_token or _permission_hint(url)
            )
        if status == 404:
            return NotFoundError(line, status=status, method=method, url=url, hint=no_token)
        if status == 400 and _refuses_version(message):
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

    def _stream_to(
        self,
        storage_url: str,
        destination: Path | SinkFactory,
        on_progress: Callable[[int, int | None], None] | None,
        deadline: float | None,
    ) -> DownloadResult:
        """One try: fetch the signed URL and stream its body into `destination`.

        The deadline bounds every byte: it is checked before each read, and no read waits past it
        (the socket's timeout is what is left of it), so storage that trickles or stalls ends the
        download by the deadline, not by `timeout` per read.
        """
        import requests
        import urllib3.exceptions
        import urllib3.response

        digest = hashlib.sha256()
        written = 0
        declared: int | None = None
        deadline_bound = False  # the last read's timeout was what was left of the deadline
        download = _Download()
        with self._downloads_lock:
            self._downloads.add(download)
        try:
            wait = self._storage_timeout(deadline, written, declared)
            deadline_bound = wait < self.timeout
            with self._storage.get(
                storage_url,
                stream=True,
                timeout=wait,
                allow_redirects=False,
                # The bytes as stored: their sha256 is the artifact's digest.
                headers={"Accept-Encoding": "identity"},
            ) as got:
                download.raw = got.raw
                if download.stopped:
                    raise DownloadStoppedError(_STOPPED)
                if got.status_code != 200:
                    raise self._storage_refusal(got)
                encoding = got.headers.get("Content-Encoding", "").strip().lower()
                encoded = encoding not in ("", "identity")
                if encoded and encoding not in urllib3.response.HTTPResponse.CONTENT_DECODERS:
                    raise ArtifactError(
                        f"artifact storage sent the artifact encoded as {encoding!r} "
                        "(Content-Encoding), which cannot be decoded here",
                        hint="a proxy between this machine and the artifact storage is compressing "
                        "downloads; exempt the storage host from it (NO_PROXY) or turn that off",
                    )
                declared = _int_header(got.headers, "Content-Length")
                answer = StorageAnswer(
                    url=storage_url,
                    # A compressing proxy's Content-Length counts the compressed bytes, not the
                    # artifact's: they are decoded on the way (the digest is of the artifact).
                    length=None if encoded else declared,
                    content_type=got.headers.get("Content-Type", ""),
                    content_disposition=got.headers.get("Content-Disposition", ""),
                )
                sink = destination.open("wb") if isinstance(destination, Path) else destination(answer)
                with sink:
                    while True:
                        wait = self._storage_timeout(deadline, written, declared)
                        deadline_bound = wait < self.timeout
                        _bound_next_read(got.raw, wait)
                        # read1 hands over what has arrived, up to a chunk: a cut stream still
                        # delivers (and counts) the bytes that came before the cut, where a full
                        # read of the chunk would drop them with the error.
                        chunk = got.raw.read1(_DOWNLOAD_CHUNK, decode_content=True)
                        if download.stopped:
                            raise DownloadStoppedError(_STOPPED)
                        if not chunk:
                            break
                        sink.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                        if on_progress is not None:
                            on_progress(written, answer.length)
                # What came over the wire is what Content-Length counts, encoded or not.
                received = int(got.raw.tell()) if encoded else written
                if declared is not None and received != declared:
                    raise requests.exceptions.ChunkedEncodingError(
                        f"stream ended after {received} of {declared} bytes"
                    )
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if download.stopped:
                raise DownloadStoppedError(_STOPPED) from exc
            if not isinstance(exc, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError)):
                raise  # a local file's error (the sink's), not the stream's
            timed_out = isinstance(exc, (urllib3.exceptions.TimeoutError, requests.exceptions.Timeout))
            if deadline is not None and (self.clock.now() >= deadline or (deadline_bound and timed_out)):
                raise self._download_deadline(written, declared) from exc
            # An artifact error (exit 5), not an API one: the API answered, the storage host's
            # stream broke (issue 11, defect 14).
            failure = ArtifactDownloadError(f"the download was cut after {written} bytes ({_describe(exc)})")
            # Tried `attempts` times, deadline or not: a stream that breaks on every try is not an
            # outage that passes, and each try fetches the whole artifact again.
            raise _RetryableError("stream-cut", failure) from exc
        finally:
            with self._downloads_lock:
                self._downloads.discard(download)
            self._count(downloaded_bytes=written)
        path = destination if isinstance(destination, Path) else None
        return DownloadResult(path, written, digest.hexdigest())

    def _storage_timeout(self, deadline: float | None, written: int, declared: int | None) -> float:
        """Seconds the next storage read may wait: `timeout`, or less when the deadline is nearer.

        Raises `DeadlineExceededError` once the deadline has come."""
        if deadline is None:
            return float(self.timeout)
        left = deadline - self.clock.now()
        if left <= 0:
            raise self._download_deadline(written, declared)
        return min(float(self.timeout), left)

    def _download_deadline(self, written: int, declared: int | None) -> DeadlineExceededError:
        of = f" of {declared:,}" if declared is not None else ""
        return DeadlineExceededError(
            f"the deadline came while downloading: {written:,}{of} bytes had arrived from the "
            "artifact storage",
            hint="raise the timeout, or check the network between this machine and the artifact "
            "storage (it is sending slowly or has stalled)",
        )

    def _storage_refusal(self, got: requests.Response) -> Exception:
        """The error for a storage answer other than 200, retryable when another try may help."""
        status = got.status_code
        if 300 <= status < 400:
            # Blob storage serves the bytes of a signed URL itself; a redirect comes from something
            # in between (a proxy or a captive portal), and a fresh signed URL changes nothing.
            target = urllib.parse.urlsplit(got.headers.get("Location", "")).netloc or "another address"
            return ArtifactError(
                f"artifact storage answered {status}, a redirect to {target}, instead of the artifact",
                hint="the storage host does not redirect signed downloads: a proxy or firewall between "
                "this machine and it is redirecting; check HTTPS_PROXY and NO_PROXY, or allow the "
                "storage host",
            )
        refusal = GitHubApiError(
            f"artifact storage answered {status} {_storage_error(got.text)}",
            status=status,
            method="GET",
            hint="the signed URL may have expired; try again",
        )
        # A signed URL lives about a minute (REST "Download an artifact": the URL "expires after 1
        # minute"): one that expired on the way (403 AuthenticationFailed) or a storage hiccup (5xx)
        # is worth another try, which asks GitHub for a fresh URL; other answers are final.
        if status == 403 or status >= 500:
            return _RetryableError("storage-refused", refusal)
        return refusal


class _Retrier:
    """The retry loop: the only place that retries, on the API layer's clock.

    Waits come from the answer when GitHub gives one (retry-after, x-ratelimit-reset), else
    exponential backoff with jitter. A deadline (the caller's, or the `deadline_scope` the
    request runs in) bounds every wait: a wait that would end past it is not started, and the
    last error is raised instead (a primary limit that resets after the deadline fails at once,
    with the reset time in the message). Under a deadline, a read is retried until the deadline
    rather than `attempts` times, with waits that stop growing at `max_backoff_in_wait`: an
    outage shorter than the wait does not end the wait (issue 11, defect 11).

    The loop is tenacity's (`Retrying` with this class's stop, wait and before-sleep strategies and
    the API layer's clock as its sleep), so the policy is tested on a fake clock. tenacity is
    imported only once a request has failed: the first request of a run goes out without the
    43 ms it takes to import (issue 12, item 5).
    """

    def __init__(self, api: GitHubApi, method: str, url: str, *, safe: bool, deadline: float | None) -> None:
        self.api = api
        self.method = method
        self.url = url
        self.safe = safe
        self.deadline = deadline
        self.rng = api.rng
        self._secondary = 0  # secondary-limit refusals so far: their waits grow
        self._wait_next = 0.0
        self._giving_up: BaseException | None = None

    def call(self, attempt: Callable[[], T]) -> T:
        try:
            return self._attempt(attempt)
        except _RetryableError as transient:
            first = transient
        import tenacity  # only a failed request needs the retry loop

        self._decide(first, tries=1)
        if self._giving_up is not None:
            raise self._giving_up
        self._before_sleep(first, 1, self._wait_next)
        self.api.clock.sleep(self._wait_next)
        retrying = tenacity.Retrying(
            sleep=self.api.clock.sleep,
            retry=tenacity.retry_if_exception_type(_RetryableError),
            wait=self._wait,
            stop=lambda state: self._giving_up is not None,
            before_sleep=self._before_sleep_state,
            retry_error_callback=self._raise_final,
        )
        result: T = retrying(self._attempt, attempt)
        return result

    def _attempt(self, attempt: Callable[[], T]) -> T:
        self.api._await_turn(self.method, self.url, self.deadline)
        return attempt()

    @staticmethod
    def _transient(state: Any) -> _RetryableError:
        error = state.outcome.exception() if state.outcome is not None else None
        if not isinstance(error, _RetryableError):  # retry_if_exception_type retries nothing else
            raise RuntimeError("tenacity retried something other than a transient failure")
        return error

    def _wait(self, state: Any) -> float:
        """tenacity's wait, asked before its stop: decides the wait or to give up. The attempts
        tenacity counts come after the first one, made above."""
        self._decide(self._transient(state), tries=state.attempt_number + 1)
        return self._wait_next

    def _before_sleep_state(self, state: Any) -> None:
        self._before_sleep(self._transient(state), state.attempt_number + 1, self._wait_next)

    def _raise_final(self, state: Any) -> NoReturn:
        assert self._giving_up is not None  # nosec B101 # _stop set it before tenacity stopped
        raise self._giving_up

    def _decide(self, transient: _RetryableError, *, tries: int) -> None:
        """After a failure: the wait before the next try, or the error to give up with."""
        policy = self.api.policy
        if transient.reason == "secondary-rate-limit":
            self._secondary += 1
        wait = self._choose_wait(transient, tries, self._secondary)
        if transient.reason == "secondary-rate-limit":
            self.api._hold_requests(wait)
        self._wait_next = wait
        if self._past_deadline(wait):
            self._giving_up = self._final_error(transient, tries, deadline_hit=True)
        elif self._out_of_tries(transient, tries, wait, policy):
            self._giving_up = self._final_error(transient, tries, deadline_hit=False)

    def _choose_wait(self, transient: _RetryableError, tries: int, secondary: int) -> float:
        policy = self.api.policy
        if transient.reason == "primary-rate-limit":
            reset_at = getattr(transient.final, "reset_at", None)
            base = (
                (reset_at - self.api.clock.now() + 1.0)
                if reset_at is not None
                else policy.secondary_limit_wait
            )
            return max(base, 1.0)
        if transient.reason == "secondary-rate-limit":
            if transient.retry_after is not None:
                return max(transient.retry_after, 1.0)
            # "wait at least one minute", then exponentially longer while it persists (GitHub docs).
            grown = policy.secondary_limit_wait * 2.0 ** (secondary - 1)
            return min(grown, max(policy.secondary_limit_wait * 8, policy.max_backoff))
        cap = policy.max_backoff
        if self.deadline is not None and self.safe:
            cap = min(cap, policy.max_backoff_in_wait)
        backoff = min(cap, policy.initial_backoff * 2.0 ** (tries - 1))
        return backoff + self.rng.uniform(0, policy.jitter)

    def _past_deadline(self, wait: float) -> bool:
        return self.deadline is not None and self.api.clock.now() + wait > self.deadline

    def _out_of_tries(self, transient: _RetryableError, tries: int, wait: float, policy: RetryPolicy) -> bool:
        if transient.reason == "primary-rate-limit":
            limit = policy.max_rate_limit_wait
            if self.deadline is None and limit is not None and wait > limit:
                return True
        if self.deadline is not None and self.safe and transient.reason in ("server-error", "connection"):
            return False  # a read under a deadline is retried until the deadline
        return tries >= policy.attempts

    def _before_sleep(self, transient: _RetryableError, tries: int, wait: float) -> None:
        self.api._count(retries=1)
        if transient.reason.endswith("rate-limit"):
            self.api._count(rate_limit_waits=1)
        event = RetryEvent(
            reason=transient.reason,
            wait=wait,
            attempt=tries,
            method=self.method,
            path=self.api._display(self.url),
            detail=str(transient.final),
        )
        log.info("retrying in %.1fs (%s): %s", wait, transient.reason, transient.final)
        if self.api.on_retry is not None:
            self.api.on_retry(event)

    def _final_error(self, transient: _RetryableError, tries: int, *, deadline_hit: bool) -> BaseException:
        """The error to give up with (its cause chained, as `raise ... from` would)."""
        final = transient.final
        # A cut artifact stream stays an artifact error (exit 5), deadline or not.
        if deadline_hit and not isinstance(final, (RateLimitExceededError, ArtifactDownloadError)):
            error: BaseException = DeadlineExceededError(
                f"{final} - still failing when the deadline came (after {tries} tries)"
            )
            error.__cause__ = final
            return error
        if deadline_hit and isinstance(final, RateLimitExceededError):
            final.hint = (
                "the rate limit resets after this step's deadline: raise the timeout, or use a token "
                "with a larger budget (a GitHub App installation token or a PAT)"
            )
        final.__cause__ = transient
        return final


# -- small pure helpers --------------------------------------------------------------------------


def normalize_api_url(url: str) -> str:
    """Check an API base URL (`https://api.github.com`, GHES `https://HOST/api/v3`) and trim it."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"not an API URL: {url!r}",
            hint="use https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server",
        )
    if parts.username or parts.password:
        raise UsageError(
            "the API URL must not carry credentials", hint="pass the token through GITHUB_TOKEN instead"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def next_page_url(link_header: str | None) -> str | None:
    """The `rel="next"` URL of a GitHub `Link` header, if any."""
    if not link_header:
        return None
    # `<url>; rel="next", <url>; rel="last"`: split before each `<`, so commas in a URL stay.
    for link in re.split(r",\s*(?=<)", link_header):
        target, _, parameters = link.strip().partition(";")
        url = target.strip().strip("<>").strip()
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip("'\"").split() and url:
                return url
    return None


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _decode(text: str) -> tuple[Any, bool]:
    """An answer's body and whether it was JSON: an empty one is None; text that is not JSON is
    kept as `{"message": ...}`, which an error answer's classification reads."""
    if not text.strip():
        return None, True
    try:
        return json.loads(text), True
    except ValueError:
        return {"message": text[:200]}, False


def _refuses_version(message: str) -> bool:
    """GitHub's 400 for an unknown version: 'The version you specified in the "X-GitHub-API-Version"
    request header, "v3", is not a supported version. ...' (expipiplus1/update-nix-fetchgit#79)."""
    lowered = message.lower()
    return "x-github-api-version" in lowered and "supported" in lowered


def _clip(value: str | None, limit: int = 120) -> str:
    if not value:
        return ""
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _link_of(link_header: str | None, rel: str) -> str | None:
    """The URL of a `Link` header's `rel` (as `next_page_url` reads rel="next")."""
    if not link_header:
        return None
    for link in re.split(r",\s*(?=<)", link_header):
        target, _, parameters = link.strip().partition(";")
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key.strip().lower() == "rel" and rel in value.strip().strip("'\"").split():
                return target.strip().strip("<>").strip() or None
    return None


def _float_header(headers: Mapping[str, str], name: str) -> float | None:
    """A header's number, or None when absent or not a number GitHub would send: not finite
    (`1e400`, `nan`), or beyond any epoch, count or wait (a tampering proxy, a broken server)."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or abs(number) > _HEADER_NUMBER_MAX:
        return None
    return number


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    number = _float_header(headers, name)  # GitHub has sent floats here (PyGithub PR #2697)
    return None if number is None else int(number)


_HTTP_DATE = re.compile(r"(\d{1,2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _http_date(value: str | None) -> float | None:
    """An HTTP `Date` (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) as epoch seconds."""
    match = _HTTP_DATE.search(value or "")
    if match is None or match.group(2) not in _MONTHS:
        return None
    day, month, year, hour, minute, second = match.groups()
    try:
        moment = datetime.datetime(
            int(year),
            _MONTHS.index(month) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=datetime.UTC,
        )
    except ValueError:  # 31 Feb, 25:00: not a date; the answer is used without it
        return None
    return moment.timestamp()


def _clock_time(epoch: int | None) -> str:
    if epoch is None:
        return "an unknown time"
    try:
        return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).strftime("%H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return "an unknown time"


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


ANONYMOUS_HINT = (
    "no token was found: set GITHUB_TOKEN or GH_TOKEN (or log in with `gh auth login`), or pass "
    "github-token in the action; without one, private repositories answer 404"
)


def _permission_hint(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    if path.endswith("/dispatches") and "/actions/workflows/" in path:
        return "give the token `actions: write` (permissions: actions: write) to dispatch workflows"
    if path.endswith("/dispatches"):
        return "give the token `contents: write` to send a repository_dispatch event"
    if path.endswith(("/cancel", "/force-cancel", "/rerun", "/rerun-failed-jobs")):
        return "give the token `actions: write` to cancel or re-run workflow runs"
    if "/check-runs" in path:
        return "give the token `checks: read`"
    return "give the token `actions: read` (and `contents: read` for private repositories)"


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _storage_error(text: str) -> str:
    """The `<Code>` of an Azure-style XML error body, else the start of the text."""
    start = text.find("<Code>")
    end = text.find("</Code>")
    if start != -1 and end > start:
        return text[start + 6 : end]
    return text[:120]


_STOPPED = "the download was stopped before it ended (the plan was cancelled or the process stopped)"


class _Download:
    """One storage stream in flight, which `GitHubApi.abort_downloads` may stop from another thread."""

    def __init__(self) -> None:
        self.raw: Any = None  # urllib3's response, once the storage host has answered
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        sock = getattr(getattr(self.raw, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _bound_next_read(raw: Any, seconds: float) -> None:
    """Make the next socket read of a streamed answer wait at most `seconds`.

    urllib3 keeps the connection on the response while its body streams (`connection`); its
    socket's timeout is what each read waits for at most."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    request.headers.pop("Authorization", None)
    return request


# -- the wire: http.client, one kept-alive connection -------------------------------------------


_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
# Failures of a kept-alive connection the server closed while it sat idle: the request did not
# reach it, and a safe request may be sent again at once on a fresh connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _WireError(Exception):
    """The request failed on the network. `never_sent`: not a byte of it left this process."""

    def __init__(self, detail: str, *, never_sent: bool, timed_out: bool = False) -> None:
        super().__init__(detail)
        self.never_sent = never_sent
        self.timed_out = timed_out


class Headers(MutableMapping[str, str]):
    """HTTP headers by case-insensitive name (the last value of a repeated one)."""

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for name, value in pairs:
            self[name] = value

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __setitem__(self, name: str, value: str) -> None:
        self._items[name.lower()] = (name, value)

    def __delitem__(self, name: str) -> None:
        del self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class _Wire:
    """One connection to the API host, reused while the server keeps it open. Not thread-safe:
    `GitHubApi` sends one request at a time (`_wire` lock)."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.timeout = timeout
        self._proxy = _proxy_for(base_url)
        self._connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, *, safe: bool
    ) -> tuple[int, Headers, bytes]:
        """Send one request to `url` (on this wire's host): the status, headers and whole body."""
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if self._proxy is not None and self.scheme == "http":
            target = url  # a plain-HTTP proxy takes the absolute URL
        for attempt in (1, 2):
            connection = self._connect()
            reused = connection.sock is not None
            if not reused:
                try:
                    connection.connect()
                except OSError as exc:
                    self.close()
                    timed_out = isinstance(exc, TimeoutError)
                    raise _WireError(_describe_wire(exc), never_sent=True, timed_out=timed_out) from exc
            try:
                connection.request(method, target, body=body, headers=dict(headers))
                answer = connection.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if reused and attempt == 1 and safe and isinstance(exc, _STALE):
                    continue
                timed_out = isinstance(exc, TimeoutError)
                raise _WireError(_describe_wire(exc), never_sent=False, timed_out=timed_out) from exc
            except BaseException:
                # An interrupt (SIGINT, SIGTERM) mid-exchange: the connection is half used, and the
                # requests that follow (the cancels) need a fresh one.
                self.close()
                raise
            if answer.will_close:
                self.close()
            return answer.status, Headers(answer.getheaders()), data
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is not None:
            return self._connection
        proxy = self._proxy
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            import ssl

            context = ssl.create_default_context(cafile=_ca_bundle())
            if proxy is None:
                connection = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                connection = http.client.HTTPSConnection(
                    proxy.hostname or "", proxy.port or 8080, timeout=self.timeout, context=context
                )
                connection.set_tunnel(self.host, self.port, headers=_proxy_headers(proxy))
        elif proxy is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        else:
            connection = http.client.HTTPConnection(
                proxy.hostname or "", proxy.port or 8080, timeout=self.timeout
            )
        self._connection = connection
        return connection


def _proxy_for(url: str) -> urllib.parse.SplitResult | None:
    """The proxy for `url` from the environment, as `requests` would pick it (or None)."""
    if not any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    import urllib.request

    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxies: dict[str, str] = urllib.request.getproxies()
    chosen = proxies.get(parts.scheme) or proxies.get("all")
    if not chosen:
        return None
    return urllib.parse.urlsplit(chosen if "://" in chosen else f"http://{chosen}")


def _proxy_headers(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    user = urllib.parse.unquote(proxy.username)
    password = urllib.parse.unquote(proxy.password or "")
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Proxy-Authorization": f"Basic {credentials}"}


def _ca_bundle() -> str | None:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None


def _describe_wire(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        text = f"Connection refused ({text})"
    return text if len(text) <= 160 else text[:157] + "..."


__all__ = [
    "API_VERSION",
    "DEFAULT_API_URL",
    "FALLBACK_API_VERSION",
    "MAX_REDIRECTS",
    "ApiNotice",
    "ApiResponse",
    "ApiStats",
    "DownloadResult",
    "GitHubApi",
    "Headers",
    "RetryEvent",
    "RetryPolicy",
    "next_page_url",
    "normalize_api_url",
]
