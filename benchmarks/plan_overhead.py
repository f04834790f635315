#!/usr/bin/env python3
"""Benchmark: how close a 30-node plan comes to its critical path.

Each trial builds a plan of 30 workflows in six layers of five; every node needs two nodes of
the layer before, and every workflow runs 2 to 15 minutes (its last five runs took about as
long, as in real use; the poll governor does not need them). The plan runs over real HTTP against the
embedded emulator on a shared `VirtualClock`: the requests are real, the waiting is simulated,
and concurrent nodes wait at the same time, as they would on GitHub.

- **Critical path**: the longest chain of (queue time + duration) through the graph: no
  orchestrator can finish sooner.
- **Plan**: when wait-and-dispatch reported the plan finished.
- **Overhead**: Plan - critical path (dispatching, the run appearing, noticing completion).
- **Layer by layer**: what hand-written orchestrators do (one job per layer, each waiting for
  the slowest run of its layer before starting the next); **one at a time**: every run in turn.

    python3 benchmarks/plan_overhead.py [--trials 11] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from report import record

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.executor import PlanContext, PlanRunner
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeResult
from wait_and_dispatch.support.clock import VirtualClock

SHA = "d" * 40
REPO = Repository("octo", "platform")
LAYERS, WIDTH = 6, 5
QUEUED = 5.0


def node_id(layer: int, index: int) -> str:
    return f"n{layer}-{index}"


def needs_of(layer: int, index: int) -> list[str]:
    if layer == 0:
        return []
    return [node_id(layer - 1, index), node_id(layer - 1, (index + 1) % WIDTH)]


def build(rng: random.Random) -> tuple[dict[str, Any], str, dict[str, float]]:
    """The scenario, the plan's text, and each node's run length (queue + duration)."""
    durations = {
        node_id(layer, index): rng.uniform(120, 900) for layer in range(LAYERS) for index in range(WIDTH)
    }
    workflows = []
    runs = []
    for name, duration in durations.items():
        workflows.append(
            {
                "path": f".github/workflows/{name}.yml",
                "name": f"Build {name}",
                "on": ["workflow_dispatch", "push"],
                "inputs": {"distinct_id": {"type": "string"}},
                "timeline": {"queued": QUEUED, "duration": duration},
                "conclusion": "success",
            }
        )
        runs += [
            {
                "workflow": f"{name}.yml",
                "event": "push",
                "head_sha": "e" * 40,
                "head_branch": "old",
                "created": -50_000 + 5_000 * i,
                "timeline": {"queued": QUEUED, "duration": duration * rng.uniform(0.95, 1.05)},
                "conclusion": "success",
            }
            for i in range(5)
        ]
    scenario = {
        "options": {"return_run_details": True, "dispatch_visibility_delay": 3},
        "tokens": {"ci": {"secret": "ghs_bench_plan", "kind": "pat", "repos": "*", "rate_limit": 100_000}},
        "repos": {
            REPO.full_name: {
                "branches": {"main": SHA, "old": "e" * 40},
                "workflows": workflows,
                "runs": runs,
            }
        },
    }
    plan = {
        "name": "30 nodes",
        "repository": REPO.full_name,
        "concurrency": 10,
        "defaults": {"timeout": "2h", "dispatch": "always"},
        "nodes": {
            node_id(layer, index): {
                "workflow": f"{node_id(layer, index)}.yml",
                **({"needs": needs_of(layer, index)} if layer else {}),
            }
            for layer in range(LAYERS)
            for index in range(WIDTH)
        },
    }
    return scenario, yaml.safe_dump(plan, sort_keys=False), {k: v + QUEUED for k, v in durations.items()}


def critical_path(lengths: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for layer in range(LAYERS):
        for index in range(WIDTH):
            name = node_id(layer, index)
            start = max((finish[need] for need in needs_of(layer, index)), default=0.0)
            finish[name] = start + lengths[name]
    return max(finish.values())


@dataclass(frozen=True)
class Trial:
    critical: float
    elapsed: float
    layered: float
    serial: float
    requests: int
    units: int
    wall: float


def trial(seed: int) -> Trial:
    rng = random.Random(seed)
    scenario, plan_text, lengths = build(rng)
    clock = VirtualClock()
    with Emulator(Scenario.from_dict(scenario), clock=clock) as emulator:
        api = GitHubApi(base_url=emulator.api_url, token=emulator.token("ci"), clock=clock)
        with api:
            plan = load_plan("bench-plan.yml", text=plan_text)
            runner = PlanRunner(api, plan, PlanContext(repository=REPO, sha=SHA, ref_name="main"))
            wall = time.perf_counter()
            result = runner.run()
            wall = time.perf_counter() - wall
            bad = [o.name for o in result.outcomes.values() if o.result is not NodeResult.SUCCESS]
            if bad:
                raise SystemExit(f"benchmark plan failed: {bad}")
            stats = api.stats.snapshot()
    if clock.stalls:  # time moved because a thread was stuck, not because all were waiting
        raise SystemExit(f"the virtual clock stalled {clock.stalls} times: the figures would be wrong")
    layered = sum(max(lengths[node_id(layer, index)] for index in range(WIDTH)) for layer in range(LAYERS))
    return Trial(
        critical=critical_path(lengths),
        elapsed=result.elapsed,
        layered=layered,
        serial=sum(lengths.values()),
        requests=stats.requests,
        units=stats.units_spent,
        wall=wall,
    )


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def table(trials: list[Trial]) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    critical = med([t.critical for t in trials])
    elapsed = med([t.elapsed for t in trials])
    overhead = med([t.elapsed - t.critical for t in trials])
    ratio = med([t.elapsed / t.critical for t in trials])
    rows = [
        "| | Median | Ratio to critical path |",
        "|---|---:|---:|",
        f"| Critical path (the lower bound) | {minutes(critical)} | 1.00 |",
        f"| wait-and-dispatch plan | {minutes(elapsed)} | {ratio:.3f} |",
        f"| Overhead (plan - critical path) | {overhead:.0f} s | |",
        f"| Layer by layer | {minutes(med([t.layered for t in trials]))} | "
        f"{med([t.layered / t.critical for t in trials]):.2f} |",
        f"| One at a time | {minutes(med([t.serial for t in trials]))} | "
        f"{med([t.serial / t.critical for t in trials]):.2f} |",
    ]
    worst = max(t.elapsed - t.critical for t in trials)
    return "\n".join(
        [
            *rows,
            "",
            f"Medians over {len(trials)} trials (30 nodes, 6 layers of 5, 2 needs each, runs of 2 to 15 "
            f"minutes, concurrency 10); worst overhead {worst:.0f} s. Per plan: "
            f"{med([t.requests for t in trials]):.0f} requests, {med([t.units for t in trials]):.0f} "
            f"rate-limit units, {med([t.wall for t in trials]):.1f} s of real time on this machine. "
            "Measured in one run of `python3 benchmarks/plan_overhead.py`.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=11)
    parser.add_argument("--write", type=Path, help="refresh the table between the markers in this file")
    args = parser.parse_args(argv)
    trials = []
    for seed in range(args.trials):
        trials.append(trial(seed))
        t = trials[-1]
        print(
            f"trial {seed}: critical {minutes(t.critical)}, plan {minutes(t.elapsed)}, "
            f"overhead {t.elapsed - t.critical:.0f} s, {t.wall:.1f} s real",
            file=sys.stderr,
        )
    text = table(trials)
    print(text)
    if args.write:
        record(args.write, "plan-overhead", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
