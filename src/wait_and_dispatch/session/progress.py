"""Progress for a person: plain timestamped lines, or a live view in a terminal.

An edge module: it prints. In CI logs (not a TTY) every line is plain text without control
characters, and the "still waiting" lines are thinned to one a minute. In a terminal the CLI
draws a live view instead (`session/live_view.py`, which alone imports Rich); `progress_printer`
chooses. Run titles and names come from GitHub: every line goes through the escaping of the
channel it is printed to, which the edge hands in (`support.text.escape_line` for the action's
log, `terminal_line` for the command line's terminal or log file), so it never becomes a workflow
command, nor moves a terminal's cursor.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
from wait_and_dispatch.github_api import ApiNotice, RetryEvent
from wait_and_dispatch.support.text import terminal_line

if TYPE_CHECKING:
    from wait_and_dispatch.plans.executor import PlanEvent

_POLL_LINE_EVERY = 60.0  # seconds between "still waiting" lines in logs
# State for a display to draw, not something that happened: the jobs of a run (each poll may bring
# them) and the bytes of a download (several a second). A log gets no line for them.
_DISPLAY_ONLY = frozenset({ProgressKind.JOBS, ProgressKind.DOWNLOAD})

Escape = Callable[[str], str]  # a line as its channel must receive it (`support.text`)


def progress_stream(stderr: TextIO, *, quiet: bool) -> TextIO:
    """Where the command line's progress lines go: stderr, or nowhere with `--quiet`."""
    return _Discard() if quiet else stderr


def is_line(event: ProgressEvent) -> bool:
    """Whether a log shows `event` as a line (a live view draws every event)."""
    return event.kind not in _DISPLAY_ONLY


def is_live_terminal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether progress on `stream` is drawn in place: a TTY that can move its cursor (not
    `TERM=dumb`, which gets the plain lines a log gets)."""
    return stream.isatty() and environ.get("TERM", "") != "dumb"


def progress_printer(stderr: TextIO, environ: Mapping[str, str], *, quiet: bool) -> ProgressPrinter:
    """The command line's progress for a step: a live view on a terminal (Rich is imported only
    then), plain lines otherwise, nothing with `--quiet`."""
    stream = progress_stream(stderr, quiet=quiet)
    if is_live_terminal(stream, environ):
        from wait_and_dispatch.session.live_view import LiveView

        return LiveView(stream, environ)
    return ProgressPrinter(stream, escape=terminal_line)


def plan_progress_printer(
    stderr: TextIO, environ: Mapping[str, str], nodes: Sequence[str], *, quiet: bool
) -> PlanProgressPrinter:
    """The command line's progress for a plan: a live table of its `nodes` on a terminal, plain
    lines otherwise, nothing with `--quiet`."""
    stream = progress_stream(stderr, quiet=quiet)
    if is_live_terminal(stream, environ):
        from wait_and_dispatch.session.live_view import PlanLiveView

        return PlanLiveView(stream, environ, nodes)
    return PlanProgressPrinter(stream, escape=terminal_line)


class _Discard(io.StringIO):
    """A stream that keeps nothing."""

    def write(self, text: str) -> int:
        return len(text)

    def isatty(self) -> bool:
        return False


class ProgressPrinter:
    """A step's progress as plain lines, timestamped, "still waiting" thinned to one a minute,
    each through `escape` (the channel's escaping).

    Also keeps the ids of the runs dispatched (cancelled if the step is interrupted)."""

    # Whether this printer draws each job's current step: then the engine reads the jobs with
    # their steps while it waits (`WaitOptions.job_steps`: a counted request each time a step
    # starts or ends). Lines show no JOBS event, so a log leaves the engine on its cheap watch.
    draws_job_steps = False

    def __init__(self, stream: TextIO, *, escape: Escape) -> None:
        self.stream = stream
        self.escape = escape
        self._last_poll_line: float | None = None
        self.dispatched: list[int] = []  # runs we started: cancelled if we are interrupted

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind is ProgressKind.DISPATCHED and event.run_id is not None:
            self.dispatched.append(event.run_id)
        self.show(event)

    def finish(self) -> None:
        """The step is over (or interrupted): a live view stops drawing; lines need nothing."""

    def show(self, event: ProgressEvent) -> None:
        if not is_line(event):
            return
        now = time.monotonic()
        if event.kind is ProgressKind.POLL:
            if self._last_poll_line is not None and now - self._last_poll_line < _POLL_LINE_EVERY:
                return
            self._last_poll_line = now
        stamp = time.strftime("%H:%M:%S")
        self.stream.write(self.escape(f"{stamp} {event.message}") + "\n")
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
    line cannot belong to several nodes at once); "still waiting" lines are thinned per node. In
    a terminal the CLI draws a table of the nodes instead (`live_view.PlanLiveView`). Each line
    goes through `escape` (the channel's escaping).
    """

    def __init__(self, stream: TextIO, *, escape: Escape) -> None:
        self.stream = stream
        self.escape = escape
        self._lock = threading.Lock()
        self._last_poll_line: dict[str, float] = {}
        self._closed = False

    def close(self) -> None:
        """Print nothing more. After a cancel, node threads may still report while the process
        exits; a daemon thread writing to stdout during interpreter shutdown aborts it."""
        with self._lock:  # waits for a line being written
            self._closed = True
            self.stop()

    def finish(self) -> None:
        """The plan is over (or interrupted): a live view stops drawing; lines need nothing."""
        with self._lock:
            self.stop()

    @property
    def closed(self) -> bool:
        return self._closed

    def line(self, subject: str, message: str) -> None:
        with self._lock:
            if not self._closed:
                self.write_line(subject, message)

    def __call__(self, event: PlanEvent) -> None:
        with self._lock:
            if not self._closed:
                self.show(event)

    def show(self, event: PlanEvent) -> None:
        """One event (the lock is held, and the printer is open)."""
        inner = event.progress
        if inner is not None and not is_line(inner):
            return
        if inner is not None and inner.kind is ProgressKind.POLL:
            now = time.monotonic()
            last = self._last_poll_line.get(event.node)
            if last is not None and now - last < _POLL_LINE_EVERY:
                return
            self._last_poll_line[event.node] = now
        self.write_line(event.node, event.message)

    def write_line(self, subject: str, message: str) -> None:
        """One line about `subject` (the lock is held, and the printer is open)."""
        self.stream.write(self.escape(f"{time.strftime('%H:%M:%S')} [{subject}] {message}") + "\n")
        self.stream.flush()

    def stop(self) -> None:
        """Stop drawing (the lock is held): nothing to do for lines."""
