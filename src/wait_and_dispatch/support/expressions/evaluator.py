"""Evaluation: an expression's value in a context, and a template rendered."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from wait_and_dispatch.support.expressions.functions import BUILTINS
from wait_and_dispatch.support.expressions.parser import parse, template_parts
from wait_and_dispatch.support.expressions.tree import (
    Access,
    Binary,
    Call,
    Context,
    ExpressionError,
    Literal,
    Node,
    Not,
)
from wait_and_dispatch.support.expressions.values import equal, less, to_number, to_string, to_text, truthy


def _lookup(container: Any, key: Any) -> Any:
    if isinstance(container, list):
        index = to_number(key)
        if not math.isnan(index) and index.is_integer() and 0 <= index < len(container):
            return container[int(index)]
        return None
    if isinstance(container, Mapping):
        name = to_string(key)
        if name in container:
            return container[name]
        for k, v in container.items():
            if str(k).lower() == name.lower():
                return v
    return None


class Evaluator:
    def __init__(self, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] | None):
        self.context = context
        self.functions = {name.lower(): fn for name, fn in (functions or {}).items()}

    def eval(self, node: Node) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Context):
            return _lookup(self.context, node.name)
        if isinstance(node, Access):
            return _lookup(self.eval(node.target), self.eval(node.key))
        if isinstance(node, Not):
            return not truthy(self.eval(node.operand))
        if isinstance(node, Binary):
            return self._binary(node)
        return self._call(node)

    def _binary(self, node: Binary) -> Any:
        left = self.eval(node.left)
        if node.op == "&&":
            return self.eval(node.right) if truthy(left) else left
        if node.op == "||":
            return left if truthy(left) else self.eval(node.right)
        right = self.eval(node.right)
        if node.op == "==":
            return equal(left, right)
        if node.op == "!=":
            return not equal(left, right)
        if node.op == "<":
            return less(left, right, or_equal=False)
        if node.op == "<=":
            return less(left, right, or_equal=True)
        if node.op == ">":
            return less(right, left, or_equal=False)
        return less(right, left, or_equal=True)

    def _call(self, node: Call) -> Any:
        name = node.name.lower()
        function = self.functions.get(name) or BUILTINS.get(name)
        if function is None:
            raise ExpressionError(f"unknown function {node.name}()")
        return function(*(self.eval(arg) for arg in node.args))


def evaluate(
    expression: str,
    context: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """The value of `expression` (without `${{ }}`) in `context`; `functions` adds to the built-ins."""
    return Evaluator(context, functions).eval(parse(expression))


def render(
    template: str,
    context: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> str:
    """Replace every `${{ expr }}` in `template` with its value in `context`."""
    evaluator = Evaluator(context, functions)
    return "".join(
        to_text(evaluator.eval(parse(text))) if is_expression else text
        for is_expression, text in template_parts(template)
    )
