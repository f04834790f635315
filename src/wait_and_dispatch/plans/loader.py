"""Read a plan file into a `Plan`, or report every problem in it at once, each on its line.

The steps, each in one place:

1. YAML, every key and value with its line and column (`plan_yaml`).
2. `plan.schema.json`, every error on its line (`plan_schema`).
3. Meaning: the graph (unknown needs, self-needs, cycles), each node's kind, the contexts its
   `${{ }}` read (as on GitHub, `needs` holds only direct needs; `selected` only exists in
   `gate`; `plan_expressions`), durations, conclusions, the dispatch policy and the
   environment chosen.
4. Merging, lowest first: `defaults`, the environment's `defaults`, the node, the environment's
   entry for the node (docs/plans.md, "Merging order"); mappings merge key by key, lists and
   scalars replace (`plan_nodes`). `--var` values override `vars` after the overlay.
5. Matrix expansion and binding: the values of `vars`, `matrix` and `plan` are written into
   every template and expression (`expressions.bind`); a `${{ }}` that reads only those becomes
   text, the others keep their `needs` and `github` parts for run time. So the executor and the
   generated workflows see the same values, and a var holding `${{` is never evaluated.

Like the rest of the core, nothing here prints or exits: problems are raised as one
`PlanFileError` whose `problems` are sorted by line.
"""

from __future__ import annotations

import difflib
import functools
import graphlib
import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.engine.requests import DEFAULT_RUN_CONCLUSIONS, DispatchPolicy, parse_conclusions
from wait_and_dispatch.plans.model import (
    DEFAULT_CONCURRENCY,
    NODE_INPUTS,
    WORKFLOW_FILE,
    Collect,
    NodeKind,
    Plan,
    PlanNode,
    Select,
    plan_text,
)
from wait_and_dispatch.plans.plan_expressions import ExpressionScope, strings_in
from wait_and_dispatch.plans.plan_nodes import (
    MergedNode,
    as_mapping,
    check_member_ids,
    is_matrix,
    member_ids,
    names_in,
    node_defaults,
    overlay,
)
from wait_and_dispatch.plans.plan_schema import PLAN_ONLY_KEYS as PLAN_ONLY_KEYS
from wait_and_dispatch.plans.plan_schema import check_schema, join_or
from wait_and_dispatch.plans.plan_schema import schema_text as schema_text
from wait_and_dispatch.plans.plan_yaml import Document, Loc, Problems, dotted, read_yaml
from wait_and_dispatch.step.settings import read_settings
from wait_and_dispatch.support.errors import PlanFileError, SourceSpan, UsageError
from wait_and_dispatch.support.expressions import (
    ExpressionError,
    bind,
    check_template,
    unwrap,
)

DURATION_KEYS = (
    "discovery-timeout",
    "timeout",
    "poll-interval",
    "max-poll-interval",
    "checks-discovery-timeout",
)
_STATIC_CONTEXTS = frozenset({"vars", "matrix", "plan"})
_KIND_KEYS: dict[NodeKind, tuple[str, ...]] = {
    NodeKind.WORKFLOW: ("workflow", "event-type", "run-id"),
    NodeKind.CHECKS: ("checks", "checks-regex"),
    NodeKind.COLLECT: ("collect",),
}


# -- 3. and 4. merging and meaning ---------------------------------------------------------------


class _Loader:
    def __init__(
        self,
        data: Any,
        problems: Problems,
        *,
        environment: str | None,
        variables: Mapping[str, str],
    ) -> None:
        self.problems = problems
        top = as_mapping(data)
        self.top = top
        self.environments = as_mapping(top.get("environments"))
        self.environment = environment
        self.env: Mapping[str, Any] = {}
        self.env_loc: Loc = ("environments", environment or "")
        if environment is not None:
            if environment in self.environments:
                self.env = as_mapping(self.environments[environment])
            else:
                defined = ", ".join(self.environments) or "the plan defines none"
                problems.add(
                    problems.document.span(("environments",) if "environments" in top else ()),
                    "environment",
                    f"unknown environment {environment!r} (environments: {defined})",
                )
        self.vars: dict[str, str] = {}
        for layer in (as_mapping(top.get("vars")), as_mapping(self.env.get("vars"))):
            self.vars.update({str(k): plan_text(v) for k, v in layer.items()})
        for name in variables:
            if name not in self.vars:  # a typo would otherwise run the plan with the default
                near = difflib.get_close_matches(name, list(self.vars), n=1)
                listed = ", ".join(self.vars) or "none"
                known = f"did you mean {near[0]!r}?" if near else f"vars are: {listed}"
                problems.add(
                    problems.document.span(("vars",) if "vars" in top else ()),
                    "vars",
                    f"--var {name}: the plan has no var {name!r} ({known})",
                )
        self.vars.update(variables)
        self.plan_name = ""

    def setting(self, key: str) -> tuple[Any, Loc]:
        """A top-level setting after the overlay, and where it was written."""
        if key in self.env:
            return self.env[key], (*self.env_loc, key)
        return self.top.get(key), (key,)

    # -- nodes ----------------------------------------------------------------------------------

    def merged_nodes(self) -> dict[str, MergedNode]:
        nodes: dict[str, MergedNode] = {}
        env_nodes = as_mapping(self.env.get("nodes"))
        ids = [
            *as_mapping(self.top.get("nodes")),
            *(n for n in env_nodes if n not in as_mapping(self.top.get("nodes"))),
        ]
        for index, node_id in enumerate(ids):
            in_base = node_id in as_mapping(self.top.get("nodes"))
            node = MergedNode(
                node_id, ("nodes", node_id) if in_base else (*self.env_loc, "nodes", node_id), index
            )
            node.merge(node_defaults(self.top.get("defaults")), ("defaults",))
            node.merge(node_defaults(self.env.get("defaults")), (*self.env_loc, "defaults"))
            own = [self.top["nodes"][node_id] if in_base else None, env_nodes.get(node_id)]
            node.written = any(isinstance(layer, Mapping) for layer in own)
            node.merge(own[0], ("nodes", node_id))
            node.merge(own[1], (*self.env_loc, "nodes", node_id))
            nodes[node_id] = node
        return nodes

    def check_node(self, node: MergedNode, nodes: Mapping[str, MergedNode]) -> None:
        values = node.values
        present = {
            kind: [key for key in keys if values.get(key) is not None] for kind, keys in _KIND_KEYS.items()
        }
        kinds = [kind for kind, keys in present.items() if keys]
        if not node.written:
            kinds = [NodeKind.WORKFLOW]  # `a: build.yml`: the schema said a node is a mapping
        if not kinds:
            self.problems.at_key(
                node.loc,
                "nothing to run: give workflow, event-type or run-id (a workflow node), "
                "checks or checks-regex (a checks node), or collect (a collect node)",
            )
        elif len(kinds) > 1:
            said = [f"{present[k][0]} (a {k.value} node)" for k in kinds]
            self.problems.at_key(node.loc, f"a node is one kind: {join_or(said, 'and')} cannot be combined")
        else:
            node.kind = kinds[0]
        plan_ref, ref_loc = self.setting("ref")
        if node.kind is NodeKind.WORKFLOW and "ref" not in values and plan_ref is not None:
            # The plan's ref is the lowest default of the nodes that dispatch (docs/plans.md).
            values["ref"] = plan_ref
            node.origins[("ref",)] = ref_loc
        needs = self.needs(node, nodes)
        for key in ("select", "gate"):
            if key in values and "collect" not in values:
                self.problems.at_key(node.origin((key,)), f"{key} works only with collect")
        self.check_checks_workflows(node)
        collect = as_mapping(values.get("collect"))
        from_loc = node.origin(("collect", "from"))
        for source, loc in names_in(collect.get("from"), from_loc):
            if source not in nodes:
                self.problems.at_value(
                    loc, f"unknown node {source!r} ({self.known(nodes)})", where=dotted(from_loc)
                )
            elif source not in needs:
                self.problems.at_value(
                    loc,
                    f"{source!r} is not in needs: collect takes artifacts only from nodes this node needs",
                    where=dotted(from_loc),
                )
        self.check_values(node)
        self.check_expressions(node, nodes, needs)

    def check_checks_workflows(self, node: MergedNode) -> None:
        """`checks-workflows:` on a checks node only, each a workflow's file name as `workflow:`
        takes it (pr.yaml): what advance mode listens to (plans/advance_checks.py)."""
        if "checks-workflows" not in node.values:
            return
        loc = node.origin(("checks-workflows",))
        if node.kind is not NodeKind.CHECKS:
            self.problems.at_key(loc, "checks-workflows works only with checks or checks-regex")
            return
        for name, where in names_in(node.values["checks-workflows"], loc):
            if not WORKFLOW_FILE.fullmatch(name):
                self.problems.at_value(
                    where,
                    f"{name!r} is not a workflow's file name: write the file in .github/workflows, "
                    "as workflow: takes it (e.g. pr.yaml)",
                    where=dotted(loc),
                )

    def needs(self, node: MergedNode, nodes: Mapping[str, MergedNode]) -> list[str]:
        """The node's needs that exist (problems for the others), in the order written."""
        found: list[str] = []
        loc = node.origin(("needs",))
        for need, where in names_in(node.values.get("needs"), loc):
            if need == node.id:
                self.problems.at_value(where, "a node cannot need itself", where=dotted(loc))
            elif need not in nodes:
                self.problems.at_value(
                    where, f"unknown node {need!r} ({self.known(nodes)})", where=dotted(loc)
                )
            elif need not in found:
                found.append(need)
        return found

    @staticmethod
    def known(nodes: Mapping[str, MergedNode]) -> str:
        return f"nodes are: {', '.join(sorted(nodes))}"

    def check_values(self, node: MergedNode) -> None:
        values = node.values
        for key in DURATION_KEYS:
            value = values.get(key)
            if (
                isinstance(value, int | float | str)
                and not isinstance(value, bool)
                and "${{" not in str(value)
            ):
                self.attempt(node.origin((key,)), functools.partial(parse_duration, value, what=key))
        conclusions = values.get("allowed-conclusions")
        words = [conclusions] if isinstance(conclusions, str) else conclusions
        if isinstance(words, list) and all(isinstance(w, str) and "${{" not in w for w in words):
            text = ",".join(words)
            self.attempt(
                node.origin(("allowed-conclusions",)),
                lambda: parse_conclusions(text, default=DEFAULT_RUN_CONCLUSIONS),
            )
        dispatch = values.get("dispatch")
        if isinstance(dispatch, str) and "${{" not in dispatch:
            self.attempt(node.origin(("dispatch",)), lambda: DispatchPolicy.parse(dispatch))

    def attempt(self, loc: Loc, check: Callable[[], object]) -> None:
        try:
            check()
        except UsageError as error:
            self.problems.at_value(loc, f"{error.message} ({error.hint})" if error.hint else error.message)

    # -- expressions ----------------------------------------------------------------------------

    def check_expressions(self, node: MergedNode, nodes: Mapping[str, MergedNode], needs: list[str]) -> None:
        direct: dict[str, str] = {}  # a name `needs.X` may use -> the need it comes from
        for need in needs:
            members = nodes[need].members
            if len(members) == 1 and members[0][0] == need:
                direct[need] = need
            else:
                direct.update({member: need for member, _ in members})
        scope = ExpressionScope(self.problems, self.vars, node, nodes, needs, direct)
        for key in NODE_INPUTS:
            if key in node.values:
                for rel, text in strings_in(node.values[key], (key,)):
                    if "${{" in text:
                        scope.check(text, node.origin(rel), "value")
        for key in ("name", "continue-on-error"):
            if isinstance(node.values.get(key), str) and "${{" in node.values[key]:
                scope.check(node.values[key], node.origin((key,)), "static")
        for key in ("collect", "select"):
            for rel, text in strings_in(as_mapping(node.values.get(key)), (key,)):
                if "${{" in text:
                    scope.check(text, node.origin(rel), "static")
        for key, kind in (("if", "if"), ("gate", "gate")):
            raw = node.values.get(key)
            if isinstance(raw, str):
                expression = unwrap(raw)
                if "${{" in expression:
                    try:
                        check_template(raw)
                        message = (
                            f"write {key} as one expression, e.g. ${{{{ a && b }}}}, "
                            "not text with several ${{ }}"
                        )
                    except ExpressionError as error:
                        message = str(error)
                    self.problems.at_value(node.origin((key,)), message)
                else:
                    scope.check(expression, node.origin((key,)), kind)

    def check_top(self) -> None:
        for key in ("name", "repository", "timeout"):
            value, loc = self.setting(key)
            if isinstance(value, str) and "${{" in value:
                ExpressionScope(self.problems, self.vars, None, {}, [], {}).check(value, loc, "static")

    # -- 5. the plan ----------------------------------------------------------------------------

    def static_context(self, matrix: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "vars": self.vars,
            "matrix": dict(matrix),
            "plan": {"name": self.plan_name, "environment": self.environment or ""},
        }

    def render_static(self, text: str, context: Mapping[str, Any], loc: Loc) -> str:
        """`text` with `vars`, `matrix` and `plan` written in (`expressions.bind`): a value the
        plan knows now never waits for run time, nor is it evaluated twice."""
        if "${{" not in text:
            return text
        try:
            return bind(text, context)
        except ExpressionError as error:
            self.problems.at_value(loc, str(error))
        return text

    def bind_expression(self, text: str, context: Mapping[str, Any], loc: Loc) -> str:
        """An `if` or `gate` expression with `vars`, `matrix` and `plan` written in."""
        try:
            return bind(text, context)
        except ExpressionError as error:
            self.problems.at_value(loc, str(error))
        return text

    def top_text(self, key: str) -> str | None:
        value, loc = self.setting(key)
        if value is None or isinstance(value, Mapping | list):
            return None
        return self.render_static(plan_text(value), self.static_context({}), loc)


def _cycle(nodes: Mapping[str, MergedNode], graph: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle in the graph, as `a needs b needs a`, from the node written first; None if none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        cycle = list(reversed(error.args[1]))[:-1]  # graphlib lists each need before its needer
        start = min(range(len(cycle)), key=lambda i: nodes[cycle[i]].index)
        cycle = cycle[start:] + cycle[:start]
        return [*cycle, cycle[0]]
    return None


def _topological(order: list[str], needs: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Needs first; among the nodes that are ready, the one written first."""
    sorter = graphlib.TopologicalSorter({name: needs[name] for name in order})
    sorter.prepare()
    position = {name: i for i, name in enumerate(order)}
    ready: list[tuple[int, str]] = []
    result: list[str] = []
    while sorter.is_active():
        for name in sorter.get_ready():
            heapq.heappush(ready, (position[name], name))
        _, name = heapq.heappop(ready)
        result.append(name)
        sorter.done(name)
    return result


def _triggers(value: Any) -> Mapping[str, Any] | None:
    # `on: push` and `on: [push, pull_request]` mean `on: {push: null, ...}` in a workflow.
    if value is None:
        return None
    if isinstance(value, str):
        return {value: None}
    if isinstance(value, list):
        return {str(event): None for event in value}
    return dict(value)


def load_plan(
    path: str | Path,
    *,
    environment: str | None = None,
    variables: Mapping[str, str] | None = None,
    text: str | None = None,
) -> Plan:
    """Read, check and expand the plan in `path` (or in `text`, with `path` used for messages).

    Raises `PlanFileError` with every problem found, each with its file, line and column.
    """
    file = str(path)
    document = Document(file)
    problems = Problems(document)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise PlanFileError(
                f"{file}: cannot read the plan: {reason}", hint="check the plan file's path"
            ) from None
    data = read_yaml(text, document, problems)
    problems.raise_if_any()  # without the YAML, nothing else can be said
    if data is None:
        problems.add(SourceSpan(file, 1, 1), "plan", "the file is empty: a plan needs nodes")
        problems.raise_if_any()
    check_schema(data, problems)
    if not isinstance(data, Mapping):
        problems.raise_if_any()

    loader = _Loader(data, problems, environment=environment, variables=variables or {})
    loader.plan_name = loader.top_text("name") or Path(file).name
    loader.check_top()
    repository = loader.top_text("repository") or None
    if repository is not None:
        loader.attempt(loader.setting("repository")[1], lambda: Repository.parse(repository))
    timeout_text = loader.top_text("timeout")
    if timeout_text is not None:
        loader.attempt(
            loader.setting("timeout")[1], lambda: parse_duration(timeout_text, what="timeout", positive=True)
        )
    nodes = loader.merged_nodes()
    for node in nodes.values():
        node.members = member_ids(node)
    check_member_ids(nodes, problems)
    graph: dict[str, list[str]] = {}
    for node in nodes.values():
        loader.check_node(node, nodes)
        graph[node.id] = [
            need for need, _ in names_in(node.values.get("needs"), ()) if need in nodes and need != node.id
        ]
    cycle = _cycle(nodes, graph)
    if cycle is not None:
        problems.at_key(nodes[cycle[0]].loc, f"cycle {' -> '.join(cycle)}")
    problems.raise_if_any()

    expanded: dict[str, PlanNode] = {}
    for node in nodes.values():
        expanded.update(_Expansion(loader, node, nodes).members())
    problems.raise_if_any()  # a static template that failed to evaluate
    for member in expanded.values():
        _check_settings(member, problems)
    problems.raise_if_any()
    order = _topological(list(expanded), {name: node.needs for name, node in expanded.items()})
    concurrency = loader.setting("concurrency")[0]
    return Plan(
        file=file,
        name=loader.plan_name,
        environment=environment,
        environments=tuple(loader.environments),
        repository=repository,
        concurrency=concurrency if isinstance(concurrency, int) else DEFAULT_CONCURRENCY,
        fail_fast=loader.setting("fail-fast")[0] is True,
        timeout=None if timeout_text is None else parse_duration(timeout_text, what="timeout", positive=True),
        vars=dict(loader.vars),
        nodes={name: expanded[name] for name in order},
        on=_triggers(overlay(data.get("on"), loader.env.get("on"))),
    )


def _check_settings(node: PlanNode, problems: Problems) -> None:
    """The node's values, vars written in, read as the action reads its inputs: what only shows
    once a value is known (`timeout: ${{ vars.t }}` with t = 5x, a poll interval above the
    maximum, a run-id that is not a number) is found before anything runs, not mid-plan.

    Values still waiting for `needs` or `github` are left out (a `run-id` stands in as 1, since it
    decides what the node does); they are checked when the node starts.
    """
    if node.kind is NodeKind.COLLECT:
        return
    values: dict[str, str] = {}
    for name, value in node.values.items():
        text = plan_text(value)
        if "${{" in text and name not in ("inputs", "client-payload"):
            if name != "run-id":
                continue
            text = "1"
        values[name] = text
    values["repository"] = "owner/name"  # the plan's or the caller's: checked where it is known
    try:
        read_settings(values)
    except UsageError as error:
        where = f"nodes.{node.group or node.name}"
        problems.add(node.span, where, f"{node.name}: {error.message}" if node.group else error.message)


@dataclass
class _Expansion:
    """One node of the file as the plan's nodes: one per matrix combination, static values rendered."""

    loader: _Loader
    node: MergedNode
    nodes: Mapping[str, MergedNode]

    def members(self) -> dict[str, PlanNode]:
        node, values = self.node, self.node.values
        needs = tuple(member for need in self.names("needs") for member in self.member_ids(need))
        span = self.loader.problems.document.span(node.loc)
        result: dict[str, PlanNode] = {}
        for member, matrix in node.members:
            context = self.loader.static_context(matrix)
            inputs = {key: self.static(values[key], (key,), context) for key in NODE_INPUTS if key in values}
            inputs.setdefault("path", member)  # so that nodes never download into the same place
            result[member] = PlanNode(
                name=member,
                title=self.static(values["name"], ("name",), context) if "name" in values else member,
                kind=node.kind or NodeKind.WORKFLOW,
                needs=needs,
                condition=self.loader.bind_expression(
                    unwrap(plan_text(values["if"])), context, node.origin(("if",))
                )
                if "if" in values
                else "",
                values=inputs,
                collect=self.collect(member, context),
                select=self.select(context),
                written_condition=unwrap(plan_text(values["if"])) if "if" in values else "",
                gate=self.loader.bind_expression(
                    unwrap(plan_text(values["gate"])), context, node.origin(("gate",))
                )
                if "gate" in values
                else None,
                continue_on_error=self.static(
                    values.get("continue-on-error"), ("continue-on-error",), context
                )
                == "true",
                group=node.id if is_matrix(node) else "",
                checks_workflows=tuple(dict.fromkeys(self.names("checks-workflows"))),
                matrix=matrix,
                span=span,
            )
        return result

    def names(self, key: str) -> list[str]:
        return [name for name, _ in names_in(self.node.values.get(key), ())]

    def member_ids(self, name: str) -> list[str]:
        return [member for member, _ in self.nodes[name].members] if name in self.nodes else []

    def static(self, value: Any, rel: tuple[str | int, ...], context: Mapping[str, Any]) -> Any:
        """`value` with lists and mappings kept, and text leaves (YAML's true, 3) rendered."""
        if isinstance(value, Mapping):
            return {str(k): self.static(v, (*rel, k), context) for k, v in value.items()}
        if isinstance(value, list):
            return [self.static(v, (*rel, i), context) for i, v in enumerate(value)]
        return self.loader.render_static(plan_text(value), context, self.node.origin(rel))

    def collect(self, member: str, context: Mapping[str, Any]) -> Collect | None:
        collect = as_mapping(self.node.values.get("collect"))
        if not collect:
            return None
        sources = names_in(collect.get("from"), ())
        patterns = self.static(collect.get("artifacts", []), ("collect", "artifacts"), context)
        return Collect(
            sources=tuple(m for source, _ in sources for m in self.member_ids(source)),
            patterns=tuple([patterns] if isinstance(patterns, str) else patterns),
            path=self.static(collect["path"], ("collect", "path"), context) if "path" in collect else member,
        )

    def select(self, context: Mapping[str, Any]) -> Select | None:
        select = as_mapping(self.node.values.get("select"))
        if not select:
            return None
        direction = "max" if "max" in select else "min"
        return Select(
            file=self.static(select.get("file", ""), ("select", "file"), context),
            key=self.static(select.get(direction, ""), ("select", direction), context),
            highest=direction == "max",
        )
