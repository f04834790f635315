"""A write that must not be cut in two: while one is in flight, an interrupt waits for it.

An interrupt (SIGINT, SIGTERM) that lands while the dispatch POST is on the wire abandons it, yet
GitHub may apply it all the same, and the run id its answer carries is then lost: on github.com,
without a correlation input, nothing else tells that run from another one. So the code that
sends the dispatch marks it with `write_in_flight()`, the API layer marks the moments a write is
on the wire with `on_the_wire()`, and the signal handler of the session (`session/signals.py`)
asks `hold_interrupt()` first: the first signal while such a write is on the wire (not while it
waits for its turn to be sent) is held until the write returns (the wire is bounded by its
request timeout), then raised as `KeyboardInterrupt`; a second signal while it is held raises at
once, so that a person or a runner who insists still stops the process promptly.

Only the main thread's writes count: Python runs signal handlers there, and only there can the
held interrupt be raised. Nothing here touches signals, so the engine may use it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_writes = 0  # the main thread's writes in flight (nested ones count once each)
_wire = 0  # the main thread's requests being sent or answered (any write, marked by the API layer)
_held = False  # an interrupt came during one of them and waits for it to return


@contextmanager
def write_in_flight() -> Iterator[None]:
    """Inside: an interrupt the session's handler holds is raised when the block ends (whether the
    write succeeded or failed), after whatever the block recorded of its answer."""
    global _writes, _held
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _writes += 1
    try:
        yield
    finally:
        _writes -= 1
        if _writes == 0 and _held:
            _held = False
            raise KeyboardInterrupt


@contextmanager
def on_the_wire() -> Iterator[None]:
    """Inside: a write request is on the wire (sent, its answer awaited). Raises nothing."""
    global _wire
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _wire += 1
    try:
        yield
    finally:
        _wire -= 1


def hold_interrupt() -> bool:
    """For the signal handler, on the first signal: True when a marked write is on the wire, and
    the interrupt is then held until the write returns; False when it is to be raised now."""
    global _held
    if _writes == 0 or _wire == 0:
        return False
    _held = True
    return True


def release_held() -> bool:
    """For the signal handler, on a later signal: True when an interrupt was being held (it is
    then the handler's to raise at once, and the write's end raises nothing more)."""
    global _held
    was_held, _held = _held, False
    return was_held


def raise_held() -> None:
    """For the API layer, before it pauses to send a refused request again: an interrupt held for
    that request's answer is raised now (the answer was a refusal, naming no run), rather than
    after a wait of up to what GitHub's `retry-after` asks."""
    global _held
    if _held and threading.current_thread() is threading.main_thread():
        _held = False
        raise KeyboardInterrupt
