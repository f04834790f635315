"""Read a plan file into a `Plan`, or report every problem in it at once, each on its line.

The steps, each in one place below:

1. YAML, composed with SafeLoader so that every key and value keeps its line and column, and a
   duplicate key is an error rather than a silent overwrite (YAML's own rule; PyYAML keeps the
   last). Dates stay text: `ref: 2026-01-01` is a tag name, not a timestamp.
2. `plan.schema.json` (Draft 2020-12), the schema editors use, with every error collected and
   put on the line of the key or value it is about; an unknown key gets a "did you mean".
3. Meaning: the graph (unknown needs, self-needs, cycles), each node's kind, the contexts its
   `${{ }}` read (as on GitHub, `needs` holds only direct needs; `selected` only exists in
   `gate`), durations, conclusions, the dispatch policy and the environment chosen.
4. Merging, lowest first: `defaults`, the environment's `defaults`, the node, the environment's
   entry for the node (docs/plans.md, "Merging order"); mappings merge key by key, lists and
   scalars replace. `--var` values override `vars` after the overlay.
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
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeAlias

import jsonschema
import yaml

from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.engine.model import (
    DEFAULT_RUN_CONCLUSIONS,
    DispatchPolicy,
    Repository,
    parse_conclusions,
)
from wait_and_dispatch.plans.model import (
    DEFAULT_CONCURRENCY,
    NODE_INPUTS,
    Collect,
    NodeKind,
    Plan,
    PlanNode,
    Select,
    input_text,
)
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.step.settings import read_settings
from wait_and_dispatch.support.errors import PlanFileError, PlanProblem, SourceSpan, UsageError
from wait_and_dispatch.support.expressions import (
    BUILTIN_FUNCTIONS,
    ExpressionError,
    bind,
    check_template,
    function_calls,
    references,
    unwrap,
)
from wait_and_dispatch.support.safe_yaml import BoundedLoader

Loc: TypeAlias = tuple[str | int, ...]  # a place in the document: keys and list indexes

HINT = "fix the lines above; docs/plans.md describes the format"
PLAN_ONLY_KEYS: tuple[str, ...] = (
    "name",
    "needs",
    "if",
    "continue-on-error",
    "matrix",
    "collect",
    "select",
    "gate",
)
DURATION_KEYS = (
    "discovery-timeout",
    "timeout",
    "poll-interval",
    "max-poll-interval",
    "checks-discovery-timeout",
)
STATUS_FUNCTIONS = ("success", "always", "failure", "cancelled")
GITHUB_KEYS = ("repository", "sha", "ref_name", "event_name")
# A node's outputs are the action's; `nodes` is the output of a whole plan, never of one node.
NODE_OUTPUTS = tuple(name for name in OUTPUT_NAMES if name != "nodes")
PLAN_KEYS = ("name", "environment")
_STATIC_CONTEXTS = frozenset({"vars", "matrix", "plan"})
_KIND_KEYS: dict[NodeKind, tuple[str, ...]] = {
    NodeKind.WORKFLOW: ("workflow", "event-type", "run-id"),
    NodeKind.CHECKS: ("checks", "checks-regex"),
    NodeKind.COLLECT: ("collect",),
}
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Said instead of "unknown key" for keys people bring from elsewhere.
_KEY_ADVICE = {
    "repository": "a node cannot set repository: one plan, one repository (set it at the top level)",
    "with": "write the action's inputs directly on the node, without `with:`",
    "uses": "a node names a workflow with `workflow:`, not `uses:`",
}


def schema_text() -> str:
    """The shipped JSON Schema (`wait-and-dispatch plan --schema` prints it)."""
    return resources.files("wait_and_dispatch.plans").joinpath("plan.schema.json").read_text(encoding="utf-8")


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@functools.cache
def _validator() -> Any:
    return jsonschema.Draft202012Validator(_schema())


# -- 1. YAML with positions ----------------------------------------------------------------------


class _YamlLoader(BoundedLoader):
    """The bounded SafeLoader (`safe_yaml`) without the timestamp type, so a date written as a
    value stays that text. An alias to a node that contains it is reported on its line below."""

    allow_recursive_aliases = True


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class _Document:
    file: str
    key_marks: dict[Loc, yaml.Mark] = field(default_factory=dict)
    value_marks: dict[Loc, yaml.Mark] = field(default_factory=dict)

    def span(self, loc: Loc, *, at_key: bool = True) -> SourceSpan:
        """Where `loc` was written: its key (or, `at_key=False`, its value); else its parent."""
        while True:
            marks = (self.key_marks, self.value_marks) if at_key else (self.value_marks, self.key_marks)
            mark = marks[0].get(loc) or marks[1].get(loc)
            if mark is not None:
                return SourceSpan(self.file, mark.line + 1, mark.column + 1)
            if not loc:
                return SourceSpan(self.file, 1, 1)
            loc = loc[:-1]


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class _Problems:
    def __init__(self, document: _Document) -> None:
        self.document = document
        self.items: list[PlanProblem] = []

    def at_key(self, loc: Loc, message: str, *, where: str | None = None) -> None:
        self.add(self.document.span(loc), _dotted(loc) if where is None else where, message)

    def at_value(self, loc: Loc, message: str, *, where: str | None = None) -> None:
        self.add(self.document.span(loc, at_key=False), _dotted(loc) if where is None else where, message)

    def add(self, span: SourceSpan | None, where: str, message: str) -> None:
        problem = PlanProblem(span, where, message)
        if problem not in self.items:  # `defaults` reach every node: say each thing once
            self.items.append(problem)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        problems = tuple(sorted(self.items, key=lambda p: (p.span.line, p.span.column) if p.span else (0, 0)))
        file = self.document.file
        message = str(problems[0]) if len(problems) == 1 else f"{file}: {len(problems)} problems in the plan"
        raise PlanFileError(message, problems=problems, hint=HINT)


def _read_yaml(text: str, document: _Document, problems: _Problems) -> Any:
    try:
        loader = _YamlLoader(text)  # reads the characters: YAML refuses most control characters
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        problems.add(
            SourceSpan(document.file, line, column),
            "YAML",
            f"character U+{error.character:04X} is not allowed in YAML (a control character?)",
        )
        return None
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        return _construct(loader, root, (), document, problems, set())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        span = SourceSpan(document.file, mark.line + 1, mark.column + 1) if mark else None
        what = " ".join(str(part) for part in (error.context, error.problem) if part)
        problems.add(span, "YAML", what or "not valid YAML")
        return None
    finally:
        loader.dispose()


# Mappings whose values are text (workflow inputs and vars), and the types YAML 1.1 would guess
# for a plain scalar there.
_TEXT_VALUED = frozenset({"inputs", "vars"})
_GUESSED_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"})


def _construct(
    loader: _YamlLoader, node: yaml.Node, loc: Loc, document: _Document, problems: _Problems, stack: set[int]
) -> Any:
    document.value_marks.setdefault(loc, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        if len(loc) >= 2 and loc[-2] in _TEXT_VALUED and node.tag in _GUESSED_TAGS:
            # A workflow input or a var is text: `version: 1.10` means "1.10", not 1.1.
            return node.value
        return loader.construct_object(node, deep=True)
    if id(node) in stack:
        problems.at_value(loc, "an alias refers to a node that contains it")
        return None
    stack = stack | {id(node)}
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*loc, i), document, problems, stack)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.MappingNode)  # nosec B101 # an invariant for mypy, not a check of input
    explicit = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    merged_in = len(node.value) - explicit  # `<<: *anchor` pairs come first; explicit keys override them
    result: dict[str, Any] = {}
    explicit_keys: set[str] = set()
    for index, (key_node, value_node) in enumerate(node.value):
        if not isinstance(key_node, yaml.ScalarNode):
            problems.add(
                SourceSpan(document.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                _dotted(loc),
                "keys must be plain text",
            )
            continue
        # The key as written: YAML 1.1 would read `on:` as the boolean true.
        key = str(key_node.value)
        here = (*loc, key)
        if key in explicit_keys:
            first = document.key_marks[here]
            problems.add(
                SourceSpan(document.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                _dotted(here),
                f"duplicate key (first at line {first.line + 1})",
            )
            continue
        if index >= merged_in:
            explicit_keys.add(key)
        document.key_marks[here] = key_node.start_mark
        document.value_marks[here] = value_node.start_mark
        result[key] = _construct(loader, value_node, here, document, problems, stack)
    return result


# -- 2. the schema -------------------------------------------------------------------------------


def _check_schema(data: Any, problems: _Problems) -> None:
    for error in _validator().iter_errors(data):
        _report_schema_error(error, problems)


def _report_schema_error(error: Any, problems: _Problems) -> None:
    loc: Loc = tuple(error.absolute_path)
    if error.validator in ("anyOf", "oneOf"):
        # `needs: [1]` is a list, as one branch wants, with a wrong item; `run-id: 0` a number, as
        # one branch wants, below its minimum: say what is wrong inside rather than "expected...".
        deeper = [
            sub
            for sub in error.context
            if len(sub.absolute_path) > len(loc) or sub.validator not in ("type", "pattern", "required")
        ]
        if deeper:
            for sub in deeper:
                _report_schema_error(sub, problems)
            return
    if error.validator == "oneOf" and not isinstance(error.instance, Mapping):
        return  # select: 4 passes neither `required` branch; the type error says it all
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key not in known:
                problems.at_key(
                    (*loc, key), _unknown_key(str(key), known, in_defaults=loc[-1:] == ("defaults",))
                )
    elif "propertyNames" in error.absolute_schema_path:
        problems.at_key(
            (*loc, error.instance),
            f"{error.instance!r} is not an id: use letters, digits, - and _, starting with a letter or _",
        )
    elif error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        what = "the plan" if not loc else str(loc[-1])
        problems.at_key(
            loc, f"{what} needs {_join_or(_quoted(missing), 'and')}", where=_dotted(loc) or "plan"
        )
    else:
        problems.at_value(loc, _describe(error), where=_dotted(loc) or "plan")


def _unknown_key(key: str, known: list[str], *, in_defaults: bool) -> str:
    if in_defaults and key in PLAN_ONLY_KEYS:
        return f"{key} cannot be a default: it is about one node, so set it on each node that needs it"
    if key in _KEY_ADVICE:
        return f"unknown key: {_KEY_ADVICE[key]}"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    if len(known) <= 12:
        return f"unknown key (keys are: {', '.join(known)})"
    return "unknown key (docs/plans.md lists the keys)"


def _describe(error: Any) -> str:
    instance = error.instance
    if error.validator in ("type", "anyOf"):
        schemas = error.validator_value if error.validator == "anyOf" else [{"type": error.validator_value}]
        expected = [kind for schema in schemas for kind in _expected(schema)]
        return f"expected {_join_or(list(dict.fromkeys(expected)), 'or')}, not {_kind(instance)}"
    if error.validator == "oneOf" and all(set(s) == {"required"} for s in error.validator_value):
        names = [name for schema in error.validator_value for name in schema["required"]]
        given = [name for name in names if name in instance]
        if given:
            return f"give one of {_join_or(_quoted(names), 'or')}, not both"
        return f"give one of {_join_or(_quoted(names), 'or')}"
    if error.validator == "minimum":
        return f"must be at least {error.validator_value}, not {instance!r}"
    if error.validator in ("minItems", "minProperties"):
        return "must not be empty"
    if error.validator == "pattern":
        return f"{instance!r} is not {error.schema.get('description') or 'in the expected form'}"
    return str(error.message)


def _expected(schema: Mapping[str, Any]) -> list[str]:
    if "$ref" in schema:
        target = _schema()["$defs"][str(schema["$ref"]).rsplit("/", 1)[1]]
        return ["an expression ${{ }}"] if "pattern" in target else _expected(target)
    if "anyOf" in schema:
        return [kind for sub in schema["anyOf"] for kind in _expected(sub)]
    types = schema.get("type", [])
    if types == "array" and "items" in schema:
        return [f"a list of {_expected(schema['items'])[0].removeprefix('a ')}"]
    names = {
        "string": "text",
        "array": "a list",
        "object": "a mapping",
        "boolean": "a boolean (true or false)",
        "integer": "a whole number",
        "number": "a number",
        "null": "nothing",
    }
    return [names[t] for t in ([types] if isinstance(types, str) else types)]


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return "a list" if isinstance(value, list) else "a mapping"


def _join_or(items: list[str], word: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _quoted(items: Iterable[str]) -> list[str]:
    return [repr(item) for item in items]


# -- 3. and 4. merging and meaning ---------------------------------------------------------------


def _as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _names(value: Any, loc: Loc) -> list[tuple[str, Loc]]:
    """A `name or list of names` value, each with where it was written."""
    if isinstance(value, str):
        return [(value, loc)]
    if isinstance(value, list):
        return [(item, (*loc, i)) for i, item in enumerate(value) if isinstance(item, str)]
    return []


def _defaults(value: Any) -> Mapping[str, Any]:
    # Only action inputs can be defaults; the schema reports the others, which must not then act.
    return {key: item for key, item in _as_mapping(value).items() if key in NODE_INPUTS}


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@dataclass
class _Merged:
    """One node's values after the overlays, and where each value came from."""

    id: str
    loc: Loc  # of the node's own key (the environment's, for a node only an environment adds)
    index: int  # file order
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[Loc, Loc] = field(default_factory=dict)  # key path in the node -> in the file
    members: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # matrix: (id, values)
    kind: NodeKind | None = None
    written: bool = False  # some layer gave the node as a mapping

    def merge(self, layer: Any, loc: Loc) -> None:
        if isinstance(layer, Mapping):
            self._merge(self.values, layer, (), loc)

    def _merge(self, target: dict[str, Any], layer: Mapping[str, Any], rel: Loc, loc: Loc) -> None:
        for key, value in layer.items():
            here = (*rel, key)
            if isinstance(value, Mapping) and isinstance(target.get(key), dict):
                self._merge(target[key], value, here, (*loc, key))
            else:
                for old in [o for o in self.origins if o[: len(here)] == here]:
                    del self.origins[old]
                target[key] = _copy(value)
            self.origins[here] = (*loc, key)

    def origin(self, rel: tuple[str | int, ...]) -> Loc:
        """Where the value at `rel` (keys inside the node) was written."""
        for size in range(len(rel), 0, -1):
            prefix = rel[:size]
            if prefix in self.origins:
                return (*self.origins[prefix], *rel[size:])
        return self.loc


class _Loader:
    def __init__(
        self,
        data: Any,
        problems: _Problems,
        *,
        environment: str | None,
        variables: Mapping[str, str],
    ) -> None:
        self.problems = problems
        top = _as_mapping(data)
        self.top = top
        self.environments = _as_mapping(top.get("environments"))
        self.environment = environment
        self.env: Mapping[str, Any] = {}
        self.env_loc: Loc = ("environments", environment or "")
        if environment is not None:
            if environment in self.environments:
                self.env = _as_mapping(self.environments[environment])
            else:
                defined = ", ".join(self.environments) or "the plan defines none"
                problems.add(
                    problems.document.span(("environments",) if "environments" in top else ()),
                    "environment",
                    f"unknown environment {environment!r} (environments: {defined})",
                )
        self.vars: dict[str, str] = {}
        for layer in (_as_mapping(top.get("vars")), _as_mapping(self.env.get("vars"))):
            self.vars.update({str(k): _text(v) for k, v in layer.items()})
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

    def merged_nodes(self) -> dict[str, _Merged]:
        nodes: dict[str, _Merged] = {}
        env_nodes = _as_mapping(self.env.get("nodes"))
        ids = [
            *_as_mapping(self.top.get("nodes")),
            *(n for n in env_nodes if n not in _as_mapping(self.top.get("nodes"))),
        ]
        for index, node_id in enumerate(ids):
            in_base = node_id in _as_mapping(self.top.get("nodes"))
            node = _Merged(
                node_id, ("nodes", node_id) if in_base else (*self.env_loc, "nodes", node_id), index
            )
            node.merge(_defaults(self.top.get("defaults")), ("defaults",))
            node.merge(_defaults(self.env.get("defaults")), (*self.env_loc, "defaults"))
            own = [self.top["nodes"][node_id] if in_base else None, env_nodes.get(node_id)]
            node.written = any(isinstance(layer, Mapping) for layer in own)
            node.merge(own[0], ("nodes", node_id))
            node.merge(own[1], (*self.env_loc, "nodes", node_id))
            nodes[node_id] = node
        return nodes

    def check_node(self, node: _Merged, nodes: Mapping[str, _Merged]) -> None:
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
            self.problems.at_key(node.loc, f"a node is one kind: {_join_or(said, 'and')} cannot be combined")
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
        collect = _as_mapping(values.get("collect"))
        from_loc = node.origin(("collect", "from"))
        for source, loc in _names(collect.get("from"), from_loc):
            if source not in nodes:
                self.problems.at_value(
                    loc, f"unknown node {source!r} ({self.known(nodes)})", where=_dotted(from_loc)
                )
            elif source not in needs:
                self.problems.at_value(
                    loc,
                    f"{source!r} is not in needs: collect takes artifacts only from nodes this node needs",
                    where=_dotted(from_loc),
                )
        self.check_values(node)
        self.check_expressions(node, nodes, needs)

    def needs(self, node: _Merged, nodes: Mapping[str, _Merged]) -> list[str]:
        """The node's needs that exist (problems for the others), in the order written."""
        found: list[str] = []
        loc = node.origin(("needs",))
        for need, where in _names(node.values.get("needs"), loc):
            if need == node.id:
                self.problems.at_value(where, "a node cannot need itself", where=_dotted(loc))
            elif need not in nodes:
                self.problems.at_value(
                    where, f"unknown node {need!r} ({self.known(nodes)})", where=_dotted(loc)
                )
            elif need not in found:
                found.append(need)
        return found

    @staticmethod
    def known(nodes: Mapping[str, _Merged]) -> str:
        return f"nodes are: {', '.join(sorted(nodes))}"

    def check_values(self, node: _Merged) -> None:
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

    def check_expressions(self, node: _Merged, nodes: Mapping[str, _Merged], needs: list[str]) -> None:
        direct: dict[str, str] = {}  # a name `needs.X` may use -> the need it comes from
        for need in needs:
            members = nodes[need].members
            if len(members) == 1 and members[0][0] == need:
                direct[need] = need
            else:
                direct.update({member: need for member, _ in members})
        scope = _Scope(self, node, nodes, needs, direct)
        for key in NODE_INPUTS:
            if key in node.values:
                for rel, text in _strings(node.values[key], (key,)):
                    if "${{" in text:
                        scope.check(text, node.origin(rel), "value")
        for key in ("name", "continue-on-error"):
            if isinstance(node.values.get(key), str) and "${{" in node.values[key]:
                scope.check(node.values[key], node.origin((key,)), "static")
        for key in ("collect", "select"):
            for rel, text in _strings(_as_mapping(node.values.get(key)), (key,)):
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
                _Scope(self, None, {}, [], {}).check(value, loc, "static")

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
        return self.render_static(_text(value), self.static_context({}), loc)


def _strings(value: Any, rel: tuple[str | int, ...]) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield rel, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*rel, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*rel, i))


@dataclass
class _Scope:
    """What a node's expressions may read, and the problems with what they do read."""

    loader: _Loader
    node: _Merged | None  # None: the plan's own settings
    nodes: Mapping[str, _Merged]
    needs: list[str]
    direct: Mapping[str, str]

    def check(self, text: str, loc: Loc, kind: str) -> None:
        problems = self.loader.problems
        for_node = ""
        if self.node is not None and loc[: len(self.node.loc)] != self.node.loc:
            for_node = f" (in node {self.node.id!r})"  # written in defaults: say which node it failed for
        try:
            paths = references(text)
            calls = function_calls(text)
        except ExpressionError as error:
            problems.at_value(loc, str(error))
            return
        for call in calls:
            if call.lower() in STATUS_FUNCTIONS:
                if kind != "if":
                    problems.at_value(loc, f"{call}() is a status function: it means something only in if")
            elif call.lower() not in {name.lower() for name in BUILTIN_FUNCTIONS}:
                problems.at_value(
                    loc,
                    f"unknown function {call}() (functions are: {', '.join(BUILTIN_FUNCTIONS)}, "
                    f"and in if: {', '.join(f + '()' for f in STATUS_FUNCTIONS)})",
                )
        for path in paths:
            reason = self.reason(path, kind)
            if reason:
                problems.at_value(loc, f"{'.'.join(path)}: {reason}{for_node}")

    def reason(self, path: tuple[str, ...], kind: str) -> str:
        root = path[0].lower()
        rest = path[1:]
        allowed = ["vars", "matrix", "plan"]
        if kind != "static":
            allowed += ["github", "needs"]
        if kind == "gate":
            allowed.append("selected")
        if root not in allowed:
            if root in ("github", "needs") and kind == "static":
                known = _join_or(allowed, "and")
                return f"only {known} are known here ({root} is known only when the plan runs)"
            if root == "selected":
                return "selected is known only in gate"
            return f"unknown context {path[0]!r} (contexts are: {', '.join(allowed)})"
        if root == "vars":
            if rest and rest[0].lower() not in {name.lower() for name in self.loader.vars}:
                defined = ", ".join(self.loader.vars) or "the plan defines none"
                return f"{rest[0]!r} is not in vars (vars: {defined})"
        elif root == "matrix":
            keys = list(_as_mapping(self.node.values.get("matrix"))) if self.node else []
            if not keys:
                return "matrix is known only in a node with a matrix"
            if rest and rest[0].lower() not in {k.lower() for k in keys}:
                return f"{rest[0]!r} is not a matrix key (keys: {', '.join(keys)})"
        elif root == "plan":
            if rest and rest[0].lower() not in PLAN_KEYS:
                return f"{rest[0]!r} is not known (plan has: {', '.join(PLAN_KEYS)})"
        elif root == "github":
            if rest and rest[0].lower() not in GITHUB_KEYS:
                return f"{rest[0]!r} is not known in a plan (github has: {', '.join(GITHUB_KEYS)})"
        elif root == "needs" and rest:
            return self.needs_reason(rest)
        return ""

    def needs_reason(self, rest: tuple[str, ...]) -> str:
        name = rest[0]
        if name not in self.direct:
            if name in self.needs:  # a matrix group: its members are the needs
                members = ", ".join(m for m, n in self.direct.items() if n == name)
                return f"{name!r} is a matrix: name one of its members ({members})"
            listed = f"its needs: {', '.join(self.direct)}" if self.direct else "it has no needs"
            return (
                f"{name!r} is not a direct need of this node ({listed}); "
                "as on GitHub, needs holds only direct needs"
            )
        if len(rest) >= 2 and rest[1].lower() not in ("result", "outputs"):
            return f"{rest[1]!r} is not known (needs.{name} has: result, outputs)"
        if len(rest) >= 3 and rest[1].lower() == "outputs" and rest[2].lower() not in NODE_OUTPUTS:
            return f"{rest[2]!r} is not an output (outputs are: {', '.join(NODE_OUTPUTS)})"
        return ""


def _text(value: Any) -> str:
    """A YAML scalar as the text GitHub would pass an action: true, 3, 1.5."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _member_ids(node: _Merged) -> list[tuple[str, dict[str, Any]]]:
    matrix = node.values.get("matrix")
    if not isinstance(matrix, Mapping) or not matrix:
        return [(node.id, {})]
    columns = list(matrix.values())
    if not all(
        isinstance(c, list) and c and all(not isinstance(v, Mapping | list) for v in c) for c in columns
    ):
        return [(node.id, {})]  # not a matrix the schema accepts: that problem is reported already
    members = []
    for combination in itertools.product(*columns):
        # Ids are job ids (letters, digits, - and _), so a value `3.11` gives `build-3_11`.
        suffix = "-".join(_ID_UNSAFE.sub("_", _text(value)) for value in combination)
        members.append((f"{node.id}-{suffix}", dict(zip(matrix, combination, strict=True))))
    return members


def _is_matrix(node: _Merged) -> bool:
    return node.members != [(node.id, {})]


def _check_member_ids(nodes: Mapping[str, _Merged], problems: _Problems) -> None:
    made_by = {node.id: node.id for node in nodes.values() if not _is_matrix(node)}
    for node in nodes.values():
        if not _is_matrix(node):
            continue
        for member, _ in node.members:
            if member in made_by:
                other = made_by[member]
                also = (
                    f"node {other!r} has that id"
                    if other == member
                    else f"matrix node {other!r} makes it too"
                )
                problems.at_key(node.loc, f"the matrix makes node {member!r}, but {also}")
            made_by[member] = node.id


def _cycle(nodes: Mapping[str, _Merged], graph: Mapping[str, list[str]]) -> list[str] | None:
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


def _overlay(base: Any, over: Any) -> Any:
    """`over` on top of `base`: mappings merge key by key; anything else replaces."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _overlay(merged[key], value) if key in merged and value is not None else value
        return merged
    return base if over is None else over


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
    document = _Document(file)
    problems = _Problems(document)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise PlanFileError(
                f"{file}: cannot read the plan: {reason}", hint="check the plan file's path"
            ) from None
    data = _read_yaml(text, document, problems)
    problems.raise_if_any()  # without the YAML, nothing else can be said
    if data is None:
        problems.add(SourceSpan(file, 1, 1), "plan", "the file is empty: a plan needs nodes")
        problems.raise_if_any()
    _check_schema(data, problems)
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
        node.members = _member_ids(node)
    _check_member_ids(nodes, problems)
    graph: dict[str, list[str]] = {}
    for node in nodes.values():
        loader.check_node(node, nodes)
        graph[node.id] = [
            need for need, _ in _names(node.values.get("needs"), ()) if need in nodes and need != node.id
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
        on=_triggers(_overlay(data.get("on"), loader.env.get("on"))),
    )


def _check_settings(node: PlanNode, problems: _Problems) -> None:
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
        text = input_text(value)
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
    node: _Merged
    nodes: Mapping[str, _Merged]

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
                    unwrap(_text(values["if"])), context, node.origin(("if",))
                )
                if "if" in values
                else "",
                values=inputs,
                collect=self.collect(member, context),
                select=self.select(context),
                written_condition=unwrap(_text(values["if"])) if "if" in values else "",
                gate=self.loader.bind_expression(
                    unwrap(_text(values["gate"])), context, node.origin(("gate",))
                )
                if "gate" in values
                else None,
                continue_on_error=self.static(
                    values.get("continue-on-error"), ("continue-on-error",), context
                )
                == "true",
                group=node.id if _is_matrix(node) else "",
                matrix=matrix,
                span=span,
            )
        return result

    def names(self, key: str) -> list[str]:
        return [name for name, _ in _names(self.node.values.get(key), ())]

    def member_ids(self, name: str) -> list[str]:
        return [member for member, _ in self.nodes[name].members] if name in self.nodes else []

    def static(self, value: Any, rel: tuple[str | int, ...], context: Mapping[str, Any]) -> Any:
        """`value` with lists and mappings kept, and text leaves (YAML's true, 3) rendered."""
        if isinstance(value, Mapping):
            return {str(k): self.static(v, (*rel, k), context) for k, v in value.items()}
        if isinstance(value, list):
            return [self.static(v, (*rel, i), context) for i, v in enumerate(value)]
        return self.loader.render_static(_text(value), context, self.node.origin(rel))

    def collect(self, member: str, context: Mapping[str, Any]) -> Collect | None:
        collect = _as_mapping(self.node.values.get("collect"))
        if not collect:
            return None
        sources = _names(collect.get("from"), ())
        patterns = self.static(collect.get("artifacts", []), ("collect", "artifacts"), context)
        return Collect(
            sources=tuple(m for source, _ in sources for m in self.member_ids(source)),
            patterns=tuple([patterns] if isinstance(patterns, str) else patterns),
            path=self.static(collect["path"], ("collect", "path"), context) if "path" in collect else member,
        )

    def select(self, context: Mapping[str, Any]) -> Select | None:
        select = _as_mapping(self.node.values.get("select"))
        if not select:
            return None
        direction = "max" if "max" in select else "min"
        return Select(
            file=self.static(select.get("file", ""), ("select", "file"), context),
            key=self.static(select.get(direction, ""), ("select", direction), context),
            highest=direction == "max",
        )
