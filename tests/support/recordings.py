"""Real GitHub exchanges recorded by PyGithub (tests/data/recordings, see its NOTICE.md).

Each file is a sequence of exchanges; an exchange is ten lines (protocol, method, host, port,
path with query, request headers as a Python dict literal, request body or ``None``, status,
response headers as a Python list of tuples, response body) followed by a blank line.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDINGS_DIR = Path(__file__).resolve().parent.parent / "data" / "recordings"

_LINES_PER_EXCHANGE = 10


class Headers(Mapping[str, str]):
    """HTTP headers with case-insensitive names; keeps the spelling and order they arrived in."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = [(str(name), str(value)) for name, value in items]
        self._by_lower: dict[str, str] = {}
        for name, value in self._items:
            # A repeated header folds into one comma-separated value, as RFC 9110 allows.
            key = name.lower()
            self._by_lower[key] = f"{self._by_lower[key]}, {value}" if key in self._by_lower else value

    def __getitem__(self, name: str) -> str:
        return self._by_lower[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_lower

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name, _ in self._items:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len(self._by_lower)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class Exchange:
    """One recorded request and GitHub's answer to it."""

    source: str
    index: int
    protocol: str
    method: str
    host: str
    port: int | None
    path: str
    query: dict[str, list[str]]
    path_with_query: str
    request_headers: Headers
    request_body: str | None
    status: int
    response_headers: Headers
    response_body: str

    @property
    def request_json(self) -> Any:
        return None if not self.request_body else json.loads(self.request_body)

    @property
    def response_json(self) -> Any:
        """The parsed JSON body, or None when the answer has no body (204, 302, 304)."""
        return None if not self.response_body else json.loads(self.response_body)

    @property
    def id(self) -> str:
        """A short name for test ids: ``File#n METHOD /path``."""
        return f"{self.source}#{self.index} {self.method} {self.path}"


def _optional(text: str) -> str | None:
    return None if text == "None" else text


def parse_exchanges(text: str, source: str = "<string>") -> list[Exchange]:
    lines = text.split("\n")
    exchanges: list[Exchange] = []
    position = 0
    while position < len(lines):
        if lines[position] == "":
            position += 1
            continue
        block = lines[position : position + _LINES_PER_EXCHANGE]
        if len(block) < _LINES_PER_EXCHANGE:
            raise ValueError(f"{source}: truncated exchange at line {position + 1}")
        protocol, method, host, port, path_with_query, req_headers, req_body, status, resp_headers, body = (
            block
        )
        if protocol not in ("http", "https"):
            raise ValueError(f"{source}: line {position + 1} should be a protocol, got {protocol!r}")
        split = urlsplit(path_with_query)
        request_headers = ast.literal_eval(req_headers)
        response_headers = ast.literal_eval(resp_headers)
        if not isinstance(request_headers, dict) or not isinstance(response_headers, list):
            raise ValueError(f"{source}: malformed headers at line {position + 1}")
        port_text = _optional(port)
        exchanges.append(
            Exchange(
                source=source,
                index=len(exchanges),
                protocol=protocol,
                method=method,
                host=host,
                port=None if port_text is None else int(port_text),
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                path_with_query=path_with_query,
                request_headers=Headers(request_headers.items()),
                request_body=_optional(req_body),
                status=int(status),
                response_headers=Headers(response_headers),
                response_body="" if body == "None" else body,
            )
        )
        position += _LINES_PER_EXCHANGE
    return exchanges


@cache
def _load(name: str) -> tuple[Exchange, ...]:
    file_name = name if name.endswith(".txt") else f"{name}.txt"
    path = RECORDINGS_DIR / file_name
    return tuple(parse_exchanges(path.read_text(encoding="utf-8"), source=path.stem))


def load_exchanges(name: str) -> list[Exchange]:
    """The exchanges of one recording, by file name with or without ``.txt``."""
    return list(_load(name))


def recording_names() -> list[str]:
    return sorted(path.stem for path in RECORDINGS_DIR.glob("*.txt"))


def all_exchanges() -> list[Exchange]:
    return [exchange for name in recording_names() for exchange in _load(name)]
