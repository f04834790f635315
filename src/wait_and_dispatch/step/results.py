"""What `--json` prints: one typed object per command, versioned, described by `result.schema.json`.

The action's outputs are strings (GitHub stores every step output as a string); the command line
gives the same facts typed: numbers as numbers, `dispatched` as a boolean, artifacts and checks
as a list and an object, absent values as null. A job's object is built from the very outputs
the action writes, so the two cannot disagree, and a plan node's `outputs` have the same shape.
`SCHEMA_VERSION` goes up whenever a field changes meaning or goes away (adding one does not).
docs/cli.md documents every field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from wait_and_dispatch.support.errors import DispatchInterrupted, ExitCode, WaitAndDispatchError

if TYPE_CHECKING:
    from wait_and_dispatch.engine.failures import FailureDigest
    from wait_and_dispatch.engine.results import ApiCost, ChecksResult, RunResult

# 2: `failure` (the failed jobs' steps, annotations and log tails) on runs, checks and plan nodes.
SCHEMA_VERSION = 2
SCHEMA_RESOURCE = "result.schema.json"


def schema_text() -> str:
    """The shipped JSON Schema (Draft 2020-12) of every `--json` object."""
    return resources.files("wait_and_dispatch.step").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _text(text: str) -> str | None:
    return text or None


def _json(text: str, empty: Any) -> Any:
    if not text:
        return empty
    try:
        return json.loads(text)
    except ValueError:  # never ours: the outputs are written by json.dumps
        return empty


def job_fields(outputs: Mapping[str, str]) -> dict[str, Any]:
    """A plan node's outputs (a run's, a wait for checks', or a collection's), typed, in one shape."""
    get = outputs.get
    result = _json(get("result", ""), {})
    if not isinstance(result, dict):
        result = {}
    api = result.get("api")
    return {
        "outcome": result.get("outcome"),
        "run_id": _integer(get("run-id", "")),
        "run_url": _text(get("run-url", "")),
        "run_number": _integer(get("run-number", "")),
        "run_attempt": _integer(get("run-attempt", "")),
        "status": _text(get("status", "")),
        "conclusion": _text(get("conclusion", "")),
        "dispatched": get("dispatched", "") == "true",
        "head_sha": _text(get("head-sha", "")),
        "duration": _integer(get("duration", "")),
        "artifacts": _json(get("artifacts", ""), []),
        "download_path": _text(get("download-path", "")),
        "checks": _json(get("checks", ""), {}),
        "missing_checks": list(result.get("missing_checks", [])),
        "waited": result.get("waited"),
        "api": dict(api) if isinstance(api, dict) else None,
    }


def error_fields(error: WaitAndDispatchError | None) -> dict[str, Any] | None:
    """The error a command ends with (it also goes to stderr as `error:` and `hint:` lines)."""
    if error is None:
        return None
    return {"exit_code": int(error.exit_code), "message": error.message, "hint": error.hint or None}


def failure_fields(digest: FailureDigest | None, budget: int | None = None) -> dict[str, Any] | None:
    """What the failed run or checks looked like inside (`engine/failures.py`), its texts within
    `budget` characters (default: one digest's `OUTPUT_BUDGET`); null when nothing failed, or when
    the outcome is not a failure (a timeout)."""
    if digest is None:
        return None
    return digest.as_output() if budget is None else digest.as_output(budget)


def with_failure_within(result: str, digest: FailureDigest, budget: int) -> str:
    """`result` (a run's or checks' `result` output, one line of JSON) with its `failure` cut to
    `budget` characters: a plan shares one budget among its failed nodes."""
    try:
        document = json.loads(result)
    except ValueError:
        return result
    if not isinstance(document, dict) or document.get("failure") is None:
        return result
    document["failure"] = failure_fields(digest, budget)
    return dumps(document)


def api_fields(cost: ApiCost) -> dict[str, Any]:
    return {
        "requests": cost.requests,
        "not_modified": cost.not_modified,
        "rate_limit_units": cost.rate_limit_units,
        "rate_limit_remaining": cost.rate_limit_remaining,
    }


def run_result(command: str, result: RunResult) -> dict[str, Any]:
    """`run` or `download` (and the action's `result` output for a run): the run found or
    dispatched, waited for and downloaded from. Its `outcome` is `artifact-error` when the run
    went well and its artifacts did not, so that it never says success beside an error."""
    run = result.run
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "dry_run": False,
        "outcome": "artifact-error" if result.artifact_error is not None else result.outcome.value,
        "run_id": run.id,
        "run_url": run.html_url or None,
        "run_number": run.run_number,
        "run_attempt": run.run_attempt,
        "status": run.status or None,
        "conclusion": run.conclusion or None,
        "dispatched": result.dispatched,
        "head_sha": run.head_sha or None,
        "duration": None if result.duration is None else round(result.duration),
        "artifacts": [artifact.as_output() for artifact in result.artifacts],
        "download_path": str(result.download_path) if result.download_path else None,
        "waited": round(result.waited, 1),
        "api": api_fields(result.cost),
        "failure": failure_fields(result.failure),
        "error": error_fields(result.error()),
    }


def checks_result(result: ChecksResult) -> dict[str, Any]:
    """`checks` (and the action's `result` output for a wait for checks): checks fields only."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "checks",
        "dry_run": False,
        "outcome": result.outcome.value,
        "head_sha": result.sha,
        "checks": dict(sorted(result.conclusions.items())),
        "missing_checks": list(result.missing),
        "waited": round(result.waited, 1),
        "api": api_fields(result.cost),
        "failure": failure_fields(result.failure),
        "error": error_fields(result.error()),
    }


def job_result(
    command: str, outputs: Mapping[str, str], error: WaitAndDispatchError | None
) -> dict[str, Any]:
    """`run`, `checks` or `download`: the very object of the action's `result` output, under the
    command's name (`run --run-id` is `download` to the action)."""
    document = _json(outputs.get("result", ""), {})
    return {**document, "command": command, "error": error_fields(error)}


def job_preview(command: str, lines: Sequence[str]) -> dict[str, Any]:
    """`run`, `checks` or `download` with `--dry-run`: what each step would do, one line each."""
    return {"schema_version": SCHEMA_VERSION, "command": command, "dry_run": True, "preview": list(lines)}


def node_fields(
    result: str,
    outputs: Mapping[str, str],
    reason: str,
    duration: float | None,
    timeline: Mapping[str, float | None] | None = None,
    failure: FailureDigest | None = None,
) -> dict[str, Any]:
    """A plan node: its result, its outputs typed, `timeline` its times in seconds from the plan's
    start (`queued`, `started`, `completed`, `downloaded`; None for a node that did not run), and
    its own run's or checks' `failure`."""
    return {
        "result": result,
        "reason": reason or None,
        "duration": None if duration is None else round(duration, 1),
        "timeline": None if timeline is None else dict(timeline),
        "failure": failure_fields(failure),
        "outputs": job_fields(outputs),
    }


def plan_result(
    plan: str,
    conclusion: str,
    elapsed: float,
    nodes: Mapping[str, dict[str, Any]],
    dispatched: Sequence[int],
    error: WaitAndDispatchError | None,
    critical_path: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`plan FILE`: the plan's conclusion and every node's result and outputs, in the plan's order,
    and its critical path (`nodes`, `duration`: the chain of needs that set its end)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "plan",
        "dry_run": False,
        "plan": plan,
        "conclusion": conclusion,
        "elapsed": round(elapsed, 1),
        "nodes": dict(nodes),
        "critical_path": None if critical_path is None else dict(critical_path),
        "dispatched": list(dispatched),
        "error": error_fields(error),
    }


def plan_node_result(
    plan: str, node: str, fields: dict[str, Any], error: WaitAndDispatchError | None
) -> dict[str, Any]:
    """`plan FILE --node NAME` (a generated orchestrator's job): that one node."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "plan",
        "dry_run": False,
        "plan": plan,
        "node": node,
        **fields,
        "error": error_fields(error),
    }


def plan_preview(plan: str, preview: Sequence[tuple[str, Sequence[str]]]) -> dict[str, Any]:
    """`plan FILE --dry-run`: each node's lines of what it would do, in the plan's order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "plan",
        "dry_run": True,
        "plan": plan,
        "preview": [{"node": name, "lines": list(lines)} for name, lines in preview],
    }


def failure(
    command: str, error: WaitAndDispatchError | None, interrupt: KeyboardInterrupt | None = None
) -> dict[str, Any]:
    """A command that ended before it had a result (a usage or API error, or an interrupt,
    `error` None): only what went wrong."""
    unfound = interrupt if isinstance(interrupt, DispatchInterrupted) else None  # how to find its run
    fields = error_fields(error) or {
        "exit_code": int(ExitCode.INTERRUPTED),
        "message": f"interrupted: {unfound.message}" if unfound else "interrupted",
        "hint": unfound.hint if unfound else None,
    }
    return {"schema_version": SCHEMA_VERSION, "command": command, "error": fields}


def dumps(value: Mapping[str, Any]) -> str:
    """One line of JSON, ASCII only (a run title in any script survives any console encoding).

    `##[` only occurs inside a string (`#` is nothing in JSON's syntax), and there its `[` is
    written `\\u005b`, the same text to a JSON reader: printed by a workflow step, the line holds no
    `##[name]data` command in the runner's older form, which it finds anywhere in a line
    (docs/github-behaviour.md#the-runner-contract)."""
    return json.dumps(value).replace("##[", "##\\u005b")
