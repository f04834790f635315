"""Write a plan as GitHub Actions orchestrator workflows.

`emit_workflows` turns each loaded plan (one per environment) into one workflow: a job per node,
`needs:` and `if:` carried over, each job running this action with the node's values as inputs and
exposing the action's outputs as job outputs, so `${{ needs.python.outputs.run-id }}` means the
same in the workflow as in the plan (docs/plans.md, "Generating orchestrator workflows"). The YAML
text is written by `yaml_text`; the workflows the plan drives are checked by `workflow_check`.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.plans.model import NODE_INPUTS, NodeKind, Plan, PlanNode
from wait_and_dispatch.plans.workflow_check import Finding as Finding
from wait_and_dispatch.plans.workflow_check import check_workflows as check_workflows
from wait_and_dispatch.plans.workflow_check import may_dispatch
from wait_and_dispatch.plans.yaml_text import entry, scalar
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES, find_input
from wait_and_dispatch.support import expressions
from wait_and_dispatch.support.action_pins import CHECKOUT
from wait_and_dispatch.support.errors import UsageError

# A node's outputs: the action's, but `nodes`, which is the whole plan's.
NODE_OUTPUTS = tuple(name for name in OUTPUT_NAMES if name != "nodes")
STEP_ID = "node"  # the id of the step that runs the action in every job: its outputs are the job's

# Added to a node's timeout for the job's `timeout-minutes`: the run may take up to `timeout`, and
# finding or dispatching it, downloading artifacts and starting the action's container come on top.
JOB_TIMEOUT_MARGIN_MINUTES = 5
DEFAULT_DISCOVERY_TIMEOUT = parse_duration(find_input("discovery-timeout").default)

_DOWNLOADED_FILES = re.compile(
    r"needs\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.(download-path|artifacts)(?![\w-])"
)
# Outputs whose text never holds `"` or `\`: numbers, words, URLs, SHAs. Other values (JSON lists,
# paths, branch names) could break the JSON object they are written into, so they go through toJSON.
_JSON_SAFE_OUTPUTS = (
    *("run-id", "run-url", "run-number", "run-attempt"),
    *("status", "conclusion", "dispatched", "head-sha", "duration"),
)
_JSON_SAFE_REFERENCE = re.compile(
    r"needs\.[A-Za-z_][A-Za-z0-9_-]*\.(result|outputs\.(" + "|".join(_JSON_SAFE_OUTPUTS) + r"))"
    r"|github\.(sha|repository|event_name|run_id|run_number|run_attempt)"
)


@dataclass(frozen=True)
class EmittedWorkflow:
    file_name: str  # orchestrator-dev.yml, or orchestrator.yml
    text: str
    environment: str | None
    # What the generated workflow cannot do as the plan does (workflow_file is file_name).
    findings: tuple[Finding, ...] = ()


def workflow_file_name(plan: Plan, *, advance: bool = False) -> str:
    stem = "orchestrator-advance" if advance else "orchestrator"
    return f"{stem}-{plan.environment}.yml" if plan.environment else f"{stem}.yml"


def emit_workflows(
    plans: Sequence[Plan], *, plan_path: str, action_ref: str, action_version: str | None = None
) -> list[EmittedWorkflow]:
    """One orchestrator workflow per plan (the plan loaded once per environment).

    `plan_path` is the plan file's path from the repository root, as the workflow's checkout
    sees it: collect nodes load the plan again there. `action_ref` is the `uses:` of this action
    (`owner/repo@sha`), `action_version` the release it is, written as the comment after it
    (`# v1.2.3`), as dependabot and zizmor read a pinned `uses:`.
    """
    return [
        WorkflowEmitter(
            plan, plan_path=plan_path, action_ref=action_ref, action_version=action_version
        ).emit()
        for plan in plans
    ]


# --- the orchestrator workflow -------------------------------------------------------------------


class WorkflowEmitter:
    """Writes one plan as the orchestrator workflow of a job per node (the advance orchestrator,
    emit_advance.py, builds on it)."""

    def __init__(self, plan: Plan, *, plan_path: str, action_ref: str, action_version: str | None) -> None:
        self.plan = plan
        self.plan_path = plan_path
        self.uses = scalar(action_ref) + (f" # {action_version}" if action_version else "")
        self.file_name = workflow_file_name(plan)
        self.lines: list[str] = []
        self.findings: list[Finding] = []

    def emit(self) -> EmittedWorkflow:
        self._header()
        self.lines.append("")
        self.lines.append(f"name: {scalar(self._workflow_name())}")
        self.lines.append("")
        on: Any = self.plan.on if self.plan.on is not None else {"workflow_dispatch": None}
        for line in entry("on", on, 0, raw_key=True):
            if line == "  workflow_run:" or line.startswith("  workflow_run: "):
                line += "  # zizmor: ignore[dangerous-triggers] -- see the header"
            self.lines.append(line)
        self.lines.append("")
        self._permissions()
        self.lines.append("")
        self.lines.append("# One orchestration per ref at a time; a newer one waits rather than cancelling")
        self.lines.append("# the runs this one dispatched.")
        self.lines.append("concurrency:")
        self.lines.append(f"  group: {scalar(self._concurrency_group())}")
        self.lines.append("  cancel-in-progress: false")
        self.lines.append("")
        self.lines.append("# Each job runs the action, a container action: it needs a Linux runner.")
        self.lines.append("jobs:")
        for index, node in enumerate(self.plan.nodes.values()):
            if index:
                self.lines.append("")
            self._job(node)
        return EmittedWorkflow(
            file_name=self.file_name,
            text="\n".join(self.lines) + "\n",
            environment=self.plan.environment,
            findings=tuple(self.findings),
        )

    def _workflow_name(self) -> str:
        env = f" ({self.plan.environment})" if self.plan.environment else ""
        return f"Orchestrator {self.plan.name}{env}"

    def _concurrency_group(self) -> str:
        env = f"{self.plan.environment}-" if self.plan.environment else ""
        return f"orchestrator-{env}${{{{ github.ref }}}}"

    def _header(self) -> None:
        env = f" (environment {self.plan.environment})" if self.plan.environment else ""
        self.lines += [
            f"# Generated from {self.plan_path}{env}",
            "# by `wait-and-dispatch plan --emit-workflow`. Do not edit: change the plan and",
            "# re-generate, so that the plan and this workflow stay the same graph.",
            "#",
            "# Order (each node after what it needs):",
        ]
        for node in self.plan.nodes.values():
            after = f" <- {', '.join(node.needs)}" if node.needs else ""
            self.lines.append(f"#   {node.name}{after}")
        # Jobs have no equivalent: say so, rather than let the workflow look like the plan.
        if self.plan.fail_fast:
            self.lines.append("#")
            self.lines.append(
                "# The plan's fail-fast is not carried over: jobs that do not need a failed job"
            )
            self.lines.append("# still start.")
        if self.plan.timeout is not None:
            self.lines.append("#")
            self.lines.append("# The plan's timeout is not carried over: each job has its node's timeout.")
        if isinstance(self.plan.on, Mapping) and "workflow_run" in self.plan.on:
            self.lines += [
                "#",
                "# workflow_run: this workflow starts when a workflow named under on.workflow_run",
                "# completes, whatever started that run (a pull request from a fork included), and it",
                "# runs with this repository's token, secrets and the permissions below, which is why",
                "# zizmor calls the trigger dangerous. It is safe here because no job uses the",
                "# triggering run: plans cannot read github.event, github.sha and github.ref are the",
                '# default branch\'s ("Events that trigger workflows", workflow_run), and collect jobs',
                "# check out that branch. Keep it so; and if a workflow named there runs for pull",
                "# requests, a fork's pull request starts this orchestrator too (filter on branches).",
            ]
        if self.plan.concurrency < len(self.plan.nodes):
            self.lines.append("#")
            self.lines.append(
                f"# The plan's concurrency ({self.plan.concurrency}) is not carried over: jobs whose needs"
            )
            self.lines.append("# are done all start at once.")

    def _permissions(self) -> None:
        self.lines.append("# None for the workflow as a whole: each job asks for what its node needs.")
        self.lines.append("permissions: {}")

    def _job_permissions(self, node: PlanNode) -> None:
        """The GITHUB_TOKEN scopes the node's step needs (README, `github-token`), and no more."""
        out = self.lines
        out.append("    permissions:")
        if node.kind is NodeKind.COLLECT:
            out.append("      actions: read # the needed runs and their artifacts")
            out.append("      contents: read # check out the plan")
            return
        if node.kind is NodeKind.CHECKS:
            out.append("      checks: read # wait for the check runs")
            out.append("      contents: read # the ref's commit")
            return

        def on(name: str) -> bool:
            return str(node.values.get(name, "false")).strip().lower() == "true"

        if may_dispatch(node):
            out.append("      actions: write # dispatch the run, and cancel it if this job is cancelled")
        elif on("cancel-on-failure"):
            out.append("      actions: write # cancel the rest of the run when a job fails")
        elif on("cancel-on-timeout"):
            out.append("      actions: write # cancel the run if the wait times out")
        else:
            out.append("      actions: read # find the run, wait for it, download its artifacts")
        if on("fail-on-failed-job"):
            out.append("      checks: read # watch the run's jobs as they end")
        if node.values.get("event-type") and may_dispatch(node):
            out.append("      contents: write # repository_dispatch needs it")
        else:
            out.append("      contents: read # the ref's commit")

    def _job(self, node: PlanNode) -> None:
        out = self.lines
        out.append(f"  {node.name}:")
        out.append(f"    name: {scalar(node.title)}")
        out.append("    runs-on: ubuntu-latest")
        if node.needs:
            out.extend(entry("needs", list(node.needs), 4))
        condition = self._condition(node) if node.condition.strip() else None
        if condition == "false":
            out.append("    if: false")  # `${{ false }}` reads to zizmor as an obfuscated constant
        elif condition is not None:
            out.append(f"    if: {scalar(f'${{{{ {condition} }}}}')}")
        if node.continue_on_error:
            out.append("    continue-on-error: true")
        minutes = job_timeout_minutes(node)
        if minutes is not None:
            out.append(f"    timeout-minutes: {minutes}")
        self._job_permissions(node)
        out.append("    outputs:")
        for name in NODE_OUTPUTS:
            out.append(f"      {name}: {scalar(f'${{{{ steps.{STEP_ID}.outputs.{name} }}}}')}")
        out.append("    steps:")
        if node.kind is NodeKind.COLLECT:
            self._collect_steps(node)
        else:
            self._action_step(node)
        self._report_downloaded_files(node)

    def _condition(self, node: PlanNode) -> str | None:
        """The node's `if` as the job's, its constant parts evaluated (zizmor's obfuscation audit
        flags a constant such as `'full' == 'full'`, which a plan's vars leave behind); None when
        it is always true, so the job needs no `if:`."""
        expression = node.condition.strip()
        if expression.startswith("${{") and expression.endswith("}}"):
            expression = expression[3:-2].strip()
        # The loader wrote vars, matrix and plan in; a plan built by hand may still read them, and
        # on GitHub `vars` would read the repository's variables: bind them here too.
        static = {
            "vars": self.plan.vars,
            "matrix": node.matrix,
            "plan": {"name": self.plan.name, "environment": self.plan.environment or ""},
        }
        return expressions.fold_condition(expressions.bind(expression, static))

    def _action_step(self, node: PlanNode) -> None:
        out = self.lines
        out.append(f"      - id: {STEP_ID}")
        out.append(f"        uses: {self.uses}")
        out.append("        with:")
        for key, value in self._with_values(node):
            out.extend(_with_entry(key, value, 10))

    def _with_values(self, node: PlanNode) -> Iterator[tuple[str, Any]]:
        values = node.values
        if self.plan.repository:
            yield "repository", self.plan.repository
        downloads = any(values.get(k) for k in ("artifacts", "artifacts-from-branch", "run-id"))
        for key in NODE_INPUTS:
            value = values.get(key)
            if value is None:
                continue
            # The loader gives every node a path named after it, so nodes never share a folder;
            # a job that downloads nothing has no use for it.
            if key == "path" and value == node.name and not downloads:
                continue
            yield key, value

    def _checkout_and_plan_step(self, why_checkout: str) -> None:
        """The checkout of the plan file (`why_checkout` says which) and the head of the step that
        runs the plan with the action, up to its `plan` and `plan-environment` inputs."""
        out = self.lines
        out.append(f"      # {why_checkout}")
        # Pinned from the project's one table (action_pins.py), as every shipped workflow is:
        # zizmor's unpinned-uses audit wants a commit SHA, and the release must declare node24.
        out.append(f"      - uses: {CHECKOUT.pinned}")
        out.append("        with:")
        out.append("          persist-credentials: false")
        out.append(f"      - id: {STEP_ID}")
        out.append(f"        uses: {self.uses}")
        out.append("        with:")
        out.append(f"          plan: {scalar(self.plan_path)}")
        if self.plan.environment:
            out.append(f"          plan-environment: {scalar(self.plan.environment)}")

    def _collect_steps(self, node: PlanNode) -> None:
        out = self.lines
        self._checkout_and_plan_step(
            "The plan file itself: this node's collect, select and gate are read from it."
        )
        out.append(f"          plan-node: {scalar(node.name)}")
        variables = self._plan_vars()
        if variables:
            # The vars this workflow was generated with (the other jobs have them written in),
            # in case they were given on the command line rather than in the file.
            out.extend(entry("plan-vars", variables, 10))
        # The runs and results of the needed jobs, as the plan's `needs` context.
        out.append(f"          plan-needs: {scalar('${{ toJSON(needs) }}')}")

    def _plan_vars(self) -> str:
        lines = [
            f"{name}={_text(value)}"
            for name, value in self.plan.vars.items()
            if isinstance(value, str | int | float | bool)
        ]
        return "".join(f"{line}\n" for line in lines if "\n" not in line)

    def _report_downloaded_files(self, node: PlanNode) -> None:
        for need, output in sorted(set(_downloaded_file_references(node.values))):
            self.findings.append(
                Finding(
                    workflow_file=self.file_name,
                    node=node.name,
                    message=(
                        f"node {node.name} uses needs.{need}.outputs.{output}, files on the runner of job "
                        f"{need}; every job runs on its own runner, so they are not there"
                    ),
                    hint=(
                        f"pass the run instead (`run-id: ${{{{ needs.{need}.outputs.run-id }}}}` in the "
                        "node's inputs) and download the artifacts in the workflow that uses them, or run "
                        "the whole plan in one job with the action's `plan` input"
                    ),
                )
            )


def mapping_or_empty(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def job_timeout_minutes(node: PlanNode) -> int | None:
    """The node's timeout plus a margin; None when it is only known at run time (a template)."""
    try:
        timeout = parse_duration(node.values.get("timeout", find_input("timeout").default))
        discovery = parse_duration(node.values.get("discovery-timeout", DEFAULT_DISCOVERY_TIMEOUT))
    except (UsageError, TypeError):
        return None
    # The margin covers the default discovery timeout; a longer one is waited for before the run.
    extra = max(0.0, discovery - DEFAULT_DISCOVERY_TIMEOUT)
    return math.ceil((timeout + extra) / 60) + JOB_TIMEOUT_MARGIN_MINUTES


def _downloaded_file_references(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        for template in _expressions_in(value):
            for match in _DOWNLOADED_FILES.finditer(template):
                yield match[1], match[2]
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _downloaded_file_references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _downloaded_file_references(item)


# --- with: values --------------------------------------------------------------------------------


def _with_entry(key: str, value: Any, indent: int) -> list[str]:
    """One action input: every input is a string to the runner, so lists become lines and mappings
    a JSON object, the forms the action reads (jobs.read_settings)."""
    if isinstance(value, bool):
        return entry(key, "true" if value else "false", indent)
    if isinstance(value, int | float):
        return entry(key, str(value), indent)
    if isinstance(value, Mapping):
        return entry(key, _json_object(value) + "\n", indent)
    if isinstance(value, list | tuple):
        return entry(key, "".join(f"{_text(item)}\n" for item in value), indent)
    return entry(key, str(value), indent)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _json_object(mapping: Mapping[str, Any]) -> str:
    """Pretty JSON with `${{ }}` kept readable where its value cannot break the JSON.

    GitHub pastes an expression's value into the text as it is, so a value holding `"` or `\\`
    (a JSON list of artifacts, a path) would end the string early; those strings become
    `${{ toJSON(...) }}`, which GitHub renders as a quoted, escaped JSON string.
    """
    expressions: dict[str, str] = {}

    def protect(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): protect(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [protect(v) for v in value]
        if not isinstance(value, str) or not _expressions_in(value):
            return value
        if all(_JSON_SAFE_REFERENCE.fullmatch(_one_line(text)) for text in _expressions_in(value)):
            # As written, but one line: json.dumps would turn a line break inside `${{ }}` into `\\n`.
            return "".join(
                f"${{{{ {_one_line(text)} }}}}" if is_expression else text
                for is_expression, text in _parts(value)
            )
        token = f"@@expression-{uuid.uuid4().hex}@@"
        expressions[json.dumps(token)] = f"${{{{ toJSON({_as_expression(value)}) }}}}"
        return token

    text = json.dumps(protect(mapping), indent=2)
    for token, expression in expressions.items():
        text = text.replace(token, expression)
    return text


def _parts(template: str) -> list[tuple[bool, str]]:
    """(is_expression, text) parts, read as GitHub does: a `}}` inside a 'string' does not end
    the `${{` (a regular expression would cut `fromJSON('"..}}"')` in two)."""
    try:
        return expressions.template_parts(template)
    except expressions.ExpressionError:
        return [(False, template)]  # the loader refuses these; text is all it can be


def _expressions_in(template: str) -> list[str]:
    return [text for is_expression, text in _parts(template) if is_expression]


def _one_line(expression: str) -> str:
    """The expression inside `${{ }}`, on one line so that it can sit in a block scalar."""
    return re.sub(r"\s*[\r\n]\s*", " ", expression).strip()


def _as_expression(template: str) -> str:
    """A template as one expression: `${{ x }}` is `x`, `a-${{ x }}` is `format('a-{0}', x)`."""
    parts = _parts(template)
    if len(parts) == 1 and parts[0][0]:
        return _one_line(parts[0][1])
    pieces: list[str] = []
    arguments: list[str] = []

    def literal(text: str) -> None:
        if text.isprintable():
            pieces.append(text.replace("{", "{{").replace("}", "}}").replace("'", "''"))
        elif text:
            # Expressions have no escapes for line breaks and the like; a JSON string has.
            pieces.append(f"{{{len(arguments)}}}")
            arguments.append("fromJSON('" + json.dumps(text).replace("'", "''") + "')")

    for is_expression, text in parts:
        if is_expression:
            pieces.append(f"{{{len(arguments)}}}")
            arguments.append(_one_line(text))
        else:
            literal(text)
    return f"format('{''.join(pieces)}', {', '.join(arguments)})"
