"""Rate limits: GitHub's refusals told apart, the request budget, and the pacing of writes.

From REST "Rate limits for the REST API" and "Best practices for using the REST API":
- a primary limit is a 403 or 429 with `x-ratelimit-remaining: 0` (or "API rate limit
  exceeded"); it lifts at `x-ratelimit-reset`;
- a secondary limit is a 403 or 429 saying "secondary rate limit"; wait `retry-after`, else at
  least one minute, and exponentially longer while it persists;
- no more than 900 points per minute for REST endpoints ("Calculating points for the secondary
  rate limit"): GET, HEAD and OPTIONS are 1 point, POST, PATCH, PUT and DELETE 5;
- make requests serially, and wait at least one second between mutative requests.

`RequestBudget` keeps the process well under the points per minute with a sliding window, holds
every request back while GitHub has asked it to (`retry-after`), and spaces writes.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import threading
from collections.abc import Iterator, Mapping

from wait_and_dispatch.github_api.answers import float_header, int_header
from wait_and_dispatch.github_api.retry import RetryableError, RetryPolicy
from wait_and_dispatch.github_api.stats import Accounting
from wait_and_dispatch.github_api.transport import SAFE_METHODS
from wait_and_dispatch.support.clock import Clock
from wait_and_dispatch.support.errors import RateLimitExceededError


class RequestBudget:
    """When the next request of one client (one token) may go: the points window, holds, writes."""

    def __init__(self, clock: Clock, policy: RetryPolicy, accounting: Accounting) -> None:
        self._clock = clock
        self._policy = policy
        self._accounting = accounting
        self._pace_lock = threading.Lock()
        self._sent: collections.deque[tuple[float, int]] = collections.deque()  # (time, points)
        self._write_lock = threading.Lock()
        self._next_write: float | None = None  # the earliest time the next write may be sent

    def points_in_last_minute(self) -> int:
        """Secondary-limit points this client spent in the last 60 s of its clock."""
        with self._pace_lock:
            self._forget_before(self._clock.now() - 60.0)
            return sum(points for _, points in self._sent)

    def _forget_before(self, cutoff: float) -> None:
        while self._sent and self._sent[0][0] <= cutoff:
            self._sent.popleft()

    def await_turn(self, method: str, shown: str, deadline: float | None) -> None:
        """Wait, before a request, while GitHub has asked us to hold back or the minute is spent.

        The window is kept well under GitHub's 900 points per minute; a hold comes from a
        secondary limit's `retry-after`, and applies to every request of this token, not only to
        the one refused. Neither is waited for past the deadline. `shown` is the request as
        messages show it (`GET /repos/...`).
        """
        points = 1 if method in SAFE_METHODS else 5
        limit = self._policy.points_per_minute
        stats = self._accounting.stats
        while True:
            with self._pace_lock:
                now = self._clock.now()
                wait = 0.0
                held = False
                hold = stats.hold_until
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
                    f"{shown}: not sent: {why} for {wait:.0f}s more, past the deadline",
                    hint="raise the timeout, or wait on fewer runs at once with this token",
                )
            self._accounting.count(paced_waits=1)
            self._clock.sleep(wait)

    @contextlib.contextmanager
    def write_turn(self) -> Iterator[None]:
        """Hold the write lock for one write sent at least `write_interval` after the last one.

        The lock is held across the send, so two threads cannot both decide that a second has
        passed; but never across the pause: a thread waiting for its turn releases the lock and
        sleeps on the clock, so a `VirtualClock` sees it asleep rather than blocked, and moves on.
        """
        while True:
            with self._write_lock:
                wait = 0.0 if self._next_write is None else self._next_write - self._clock.now()
                if wait <= 0 or self._policy.write_interval <= 0:
                    try:
                        yield
                    finally:
                        self._next_write = self._clock.now() + self._policy.write_interval
                    return
            self._clock.sleep(wait)


def rate_limit_refusal(
    line: str, status: int, headers: Mapping[str, str], message: str, *, method: str, url: str
) -> RetryableError | None:
    """The transient error for a refusal that is a primary or secondary rate limit, else None.

    `line` is the refusal as messages show it (`GET /repos/...: 403 ...`).
    """
    lowered = message.lower()
    if status in (403, 429) and ("secondary rate limit" in lowered or "abuse" in lowered):
        final = RateLimitExceededError(
            f"{line} (secondary rate limit)", status=status, method=method, url=url
        )
        return RetryableError("secondary-rate-limit", final, retry_after=float_header(headers, "retry-after"))
    remaining = int_header(headers, "x-ratelimit-remaining")
    if status in (403, 429) and (remaining == 0 or lowered.startswith("api rate limit exceeded")):
        reset = int_header(headers, "x-ratelimit-reset")
        final = RateLimitExceededError(
            f"{line} (primary rate limit; resets at {_clock_time(reset)})",
            reset_at=float(reset) if reset is not None else None,
            status=status,
            method=method,
            url=url,
        )
        return RetryableError("primary-rate-limit", final)
    if status == 429:  # too many requests without a recognised message: treat as secondary
        final = RateLimitExceededError(line, status=status, method=method, url=url)
        return RetryableError("secondary-rate-limit", final, retry_after=float_header(headers, "retry-after"))
    return None


def _clock_time(epoch: int | None) -> str:
    if epoch is None:
        return "an unknown time"
    try:
        return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).strftime("%H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return "an unknown time"
