"""The syntax tree of an expression, and the error every part of the language raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated."""


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Context:
    name: str


@dataclass(frozen=True)
class Access:
    target: Node
    key: Node  # `.name` is parsed as the string literal 'name', as GitHub treats both alike
    dotted: bool  # written `.name` (for messages and references, same meaning as ['name'])


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str  # as written; looked up case-insensitively
    args: tuple[Node, ...]


Node: TypeAlias = Literal | Context | Access | Not | Binary | Call
