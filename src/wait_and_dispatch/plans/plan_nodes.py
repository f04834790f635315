"""One node of a plan file merged from its layers, with where each value was written, and the
members a matrix makes of it (docs/plans.md, "Merging order" and `matrix`)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wait_and_dispatch.plans.model import NODE_INPUTS, NodeKind, plan_text
from wait_and_dispatch.plans.plan_yaml import Loc, Problems

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def names_in(value: Any, loc: Loc) -> list[tuple[str, Loc]]:
    """A `name or list of names` value, each with where it was written."""
    if isinstance(value, str):
        return [(value, loc)]
    if isinstance(value, list):
        return [(item, (*loc, i)) for i, item in enumerate(value) if isinstance(item, str)]
    return []


def node_defaults(value: Any) -> Mapping[str, Any]:
    # Only action inputs can be defaults; the schema reports the others, which must not then act.
    return {key: item for key, item in as_mapping(value).items() if key in NODE_INPUTS}


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@dataclass
class MergedNode:
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


def member_ids(node: MergedNode) -> list[tuple[str, dict[str, Any]]]:
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
        suffix = "-".join(_ID_UNSAFE.sub("_", plan_text(value)) for value in combination)
        members.append((f"{node.id}-{suffix}", dict(zip(matrix, combination, strict=True))))
    return members


def is_matrix(node: MergedNode) -> bool:
    return node.members != [(node.id, {})]


def check_member_ids(nodes: Mapping[str, MergedNode], problems: Problems) -> None:
    made_by = {node.id: node.id for node in nodes.values() if not is_matrix(node)}
    for node in nodes.values():
        if not is_matrix(node):
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


def overlay(base: Any, over: Any) -> Any:
    """`over` on top of `base`: mappings merge key by key; anything else replaces."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = overlay(merged[key], value) if key in merged and value is not None else value
        return merged
    return base if over is None else over
