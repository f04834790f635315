"""The request log: what reached the emulator, in arrival order, with secrets redacted."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from wait_and_dispatch.emulator.specs import TokenSpec


@dataclass
class LoggedRequest:
    """One request. `headers` keep `Authorization` present but "<redacted>"; `status` is 0 when
    the connection was dropped without an answer; `time` is the emulator clock at arrival."""

    host: str  # "api" | "blob"
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    time: float
    status: int = 0
    token_name: str | None = None

    @classmethod
    def build(cls, host: str, request: Request, body: Any, now: float) -> LoggedRequest:
        headers = {
            key: ("<redacted>" if key.lower() == "authorization" else value)
            for key, value in request.headers.items()
        }
        return cls(
            host=host,
            method=request.method,
            path=request.path,
            query={key: request.args.getlist(key) for key in request.args},
            headers=headers,
            body=body,
            time=now,
        )

    def finish(self, status: int, token: TokenSpec | None) -> LoggedRequest:
        self.status = status
        if token is not None:
            self.token_name = token.name
        return self


class RequestLog:
    """Thread-safe list of LoggedRequest."""

    def __init__(self) -> None:
        self._items: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._items.append(entry)

    def snapshot(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._items)

    def matching(self, path_glob: str) -> list[LoggedRequest]:
        return [r for r in self.snapshot() if fnmatch.fnmatchcase(r.path, path_glob)]
