"""When to poll next: exponential backoff with jitter, dense around the expected end.

Fixed-interval polling (what `lewagon/wait-on-check-action` does) either notices completion late
or burns the rate limit. Here:

- every poll is a conditional request (the API layer sends `If-None-Match`), so a poll that finds
  nothing changed is answered 304 and costs no rate limit (GitHub REST best practices);
- without a hint, the interval grows from `first` to `maximum` by `factor`, and falls back to
  `first` whenever something changes (a status change means more changes are near);
- with an expected end (the median duration of the workflow's recent runs), the interval halves
  the remaining distance to it, so polls are sparse early and every `first` seconds around the
  moment completion is likely; once that moment has passed it backs off again.

Jitter (a fraction of each interval, at random) keeps many waiters from polling in lockstep.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class PollSchedule:
    first: float = 5.0
    maximum: float = 60.0
    factor: float = 1.6
    jitter: float = 0.1  # each interval is scaled by a random factor in [1 - jitter, 1 + jitter]
    expected_end: float | None = None  # clock time at which completion is likely
    rng: random.Random = field(default_factory=random.Random)
    _backoff: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._backoff = self.first

    def changed(self) -> None:
        """Something moved: poll densely again."""
        self._backoff = self.first

    def next_interval(self, now: float) -> float:
        """Seconds until the next poll, decided at clock time `now`."""
        interval = self._backoff
        self._backoff = min(self.maximum, self._backoff * self.factor)
        if self.expected_end is not None:
            remaining = self.expected_end - now
            if remaining > 0:
                # Halve the distance to the expected end: sparse early, dense near it. The
                # backoff restarts from `first` once the expected end has passed.
                interval = min(self.maximum, max(self.first, remaining / 2))
                self._backoff = self.first
        jittered = interval * self.rng.uniform(1 - self.jitter, 1 + self.jitter)
        return max(min(self.first, interval), min(self.maximum, jittered))


def expected_duration(durations: Iterable[float]) -> float | None:
    """The median of recent successful durations, or None without history."""
    values = [d for d in durations if d > 0]
    if not values:
        return None
    return statistics.median(values)
