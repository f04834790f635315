"""Progress in a terminal, drawn in place with Rich. A step (`LiveView`): the jobs of the run with
their state and current step, a progress bar (bytes, rate) per artifact download, and the status
line. A plan (`PlanLiveView`): a table of its nodes with their state, run and elapsed time.

Chosen by the command line when stderr is a terminal (`progress.progress_printer`,
`progress.plan_progress_printer`); never in the action, whose log is not one. Rich is imported
here, at the first event, and nowhere else: a command whose stderr is not a terminal never loads
it, and on a terminal `run` has sent its first request before it is loaded (docs/benchmarks.md,
start-up).

Events that say something happened (dispatched, completed, downloaded, a retry) are printed as
lines above the drawing, as the plain printer prints them but without a timestamp; JOBS, DOWNLOAD
and POLL events only change the drawing. Every text from GitHub (job, step and artifact names, run
titles) goes into a `Text`, never into markup, after `terminal_text`: `[bold]` in a name is shown
as written, and an escape sequence is shown as `\\x1b[...`, not obeyed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from wait_and_dispatch.engine.progress import JobProgress, ProgressEvent, ProgressKind, format_seconds
from wait_and_dispatch.session.progress import PlanProgressPrinter, ProgressPrinter, is_line
from wait_and_dispatch.support.text import terminal_line, terminal_text

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.progress import Progress, TaskID
    from rich.text import Text

    from wait_and_dispatch.plans.executor import PlanEvent

_DRAWN = frozenset({ProgressKind.JOBS, ProgressKind.DOWNLOAD, ProgressKind.POLL})
# How a job's state is drawn: GitHub's job statuses, and the conclusions of a completed job
# (REST "Workflow jobs": `status`, `conclusion`).
_STYLES = {
    "success": "green",
    "failure": "bold red",
    "timed_out": "red",
    "startup_failure": "red",
    "cancelled": "yellow",
    "action_required": "yellow",
    "in_progress": "cyan",
    "skipped": "dim",
    "neutral": "dim",
    "queued": "dim",
    "waiting": "dim",
    "pending": "dim",
    "requested": "dim",
    "waiting for its needs": "dim",
    "started": "cyan",
}


def _console(stream: TextIO, environ: Mapping[str, str], width: int | None, *, record: bool) -> Console:
    """Rich's console on `stream`, a terminal, reading no environment but `environ`; it
    interprets no markup, emoji codes or "highlights" in what it prints."""
    from rich.console import Console

    return Console(
        file=stream,
        force_terminal=True,  # the edge saw a terminal; a redacting wrapper hides it
        no_color=bool(environ.get("NO_COLOR")),  # no-color.org: set and not empty
        width=width,
        markup=False,
        emoji=False,
        highlight=False,
        record=record,
        _environ=environ,
    )


def _live(console: Console, drawing: Callable[[], RenderableType]) -> Live:
    """A drawing in place, started, redrawn by `refresh()` only: no thread, no redirection."""
    from rich.live import Live

    live = Live(
        console=console,
        get_renderable=drawing,
        auto_refresh=False,  # drawn on each event: no thread, and tests see each drawing
        redirect_stdout=False,  # stdout is the result's, and the edge's to write
        redirect_stderr=False,
    )
    live.start()
    return live


def _line(message: str) -> Text:
    from rich.text import Text

    # A whole line, as the plain printer's: escaped once, for the command line's channel (no
    # control character, no leading `::`), never for the runner's too (`%0A` stays `%0A`).
    return Text(terminal_line(message))


def _state(word: str) -> Text:
    from rich.text import Text

    return Text(terminal_text(word), style=_STYLES.get(word, ""))


class LiveView(ProgressPrinter):
    """Progress drawn in place on a terminal (`stream`), with Rich, through `finish()`.

    `environ` is the edge's environment, the only one Rich reads: `NO_COLOR` drops colour,
    `COLUMNS` and `LINES` size the drawing. `width` and `clock` (the download rate's time) are for
    tests and for rendering the picture in the README."""

    draws_job_steps = True  # the jobs table's step column

    def __init__(
        self,
        stream: TextIO,
        environ: Mapping[str, str],
        *,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        record: bool = False,
    ) -> None:
        super().__init__(stream, escape=terminal_line)
        self._environ = environ
        self._width = width
        self._clock = clock
        self._record = record
        self._console: Console | None = None
        self._live: Live | None = None
        self._progress: Progress | None = None
        self._downloads: dict[str, TaskID] = {}
        self._jobs: tuple[JobProgress, ...] = ()
        self._jobs_of = ""
        self._status = ""
        self._finished = False

    @property
    def console(self) -> Console:
        """Rich's console on the stream, made (and Rich imported) at the first use."""
        if self._console is None:
            self._console = _console(self.stream, self._environ, self._width, record=self._record)
        return self._console

    def show(self, event: ProgressEvent) -> None:
        if not self.is_drawn(event):
            if event.kind is ProgressKind.ARTIFACT or event.status == "completed":
                self._status = ""  # the wait is over: "next poll in 2s" would be stale
            self.console.print(self.line(event.message), soft_wrap=True)
            if self._live is not None:
                self._draw()
            return
        if event.kind is ProgressKind.JOBS:
            self._jobs, self._jobs_of = event.jobs, event.subject
        elif event.kind is ProgressKind.DOWNLOAD:
            self._download(event)
        else:
            self._status = event.message
        self._draw()

    def finish(self) -> None:
        """Stop drawing: the last drawing stays on the screen, and the cursor is shown again.
        Lines that come later (a retry of the cancel request) are printed; nothing is drawn."""
        self._finished = True
        if self._live is not None:
            self._live.stop()
            self._live = None

    @staticmethod
    def is_drawn(event: ProgressEvent) -> bool:
        """Whether `event` changes the drawing, rather than being printed as a line above it."""
        return event.kind in _DRAWN

    @staticmethod
    def line(message: str) -> Text:
        """A line printed above the drawing: shown literally, on one line."""
        return _line(message)

    def _draw(self) -> None:
        if self._finished:
            return
        if self._live is None:
            self._live = _live(self.console, self.drawing)
        self._live.refresh()

    def _download(self, event: ProgressEvent) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                auto_refresh=False,
                get_time=self._clock,
            )
        done, total = event.done_bytes or 0, event.total_bytes
        task = self._downloads.get(event.subject)
        if task is None:
            task = self._progress.add_task(terminal_text(event.subject), total=total)
            self._downloads[event.subject] = task
        elif done < self._progress.tasks[task].completed:  # a cut stream, fetched again from 0
            self._progress.reset(task, total=total)
        self._progress.update(task, completed=done, total=total)

    def drawing(self) -> RenderableType:
        """What is drawn: the jobs, the downloads, the status line (each only once it exists)."""
        from rich.console import Group
        from rich.text import Text

        parts: list[RenderableType] = []
        if self._jobs:
            parts.append(self._jobs_table())
        if self._progress is not None:
            parts.append(self._progress.get_renderable())
        if self._status:
            parts.append(Text(terminal_text(self._status), style="dim", no_wrap=True, overflow="ellipsis"))
        return Group(*parts)

    def _jobs_table(self) -> RenderableType:
        from rich.table import Table
        from rich.text import Text

        title = f"jobs of {self._jobs_of}" if self._jobs_of else "jobs"
        table = Table(
            title=Text(terminal_text(title), style="bold"),
            title_justify="left",
            box=None,
            show_header=False,
            pad_edge=False,
            padding=(0, 2, 0, 0),
        )
        table.add_column("state", no_wrap=True)
        table.add_column("job", no_wrap=True, overflow="ellipsis", ratio=1)
        table.add_column("step", no_wrap=True, overflow="ellipsis", ratio=2)
        for job in self._jobs:
            state = job.conclusion if job.status == "completed" and job.conclusion else job.status
            step = job.current_step or ""
            table.add_row(
                _state(state),
                Text(terminal_text(job.name)),
                Text(terminal_text(step), style="dim" if job.status == "completed" else ""),
            )
        return table


class PlanLiveView(PlanProgressPrinter):
    """A plan's progress drawn in place on a terminal: a table of its nodes (state, run, elapsed)
    under the lines that say what happened, node by node.

    Nodes report from their threads; everything happens under the printer's lock. The plan's
    nodes are known from the start (`nodes`, in the plan's order), so the table shows those still
    waiting for their needs too. `clock` times each node from its start to its end."""

    def __init__(
        self,
        stream: TextIO,
        environ: Mapping[str, str],
        nodes: Sequence[str],
        *,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(stream, escape=terminal_line)
        self._environ = environ
        self._width = width
        self._clock = clock
        self._console: Console | None = None
        self._live: Live | None = None
        self._nodes = {name: _Node() for name in nodes}
        self._finished = False

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = _console(self.stream, self._environ, self._width, record=False)
        return self._console

    def show(self, event: PlanEvent) -> None:
        from wait_and_dispatch.plans.executor import PlanEventKind

        node = self._nodes.setdefault(event.node, _Node())
        inner = event.progress
        if event.kind is PlanEventKind.STARTED:
            node.state, node.started = "started", self._clock()
        elif event.outcome is not None:
            node.state = event.outcome.result.value
            node.ended = self._clock()
        elif inner is not None:
            if inner.run_id is not None:
                node.run = f"run {inner.run_id}"
            elif inner.subject.startswith("run ") and not node.run:
                node.run = inner.subject
            if inner.status and inner.kind in (ProgressKind.STATUS, ProgressKind.POLL):
                node.state = inner.status
        if inner is None or (is_line(inner) and inner.kind is not ProgressKind.POLL):
            self.write_line(event.node, event.message)
        if self._finished:
            return
        if self._live is None:
            self._live = _live(self.console, self.drawing)
        self._live.refresh()

    def write_line(self, subject: str, message: str) -> None:
        self.console.print(_line(f"[{subject}] {message}"), soft_wrap=True)

    def stop(self) -> None:
        self._finished = True  # node threads left behind may still report: nothing is drawn again
        if self._live is not None:
            self._live.stop()
            self._live = None

    def drawing(self) -> RenderableType:
        """The table of the plan's nodes."""
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, padding=(0, 2, 0, 0))
        table.add_column("node", no_wrap=True, overflow="ellipsis", ratio=2)
        table.add_column("state", no_wrap=True)
        table.add_column("run", no_wrap=True)
        table.add_column("elapsed", no_wrap=True, justify="right")
        now = self._clock()
        for name, node in self._nodes.items():
            ended = now if node.ended is None else node.ended
            elapsed = "" if node.started is None else format_seconds(ended - node.started)
            table.add_row(
                Text(terminal_text(name)), _state(node.state), Text(terminal_text(node.run)), Text(elapsed)
            )
        return table


class _Node:
    """What the table shows of one node."""

    def __init__(self) -> None:
        self.state = "waiting for its needs"
        self.run = ""
        self.started: float | None = None
        self.ended: float | None = None
