"""Retries: the one place that retries a request, and the policy that says how hard it tries.

Waits come from the answer when GitHub gives one (`retry-after`, `x-ratelimit-reset`), else
exponential backoff with jitter (REST "Best practices for using the REST API" and "Rate limits
for the REST API": at least one minute after a secondary limit without `retry-after`, then
exponentially longer while it persists). Only requests that are safe to repeat are retried
after a 5xx or a connection error: a write that may have reached GitHub is never re-sent.

The retry loop talks to the rest of the layer through `RetryHooks` only: its clock, policy and
random source, and two calls (hold every request for a while; report a retry).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from wait_and_dispatch.support.clock import Clock
from wait_and_dispatch.support.errors import (
    ArtifactDownloadError,
    DeadlineExceededError,
    RateLimitExceededError,
)
from wait_and_dispatch.support.interrupts import raise_held

log = logging.getLogger(__name__)

T = TypeVar("T")


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


class RetryableError(Exception):
    """An answer worth waiting out: raised inside the retry loop only, never to callers."""

    def __init__(self, reason: str, final: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.reason = reason
        self.final = final  # what the caller gets if retrying ends without success
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryHooks:
    """What the retry loop needs of the rest of the API layer, and nothing more."""

    clock: Clock
    policy: RetryPolicy
    rng: random.Random  # backoff jitter
    # Called with the wait after a secondary limit: GitHub asks for no request of this token
    # until it has passed, not only for the one it refused.
    hold_requests: Callable[[float], None]
    # Called before each wait: the layer counts it and tells its caller (progress lines).
    on_retry: Callable[[RetryEvent], None]


class Retrier:
    """The retry loop: the only place that retries, on the API layer's clock.

    Waits come from the answer when GitHub gives one (retry-after, x-ratelimit-reset), else
    exponential backoff with jitter. A deadline (the caller's, or the `deadline_scope` the
    request runs in) bounds every wait: a wait that would end past it is not started, and the
    last error is raised instead (a primary limit that resets after the deadline fails at once,
    with the reset time in the message). Under a deadline, a read is retried until the deadline
    rather than `attempts` times, with waits that stop growing at `max_backoff_in_wait`: an
    outage shorter than the wait does not end the wait.

    The loop is tenacity's (`Retrying` with this class's stop, wait and before-sleep strategies and
    the API layer's clock as its sleep), so the policy is tested on a fake clock. tenacity is
    imported only once a request has failed: the first request of a run goes out without the
    43 ms it takes to import.

    `method` and `path` name the request in events and messages (`path` as messages show it).
    """

    def __init__(
        self, hooks: RetryHooks, method: str, path: str, *, safe: bool, deadline: float | None
    ) -> None:
        self.hooks = hooks
        self.method = method
        self.path = path
        self.safe = safe
        self.deadline = deadline
        self.rng = hooks.rng
        self._secondary = 0  # secondary-limit refusals so far: their waits grow
        self._wait_next = 0.0
        self._giving_up: BaseException | None = None

    def call(self, attempt: Callable[[], T]) -> T:
        """`attempt()` until it succeeds, raises an error that is not transient, or retrying ends."""
        try:
            return attempt()
        except RetryableError as transient:
            first = transient
        import tenacity  # only a failed request needs the retry loop

        self._decide(first, tries=1)
        if self._giving_up is not None:
            raise self._giving_up
        self._before_sleep(first, 1, self._wait_next)
        self.hooks.clock.sleep(self._wait_next)
        retrying = tenacity.Retrying(
            sleep=self.hooks.clock.sleep,
            retry=tenacity.retry_if_exception_type(RetryableError),
            wait=self._wait,
            stop=lambda state: self._giving_up is not None,
            before_sleep=self._before_sleep_state,
            retry_error_callback=self._raise_final,
        )
        result: T = retrying(attempt)
        return result

    @staticmethod
    def _transient(state: Any) -> RetryableError:
        error = state.outcome.exception() if state.outcome is not None else None
        if not isinstance(error, RetryableError):  # retry_if_exception_type retries nothing else
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

    def _decide(self, transient: RetryableError, *, tries: int) -> None:
        """After a failure: the wait before the next try, or the error to give up with."""
        policy = self.hooks.policy
        if transient.reason == "secondary-rate-limit":
            self._secondary += 1
        wait = self._choose_wait(transient, tries, self._secondary)
        if transient.reason == "secondary-rate-limit":
            self.hooks.hold_requests(wait)
        self._wait_next = wait
        if self._past_deadline(wait):
            self._giving_up = self._final_error(transient, tries, deadline_hit=True)
        elif self._out_of_tries(transient, tries, wait, policy):
            self._giving_up = self._final_error(transient, tries, deadline_hit=False)

    def _choose_wait(self, transient: RetryableError, tries: int, secondary: int) -> float:
        policy = self.hooks.policy
        if transient.reason == "primary-rate-limit":
            reset_at = getattr(transient.final, "reset_at", None)
            base = (
                (reset_at - self.hooks.clock.now() + 1.0)
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
        return self.deadline is not None and self.hooks.clock.now() + wait > self.deadline

    def _out_of_tries(self, transient: RetryableError, tries: int, wait: float, policy: RetryPolicy) -> bool:
        if transient.reason == "primary-rate-limit":
            limit = policy.max_rate_limit_wait
            if self.deadline is None and limit is not None and wait > limit:
                return True
        if self.deadline is not None and self.safe and transient.reason in ("server-error", "connection"):
            return False  # a read under a deadline is retried until the deadline
        return tries >= policy.attempts

    def _before_sleep(self, transient: RetryableError, tries: int, wait: float) -> None:
        raise_held()  # an interrupt held for this answer does not wait for the pause too
        event = RetryEvent(
            reason=transient.reason,
            wait=wait,
            attempt=tries,
            method=self.method,
            path=self.path,
            detail=str(transient.final),
        )
        log.info("retrying in %.1fs (%s): %s", wait, transient.reason, transient.final)
        self.hooks.on_retry(event)

    def _final_error(self, transient: RetryableError, tries: int, *, deadline_hit: bool) -> BaseException:
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
