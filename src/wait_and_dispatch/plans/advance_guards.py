"""Advance mode's guards: inputs that would make it do the wrong thing without a word.

- A plan that starts on the completion of a workflow it also runs as a node (its own
  `on.workflow_run.workflows`) would begin a new instance on each of that node's completions:
  refused where it is first known (`check_start_triggers`), on the plan file's line.
- The orchestrator listens to its nodes' workflows by name (`workflow_run` matches names, not
  files: GitHub docs, "Events that trigger workflows", workflow_run): a node workflow whose name
  cannot be read is refused (`listened_names`) rather than listened to by its path.
- A completed run that belongs to an instance of another plan key of the same repository (the
  plan renamed while instances were going on: `advance_refs.plan_key`) is said so
  (`other_plan_line`), not reported as a run of no instance.
- The plan's own `on.workflow_run` branch filter is applied to the runs that start it
  (`start_branch_filtered`), not on the orchestrator's trigger, where it would filter its nodes'
  completions too; a re-run of a node's recorded run is said to change nothing (`recorded_line`).
- A plan file the reader at an instance's commit cannot reach says why (`PlanElsewhere`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from wait_and_dispatch.plans.advance_nodes import runs_inline
from wait_and_dispatch.plans.advance_refs import REF_ROOT, Instance, plan_key, read_instances
from wait_and_dispatch.plans.model import NodeKind, NodeResult, Plan, PlanNode, plan_text
from wait_and_dispatch.plans.plan_yaml import Document, Loc, Problems, read_yaml
from wait_and_dispatch.plans.workflow_check import may_dispatch, node_workflow_file, read_workflow_names
from wait_and_dispatch.support.errors import (
    PlanFileError,
    PlanProblem,
    SourceSpan,
    UsageError,
    WaitAndDispatchError,
)

# Every plan's live refs: one request reads them all, as GitHub lists matching refs in one answer
# (docs/github-behaviour.md#git-references).
ALL_LIVE = f"{REF_ROOT}/live/"


class PlanElsewhere(Exception):  # noqa: N818 - not an error: the plan goes on as checked out
    """`plan_at` cannot read the plan at another commit, and why (one line: what happened and what
    to do); the instance goes on with the plan as checked out."""


def started_by(plan: Plan) -> list[str]:
    """The workflows whose runs start the plan (its `on.workflow_run.workflows`)."""
    on = plan.on or {}
    trigger = on.get("workflow_run") if isinstance(on, Mapping) else None
    names = trigger.get("workflows") if isinstance(trigger, Mapping) else None
    return [str(name) for name in names] if isinstance(names, list) else []


# The name `plan --emit-workflow --advance` gives an orchestrator (`orchestrator_name`).
_ADVANCE_ORCHESTRATOR = re.compile(r"Orchestrator .+ advance")


def orchestrator_name(plan: Plan) -> str:
    """The advance orchestrator's workflow name, as `plan --emit-workflow --advance` writes it."""
    env = f" ({plan.environment})" if plan.environment else ""
    return f"Orchestrator {plan.name}{env} advance"


def _named_workflow(node: PlanNode) -> str | None:
    """The workflow name a node's `workflow:` gives when it is a name, not a file, an id or a
    template."""
    text = plan_text(node.values.get("workflow")).strip()
    if not text or "${{" in text or text.endswith((".yml", ".yaml")) or (text.isascii() and text.isdigit()):
        return None
    return text


def check_start_triggers(plan: Plan, workflows_dir: Path | None) -> None:
    """Refuse a plan whose `on.workflow_run.workflows` names a workflow one of its nodes dispatches
    (read from `workflows_dir` when it is a folder, or written as a name in the node), or the
    advance orchestrator itself: each completion would start the plan again."""
    starts = started_by(plan)
    if not starts:
        return
    names = read_workflow_names(plan, workflows_dir).names if workflows_dir and workflows_dir.is_dir() else {}
    runs: dict[str, str] = {}  # workflow name -> what runs it
    for node in plan.nodes.values():
        if node.kind is not NodeKind.WORKFLOW or not may_dispatch(node):
            continue
        file = node_workflow_file(node.values.get("workflow"))
        for name in (names.get(file) if file else None, _named_workflow(node)):
            if name is not None:
                runs.setdefault(name, f"node {node.name} runs it")
    runs.setdefault(orchestrator_name(plan), "it is the advance orchestrator itself")
    for name in starts:
        if _ADVANCE_ORCHESTRATOR.fullmatch(name):
            runs.setdefault(
                name,
                "that is an advance orchestrator, which completes once per event of its plan, not once "
                "when the plan ends (to chain plans, make the other plan's last node dispatch this "
                "orchestrator)",
            )
    problems = [
        PlanProblem(
            _trigger_span(plan, ("workflows", index)),
            "on.workflow_run.workflows",
            f"the plan starts on the completion of {name!r}, but {runs[name]}: in advance mode each "
            "completion would start the plan again",
        )
        for index, name in enumerate(starts)
        if name in runs
    ]
    trigger = plan.on.get("workflow_run") if isinstance(plan.on, Mapping) else None
    types = trigger.get("types") if isinstance(trigger, Mapping) else None
    if types is not None and (not isinstance(types, list) or {str(t) for t in types} != {"completed"}):
        # The orchestrator has one workflow_run trigger, for its nodes' completions too: another
        # type would be written as `completed` and the plan would start later than it says.
        problems.append(
            PlanProblem(
                _trigger_span(plan, ("types",)),
                "on.workflow_run.types",
                "in advance mode the plan starts on a workflow_run completion only (types: [completed]): "
                "the orchestrator's one workflow_run trigger also listens to its nodes' completions",
            )
        )
    if problems:
        raise PlanFileError(
            str(problems[0]) if len(problems) == 1 else f"{plan.file}: {len(problems)} problems in the plan",
            problems=tuple(problems),
            hint="start the plan on another workflow's completion (types: [completed]) or on "
            "workflow_dispatch; the orchestrator listens to its nodes' completions itself",
        )


def _trigger_span(plan: Plan, tail: Loc) -> SourceSpan | None:
    """Where `on.workflow_run.<tail>` is written in the plan file (its environment's `on` first),
    or None when the file cannot be read again."""
    try:
        text = Path(plan.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    document = Document(plan.file)
    read_yaml(text, document, Problems(document))
    places: list[Loc] = [("on", "workflow_run", *tail)]
    if plan.environment:
        places.insert(0, ("environments", plan.environment, "on", "workflow_run", *tail))
    for loc in places:
        if loc in document.value_marks:
            return document.span(loc, at_key=False)
    return document.span(("on",))


def listened_names(plan: Plan, workflows_dir: Path) -> dict[str, str]:
    """The names of the workflows whose completions advance the plan, by file name. A node workflow
    that advances on its completion and whose file cannot be read is a usage error: listening to
    its path would never match (workflow_run matches names)."""
    read = read_workflow_names(plan, workflows_dir)
    for node in plan.nodes.values():
        if runs_inline(node):
            continue
        file = node_workflow_file(node.values.get("workflow"))
        if file is not None and file in read.unreadable:
            raise UsageError(
                f"node {node.name}: its workflow {workflows_dir / file} {read.unreadable[file]}, so "
                "the advance orchestrator cannot know the name workflow_run matches its completion by",
                hint="give the workflow a `name:` or make the file readable (--workflows-dir: the "
                "folder that holds it; a node workflow of another repository: that repository's "
                "checkout's .github/workflows)",
            )
    return read.names


def other_plan_line(
    plan: Plan,
    run_id: int,
    refs: Iterable[tuple[str, str]],
    *,
    repository: str,
    plan_at: Callable[[str], Plan | None] | None,
) -> str | None:
    """The line for a completed run that belongs to no instance of `plan` but to an instance of
    another plan key in the same repository (`refs`: every plan's live refs), or None. Other plans
    are normal, and so are runs of theirs reaching this orchestrator (a workflow two plans run, or
    this plan's other environments, each with its orchestrator): said only when this plan file at
    the instance's commit had that key (renamed), or could not be looked for there (probably)."""
    siblings = {plan_key(replace(plan, environment=env)) for env in (None, *plan.environments)}
    keys = sorted(
        {name[len(ALL_LIVE) :].partition("/")[0] for name, _ in refs if name.startswith(ALL_LIVE)}
        - siblings
        - {plan_key(plan)}
    )
    listed = list(refs)
    for other in keys:
        for instance in sorted(read_instances(listed, other).values(), key=lambda i: i.id):
            node = next((name for name, run in instance.runs.items() if run == run_id), None)
            if node is None:
                continue
            known, old = _plan_at(instance, plan_at)
            if known and (old is None or plan_key(old) != other):
                # This file was not there, or was another plan: the instance is another plan's.
                return None
            return _renamed(plan, run_id, other, instance, node, repository, old)
    return None


def _renamed(
    plan: Plan, run_id: int, other: str, instance: Instance, node: str, repository: str, old: Plan | None
) -> str:
    drop = f"or drop it by deleting its refs under refs/{ALL_LIVE}{other}/{instance.id}/"
    head = (
        f"run {run_id} belongs to no instance of plan {plan.name}{_env(plan)}, but is node {node} of instance"
    )
    if old is not None:
        return (
            f"{head} {instance.id} of plan {old.name}{_env(old)} (key {other}), as this plan file named it "
            f"at {instance.sha[:7]}, in {repository}: the plan was renamed, which left that instance behind; "
            f"hint: to finish it, run the orchestrator with the plan named {old.name}{_env(old)} again until "
            f"it ends, {drop}"
        )
    return (
        f"{head} {instance.id} of another plan key, {other}, in {repository}: the plan was probably "
        "renamed (its name or environment), which left that instance behind; hint: to finish it, run the "
        f"orchestrator with the plan's old name and environment until it ends, {drop}"
    )


def _plan_at(instance: Instance, plan_at: Callable[[str], Plan | None] | None) -> tuple[bool, Plan | None]:
    """Whether this plan file could be looked for where the instance started (one read), and the
    plan it was there (None: not there)."""
    if plan_at is None:
        return False, None
    try:
        return True, plan_at(instance.sha)
    except (WaitAndDispatchError, PlanElsewhere):  # only which line to print was at stake
        return False, None


def _env(plan: Plan) -> str:
    return f" (environment {plan.environment})" if plan.environment else ""


def recorded_line(node: str, result: NodeResult, attempt: int) -> str:
    """The line for a re-run's completion of a node's run whose result is recorded already (GitHub
    keeps the run's id and counts its attempts), which the instance does not follow."""
    return (
        f"{node}: its result is recorded already ({result.value}): attempt {attempt} of its run "
        "changes nothing in this instance; start the plan anew to run the node again"
    )


def start_branch_filtered(plan: Plan, branch: str) -> bool:
    """Whether the plan's own `on.workflow_run` branch filter (`branches`, `branches-ignore`) leaves
    out a run on `branch`. The advance step applies it, not the orchestrator's trigger: there it
    would filter its nodes' completions too, and an instance whose nodes run on another branch would
    never advance."""
    trigger = plan.on.get("workflow_run") if isinstance(plan.on, Mapping) else None
    if not isinstance(trigger, Mapping):
        return False
    branches, ignore = trigger.get("branches"), trigger.get("branches-ignore")
    if isinstance(branches, list):
        included = False
        for pattern in (str(p) for p in branches):  # a later pattern overrides an earlier one
            if pattern.startswith("!"):
                included = included and not _filter_pattern(pattern[1:]).fullmatch(branch)
            elif _filter_pattern(pattern).fullmatch(branch):
                included = True
        return not included
    if isinstance(ignore, list):
        return any(_filter_pattern(str(p)).fullmatch(branch) for p in ignore)
    return False


def _filter_pattern(pattern: str) -> re.Pattern[str]:
    """A branch filter's pattern as GitHub reads it (workflow syntax, "Filter pattern cheat sheet"):
    `*` any characters but `/`, `**` any characters, `?` zero or one and `+` one or more of the
    character before, `[...]` one character of a set; anything else itself."""
    regex = ""
    for part in re.findall(r"\*\*|\*|\[[^\]]*\]|.", pattern, flags=re.DOTALL):
        if part == "**":
            regex += ".*"
        elif part == "*":
            regex += "[^/]*"
        elif part in "?+" and regex:
            regex += part
        elif part.startswith("[") and len(part) > 1:
            regex += "[" + re.escape(part[1:-1]).replace("\\-", "-") + "]"
        else:
            regex += re.escape(part)
    return re.compile(regex)
