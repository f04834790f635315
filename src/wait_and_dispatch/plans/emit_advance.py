"""Write a plan as its advance-mode orchestrator workflow (docs/plans.md, "Advance mode").

One workflow with one short job, started by the plan's own triggers, by the completion of every
node workflow's run (`workflow_run`, by the workflows' names) and by the callback
`repository_dispatch` of node workflows in other repositories; the job runs the plan with
`advance: true` and ends. Built on the waiting orchestrator's writer (`emit.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wait_and_dispatch.plans.advance import CALLBACK_EVENT_TYPE
from wait_and_dispatch.plans.advance_checks import carriers
from wait_and_dispatch.plans.advance_deadlines import own_schedules, sweep_cron
from wait_and_dispatch.plans.advance_guards import listened_names
from wait_and_dispatch.plans.advance_nodes import runs_inline
from wait_and_dispatch.plans.emit import (
    EmittedWorkflow,
    Finding,
    WorkflowEmitter,
    job_timeout_minutes,
    mapping_or_empty,
    workflow_file_name,
)
from wait_and_dispatch.plans.model import NodeKind, Plan
from wait_and_dispatch.plans.workflow_check import node_workflow_file
from wait_and_dispatch.plans.yaml_text import entry, scalar


def emit_advance_workflows(
    plans: Sequence[Plan],
    *,
    plan_path: str,
    action_ref: str,
    action_version: str | None = None,
    workflows_dir: Path,
    sweep: str | None = None,
) -> list[EmittedWorkflow]:
    """One advance-mode orchestrator per plan (docs/plans.md, "Advance mode"): one short job that
    runs the plan with `advance: true` on the plan's start and on the completion of every node
    workflow's run. `workflows_dir` holds the node workflows, whose names `workflow_run` listens to;
    `sweep` (`15m`), a period at which a scheduled run ends what is past its timeout."""
    return [
        AdvanceEmitter(
            plan,
            plan_path=plan_path,
            action_ref=action_ref,
            action_version=action_version,
            names=listened_names(plan, workflows_dir),
            sweep=sweep,
            carried={
                node.name: carriers(node, workflows_dir)[0]
                for node in plan.nodes.values()
                if node.kind is NodeKind.CHECKS
            },
        ).emit()
        for plan in plans
    ]


# An advance job dispatches and records; it waits only for the nodes that run in it.
ADVANCE_JOB_MINUTES = 10
# App credentials the advance orchestrator dispatches with, by default: runs dispatched with the
# workflow's GITHUB_TOKEN are reported not to raise workflow_run (docs/plans.md, "Advance mode").
APP_ID_VARIABLE = "WAIT_AND_DISPATCH_APP_ID"
APP_KEY_SECRET = "WAIT_AND_DISPATCH_APP_PRIVATE_KEY"  # noqa: S105 # nosec B105 # a secret's name


class AdvanceEmitter(WorkflowEmitter):
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
        sweep: str | None = None,
        carried: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """`carried`: the workflow files that carry each checks node's checks (advance_checks.py)."""
        super().__init__(plan, plan_path=plan_path, action_ref=action_ref, action_version=action_version)
        self.file_name = workflow_file_name(plan, advance=True)
        self.names = names
        self.sweep = sweep_cron(sweep, own_schedules(plan.on)) if sweep else None
        self.carried = carried or {}

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
                # A checks node's carrying workflows (plans/advance_checks.py) are listened to.
                found.extend(
                    name
                    for name in (self.names.get(file) for file in self.carried.get(node.name, ()))
                    if name is not None and name not in found
                )
                continue
            file = node_workflow_file(node.values.get("workflow"))
            name = self.names.get(file) if file else None
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
        own_run = mapping_or_empty(on.get("workflow_run"))
        workflows = list(dict.fromkeys([*(own_run.get("workflows") or []), *listened]))
        if workflows:
            # The plan's own branch filter would filter its nodes' completions too, and an instance
            # whose nodes run on another branch would never advance: the advance step applies it
            # (advance_guards.start_branch_filtered).
            kept = {
                k: v for k, v in own_run.items() if not listened or k not in ("branches", "branches-ignore")
            }
            on["workflow_run"] = {**kept, "workflows": workflows, "types": ["completed"]}
        own_dispatch = mapping_or_empty(on.get("repository_dispatch"))
        types = list(dict.fromkeys([*(own_dispatch.get("types") or []), CALLBACK_EVENT_TYPE]))
        on["repository_dispatch"] = {**own_dispatch, "types": types}
        if self.sweep is not None:
            # The sweep: a run that ends what is past its timeout when no event comes
            # (plans/advance_deadlines.py); its cron is none of the plan's own, which start it.
            own_schedule = on.get("schedule")
            on["schedule"] = [*(own_schedule if isinstance(own_schedule, list) else []), {"cron": self.sweep}]
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
        if self.sweep is not None:
            self.lines += [
                "#",
                f"# schedule {self.sweep!r} is the sweep: a run that reads this plan's refs once and",
                "# ends what is past its timeout when no event comes (a run that never completes).",
                "# Each of its runs is a job, billed as a minute; delete it to pay for events only.",
            ]
        if not listened:
            self.lines += [
                "#",
                "# No node's completion is an event: every node runs in the job that starts the plan.",
            ]
        own_run = (
            mapping_or_empty(self.plan.on.get("workflow_run")) if isinstance(self.plan.on, Mapping) else {}
        )
        if listened and ("branches" in own_run or "branches-ignore" in own_run):
            self.lines += [
                "#",
                "# The plan's own workflow_run branch filter is applied by the advance step, not by the",
                "# trigger, which would filter the node runs' completions too.",
            ]

    def _advance_job(self) -> None:
        out = self.lines
        minutes = ADVANCE_JOB_MINUTES
        for node in self.plan.nodes.values():
            if runs_inline(node) and node.kind is not NodeKind.COLLECT:
                minutes = max(minutes, job_timeout_minutes(node) or ADVANCE_JOB_MINUTES)
        out.append("  advance:")
        out.append(f"    name: {scalar('Advance ' + self.plan.name)}")
        out.append("    # The action is a container action: it needs a Linux runner.")
        out.append("    runs-on: ubuntu-latest")
        out.append(f"    timeout-minutes: {minutes}")
        out.append("    permissions:")
        out.append("      contents: read # check out the plan; the App's token does the rest")
        out.append("    steps:")
        self._checkout_and_plan_step(
            "The plan file, from this workflow's ref (on workflow_run: the default branch)."
        )
        variables = self._plan_vars()
        if variables:
            out.extend(entry("plan-vars", variables, 10))
        out.append("          advance: true")
        out.append(f"          app-id: {scalar('${{ vars.' + APP_ID_VARIABLE + ' }}')}")
        out.append(f"          app-private-key: {scalar('${{ secrets.' + APP_KEY_SECRET + ' }}')}")
