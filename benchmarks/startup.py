#!/usr/bin/env python3
"""Benchmark: time from process start to the first request GitHub sees, for `run`.

The embedded emulator runs in this process on the real clock; each trial starts
`python -m wait_and_dispatch run ...` against it, notes the wall time just before the process is
spawned, and stops the process as soon as the emulator has logged its first request. The figure
is the median of those delays (the interpreter's own start included, as a user pays it). Its
stderr is a pipe, as in a CI log; `--tty` also times it with stderr on a pseudo-terminal, where the
command line draws its live view (Rich is loaded then, and must not delay the first request).

    python3 benchmarks/startup.py [--trials 21] [--tty] [--write docs/benchmarks.md]

For where the time goes: `python -X importtime -m wait_and_dispatch run ...`.
"""

from __future__ import annotations

import argparse
import os
import pty
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import publish

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import SystemClock

SHA = "d" * 40
SCENARIO = {
    "tokens": {"ci": {"secret": "ghs_startup", "kind": "github_token", "repos": ["octo/app"]}},
    "repos": {
        "octo/app": {
            "branches": {"main": SHA},
            "workflows": [
                {
                    "path": ".github/workflows/build.yml",
                    "name": "Build",
                    "on": ["workflow_dispatch"],
                    "timeline": {"queued": 600, "duration": 600},
                    "conclusion": "success",
                }
            ],
        }
    },
}


def first_request_delay(
    emulator: Emulator, command: list[str], env: dict[str, str], *, tty: bool = False
) -> float:
    seen = len(emulator.requests)
    terminal, stderr = pty.openpty() if tty else (None, subprocess.DEVNULL)
    spawned = time.time()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )
    if terminal is not None:
        os.close(stderr)  # the child's end; ours (`terminal`) is closed once it has been stopped
    try:
        while len(emulator.requests) == seen:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(command)} ended (exit {process.returncode}) before any request"
                )
            time.sleep(0.001)
        return emulator.requests[seen].time - spawned
    finally:
        process.kill()
        process.wait()
        if terminal is not None:
            os.close(terminal)
        # A request of this process still being answered is logged after the kill: let it land
        # before the next trial counts what it sees.
        time.sleep(0.3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=21)
    parser.add_argument("--write", type=Path, help="refresh the table between the markers in this file")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also time the `src` folder of another checkout (e.g. `git archive main src`), interleaved",
    )
    parser.add_argument("--baseline-label", default=None, help="what to call the baseline in the table")
    parser.add_argument("--tty", action="store_true", help="also time `run` with stderr on a pseudo-terminal")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with Emulator(Scenario.from_dict(SCENARIO), clock=SystemClock()) as emulator:
        env = {
            **os.environ,
            "GITHUB_API_URL": emulator.api_url,
            "GITHUB_TOKEN": emulator.token("ci"),
            "GITHUB_REPOSITORY": "octo/app",
        }
        env.pop("GH_TOKEN", None)
        run = [sys.executable, "-m", "wait_and_dispatch", "run", "--workflow", "build.yml", "--sha", SHA]
        bare = [sys.executable, "-c", "pass"]
        interpreter: list[float] = []
        delays: list[float] = []
        baseline: list[float] = []
        on_terminal: list[float] = []
        rich_import: list[float] = []  # what the live view loads: the interpreter's start taken off
        rich = [sys.executable, "-c", "import rich.console, rich.live, rich.progress, rich.table"]
        baseline_env = {**env, "PYTHONPATH": str(args.baseline)} if args.baseline else None
        for _ in range(args.trials):  # interleaved, so all see the same load on the machine
            began = time.perf_counter()
            subprocess.run(bare, check=True)  # noqa: S603 - our own interpreter
            interpreter.append(time.perf_counter() - began)
            delays.append(first_request_delay(emulator, run, env))
            if baseline_env is not None:
                baseline.append(first_request_delay(emulator, run, baseline_env))
            if args.tty:
                on_terminal.append(
                    first_request_delay(emulator, run, {**env, "TERM": "xterm-256color"}, tty=True)
                )
                began = time.perf_counter()
                subprocess.run(rich, check=True)  # noqa: S603 - our own interpreter
                rich_import.append(time.perf_counter() - began - interpreter[-1])
    measured = [
        ("process start to first request (`run`)", delays),
        ("the same, stderr a terminal (the live view)", on_terminal),
        (f"the same, {args.baseline_label or f'baseline `{args.baseline}`'}", baseline),
        ("importing the Rich modules the live view loads (never in a log)", rich_import),
        ("bare interpreter (`python -c pass`, start to exit)", interpreter),
    ]
    table = "\n".join(
        [
            "| | Median | Fastest | Slowest |",
            "|---|---:|---:|---:|",
            *(
                f"| {label} | {statistics.median(times) * 1000:.0f} ms "
                f"| {min(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms |"
                for label, times in measured
                if times
            ),
        ]
    )
    load_after = os.getloadavg()[0]
    note = (
        f"{args.trials} trials each, measured in one run of `python3 benchmarks/startup.py` on a machine "
        "shared with other work (2 cores); the ratio to the bare interpreter is the figure to compare."
    )
    if max(load_before, load_after) > 2:
        note += (
            f" Load average (1 min) {load_before:.1f} at the start, {load_after:.1f} at the end: well "
            "above the 2 cores, the medians are mostly waiting for a core; the fastest trials compare "
            "more fairly."
        )
    publish("startup", table + "\n\n" + note, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
