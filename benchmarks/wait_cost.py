#!/usr/bin/env python3
"""Benchmark: how late completion is noticed, and what waiting costs, side by side with the peers.

Each trial starts the embedded emulator, dispatches a run of the given length and waits for it,
all over real HTTP on a shared `ManualClock` (time is simulated; the requests are real). Three
ways to wait, in one run of this script:

- wait-and-dispatch: the poll governor (conditional polls every 1 to 2 s, github_api/polling.py);
- fixed 5 s conditional polls, as `Codex-/await-remote-run` does;
- fixed 10 s unconditional polls, as `lewagon/wait-on-check-action` does.

Each for runs of 45 s, 3 minutes and 60 minutes, with and without history (ten earlier runs of the
workflow of about the same length): lag must not depend on it. Lag is the time from the run's
completion (exactly, on the emulator's clock: `updated_at` has whole seconds) to the waiter
noticing it. Units are the requests that counted against
the primary rate limit, from the dispatch to the end of the wait (304s are free).

Then 200 runs waited for at once by one process (one `wait_for_runs`), in 10 repositories and in
200: the emulator enforces GitHub's secondary limit of 900 points a minute, and the table shows
the busiest minute, the most requests ever in flight at once, any secondary-limit answer and the
median lag.

    python3 benchmarks/wait_cost.py [--trials 11] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import bisect
import copy
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import publish

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.requests import WaitOptions
from wait_and_dispatch.engine.waiting import RunTarget, wait_for_run, wait_for_runs
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock

SHA = "c" * 40
REPO = Repository("octo", "app")
QUEUED = 8.0  # seconds a dispatched run waits for a runner
WORKFLOW: dict[str, Any] = {
    "path": ".github/workflows/build.yml",
    "name": "Build",
    "on": ["workflow_dispatch", "push"],
    "conclusion": "success",
}


def scenario(rng: random.Random, duration: float, history: bool) -> dict[str, Any]:
    runs = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": SHA,
            "head_branch": "main",
            "created": -20_000 + 1_500 * i,
            "timeline": {"queued": 0, "duration": rng.uniform(duration * 0.95, duration * 1.05)},
            "conclusion": "success",
        }
        for i in range(10 if history else 0)
    ]
    return {
        "tokens": {"ci": {"secret": "ghs_bench", "kind": "github_token", "repos": "*"}},
        "repos": {
            "octo/app": {
                "branches": {"main": SHA},
                "workflows": [{**WORKFLOW, "timeline": {"queued": QUEUED, "duration": duration}}],
                "runs": runs,
            }
        },
    }


@dataclass(frozen=True)
class Trial:
    requests: int
    not_modified: int
    units: int
    lag: float


Waiter = Callable[[GitHubApi, WorkflowRun], None]


def ours(api: GitHubApi, run: WorkflowRun) -> None:
    assert wait_for_run(api, REPO, run, WaitOptions(timeout=4 * 3600)).run.completed


def fixed(interval: float, *, conditional: bool) -> Waiter:
    def wait(api: GitHubApi, run: WorkflowRun) -> None:
        while True:
            data = api.get(f"{REPO.api_path}/actions/runs/{run.id}", conditional=conditional).data
            if data["status"] == "completed":
                return
            api.clock.sleep(interval)

    return wait


STRATEGIES: list[tuple[str, Waiter]] = [
    ("wait-and-dispatch", ours),
    ("fixed 5 s conditional (await-remote-run)", fixed(5.0, conditional=True)),
    ("fixed 10 s unconditional (lewagon)", fixed(10.0, conditional=False)),
]


def trial(seed: int, waiter: Waiter, nominal: float, history: bool) -> Trial:
    rng = random.Random(seed)
    duration = rng.uniform(nominal * 0.9, nominal * 1.1)
    clock = ManualClock()
    with Emulator(Scenario.from_dict(scenario(rng, duration, history)), clock=clock) as emulator:
        api = GitHubApi(
            base_url=emulator.api_url, token=emulator.token("ci"), clock=clock, rng=random.Random(seed)
        )
        with api:
            answer = api.post(
                f"{REPO.api_path}/actions/workflows/build.yml/dispatches",
                {"ref": "main", "return_run_details": True},
            )
            run = WorkflowRun.from_api(
                api.get(f"{REPO.api_path}/actions/runs/{answer.data['workflow_run_id']}").data
            )
            waiter(api, run)
            noticed = clock.now()
            stats = api.stats.snapshot()
            return Trial(
                stats.requests,
                stats.not_modified,
                stats.units_spent,
                noticed - completed_at(emulator, run.id),
            )


def completed_at(emulator: Emulator, run_id: int) -> float:
    """When the run completed, exactly, on the emulator's clock (`updated_at` has whole seconds)."""
    with emulator.state.lock:
        return emulator.state.runs[run_id].latest.end


def row(length: str, history: bool, name: str, trials: list[Trial]) -> str:
    lags = [t.lag for t in trials]
    return (
        f"| {length} | {'yes' if history else 'no'} | {name} "
        f"| {statistics.median(t.requests for t in trials):.0f} "
        f"| {statistics.median(t.not_modified for t in trials):.0f} "
        f"| {statistics.median(t.units for t in trials):.0f} "
        f"| {statistics.median(lags):.2f} s | {max(lags):.2f} s |"
    )


# -- many runs at once -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crowd:
    requests: int
    busiest_minute: int
    max_in_flight: int
    secondary_limits: int
    median_lag: float
    worst_lag: float
    slowed: str


def crowd(repositories: int, runs: int = 200, seed: int = 7) -> Crowd:
    """`runs` runs of 5 to 15 minutes, spread over `repositories`, waited for by one process."""
    rng = random.Random(seed)
    repos: dict[str, Any] = {}
    for r in range(repositories):
        repos[f"octo/r{r}"] = {"branches": {"main": SHA}, "workflows": [copy.deepcopy(WORKFLOW)], "runs": []}
    for i in range(runs):
        repos[f"octo/r{i % repositories}"]["runs"].append(
            {
                "workflow": "build.yml",
                "event": "workflow_dispatch",
                "head_sha": SHA,
                "head_branch": "main",
                "created": -rng.uniform(0, 60),
                "timeline": {"queued": 0, "duration": rng.uniform(180, 600)},
                "conclusion": "success",
            }
        )
    spec = {
        "options": {"secondary_points_per_minute": 900},  # GitHub's REST limit, enforced
        "tokens": {"ci": {"secret": "ghs_bench", "kind": "app", "repos": "*"}},
        "repos": repos,
    }
    clock = ManualClock()
    with Emulator(Scenario.from_dict(spec), clock=clock) as emulator:
        api = GitHubApi(
            base_url=emulator.api_url, token=emulator.token("ci"), clock=clock, rng=random.Random(seed)
        )
        with api:
            targets = []
            for name in repos:
                repo = Repository.parse(name)
                listed = api.get(f"{repo.api_path}/actions/runs", {"per_page": 100}).data["workflow_runs"]
                targets += [RunTarget(repo, WorkflowRun.from_api(item)) for item in listed]
            assert len(targets) == runs
            start = clock.now()
            reasons: list[str] = []
            results = wait_for_runs(
                api,
                targets,
                WaitOptions(timeout=3 * 3600),
                on_progress=lambda e: (
                    reasons.append(e.slowed) if e.slowed and e.slowed not in reasons else None
                ),
            )
            lags = []
            for result in results:
                assert result.run.completed
                lags.append(start + result.waited - completed_at(emulator, result.run.id))
    sent = sorted(r.time for r in emulator.requests if r.time >= start)
    busiest = max(bisect.bisect_left(sent, t + 60) - i for i, t in enumerate(sent))
    return Crowd(
        requests=len(sent),
        busiest_minute=busiest,
        max_in_flight=emulator.max_in_flight,
        secondary_limits=sum(1 for r in emulator.requests if r.status in (403, 429)),
        median_lag=statistics.median(lags),
        worst_lag=max(lags),
        slowed=reasons[0] if reasons else "-",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=11, help="trials per row (60-minute rows: 3)")
    parser.add_argument("--write", type=Path, help="refresh the table between the markers in this file")
    args = parser.parse_args(argv)
    began = time.monotonic()
    rows: list[str] = [
        "| Run | History | Waiting strategy | Requests | 304s (free) | Units | Median lag | Worst lag |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for length, seconds in (("45 s", 45.0), ("3 min", 180.0), ("60 min", 3600.0)):
        trials = args.trials if seconds < 3600 else min(3, args.trials)
        for history in (False, True):
            for name, waiter in STRATEGIES:
                results = [trial(seed, waiter, seconds, history) for seed in range(trials)]
                rows.append(row(length, history, name, results))
                print(rows[-1], file=sys.stderr)
    crowd_rows = [
        "| 200 runs at once | Requests | Busiest minute | Most in flight | Secondary-limit answers "
        "| Median lag | Worst lag | Slowed down because |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for repositories in (10, 200):
        c = crowd(repositories)
        crowd_rows.append(
            f"| in {repositories} repositories | {c.requests} | {c.busiest_minute} | {c.max_in_flight} "
            f"| {c.secondary_limits} | {c.median_lag:.2f} s | {c.worst_lag:.2f} s | {c.slowed} |"
        )
        print(crowd_rows[-1], file=sys.stderr)
    note = (
        f"Medians over {args.trials} trials per row ({min(3, args.trials)} for the 60-minute rows); "
        "each run lasts its nominal length +-10% after 8 s in the queue. Rows with history match "
        "the ones without, trial for trial: nothing reads it any more (same seeds). Lag is measured "
        "from the run's exact completion on the emulator's clock. Units count "
        "the dispatch, the first read and the wait. The 200 runs last 3 to 10 minutes each; the "
        "emulator refuses past 900 points a minute per token, as GitHub does. "
        f"Measured in one run of `python3 benchmarks/wait_cost.py` ({time.monotonic() - began:.0f} s)."
    )
    table = "\n".join(rows) + "\n\n" + "\n".join(crowd_rows)
    publish("wait-cost", table + "\n\n" + note, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
