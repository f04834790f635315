"""Progress for a person: a live status line in a terminal, plain timestamped lines elsewhere.

An edge module: it prints. In a terminal the line that says "still waiting, next poll in 20s"
is rewritten in place; in CI logs (not a TTY) every line is plain text without control
characters, and the "still waiting" lines are thinned to one a minute. Every line goes through
`support.text.escape_line`: run titles and names come from GitHub and must not become commands.
"""

from __future__ import annotations

import io
import threading
import time
from typing import TYPE_CHECKING, TextIO

from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
from wait_and_dispatch.github_api import ApiNotice, RetryEvent
from wait_and_dispatch.support.text import escape_line

if TYPE_CHECKING:
    from wait_and_dispatch.plans.executor import PlanEvent

_POLL_LINE_EVERY = 60.0  # seconds between "still waiting" lines in logs


def progress_stream(stderr: TextIO, *, quiet: bool) -> TextIO:
    """Where the command line's progress lines go: stderr, or nowhere with `--quiet`."""
    return _Discard() if quiet else stderr


class _Discard(io.StringIO):
    """A stream that keeps nothing."""

    def write(self, text: str) -> int:
        return len(text)

    def isatty(self) -> bool:
        return False


class ProgressPrinter:
    def __init__(self, stream: TextIO, *, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self._line_open = False
        self._last_poll_line: float | None = None
        self.dispatched: list[int] = []  # runs we started: cancelled if we are interrupted

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind is ProgressKind.DISPATCHED and event.run_id is not None:
            self.dispatched.append(event.run_id)
        if self.live:
            self._live(event)
        else:
            self._plain(event)

    def finish(self) -> None:
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False

    def _live(self, event: ProgressEvent) -> None:
        if event.kind is ProgressKind.POLL:
            self.stream.write("\r\x1b[2K" + escape_line(event.message))
            self.stream.flush()
            self._line_open = True
            return
        if self._line_open:
            self.stream.write("\r\x1b[2K")
            self._line_open = False
        self.stream.write(escape_line(event.message) + "\n")
        self.stream.flush()

    def _plain(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if event.kind is ProgressKind.POLL:
            if self._last_poll_line is not None and now - self._last_poll_line < _POLL_LINE_EVERY:
                return
            self._last_poll_line = now
        stamp = time.strftime("%H:%M:%S")
        self.stream.write(escape_line(f"{stamp} {event.message}") + "\n")
        self.stream.flush()


def notice_progress(notice: ApiNotice) -> ProgressEvent:
    """What the API layer learnt (an older API version spoken, a deprecated endpoint, a moved
    repository): a line under `--debug`, said once."""
    return ProgressEvent(ProgressKind.NOTICE, f"debug: {notice.message}")


def retry_progress(event: RetryEvent) -> ProgressEvent:
    """The API layer is about to wait out an error or a rate limit: a line for the person waiting."""
    message = f"{event.method} {event.path}: {event.reason}, retrying in {event.wait:.0f}s"
    return ProgressEvent(ProgressKind.RETRY, message)


class PlanProgressPrinter:
    """Progress of a plan: one plain line per event, prefixed with the node it is about.

    Nodes run in threads, so lines are written under a lock and never rewritten in place (a live
    line cannot belong to several nodes at once); "still waiting" lines are thinned per node.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._last_poll_line: dict[str, float] = {}
        self._closed = False

    def close(self) -> None:
        """Print nothing more. After a cancel, node threads may still report while the process
        exits; a daemon thread writing to stdout during interpreter shutdown aborts it."""
        with self._lock:  # waits for a line being written
            self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def line(self, subject: str, message: str) -> None:
        with self._lock:
            self._write(subject, message)

    def __call__(self, event: PlanEvent) -> None:
        inner = event.progress
        now = time.monotonic()
        with self._lock:
            if inner is not None and inner.kind is ProgressKind.POLL:
                last = self._last_poll_line.get(event.node)
                if last is not None and now - last < _POLL_LINE_EVERY:
                    return
                self._last_poll_line[event.node] = now
            self._write(event.node, event.message)

    def _write(self, subject: str, message: str) -> None:
        """One line (the lock is held), unless closed."""
        if self._closed:
            return
        self.stream.write(escape_line(f"{time.strftime('%H:%M:%S')} [{subject}] {message}") + "\n")
        self.stream.flush()
