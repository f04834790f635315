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
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.plans.advance import CALLBACK_EVENT_TYPE, runs_inline
from wait_and_dispatch.plans.model import NODE_INPUTS, NodeKind, Plan, PlanNode
from wait_and_dispatch.plans.workflow_check import Finding as Finding
from wait_and_dispatch.plans.workflow_check import check_workflows as check_workflows
from wait_and_dispatch.plans.workflow_check import may_dispatch, workflow_names
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
        _Emitter(plan, plan_path=plan_path, action_ref=action_ref, action_version=action_version).emit()
        for plan in plans
    ]


def emit_advance_workflows(
    plans: Sequence[Plan],
    *,
    plan_path: str,
    action_ref: str,
    action_version: str | None = None,
    workflows_dir: Path,
) -> list[EmittedWorkflow]:
    """One advance-mode orchestrator per plan (docs/plans.md, "Advance mode"): one short job that
    runs the plan with `advance: true` on the plan's start and on the completion of every node
    workflow's run. `workflows_dir` holds the node workflows, whose names `workflow_run` listens to."""
    return [
        _AdvanceEmitter(
            plan,
            plan_path=plan_path,
            action_ref=action_ref,
            action_version=action_version,
            names=workflow_names(plan, workflows_dir),
        ).emit()
        for plan in plans
    ]


# --- the orchestrator workflow -------------------------------------------------------------------


class _Emitter:
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
        minutes = _job_timeout_minutes(node)
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
        out.append(f"          plan: {scalar(self.plan_path)}")
        if self.plan.environment:
            out.append(f"          plan-environment: {scalar(self.plan.environment)}")
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


# An advance job dispatches and records; it waits only for the nodes that run in it.
ADVANCE_JOB_MINUTES = 10
# App credentials the advance orchestrator dispatches with, by default: runs dispatched with the
# workflow's GITHUB_TOKEN are reported not to raise workflow_run (docs/plans.md, "Advance mode").
APP_ID_VARIABLE = "WAIT_AND_DISPATCH_APP_ID"
APP_KEY_SECRET = "WAIT_AND_DISPATCH_APP_PRIVATE_KEY"  # noqa: S105 # nosec B105 # a secret's name


class _AdvanceEmitter(_Emitter):
    """The advance-mode orchestrator: one job, started by the plan's triggers and by each node
    workflow's completed run, that advances the plan and ends."""

    def __init__(
        self,
        plan: Plan,
        *,
        plan_path: str,
        action_ref: str,
        action_version: str | None,
        names: Mapping[str, str],
    ) -> None:
        super().__init__(plan, plan_path=plan_path, action_ref=action_ref, action_version=action_version)
        self.file_name = workflow_file_name(plan, advance=True)
        self.names = names

    def emit(self) -> EmittedWorkflow:
        listened = self._listened()
        self._advance_header(listened)
        self.lines.append("")
        self.lines.append(f"name: {scalar(self._workflow_name() + ' advance')}")
        self.lines.append("")
        for line in entry("on", self._triggers(listened), 0, raw_key=True):
            if line == "  workflow_run:":
                line += "  # zizmor: ignore[dangerous-triggers] -- see the header"
            self.lines.append(line)
        self.lines.append("")
        self._permissions()
        self.lines.append("")
        self.lines.append(
            "# No concurrency group: GitHub replaces a pending run of a group with a newer one, which"
        )
        self.lines.append(
            "# would drop an event. Two runs at once never dispatch a node twice (a git ref claims it)."
        )
        self.lines.append("jobs:")
        self._advance_job()
        return EmittedWorkflow(
            file_name=self.file_name,
            text="\n".join(self.lines) + "\n",
            environment=self.plan.environment,
            findings=tuple(self.findings),
        )

    def _listened(self) -> list[str]:
        """The names of the workflows whose completed runs advance the plan, in plan order."""
        found: list[str] = []
        for node in self.plan.nodes.values():
            if runs_inline(node):
                continue
            workflow = node.values.get("workflow")
            file = str(workflow).strip().replace("\\", "/").rsplit("/", 1)[-1] if workflow else ""
            name = self.names.get(file)
            if name is None:
                self.findings.append(
                    Finding(
                        workflow_file=self.file_name,
                        node=node.name,
                        message=(
                            f"node {node.name} names its workflow by id, name or event type: the "
                            "orchestrator cannot tell which workflow's completion to listen to"
                        ),
                        hint="name the workflow by its file (workflow: deploy.yml), or add its name under "
                        "on.workflow_run.workflows in the orchestrator by hand",
                    )
                )
            elif name not in found:
                found.append(name)
        return found

    def _triggers(self, listened: Sequence[str]) -> dict[str, Any]:
        on: dict[str, Any] = (
            dict(self.plan.on) if isinstance(self.plan.on, Mapping) else {"workflow_dispatch": None}
        )
        own_run = _mapping(on.get("workflow_run"))
        workflows = list(dict.fromkeys([*(own_run.get("workflows") or []), *listened]))
        if workflows:
            on["workflow_run"] = {**own_run, "workflows": workflows, "types": ["completed"]}
        own_dispatch = _mapping(on.get("repository_dispatch"))
        types = list(dict.fromkeys([*(own_dispatch.get("types") or []), CALLBACK_EVENT_TYPE]))
        on["repository_dispatch"] = {**own_dispatch, "types": types}
        return on

    def _advance_header(self, listened: Sequence[str]) -> None:
        env = f" (environment {self.plan.environment})" if self.plan.environment else ""
        self.lines += [
            f"# Generated from {self.plan_path}{env}",
            "# by `wait-and-dispatch plan --emit-workflow --advance`. Do not edit: change the plan and",
            "# re-generate, so that the plan and this workflow stay the same graph.",
            "#",
            "# Advance mode: no job waits for a run. This workflow runs one short job when the plan",
            "# starts and each time a run of a node's workflow completes; the job records the run's",
            "# outcome, dispatches the nodes that became ready, and ends. The plan's state is kept in",
            "# git refs of this repository (refs/wait-and-dispatch/...). The last run shows the plan's",
            "# result.",
            "#",
            "# It dispatches as a GitHub App, with `actions: write` and `contents: write` on this",
            f"# repository (vars.{APP_ID_VARIABLE},",
            f"# secrets.{APP_KEY_SECRET}): runs dispatched with the workflow's",
            "# GITHUB_TOKEN do not start workflow_run. A node workflow in another repository sends the",
            "# callback instead: a last job that sends repository_dispatch",
            f"# `{CALLBACK_EVENT_TYPE}` here with client_payload.run_id",
            '# (docs/plans.md, "Advance mode").',
            "#",
            "# workflow_run: this workflow also starts when a workflow named under on.workflow_run",
            "# completes, whatever started that run (a pull request from a fork included), and it runs",
            "# with this repository's secrets, which is why zizmor calls the trigger dangerous. It is",
            "# safe here because nothing of the triggering run is used but its id: the checkout is the",
            "# default branch's (\"Events that trigger workflows\", workflow_run), never the run's code,",
            "# and the advance step reads only the run's id and its outcome through the API.",
        ]
        if not listened:
            self.lines += [
                "#",
                "# No node's completion is an event: every node runs in the job that starts the plan.",
            ]
        if isinstance(self.plan.on, Mapping) and _mapping(self.plan.on.get("workflow_run")).get("branches"):
            self.lines += [
                "#",
                "# The plan's own workflow_run filters branches: the node runs are filtered too.",
            ]

    def _advance_job(self) -> None:
        out = self.lines
        minutes = ADVANCE_JOB_MINUTES
        for node in self.plan.nodes.values():
            if runs_inline(node) and node.kind is not NodeKind.COLLECT:
                minutes = max(minutes, _job_timeout_minutes(node) or ADVANCE_JOB_MINUTES)
        out.append("  advance:")
        out.append(f"    name: {scalar('Advance ' + self.plan.name)}")
        out.append("    # The action is a container action: it needs a Linux runner.")
        out.append("    runs-on: ubuntu-latest")
        out.append(f"    timeout-minutes: {minutes}")
        out.append("    permissions:")
        out.append("      contents: read # check out the plan; the App's token does the rest")
        out.append("    steps:")
        out.append("      # The plan file, from this workflow's ref (on workflow_run: the default branch).")
        out.append(f"      - uses: {CHECKOUT.pinned}")
        out.append("        with:")
        out.append("          persist-credentials: false")
        out.append(f"      - id: {STEP_ID}")
        out.append(f"        uses: {self.uses}")
        out.append("        with:")
        out.append(f"          plan: {scalar(self.plan_path)}")
        if self.plan.environment:
            out.append(f"          plan-environment: {scalar(self.plan.environment)}")
        variables = self._plan_vars()
        if variables:
            out.extend(entry("plan-vars", variables, 10))
        out.append("          advance: true")
        out.append(f"          app-id: {scalar('${{ vars.' + APP_ID_VARIABLE + ' }}')}")
        out.append(f"          app-private-key: {scalar('${{ secrets.' + APP_KEY_SECRET + ' }}')}")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


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
