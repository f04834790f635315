"""What a plan's `${{ }}` may read, and the problems with what they do read.

As on GitHub, `needs` holds only a node's direct needs, and status functions mean something only
in `if` ("Contexts" and "Status check functions" in GitHub's workflow syntax docs); `selected`
exists only in `gate`; `vars`, `matrix` and `plan` are known when the plan is loaded, `github`
and `needs` only when it runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wait_and_dispatch.plans.plan_nodes import MergedNode, as_mapping
from wait_and_dispatch.plans.plan_schema import join_or
from wait_and_dispatch.plans.plan_yaml import Loc, Problems
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.support.expressions import (
    BUILTIN_FUNCTIONS,
    ExpressionError,
    function_calls,
    references,
)

STATUS_FUNCTIONS = ("success", "always", "failure", "cancelled")
GITHUB_KEYS = ("repository", "sha", "ref_name", "event_name")
# A node's outputs are the action's; `nodes` is the output of a whole plan, never of one node.
NODE_OUTPUTS = tuple(name for name in OUTPUT_NAMES if name != "nodes")
PLAN_KEYS = ("name", "environment")


def strings_in(value: Any, rel: tuple[str | int, ...]) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield rel, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings_in(item, (*rel, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings_in(item, (*rel, i))


@dataclass
class ExpressionScope:
    """What a node's expressions may read, and the problems with what they do read."""

    problems: Problems
    vars: Mapping[str, str]  # the plan's vars, after the overlay and --var
    node: MergedNode | None  # None: the plan's own settings
    nodes: Mapping[str, MergedNode]
    needs: list[str]
    direct: Mapping[str, str]

    def check(self, text: str, loc: Loc, kind: str) -> None:
        problems = self.problems
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
                known = join_or(allowed, "and")
                return f"only {known} are known here ({root} is known only when the plan runs)"
            if root == "selected":
                return "selected is known only in gate"
            return f"unknown context {path[0]!r} (contexts are: {', '.join(allowed)})"
        if root == "vars":
            if rest and rest[0].lower() not in {name.lower() for name in self.vars}:
                defined = ", ".join(self.vars) or "the plan defines none"
                return f"{rest[0]!r} is not in vars (vars: {defined})"
        elif root == "matrix":
            keys = list(as_mapping(self.node.values.get("matrix"))) if self.node else []
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
