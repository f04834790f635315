"""What a plan is once loaded, and what running it gives: plain frozen data.

A node's `values` are the action's inputs by name (`workflow`, `inputs`, `timeout`...), so a plan
node means exactly what the same `with:` would mean in a workflow step, and `jobs.read_settings`
turns it into engine requests. Text may still hold `${{ needs.* }}` templates: those are only
known once the needed nodes have finished, and are rendered just before the node starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wait_and_dispatch.engine.failures import FailureDigest
from wait_and_dispatch.support.errors import SourceSpan, WaitAndDispatchError
from wait_and_dispatch.support.input_text import input_text

DEFAULT_CONCURRENCY = 8

# The node fields that are action inputs, handed to `jobs.read_settings` (docs/plans.md).
# `inputs` and `client-payload` are mappings; `artifacts`, `checks`, `ignore-checks` lists.
NODE_INPUTS: tuple[str, ...] = (
    "workflow",
    "event-type",
    "client-payload",
    "ref",
    "sha",
    "event",
    "dispatch",
    "inputs",
    "correlation-input",
    "discovery-timeout",
    "wait",
    "timeout",
    "poll-interval",
    "max-poll-interval",
    "allowed-conclusions",
    "cancel-on-timeout",
    "fail-on-failed-job",
    "cancel-on-failure",
    "checks",
    "checks-regex",
    "ignore-checks",
    "checks-discovery-timeout",
    "fail-fast",
    "artifacts",
    "artifacts-from-branch",
    "run-id",
    "path",
    "merge-multiple",
    "allow-forks",
    "skip-decompress",
)


# A workflow's file name in .github/workflows, as `checks-workflows:` takes it: one part of a git
# ref's name too (no `..`, no leading `.`), where advance mode keeps it (plans/advance_checks.py).
WORKFLOW_FILE = re.compile(r"(?!.*\.\.)[A-Za-z0-9_-][A-Za-z0-9_.-]*\.ya?ml")


def plan_text(value: Any) -> str:
    """A plan file's value as action input text, as `read_settings` takes it: `support.input_text`
    with lists one item a line, mappings as JSON, and YAML's numbers as GitHub writes them (`3.0`
    is `3`)."""
    return input_text(value, lists_and_mappings=True, yaml_numbers=True)


class NodeKind(StrEnum):
    WORKFLOW = "workflow"  # find or dispatch a workflow run (workflow: or event-type:), or use run-id
    CHECKS = "checks"  # wait for check runs on a SHA
    COLLECT = "collect"  # download artifacts from earlier nodes' runs (and maybe select and gate)


@dataclass(frozen=True)
class Collect:
    """`collect:` take artifacts from the runs of earlier nodes (matrix groups count as all members)."""

    sources: tuple[str, ...]  # node names, after matrix expansion
    patterns: tuple[str, ...]  # artifact names or globs; empty: every artifact
    path: str  # each artifact goes into path/<artifact name>/


@dataclass(frozen=True)
class Select:
    """`select:` pick one collected artifact by a number in a JSON file it holds."""

    file: str  # path of the JSON file inside each artifact, e.g. metrics.json
    key: str  # the field to compare, e.g. dice (dots for nested fields: scores.dice)
    highest: bool  # max (True) or min (False)


@dataclass(frozen=True)
class PlanNode:
    name: str  # unique id, after matrix expansion: train-1
    title: str  # display name (`name:`), defaults to the id
    kind: NodeKind
    needs: tuple[str, ...]  # node ids, after matrix expansion, in the order written
    condition: str  # the `if:` expression without `${{ }}`, vars written in; "" means success()
    values: Mapping[str, Any]  # action inputs by name (see NODE_INPUTS): str, list[str] or mapping
    collect: Collect | None = None
    select: Select | None = None
    gate: str | None = None  # expression without `${{ }}`, over `selected` and `needs`
    continue_on_error: bool = False
    group: str = ""  # the node's name before matrix expansion ("" when not a matrix node)
    matrix: Mapping[str, Any] = field(default_factory=dict)  # this member's matrix values
    span: SourceSpan | None = None
    written_condition: str = ""  # the `if:` as written (without `${{ }}`), for messages
    # A checks node's `checks-workflows:` the workflow files (in the plan's repository) whose runs
    # carry its checks: in advance mode their completions advance it (plans/advance_checks.py).
    checks_workflows: tuple[str, ...] = ()

    @property
    def always(self) -> bool:
        """True when the condition can run the node although a need failed (always(), failure()...).

        Function names are case-insensitive, as on GitHub.
        """
        text = self.condition.replace(" ", "").lower()
        return any(f"{fn}()" in text for fn in ("always", "failure", "cancelled"))


@dataclass(frozen=True)
class Plan:
    file: str  # as given, for messages
    name: str
    environment: str | None  # the overlay applied, if any
    environments: tuple[str, ...]  # every overlay the file defines
    repository: str | None
    concurrency: int
    fail_fast: bool
    timeout: float | None  # seconds for the whole plan, None: only each node's own
    vars: Mapping[str, Any]
    nodes: Mapping[str, PlanNode]  # in a topological order (needs before the nodes that need them)
    on: Mapping[str, Any] | None = None  # triggers for the generated orchestrator (--emit-workflow)


class NodeResult(StrEnum):
    """A node's result, in the words of GitHub's `needs.<job>.result`."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class NodeOutcome:
    name: str
    result: NodeResult
    outputs: Mapping[str, str]  # the action's outputs by name (empty strings when not set)
    error: WaitAndDispatchError | None = None  # why it failed
    reason: str = ""  # one line for a person: "skipped: base failed", "run 123 failed"
    started: float | None = None  # clock seconds: the node started (its needs met)
    finished: float | None = None  # ... and ended (its downloads done)
    # When its run (or, for checks, the first check) started and when it (the last check) completed:
    # GitHub's times, moved onto the clock's time base by the executor (plans/timeline.py).
    run_started: float | None = None
    run_completed: float | None = None
    run_url: str = ""
    allowed_failure: bool = False  # failed, but continue-on-error made it count as a success
    failure: FailureDigest | None = None  # what its failed run or checks looked like inside

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    @property
    def counts_as_success(self) -> bool:
        return self.result is NodeResult.SUCCESS or self.allowed_failure


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    outcomes: Mapping[str, NodeOutcome]  # every node, in the plan's order
    conclusion: NodeResult  # success, failure or cancelled (a plan is never "skipped")
    started: float
    finished: float
    dispatched: tuple[int, ...] = ()  # ids of the runs this plan started

    @property
    def elapsed(self) -> float:
        return self.finished - self.started

    def failed(self) -> list[NodeOutcome]:
        return [
            o
            for o in self.outcomes.values()
            if o.result in (NodeResult.FAILURE, NodeResult.CANCELLED) and not o.allowed_failure
        ]

    def as_json(self) -> dict[str, Any]:
        """Per-node outputs for the `nodes` output and `--json`."""
        return {
            name: {
                "result": o.result.value,
                "outputs": dict(o.outputs),
                "reason": o.reason,
                "duration": None if o.duration is None else round(o.duration, 1),
            }
            for name, o in self.outcomes.items()
        }
