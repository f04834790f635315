"""Faults: the ways GitHub and its storage host misbehave, injected on matching requests.

Each kind models something clients meet in the wild (GitHub docs "Rate limits for the REST API"
and "Troubleshooting the REST API"; PyGithub's recorded Retry.* exchanges in tests/ReplayData
show 5xx answers that go away on retry):

- `status`: answer `status` (5xx by default) without touching the model.
- `secondary_rate_limit`: 403 (or `status: 429`) with `retry-after` (GitHub docs "Rate limits
  for the REST API": secondary limits answer 403/429 with retry-after).
- `primary_rate_limit`: 403 with `x-ratelimit-remaining: 0` and the reset time.
- `slow`: wait `delay` real seconds, then answer normally.
- `reset`: close the connection without an answer.
- `cut_stream`: send the headers and `after_bytes` bytes of the body, then close (blob host).
- `corrupt`: send the body with every byte changed, length kept (blob host): a mangled zip.
- `trickle`: send the body `after_bytes` bytes (4096 when 0) at a time, `delay` seconds apart on
  the emulator's clock, and 20 ms apart in real time (blob host): storage, or a network, that is
  slow but never silent.
- `stall`: send the headers and `after_bytes` bytes, then nothing for `delay` seconds on the
  emulator's clock, then close (blob host): storage that stops answering mid-body.
- `content_encoding`: send the body gzip-compressed with `Content-Encoding: <message>` (`gzip`
  when unset) and the compressed length (blob host): a compressing proxy in between.
- `redirect`: answer `status` (302 by default) with a `Location` elsewhere (blob host): a proxy
  or captive portal that redirects.
- `apply_then_fail`: let the request change the model, then answer `status` (502 by default):
  the write happened but the client cannot know it (WriteOutcomeUnknownError in the client).
- `html`: answer `status` (200 by default) with an HTML page and nothing done: a captive portal
  or a proxy's sign-in page answering in GitHub's place (API host).

`since` and `until` (seconds after the emulator started, on its clock) confine a fault to a
stretch of time: an outage of GitHub's front end from 30 s to 100 s is
`{kind: status, status: 503, times: null, since: 30, until: 100}` (an outage that spans part of
a wait).
"""

from __future__ import annotations

import contextlib
import fnmatch
import socket
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

FAULT_KINDS = (
    "status",
    "secondary_rate_limit",
    "primary_rate_limit",
    "slow",
    "reset",
    "cut_stream",
    "corrupt",
    "trickle",
    "stall",
    "content_encoding",
    "redirect",
    "apply_then_fail",
    "html",
)

_DEFAULT_STATUS = {
    "secondary_rate_limit": 403,
    "primary_rate_limit": 403,
    "apply_then_fail": 502,
    "redirect": 302,
    "html": 200,
}
BLOB_BODY_KINDS = ("cut_stream", "corrupt", "trickle", "stall", "content_encoding")  # change the body only


@dataclass
class Fault:
    """One fault rule. `path` is a glob on the request path (no query; `*` also matches `/`).

    The first `after` matching requests pass untouched, the next `times` (all when None) get
    the fault.
    """

    path: str = "*"
    kind: str = "status"
    host: str = "api"
    method: str | None = None
    status: int = (
        0  # 0: the kind's default (403 for rate limits, 502 for apply_then_fail, 200 for html, else 500)
    )
    times: int | None = 1
    after: int = 0
    retry_after: int | None = None
    delay: float = 0.0
    after_bytes: int = 0
    message: str | None = None
    since: float | None = None  # active from this many seconds after the emulator started
    until: float | None = None  # ... and up to (not including) this many
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.host not in ("api", "blob"):
            raise ValueError(f"unknown fault host {self.host!r}; expected 'api' or 'blob'")
        if self.status == 0:
            self.status = _DEFAULT_STATUS.get(self.kind, 500)

    def matches(self, host: str, method: str, path: str, elapsed: float | None = None) -> bool:
        if elapsed is not None and (
            (self.since is not None and elapsed < self.since)
            or (self.until is not None and elapsed >= self.until)
        ):
            return False
        return (
            host == self.host
            and (self.method is None or self.method.upper() == method.upper())
            and fnmatch.fnmatchcase(path, self.path)
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class FaultSet:
    """The active faults, consulted once per request in arrival order (thread-safe)."""

    def __init__(self, faults: list[Fault] | tuple[Fault, ...] = ()) -> None:
        self._faults = list(faults)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, host: str, method: str, path: str, elapsed: float | None = None) -> Fault | None:
        """The fault this request gets, if any; counts the request against every matching rule.

        `elapsed`: seconds since the emulator started, for faults with `since`/`until`."""
        with self._lock:
            chosen: Fault | None = None
            for fault in self._faults:
                if fault.exhausted or not fault.matches(host, method, path, elapsed):
                    continue
                fault.seen += 1
                if chosen is None and fault.seen > fault.after:
                    fault.fired += 1
                    chosen = fault
            return chosen


def drop_connection(environ: WSGIEnvironment) -> None:
    """Close the connection without an answer (the `reset` fault)."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats ConnectionError as a dropped connection and sends nothing more.
    raise ConnectionAbortedError("emulator fault: connection reset")
