"""The built-in functions every caller has: `contains`, `startsWith`, `endsWith`, `format`, `join`,
`toJSON` and `fromJSON`, with the number of arguments each takes (checked when parsing)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from wait_and_dispatch.support.expressions.tree import ExpressionError
from wait_and_dispatch.support.expressions.values import equal, to_string


def _contains(search: Any, item: Any) -> bool:
    if isinstance(search, list):
        return any(equal(element, item) for element in search)
    return to_string(item).lower() in to_string(search).lower()


def _starts_with(text: Any, prefix: Any) -> bool:
    return to_string(text).lower().startswith(to_string(prefix).lower())


def _ends_with(text: Any, suffix: Any) -> bool:
    return to_string(text).lower().endswith(to_string(suffix).lower())


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
        return to_string(values[index])

    return _FORMAT_RE.sub(replace, to_string(template))


def _join(items: Any, separator: Any = ",") -> str:
    if not isinstance(items, list):
        return to_string(items)
    return to_string(separator).join(to_string(item) for item in items)


def _to_json(value: Any) -> str:
    return json.dumps(value, indent=2)


def _from_json(text: Any) -> Any:
    try:
        return json.loads(to_string(text))
    except json.JSONDecodeError as error:
        raise ExpressionError(f"fromJSON(): {to_string(text)[:40]!r} is not JSON ({error.msg})") from None


BUILTINS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": _starts_with,
    "endswith": _ends_with,
    "format": _format,
    "join": _join,
    "tojson": _to_json,
    "fromjson": _from_json,
}
# (fewest, most) arguments, checked when parsing so that a wrong call is found before it runs.
BUILTIN_ARITY: dict[str, tuple[int, int]] = {
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
