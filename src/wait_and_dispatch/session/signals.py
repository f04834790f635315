"""SIGTERM and SIGINT mean the same to both edges: stop, cancel what we dispatched, exit 130.

The runner stops a cancelled step with SIGINT, then SIGTERM 7.5 s later (actions/runner
`ProcessInvoker.cs`; docs/github-behaviour.md#the-runner-contract); `kill`, `timeout`, systemd and container
runtimes send SIGTERM; a terminal sends SIGINT. Either one becomes a `KeyboardInterrupt` in the
main thread, which each edge turns into cancel-on-cancel and exit code 130, so that a stopped
step leaves no dispatched run going.
The first signal interrupts; the ones that follow while the edge cancels its runs are ignored, so
the runner's SIGTERM cannot cut short the cancel requests its SIGINT started. A first signal that
comes while a dispatch is on the wire (`support/interrupts.py`) is held until its answer, which
may name the run it started, is in; a second one during that wait interrupts at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from wait_and_dispatch.support import interrupts

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_installed = False  # the main thread's handlers are ours


@contextmanager
def interrupt_on_termination() -> Iterator[None]:
    """While inside: SIGTERM or SIGINT raises `KeyboardInterrupt` once; later ones are ignored.
    Outside the main thread (where Python cannot install handlers) it does nothing, and so does
    a block inside another: the outer one's "once" holds for both, so a signal that follows the
    first cannot interrupt what the outer block still does (the action revokes its App token
    there, after the inner block has cancelled the runs)."""
    global _installed
    if threading.current_thread() is not threading.main_thread() or _installed:
        yield
        return
    interrupted = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted:
            if interrupts.release_held():  # insisting while a dispatch's answer is awaited
                raise KeyboardInterrupt
            return  # already stopping: let the cancel requests finish
        interrupted = True
        if interrupts.hold_interrupt():
            return  # raised when the dispatch in flight returns, its run then known
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in _SIGNALS}
    _installed = True
    try:
        yield
    finally:
        _installed = False
        for number, handler in previous.items():
            signal.signal(number, handler)
