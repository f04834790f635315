"""Where a plan's time went: each node's phases, and the chain of needs that set the plan's end.

Pure functions over a `PlanResult`. One time base: the clock the plan ran on (`Clock.now()`, the
runner's). A node's start and end are read on it. Its run's completion is GitHub's `updated_at`
once completed, and its start the moment a poll first saw it `in_progress`: GitHub's
`run_started_at` is the attempt's start, which for a first attempt is its `created_at`, before any
runner took a job (so queue time read from it is zero: int128/datadog-actions-metrics#285); it
stands in only when no poll saw the run in progress. For checks, the first check's `started_at`
and the last one's `completed_at`. The executor moves GitHub's times onto the clock with
`on_our_clock` (GitHub's clock as the `Date` of its answers tells it; see `clock_skew`).
A node's phases (docs/plans.md, "Where the time went"):

- queue: from the node's start (its needs met, its dispatch sent) to its run's start;
- run: from the run's start to its completion (for checks: the first check's start to the last
  check's completion);
- download: from the completion to the node's end (the artifacts downloaded, or the completion
  seen by a poll when there are none). A `collect` node is all download.

Each time is kept within the node's start and end, and after the one before it, so a run found
already running (or GitHub's one-second precision) never gives a phase a negative length.
A node that did not run (skipped, or never started) has no phases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from wait_and_dispatch.plans.model import NodeKind, NodeOutcome, PlanResult

# The `Date` header has one-second precision and is read after the answer travelled, so an
# offset this small is the measure's own error, not a skew worth correcting.
SKEW_TOLERANCE = 2.0


def clock_skew(server_time: float | None, now: float) -> float:
    """How far GitHub's clock is ahead of ours (seconds; 0 when unknown or within the error)."""
    if server_time is None:
        return 0.0
    skew = server_time - now
    return skew if abs(skew) >= SKEW_TOLERANCE else 0.0


def on_our_clock(outcome: NodeOutcome, skew: float) -> NodeOutcome:
    """The outcome with its run's GitHub times moved onto our clock."""
    if not skew:
        return outcome
    return replace(
        outcome,
        run_started=None if outcome.run_started is None else outcome.run_started - skew,
        run_completed=None if outcome.run_completed is None else outcome.run_completed - skew,
    )


@dataclass(frozen=True)
class Phase:
    name: str  # "queue", "run" or "download"
    start: float  # seconds from the plan's start
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class NodeTimes:
    """A node's times in seconds from the plan's start; `started` and `completed` are its run's
    (None when it had none, or it never started or completed)."""

    queued: float
    started: float | None
    completed: float | None
    downloaded: float
    collect: bool = False

    def phases(self) -> list[Phase]:
        """The node's phases in order, each of positive length."""
        if self.collect:
            marks = [("download", self.queued)]
        else:
            marks = [("queue", self.queued)]
            if self.started is not None:
                marks.append(("run", self.started))
            if self.completed is not None:
                marks.append(("download", self.completed))
        ends = [at for _, at in marks[1:]] + [self.downloaded]
        return [
            Phase(name, start, end) for (name, start), end in zip(marks, ends, strict=True) if end > start
        ]

    def as_json(self) -> dict[str, float | None]:
        return {
            "queued": round(self.queued, 1),
            "started": None if self.started is None else round(self.started, 1),
            "completed": None if self.completed is None else round(self.completed, 1),
            "downloaded": round(self.downloaded, 1),
        }


def node_times(
    outcome: NodeOutcome, origin: float, *, kind: NodeKind = NodeKind.WORKFLOW
) -> NodeTimes | None:
    """The node's times from `origin` (the plan's start), or None for a node that did not run."""
    if outcome.started is None or outcome.finished is None:
        return None
    begin, end = outcome.started, max(outcome.started, outcome.finished)

    def within(at: float | None, low: float) -> float | None:
        return None if at is None else min(max(at, low), end)

    started = within(outcome.run_started, begin)
    completed = within(outcome.run_completed, begin if started is None else started)
    return NodeTimes(
        queued=begin - origin,
        started=None if started is None else started - origin,
        completed=None if completed is None else completed - origin,
        downloaded=end - origin,
        collect=kind is NodeKind.COLLECT,
    )


def plan_times(result: PlanResult) -> dict[str, NodeTimes]:
    """Every node that ran, in the plan's order, with its times from the plan's start."""
    times: dict[str, NodeTimes] = {}
    for name, outcome in result.outcomes.items():
        node_time = node_times(outcome, result.started, kind=result.plan.nodes[name].kind)
        if node_time is not None:
            times[name] = node_time
    return times


@dataclass(frozen=True)
class CriticalPath:
    """The chain of needs that determined the plan's end, first node first."""

    nodes: tuple[str, ...]
    busy: float  # the seconds its nodes ran, added up
    elapsed: float  # the whole plan's seconds

    def as_json(self) -> dict[str, object]:
        return {"nodes": list(self.nodes), "duration": round(self.busy, 1)}


def critical_path(result: PlanResult) -> CriticalPath | None:
    """Walk back from the node that finished last through, at each step, the need that finished
    last (through needs that did not run, to what they waited for). None when no node ran."""
    ran = {
        name: outcome
        for name, outcome in result.outcomes.items()
        if outcome.started is not None and outcome.finished is not None
    }
    if not ran:
        return None

    def finish(name: str) -> float:
        finished = ran[name].finished
        assert finished is not None  # nosec B101 # an invariant for mypy, not a check of input
        return finished

    def needs_that_ran(name: str, seen: set[str]) -> Iterator[str]:
        for need in result.plan.nodes[name].needs:
            if need in seen:
                continue
            seen.add(need)
            if need in ran:
                yield need
            else:
                yield from needs_that_ran(need, seen)

    # max() keeps the first of equals: the plan's order breaks ties.
    chain = [max(ran, key=finish)]
    while needs := list(needs_that_ran(chain[-1], set())):
        chain.append(max(needs, key=finish))
    chain.reverse()
    busy = sum(finish(name) - (ran[name].started or 0.0) for name in chain)
    return CriticalPath(nodes=tuple(chain), busy=busy, elapsed=result.elapsed)
