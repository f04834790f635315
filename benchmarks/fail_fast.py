#!/usr/bin/env python3
"""Benchmark: how soon the command line exits after a job fails, with and without fail-on-failed-job.

The embedded emulator runs in this process on the real clock, with one run of two jobs: `test`
fails 8 s after the run starts, `slow` runs to 40 s (when the run concludes `failure`). Each trial
starts a fresh emulator and `python -m wait_and_dispatch run --dispatch never ...` as a
subprocess, and notes the wall time at which the process has exited, against the failed job's
exact completion on the emulator's clock (and the run's, for the default). Both read the failure
digest (the failed job's steps, annotations and log) before exiting. Trials of the two modes are
interleaved, so both see the same load on the machine.

    python3 benchmarks/fail_fast.py [--trials 5] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from report import publish

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import SystemClock

SHA = "f" * 40
QUEUED = 2.0  # seconds before the run's jobs start
FAILS_AT = 8.0  # the failing job's length
RUN_LENGTH = 40.0  # the other job's, and the run's
FAILED_LINE = "FAILED tests/test_api.py::test_get - AssertionError: expected 200, got 500"


def scenario() -> dict[str, Any]:
    return {
        "tokens": {"ci": {"secret": "ghs_fail_fast", "kind": "github_token", "repos": ["octo/app"]}},
        "repos": {
            "octo/app": {
                "branches": {"main": SHA},
                "workflows": [
                    {
                        "path": ".github/workflows/test.yml",
                        "name": "Tests",
                        "on": ["push"],
                        "timeline": {"queued": QUEUED, "duration": RUN_LENGTH},
                        "conclusion": "failure",
                        "jobs": [
                            {
                                "name": "test (3.12)",
                                "steps": ["Set up job", "Run pytest", "Complete job"],
                                "duration": FAILS_AT,
                                "fails_at": "Run pytest",
                                "log": [FAILED_LINE],
                                "annotations": [
                                    {
                                        "path": "tests/test_api.py",
                                        "start_line": 42,
                                        "level": "failure",
                                        "message": "AssertionError: expected 200, got 500",
                                    }
                                ],
                            },
                            {
                                "name": "slow",
                                "steps": ["Set up job", "Build"],
                                "duration": RUN_LENGTH,
                                "conclusion": "success",
                            },
                        ],
                    }
                ],
                "runs": [{"workflow": "test.yml", "event": "push", "head_sha": SHA, "head_branch": "main"}],
            }
        },
    }


def trial(fail_fast: bool) -> tuple[float, float, int]:
    """(seconds from the failed job's completion to the process's exit, the same from the start
    of the run's jobs, the exit code)."""
    with Emulator(Scenario.from_dict(scenario()), clock=SystemClock()) as emulator:
        env = {
            **os.environ,
            "GITHUB_API_URL": emulator.api_url,
            "GITHUB_TOKEN": emulator.token("ci"),
            "GITHUB_REPOSITORY": "octo/app",
        }
        env.pop("GH_TOKEN", None)
        command = [sys.executable, "-m", "wait_and_dispatch", "run", "--quiet", "--workflow", "test.yml"]
        command += ["--sha", SHA, "--dispatch", "never", "--timeout", "5m"]
        if fail_fast:
            command.append("--fail-on-failed-job")
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        exited = time.time()
        _, attempt, job = next(
            found for found in emulator.state.jobs.values() if found[2].name == "test (3.12)"
        )
        failed = attempt.job_state(job, exited)
        if failed is None or failed.completed_at is None:
            raise SystemExit("the failing job had not completed when the process exited")
        if fail_fast and 'job "test (3.12)"' not in done.stderr:
            raise SystemExit(f"the error does not name the failed job: {done.stderr}")
        if not emulator.requests_to(f"/repos/octo/app/actions/jobs/{job.id}/logs"):
            raise SystemExit("the failure digest did not read the failed job's log")
        return exited - failed.completed_at, exited - attempt.started_in_progress, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--write", type=Path, help="refresh the table between the markers in this file")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    fast: list[tuple[float, float, int]] = []
    default: list[tuple[float, float, int]] = []
    for _ in range(args.trials):
        fast.append(trial(True))
        default.append(trial(False))
    codes = {code for *_, code in fast + default}
    rows = [
        "| | Exit after the failed job: median | max | Exit after the jobs started: median | Exit code |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, figures in (("`--fail-on-failed-job`", fast), ("default (waits for the run)", default)):
        after_job = [f for f, _, _ in figures]
        rows.append(
            f"| {label} | {statistics.median(after_job):.2f} s | {max(after_job):.2f} s "
            f"| {statistics.median(s for _, s, _ in figures):.1f} s "
            f"| {', '.join(sorted({str(c) for *_, c in figures}))} |"
        )
    note = (
        f"{args.trials} trials of each, interleaved; a job fails {FAILS_AT:.0f} s into a run whose other job "
        f"runs {RUN_LENGTH:.0f} s, and its failure digest is read; each trial a fresh emulator on the real "
        f"clock and the command line as a subprocess (`run --dispatch never`, interpreter start included). "
        f"Measured in one run of "
        f"`python3 benchmarks/fail_fast.py` ({time.perf_counter() - began:.0f} s) on a machine shared "
        "with other work (2 cores)."
    )
    publish("fail-fast", "\n".join(rows) + "\n\n" + note, args.write)
    return 0 if codes == {1} else 1


if __name__ == "__main__":
    sys.exit(main())
