"""Write a plan as GitHub Actions orchestrator workflows, and check the workflows the plan drives.

`emit_workflows` turns each loaded plan (one per environment) into one workflow: a job per node,
`needs:` and `if:` carried over, each job running this action with the node's values as inputs and
exposing the action's outputs as job outputs, so `${{ needs.python.outputs.run-id }}` means the
same in the workflow as in the plan (docs/plans.md, "Generating orchestrator workflows").

The YAML is written here rather than by a YAML library: the key order, the comments, the block
scalars and the quoting of `${{ }}` are what a person reads in review, and are kept stable so a
re-generation shows only real changes in a diff. Every scalar is written plain only when it reads
back as the same string under YAML 1.1 (PyYAML) and 1.2 (actionlint, the runner), else quoted.

`check_workflows` reads the workflows the plan dispatches and reports, without changing them,
what would make GitHub refuse the dispatch: no `workflow_dispatch` trigger, an input the plan
passes that is not declared (GitHub answers 422 "Unexpected inputs provided"), a required input
the plan does not pass, a `repository_dispatch` type the workflow does not listen to.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wait_and_dispatch.engine.inputs import parse_duration, parse_inputs
from wait_and_dispatch.plans.model import NODE_INPUTS, NodeKind, Plan, PlanNode
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES, find_input
from wait_and_dispatch.support import expressions, safe_yaml
from wait_and_dispatch.support.action_pins import CHECKOUT
from wait_and_dispatch.support.errors import UsageError

# A node's outputs: the action's, but `nodes`, which is the whole plan's.
NODE_OUTPUTS = tuple(name for name in OUTPUT_NAMES if name != "nodes")
STEP_ID = "node"  # the id of the step that runs the action in every job: its outputs are the job's

# Added to a node's timeout for the job's `timeout-minutes`: the run may take up to `timeout`, and
# finding or dispatching it, downloading artifacts and starting the action's container come on top.
JOB_TIMEOUT_MARGIN_MINUTES = 5
DEFAULT_DISCOVERY_TIMEOUT = parse_duration(find_input("discovery-timeout").default)

# The run-name that shows the correlation input, where the action looks for the id it dispatched
# with when GitHub does not return the run (README, `correlation-input`; AmbiguousRunError's hint).
RUN_NAME_HINT = "${{ github.workflow }} [${{ inputs.%s }}]"

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
class Finding:
    """Something to fix so the orchestrator (or the plan) can drive a workflow."""

    workflow_file: str  # the file concerned, as found (or looked for) on disk
    node: str  # the plan node that concerns it
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.workflow_file}: {self.message}"


@dataclass(frozen=True)
class EmittedWorkflow:
    file_name: str  # orchestrator-dev.yml, or orchestrator.yml
    text: str
    environment: str | None
    # What the generated workflow cannot do as the plan does (workflow_file is file_name).
    findings: tuple[Finding, ...] = ()


def workflow_file_name(plan: Plan) -> str:
    return f"orchestrator-{plan.environment}.yml" if plan.environment else "orchestrator.yml"


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
        _Emitter(plan, plan_path=plan_path, action_ref=action_ref, action_version=action_version).emit()
        for plan in plans
    ]


# --- the orchestrator workflow -------------------------------------------------------------------


class _Emitter:
    def __init__(self, plan: Plan, *, plan_path: str, action_ref: str, action_version: str | None) -> None:
        self.plan = plan
        self.plan_path = plan_path
        self.uses = _scalar(action_ref) + (f" # {action_version}" if action_version else "")
        self.file_name = workflow_file_name(plan)
        self.lines: list[str] = []
        self.findings: list[Finding] = []

    def emit(self) -> EmittedWorkflow:
        self._header()
        self.lines.append("")
        self.lines.append(f"name: {_scalar(self._workflow_name())}")
        self.lines.append("")
        on: Any = self.plan.on if self.plan.on is not None else {"workflow_dispatch": None}
        for line in _entry("on", on, 0, raw_key=True):
            if line == "  workflow_run:" or line.startswith("  workflow_run: "):
                line += "  # zizmor: ignore[dangerous-triggers] -- see the header"
            self.lines.append(line)
        self.lines.append("")
        self._permissions()
        self.lines.append("")
        self.lines.append("# One orchestration per ref at a time; a newer one waits rather than cancelling")
        self.lines.append("# the runs this one dispatched.")
        self.lines.append("concurrency:")
        self.lines.append(f"  group: {_scalar(self._concurrency_group())}")
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
        cancels = str(node.values.get("cancel-on-timeout", "false")).strip().lower() == "true"
        if _may_dispatch(node):
            out.append("      actions: write # dispatch the run, and cancel it if this job is cancelled")
        elif cancels:
            out.append("      actions: write # cancel the run if the wait times out")
        else:
            out.append("      actions: read # find the run, wait for it, download its artifacts")
        if node.values.get("event-type") and _may_dispatch(node):
            out.append("      contents: write # repository_dispatch needs it")
        else:
            out.append("      contents: read # the ref's commit")

    def _job(self, node: PlanNode) -> None:
        out = self.lines
        out.append(f"  {node.name}:")
        out.append(f"    name: {_scalar(node.title)}")
        out.append("    runs-on: ubuntu-latest")
        if node.needs:
            out.extend(_entry("needs", list(node.needs), 4))
        condition = self._condition(node) if node.condition.strip() else None
        if condition == "false":
            out.append("    if: false")  # `${{ false }}` reads to zizmor as an obfuscated constant
        elif condition is not None:
            out.append(f"    if: {_scalar(f'${{{{ {condition} }}}}')}")
        if node.continue_on_error:
            out.append("    continue-on-error: true")
        minutes = _job_timeout_minutes(node)
        if minutes is not None:
            out.append(f"    timeout-minutes: {minutes}")
        self._job_permissions(node)
        out.append("    outputs:")
        for name in NODE_OUTPUTS:
            out.append(f"      {name}: {_scalar(f'${{{{ steps.{STEP_ID}.outputs.{name} }}}}')}")
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

    def _collect_steps(self, node: PlanNode) -> None:
        out = self.lines
        out.append("      # The plan file itself: this node's collect, select and gate are read from it.")
        # Pinned from the project's one table (action_pins.py), as every shipped workflow is:
        # zizmor's unpinned-uses audit wants a commit SHA, and the release must declare node24.
        out.append(f"      - uses: {CHECKOUT.pinned}")
        out.append("        with:")
        out.append("          persist-credentials: false")
        out.append(f"      - id: {STEP_ID}")
        out.append(f"        uses: {self.uses}")
        out.append("        with:")
        out.append(f"          plan: {_scalar(self.plan_path)}")
        if self.plan.environment:
            out.append(f"          plan-environment: {_scalar(self.plan.environment)}")
        out.append(f"          plan-node: {_scalar(node.name)}")
        variables = self._plan_vars()
        if variables:
            # The vars this workflow was generated with (the other jobs have them written in),
            # in case they were given on the command line rather than in the file.
            out.extend(_entry("plan-vars", variables, 10))
        # The runs and results of the needed jobs, as the plan's `needs` context.
        out.append(f"          plan-needs: {_scalar('${{ toJSON(needs) }}')}")

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


def _may_dispatch(node: PlanNode) -> bool:
    return str(node.values.get("dispatch", "if-missing")).strip() != "never" and not node.values.get("run-id")


def _job_timeout_minutes(node: PlanNode) -> int | None:
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
        return _entry(key, "true" if value else "false", indent)
    if isinstance(value, int | float):
        return _entry(key, str(value), indent)
    if isinstance(value, Mapping):
        return _entry(key, _json_object(value) + "\n", indent)
    if isinstance(value, list | tuple):
        return _entry(key, "".join(f"{_text(item)}\n" for item in value), indent)
    return _entry(key, str(value), indent)


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
    the `${{` (issue 11, defect 12: a regular expression cut `fromJSON('"..}}"')` in two)."""
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


# --- YAML text -----------------------------------------------------------------------------------

_BOOLEAN_LIKE = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
# YAML 1.2 numbers that YAML 1.1 (PyYAML) reads as strings: plain, they would be numbers on GitHub.
_YAML12_NUMBER = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(inf|Inf|INF)"
    r"|\.(nan|NaN|NAN)"
)
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
# Characters YAML does not allow unescaped, or that YAML 1.1 reads as line breaks.
_UNPRINTABLE = (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)


def _scalar(value: Any, *, flow: bool = False) -> str:
    """A YAML scalar that reads back as `value`: plain when that is unambiguous, else double-quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    return text if _plain_is_safe(text, flow=flow) else _double_quoted(text)


def _plain_is_safe(text: str, *, flow: bool) -> bool:
    if not text or text != text.strip() or text[0] in _INDICATORS:
        return False
    if any(not (" " <= c <= "~") for c in text if not c.isalnum()):
        return False  # control characters, line breaks, tabs, unusual spaces
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(c in text for c in ",[]{}"):
        return False
    if text.lower() in _BOOLEAN_LIKE or _YAML12_NUMBER.fullmatch(text):
        return False
    document = f"k: [{text}]" if flow else f"k: {text}"
    try:
        loaded = safe_yaml.load(document)
    except yaml.YAMLError:
        return False
    return bool(loaded == {"k": [text] if flow else text})


def _double_quoted(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out: list[str] = []
    for c in text:
        code = ord(c)
        if c in escapes:
            out.append(escapes[c])
        elif code < 0x20 or 0x7F <= code <= 0xA0 or code in _UNPRINTABLE or 0xD800 <= code < 0xE000:
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _block_scalar(text: str, indent: int) -> list[str] | None:
    """A literal block (`|`) for multi-line text, or None when one would not read back exactly."""
    if text.endswith("\n\n") or not text.strip("\n") or text.startswith(("\n", " ", "\t")):
        return None
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n")
    for line in lines:
        if line != line.rstrip(" \t") and not line.strip():
            return None  # a line of blanks would read back as an empty line
        if line.startswith("\t") or any(
            (ord(c) < 0x20 and c != "\t") or c in "\x7f\x85\u2028\u2029\ufeff" for c in line
        ):
            return None
    pad = " " * indent
    header = "|" if text.endswith("\n") else "|-"
    return [header, *(f"{pad}{line}" if line else "" for line in lines)]


def _entry(key: str, value: Any, indent: int, *, raw_key: bool = False) -> list[str]:
    """`key: value` at this indentation, nested mappings and lists in block style."""
    pad = " " * indent
    name = key if raw_key else _scalar(key)
    if value is None:
        return [f"{pad}{name}:"]
    if isinstance(value, Mapping):
        if not value:
            return [f"{pad}{name}: {{}}"]
        return [f"{pad}{name}:", *_mapping(value, indent + 2)]
    if isinstance(value, list | tuple):
        flow = _flow_sequence(value)
        if flow is not None and len(pad) + len(name) + len(flow) < 100:
            return [f"{pad}{name}: {flow}"]
        return [f"{pad}{name}:", *_sequence(value, indent + 2)]
    if isinstance(value, str) and "\n" in value:
        block = _block_scalar(value, indent + 2)
        if block is not None:
            return [f"{pad}{name}: {block[0]}", *block[1:]]
    return [f"{pad}{name}: {_scalar(value)}"]


def _mapping(mapping: Mapping[Any, Any], indent: int) -> list[str]:
    lines: list[str] = []
    for key, value in mapping.items():
        lines.extend(_entry(str(key), value, indent))
    return lines


def _flow_sequence(items: Sequence[Any]) -> str | None:
    if any(isinstance(item, Mapping | list | tuple) or item is None for item in items):
        return None
    if any(isinstance(item, str) and "\n" in item for item in items):
        return None
    return "[" + ", ".join(_scalar(item, flow=True) for item in items) + "]"


def _sequence(items: Sequence[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and item:
            nested = _mapping(item, indent + 2)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        elif isinstance(item, list | tuple) and item:
            lines.append(f"{pad}-")
            lines.extend(_sequence(item, indent + 2))
        elif isinstance(item, str) and "\n" in item and (block := _block_scalar(item, indent + 2)):
            lines.append(f"{pad}- {block[0]}")
            lines.extend(block[1:])
        elif isinstance(item, Mapping | list | tuple):
            lines.append(f"{pad}- {'{}' if isinstance(item, Mapping) else '[]'}")
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


# --- checking the workflows the plan drives ------------------------------------------------------


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


class _Checker:
    def __init__(self, workflows_dir: Path) -> None:
        self.dir = workflows_dir
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._documents: dict[Path, Mapping[str, Any] | None] = {}

    def add(self, workflow_file: str, node: str, message: str, hint: str) -> None:
        # The same node often drives the same file in every environment: say it once.
        key = (workflow_file, node, message)
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(Finding(workflow_file, node, message, hint))

    def check(self, node: PlanNode) -> None:
        workflow = node.values.get("workflow")
        event_type = node.values.get("event-type")
        file = _workflow_file(workflow)
        if file is None:
            if isinstance(event_type, str) and event_type and "${{" not in event_type and _may_dispatch(node):
                self._check_any_listens(node, event_type)
            return
        path = self.dir / file
        document = self._read(node, path)
        if document is None or not _may_dispatch(node):
            return
        triggers = _triggers(document)
        if event_type:
            if isinstance(event_type, str) and "${{" not in event_type:
                self._check_repository_dispatch(node, path, triggers, event_type)
        else:
            self._check_workflow_dispatch(node, path, document, triggers)

    def _read(self, node: PlanNode, path: Path) -> Mapping[str, Any] | None:
        if path not in self._documents:
            self._documents[path] = self._load(node, path)
        return self._documents[path]

    def _load(self, node: PlanNode, path: Path) -> Mapping[str, Any] | None:
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
            document = safe_yaml.load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self.add(str(path), node.name, f"cannot be read as YAML: {exc}", "fix the file's syntax")
            return None
        if not isinstance(document, Mapping):
            self.add(str(path), node.name, "is not a workflow (not a YAML mapping)", "fix the file")
            return None
        return document

    def _check_workflow_dispatch(
        self, node: PlanNode, path: Path, document: Mapping[str, Any], triggers: Mapping[str, Any]
    ) -> None:
        passed = _passed_inputs(node)
        correlation = str(node.values.get("correlation-input", find_input("correlation-input").default))
        if "workflow_dispatch" not in triggers:
            self.add(
                str(path),
                node.name,
                f"node {node.name} dispatches it, but it has no workflow_dispatch trigger",
                _dispatch_hint(passed, correlation.strip(), has_run_name="run-name" in document),
            )
            return
        dispatch = triggers["workflow_dispatch"]
        declared = dispatch.get("inputs") if isinstance(dispatch, Mapping) else None
        declared = declared if isinstance(declared, Mapping) else {}
        correlation = correlation.strip()
        run_name = document.get("run-name")
        if correlation and not (isinstance(run_name, str) and correlation in run_name):
            # Without the id in run-name, a dispatched run shows no request key: re-running the
            # plan cannot reuse it, so a node with inputs dispatches again (engine/dispatch.py).
            shown = RUN_NAME_HINT % correlation
            declare = (
                ""
                if correlation in declared
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
            if name not in declared:
                self.add(
                    str(path),
                    node.name,
                    f"node {node.name} passes the input {name!r}, which its workflow_dispatch does not "
                    "declare (GitHub refuses the dispatch: 422 Unexpected inputs provided)",
                    "declare it under `on.workflow_dispatch.inputs`:\n" + _inputs_snippet([name]),
                )
                continue
            spec = declared[name] if isinstance(declared[name], Mapping) else {}
            options = spec.get("options")
            if (
                spec.get("type") == "choice"
                and isinstance(options, list)
                and isinstance(value, str)
                and "${{" not in value
                and value not in [str(o) for o in options]
            ):
                self.add(
                    str(path),
                    node.name,
                    f"node {node.name} passes {name}={value!r}, not one of the input's options "
                    f"({', '.join(str(o) for o in options)})",
                    "pass one of the options, or add the value to the input's `options:`",
                )
        for name, spec in declared.items():
            spec = spec if isinstance(spec, Mapping) else {}
            if spec.get("required") is True and "default" not in spec and name not in passed:
                if name == correlation:
                    continue  # the action fills it
                self.add(
                    str(path),
                    node.name,
                    f"requires the input {name!r}, which node {node.name} does not pass",
                    f"add `{name}` to the node's `inputs:` in the plan, or give the input a default",
                )

    def _check_repository_dispatch(
        self, node: PlanNode, path: Path, triggers: Mapping[str, Any], event_type: str
    ) -> None:
        if "repository_dispatch" not in triggers:
            self.add(
                str(path),
                node.name,
                f"node {node.name} sends repository_dispatch {event_type!r}, but the workflow has no "
                "repository_dispatch trigger",
                "add it to the workflow's `on:` (keep its other triggers):\n" + _types_snippet(event_type),
            )
            return
        types = _listened_types(triggers["repository_dispatch"])
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
                document = safe_yaml.load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            if not isinstance(document, Mapping):
                continue
            triggers = _triggers(document)
            if "repository_dispatch" in triggers:
                types = _listened_types(triggers["repository_dispatch"])
                if types is None or event_type in types:
                    return
        self.add(
            str(self.dir),
            node.name,
            f"no workflow in {self.dir} runs on repository_dispatch {event_type!r}, which node "
            f"{node.name} sends",
            "add to the `on:` of the workflow that should run:\n" + _types_snippet(event_type),
        )


def _workflow_file(workflow: Any) -> str | None:
    """The file name a `workflow:` value names, or None for an id, a display name or a template."""
    if not isinstance(workflow, str) or "${{" in workflow:
        return None
    name = workflow.strip().replace("\\", "/").rsplit("/", 1)[-1]
    return name if name.endswith((".yml", ".yaml")) else None


def _triggers(document: Mapping[Any, Any]) -> dict[str, Any]:
    """`on:` as a mapping of event to its settings. YAML 1.1 (PyYAML) reads the key `on` as True."""
    on = document.get("on", document.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(event): None for event in on}
    if isinstance(on, Mapping):
        return {str(event): settings for event, settings in on.items()}
    return {}


def _listened_types(settings: Any) -> list[str] | None:
    """The repository_dispatch types a workflow runs for; None: every type (no `types:`)."""
    types = settings.get("types") if isinstance(settings, Mapping) else None
    if types is None:
        return None
    return [str(t) for t in types] if isinstance(types, list) else [str(types)]


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
        lines.extend([f"{_scalar(name)}:", "  required: false", "  type: string"])
    if correlation:
        lines.extend(
            [
                f"{_scalar(correlation)}:",
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
        lines.append(f"run-name: {_scalar(run_name)}")
    hint = "add it to the workflow's `on:` (keep its other triggers):\n" + "\n".join(lines)
    if correlation and has_run_name:
        hint += f"\nand show the {correlation} input in its run-name, e.g. `{run_name}`"
    return hint


def _types_snippet(event_type: str) -> str:
    return "\n".join(["on:", "  repository_dispatch:", f"    types: [{_scalar(event_type, flow=True)}]"])
