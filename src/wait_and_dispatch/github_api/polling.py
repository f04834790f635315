"""When to poll: the poll governor, one fixed schedule for every wait on one token.

GitHub's REST best practices, for a poller that cannot use webhooks: poll only as often as you
need to, on a fixed schedule; honour `x-poll-interval`; make authenticated conditional requests;
avoid concurrent requests. So every wait of a process (runs, checks, many targets, plan nodes)
polls on one `PollGovernor` per `GitHubApi` (per token):

- a fixed cadence of `poll-interval` to twice it (jittered, so processes do not poll in
  lockstep; 1 to 2 s by default). Polls are conditional: an unchanged answer is a 304 and costs
  no rate limit, so there is nothing to save by backing off, and completion is seen within one
  interval whatever the run's length or history;
- ticks shared by every waiter: waiters wake together, and one read per key (one list request
  per repository) serves all of them (`read`, `watch`);
- it slows down only when it must, and says why (`Pace.reason`, shown in the progress line):
  the requests one tick costs would pass `TARGET_PER_MINUTE` (well under GitHub's 900 points a
  minute), GitHub sent `x-poll-interval`, answered with a secondary limit (`retry-after`), or the
  primary budget left would not last until its reset. Slowing down for the budget stops at
  `max-poll-interval`; what GitHub asks for is honoured beyond it.

The rest of this layer keeps the hard limits (one request in flight, the points-per-minute window,
holding every request while GitHub says `retry-after`); the governor keeps waiters from needing
them.

How a waiter uses it (engine/waiting.py for runs; engine/check_wait.py for check runs)::

    governor = governor_for(api)
    bounds = PollBounds(options.poll_interval, options.max_poll_interval)
    with governor.watch(("runs", repo.full_name), run.id):     # what this waiter reads
        while not done:
            now = api.clock.now()
            answer = governor.read(("runs", repo.full_name), fetch_all_watched, now=now)
            ...
            pace = governor.next_poll(bounds)                   # shared tick, maybe slowed
            report(pace.interval, pace.reason)                  # reason is None unless slowed
            api.clock.sleep(min(pace.interval, deadline - now))

`fetch_all_watched(keys)` gets every item watched under the key (by any waiter) and returns what
it read; `read` runs it at most once per tick per key and hands the same answer to every waiter
that asks within `SHARED_READ_AGE` seconds.

The dispatch look-ups (the dispatched run to be listed, `dispatch: never` waiting for a run to
appear) poll on the same cadence.
"""

from __future__ import annotations

import contextlib
import random
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from wait_and_dispatch.github_api.api import GitHubApi

T = TypeVar("T")

# Requests a minute the governor plans for: half of GitHub's 900-point secondary limit, so that
# writes (5 points) and other work of the process fit beside the polls.
TARGET_PER_MINUTE = 450.0
# An answer read this recently (by any waiter) is fresh enough for another waiter of the same
# tick: well under the 1 s cadence, so sharing adds at most this much lag.
SHARED_READ_AGE = 0.5
# Below this share of the primary budget, polls are spread so the rest lasts until the reset.
LOW_REMAINING_SHARE = 0.1
LOW_REMAINING_MIN = 50
# After a secondary limit, the budget target is halved for this long.
SECONDARY_COOL_DOWN = 300.0


@dataclass(frozen=True)
class PollBounds:
    """The user's bounds: `poll-interval` (the cadence: each gap is 1 to 2 times it) and
    `max-poll-interval` (how far the governor slows down for the budget on its own)."""

    floor: float = 1.0
    ceiling: float = 60.0


@dataclass(frozen=True)
class Pace:
    """The next poll: in `interval` seconds (at clock time `wake`); `reason` says why it is later
    than the cadence, or is None."""

    wake: float
    interval: float
    reason: str | None = None


@dataclass
class _Shared:
    at: float  # clock time the read started
    value: object


@dataclass
class PollGovernor:
    """The schedule and request budget of every wait on one `GitHubApi`; see the module doc."""

    api: GitHubApi
    rng: random.Random = field(default_factory=random.Random)
    target_per_minute: float = TARGET_PER_MINUTE
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _next_tick: float | None = field(default=None, init=False)
    _tick_requests: int = field(default=0, init=False)  # api.stats.requests when the tick began
    _tick_cost: int = field(default=0, init=False)  # requests the last whole tick cost
    _reason: str | None = field(default=None, init=False)
    _watched: dict[Hashable, dict[Hashable, int]] = field(default_factory=dict, init=False)
    _shared: dict[Hashable, _Shared] = field(default_factory=dict, init=False)
    _read_locks: dict[Hashable, threading.Lock] = field(default_factory=dict, init=False)

    # -- the schedule ----------------------------------------------------------------------------

    def next_poll(self, bounds: PollBounds) -> Pace:
        """When this waiter polls next: the governor's next tick, shared by every waiter."""
        with self._lock:
            now = self.api.clock.now()
            if self._next_tick is None or self._next_tick <= now:
                requests = self.api.stats.requests
                if self._next_tick is not None:
                    self._tick_cost = requests - self._tick_requests
                self._tick_requests = requests
                interval, self._reason = self._interval(bounds, now)
                self._next_tick = now + interval
            wake = max(self._next_tick, now + bounds.floor)
            return Pace(wake, wake - now, self._reason)

    def _interval(self, bounds: PollBounds, now: float) -> tuple[float, str | None]:
        """The gap until the next tick, and why it is longer than the cadence (or None)."""
        cadence = bounds.floor * self.rng.uniform(1.0, 2.0)
        stats = self.api.stats
        chosen, reason = cadence, None  # slow-downs the governor chooses itself: capped by the user

        target = self.target_per_minute
        last_limit = stats.secondary_limit_at
        cooling = last_limit is not None and now - last_limit < SECONDARY_COOL_DOWN
        if cooling:
            # GitHub: keep making requests while limited and the integration may be banned; so
            # for a while after a secondary limit, the governor polls half as often.
            target /= 2
            chosen = cadence * 2
            reason = (
                f"GitHub answered with a secondary rate limit in the last {SECONDARY_COOL_DOWN / 60:.0f} min"
            )
        if self._tick_cost > 0:
            budget = self._tick_cost * 60.0 / target
            if budget > chosen:
                chosen = budget
                reason = f"{self._tick_cost} requests per poll would pass {target:.0f} a minute" + (
                    " (halved after a secondary rate limit)" if cooling else ""
                )
        remaining, limit, reset = stats.rate_limit_remaining, stats.rate_limit_limit, stats.rate_limit_reset
        floor = max(LOW_REMAINING_MIN, (limit or 0) * LOW_REMAINING_SHARE)
        if remaining is not None and limit and remaining < floor and reset is not None and reset > now:
            spread = (reset - now) / max(remaining, 1)
            if spread > chosen:
                chosen = spread
                reason = (
                    f"{remaining} of {limit} rate-limit units left until "
                    f"{datetime.fromtimestamp(reset, tz=UTC):%H:%M:%S} UTC"
                )
        if chosen > bounds.ceiling and chosen > cadence:
            chosen = max(cadence, bounds.ceiling)
        # What GitHub asks for is not the user's to shorten.
        if stats.poll_interval is not None and stats.poll_interval > chosen:
            chosen = stats.poll_interval
            reason = f"GitHub asks for polls at most every {stats.poll_interval:g}s (x-poll-interval)"
        if stats.hold_until is not None and stats.hold_until - now > chosen:
            chosen = stats.hold_until - now
            reason = "GitHub answered with a secondary rate limit (retry-after)"
        return chosen, reason

    # -- shared reads ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def watch(self, key: Hashable, item: Hashable) -> Iterator[None]:
        """Mark `item` as wanted by a waiter under `key` (e.g. a run id under its repository)."""
        with self._lock:
            items = self._watched.setdefault(key, {})
            items[item] = items.get(item, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                items = self._watched.get(key, {})
                count = items.get(item, 0) - 1
                if count > 0:
                    items[item] = count
                else:
                    items.pop(item, None)
                if not items:
                    self._watched.pop(key, None)
                    self._shared.pop(key, None)

    def watched(self, key: Hashable) -> list[Hashable]:
        """Every item any waiter watches under `key`, in the order they were first watched."""
        with self._lock:
            return list(self._watched.get(key, {}))

    def read(self, key: Hashable, fetch: Callable[[list[Hashable]], T], *, now: float) -> T:
        """One read per key per tick: `fetch(watched items)`, or the answer another waiter just got."""
        with self._lock:
            lock = self._read_locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                shared = self._shared.get(key)
                items = list(self._watched.get(key, {}))
            if shared is not None and shared.at >= now - SHARED_READ_AGE:
                return shared.value  # type: ignore[return-value]  # stored by this same key's fetch
            started = self.api.clock.now()
            value = fetch(items)
            with self._lock:
                if key in self._watched:
                    self._shared[key] = _Shared(started, value)
            return value


_governors: weakref.WeakKeyDictionary[GitHubApi, PollGovernor] = weakref.WeakKeyDictionary()
_governors_lock = threading.Lock()


def governor_for(api: GitHubApi) -> PollGovernor:
    """The one governor of `api` (one `GitHubApi` per token per process)."""
    with _governors_lock:
        governor = _governors.get(api)
        if governor is None:
            governor = _governors[api] = PollGovernor(api, rng=api.rng)
        return governor
