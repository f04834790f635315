"""Reading: the tokenizer, the recursive-descent parser (cached per expression text), and the
`${{ }}` parts of a template."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from wait_and_dispatch.support.expressions.functions import BUILTIN_ARITY
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

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?(?:0x[0-9A-Fa-f]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[!<>()\[\].,])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


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


class Parser:
    """Recursive descent, loosest binding first: `||`, `&&`, `==`/`!=`, `<`..., `!`, postfix."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> Node:
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

    def _binary(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        left = operand()
        while self._peek() in ops:
            op = self._take()[1]
            left = Binary(op, left, operand())
        return left

    def _or(self) -> Node:
        return self._binary(("||",), self._and)

    def _and(self) -> Node:
        return self._binary(("&&",), self._equality)

    def _equality(self) -> Node:
        return self._binary(("==", "!="), self._relation)

    def _relation(self) -> Node:
        return self._binary(("<", "<=", ">", ">="), self._unary)

    def _unary(self) -> Node:
        if self._peek() == "!":
            self._take()
            return Not(self._unary())
        return self._postfix(self._primary())

    def _postfix(self, node: Node) -> Node:
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                kind, prop = self._take()
                if kind != "name":
                    raise self._error("expected a property name after '.'")
                node = Access(node, Literal(prop), dotted=True)
            else:
                key = self._or()
                self._expect("]")
                node = Access(node, key, dotted=False)
        return node

    def _primary(self) -> Node:
        kind, value = self._take()
        if value == "(":
            inner = self._or()
            self._expect(")")
            return inner
        if kind == "str":
            return Literal(value[1:-1].replace("''", "'"))
        if kind == "num":
            return Literal(_number(value))
        if kind != "name":
            raise self._error(f"unexpected {value!r}")
        lowered = value.lower()
        if lowered in ("true", "false"):
            return Literal(lowered == "true")
        if lowered == "null":
            return Literal(None)
        if self._peek() == "(":
            return self._call(value)
        return Context(value)

    def _call(self, name: str) -> Node:
        self._take()
        args: list[Node] = []
        if self._peek() != ")":
            args.append(self._or())
            while self._peek() == ",":
                self._take()
                args.append(self._or())
        self._expect(")")
        arity = BUILTIN_ARITY.get(name.lower())
        if arity is not None and not arity[0] <= len(args) <= arity[1]:
            wanted = str(arity[0]) if arity[0] == arity[1] else f"{arity[0]} to {arity[1]}"
            raise self._error(f"{name}() takes {wanted} arguments, not {len(args)}")
        return Call(name, tuple(args))


def _number(text: str) -> int | float:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("-")
    if digits.lower().startswith("0x"):
        return sign * int(digits, 16)
    if "." in digits or "e" in digits.lower():
        return sign * float(digits)
    return sign * int(digits)


@functools.lru_cache(maxsize=2048)
def parse(expression: str) -> Node:
    try:
        return Parser(expression).parse()
    except RecursionError:  # the parser recurses per parenthesis: a few hundred are enough for anyone
        raise ExpressionError(f"expression nested too deeply: {expression.strip()[:40]}...") from None


def template_parts(template: str) -> list[tuple[bool, str]]:
    """`template` as (is_expression, text) parts, the text of an expression without `${{ }}`.

    A `}}` inside a 'string' does not end the `${{` (GitHub and actionlint read it so too), so a
    regular expression cannot do this. Raises `ExpressionError` for an unterminated `${{`.
    """
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


def check_template(template: str) -> None:
    """Raise `ExpressionError` when a `${{ }}` in `template` cannot be parsed."""
    for is_expression, text in template_parts(template):
        if is_expression:
            parse(text)


def unwrap(text: str) -> str:
    """The expression inside `text` when one `${{ }}` wraps all of it (as in `if:`), else `text`."""
    try:
        parts = template_parts(text.strip())
    except ExpressionError:
        return text.strip()  # whoever parses the result reports what is wrong with it
    if len(parts) == 1 and parts[0][0]:
        return parts[0][1].strip()
    return text.strip()
