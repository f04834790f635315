"""`${{ }}` expressions in run-name, job and step names, rendered the way the runner does.

Only the part of the expression language a run-name needs: context paths (`inputs.x`,
`github.event.inputs.x`, `github.event.client_payload.a.b`, `github.actor`, `github.ref_name`,
`github.sha`, `github.event_name`...), literals, `!`, `==`, `!=`, `&&`, `||` and parentheses
(GitHub docs "Evaluate expressions in workflows and actions"). Context names are
case-insensitive; a missing property is null and renders as the empty string; `true`/`false`
render in lower case, numbers without a trailing `.0`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TEMPLATE_RE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>&&|\|\||==|!=|<=|>=|[!<>()\[\].])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(ValueError):
    """An expression the emulator cannot parse."""


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
    def __init__(self, text: str, context: Mapping[str, Any]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.context = context

    def parse(self) -> Any:
        if not self.tokens:
            raise ExpressionError("empty expression")
        value = self._or()
        if self.pos != len(self.tokens):
            raise ExpressionError(
                f"unexpected {self.tokens[self.pos][1]!r} in expression {self.text.strip()!r}"
            )
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError(f"expression {self.text.strip()!r} ends too early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left if _truthy(left) else right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            left = right if _truthy(left) else left
        return left

    def _compare(self) -> Any:
        left = self._unary()
        while self._peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self._take()[1]
            right = self._unary()
            a, b = _loose(left), _loose(right)
            if op in ("==", "!="):
                left = (a == b) == (op == "==")
            else:
                try:
                    left = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
                except TypeError:
                    left = False
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not _truthy(self._unary())
        return self._primary()

    def _primary(self) -> Any:
        kind, value = self._take()
        if value == "(":
            inner = self._or()
            if self._take()[1] != ")":
                raise ExpressionError(f"missing ')' in expression {self.text.strip()!r}")
            return inner
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind != "name":
            raise ExpressionError(f"unexpected {value!r} in expression {self.text.strip()!r}")
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if self._peek() == "(":
            raise ExpressionError(f"function {value}() is not supported by the emulator")
        current: Any = _lookup(self.context, value)
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                kind, prop = self._take()
                if kind != "name":
                    raise ExpressionError(f"expected a property name after '.' in {self.text.strip()!r}")
                current = _lookup(current, prop)
            else:
                key = self._or()
                if self._take()[1] != "]":
                    raise ExpressionError(f"missing ']' in expression {self.text.strip()!r}")
                current = _lookup(current, str(key))
        return current


def _lookup(container: Any, key: str) -> Any:
    if isinstance(container, Mapping):
        if key in container:
            return container[key]
        for k, v in container.items():
            if str(k).lower() == key.lower():
                return v
    return None


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value


def _loose(value: Any) -> Any:
    # Comparisons are case-insensitive for strings (GitHub docs, "Operators").
    return value.lower() if isinstance(value, str) else value


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping | list):
        import json

        return json.dumps(value, indent=2)
    return str(value)


def check_template(template: str) -> None:
    """Raise `ExpressionError` when a `${{ }}` in `template` cannot be parsed."""
    if template.count("${{") != len(_TEMPLATE_RE.findall(template)):
        raise ExpressionError(f"unterminated '${{{{' in {template!r}")
    for match in _TEMPLATE_RE.finditer(template):
        _Parser(match.group(1), {}).parse()


def render(template: str, context: Mapping[str, Any]) -> str:
    """Replace every `${{ expr }}` in `template` with its value in `context`."""
    return _TEMPLATE_RE.sub(lambda m: _to_text(_Parser(m.group(1), context).parse()), template)
