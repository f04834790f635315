"""Where requests go: URLs under the API (the token goes nowhere else) and redirects followed in it.

A renamed or transferred repository answers 301 for reads and 307 for writes (GitHub changelog
2015-04-17 "Repository redirects"); REST "Best practices for using the REST API" says to follow
redirects, and a 301 means the new URL is the one from now on. Redirects are followed with the
token within the API only, as octokit does; never to another host.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from wait_and_dispatch.github_api.answers import ApiResponse, clip
from wait_and_dispatch.github_api.transport import SAFE_METHODS
from wait_and_dispatch.github_api.versions import ApiNotice, Notices
from wait_and_dispatch.support.errors import GitHubApiError, UsageError

DEFAULT_API_URL = "https://api.github.com"

# Redirects followed per request: a renamed or transferred repository answers one; a few more
# allow for a rename of the owner too. octokit (fetch) follows up to 20; an API answer that keeps
# redirecting past 5 is a loop, not a move.
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MOVES_KEPT = 512  # permanent redirects remembered per client; past it, forgotten all at once


def normalize_api_url(url: str) -> str:
    """Check an API base URL (`https://api.github.com`, GHES `https://HOST/api/v3`) and trim it."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"not an API URL: {url!r}",
            hint="use https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server",
        )
    if parts.username or parts.password:
        raise UsageError(
            "the API URL must not carry credentials", hint="pass the token through GITHUB_TOKEN instead"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class ApiUrls:
    """The URLs of one API (`base_url`): built from paths, checked to be inside it, shown in messages."""

    def __init__(self, base_url: str) -> None:
        self.base_url = normalize_api_url(base_url)
        self.prefix = urllib.parse.urlsplit(self.base_url).path.rstrip("/")

    def url(self, path: str, params: Mapping[str, Any] | None) -> str:
        """An absolute URL under base_url: relative paths get the prefix, absolute URLs are kept."""
        if path.startswith(("http://", "https://")):
            # Absolute URLs (Link headers, `url` fields) must point into this API, never elsewhere:
            # the request carries the token.
            base = urllib.parse.urlsplit(self.base_url)
            target = urllib.parse.urlsplit(path)
            if (target.scheme, target.netloc) != (base.scheme, base.netloc) or not target.path.startswith(
                self.prefix
            ):
                raise GitHubApiError(
                    f"refusing to send the token to {target.scheme}://{target.netloc}{target.path}: "
                    f"it is outside the API at {self.base_url}",
                    hint="check --api-url / GITHUB_API_URL; it must be the API this URL came from",
                )
            url = path
        else:
            url = self.base_url + (path if path.startswith("/") else "/" + path)
        if params:
            pairs = [(k, _query_value(v)) for k, v in params.items() if v is not None]
            if pairs:
                url += ("&" if "?" in url else "?") + urllib.parse.urlencode(pairs)
        return url

    def display(self, url: str) -> str:
        """The path of a URL as we show it in messages (no host, never any credentials)."""
        parts = urllib.parse.urlsplit(url)
        shown = parts.path
        if self.prefix and shown.startswith(self.prefix):
            shown = shown[len(self.prefix) :] or "/"
        return shown + (f"?{parts.query}" if parts.query else "")

    def inside(self, url: str) -> bool:
        base = urllib.parse.urlsplit(self.base_url)
        target = urllib.parse.urlsplit(url)
        return (target.scheme, target.netloc) == (base.scheme, base.netloc) and target.path.startswith(
            self.prefix + "/"
        )


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Redirects:
    """Follows redirects within the API, and remembers permanent ones (301, 308) for later requests."""

    def __init__(self, urls: ApiUrls, notices: Notices) -> None:
        self._urls = urls
        self._notices = notices
        self._lock = threading.Lock()
        # Permanent redirects (301) seen: the old URL's answer lives at the new one from now on.
        self._moved: dict[str, str] = {}

    def follow(
        self, method: str, url: str, send: Callable[[str], ApiResponse], *, leave_other_hosts: bool
    ) -> ApiResponse:
        """`send(url)`, and again to where the answer redirects, at most MAX_REDIRECTS times.

        A redirect to another host is never followed with the token: with `leave_other_hosts` the
        redirect is the answer (the artifact zip's 302 to its storage), else it is refused.
        """
        url = self._moved_to(url)
        for _ in range(MAX_REDIRECTS + 1):
            response = send(url)
            if response.status not in _REDIRECTS:
                return response
            target = self._target(method, url, response, leave_other_hosts)
            if target is None:
                return response
            if response.status in (301, 308):
                # "This and all future requests should be directed to the new URI" (REST
                # "Best practices": follow redirects): the next poll goes there directly.
                self._remember_move(url, target)
            url = target
        raise GitHubApiError(
            f"{method} {self._urls.display(url)}: still redirected after {MAX_REDIRECTS} redirects",
            method=method,
            url=url,
            hint="the API keeps redirecting; check --api-url (GITHUB_API_URL) and the repository's name",
        )

    def _target(self, method: str, url: str, response: ApiResponse, leave_other_hosts: bool) -> str | None:
        """Where to send the request next, or None to hand the redirect to the caller."""
        status = response.status
        shown = f"{method} {self._urls.display(url)}"
        location = response.header("Location")
        if not location:
            raise GitHubApiError(
                f"{shown}: answered {status} without saying where to (no Location header)",
                status=status,
                method=method,
                url=url,
            )
        target = urllib.parse.urljoin(url, location.strip())
        if not self._urls.inside(target):
            if leave_other_hosts:
                return None
            parts = urllib.parse.urlsplit(target)
            elsewhere = clip(f"{parts.scheme}://{parts.netloc}{parts.path}")
            raise GitHubApiError(
                f"{shown}: answered {status}, a redirect to {elsewhere}, outside the API at "
                f"{self._urls.base_url}; it was not followed, so the token was not sent there",
                status=status,
                method=method,
                url=url,
                hint="GitHub redirects API requests only within the API; check --api-url (GITHUB_API_URL) "
                "and any proxy in between",
            )
        if method not in SAFE_METHODS and status in (301, 302, 303):
            # Followed, these would turn the write into a GET (RFC 9110 15.4); GitHub answers 307 to
            # writes for a moved repository, so this is not GitHub: the write is not sent again.
            moved_to = clip(self._urls.display(target))
            raise GitHubApiError(
                f"{shown}: answered {status} to {moved_to}; the {method} was not sent again",
                status=status,
                method=method,
                url=url,
                hint="if the repository was renamed or transferred, use its new owner/name",
            )
        if status in (301, 308):
            self._notices.say(
                f"moved:{self._urls.display(url).split('/')[1:4]}",
                ApiNotice(
                    "moved",
                    f"{shown} moved permanently to {self._urls.display(target)}: the repository was "
                    "renamed or transferred; requests follow it to its new place",
                ),
            )
        return target

    def _moved_to(self, url: str) -> str:
        with self._lock:
            for _ in range(MAX_REDIRECTS):
                if url not in self._moved:
                    break
                url = self._moved[url]
        return url

    def _remember_move(self, url: str, target: str) -> None:
        with self._lock:
            if len(self._moved) >= _MOVES_KEPT:
                self._moved.clear()
            self._moved[url] = target
