"""What an expression reads and calls, found without evaluating it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wait_and_dispatch.support.expressions.parser import parse, template_parts
from wait_and_dispatch.support.expressions.tree import Access, Binary, Call, Context, Literal, Node, Not


def _expressions(template_or_expression: str) -> list[Node]:
    if "${{" in template_or_expression:
        return [
            parse(text) for is_expression, text in template_parts(template_or_expression) if is_expression
        ]
    return [parse(template_or_expression)]


def static_path(node: Node) -> tuple[str, ...] | None:
    if isinstance(node, Context):
        return (node.name,)
    if isinstance(node, Access) and isinstance(node.key, Literal) and isinstance(node.key.value, str):
        parent = static_path(node.target)
        return None if parent is None else (*parent, node.key.value)
    return None


def walk(node: Node, paths: list[tuple[str, ...]], calls: list[str]) -> None:
    path = static_path(node)
    if path is not None:
        paths.append(path)
    elif isinstance(node, Access):
        # A dynamic index (`needs[matrix.x]`, `list[0]`) ends the path: what precedes it is read.
        walk(node.target, paths, calls)
        walk(node.key, paths, calls)
    elif isinstance(node, Not):
        walk(node.operand, paths, calls)
    elif isinstance(node, Binary):
        walk(node.left, paths, calls)
        walk(node.right, paths, calls)
    elif isinstance(node, Call):
        calls.append(node.name)
        for arg in node.args:
            walk(arg, paths, calls)


def _unique(items: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def references(template_or_expression: str) -> list[tuple[str, ...]]:
    """The context paths an expression (or every `${{ }}` of a template) reads, in order.

    `needs.python.outputs['run-id']` gives `('needs', 'python', 'outputs', 'run-id')`; a dynamic
    index ends the path (`needs[x].result` gives `('needs',)` and `x`'s own paths). Text with a
    `${{` is read as a template, other text as one bare expression. Raises `ExpressionError`.
    """
    paths: list[tuple[str, ...]] = []
    for node in _expressions(template_or_expression):
        walk(node, paths, [])
    return _unique(paths)


def function_calls(template_or_expression: str) -> list[str]:
    """The names of the functions an expression (or template) calls, as written, in order."""
    calls: list[str] = []
    for node in _expressions(template_or_expression):
        walk(node, [], calls)
    return _unique(calls)
