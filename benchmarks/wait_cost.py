#!/usr/bin/env python3
"""Benchmark: what waiting on a 10-minute run costs, and how late completion is noticed.

Each trial starts the embedded emulator with a workflow whose last ten runs took 9.5 to 10.5
minutes, dispatches a new run of about ten minutes, and waits for it, all over real HTTP on a
shared `ManualClock` (time is simulated; the requests are real). Three ways to wait are compared:

- wait-and-dispatch, with the workflow's history timing the polls (the default);
- wait-and-dispatch without history (exponential backoff from 5 s to 60 s);
- a fixed 10-second poll without conditional requests, as `lewagon/wait-on-check-action` and
  hand-written github-script loops do.

Lag is the time between the run completing (its `updated_at`) and the waiter noticing.

    python3 benchmarks/wait_cost.py [--trials 21] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wait_and_dispatch.clock import ManualClock
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.engine.model import Repository, WaitOptions, WorkflowRun
from wait_and_dispatch.engine.waiting import wait_for_run
from wait_and_dispatch.github_api import GitHubApi

SHA = "c" * 40
REPO = Repository("octo", "app")
MARKER_START = "<!-- wait-cost:start -->"
MARKER_END = "<!-- wait-cost:end -->"


def scenario(rng: random.Random, duration: float, typical: float) -> dict[str, Any]:
    history = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": SHA,
            "head_branch": "main",
            "created": -20_000 + 1_500 * i,
            "timeline": {"queued": 0, "duration": rng.uniform(typical * 0.95, typical * 1.05)},
            "conclusion": "success",
        }
        for i in range(10)
    ]
    return {
        "tokens": {"ci": {"secret": "ghs_bench", "kind": "github_token", "repos": ["octo/app"]}},
        "repos": {
            "octo/app": {
                "branches": {"main": SHA},
                "workflows": [
                    {
                        "path": ".github/workflows/build.yml",
                        "name": "Build",
                        "on": ["workflow_dispatch", "push"],
                        "timeline": {"queued": 8, "duration": duration},
                        "conclusion": "success",
                    }
                ],
                "runs": history,
            }
        },
    }


@dataclass(frozen=True)
class Trial:
    requests: int
    not_modified: int
    units: int
    waited: float
    lag: float


def fixed_interval(api: GitHubApi, run: WorkflowRun) -> None:
    while True:
        data = api.get(f"{REPO.api_path}/actions/runs/{run.id}", conditional=False).data
        if data["status"] == "completed":
            return
        api.clock.sleep(10)


def ours(use_history: bool) -> Callable[[GitHubApi, WorkflowRun], None]:
    def wait(api: GitHubApi, run: WorkflowRun) -> None:
        options = WaitOptions(
            timeout=4 * 3600, poll_interval=5, max_poll_interval=60, use_history=use_history
        )
        result = wait_for_run(api, REPO, run, options)
        assert result.run.completed

    return wait


def trial(seed: int, waiter: Callable[[GitHubApi, WorkflowRun], None], typical: float) -> Trial:
    rng = random.Random(seed)
    duration = rng.uniform(typical * 0.933, typical * 1.067)
    clock = ManualClock()
    with Emulator(Scenario.from_dict(scenario(rng, duration, typical)), clock=clock) as emulator:
        api = GitHubApi(base_url=emulator.api_url, token=emulator.token("ci"), clock=clock)
        with api:
            answer = api.post(
                f"{REPO.api_path}/actions/workflows/build.yml/dispatches",
                {"ref": "main", "return_run_details": True},
            )
            run_id = answer.data["workflow_run_id"]
            run = WorkflowRun.from_api(api.get(f"{REPO.api_path}/actions/runs/{run_id}").data)
            before = api.stats.snapshot()
            start = clock.now()
            waiter(api, run)
            noticed = clock.now()
            final = WorkflowRun.from_api(api.get(f"{REPO.api_path}/actions/runs/{run.id}").data)
            assert final.updated_at is not None
            return Trial(
                requests=api.stats.requests - before.requests,
                not_modified=api.stats.not_modified - before.not_modified,
                units=api.stats.units_spent - before.units_spent,
                waited=noticed - start,
                lag=noticed - final.updated_at,
            )


def row(run: str, name: str, trials: list[Trial]) -> str:
    units_per_hour = statistics.median(t.units * 3600 / t.waited for t in trials)
    return (
        f"| {run} | {name} | {statistics.median(t.requests for t in trials):.0f} "
        f"| {statistics.median(t.not_modified for t in trials):.0f} "
        f"| {statistics.median(t.units for t in trials):.0f} | {units_per_hour:.1f} "
        f"| {statistics.median(t.lag for t in trials):.1f} s | {max(t.lag for t in trials):.1f} s |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=21)
    parser.add_argument("--write", type=Path, help="refresh the table between the markers in this file")
    args = parser.parse_args(argv)
    strategies = [
        ("wait-and-dispatch (history)", ours(True)),
        ("wait-and-dispatch (no history)", ours(False)),
        ("fixed 10 s, unconditional", fixed_interval),
    ]
    rows: list[str] = [
        "| Run | Waiting strategy | Requests | 304s (free) | Rate-limit units | Units per waited hour "
        "| Median lag | Worst lag |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for minutes in (10, 60):
        for name, waiter in strategies:
            trials = [trial(seed, waiter, minutes * 60.0) for seed in range(args.trials)]
            rows.append(row(f"{minutes} min", name, trials))
    table = "\n".join(rows)
    note = (
        f"Medians over {args.trials} trials per row. Each run lasts its nominal length +-6.7% (a 10-minute "
        "run: 9m20s to 10m40s); the workflow's last ten runs lasted +-5%. Measured in one run of "
        "`python3 benchmarks/wait_cost.py`."
    )
    print(table)
    print()
    print(note)
    if args.write:
        text = args.write.read_text()
        begin, end = text.index(MARKER_START) + len(MARKER_START), text.index(MARKER_END)
        args.write.write_text(text[:begin] + "\n" + table + "\n\n" + note + "\n" + text[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
