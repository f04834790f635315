"""Artifact downloads: the zip streamed from the storage host, in constant memory, without the token.

GitHub answers `GET .../artifacts/{id}/zip` with 302 and a short-lived signed `Location` on a
storage host (REST "Download an artifact": the URL "expires after 1 minute"); the bytes come
from there through a session that never carries the token (transport.py). The facade asks for
the signed URL and retries; this module streams one try: every read bounded by the deadline,
the sha256 computed on the way, a cut stream told from a refusal.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from wait_and_dispatch.github_api.answers import describe, int_header
from wait_and_dispatch.github_api.retry import RetryableError
from wait_and_dispatch.github_api.stats import Accounting
from wait_and_dispatch.github_api.transport import storage_session
from wait_and_dispatch.support.clock import Clock
from wait_and_dispatch.support.errors import (
    ArtifactDownloadError,
    ArtifactError,
    DeadlineExceededError,
    DownloadStoppedError,
    GitHubApiError,
)

if TYPE_CHECKING:
    import requests

_DOWNLOAD_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class DownloadResult:
    path: Path | None  # None when the bytes went to a sink rather than a file
    size: int
    sha256: str  # hex digest of the bytes written


@dataclass(frozen=True)
class StorageAnswer:
    """What the storage host said before its body: enough to decide how to keep the bytes.

    Read from the response headers, so the caller decides (zip or one file, and its name) before
    a byte of the body is read: no second request, no wasted download.
    """

    url: str  # the signed URL the bytes come from (its path may end in `.zip`)
    length: int | None  # the body's length as it arrives, None when not given or content-encoded
    content_type: str  # as sent, parameters included; "" when absent
    content_disposition: str  # "" when absent


class DownloadSink(Protocol):
    """Where a download's bytes go, as they arrive: a file, or an unzipper (engine/unzip.py)."""

    def write(self, data: bytes, /) -> object: ...

    def __enter__(self) -> object: ...

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None, /
    ) -> object: ...


# Called at the start of each try with what the storage host answered: a cut stream is retried
# from the start, so every try writes into a fresh sink.
SinkFactory = Callable[[StorageAnswer], DownloadSink]


class Downloads:
    """The storage host's session and the downloads in flight of one client."""

    def __init__(self, clock: Clock, *, timeout: int, user_agent: str, accounting: Accounting) -> None:
        self.clock = clock
        self.timeout = timeout
        self._user_agent = user_agent
        self._accounting = accounting
        self._session: requests.Session | None = None
        self._in_flight: set[_Download] = set()  # storage streams in flight, for `abort`
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """The storage host's session, made at the first download (requests is imported then)."""
        if self._session is None:
            self._session = storage_session(self._user_agent)
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def abort(self) -> int:
        """Stop the downloads in flight now, from any thread; returns how many (see
        `GitHubApi.abort_downloads`)."""
        with self._lock:
            downloads = list(self._in_flight)
        for download in downloads:
            download.stop()
        return len(downloads)

    def stream(
        self,
        storage_url: str,
        destination: Path | SinkFactory,
        on_progress: Callable[[int, int | None], None] | None,
        deadline: float | None,
    ) -> DownloadResult:
        """One try: fetch the signed URL and stream its body into `destination`.

        The deadline bounds every byte: it is checked before each read, and no read waits past it
        (the socket's timeout is what is left of it), so storage that trickles or stalls ends the
        download by the deadline, not by `timeout` per read.
        """
        import requests
        import urllib3.exceptions
        import urllib3.response

        digest = hashlib.sha256()
        written = 0
        declared: int | None = None
        deadline_bound = False  # the last read's timeout was what was left of the deadline
        download = _Download()
        with self._lock:
            self._in_flight.add(download)
        try:
            wait = self._storage_timeout(deadline, written, declared)
            deadline_bound = wait < self.timeout
            with self.session.get(
                storage_url,
                stream=True,
                timeout=wait,
                allow_redirects=False,
                # The bytes as stored: their sha256 is the artifact's digest.
                headers={"Accept-Encoding": "identity"},
            ) as got:
                download.raw = got.raw
                if download.stopped:
                    raise DownloadStoppedError(_STOPPED)
                if got.status_code != 200:
                    raise self._storage_refusal(got)
                encoding = got.headers.get("Content-Encoding", "").strip().lower()
                encoded = encoding not in ("", "identity")
                if encoded and encoding not in urllib3.response.HTTPResponse.CONTENT_DECODERS:
                    raise ArtifactError(
                        f"artifact storage sent the artifact encoded as {encoding!r} "
                        "(Content-Encoding), which cannot be decoded here",
                        hint="a proxy between this machine and the artifact storage is compressing "
                        "downloads; exempt the storage host from it (NO_PROXY) or turn that off",
                    )
                declared = int_header(got.headers, "Content-Length")
                answer = StorageAnswer(
                    url=storage_url,
                    # A compressing proxy's Content-Length counts the compressed bytes, not the
                    # artifact's: they are decoded on the way (the digest is of the artifact).
                    length=None if encoded else declared,
                    content_type=got.headers.get("Content-Type", ""),
                    content_disposition=got.headers.get("Content-Disposition", ""),
                )
                sink = destination.open("wb") if isinstance(destination, Path) else destination(answer)
                with sink:
                    while True:
                        wait = self._storage_timeout(deadline, written, declared)
                        deadline_bound = wait < self.timeout
                        _bound_next_read(got.raw, wait)
                        # read1 hands over what has arrived, up to a chunk: a cut stream still
                        # delivers (and counts) the bytes that came before the cut, where a full
                        # read of the chunk would drop them with the error.
                        chunk = got.raw.read1(_DOWNLOAD_CHUNK, decode_content=True)
                        if download.stopped:
                            raise DownloadStoppedError(_STOPPED)
                        if not chunk:
                            break
                        sink.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                        if on_progress is not None:
                            on_progress(written, answer.length)
                # What came over the wire is what Content-Length counts, encoded or not.
                received = int(got.raw.tell()) if encoded else written
                if declared is not None and received != declared:
                    raise requests.exceptions.ChunkedEncodingError(
                        f"stream ended after {received} of {declared} bytes"
                    )
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if download.stopped:
                raise DownloadStoppedError(_STOPPED) from exc
            if not isinstance(exc, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError)):
                raise  # a local file's error (the sink's), not the stream's
            timed_out = isinstance(exc, (urllib3.exceptions.TimeoutError, requests.exceptions.Timeout))
            if deadline is not None and (self.clock.now() >= deadline or (deadline_bound and timed_out)):
                raise self._download_deadline(written, declared) from exc
            # An artifact error (exit 5), not an API one: the API answered, the storage host's
            # stream broke.
            failure = ArtifactDownloadError(f"the download was cut after {written} bytes ({describe(exc)})")
            # Tried `attempts` times, deadline or not: a stream that breaks on every try is not an
            # outage that passes, and each try fetches the whole artifact again.
            raise RetryableError("stream-cut", failure) from exc
        finally:
            with self._lock:
                self._in_flight.discard(download)
            self._accounting.count(downloaded_bytes=written)
        path = destination if isinstance(destination, Path) else None
        return DownloadResult(path, written, digest.hexdigest())

    def _storage_timeout(self, deadline: float | None, written: int, declared: int | None) -> float:
        """Seconds the next storage read may wait: `timeout`, or less when the deadline is nearer.

        Raises `DeadlineExceededError` once the deadline has come."""
        if deadline is None:
            return float(self.timeout)
        left = deadline - self.clock.now()
        if left <= 0:
            raise self._download_deadline(written, declared)
        return min(float(self.timeout), left)

    def _download_deadline(self, written: int, declared: int | None) -> DeadlineExceededError:
        of = f" of {declared:,}" if declared is not None else ""
        return DeadlineExceededError(
            f"the deadline came while downloading: {written:,}{of} bytes had arrived from the "
            "artifact storage",
            hint="raise the timeout, or check the network between this machine and the artifact "
            "storage (it is sending slowly or has stalled)",
        )

    def _storage_refusal(self, got: requests.Response) -> Exception:
        """The error for a storage answer other than 200, retryable when another try may help."""
        status = got.status_code
        if 300 <= status < 400:
            # Blob storage serves the bytes of a signed URL itself; a redirect comes from something
            # in between (a proxy or a captive portal), and a fresh signed URL changes nothing.
            target = urllib.parse.urlsplit(got.headers.get("Location", "")).netloc or "another address"
            return ArtifactError(
                f"artifact storage answered {status}, a redirect to {target}, instead of the artifact",
                hint="the storage host does not redirect signed downloads: a proxy or firewall between "
                "this machine and it is redirecting; check HTTPS_PROXY and NO_PROXY, or allow the "
                "storage host",
            )
        refusal = GitHubApiError(
            f"artifact storage answered {status} {_storage_error(got.text)}",
            status=status,
            method="GET",
            hint="the signed URL may have expired; try again",
        )
        # A signed URL lives about a minute (REST "Download an artifact": the URL "expires after 1
        # minute"): one that expired on the way (403 AuthenticationFailed) or a storage hiccup (5xx)
        # is worth another try, which asks GitHub for a fresh URL; other answers are final.
        if status == 403 or status >= 500:
            return RetryableError("storage-refused", refusal)
        return refusal


def _storage_error(text: str) -> str:
    """The `<Code>` of an Azure-style XML error body, else the start of the text."""
    start = text.find("<Code>")
    end = text.find("</Code>")
    if start != -1 and end > start:
        return text[start + 6 : end]
    return text[:120]


_STOPPED = "the download was stopped before it ended (the plan was cancelled or the process stopped)"


class _Download:
    """One storage stream in flight, which `Downloads.abort` may stop from another thread."""

    def __init__(self) -> None:
        self.raw: Any = None  # urllib3's response, once the storage host has answered
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        sock = getattr(getattr(self.raw, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _bound_next_read(raw: Any, seconds: float) -> None:
    """Make the next socket read of a streamed answer wait at most `seconds`.

    urllib3 keeps the connection on the response while its body streams (`connection`); its
    socket's timeout is what each read waits for at most."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)
