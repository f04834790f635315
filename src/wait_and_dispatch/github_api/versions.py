"""The REST API version spoken, its fallback, and what the server says once (notices).

The client speaks `API_VERSION`, and `FALLBACK_API_VERSION` from the moment a server refuses it
(each client is refused at most once; the refused request is sent again: nothing was done). What
the layer learns on the way (an older version spoken, an endpoint marked deprecated with
`Deprecation`/`Sunset`, a moved repository) is said once per client, through `Notices`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from wait_and_dispatch.github_api.answers import ApiResponse, clip, link_of
from wait_and_dispatch.github_api.transport import Headers
from wait_and_dispatch.support.errors import ValidationFailedError

log = logging.getLogger(__name__)

# The REST API version we speak: 2026-03-10, the first calendar version with breaking changes
# (GitHub changelog 2026-03-12, "REST API version 2026-03-10 is now available"; REST "Breaking
# changes"). Under it the dispatch answers 200 with the run's id without being asked. A server that
# does not know it (a GitHub Enterprise Server release from before it) answers 400 naming the header
# and does nothing (REST "API versions"); the client then speaks 2022-11-28, which github.com keeps
# supporting for at least 24 months after 2026-03-10. docs/github-behaviour.md says which changes
# of 2026-03-10 touch the endpoints and fields this tool uses.
API_VERSION = "2026-03-10"
FALLBACK_API_VERSION = "2022-11-28"


@dataclass(frozen=True)
class ApiNotice:
    """Something the API layer learnt that is worth one line under `--debug`, said once.

    `kind` is "api-version" (the server refused our REST API version; we speak an older one),
    "deprecation" (GitHub marked an endpoint deprecated with `Deprecation`/`Sunset` headers) or
    "moved" (a repository answered 301: it was renamed or transferred).
    """

    kind: str
    message: str


class Notices:
    """Says each notice once per client: logged, and handed to `listener` (the edges show it)."""

    def __init__(self, listener: Callable[[ApiNotice], None] | None = None) -> None:
        self.listener = listener
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def say(self, key: str, notice: ApiNotice) -> None:
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        log.info("%s", notice.message)
        if self.listener is not None:
            self.listener(notice)

    def deprecation(self, shown: str, headers: Headers) -> None:
        """GitHub marks deprecated endpoints with `Deprecation` and `Sunset` headers and a
        `Link: <...>; rel="deprecation"` (octokit/request.js warns on them): say so once.
        `shown` is the request as messages show it (`GET /repos/...`)."""
        deprecation = clip(headers.get("Deprecation"))
        sunset = clip(headers.get("Sunset"))
        link = clip(link_of(headers.get("Link"), "deprecation"))
        parts = [f"deprecated since {deprecation}" if deprecation else "deprecated"]
        if sunset:
            parts.append(f"to be removed on {sunset}")
        if link:
            parts.append(f"see {link}")
        self.say(
            f"deprecation:{deprecation}|{sunset}|{link}",
            ApiNotice("deprecation", f"{shown}: GitHub says it is " + ", ".join(parts)),
        )


def refuses_version(message: str) -> bool:
    """GitHub's 400 for an unknown version: 'The version you specified in the "X-GitHub-API-Version"
    request header, "v3", is not a supported version. ...' (expipiplus1/update-nix-fetchgit#79)."""
    lowered = message.lower()
    return "x-github-api-version" in lowered and "supported" in lowered


class ApiVersions:
    """The version one client speaks to its server: `API_VERSION` until the server refuses it."""

    def __init__(self, notices: Notices) -> None:
        self.current = API_VERSION
        self._notices = notices
        self._lock = threading.Lock()

    def send(self, send_once: Callable[[str], ApiResponse]) -> ApiResponse:
        """`send_once(version)` in this client's version; once, on the server's refusal of it, in the
        older one.

        GitHub answers a version it does not support with 400 and does nothing (REST "API
        versions"), so even a write is safe to send again.
        """
        version = self.current
        try:
            return send_once(version)
        except ValidationFailedError as refusal:
            if (
                version == FALLBACK_API_VERSION
                or refusal.status != 400
                or not refuses_version(refusal.message)
            ):
                raise
        with self._lock:
            if self.current == version:
                self.current = FALLBACK_API_VERSION
        self._notices.say(
            "api-version",
            ApiNotice(
                "api-version",
                f"the server does not support REST API version {version}; speaking {FALLBACK_API_VERSION}",
            ),
        )
        return send_once(FALLBACK_API_VERSION)
