"""What the API layer did, and what GitHub said about pacing: `ApiStats` and its one writer.

`ApiStats` mirrors GitHub's last `x-ratelimit-*` headers, its `x-poll-interval` and secondary
limits (REST "Rate limits for the REST API"; "Best practices for using the REST API": honour
`x-poll-interval`), and counts requests, 304s, retries and downloaded bytes, for progress lines,
outputs, benchmarks and the poll governor (polling.py), which slows down on them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from wait_and_dispatch.github_api.answers import float_header, http_date, int_header
from wait_and_dispatch.github_api.transport import Headers
from wait_and_dispatch.support.clock import Clock


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


class Accounting:
    """The one writer of a client's `ApiStats` (thread-safe); readers read `stats` directly."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.stats = ApiStats()
        self._lock = threading.Lock()

    def count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def note_rate_limit(self, headers: Headers) -> None:
        # GHES has rate limiting off by default and sends none of these headers.
        with self._lock:
            for header, attribute in (
                ("x-ratelimit-limit", "rate_limit_limit"),
                ("x-ratelimit-remaining", "rate_limit_remaining"),
                ("x-ratelimit-used", "rate_limit_used"),
            ):
                value = int_header(headers, header)
                if value is not None:
                    setattr(self.stats, attribute, value)
            reset = int_header(headers, "x-ratelimit-reset")
            if reset is not None:
                self.stats.rate_limit_reset = float(reset)
            resource = headers.get("x-ratelimit-resource")
            if resource:
                self.stats.rate_limit_resource = resource
            # "x-poll-interval": how many seconds GitHub wants between polls of this endpoint
            # (REST "Best practices": honour it; the Events API sends it).
            poll = float_header(headers, "x-poll-interval")
            if poll is not None and poll > 0:
                self.stats.poll_interval = poll

    def note_server_date(self, headers: Headers) -> None:
        date = http_date(headers.get("Date"))
        if date is not None:
            with self._lock:
                self.stats.server_date, self.stats.server_date_at = date, self.clock.now()

    def server_time(self) -> float | None:
        """GitHub's clock now, as its last answer's `Date` header tells it (None before any answer
        carried one).

        Timestamps GitHub compares (the `created` filter of run lists, `created_at`) are on its
        clock, not ours. `Date` has one-second precision and is read after the answer travelled,
        so this is never ahead of GitHub's clock, and behind it by at most a second and the
        latency.
        """
        with self._lock:
            date, at = self.stats.server_date, self.stats.server_date_at
        return None if date is None or at is None else date + max(0.0, self.clock.now() - at)

    def note_secondary_limit(self) -> None:
        with self._lock:
            self.stats.secondary_limits += 1
            self.stats.secondary_limit_at = self.clock.now()

    def hold(self, seconds: float) -> None:
        """GitHub asked for no requests for `seconds` (a secondary limit): every request waits."""
        with self._lock:
            until = self.clock.now() + seconds
            self.stats.hold_until = max(self.stats.hold_until or 0.0, until)
