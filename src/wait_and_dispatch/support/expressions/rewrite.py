"""Expressions rewritten as source: known contexts written in (`bind`), a job's `if:` with its
constant parts evaluated (`fold_condition`), and a tree written back as expression text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from wait_and_dispatch.support.expressions.evaluator import Evaluator
from wait_and_dispatch.support.expressions.parser import parse, template_parts
from wait_and_dispatch.support.expressions.references import static_path, walk
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
from wait_and_dispatch.support.expressions.values import to_text, truthy


def bind(template_or_expression: str, context: Mapping[str, Any]) -> str:
    """Write the values of `context`'s contexts in, and leave every other context as it is.

    For an expression: `vars.env == needs.a.result` with `{"vars": {"env": "prod"}}` gives
    `'prod' == needs.a.result`. For a template, a `${{ }}` that reads only these contexts becomes
    its text, unless that text holds a `${{` of its own: then it stays an expression (a string
    literal), so that a value is never evaluated a second time. Raises `ExpressionError`.
    """
    roots = {name.lower() for name in context}

    def reads(node: Node) -> list[str]:
        paths: list[tuple[str, ...]] = []
        walk(node, paths, [])
        return [path[0].lower() for path in paths]

    if "${{" not in template_or_expression:
        node = parse(template_or_expression)
        if not set(reads(node)) & roots:
            return template_or_expression  # nothing to write in: kept as written
        return unparse(_bind(node, context, roots))
    parts: list[str] = []
    for is_expression, text in template_parts(template_or_expression):
        if not is_expression:
            parts.append(text)
            continue
        node = parse(text)
        read = reads(node)
        if all(root in roots for root in read):
            value = to_text(Evaluator(context, None).eval(node))
            parts.append(value if "${{" not in value else f"${{{{ {_literal_text(value)} }}}}")
        elif set(read) & roots:
            parts.append(f"${{{{ {unparse(_bind(node, context, roots))} }}}}")
        else:
            parts.append(f"${{{{{text}}}}}")
    return "".join(parts)


def _bind(node: Node, context: Mapping[str, Any], roots: set[str]) -> Node:
    path = static_path(node)
    if path is not None and path[0].lower() in roots:
        return Literal(Evaluator(context, None).eval(node))
    if isinstance(node, Access):
        return Access(_bind(node.target, context, roots), _bind(node.key, context, roots), node.dotted)
    if isinstance(node, Not):
        return Not(_bind(node.operand, context, roots))
    if isinstance(node, Binary):
        return Binary(node.op, _bind(node.left, context, roots), _bind(node.right, context, roots))
    if isinstance(node, Call):
        return Call(node.name, tuple(_bind(arg, context, roots) for arg in node.args))
    return node


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _literal_text(value: Any) -> str:
    """`value` as expression source: GitHub has string, number, boolean and null literals;
    arrays and objects are written as `fromJSON('...')`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str) and "${{" not in value:
        return "'" + value.replace("'", "''") + "'"
    # JSON, with `$` and `}` escaped so that the source never holds a `${{` (which would start a
    # new expression wherever the text is read as a template, on GitHub too) nor a `}}` (which a
    # reader that does not skip string literals would take for the end of the expression).
    return "fromJSON('" + _escaped_json(value).replace("'", "''") + "')"


def _escaped_json(value: Any) -> str:
    """`json.dumps(value)` with every `$` and `}` inside its strings written as a \\u escape."""
    if isinstance(value, str):
        return json.dumps(value).replace("$", "\\u0024").replace("}", "\\u007d")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_escaped_json(str(k))}: {_escaped_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_escaped_json(item) for item in value) + "]"
    return json.dumps(value)


def unparse(node: Node) -> str:
    """Expression source for `node`; operators are parenthesized, so precedence never changes."""
    if isinstance(node, Literal):
        return _literal_text(node.value)
    if isinstance(node, Context):
        return node.name
    if isinstance(node, Access):
        key = node.key
        name = key.value if node.dotted and isinstance(key, Literal) else None
        if isinstance(name, str) and _IDENTIFIER.fullmatch(name):
            return f"{unparse(node.target)}.{name}"
        return f"{unparse(node.target)}[{unparse(key)}]"
    if isinstance(node, Not):
        operand = unparse(node.operand)
        return f"!({operand})" if isinstance(node.operand, Binary) else f"!{operand}"
    if isinstance(node, Binary):
        level = _LEVELS[node.op]
        left = unparse(node.left)
        right = unparse(node.right)
        if isinstance(node.left, Binary) and _LEVELS[node.left.op] < level:
            left = f"({left})"
        if isinstance(node.right, Binary) and _LEVELS[node.right.op] <= level:
            right = f"({right})"
        return f"{left} {node.op} {right}"
    return f"{node.name}({', '.join(unparse(arg) for arg in node.args)})"


# How tightly each operator binds, as `Parser` reads them: parentheses are written only where
# the tree needs them, so a bound expression reads like the one written.
_LEVELS = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4}


# -- folding what is known ------------------------------------------------------------------------

# A job's `if:` without one of these means `success() && (if)` ("Evaluate expressions in
# workflows and actions", status check functions).
_STATUS_CHECKS = frozenset({"success", "failure", "always", "cancelled"})


def fold_condition(expression: str) -> str | None:
    """A job's `if:` with its constant parts evaluated, as GitHub would; None when it is always true.

    `'full' == 'full'` gives None (no `if:` needed: an `if:` that is true means the implied
    `success()`, as no `if:` does); `!failure() && 'a' != 'b'` gives `!failure()`; `'a' == 'b'`
    gives `false`; an expression without a constant part is returned as written. `&&` and `||`
    are only simplified where their value counts as true or false (an `if:`, `!`, another `&&` or
    `||` there), never inside a comparison or a function's argument, where their value counts.
    Where the status functions would all be folded away, `always()` keeps their meaning (no
    implied `success()`). Raises `ExpressionError`.
    """
    node = parse(expression)
    folded = _fold(node, truth=True)
    if folded == node:
        return expression.strip()
    if _checks_status(node) and not _checks_status(folded):
        if isinstance(folded, Literal):
            return "always()" if truthy(folded.value) else "false"
        folded = Binary("&&", Call("always", ()), folded)
    if isinstance(folded, Literal):
        return None if truthy(folded.value) else "false"
    return unparse(folded)


def _checks_status(node: Node) -> bool:
    calls: list[str] = []
    walk(node, [], calls)
    return any(name.lower() in _STATUS_CHECKS for name in calls)


def _fold(node: Node, *, truth: bool) -> Node:
    """`node` with what needs no context evaluated; `truth`: only its truthiness counts."""
    if isinstance(node, Not):
        operand = _fold(node.operand, truth=True)
        return Literal(not truthy(operand.value)) if isinstance(operand, Literal) else Not(operand)
    if isinstance(node, Binary) and node.op in ("&&", "||"):
        left, right = _fold(node.left, truth=truth), _fold(node.right, truth=truth)
        if isinstance(left, Literal):  # exact: `a && b` is b when a is true, else a
            return right if truthy(left.value) == (node.op == "&&") else left
        if truth and isinstance(right, Literal):
            if truthy(right.value) == (node.op == "&&"):
                return left  # `x && true`, `x || false`: as true as x
            return Literal(node.op == "||")  # `x && false`, `x || true`
        return Binary(node.op, left, right)
    folded: Binary | Call
    if isinstance(node, Binary):
        folded = Binary(node.op, _fold(node.left, truth=False), _fold(node.right, truth=False))
        children: tuple[Node, ...] = (folded.left, folded.right)
    elif isinstance(node, Call) and node.name.lower() not in _STATUS_CHECKS:
        folded = Call(node.name, tuple(_fold(arg, truth=False) for arg in node.args))
        children = folded.args
    elif isinstance(node, Access):
        return Access(node.target, _fold(node.key, truth=False), node.dotted)
    else:
        return node  # a literal, a context, a status function
    if all(isinstance(child, Literal) for child in children):
        try:
            return Literal(Evaluator({}, None).eval(folded))
        except (ExpressionError, TypeError, ValueError):
            return folded  # left for GitHub to report, as written
    return folded
