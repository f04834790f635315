"""The request and answer types shared by the request pipeline (`api_app`) and the route
handlers (`routes/`): a request as handlers see it (`Call`), a handler's answer (`Reply`),
GitHub's error answer (`ApiError`), and a route (`Route`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from werkzeug.wrappers import Request

    from wait_and_dispatch.emulator.shapes import Urls
    from wait_and_dispatch.emulator.specs import TokenSpec
    from wait_and_dispatch.emulator.state import State

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """An answer other than success, with GitHub's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        doc: str = DOCS,
        headers: Mapping[str, str] | None = None,
        *,
        exhausted: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.doc = doc
        self.headers = dict(headers or {})
        self.exhausted = exhausted  # the answer reports the primary budget as spent


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or None for no body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One request as the handlers see it. Handlers run under `state.lock`."""

    request: Request
    token: TokenSpec | None
    now: float
    args: dict[str, Any]  # the URL template's parameters, converted (`{run_id}` is an int)
    path: str
    state: State
    urls: Urls
    signing_key: bytes  # signs the artifact download URLs of the blob host


@dataclass(frozen=True)
class Route:
    """One endpoint: its method, its URL template as GitHub's REST docs write it, its handler.

    `counted` is False for the one endpoint that "does not count against your rate limit"
    (REST "Get rate limit status for the authenticated user")."""

    method: str
    template: str
    handler: Callable[[Call], Reply]
    counted: bool = True


def not_found(doc: str = DOCS) -> ApiError:
    return ApiError(404, "Not Found", doc)


def invalid(message: str, doc: str) -> ApiError:
    return ApiError(422, message, doc)
