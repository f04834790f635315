"""When to poll next: exponential backoff with jitter, dense around the expected end.

Fixed-interval polling (what `lewagon/wait-on-check-action` does) either notices completion late
or burns the rate limit. Here:

- every poll is a conditional request (the API layer sends `If-None-Match`), so a poll that finds
  nothing changed is answered 304 and costs no rate limit (GitHub REST best practices);
- without a hint, the interval grows from `first` to `maximum` by `factor`, and falls back to
  `first` whenever something changes (a status change means more changes are near);
- with an expected end (the median duration of the workflow's recent runs) and its spread (how
  far recent runs strayed from the median), polls halve the distance to the start of the window
  in which completion is likely, come every `first` seconds inside that window, and back off
  again once it has passed.

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
    spread: float = 0.0  # completion is likely within expected_end +- spread
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
            window_start = self.expected_end - self.spread
            window_end = self.expected_end + self.spread
            if now < window_start:
                # Halve the distance to the window: sparse early, never overshooting it.
                interval = min(self.maximum, max(self.first, (window_start - now) / 2))
                self._backoff = self.first
            elif now < window_end:
                interval = self.first  # completion is likely now: poll densely (304s are free)
                self._backoff = self.first
        jittered = interval * self.rng.uniform(1 - self.jitter, 1 + self.jitter)
        return max(min(self.first, interval), min(self.maximum, jittered))


def expected_duration(durations: Iterable[float]) -> tuple[float, float] | None:
    """The median of recent successful durations and how far they strayed from it, or None.

    The spread is the largest distance from the median, at least 10 s and at most a quarter of
    the median, so one odd run does not make the whole wait dense.
    """
    values = [d for d in durations if d > 0]
    if not values:
        return None
    median = statistics.median(values)
    spread = max(abs(d - median) for d in values)
    return median, min(max(spread, 10.0), median / 4)
