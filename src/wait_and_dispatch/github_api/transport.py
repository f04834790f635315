"""The wire: HTTP requests to the API host and to the artifact storage host.

The API host is reached through the standard library's `http.client`, on one kept-alive
connection (`Wire`), so that the first request of a run goes out without importing `requests`
and `urllib3`, and so that a failed request is retried in one place only (retry.py): this layer
never retries on its own, except to re-send a safe request at once when the server had closed the
idle connection it was sent on. Artifact zips stream from the storage host through `requests`,
imported only for a download, with a session that never carries the token (`storage_session`).
Proxies (`HTTPS_PROXY`, `NO_PROXY`) and a CA bundle (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`) are
honoured as `requests` honours them.
"""

from __future__ import annotations

import base64
import http.client
import os
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

# Requests that are safe to repeat (RFC 9110 9.2.2): a read is retried, a write never blindly.
SAFE_METHODS = frozenset({"GET", "HEAD"})
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
# Failures of a kept-alive connection the server closed while it sat idle: the request did not
# reach it, and a safe request may be sent again at once on a fresh connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class WireError(Exception):
    """The request failed on the network. `never_sent`: not a byte of it left this process."""

    def __init__(self, detail: str, *, never_sent: bool, timed_out: bool = False) -> None:
        super().__init__(detail)
        self.never_sent = never_sent
        self.timed_out = timed_out


class Headers(MutableMapping[str, str]):
    """HTTP headers by case-insensitive name (the last value of a repeated one)."""

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for name, value in pairs:
            self[name] = value

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __setitem__(self, name: str, value: str) -> None:
        self._items[name.lower()] = (name, value)

    def __delitem__(self, name: str) -> None:
        del self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class Wire:
    """One connection to the API host, reused while the server keeps it open. Not thread-safe:
    the client sends one request at a time through it (api.py, `_Exchange`)."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.timeout = timeout
        self._proxy = _proxy_for(base_url)
        self._connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, *, safe: bool
    ) -> tuple[int, Headers, bytes]:
        """Send one request to `url` (on this wire's host): the status, headers and whole body."""
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if self._proxy is not None and self.scheme == "http":
            target = url  # a plain-HTTP proxy takes the absolute URL
        for attempt in (1, 2):
            connection = self._connect()
            reused = connection.sock is not None
            if not reused:
                try:
                    connection.connect()
                except OSError as exc:
                    self.close()
                    timed_out = isinstance(exc, TimeoutError)
                    raise WireError(_describe_wire(exc), never_sent=True, timed_out=timed_out) from exc
            try:
                connection.request(method, target, body=body, headers=dict(headers))
                answer = connection.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if reused and attempt == 1 and safe and isinstance(exc, _STALE):
                    continue
                timed_out = isinstance(exc, TimeoutError)
                raise WireError(_describe_wire(exc), never_sent=False, timed_out=timed_out) from exc
            except BaseException:
                # An interrupt (SIGINT, SIGTERM) mid-exchange: the connection is half used, and the
                # requests that follow (the cancels) need a fresh one.
                self.close()
                raise
            if answer.will_close:
                self.close()
            return answer.status, Headers(answer.getheaders()), data
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is not None:
            return self._connection
        proxy = self._proxy
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            import ssl

            context = ssl.create_default_context(cafile=_ca_bundle())
            if proxy is None:
                connection = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                connection = http.client.HTTPSConnection(
                    proxy.hostname or "", proxy.port or 8080, timeout=self.timeout, context=context
                )
                connection.set_tunnel(self.host, self.port, headers=_proxy_headers(proxy))
        elif proxy is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        else:
            connection = http.client.HTTPConnection(
                proxy.hostname or "", proxy.port or 8080, timeout=self.timeout
            )
        self._connection = connection
        return connection


def _proxy_for(url: str) -> urllib.parse.SplitResult | None:
    """The proxy for `url` from the environment, as `requests` would pick it (or None)."""
    if not any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    import urllib.request

    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxies: dict[str, str] = urllib.request.getproxies()
    chosen = proxies.get(parts.scheme) or proxies.get("all")
    if not chosen:
        return None
    return urllib.parse.urlsplit(chosen if "://" in chosen else f"http://{chosen}")


def _proxy_headers(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    user = urllib.parse.unquote(proxy.username)
    password = urllib.parse.unquote(proxy.password or "")
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Proxy-Authorization": f"Basic {credentials}"}


def _ca_bundle() -> str | None:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None


def _describe_wire(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        text = f"Connection refused ({text})"
    return text if len(text) <= 160 else text[:157] + "..."


def storage_session(user_agent: str) -> requests.Session:
    """A session for the artifact storage host, made at the first download (requests is imported
    then)."""
    import requests

    session = requests.Session()
    # A fresh session for the storage host: no Authorization, ever. Blob storage rejects it
    # (octocrab #563), and the token must not leave GitHub. Setting `auth` also stops requests
    # from adding credentials from ~/.netrc.
    session.auth = _no_auth
    session.headers["User-Agent"] = user_agent
    return session


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    request.headers.pop("Authorization", None)
    return request
