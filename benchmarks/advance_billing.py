#!/usr/bin/env python3
"""Benchmark: what advance mode saves, in billed job-minutes and API units, on the seed pipelines.

Each example in examples/ runs against its scenario, whose runs take the seeds' real durations
(base image 15 min, training 25 min...), three ways:

- **one waiting job**: the whole plan in one job (the action's `plan:`), which waits from the first
  dispatch to the last completion: billed its elapsed time, rounded up to a whole minute;
- **a waiting job per node**: the orchestrator `plan --emit-workflow` writes, one job per node,
  each waiting for its own run (a skipped node's job is skipped, not billed): each billed its
  node's time, rounded up;
- **advance mode**: `plan --emit-workflow --advance`'s one short job per event, every orchestrator
  run played end to end (the action's step with `advance: true`, as tests/examples/test_advance.py
  plays it), each billed its own time rounded up: at least a minute each.

GitHub-hosted Linux runners bill each job by the minute, rounded up (GitHub docs, "About billing
for GitHub Actions"). Time is the emulator's clock: the runs take their real durations, requests
are real HTTP on loopback; an orchestrator run's time is its clock time (GitHub's one second
between writes included) plus the real time its step took here. API units are the requests that
count against the rate limit (all but 304s), made by the plan's own token.

    python3 benchmarks/advance_billing.py [--write docs/benchmarks.md --write README.md] [--breakdown]

A second table widens one plan (a node, then `width` nodes side by side whose runs complete one
after another, then a join) to show what one event costs as the plan grows.

`--breakdown` also prints, for each orchestrator run, its counted requests by kind (method and
path, ids as `{id}`), the one that saw the plan end marked `final`.
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from report import publish, record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.examples.advance_harness import ORCHESTRATOR, TOKEN, AdvanceHarness  # noqa: E402
from tests.examples.conftest import Example, Runner  # noqa: E402
from tests.examples.fan_plans import fan_plan, fan_scenario  # noqa: E402
from tests.examples.test_advance_checks import without_the_waiting_job  # noqa: E402

# The seed pipelines as the examples' tests run them by default.
SEEDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("000-docker-image-chain", {}),
    ("001-model-training", {}),
    ("002-required-backend-check", {"ref": "main"}),
    ("003-gitops-demo", {}),
    ("004-orchestrator-per-environment", {"environment": "dev", "ref": "develop"}),
)


def billed(seconds: float) -> int:
    """A job's billed minutes: rounded up to a whole minute, and a job that ran bills one at least."""
    return max(1, math.ceil(seconds / 60))


@dataclass
class Row:
    seed: str
    nodes: int
    elapsed: float  # the plan, first dispatch to last completion (waiting mode)
    one_job: int
    per_node: int
    per_node_jobs: int
    advance: int
    advance_runs: int
    units_waiting: int
    units_advance: int
    units_per_run: list[int]  # what each orchestrator run spent
    run_times: list[float]  # the orchestrator runs, but those that waited for a checks node
    checks_waits: list[float]
    kinds_per_run: list[tuple[str, collections.Counter[str]]]  # each run's event and requests by kind


def kind(method: str, path: str) -> str:
    """A request's kind: its method and path within the repository, ids and ref names elided."""
    path = re.sub(r"^/repos/[^/]+/[^/]+", "", path)
    path = re.sub(r"/git/(matching-refs|refs|ref)/.*", r"/git/\1/*", path)
    path = re.sub(r"/commits/[^/]+", "/commits/{ref}", path)
    return f"{method} {re.sub(r'/[0-9]+(?=/|$)', '/{id}', path)}"


def measure(folder: str, options: dict[str, Any], workdir: Path) -> Row:
    example = Example(folder)
    if folder.startswith("002"):
        # pr.yaml's own backend-status-check job is the waiting job that runs the plan there; in
        # advance mode the orchestrator runs it, so pr.yaml ends with its last build (both ways
        # measured alike; the check waits for the builds only, either way).
        without_the_waiting_job(example)
    waiting = Runner(workdir / "waiting")
    try:
        waited = waiting(example, **options)
        units_waiting = waiting.started[-1][1].stats.snapshot().units_spent
    finally:
        waiting.close()
    ran_nodes = [o for o in waited.result.outcomes.values() if o.duration is not None and o.started]
    per_node = sum(billed(o.duration or 0.0) for o in ran_nodes)

    patches: list[Any] = []

    def patch(target: str, **kwargs: Any) -> object:
        patcher = mock.patch(target, **kwargs)
        patches.append(patcher)
        return patcher.start()

    harness = AdvanceHarness(example.scenario, example.plan_path, workdir / "advance", patch, **options)
    try:
        ran = harness.run()
        times = [i.ended_at - i.started_at + harness.wall[i.run_id] for i in ran.invocations]
        # The runs that waited for a checks node (the waiting fallback of that node only).
        waited_checks = [
            t for t, i in zip(times, ran.invocations, strict=True) if "] waiting for checks" in ran.log(i)
        ]
        counted = [  # the orchestrator's own start (the harness's dispatch) is no orchestrator run's
            r
            for r in harness.emulator.requests
            if r.token_name == TOKEN and r.host == "api" and r.status != 304 and ORCHESTRATOR not in r.path
        ]
        per_run = [sum(1 for r in counted if i.started_at <= r.time <= i.ended_at) for i in ran.invocations]
        final = ran.final
        kinds = [
            (
                f"{i.event_name}{' final' if i is final else ''}",
                collections.Counter(
                    kind(r.method, r.path) for r in counted if i.started_at <= r.time <= i.ended_at
                ),
            )
            for i in ran.invocations
        ]
        assert ran.results() == waited.results(), (ran.results(), waited.results())
    finally:
        harness.close()
        for patcher in patches:
            patcher.stop()
    return Row(
        seed=folder[:3],
        nodes=len(waited.plan.nodes),
        elapsed=waited.result.elapsed,
        one_job=billed(waited.result.elapsed),
        per_node=per_node,
        per_node_jobs=len(ran_nodes),
        advance=sum(billed(t) for t in times),
        advance_runs=len(ran.invocations),
        units_waiting=units_waiting,
        units_advance=len(counted),
        units_per_run=per_run,
        run_times=[t for t in times if t not in waited_checks],
        checks_waits=waited_checks,
        kinds_per_run=kinds,
    )


def breakdown(row: Row) -> str:
    """Each orchestrator run's counted requests by kind, most first."""
    lines = [f"{row.seed}: {row.units_advance} units in {row.advance_runs} runs"]
    for event, kinds in row.kinds_per_run:
        shown = ", ".join(f"{name} x{count}" for name, count in kinds.most_common())
        lines.append(f"  {event}: {sum(kinds.values())}: {shown}")
    return "\n".join(lines)


# The widths of the fan plan measured.
FAN_WIDTHS = (2, 4, 8, 16)


@dataclass
class FanRow:
    width: int
    runs: int
    units: int
    quiet: list[int]  # the units of each completion that dispatches nothing
    fan_out: int  # the completion that dispatches the width nodes
    final: int  # the run that finds the plan over


def measure_fan(width: int, workdir: Path) -> FanRow:
    plan_path = workdir / f"fan-{width}.yml"
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    plan_path.write_text(fan_plan(width), encoding="utf-8")
    patches: list[Any] = []

    def patch(target: str, **kwargs: Any) -> object:
        patcher = mock.patch(target, **kwargs)
        patches.append(patcher)
        return patcher.start()

    harness = AdvanceHarness(fan_scenario(width), plan_path, workdir / f"fan-{width}", patch)
    try:
        ran = harness.run()
        assert ran.conclusion == "success", ran.conclusion
        counted = [
            r
            for r in harness.emulator.requests
            if r.token_name == TOKEN and r.host == "api" and r.status != 304 and ORCHESTRATOR not in r.path
        ]
        per_run = {
            i.run_id: sum(1 for r in counted if i.started_at <= r.time <= i.ended_at) for i in ran.invocations
        }
        # The start, first's completion (the fan-out), each w<i>'s, the last of which dispatches join,
        # and join's (the end).
        completions = [i for i in ran.invocations if i.event_name == "workflow_run"]
        fan_out, quiet, final = completions[0], completions[1:-2], ran.final
    finally:
        harness.close()
        for patcher in patches:
            patcher.stop()
    return FanRow(
        width=width,
        runs=len(ran.invocations),
        units=len(counted),
        quiet=[per_run[i.run_id] for i in quiet],
        fan_out=per_run[fan_out.run_id],
        final=per_run[final.run_id],
    )


def fan_table(rows: list[FanRow]) -> str:
    lines = [
        "| Width | Nodes | Orchestrator runs | Units | A completion that dispatches nothing: median / max | "
        "The fan-out (dispatches the width) | The run that ends the plan |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.width} | {row.width + 2} | {row.runs} | {row.units} | "
            f"{statistics.median(row.quiet):g} / {max(row.quiet)} | {row.fan_out} | {row.final} |"
        )
    lines += [
        "",
        "Counted units (requests that count against the rate limit) of each orchestrator run, the plan "
        "`first`, then `w0` ... `w<width-1>` (each run a minute longer than the one before), then `join`. "
        "Measured in one run of `python3 benchmarks/advance_billing.py`.",
    ]
    return "\n".join(lines)


def table(rows: list[Row]) -> str:
    lines = [
        "| Seed | Nodes | Pipeline | One waiting job | A waiting job per node | Advance mode | "
        "Advance / one job | Units: one job / advance | Units per advance run: median / max | "
        "Advance run: median / max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        shown = row.run_times or [0.0]
        lines.append(
            f"| {row.seed} | {row.nodes} | {row.elapsed / 60:.1f} min | {row.one_job} min | "
            f"{row.per_node} min ({row.per_node_jobs} jobs) | {row.advance} min ({row.advance_runs} runs) | "
            f"{row.advance / row.one_job:.2f} | {row.units_waiting} / {row.units_advance} | "
            f"{statistics.median(row.units_per_run):g} / {max(row.units_per_run)} | "
            f"{statistics.median(shown):.1f} s / "
            f"{max(shown):.1f} s |"
        )
    every = [t for row in rows for t in row.run_times]
    checks = [t for row in rows for t in row.checks_waits]
    lines += [
        "",
        f"Billed minutes, each job rounded up to a whole minute. {len(every)} advance runs that wait for "
        f"nothing: median {statistics.median(every):.1f} s, max {max(every):.1f} s (clock time with "
        "GitHub's one second between writes, plus the step's real time here); "
        + (
            f"the run times in the table leave out the {len(checks)} that waited for a checks node "
            f"({', '.join(f'{t / 60:.1f} min' for t in checks)})"
            if checks
            else "no run waited for a checks node (seed 002's advances on the completion of pr.yaml's runs)"
        )
        + ". Measured in one run of `python3 benchmarks/advance_billing.py`.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--write",
        type=Path,
        action="append",
        default=[],
        help="refresh the table between the markers in this file (repeatable: docs/benchmarks.md, README.md)",
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="print each orchestrator run's counted requests by kind"
    )
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed, options in SEEDS:
            rows.append(measure(seed, options, Path(folder) / seed))
            row = rows[-1]
            print(
                f"{seed}: one job {row.one_job} min, per node {row.per_node} min, advance {row.advance} min",
                file=sys.stderr,
            )
    if args.breakdown:
        print("\n".join(breakdown(row) for row in rows), file=sys.stderr)
    text = table(rows)
    publish("advance-billing", text, None)
    with tempfile.TemporaryDirectory() as folder:
        fans = fan_table([measure_fan(width, Path(folder)) for width in FAN_WIDTHS])
    publish("advance-fan", fans, None)
    for doc in args.write:
        record(doc, "advance-billing", text)
        if "<!-- advance-fan:start -->" in doc.read_text(encoding="utf-8"):
            record(doc, "advance-fan", fans)
    return 0


if __name__ == "__main__":
    sys.exit(main())
