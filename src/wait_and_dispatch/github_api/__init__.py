"""The one place that talks HTTP to GitHub: `GitHubApi` and what it returns.

Callers import from here; the modules inside are the layer's own, each one concern:

- `api.py`: the `GitHubApi` facade (get, post, paginate, request, download) and its ETags;
- `transport.py`: the wire (`http.client` to the API host, one kept-alive connection; `requests`
  to the storage host, imported only for a download, with a session that never carries the token);
- `retry.py`: the only retry loop, and its `RetryPolicy`;
- `rate_limit.py`: primary and secondary limits told apart, the points-per-minute window, holds,
  and one second between writes;
- `stats.py`: `ApiStats`, what the layer did and what GitHub said about pacing;
- `versions.py`: the REST API version and its fallback, and the notices said once;
- `urls.py`: URLs inside the API only, and redirects followed within it;
- `answers.py`, `refusals.py`: reading answers, and the typed error for each refusal;
- `downloads.py`: artifact bytes streamed from the storage host;
- `storage_text.py`: the end of a text in storage (a job's log), read without the token, bounded;
- `polling.py`: the poll governor, one schedule for every wait on one client.

What it does for every caller:
- speaks REST API version 2026-03-10, and 2022-11-28 from the moment a server refuses it (each
  client is refused at most once; the refused request is sent again, nothing was done);
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
  budget) in `ApiStats`, for the poll governor (polling.py) to slow down on;
- counts what it did (`ApiStats`) for progress lines, outputs and benchmarks.

The first request goes out without importing PyGithub, `requests`, `urllib3` or tenacity:
tenacity only once a request has failed, `requests` only for a download.

Sources:
- REST "Best practices for using the REST API": conditional requests, 304 not counted, serial
  requests, one second between mutative requests, secondary limit handling.
- REST "Rate limits for the REST API": x-ratelimit-* headers, 403/429, retry-after, at least one
  minute when absent, exponential backoff when it persists; "Calculating points for the secondary
  rate limit": no more than 900 points per minute for REST endpoints; GET, HEAD and OPTIONS are
  1 point, POST, PATCH, PUT and DELETE 5.
- PyGithub #3080 and `GithubRetry`: retries POSTs and sleeps silently until reset (what this
  layer does not do).
"""

from __future__ import annotations

from wait_and_dispatch.github_api.answers import ApiResponse, next_page_url
from wait_and_dispatch.github_api.api import GitHubApi
from wait_and_dispatch.github_api.downloads import DownloadResult, DownloadSink, SinkFactory, StorageAnswer
from wait_and_dispatch.github_api.retry import RetryEvent, RetryPolicy
from wait_and_dispatch.github_api.stats import ApiStats
from wait_and_dispatch.github_api.storage_text import StorageText
from wait_and_dispatch.github_api.transport import Headers
from wait_and_dispatch.github_api.urls import DEFAULT_API_URL, MAX_REDIRECTS, normalize_api_url
from wait_and_dispatch.github_api.versions import API_VERSION, FALLBACK_API_VERSION, ApiNotice

__all__ = [
    "API_VERSION",
    "DEFAULT_API_URL",
    "FALLBACK_API_VERSION",
    "MAX_REDIRECTS",
    "ApiNotice",
    "ApiResponse",
    "ApiStats",
    "DownloadResult",
    "DownloadSink",
    "GitHubApi",
    "Headers",
    "RetryEvent",
    "RetryPolicy",
    "SinkFactory",
    "StorageAnswer",
    "StorageText",
    "next_page_url",
    "normalize_api_url",
]
