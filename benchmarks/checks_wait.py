#!/usr/bin/env python3
"""Benchmark: how soon a wait for every check on a commit ends once its outcome is known.

The commit has what a push usually brings: two workflow runs and two other apps.

- `CI`: jobs `lint` (0-25 s) and `test` (0-40 s);
- `Build`: `build` (0-30 s), then `package` behind `needs:` (31-51 s), so for a second after
  `build` ends no check on the commit is running, and `package` has no check run yet;
- the `DCO` app reports a check (0-5 s); dependabot has a suite that stays queued with no check
  runs, as on GitHub.

Two cases: `lint` fails at 25 s, or every check passes (the last workflow run completes at
51 s). Each is waited for, over real HTTP to the embedded emulator on a shared `ManualClock`
(simulated time; the requests and answers are real), by:

- wait-and-dispatch as configured by default (fail-fast, the commit's check suites, the poll
  governor's 1-2 s conditional cadence);
- wait-and-dispatch with `fail-fast: false`;
- a fixed 10 s unconditional poll that ends when every check it sees has completed, as
  lewagon/wait-on-check-action does when waiting on every check.

Lag is the time from the moment the outcome is known (the failure; or the last workflow run on
the commit completing) to the waiter ending.

    python3 benchmarks/checks_wait.py [--trials 11] [--write docs/benchmarks.md]
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

from report import publish

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.engine.check_matching import latest_per_check
from wait_and_dispatch.engine.check_wait import wait_for_checks
from wait_and_dispatch.engine.github_objects import CheckRun, Repository
from wait_and_dispatch.engine.requests import CheckSelection, WaitOptions
from wait_and_dispatch.engine.results import Outcome
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock

SHA = "d" * 40
REPO = Repository("octo", "app")
FAILS_AT = 25.0
LAST_RUN_ENDS = 51.0
TARGET_LAG = 2.0


def scenario(lint_fails: bool) -> dict[str, Any]:
    def workflow(name: str, jobs: list[dict[str, Any]], duration: float) -> dict[str, Any]:
        return {
            "path": f".github/workflows/{name.lower()}.yml",
            "name": name,
            "on": ["push"],
            "timeline": {"queued": 0, "duration": duration},
            "conclusion": "failure" if lint_fails and name == "CI" else "success",
            "jobs": jobs,
        }

    lint: dict[str, Any] = {"name": "lint", "start": 0, "duration": FAILS_AT}
    if lint_fails:
        lint["conclusion"] = "failure"
    return {
        "tokens": {"ci": {"secret": "ghs_bench", "kind": "github_token", "repos": ["octo/app"]}},
        "repos": {
            "octo/app": {
                "branches": {"main": SHA},
                "workflows": [
                    workflow("CI", [lint, {"name": "test", "start": 0, "duration": 40}], 40),
                    workflow(
                        "Build",
                        [
                            {"name": "build", "start": 0, "duration": 30},
                            {"name": "package", "start": 31, "duration": LAST_RUN_ENDS - 31},
                        ],
                        LAST_RUN_ENDS,
                    ),
                ],
                "runs": [
                    {"workflow": "ci.yml", "event": "push", "head_sha": SHA, "head_branch": "main"},
                    {"workflow": "build.yml", "event": "push", "head_sha": SHA, "head_branch": "main"},
                ],
                "check_runs": [
                    {
                        "name": "DCO",
                        "head_sha": SHA,
                        "app": "dco",
                        "timeline": {"queued": 0, "duration": 5},
                        "conclusion": "success",
                    }
                ],
                "check_suites": [{"app": "dependabot", "head_sha": SHA, "created": -5}],
            }
        },
    }


@dataclass(frozen=True)
class Trial:
    ended: float  # seconds after the wait began
    failed: bool
    seen: int  # checks the waiter judged
    requests: int
    not_modified: int
    units: int


Waiter = Callable[[GitHubApi], tuple[bool, int]]  # (failed, checks judged)


def ours(fail_fast: bool) -> Waiter:
    def wait(api: GitHubApi) -> tuple[bool, int]:
        result = wait_for_checks(
            api, REPO, SHA, CheckSelection(fail_fast=fail_fast), WaitOptions(timeout=900)
        )
        return result.outcome is not Outcome.SUCCESS, len(result.checks)

    return wait


def fixed_every_check(api: GitHubApi) -> tuple[bool, int]:
    path = f"{REPO.api_path}/commits/{SHA}/check-runs"
    while True:
        items = api.paginate(path, {"filter": "latest"}, items_key="check_runs", conditional=False)
        checks = latest_per_check(CheckRun.from_api(item) for item in items)
        if checks and all(check.completed for check in checks.values()):
            failed = any(c.conclusion not in ("success", "skipped") for c in checks.values())
            return failed, len(checks)
        api.clock.sleep(10)


def trial(seed: int, waiter: Waiter, lint_fails: bool) -> Trial:
    clock = ManualClock()
    with Emulator(Scenario.from_dict(scenario(lint_fails)), clock=clock) as emulator:
        api = GitHubApi(
            base_url=emulator.api_url, token=emulator.token("ci"), clock=clock, rng=random.Random(seed)
        )
        with api:
            start = clock.now()
            failed, seen = waiter(api)
            return Trial(
                ended=clock.now() - start,
                failed=failed,
                seen=seen,
                requests=api.stats.requests,
                not_modified=api.stats.not_modified,
                units=api.stats.units_spent,
            )


def _outcome(seen: set[bool]) -> str:
    return "failure" if seen == {True} else "success" if seen == {False} else "mixed"


def row(case: str, name: str, known_at: float, trials: list[Trial]) -> tuple[str, float]:
    lags = [t.ended - known_at for t in trials]
    outcome = {t.failed for t in trials}
    seen = {t.seen for t in trials}
    line = (
        f"| {case} | {name} | {_outcome(outcome)} "
        f"| {'/'.join(str(n) for n in sorted(seen))} | {statistics.median(t.ended for t in trials):.1f} s "
        f"| {statistics.median(lags):.1f} s | {max(lags):.1f} s "
        f"| {statistics.median(t.requests for t in trials):.0f} "
        f"| {statistics.median(t.not_modified for t in trials):.0f} "
        f"| {statistics.median(t.units for t in trials):.0f} |"
    )
    return line, max(lags)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=11)
    parser.add_argument("--write", type=Path, help="refresh the table between the markers in this file")
    args = parser.parse_args(argv)
    strategies: list[tuple[str, Waiter]] = [
        ("wait-and-dispatch (default)", ours(True)),
        ("wait-and-dispatch, fail-fast: false", ours(False)),
        ("fixed 10 s, unconditional (lewagon)", fixed_every_check),
    ]
    rows = [
        "| Case | Waiter | Outcome | Checks judged | Ended at | Lag | Worst lag | Requests | 304s (free) "
        "| Rate-limit units |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for case, lint_fails, known_at in (
        (f"`lint` fails at {FAILS_AT:.0f} s", True, FAILS_AT),
        (f"all pass, last run ends at {LAST_RUN_ENDS:.0f} s", False, LAST_RUN_ENDS),
    ):
        for name, waiter in strategies:
            line, worst = row(
                case, name, known_at, [trial(seed, waiter, lint_fails) for seed in range(args.trials)]
            )
            rows.append(line)
            if name.endswith("(default)"):
                verdicts.append(f"{case}: worst lag {worst:.1f} s (target <= {TARGET_LAG:.0f} s)")
    table = "\n".join(rows)
    note = (
        f"{args.trials} trials per row (the poll governor's jitter differs per trial); medians, and the "
        "worst lag. Lag: from the failure, or from the last workflow run on the commit completing, to the "
        "waiter ending. Measured in one run of `python3 benchmarks/checks_wait.py`.\n\n"
        + "\n".join(f"- {verdict}" for verdict in verdicts)
    )
    publish("checks-wait", table + "\n\n" + note, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
