"""Render the live view of a real run into the README's pictures (docs/images/live-view-*.svg).

Dispatches a `Tests` workflow in the embedded GitHub API emulator over real HTTP, waits for its run
and downloads its 8 MiB coverage report, with the command line's live view
(`session/live_view.py`) as the engine's progress, exactly as `wait-and-dispatch run` does on a
terminal. The emulator and the client share a manual clock, so the run's minutes pass at once, and
the storage host sends the report 64 KiB every 0.1 s of that clock (the emulator's `trickle`
fault): a 640 kB/s link, so the bar has a rate to show. As in tools/render_summary.py, the run's
link points where GitHub has runs, not at the emulator on loopback, and the download folder is
shown as `reports`.

Two moments are kept, each as a terminal 100 columns wide shows it (the lines printed so far, then
the drawing under them), exported by Rich as SVG:

- `live-view-waiting.svg`: while the run goes, about `WAITING_AT` seconds in;
- `live-view-download.svg`: halfway through the download.

    .venv/bin/python tools/render_live_view.py [--out docs/images]

The jobs table comes from the engine's JOBS events: the live view asks for the jobs with their
steps (`draws_job_steps`, as `session/edge.py` does for the command line on a terminal).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 100
MiB = 1024 * 1024
WAITING_AT = 100  # seconds into the wait: lint has passed, both tests are running pytest
STEPS = ["Set up job", "Checkout", "Set up Python", "Install", "Run pytest", "Complete job"]
SCENARIO: dict[str, Any] = {
    "options": {"return_run_details": True, "dispatch_visibility_delay": 2},
    "tokens": {"ci": {"secret": "ghs_render", "kind": "github_token", "repos": ["octo/app"]}},
    "repos": {
        "octo/app": {
            "branches": {"main": "4f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39"},
            "workflows": [
                {
                    "path": ".github/workflows/tests.yml",
                    "name": "Tests",
                    "on": ["workflow_dispatch"],
                    "timeline": {"queued": 4, "duration": 150},
                    "conclusion": "success",
                    "jobs": [
                        {
                            "name": "lint",
                            "steps": ["Set up job", "Checkout", "Ruff", "Complete job"],
                            "start": 0,
                            "duration": 40,
                        },
                        {"name": "test (3.11)", "steps": STEPS, "start": 0, "duration": 120},
                        {"name": "test (3.12)", "steps": STEPS, "start": 0, "duration": 140},
                        {
                            "name": "coverage",
                            "steps": ["Set up job", "Combine", "Upload report", "Complete job"],
                            "start": 140,
                            "duration": 10,
                        },
                    ],
                    "artifacts": [{"name": "coverage-report", "size": 8 * MiB}],
                }
            ],
        }
    },
}


class _Terminal(io.StringIO):
    """Where the live view draws: a stream that says it is a terminal (what it writes is unused)."""

    def isatty(self) -> bool:
        return True


def render() -> dict[str, str]:
    """The two pictures, as SVG text by file name."""
    from rich.console import Console

    from wait_and_dispatch.emulator import Emulator, Fault, Scenario
    from wait_and_dispatch.engine.facade import Engine
    from wait_and_dispatch.engine.github_objects import Repository
    from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
    from wait_and_dispatch.engine.requests import ArtifactSelection, DispatchPolicy, RunRequest, WaitOptions
    from wait_and_dispatch.github_api import GitHubApi
    from wait_and_dispatch.session.live_view import LiveView
    from wait_and_dispatch.support.clock import ManualClock

    clock = ManualClock()
    view = LiveView(_Terminal(), {}, width=WIDTH, clock=clock.now)
    printed: list[str] = []
    pictures: dict[str, str] = {}
    shown_as: dict[str, str] = {}  # what the picture shows instead: loopback URLs, a temporary folder

    def snapshot(name: str) -> None:
        screen = Console(record=True, width=WIDTH, file=io.StringIO(), force_terminal=True)
        for message in printed:
            for text, instead in shown_as.items():
                message = message.replace(text, instead)
            screen.print(view.line(message), soft_wrap=True)
        screen.print(view.drawing())
        pictures[name] = screen.export_svg(title="wait-and-dispatch run --workflow tests.yml")

    def on_progress(event: ProgressEvent) -> None:
        view(event)
        if not view.is_drawn(event):
            printed.append(event.message)
        if event.kind is ProgressKind.JOBS and (event.elapsed or 0) <= WAITING_AT:
            snapshot("live-view-waiting.svg")  # the last drawing of the jobs before then
        done, total = event.done_bytes or 0, event.total_bytes or 0
        if (
            event.kind is ProgressKind.DOWNLOAD
            and "live-view-download.svg" not in pictures
            and done * 2 >= total
        ):
            snapshot("live-view-download.svg")

    with Emulator(Scenario.from_dict(SCENARIO), clock=clock) as emulator:
        emulator.inject(
            Fault(kind="trickle", host="blob", path="*", after_bytes=64 * 1024, delay=0.1, times=None)
        )
        shown_as[emulator.api_url.rstrip("/") + "/_web/"] = "https://github.com/"
        with (
            GitHubApi(base_url=emulator.api_url, token=emulator.token("ci"), clock=clock) as api,
            tempfile.TemporaryDirectory(prefix="render-live-view-") as folder,
        ):
            shown_as[folder] = "reports"
            Engine(api, on_progress).run(
                RunRequest(
                    Repository.parse("octo/app"), "tests.yml", ref="main", dispatch=DispatchPolicy.ALWAYS
                ),
                WaitOptions(
                    timeout=1800, poll_interval=5, max_poll_interval=30, job_steps=view.draws_job_steps
                ),
                artifacts=ArtifactSelection(patterns=("coverage-report",), path=Path(folder)),
            )
    view.finish()
    return pictures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, svg in render().items():
        (args.out / name).write_text(svg, encoding="utf-8")
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
