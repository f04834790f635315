"""A plan file's YAML, read so that every key and value keeps its line and column.

Composed with SafeLoader (bounded, `safe_yaml`), so a duplicate key is an error rather than a
silent overwrite (YAML's own rule; PyYAML keeps the last), dates stay text (`ref: 2026-01-01` is a
tag name, not a timestamp), and workflow inputs and vars stay text as written (`1.10`, not 1.1).
Problems are collected in `Problems`, each on its line, and raised at once as one
`PlanFileError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml

from wait_and_dispatch.support.errors import PlanFileError, PlanProblem, SourceSpan
from wait_and_dispatch.support.safe_yaml import BoundedLoader

Loc: TypeAlias = tuple[str | int, ...]  # a place in the document: keys and list indexes

HINT = "fix the lines above; docs/plans.md describes the format"


class _YamlLoader(BoundedLoader):
    """The bounded SafeLoader (`safe_yaml`) without the timestamp type, so a date written as a
    value stays that text. An alias to a node that contains it is reported on its line below."""

    allow_recursive_aliases = True


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Document:
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


def dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class Problems:
    def __init__(self, document: Document) -> None:
        self.document = document
        self.items: list[PlanProblem] = []

    def at_key(self, loc: Loc, message: str, *, where: str | None = None) -> None:
        self.add(self.document.span(loc), dotted(loc) if where is None else where, message)

    def at_value(self, loc: Loc, message: str, *, where: str | None = None) -> None:
        self.add(self.document.span(loc, at_key=False), dotted(loc) if where is None else where, message)

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


def read_yaml(text: str, document: Document, problems: Problems) -> Any:
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
    loader: _YamlLoader, node: yaml.Node, loc: Loc, document: Document, problems: Problems, stack: set[int]
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
                dotted(loc),
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
                dotted(here),
                f"duplicate key (first at line {first.line + 1})",
            )
            continue
        if index >= merged_in:
            explicit_keys.add(key)
        document.key_marks[here] = key_node.start_mark
        document.value_marks[here] = value_node.start_mark
        result[key] = _construct(loader, value_node, here, document, problems, stack)
    return result
