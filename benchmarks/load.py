#!/usr/bin/env python3
"""Benchmark: 50 processes dispatch the same workflow at the same moment; does each get its own run?

This is what a matrix of 50 jobs, or 50 pushes landing at once, does to a downstream workflow:
every job runs `wait-and-dispatch run --dispatch always` for the same workflow, ref and SHA at the
same second. The `actions/github-script` snippet our users replace ("dispatch, sleep 5 s, take the
newest run") gets that wrong; wait-and-dispatch must not, on github.com (the dispatch returns the
run's id) nor on a server that does not (GHES <= 3.20, found by the correlation id in `run-name`).

Each process is a real `wait-and-dispatch` command line with its own token, against the embedded
emulator on loopback in real time. Its run is checked against the emulator's own record: the
dispatch its token sent, the correlation id in that dispatch, and the run that dispatch created.

    python3 benchmarks/load.py [--processes 50] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import record

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import SystemClock

SHA = "c" * 40


def scenario(processes: int, run_details: bool) -> dict[str, Any]:
    tokens = {
        f"job{i}": {
            "secret": f"ghp_load_{i:03d}",
            "kind": "pat",
            "repos": "*",
            "permissions": {"actions": "write", "contents": "read", "checks": "read"},
        }
        for i in range(processes)
    }
    return copy.deepcopy(
        {
            "options": {"return_run_details": run_details, "dispatch_visibility_delay": 3},
            "tokens": tokens,
            "repos": {
                "octo/app": {
                    "default_branch": "main",
                    "branches": {"main": SHA},
                    "workflows": [
                        {
                            "path": ".github/workflows/deploy.yml",
                            "name": "Deploy",
                            "on": ["workflow_dispatch"],
                            "run_name": "Deploy [${{ inputs.distinct_id }}]",
                            "inputs": {"distinct_id": {"type": "string", "required": False}},
                            "timeline": {"queued": 2, "duration": 30},
                            "conclusion": "success",
                        }
                    ],
                }
            },
        }
    )


@dataclass
class Trial:
    mode: str
    processes: int
    own_run: int  # processes that reported the run their own dispatch created
    runs_created: int
    failures: int
    wall: float
    median_process: float
    max_process: float
    requests: int


def run_trial(processes: int, run_details: bool) -> Trial:
    mode = "github.com (run details)" if run_details else "GHES (correlation id)"
    with Emulator(Scenario.from_dict(scenario(processes, run_details)), clock=SystemClock()) as emulator:
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GH_", "GITHUB_"))}
        command = [
            sys.executable,
            "-m",
            "wait_and_dispatch",
            "run",
            "--repo",
            "octo/app",
            "--workflow",
            "deploy.yml",
            "--ref",
            "main",
            "--sha",
            SHA,
            "--dispatch",
            "always",
            "--no-wait",
            "--json",
        ]
        started = time.monotonic()
        children = []
        for i in range(processes):
            env = {**base_env, "GITHUB_API_URL": emulator.api_url, "GH_TOKEN": emulator.token(f"job{i}")}
            pipe = subprocess.PIPE
            child = subprocess.Popen(command, env=env, stdout=pipe, stderr=pipe)  # noqa: S603 - our own command
            children.append((i, time.monotonic(), child))
        reported: dict[int, int | None] = {}
        durations = []
        failures = 0
        for i, began, child in children:
            out, err = child.communicate(timeout=300)
            durations.append(time.monotonic() - began)
            if child.returncode != 0:
                failures += 1
                print(f"  process {i} exited {child.returncode}: {err.decode()[-300:]}", file=sys.stderr)
                reported[i] = None
                continue
            reported[i] = json.loads(out)["run_id"]
        wall = time.monotonic() - started
        own = sum(
            1 for i, run_id in reported.items() if run_id is not None and run_id == created_by(emulator, i)
        )
        with emulator.state.lock:
            created = sum(1 for run in emulator.state.runs.values() if run.event == "workflow_dispatch")
        return Trial(
            mode=mode,
            processes=processes,
            own_run=own,
            runs_created=created,
            failures=failures,
            wall=wall,
            median_process=statistics.median(durations),
            max_process=max(durations),
            requests=len(emulator.requests),
        )


def created_by(emulator: Emulator, index: int) -> int | None:
    """The run that process `index`'s dispatch created, from the emulator's record alone."""
    token = f"job{index}"
    sent = [
        r
        for r in emulator.requests
        if r.token_name == token
        and r.method == "POST"
        and r.path.endswith("/dispatches")
        and r.status in (200, 204)
    ]
    if len(sent) != 1 or not isinstance(sent[0].body, dict):
        return None
    correlation = (sent[0].body.get("inputs") or {}).get("distinct_id")
    with emulator.state.lock:
        runs = [
            run
            for run in emulator.state.runs.values()
            if run.event == "workflow_dispatch"
            and (run.context.get("inputs") or {}).get("distinct_id") == correlation
        ]
    return runs[0].id if len(runs) == 1 else None


def table(trials: list[Trial]) -> str:
    rows = [
        "| server | processes | got their own run | runs created | failed | wall time "
        "| per process (median / max) | API requests |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in trials:
        rows.append(
            f"| {t.mode} | {t.processes} | {t.own_run}/{t.processes} | {t.runs_created} | {t.failures} | "
            f"{t.wall:.1f} s | {t.median_process:.1f} s / {t.max_process:.1f} s | {t.requests} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=50)
    parser.add_argument("--write", type=Path, help="record the table in this Markdown file")
    args = parser.parse_args(argv)
    trials = [run_trial(args.processes, run_details) for run_details in (True, False)]
    body = (
        f"{args.processes} `wait-and-dispatch run --dispatch always --no-wait` processes start at the same "
        "moment, each with its own token, for the same workflow, ref and SHA, against the emulator on "
        "loopback in real time (2 cores). A process got its own run when the run id it printed is the "
        "run its own dispatch created (the emulator's record: the dispatch its token sent and the "
        "correlation id in it). Measured on "
        f"{time.strftime('%Y-%m-%d')} with `python3 benchmarks/load.py --processes {args.processes}`.\n\n"
        + table(trials)
    )
    print(body)
    if args.write:
        record(args.write, "load", body, heading="Load: 50 processes dispatch at once")
    bad = [t for t in trials if t.own_run != t.processes or t.runs_created != t.processes]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
