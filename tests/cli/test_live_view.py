"""The live view in a terminal: the jobs of the run with their state and current step, a progress
bar for downloads and the status line, drawn with Rich in place on a TTY; plain lines (and no Rich
at all) anywhere else.

Drawings are read back from a recording Rich console; the command-line tests run `main` with a
stderr that says it is a terminal, against the emulator in real time (runs of seconds)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.edges.test_action import fast_scenario
from tests.support.hostile import TERMINAL_CONTROLS, with_names_hostile_to_a_terminal
from tests.support.small_plan import small_scenario, write_plan
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine.progress import JobProgress, ProgressEvent, ProgressKind
from wait_and_dispatch.plans.executor import PlanEvent, PlanEventKind
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult
from wait_and_dispatch.session.live_view import LiveView, PlanLiveView
from wait_and_dispatch.session.progress import (
    PlanProgressPrinter,
    ProgressPrinter,
    plan_progress_printer,
    progress_printer,
)
from wait_and_dispatch.support.text import terminal_line

FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]
MB = 1_000_000
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[0-9;]+)m")  # a foreground colour


class Terminal(io.StringIO):
    """A stream that says it is a terminal, and keeps what was written to it."""

    def isatty(self) -> bool:
        return True


def jobs_event(*jobs: JobProgress, run: str = "run 42") -> ProgressEvent:
    return ProgressEvent(ProgressKind.JOBS, f"{len(jobs)} jobs", run, jobs=jobs)


def download(done: int, total: int, name: str = "artifact report of run 42") -> ProgressEvent:
    return ProgressEvent(
        ProgressKind.DOWNLOAD,
        f"{name}: {done:,} of {total:,} bytes",
        name,
        done_bytes=done,
        total_bytes=total,
    )


def drawn(view: LiveView | PlanLiveView, width: int = 100) -> str:
    """The view's drawing as text, as a terminal `width` columns wide shows it."""
    from rich.console import Console

    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True)
    console.print(view.drawing())
    return console.export_text()


@pytest.fixture
def seconds() -> list[float]:
    return [0.0]


@pytest.fixture
def view(seconds: list[float]) -> LiveView:
    return LiveView(Terminal(), {}, width=100, clock=lambda: seconds[0])


# -- what is drawn ---------------------------------------------------------------------------------


def test_each_job_is_drawn_with_its_state_and_current_step(view: LiveView) -> None:
    view(
        jobs_event(
            JobProgress("build", "completed", "success", "Upload artifact"),
            JobProgress("test (3.12)", "in_progress", None, "Run pytest"),
            JobProgress("lint", "queued"),
        )
    )

    lines = drawn(view).splitlines()

    assert lines[0].strip() == "jobs of run 42"
    assert lines[1].split() == ["success", "build", "Upload", "artifact"]
    assert lines[2].split() == ["in_progress", "test", "(3.12)", "Run", "pytest"]
    assert lines[3].split() == ["queued", "lint"]


def test_the_jobs_are_redrawn_in_place_as_they_change(view: LiveView) -> None:
    view(jobs_event(JobProgress("test", "in_progress", None, "Run pytest")))
    view(jobs_event(JobProgress("test", "completed", "failure", "Run pytest")))
    view.finish()

    written = view.stream.getvalue()  # type: ignore[attr-defined]

    assert written.startswith(HIDE_CURSOR) and written.rstrip("\n").endswith(SHOW_CURSOR)
    assert "\x1b[1A\x1b[2K" in written, "the second drawing moves up over the first"
    assert drawn(view).splitlines()[1].split() == ["failure", "test", "Run", "pytest"]


def test_a_download_is_a_bar_with_bytes_and_rate(view: LiveView, seconds: list[float]) -> None:
    for done in (0, MB, 2 * MB):
        view(download(done, 5 * MB))
        seconds[0] += 1

    bar = drawn(view).splitlines()[0]

    assert bar.startswith("artifact report of run 42")
    assert "2.0/5.0 MB" in bar and "1.0 MB/s" in bar


def test_a_download_fetched_again_after_a_cut_starts_its_bar_again(
    view: LiveView, seconds: list[float]
) -> None:
    view(download(3 * MB, 5 * MB))
    seconds[0] += 1
    view(download(MB, 5 * MB))  # the stream was cut; the retry counts from 0

    assert "1.0/5.0 MB" in drawn(view)


def test_the_status_line_is_drawn_below_and_gone_once_the_wait_is_over(view: LiveView) -> None:
    view(jobs_event(JobProgress("test", "in_progress", None, "Run pytest")))
    view(ProgressEvent(ProgressKind.POLL, "run 42 in_progress, 1m20s elapsed; next poll in 2s"))
    assert drawn(view).splitlines()[-1] == "run 42 in_progress, 1m20s elapsed; next poll in 2s"

    view(ProgressEvent(ProgressKind.STATUS, "run 42 completed: success", status="completed"))

    assert "next poll" not in drawn(view)


def test_other_events_are_lines_printed_above_the_drawing(view: LiveView) -> None:
    view(ProgressEvent(ProgressKind.DISPATCHED, "dispatched run 42", run_id=42))
    view(jobs_event(JobProgress("test", "in_progress", None, "Run pytest")))
    view(ProgressEvent(ProgressKind.RETRY, "GET /x: 502, retrying in 2s"))
    view.finish()

    written = view.stream.getvalue()  # type: ignore[attr-defined]

    assert view.dispatched == [42], "it keeps the runs dispatched, as the plain printer does"
    assert written.index("dispatched run 42") < written.index("jobs of run 42")
    assert written.index("GET /x: 502, retrying in 2s") < written.rindex("jobs of run 42")


# -- text from GitHub ----------------------------------------------------------------------------------

HOSTILE = "[bold red]x[/bold red] \x1b[31mred\x1b[0m \x1b]0;pwned\x07 a\rb\nc \u202eevil"
SHOWN = "[bold red]x[/bold red] \\x1b[31mred\\x1b[0m \\x1b]0;pwned\\x07 a\\rb\\nc \\u202eevil"


def test_names_from_github_are_shown_literally_never_as_markup_or_escape_codes(view: LiveView) -> None:
    view(ProgressEvent(ProgressKind.FOUND, f"found run 42 ({HOSTILE})"))
    view(jobs_event(JobProgress(HOSTILE, "in_progress", None, HOSTILE), run=HOSTILE))
    view(download(MB, 5 * MB, name=HOSTILE))
    view(ProgressEvent(ProgressKind.POLL, HOSTILE))
    view.finish()

    written = view.stream.getvalue()  # type: ignore[attr-defined]
    text = drawn(view, width=400)

    assert text.count(SHOWN) == 5, "the title, the job, its step, the download and the status line"
    assert f"jobs of {SHOWN}" in text
    assert written.count(SHOWN) >= 5, "and the line printed above"
    for raw in ("\x1b[31mred", "\x1b]0;", "\x07", "\u202e", "a\rb", "b\nc"):
        assert raw not in written


# -- colour, and which printer --------------------------------------------------------------------------


def test_no_color_keeps_the_drawing_and_drops_the_colours() -> None:
    success = jobs_event(JobProgress("build", "completed", "success", "Upload"))
    coloured, plain = Terminal(), Terminal()
    for stream, environ in ((coloured, {}), (plain, {"NO_COLOR": "1"})):
        view = LiveView(stream, environ, width=80)
        view(success)
        view.finish()

    assert COLOUR.search(coloured.getvalue())
    assert not COLOUR.search(plain.getvalue())
    assert "success  build  Upload" in re.sub(r"\x1b\[[0-9;]*m", "", plain.getvalue())


def test_a_terminal_gets_the_live_view_and_anything_else_plain_lines() -> None:
    assert type(progress_printer(Terminal(), {"TERM": "xterm-256color"}, quiet=False)) is LiveView
    assert type(progress_printer(io.StringIO(), {"TERM": "xterm-256color"}, quiet=False)) is ProgressPrinter
    assert type(progress_printer(Terminal(), {"TERM": "dumb"}, quiet=False)) is ProgressPrinter
    assert type(progress_printer(Terminal(), {}, quiet=True)) is ProgressPrinter


def test_plain_lines_leave_the_drawings_events_out() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, escape=terminal_line)
    printer(jobs_event(JobProgress("test", "in_progress", None, "Run pytest")))
    printer(download(MB, 5 * MB))
    assert stream.getvalue() == ""


# -- plans -------------------------------------------------------------------------------------------


def node_progress(node: str, event: ProgressEvent) -> PlanEvent:
    return PlanEvent(PlanEventKind.PROGRESS, node, event.message, progress=event)


def test_a_plan_is_a_table_of_its_nodes_with_state_run_and_elapsed(seconds: list[float]) -> None:
    view = PlanLiveView(Terminal(), {}, ["build", "test", "report"], width=100, clock=lambda: seconds[0])
    view(PlanEvent(PlanEventKind.STARTED, "build", "dispatching Build"))
    view(node_progress("build", ProgressEvent(ProgressKind.DISPATCHED, "started run 7", run_id=7)))
    seconds[0] += 95
    view(
        node_progress("build", ProgressEvent(ProgressKind.POLL, "run 7 in_progress", "run 7", "in_progress"))
    )
    outcome = NodeOutcome("build", NodeResult.SUCCESS, {}, started=0, finished=125)
    seconds[0] += 30
    view(PlanEvent(PlanEventKind.FINISHED, "build", "success", outcome=outcome))
    view(PlanEvent(PlanEventKind.STARTED, "test", "dispatching Test"))
    seconds[0] += 5
    view(node_progress("test", ProgressEvent(ProgressKind.POLL, "run 8 queued", "run 8", "queued")))

    rows = [line.split() for line in drawn(view).splitlines()]
    view.finish()

    assert rows[0] == ["node", "state", "run", "elapsed"]
    assert rows[1] == ["build", "success", "run", "7", "2m5s"]
    assert rows[2] == ["test", "queued", "run", "8", "5s"]
    assert rows[3] == ["report", "waiting", "for", "its", "needs"]
    written = view.stream.getvalue()  # type: ignore[attr-defined]
    assert "[build] dispatching Build" in written and "[build] started run 7" in written
    assert "run 7 in_progress" not in written.split("node")[0], "a poll is drawn, not printed"
    assert written.rstrip("\n").endswith(SHOW_CURSOR)


def test_a_plan_draws_nothing_more_once_finished(seconds: list[float]) -> None:
    view = PlanLiveView(Terminal(), {}, ["build"], width=80, clock=lambda: seconds[0])
    view(PlanEvent(PlanEventKind.STARTED, "build", "dispatching Build"))
    view.finish()
    ended = view.stream.getvalue()  # type: ignore[attr-defined]

    view(
        node_progress("build", ProgressEvent(ProgressKind.POLL, "run 7 in_progress", "run 7", "in_progress"))
    )
    view.close()
    view(PlanEvent(PlanEventKind.STARTED, "build", "late"))

    assert view.stream.getvalue() == ended  # type: ignore[attr-defined]


def test_a_plans_node_names_are_shown_literally(seconds: list[float]) -> None:
    view = PlanLiveView(Terminal(), {}, [HOSTILE], width=400, clock=lambda: seconds[0])
    view(PlanEvent(PlanEventKind.STARTED, HOSTILE, HOSTILE))
    view.finish()

    assert SHOWN in drawn(view, width=400)
    written = view.stream.getvalue()  # type: ignore[attr-defined]
    for raw in ("\x1b[31mred", "\x1b]0;", "\x07", "\u202e"):
        assert raw not in written


def test_a_plan_on_a_terminal_gets_the_table_and_anywhere_else_plain_lines() -> None:
    assert type(plan_progress_printer(Terminal(), {}, ["a"], quiet=False)) is PlanLiveView
    assert type(plan_progress_printer(io.StringIO(), {}, ["a"], quiet=False)) is PlanProgressPrinter
    assert (
        type(plan_progress_printer(Terminal(), {"TERM": "dumb"}, ["a"], quiet=False)) is PlanProgressPrinter
    )


# -- the command line --------------------------------------------------------------------------------


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    with serve_to_the_cli(monkeypatch, fast_scenario()) as emulator:
        yield emulator


def test_run_on_a_terminal_draws_the_download_and_gives_the_cursor_back(
    emulator: Emulator, tmp_path: Path
) -> None:
    err, out = Terminal(), io.StringIO()

    code = main(
        ["run", *FAST, "--workflow", "build.yml", "--artifact", "package", "--path", str(tmp_path)],
        stdout=out,
        stderr=err,
    )

    assert code == 0, err.getvalue()
    written = err.getvalue()
    assert HIDE_CURSOR in written and written.rstrip("\n").endswith(SHOW_CURSOR)
    assert "artifact 'package' of run" in written and "135/135 bytes" in written, "the download's bar"
    assert "\x1b" not in out.getvalue(), "stdout has the result only"


def test_the_cursor_comes_back_when_the_step_fails(emulator: Emulator, tmp_path: Path) -> None:
    err = Terminal()

    code = main(
        [
            "run",
            *FAST,
            "--workflow",
            "build.yml",
            "--artifact",
            "nothing-of-that-name",
            "--path",
            str(tmp_path),
        ],
        stdout=io.StringIO(),
        stderr=err,
    )

    assert code == 5
    written = err.getvalue()
    assert written.count(HIDE_CURSOR) == written.count(SHOW_CURSOR) >= 1
    assert written.index(SHOW_CURSOR) < written.index("error: no artifact matching")


def test_run_outside_a_terminal_never_imports_rich(emulator: Emulator, tmp_path: Path) -> None:
    """Start-up: Rich is loaded only for a terminal; a CI log (stderr a pipe) never pays for it."""
    probe = (
        "import sys\n"
        "from wait_and_dispatch.cli.main import main\n"
        f"code = main(['run', *{FAST!r}, '--workflow', 'build.yml', '--artifact', 'package', "
        f"'--path', {str(tmp_path / 'out')!r}])\n"
        "print(code, sorted(name for name in sys.modules if name == 'rich' or name.startswith('rich.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "TERM": "xterm-256color"},
        timeout=60,
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr
    assert "\x1b" not in done.stderr
    assert (tmp_path / "out" / "app.txt").exists()


def test_plan_on_a_terminal_draws_its_nodes_and_gives_the_cursor_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    err = Terminal()
    with serve_to_the_cli(monkeypatch, small_scenario()):
        code = main(
            ["plan", str(write_plan(tmp_path)), "--workdir", str(tmp_path)], stdout=io.StringIO(), stderr=err
        )

    assert code == 0, err.getvalue()
    written = err.getvalue()
    assert written.count(HIDE_CURSOR) == written.count(SHOW_CURSOR) == 1
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", written.rsplit("node", 1)[1])
    assert [line.split()[:2] for line in last.splitlines()[1:4]] == [
        ["build", "success"],
        ["test", "success"],
        ["report", "success"],
    ]


def test_a_plans_failure_line_on_a_terminal_shows_a_name_escaped_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    plan = tmp_path / "pipeline.yml"
    plan.write_text("repository: octo/app\nnodes:\n  build: {workflow: build.yml, timeout: 1m}\n")
    err = Terminal()
    with serve_to_the_cli(monkeypatch, with_names_hostile_to_a_terminal(fast_scenario(conclusion="failure"))):
        code = main(["plan", str(plan), "--workdir", str(tmp_path)], stdout=io.StringIO(), stderr=err)

    assert code == 1, err.getvalue()
    written = err.getvalue()
    assert 'failed: job "build%0A\\x1b[2J\\x1b[H\\x1b]0;retitled\\x07' in written  # `%0A` as GitHub gave it
    assert "%250A" not in written
    assert not [raw for raw in TERMINAL_CONTROLS if raw in written]


# -- which jobs watch the engine is asked for ---------------------------------------------------------

STEPPED_JOBS = [
    {"name": "lint", "steps": ["Set up job", "Ruff check", "Complete job"], "start": 0, "duration": 2},
    {"name": "test (3.12)", "steps": ["Set up job", "Run pytest", "Complete job"], "start": 0, "duration": 3},
]


@pytest.fixture
def stepped(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    scenario = fast_scenario(jobs=STEPPED_JOBS, timeline={"queued": 1, "duration": 3})
    with serve_to_the_cli(monkeypatch, scenario) as emulator:
        yield emulator


def test_on_a_terminal_the_engine_reads_the_jobs_steps_and_the_view_draws_them(stepped: Emulator) -> None:
    err = Terminal()

    code = main(["run", *FAST, "--workflow", "build.yml"], stdout=io.StringIO(), stderr=err)

    assert code == 0, err.getvalue()
    [run_id] = [run.id for run in stepped.state.runs.values()]
    assert stepped.requests_to(f"/repos/octo/app/actions/runs/{run_id}/attempts/1/jobs")
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err.getvalue())
    drawings = screen.split(f"jobs of run {run_id}")
    assert len(drawings) > 2, "the jobs are redrawn as they go"
    # The drawing left on the screen has every job in its last state, with its last step.
    assert [line.split() for line in drawings[-1].splitlines()[1:3]] == [
        ["success", "lint", "Complete", "job"],
        ["success", "test", "(3.12)", "Complete", "job"],
    ]


def test_plain_lines_keep_the_cheap_watch_and_print_no_line_per_step(stepped: Emulator) -> None:
    err = io.StringIO()

    code = main(
        ["run", *FAST, "--workflow", "build.yml", "--fail-on-failed-job"], stdout=io.StringIO(), stderr=err
    )

    assert code == 0, err.getvalue()
    assert stepped.requests_to("/repos/octo/app/check-suites/*/check-runs")
    assert not stepped.requests_to("/repos/octo/app/actions/runs/*/attempts/*/jobs")
    for step in ("Set up job", "Ruff check", "Run pytest", "Complete job", "jobs completed"):
        assert step not in err.getvalue()
