"""A tampering proxy: a small HTTP server on loopback, in front of the emulator, that rewrites
chosen answers as a broken proxy, a captive portal or a hostile middlebox would.

Every request is forwarded to the upstream (so the emulator's state changes as it would), and
its answer comes back through the first rule that matches, which may rewrite it::

    with TamperingProxy(emulator.api_url) as proxy:
        proxy.tamper("GET", "/repos/octo/app/actions/runs/*", replace_body(b"<html>..</html>", "text/html"))
        api = GitHubApi(base_url=proxy.url, token=emulator.token("dev"), clock=clock)

- `proxy.url` is what the client is given: the proxy's address with the upstream's path prefix
  (`/api/v3` on GHES), so clients see the same paths.
- A rule is a method (or "*") and a glob of the path as the client sent it, without the query
  (`fnmatch`); `times` limits how often it fires (None: always). `rule.fired` counts rewrites.
- A rewrite is a function from the upstream's `Answer` (status, headers, body) to the one the
  client gets. `replace_body`, `edit_json` and `set_headers` build the usual ones; they compose
  with `chain`.
- Like any reverse proxy, it rewrites the upstream's own address to its own in `Location` and
  `Link` headers and in JSON bodies (the `url` fields), so that links lead back through it. The
  artifact storage host is not proxied: its signed URLs point at the emulator's blob host.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

# Hop-by-hop headers (RFC 9110 7.6.1) and the length, which the proxy sets itself.
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def with_header(self, name: str, value: str | None) -> Answer:
        """The answer with `name` set to `value` (removed when None)."""
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=kept if value is None else (*kept, (name, value)))


Rewrite = Callable[[Answer], Answer]


@dataclass
class Rule:
    method: str
    path_glob: str
    rewrite: Rewrite
    times: int | None = None
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return self.method in ("*", method) and fnmatch.fnmatchcase(path, self.path_glob)


def replace_body(body: bytes, content_type: str, status: int | None = None) -> Rewrite:
    """The answer's body (and Content-Type, and status if given) replaced: an HTML page with 200."""

    def rewrite(answer: Answer) -> Answer:
        changed = answer.with_header("Content-Type", content_type).with_header("ETag", None)
        return replace(changed, body=body, status=answer.status if status is None else status)

    return rewrite


def edit_json(edit: Callable[[Any], Any]) -> Rewrite:
    """The JSON body passed through `edit` (which may change it in place and return None)."""

    def rewrite(answer: Answer) -> Answer:
        data = json.loads(answer.body)
        edited = edit(data)
        body = json.dumps(data if edited is None else edited).encode()
        return replace(answer.with_header("ETag", None), body=body)

    return rewrite


def set_headers(**headers: str | None) -> Rewrite:
    """Headers set (None removes one); underscores in the names become hyphens."""

    def rewrite(answer: Answer) -> Answer:
        for name, value in headers.items():
            answer = answer.with_header(name.replace("_", "-"), value)
        return answer

    return rewrite


def chain(*rewrites: Rewrite) -> Rewrite:
    def rewrite(answer: Answer) -> Answer:
        for step in rewrites:
            answer = step(answer)
        return answer

    return rewrite


@dataclass
class _Upstream:
    scheme: str
    host: str
    port: int
    prefix: str
    base: str  # scheme://host:port, as the upstream writes its own address
    own_base: str = ""  # the proxy's scheme://host:port, once it listens
    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class TamperingProxy:
    """`TamperingProxy(upstream_api_url)`; a context manager. See the module docstring."""

    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f"the tampering proxy forwards to a plain-HTTP loopback server, not {upstream!r}"
            )
        port = parts.port or 80
        self._upstream = _Upstream(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            prefix=parts.path.rstrip("/"),
            base=f"{parts.scheme}://{parts.hostname}:{port}",
        )
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def tamper(self, method: str, path_glob: str, rewrite: Rewrite, *, times: int | None = None) -> Rule:
        """Rewrite the answers to `method` requests whose path (prefix excluded) matches `path_glob`."""
        rule = Rule(method.upper(), path_glob, rewrite, times)
        with self._upstream.lock:
            self._upstream.rules.append(rule)
        return rule

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running: use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_port}{self._upstream.prefix}"

    def __enter__(self) -> TamperingProxy:
        upstream = self._upstream
        handler = type("_Handler", (_Handler,), {"upstream": upstream})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        upstream.own_base = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01})
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    upstream: _Upstream
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _forward(self) -> None:
        upstream = self.upstream
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
        connection = http.client.HTTPConnection(upstream.host, upstream.port, timeout=30)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            got = connection.getresponse()
            answer = Answer(got.status, tuple(got.getheaders()), got.read())
        finally:
            connection.close()
        answer = self._own_addresses(answer)
        path = urllib.parse.urlsplit(self.path).path
        if upstream.prefix and path.startswith(upstream.prefix):
            path = path[len(upstream.prefix) :] or "/"
        with upstream.lock:
            rule = next((r for r in upstream.rules if r.matches(self.command, path)), None)
            if rule is not None:
                rule.fired += 1
        if rule is not None:
            answer = rule.rewrite(answer)
        self.send_response_only(answer.status)
        for name, value in answer.headers:
            if name.lower() not in _NOT_FORWARDED:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def _own_addresses(self, answer: Answer) -> Answer:
        """The upstream's address replaced by the proxy's, as a reverse proxy does."""
        old, new = self.upstream.base, self.upstream.own_base
        headers = tuple(
            (k, v.replace(old, new) if k.lower() in ("location", "link") else v) for k, v in answer.headers
        )
        body = answer.body
        if (answer.header("Content-Type") or "").startswith("application/json"):
            body = body.replace(old.encode(), new.encode())
        return replace(answer, headers=headers, body=body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward  # noqa: N815 - http.server's names
