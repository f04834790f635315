"""A collect node: artifacts from the runs of earlier nodes, one of them selected, a gate judged.

The artifacts are downloaded into `path/<artifact name>/`. When the runs of several nodes have an
artifact of the same name (a matrix's members upload the same name, and an unzipped artifact is
named after its file), every artifact goes into `path/<node>/<artifact name>/` instead, so
nothing is overwritten and no node's folder mixes with an artifact's.
`select:` picks the artifact whose JSON file holds the
highest (or lowest) number; `gate:` is an expression over `selected` and `needs` that must hold
(docs/plans.md, "Collecting artifacts").
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine import artifact_selection
from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.github_objects import Artifact, Repository, WorkflowRun
from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.engine.requests import ArtifactSelection
from wait_and_dispatch.engine.results import DownloadedArtifact
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, PlanNode, plan_text
from wait_and_dispatch.plans.scheduler import empty_outputs
from wait_and_dispatch.step.catalogue import find_input
from wait_and_dispatch.support import expressions
from wait_and_dispatch.support.errors import (
    ArtifactError,
    ArtifactNotFoundError,
    GateFailedError,
    UsageError,
    WaitAndDispatchError,
)

_DEFAULT_TIMEOUT = find_input("timeout").default


def collect(
    api: GitHubApi,
    repository: Repository,
    node: PlanNode,
    engine: Engine,
    *,
    context: Mapping[str, Any],
    needs: Mapping[str, Any],
    values: Mapping[str, Any],
    workdir: Path,
    plan_deadline: float | None,
) -> NodeOutcome:
    """Download the artifacts of the runs of the node's sources, select one and judge the gate.

    `context` is the node's expression context, `needs` GitHub's `needs` of the node, `values`
    its values rendered; `plan_deadline` the plan's timeout on the API clock, if it has one.
    Started before the plan's deadline, the node's downloads end there; started at or after it,
    the node runs all the same (docs/plans.md), on its own `timeout`: under a deadline already
    passed, its downloads would end before their first byte.
    """
    assert node.collect is not None  # nosec B101 # an invariant for mypy, not a check of input
    collect = node.collect
    root = workdir / collect.path
    timeout = parse_duration(plan_text(values.get("timeout") or _DEFAULT_TIMEOUT), what="timeout")
    now = api.clock.now()
    deadline = now + timeout
    if plan_deadline is not None and now < plan_deadline:
        deadline = min(deadline, plan_deadline)
    sources: list[tuple[str, int]] = []
    left_out: list[str] = []
    for source in collect.sources:
        need = needs.get(source) or {}
        outputs = need.get("outputs") or {}
        run_text = str(outputs.get("run-id") or "").strip()
        if run_text.isdigit():
            sources.append((source, int(run_text)))
        else:
            left_out.append(f"{source} ({need.get('result') or 'no result'})")
    if not sources:
        raise ArtifactNotFoundError(
            f"no runs to collect from: {', '.join(left_out)} have no run",
            hint="collect takes artifacts from the runs of the nodes it names; they did not run",
        )
    chosen = _choose_artifacts(api, repository, collect.patterns, sources, deadline)
    by_node = _names_shared(chosen)
    downloaded: list[tuple[str, int, DownloadedArtifact]] = []
    runs: dict[int, WorkflowRun] = {}
    for source, run_id, artifact in chosen:
        run = runs.get(run_id) or engine.get_run(repository, run_id)
        runs[run_id] = run
        folder = root / source / artifact.name if by_node else root / artifact.name
        selection = ArtifactSelection(patterns=(artifact.name,), path=folder)
        for item in engine.download_artifacts(repository, run, selection, deadline=deadline):
            downloaded.append((source, run_id, item))
    listed = [item.as_output() for _, _, item in downloaded]
    selected: dict[str, Any] | None = None
    chosen_run: int | None = None
    if node.select is not None:
        selected, chosen_run = _select(node, downloaded)
    gate_passed: bool | None = None
    error: WaitAndDispatchError | None = None
    if node.gate is not None:
        gate_context = {**context, "selected": selected or {}}
        try:
            gate_passed = expressions.truthy(
                expressions.evaluate(expressions.unwrap(node.gate), gate_context)
            )
        except expressions.ExpressionError as problem:
            raise UsageError(f"{node.name}.gate: {problem}", hint="see docs/plans.md, Expressions") from None
        if not gate_passed:
            error = GateFailedError(f"quality gate failed: {_gate_shown(node.gate, selected)}")
    outputs = empty_outputs()
    outputs.update(
        {
            "status": "completed",
            "conclusion": "success" if error is None else "failure",
            "dispatched": "false",
            "artifacts": json.dumps(listed),
            "download-path": str(root),
            "checks": "{}",
            "result": json.dumps({"artifacts": listed, "selected": selected, "gate": gate_passed}),
        }
    )
    run_url = ""
    if chosen_run is not None:
        # The selected artifact's run: a later node can take more from it (`run-id:`).
        run_url = runs[chosen_run].html_url
        outputs["run-id"] = str(chosen_run)
        outputs["run-url"] = run_url
    count = f"{len(downloaded)} artifact{'s' if len(downloaded) != 1 else ''}"
    parts = [f"collected {count} from {', '.join(s for s, _ in sources)}"]
    if left_out:
        parts.append(f"left out {', '.join(left_out)}")
    if selected is not None:
        parts.append(f"selected {selected['artifact']} of {selected['node']}")
    if error is not None:
        return NodeOutcome(
            node.name, NodeResult.FAILURE, outputs, error=error, reason=error.message, run_url=run_url
        )
    return NodeOutcome(node.name, NodeResult.SUCCESS, outputs, reason="; ".join(parts), run_url=run_url)


def _choose_artifacts(
    api: GitHubApi,
    repository: Repository,
    patterns: Sequence[str],
    sources: Sequence[tuple[str, int]],
    deadline: float,
) -> list[tuple[str, int, Artifact]]:
    """The artifacts of the sources' runs that the patterns name, in the sources' order."""
    available: list[tuple[str, int, list[Artifact]]] = [
        (
            source,
            run_id,
            artifact_selection.select_artifacts(
                artifact_selection.list_artifacts(api, repository, run_id, deadline=deadline), ()
            ),
        )
        for source, run_id in sources
    ]
    chosen: list[tuple[str, int, Artifact]] = []
    wanted = [p for p in patterns if p.strip()]
    for source, run_id, artifacts in available:
        for artifact in artifacts:
            if wanted and not any(_matches(artifact.name, p) for p in wanted):
                continue
            chosen.append((source, run_id, artifact))
    names = {artifact.name for _, _, artifact in chosen}
    missing = [p for p in wanted if not any(_matches(name, p) for name in names)]
    if missing:
        has = "; ".join(
            f"{source} (run {run_id}): {', '.join(a.name for a in artifacts) or 'none'}"
            for source, run_id, artifacts in available
        )
        raise ArtifactNotFoundError(
            f"no artifact matching {', '.join(repr(p) for p in missing)} in the runs collected from; "
            f"they have {has}"
        )
    return chosen


def _names_shared(chosen: Sequence[tuple[str, int, Artifact]]) -> bool:
    """Whether the runs of two nodes have an artifact of the same name."""
    nodes_of: dict[str, set[str]] = {}
    for source, _, artifact in chosen:
        nodes_of.setdefault(artifact.name, set()).add(source)
    return any(len(nodes) > 1 for nodes in nodes_of.values())


def _matches(name: str, pattern: str) -> bool:
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


def _select(
    node: PlanNode, downloaded: Sequence[tuple[str, int, DownloadedArtifact]]
) -> tuple[dict[str, Any], int]:
    """The artifact whose JSON file has the highest (or lowest) value: (`selected`, its run id)."""
    assert node.select is not None  # nosec B101 # an invariant for mypy, not a check of input
    select = node.select
    best: tuple[float, dict[str, Any], int] | None = None
    for source, run_id, artifact in downloaded:
        path = Path(artifact.path) / select.file
        where = f"{select.file} of artifact {artifact.name} (node {source}, run {run_id})"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtifactNotFoundError(
                f"{where} does not exist",
                hint=f"select.file is a path inside each artifact; this one is unpacked in {artifact.path}",
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
            raise ArtifactError(
                f"{where} is not readable JSON: {problem}",
                hint="select.file must name a UTF-8 JSON file inside each artifact",
            ) from None
        if not isinstance(data, dict):
            raise ArtifactError(f"{where} is not a JSON object", hint="select reads a field of a JSON object")
        value: Any = data
        for part in select.key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            found = "is missing" if value is None else f"is {json.dumps(value)}, not a number"
            raise ArtifactError(
                f"{select.key} in {where} {found}",
                hint=f"select compares a number; the file has: {', '.join(data) or 'nothing'}",
            )
        number = float(value)
        if best is None or (number > best[0] if select.highest else number < best[0]):
            best = (number, {**data, "artifact": artifact.name, "run-id": run_id, "node": source}, run_id)
    if best is None:
        raise ArtifactNotFoundError(f"{node.name}: no artifact was collected to select from")
    return best[1], best[2]


def _gate_shown(gate: str, selected: Mapping[str, Any] | None) -> str:
    """`selected.dice >= 0.9 (train-2: dice=0.9012)`: the gate and the values it read."""
    expression = expressions.unwrap(gate)
    if not selected:
        return expression
    shown: list[str] = []
    try:
        paths = expressions.references(expression)
    except expressions.ExpressionError:
        paths = []
    for path in paths:
        if path[:1] != ("selected",) or len(path) < 2:
            continue
        value: Any = selected
        for part in path[1:]:
            value = value.get(part) if isinstance(value, Mapping) else None
        shown.append(f"{'.'.join(path[1:])}={_shown(value)}")
    if not shown:
        return expression
    return f"{expression} ({selected.get('node', selected.get('artifact', ''))}: {', '.join(shown)})"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value)
