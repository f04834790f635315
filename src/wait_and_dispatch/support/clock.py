"""Time, injectable.

Everything that reads the time or sleeps (the API layer's retries, the engine's polling, the
emulator's run timelines) takes a `Clock`, so tests run a 20-minute workflow in milliseconds by
sharing one `ManualClock` between the client and the emulator, and the demo runs a realistic
pipeline in seconds with a `ScaledClock`. Tests of concurrent code (plans) share a `VirtualClock`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """Wall-clock seconds since the epoch, and a way to let time pass."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to: `sleep` and `advance` move it forward at once.

    Shared by a test's client and emulator, it makes every wait instantaneous while the
    emulator still sees the time pass. Thread-safe; concurrent sleepers each advance it.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class ScaledClock:
    """Real time running `factor` times faster: the demo's ten-minute pipeline takes seconds."""

    def __init__(self, factor: float, start: float | None = None) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self.factor = factor
        self._real_origin = time.monotonic()
        self._origin = time.time() if start is None else start

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._real_origin) * self.factor

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.factor)


class VirtualClock:
    """Simulated time for concurrent code: it jumps ahead as soon as every busy thread sleeps.

    A plan runs several nodes at once, each polling its own run. A `ManualClock` would add up
    their sleeps (two 10-minute waits side by side would take 20 minutes); here they overlap as
    they would in real time, and a test still takes milliseconds.

    Threads registered with `hold()` are busy while they are awake: time stands still while any
    of them runs (an HTTP request, a computation), and moves only once all of them sleep, to the
    earliest wake-up, waking those sleepers. A hold is taken *before* the thread it is for starts
    and released when that thread ends, so that there is no moment between one thread finishing
    and the next one starting in which time could jump. A thread that sleeps without a hold is
    busy only during its own sleep: alone, it behaves as with a `ManualClock`.

    `now()` never waits for time to pass. Everything is guarded by one condition variable.

    One limit: a held thread blocked on a lock that a sleeper holds looks busy, and time would
    never move again (a deadlock). So if nothing at all happens on the clock for `stall_after`
    real seconds while threads sleep, time moves on anyway; `stalls` counts how often, and tests
    that mean to be deterministic assert that it stays 0.
    """

    def __init__(self, start: float = 1_767_225_600.0, *, stall_after: float = 0.5) -> None:
        self._now = start
        self._condition = threading.Condition()
        # Held threads, by Thread object so that a hold can be taken before its thread starts,
        # with how many holds each has.
        self._holds: dict[threading.Thread, int] = {}
        # One entry per sleep in progress: its wake-up time and thread. Removed when woken.
        self._sleepers: dict[object, tuple[float, threading.Thread]] = {}
        self._stall_after = stall_after
        self._activity = time.monotonic()  # real time of the last change, to tell a stall
        self.stalls = 0
        self.slept: list[float] = []

    def now(self) -> float:
        with self._condition:
            # Reading the time is a sign of life (the emulator reads it on every request): a held
            # thread busy with many requests is not mistaken for a stalled one.
            self._activity = time.monotonic()
            return self._now

    def sleep(self, seconds: float) -> None:
        token = object()
        with self._condition:
            self.slept.append(seconds)
            if seconds <= 0:
                return
            self._sleepers[token] = (self._now + seconds, threading.current_thread())
            self._changed()
            while token in self._sleepers:
                self._condition.wait(timeout=self._stall_after)
                if token in self._sleepers and not self._jump_if_idle() and self._stalled():
                    self.stalls += 1
                    self._jump()

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (as with a `ManualClock`), waking the sleepers it passes."""
        with self._condition:
            self._now += seconds
            self._wake_due()
            self._activity = time.monotonic()

    def hold(self, thread: threading.Thread | None = None) -> Callable[[], None]:
        """Keep time still while `thread` (default: the calling thread) is awake, until released.

        Returns the release function; calling it again does nothing.
        """
        holder = thread or threading.current_thread()
        with self._condition:
            self._holds[holder] = self._holds.get(holder, 0) + 1
            self._activity = time.monotonic()
        released = False

        def release() -> None:
            nonlocal released
            with self._condition:
                if released:
                    return
                released = True
                count = self._holds.get(holder, 0) - 1
                if count > 0:
                    self._holds[holder] = count
                else:
                    self._holds.pop(holder, None)
                self._changed()

        return release

    # -- internals: the condition is held --------------------------------------------------------

    def _changed(self) -> None:
        self._activity = time.monotonic()
        self._jump_if_idle()

    def _stalled(self) -> bool:
        return time.monotonic() - self._activity >= self._stall_after

    def _jump_if_idle(self) -> bool:
        """Jump to the earliest wake-up unless a held thread is awake (then return False)."""
        for thread in list(self._holds):
            if thread.ident is not None and not thread.is_alive():
                del self._holds[thread]  # it ended without releasing: it cannot be busy any more
        sleeping = {thread for _, thread in self._sleepers.values()}
        if any(thread not in sleeping for thread in self._holds):
            return False
        self._jump()
        return True

    def _jump(self) -> None:
        if not self._sleepers:
            return
        self._now = max(self._now, min(wake for wake, _ in self._sleepers.values()))
        self._wake_due()
        self._activity = time.monotonic()

    def _wake_due(self) -> None:
        # Sleepers are marked awake here, not when they next get to run: a held one is busy from
        # this moment, so time cannot jump again before it has acted on this wake-up.
        due = [token for token, (wake, _) in self._sleepers.items() if wake <= self._now]
        for token in due:
            del self._sleepers[token]
        if due:
            self._condition.notify_all()


def hold(clock: Clock, thread: threading.Thread | None = None) -> Callable[[], None]:
    """Keep a `VirtualClock` still while `thread` (default: the caller) is awake; see
    `VirtualClock.hold`. Other clocks need nothing: the release function does nothing."""
    if isinstance(clock, VirtualClock):
        return clock.hold(thread)
    return _release_nothing


def _release_nothing() -> None:
    return None
