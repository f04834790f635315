"""The one YAML loader for what users write: plan files, scenario files, `inputs` given as YAML,
and the workflow files a plan drives.

PyYAML's SafeLoader builds no objects but plain data, yet an alias is expanded wherever it is
used: nine lines of aliases to aliases (the "billion laughs") compose in microseconds and then
construct 10^9 nodes, growing by some 120 MB/s without end. `BoundedLoader`
measures the composed document, aliases expanded, before anything is constructed, and refuses
one that would be larger than `MAX_EXPANDED_SIZE` nodes and characters, nested deeper than
`MAX_DEPTH`, or (unless a subclass handles it) refers to itself. Anchors, aliases and `<<:`
merge keys of ordinary size keep working: plans use them for shared node settings.
"""

from __future__ import annotations

from typing import Any

import yaml

# Nodes plus scalar characters once every alias is expanded. A plan of a hundred nodes is a few
# thousand; a document of this size is 5 MB of YAML with nothing shared, far beyond any plan.
MAX_EXPANDED_SIZE = 5_000_000
# Mappings and lists inside one another. PyYAML composes and constructs recursively, so a deeper
# document (`[[[[...` a few thousand times) would end in Python's RecursionError.
MAX_DEPTH = 100


class YamlLimitError(yaml.MarkedYAMLError):
    """A document refused for its expanded size, depth or self-reference, with where it was."""


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that measures the composed document before constructing it."""

    # A plan loader that reports self-referring aliases itself, on their line, sets this.
    allow_recursive_aliases = False

    def get_single_node(self) -> Any:
        try:
            node = super().get_single_node()
        except RecursionError:
            raise YamlLimitError(
                problem=f"the document is nested more than {MAX_DEPTH} levels deep"
            ) from None
        if node is not None:
            _Measure(self.allow_recursive_aliases).size(node, 0)
        return node


class _Measure:
    """Size of a composed node graph with aliases expanded: each use of a shared node counts."""

    def __init__(self, allow_recursive: bool) -> None:
        self.allow_recursive = allow_recursive
        self.sizes: dict[int, int] = {}  # a shared node's expanded size, measured once
        self.open: set[int] = set()  # nodes being measured: an alias to one of them is a cycle

    def size(self, node: yaml.Node, depth: int) -> int:
        key = id(node)
        known = self.sizes.get(key)
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise YamlLimitError(
                problem=f"the document is nested more than {MAX_DEPTH} levels deep",
                problem_mark=node.start_mark,
            )
        if isinstance(node, yaml.ScalarNode):
            total = 1 + len(node.value)
        else:
            if key in self.open:
                if self.allow_recursive:
                    return 1
                raise YamlLimitError(
                    problem="an alias refers to a node that contains it", problem_mark=node.start_mark
                )
            self.open.add(key)
            total = 1
            children: list[yaml.Node] = (
                [part for pair in node.value for part in pair]
                if isinstance(node, yaml.MappingNode)
                else list(node.value)
            )
            for child in children:
                total += self.size(child, depth + 1)
                if total > MAX_EXPANDED_SIZE:
                    raise YamlLimitError(
                        problem=(
                            f"the document is larger than {MAX_EXPANDED_SIZE:,} nodes and characters "
                            "once its aliases are expanded"
                        ),
                        problem_mark=node.start_mark,
                    )
            self.open.discard(key)
        self.sizes[key] = total
        return total


def load(text: str) -> Any:
    """`text` as plain data (mappings, lists, strings, numbers, booleans, None), within the limits
    above; `yaml.YAMLError` (a `YamlLimitError` for the limits) otherwise."""
    return yaml.load(text, Loader=BoundedLoader)  # noqa: S506  # nosec B506 # BoundedLoader is a SafeLoader


class TextScalarLoader(BoundedLoader):
    """BoundedLoader that keeps every plain scalar as the text written: no YAML 1.1 guessing.

    Workflow inputs are strings on GitHub; `version: 1.10`, `at: 12:30` or `id: 010` must reach it
    as written, not as 1.1, 750 or 8 (the types GitHub converts to are the workflow's to declare).
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class-level table


def load_text_scalars(text: str) -> Any:
    """`text` as mappings, lists and strings (empty values as ""), within the limits above."""
    return yaml.load(text, Loader=TextScalarLoader)  # noqa: S506  # nosec B506 # a SafeLoader
