"""Check the workflows a plan drives: what would make GitHub refuse a node's dispatch.

`check_workflows` reads the workflow files the plan dispatches and reports, without changing
them: no `workflow_dispatch` trigger, an input the plan passes that is not declared (GitHub
answers 422 "Unexpected inputs provided"), a required input the plan does not pass, a `choice`
value the input does not offer, a `run-name` that does not show the correlation input, a
`repository_dispatch` type the workflow does not listen to.

A file is read as the engine reads it before a dispatch (`engine.workflow_file`'s
`WorkflowDefinition`, YAML 1.2 booleans as GitHub's parser takes them), so `plan --check` and a
real dispatch agree on what a workflow declares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wait_and_dispatch.engine.inputs import parse_inputs
from wait_and_dispatch.engine.workflow_file import (
    WorkflowDefinition,
    load_workflow_document,
    workflow_definition,
)
from wait_and_dispatch.plans.model import NodeKind, Plan, PlanNode
from wait_and_dispatch.plans.yaml_text import scalar
from wait_and_dispatch.step.catalogue import find_input
from wait_and_dispatch.support.errors import UsageError

# The run-name that shows the correlation input, where the action looks for the id it dispatched
# with when GitHub does not return the run (README, `correlation-input`; AmbiguousRunError's hint).
RUN_NAME_HINT = "${{ github.workflow }} [${{ inputs.%s }}]"


@dataclass(frozen=True)
class Finding:
    """Something to fix so the orchestrator (or the plan) can drive a workflow."""

    workflow_file: str  # the file concerned, as found (or looked for) on disk
    node: str  # the plan node that concerns it
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.workflow_file}: {self.message}"


def may_dispatch(node: PlanNode) -> bool:
    """The node may dispatch a run (it is not `dispatch: never` and takes no given `run-id`)."""
    return str(node.values.get("dispatch", "if-missing")).strip() != "never" and not node.values.get("run-id")


def check_workflows(plans: Sequence[Plan], workflows_dir: Path) -> list[Finding]:
    """What would stop the plan's dispatches, read from the workflow files; nothing is changed.

    Only nodes that name their workflow by file (`deploy.yml`, `.github/workflows/deploy.yml`)
    are checked: an id or a display name cannot be matched to a file without the API.
    """
    checker = _Checker(workflows_dir)
    for plan in plans:
        for node in plan.nodes.values():
            if node.kind is NodeKind.WORKFLOW:
                checker.check(node)
    return checker.findings


@dataclass(frozen=True)
class WorkflowNames:
    """The names of the workflows a plan's nodes run, by file name, and the files that could not be
    read as workflows, each with why."""

    names: dict[str, str]
    unreadable: dict[str, str]


def read_workflow_names(plan: Plan, workflows_dir: Path) -> WorkflowNames:
    """The name GitHub gives each workflow the plan's nodes run (and each that carries a checks
    node's checks), by file name, read from the files:
    `workflow_run` listens to workflows by that name ("Events that trigger workflows",
    workflow_run). A workflow without `name:` is named by its path, as GitHub shows it. A file that
    cannot be read as a workflow is said apart, with why: the name GitHub matches is not known."""
    from wait_and_dispatch.plans.advance_checks import carriers  # (advance mode only)

    checker = _Checker(workflows_dir)
    names: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for node in plan.nodes.values():
        file = node_workflow_file(node.values.get("workflow")) if node.kind is NodeKind.WORKFLOW else None
        # A checks node's carrying workflows: their completions advance it (plans/advance_checks.py).
        carried = carriers(node, workflows_dir)[0] if node.kind is NodeKind.CHECKS else ()
        for each in (file,) if file is not None else carried:
            if each in names or each in unreadable:
                continue
            seen = len(checker.findings)
            definition = checker._read(node, workflows_dir / each)
            if definition is None:
                found = checker.findings[seen:]
                unreadable[each] = found[0].message if found else "cannot be read as a workflow"
            else:
                names[each] = definition.name or f".github/workflows/{each}"
    return WorkflowNames(names, unreadable)


class _Checker:
    def __init__(self, workflows_dir: Path) -> None:
        self.dir = workflows_dir
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._definitions: dict[Path, WorkflowDefinition | None] = {}

    def add(self, workflow_file: str, node: str, message: str, hint: str) -> None:
        # The same node often drives the same file in every environment: say it once.
        key = (workflow_file, node, message)
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(Finding(workflow_file, node, message, hint))

    def check(self, node: PlanNode) -> None:
        workflow = node.values.get("workflow")
        event_type = node.values.get("event-type")
        file = node_workflow_file(workflow)
        if file is None:
            if isinstance(event_type, str) and event_type and "${{" not in event_type and may_dispatch(node):
                self._check_any_listens(node, event_type)
            return
        path = self.dir / file
        definition = self._read(node, path)
        if definition is None or not may_dispatch(node):
            return
        if event_type:
            if isinstance(event_type, str) and "${{" not in event_type:
                self._check_repository_dispatch(node, path, definition, event_type)
        else:
            self._check_workflow_dispatch(node, path, definition)

    def _read(self, node: PlanNode, path: Path) -> WorkflowDefinition | None:
        if path not in self._definitions:
            self._definitions[path] = self._load(node, path)
        return self._definitions[path]

    def _load(self, node: PlanNode, path: Path) -> WorkflowDefinition | None:
        if not path.is_file():
            self.add(
                str(path),
                node.name,
                f"not found in {self.dir} (node {node.name} runs it)",
                "check the node's `workflow:` (a file name in .github/workflows), or give the folder "
                "that holds the workflows",
            )
            return None
        try:
            document = load_workflow_document(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self.add(str(path), node.name, f"cannot be read as YAML: {exc}", "fix the file's syntax")
            return None
        if not isinstance(document, Mapping):
            self.add(str(path), node.name, "is not a workflow (not a YAML mapping)", "fix the file")
            return None
        definition = workflow_definition(str(path), document)
        if definition is None:
            self.add(
                str(path),
                node.name,
                "cannot be understood as a workflow: its `on:` is missing or not an event, a list or a "
                "mapping, or a `workflow_dispatch` input is not a mapping of scalars",
                "fix the file (GitHub's workflow syntax: `on`, `on.workflow_dispatch.inputs`)",
            )
        return definition

    def _check_workflow_dispatch(self, node: PlanNode, path: Path, definition: WorkflowDefinition) -> None:
        passed = _passed_inputs(node)
        correlation = str(node.values.get("correlation-input", find_input("correlation-input").default))
        if not definition.dispatchable:
            self.add(
                str(path),
                node.name,
                f"node {node.name} dispatches it, but it has no workflow_dispatch trigger",
                _dispatch_hint(passed, correlation.strip(), has_run_name=definition.run_name is not None),
            )
            return
        declared = definition.inputs
        correlation = correlation.strip()
        if correlation and not definition.shows_in_run_name(correlation):
            # Without the id in run-name, a dispatched run shows no request key: re-running the
            # plan cannot reuse it, so a node with inputs dispatches again (engine/existing_runs.py).
            shown = RUN_NAME_HINT % correlation
            declare = (
                ""
                if definition.declares(correlation)
                else (
                    ", and declare it under `on.workflow_dispatch.inputs`:\n" + _inputs_snippet([correlation])
                )
            )
            self.add(
                str(path),
                node.name,
                f"its run-name does not show the {correlation} input, so a re-run of the plan cannot "
                f"reuse the run node {node.name} dispatched and dispatches it again",
                f"show it in run-name, e.g. `run-name: {shown}`{declare}",
            )
        for name, value in passed.items():
            spec = declared.get(name)
            if spec is None:
                self.add(
                    str(path),
                    node.name,
                    f"node {node.name} passes the input {name!r}, which its workflow_dispatch does not "
                    "declare (GitHub refuses the dispatch: 422 Unexpected inputs provided)",
                    "declare it under `on.workflow_dispatch.inputs`:\n" + _inputs_snippet([name]),
                )
                continue
            if (
                spec.type == "choice"
                and spec.options
                and isinstance(value, str)
                and "${{" not in value
                and value not in spec.options
            ):
                self.add(
                    str(path),
                    node.name,
                    f"node {node.name} passes {name}={value!r}, not one of the input's options "
                    f"({', '.join(spec.options)})",
                    "pass one of the options, or add the value to the input's `options:`",
                )
        for name, spec in declared.items():
            if spec.required and spec.default is None and name not in passed:
                if name == correlation:
                    continue  # the action fills it
                self.add(
                    str(path),
                    node.name,
                    f"requires the input {name!r}, which node {node.name} does not pass",
                    f"add `{name}` to the node's `inputs:` in the plan, or give the input a default",
                )

    def _check_repository_dispatch(
        self, node: PlanNode, path: Path, definition: WorkflowDefinition, event_type: str
    ) -> None:
        if not definition.repository_dispatch:
            self.add(
                str(path),
                node.name,
                f"node {node.name} sends repository_dispatch {event_type!r}, but the workflow has no "
                "repository_dispatch trigger",
                "add it to the workflow's `on:` (keep its other triggers):\n" + _types_snippet(event_type),
            )
            return
        types = definition.repository_dispatch_types
        if types is not None and event_type not in types:
            self.add(
                str(path),
                node.name,
                f"node {node.name} sends repository_dispatch {event_type!r}, but the workflow only runs "
                f"for the types {', '.join(types)}",
                f"add {event_type!r} to `on.repository_dispatch.types`",
            )

    def _check_any_listens(self, node: PlanNode, event_type: str) -> None:
        """An event-type node without a workflow file: some workflow in the folder must take it."""
        files = sorted([*self.dir.glob("*.yml"), *self.dir.glob("*.yaml")]) if self.dir.is_dir() else []
        for path in files:
            try:
                document = load_workflow_document(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            definition = workflow_definition(str(path), document)
            if definition is not None and definition.repository_dispatch:
                types = definition.repository_dispatch_types
                if types is None or event_type in types:
                    return
        self.add(
            str(self.dir),
            node.name,
            f"no workflow in {self.dir} runs on repository_dispatch {event_type!r}, which node "
            f"{node.name} sends",
            "add to the `on:` of the workflow that should run:\n" + _types_snippet(event_type),
        )


def node_workflow_file(workflow: Any) -> str | None:
    """The file name a `workflow:` value names, or None for an id, a display name or a template."""
    if not isinstance(workflow, str) or "${{" in workflow:
        return None
    name = workflow.strip().replace("\\", "/").rsplit("/", 1)[-1]
    return name if name.endswith((".yml", ".yaml")) else None


def _passed_inputs(node: PlanNode) -> dict[str, Any]:
    inputs = node.values.get("inputs")
    if isinstance(inputs, Mapping):
        return {str(k): v for k, v in inputs.items()}
    if isinstance(inputs, str):
        try:
            return dict(parse_inputs(inputs))
        except UsageError:
            return {}
    return {}


def _inputs_snippet(names: Sequence[str], *, indent: int = 0, correlation: str = "") -> str:
    """`inputs:` entries for these names: strings and not required, since the workflow's other
    triggers (a push) start it without them."""
    lines: list[str] = []
    for name in names:
        lines.extend([f"{scalar(name)}:", "  required: false", "  type: string"])
    if correlation:
        lines.extend(
            [
                f"{scalar(correlation)}:",
                "  description: Set by wait-and-dispatch to find the run it started",
                "  required: false",
                "  type: string",
            ]
        )
    return "\n".join(" " * indent + line for line in lines)


def _dispatch_hint(passed: Mapping[str, Any], correlation: str, *, has_run_name: bool) -> str:
    names = [name for name in passed if name != correlation]
    lines = ["on:", "  workflow_dispatch:"]
    if names or correlation:
        lines.append("    inputs:")
        lines.append(_inputs_snippet(names, indent=6, correlation=correlation))
    run_name = RUN_NAME_HINT % correlation
    if correlation and not has_run_name:
        lines.append(f"run-name: {scalar(run_name)}")
    hint = "add it to the workflow's `on:` (keep its other triggers):\n" + "\n".join(lines)
    if correlation and has_run_name:
        hint += f"\nand show the {correlation} input in its run-name, e.g. `{run_name}`"
    return hint


def _types_snippet(event_type: str) -> str:
    return "\n".join(["on:", "  repository_dispatch:", f"    types: [{scalar(event_type, flow=True)}]"])
