"""`${{ }}` expressions, read and evaluated the way GitHub Actions does.

One implementation for the two places that need it: the emulator renders run-names, job and
step names and `if:` conditions with it, and plans use it for their templates, conditions and
gates. The language is the one GitHub documents in "Evaluate expressions in workflows and
actions" (docs.github.com/en/actions/reference/workflows-and-actions/expressions): literals
(`null`, `true`, `false`, numbers, 'strings' with '' for a quote), context paths (`vars.x`,
`needs.build.outputs['run-id']`, `github.event.commits[0]`), `!`, `<`, `<=`, `>`, `>=`, `==`, `!=`,
`&&`, `||`, parentheses, and the functions `contains`, `startsWith`, `endsWith`, `format`, `join`,
`toJSON` and `fromJSON`. The caller adds its own functions (the status functions `success()`,
`always()`... only mean something to whoever runs jobs).

GitHub's rules kept here: context and function names are case-insensitive; a missing property is
null; strings compare case-insensitively; operands of different types compare as numbers (null
0, booleans 1 and 0, strings parsed, an unparseable string NaN); `&&` and `||` give one of their
operands, not a boolean; a template renders null as the empty string, booleans in lower case and
whole numbers without `.0`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated."""


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?(?:0x[0-9A-Fa-f]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[!<>()\[\].,])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


# -- the syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Context:
    name: str


@dataclass(frozen=True)
class _Access:
    target: _Node
    key: _Node  # `.name` is parsed as the string literal 'name', as GitHub treats both alike
    dotted: bool  # written `.name` (for messages and references, same meaning as ['name'])


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _Binary:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Call:
    name: str  # as written; looked up case-insensitively
    args: tuple[_Node, ...]


_Node: TypeAlias = _Literal | _Context | _Access | _Not | _Binary | _Call


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"unexpected {text[pos:].strip()[:20]!r} in expression {text.strip()!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent, loosest binding first: `||`, `&&`, `==`/`!=`, `<`..., `!`, postfix."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> _Node:
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self._or()
        if self.pos != len(self.tokens):
            raise self._error(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def _error(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what} in expression {self.text.strip()!r}")

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError(f"expression {self.text.strip()!r} ends too early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _expect(self, op: str) -> None:
        if self._take()[1] != op:
            raise self._error(f"missing {op!r}")

    def _binary(self, ops: tuple[str, ...], operand: Callable[[], _Node]) -> _Node:
        left = operand()
        while self._peek() in ops:
            op = self._take()[1]
            left = _Binary(op, left, operand())
        return left

    def _or(self) -> _Node:
        return self._binary(("||",), self._and)

    def _and(self) -> _Node:
        return self._binary(("&&",), self._equality)

    def _equality(self) -> _Node:
        return self._binary(("==", "!="), self._relation)

    def _relation(self) -> _Node:
        return self._binary(("<", "<=", ">", ">="), self._unary)

    def _unary(self) -> _Node:
        if self._peek() == "!":
            self._take()
            return _Not(self._unary())
        return self._postfix(self._primary())

    def _postfix(self, node: _Node) -> _Node:
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                kind, prop = self._take()
                if kind != "name":
                    raise self._error("expected a property name after '.'")
                node = _Access(node, _Literal(prop), dotted=True)
            else:
                key = self._or()
                self._expect("]")
                node = _Access(node, key, dotted=False)
        return node

    def _primary(self) -> _Node:
        kind, value = self._take()
        if value == "(":
            inner = self._or()
            self._expect(")")
            return inner
        if kind == "str":
            return _Literal(value[1:-1].replace("''", "'"))
        if kind == "num":
            return _Literal(_number(value))
        if kind != "name":
            raise self._error(f"unexpected {value!r}")
        lowered = value.lower()
        if lowered in ("true", "false"):
            return _Literal(lowered == "true")
        if lowered == "null":
            return _Literal(None)
        if self._peek() == "(":
            return self._call(value)
        return _Context(value)

    def _call(self, name: str) -> _Node:
        self._take()
        args: list[_Node] = []
        if self._peek() != ")":
            args.append(self._or())
            while self._peek() == ",":
                self._take()
                args.append(self._or())
        self._expect(")")
        arity = _BUILTIN_ARITY.get(name.lower())
        if arity is not None and not arity[0] <= len(args) <= arity[1]:
            wanted = str(arity[0]) if arity[0] == arity[1] else f"{arity[0]} to {arity[1]}"
            raise self._error(f"{name}() takes {wanted} arguments, not {len(args)}")
        return _Call(name, tuple(args))


def _number(text: str) -> int | float:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("-")
    if digits.lower().startswith("0x"):
        return sign * int(digits, 16)
    if "." in digits or "e" in digits.lower():
        return sign * float(digits)
    return sign * int(digits)


@functools.lru_cache(maxsize=2048)
def _parse(expression: str) -> _Node:
    try:
        return _Parser(expression).parse()
    except RecursionError:  # the parser recurses per parenthesis: a few hundred are enough for anyone
        raise ExpressionError(f"expression nested too deeply: {expression.strip()[:40]}...") from None


# -- values --------------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """GitHub's truthiness: null, false, 0, NaN and '' are false; everything else is true."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def _same_kind(a: Any, b: Any) -> bool:
    kinds = (bool, str, type(None), Mapping, list)
    for kind in kinds:
        if isinstance(a, kind) or isinstance(b, kind):
            return isinstance(a, kind) and isinstance(b, kind)
    return True  # both numbers


def _equal(a: Any, b: Any) -> bool:
    if not _same_kind(a, b):
        x, y = _to_number(a), _to_number(b)
        return x == y
    if isinstance(a, str):
        return str(a).lower() == str(b).lower()  # GitHub ignores case when comparing strings
    if isinstance(a, Mapping | list):
        return a is b  # objects and arrays are equal only to themselves
    return bool(a == b)


def _less(a: Any, b: Any, *, or_equal: bool) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        x: Any = a.lower()
        y: Any = b.lower()
    elif _same_kind(a, b) and not isinstance(a, Mapping | list | type(None)):
        x, y = a, b
    else:
        x, y = _to_number(a), _to_number(b)
    return bool(x <= y if or_equal else x < y)


def _to_string(value: Any) -> str:
    """A value as a function's string argument (GitHub: arrays and objects are 'Array', 'Object')."""
    if isinstance(value, Mapping):
        return "Object"
    if isinstance(value, list):
        return "Array"
    return _to_text(value)


def _to_text(value: Any) -> str:
    """A value as a template renders it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if value.is_integer():
            return str(int(value))
    if isinstance(value, Mapping | list):
        return json.dumps(value, indent=2)
    return str(value)


# -- functions -----------------------------------------------------------------------------------


def _contains(search: Any, item: Any) -> bool:
    if isinstance(search, list):
        return any(_equal(element, item) for element in search)
    return _to_string(item).lower() in _to_string(search).lower()


def _starts_with(text: Any, prefix: Any) -> bool:
    return _to_string(text).lower().startswith(_to_string(prefix).lower())


def _ends_with(text: Any, suffix: Any) -> bool:
    return _to_string(text).lower().endswith(_to_string(suffix).lower())


_FORMAT_RE = re.compile(r"\{\{|\}\}|\{(\d+)\}|[{}]")


def _format(template: Any, *values: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        if match.group(1) is None:
            raise ExpressionError(f"format(): unbalanced {token!r} in {template!r}; write '{{{{' for '{{'")
        index = int(match.group(1))
        if index >= len(values):
            raise ExpressionError(f"format(): {template!r} uses {{{index}}} but has {len(values)} values")
        return _to_string(values[index])

    return _FORMAT_RE.sub(replace, _to_string(template))


def _join(items: Any, separator: Any = ",") -> str:
    if not isinstance(items, list):
        return _to_string(items)
    return _to_string(separator).join(_to_string(item) for item in items)


def _to_json(value: Any) -> str:
    return json.dumps(value, indent=2)


def _from_json(text: Any) -> Any:
    try:
        return json.loads(_to_string(text))
    except json.JSONDecodeError as error:
        raise ExpressionError(f"fromJSON(): {_to_string(text)[:40]!r} is not JSON ({error.msg})") from None


_BUILTINS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": _starts_with,
    "endswith": _ends_with,
    "format": _format,
    "join": _join,
    "tojson": _to_json,
    "fromjson": _from_json,
}
# (fewest, most) arguments, checked when parsing so that a wrong call is found before it runs.
_BUILTIN_ARITY: dict[str, tuple[int, int]] = {
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "format": (1, 1000),
    "join": (1, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
}
BUILTIN_FUNCTIONS: tuple[str, ...] = (
    "contains",
    "startsWith",
    "endsWith",
    "format",
    "join",
    "toJSON",
    "fromJSON",
)


# -- evaluation ----------------------------------------------------------------------------------


def _lookup(container: Any, key: Any) -> Any:
    if isinstance(container, list):
        index = _to_number(key)
        if not math.isnan(index) and index.is_integer() and 0 <= index < len(container):
            return container[int(index)]
        return None
    if isinstance(container, Mapping):
        name = _to_string(key)
        if name in container:
            return container[name]
        for k, v in container.items():
            if str(k).lower() == name.lower():
                return v
    return None


class _Evaluator:
    def __init__(self, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] | None):
        self.context = context
        self.functions = {name.lower(): fn for name, fn in (functions or {}).items()}

    def eval(self, node: _Node) -> Any:
        if isinstance(node, _Literal):
            return node.value
        if isinstance(node, _Context):
            return _lookup(self.context, node.name)
        if isinstance(node, _Access):
            return _lookup(self.eval(node.target), self.eval(node.key))
        if isinstance(node, _Not):
            return not truthy(self.eval(node.operand))
        if isinstance(node, _Binary):
            return self._binary(node)
        return self._call(node)

    def _binary(self, node: _Binary) -> Any:
        left = self.eval(node.left)
        if node.op == "&&":
            return self.eval(node.right) if truthy(left) else left
        if node.op == "||":
            return left if truthy(left) else self.eval(node.right)
        right = self.eval(node.right)
        if node.op == "==":
            return _equal(left, right)
        if node.op == "!=":
            return not _equal(left, right)
        if node.op == "<":
            return _less(left, right, or_equal=False)
        if node.op == "<=":
            return _less(left, right, or_equal=True)
        if node.op == ">":
            return _less(right, left, or_equal=False)
        return _less(right, left, or_equal=True)

    def _call(self, node: _Call) -> Any:
        name = node.name.lower()
        function = self.functions.get(name) or _BUILTINS.get(name)
        if function is None:
            raise ExpressionError(f"unknown function {node.name}()")
        return function(*(self.eval(arg) for arg in node.args))


def evaluate(
    expression: str,
    context: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """The value of `expression` (without `${{ }}`) in `context`; `functions` adds to the built-ins."""
    return _Evaluator(context, functions).eval(_parse(expression))


# -- templates -----------------------------------------------------------------------------------


def _split(template: str) -> list[tuple[bool, str]]:
    """`template` as (is_expression, text) parts. A `}}` inside a 'string' does not end a `${{`."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    while (start := template.find("${{", pos)) >= 0:
        parts.append((False, template[pos:start]))
        i = start + 3
        while True:
            if i >= len(template):
                raise ExpressionError(f"unterminated '${{{{' in {template!r}")
            if template[i] == "'":
                i += 1
                while True:
                    i = template.find("'", i)
                    if i < 0:
                        raise ExpressionError(f"unterminated string in {template!r}")
                    if not template.startswith("''", i):
                        break
                    i += 2
                i += 1
            elif template.startswith("}}", i):
                parts.append((True, template[start + 3 : i]))
                pos = i + 2
                break
            else:
                i += 1
    parts.append((False, template[pos:]))
    return [part for part in parts if part[0] or part[1]]


def template_parts(template: str) -> list[tuple[bool, str]]:
    """`template` as (is_expression, text) parts, the text of an expression without `${{ }}`.

    A `}}` inside a 'string' does not end the `${{` (GitHub and actionlint read it so too), so a
    regular expression cannot do this. Raises `ExpressionError` for an unterminated `${{`.
    """
    return _split(template)


def check_template(template: str) -> None:
    """Raise `ExpressionError` when a `${{ }}` in `template` cannot be parsed."""
    for is_expression, text in _split(template):
        if is_expression:
            _parse(text)


def render(
    template: str,
    context: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> str:
    """Replace every `${{ expr }}` in `template` with its value in `context`."""
    evaluator = _Evaluator(context, functions)
    return "".join(
        _to_text(evaluator.eval(_parse(text))) if is_expression else text
        for is_expression, text in _split(template)
    )


def unwrap(text: str) -> str:
    """The expression inside `text` when one `${{ }}` wraps all of it (as in `if:`), else `text`."""
    try:
        parts = _split(text.strip())
    except ExpressionError:
        return text.strip()  # whoever parses the result reports what is wrong with it
    if len(parts) == 1 and parts[0][0]:
        return parts[0][1].strip()
    return text.strip()


def _expressions(template_or_expression: str) -> list[_Node]:
    if "${{" in template_or_expression:
        return [_parse(text) for is_expression, text in _split(template_or_expression) if is_expression]
    return [_parse(template_or_expression)]


def _static_path(node: _Node) -> tuple[str, ...] | None:
    if isinstance(node, _Context):
        return (node.name,)
    if isinstance(node, _Access) and isinstance(node.key, _Literal) and isinstance(node.key.value, str):
        parent = _static_path(node.target)
        return None if parent is None else (*parent, node.key.value)
    return None


def _walk(node: _Node, paths: list[tuple[str, ...]], calls: list[str]) -> None:
    path = _static_path(node)
    if path is not None:
        paths.append(path)
    elif isinstance(node, _Access):
        # A dynamic index (`needs[matrix.x]`, `list[0]`) ends the path: what precedes it is read.
        _walk(node.target, paths, calls)
        _walk(node.key, paths, calls)
    elif isinstance(node, _Not):
        _walk(node.operand, paths, calls)
    elif isinstance(node, _Binary):
        _walk(node.left, paths, calls)
        _walk(node.right, paths, calls)
    elif isinstance(node, _Call):
        calls.append(node.name)
        for arg in node.args:
            _walk(arg, paths, calls)


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
        _walk(node, paths, [])
    return _unique(paths)


def function_calls(template_or_expression: str) -> list[str]:
    """The names of the functions an expression (or template) calls, as written, in order."""
    calls: list[str] = []
    for node in _expressions(template_or_expression):
        _walk(node, [], calls)
    return _unique(calls)


# -- binding known contexts -----------------------------------------------------------------------


def bind(template_or_expression: str, context: Mapping[str, Any]) -> str:
    """Write the values of `context`'s contexts in, and leave every other context as it is.

    For an expression: `vars.env == needs.a.result` with `{"vars": {"env": "prod"}}` gives
    `'prod' == needs.a.result`. For a template, a `${{ }}` that reads only these contexts becomes
    its text, unless that text holds a `${{` of its own: then it stays an expression (a string
    literal), so that a value is never evaluated a second time. Raises `ExpressionError`.
    """
    roots = {name.lower() for name in context}

    def reads(node: _Node) -> list[str]:
        paths: list[tuple[str, ...]] = []
        _walk(node, paths, [])
        return [path[0].lower() for path in paths]

    if "${{" not in template_or_expression:
        node = _parse(template_or_expression)
        if not set(reads(node)) & roots:
            return template_or_expression  # nothing to write in: kept as written
        return _unparse(_bind(node, context, roots))
    parts: list[str] = []
    for is_expression, text in _split(template_or_expression):
        if not is_expression:
            parts.append(text)
            continue
        node = _parse(text)
        read = reads(node)
        if all(root in roots for root in read):
            value = _to_text(_Evaluator(context, None).eval(node))
            parts.append(value if "${{" not in value else f"${{{{ {_literal_text(value)} }}}}")
        elif set(read) & roots:
            parts.append(f"${{{{ {_unparse(_bind(node, context, roots))} }}}}")
        else:
            parts.append(f"${{{{{text}}}}}")
    return "".join(parts)


def _bind(node: _Node, context: Mapping[str, Any], roots: set[str]) -> _Node:
    path = _static_path(node)
    if path is not None and path[0].lower() in roots:
        return _Literal(_Evaluator(context, None).eval(node))
    if isinstance(node, _Access):
        return _Access(_bind(node.target, context, roots), _bind(node.key, context, roots), node.dotted)
    if isinstance(node, _Not):
        return _Not(_bind(node.operand, context, roots))
    if isinstance(node, _Binary):
        return _Binary(node.op, _bind(node.left, context, roots), _bind(node.right, context, roots))
    if isinstance(node, _Call):
        return _Call(node.name, tuple(_bind(arg, context, roots) for arg in node.args))
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


def _unparse(node: _Node) -> str:
    """Expression source for `node`; operators are parenthesized, so precedence never changes."""
    if isinstance(node, _Literal):
        return _literal_text(node.value)
    if isinstance(node, _Context):
        return node.name
    if isinstance(node, _Access):
        key = node.key
        name = key.value if node.dotted and isinstance(key, _Literal) else None
        if isinstance(name, str) and _IDENTIFIER.fullmatch(name):
            return f"{_unparse(node.target)}.{name}"
        return f"{_unparse(node.target)}[{_unparse(key)}]"
    if isinstance(node, _Not):
        operand = _unparse(node.operand)
        return f"!({operand})" if isinstance(node.operand, _Binary) else f"!{operand}"
    if isinstance(node, _Binary):
        level = _LEVELS[node.op]
        left = _unparse(node.left)
        right = _unparse(node.right)
        if isinstance(node.left, _Binary) and _LEVELS[node.left.op] < level:
            left = f"({left})"
        if isinstance(node.right, _Binary) and _LEVELS[node.right.op] <= level:
            right = f"({right})"
        return f"{left} {node.op} {right}"
    return f"{node.name}({', '.join(_unparse(arg) for arg in node.args)})"


# How tightly each operator binds, as `_Parser` reads them: parentheses are written only where
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
    node = _parse(expression)
    folded = _fold(node, truth=True)
    if folded == node:
        return expression.strip()
    if _checks_status(node) and not _checks_status(folded):
        if isinstance(folded, _Literal):
            return "always()" if truthy(folded.value) else "false"
        folded = _Binary("&&", _Call("always", ()), folded)
    if isinstance(folded, _Literal):
        return None if truthy(folded.value) else "false"
    return _unparse(folded)


def _checks_status(node: _Node) -> bool:
    calls: list[str] = []
    _walk(node, [], calls)
    return any(name.lower() in _STATUS_CHECKS for name in calls)


def _fold(node: _Node, *, truth: bool) -> _Node:
    """`node` with what needs no context evaluated; `truth`: only its truthiness counts."""
    if isinstance(node, _Not):
        operand = _fold(node.operand, truth=True)
        return _Literal(not truthy(operand.value)) if isinstance(operand, _Literal) else _Not(operand)
    if isinstance(node, _Binary) and node.op in ("&&", "||"):
        left, right = _fold(node.left, truth=truth), _fold(node.right, truth=truth)
        if isinstance(left, _Literal):  # exact: `a && b` is b when a is true, else a
            return right if truthy(left.value) == (node.op == "&&") else left
        if truth and isinstance(right, _Literal):
            if truthy(right.value) == (node.op == "&&"):
                return left  # `x && true`, `x || false`: as true as x
            return _Literal(node.op == "||")  # `x && false`, `x || true`
        return _Binary(node.op, left, right)
    folded: _Binary | _Call
    if isinstance(node, _Binary):
        folded = _Binary(node.op, _fold(node.left, truth=False), _fold(node.right, truth=False))
        children: tuple[_Node, ...] = (folded.left, folded.right)
    elif isinstance(node, _Call) and node.name.lower() not in _STATUS_CHECKS:
        folded = _Call(node.name, tuple(_fold(arg, truth=False) for arg in node.args))
        children = folded.args
    elif isinstance(node, _Access):
        return _Access(node.target, _fold(node.key, truth=False), node.dotted)
    else:
        return node  # a literal, a context, a status function
    if all(isinstance(child, _Literal) for child in children):
        try:
            return _Literal(_Evaluator({}, None).eval(folded))
        except (ExpressionError, TypeError, ValueError):
            return folded  # left for GitHub to report, as written
    return folded
