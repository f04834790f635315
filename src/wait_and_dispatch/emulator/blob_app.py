"""The artifact storage host, a stand-in for the Azure blob storage GitHub redirects downloads to.

What matters to clients (REST "Download an artifact": a 302 to a URL that expires after a
minute): the signed URL from the 302 works without credentials for `artifact_url_ttl` seconds;
a request that carries `Authorization` is refused with an XML error, as Azure does (octocrab
#563, cloudflare/workers-sdk #4816); forged or expired signatures answer 403
AuthenticationFailed; the body has a Content-Length and streams.
"""

from __future__ import annotations

import gzip
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response

from wait_and_dispatch.emulator.blob_urls import (
    check_blob_signature,
    check_log_signature,
    content_disposition,
)
from wait_and_dispatch.emulator.faults import BLOB_BODY_KINDS, Fault, FaultSet, drop_connection
from wait_and_dispatch.emulator.job_logs import job_log, run_logs_zip
from wait_and_dispatch.emulator.log import LoggedRequest, RequestLog
from wait_and_dispatch.emulator.shapes import iso
from wait_and_dispatch.emulator.state import State

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_PATH_RE = re.compile(r"^/artifacts/(\d+)/[^/]+$")
_JOB_LOG_RE = re.compile(r"^/actions-results/jobs/(\d+)/job-logs\.txt$")
_RUN_LOGS_RE = re.compile(r"^/actions-results/runs/(\d+)/attempts/(\d+)/logs\.zip$")
_TRICKLE_REAL_PAUSE = 0.02
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _authentication_failed(now: float, detail: str) -> Response:
    """Azure's 403 for a missing, forged or expired SAS signature (one message, the detail varies)."""
    return _azure_error(
        403,
        "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header is "
        "formed correctly including the signature.",
        now,
        detail,
    )


def _azure_error(status: int, code: str, message: str, now: float, detail: str | None = None) -> Response:
    request_id = str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(now))
    body = (
        '\ufeff<?xml version="1.0" encoding="utf-8"?><Error>'
        f"<Code>{code}</Code><Message>{message}\nRequestId:{request_id}\nTime:{stamp}</Message>"
        + (f"<AuthenticationErrorDetail>{detail}</AuthenticationErrorDetail>" if detail else "")
        + "</Error>"
    )
    return Response(
        body.encode("utf-8"),
        status,
        headers=[
            ("Content-Type", "application/xml"),
            ("Server", "Microsoft-HTTPAPI/2.0"),
            ("x-ms-request-id", request_id),
            ("x-ms-error-code", code),
            ("Date", http_date(now)),
        ],
    )


class BlobApp:
    def __init__(self, state: State, faults: FaultSet, log: RequestLog, signing_key: bytes) -> None:
        self.state = state
        self.faults = faults
        self.log = log
        self.signing_key = signing_key

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        now = self.state.now()
        entry = LoggedRequest.build("blob", request, None, now)
        fault = self.faults.take("blob", request.method, request.path, self.state.now() - self.state.start)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind == "reset":
            self.log.add(entry.finish(0, None))
            drop_connection(environ)
        response = self._answer(request, now, fault, environ)
        entry.finish(response.status_code, None)
        self.log.add(entry)
        return response(environ, start_response)

    def _answer(
        self, request: Request, now: float, fault: Fault | None, environ: WSGIEnvironment
    ) -> Response:
        if fault is not None and fault.kind == "redirect":
            response = _azure_error(fault.status, "Redirect", "Moved.", now)
            response.headers["Location"] = "http://proxy.invalid/login?continue=storage"
            return response
        if fault is not None and fault.kind not in (*BLOB_BODY_KINDS, "apply_then_fail"):
            if fault.status == 503:
                return _azure_error(503, "ServerBusy", "The server is busy.", now)
            return _azure_error(
                fault.status, "InternalError", "The server encountered an internal error.", now
            )
        if request.method not in ("GET", "HEAD"):
            return _azure_error(
                405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.", now
            )
        if "Authorization" in request.headers:
            # The storage host refuses a request that carries the API token (octocrab #563; the
            # official client, @actions/artifact, fetches the Location without auth).
            return _azure_error(
                400,
                "InvalidAuthenticationInfo",
                "Authentication information is not given in the correct format. "
                "Check the value of Authorization header.",
                now,
            )
        if request.path.startswith("/actions-results/"):
            return self._log(request, now)
        match = _PATH_RE.match(request.path)
        with self.state.lock:
            artifact = self.state.artifacts.get(int(match.group(1))) if match else None
            exists = artifact is not None and self.state.artifact_visible(artifact, now)
        se = request.args.get("se", "")
        sig = request.args.get("sig", "")
        if not se or not sig:
            return _authentication_failed(
                now,
                "sig and se are mandatory.",
            )
        # An `archive: false` artifact's URL names the headers to answer with (`rscd`, `rsct`),
        # signed with the rest, as an Azure SAS does.
        rscd, rsct = request.args.get("rscd", ""), request.args.get("rsct", "")
        if artifact is None or not check_blob_signature(artifact.id, se, sig, self.signing_key, rscd, rsct):
            return _authentication_failed(
                now,
                "Signature did not match. String to sign used was r\n\n" + urllib.parse.quote(request.path),
            )
        expiry = _expiry(se)
        if now >= expiry:
            return _authentication_failed(
                now,
                f"Signature not valid in the specified time frame: Start [{http_date(expiry - 3600)}] - "
                f"Expiry [{http_date(expiry)}] - Current [{http_date(now)}]",
            )
        if not exists:
            return _azure_error(404, "BlobNotFound", "The specified blob does not exist.", now)
        assert artifact is not None  # nosec B101 # an invariant for mypy, not a check of input
        size, chunks = self.state.blobs.open(artifact)
        created = self.state.artifact_times(artifact)[0]
        status = 200
        start, end = 0, size - 1
        headers = [
            ("Content-Type", rsct or "application/zip"),
            ("Content-Disposition", rscd or content_disposition(f"{artifact.spec.name}.zip")),
            ("Last-Modified", http_date(created)),
            ("Accept-Ranges", "bytes"),
            ("ETag", f'"0x8DC{artifact.id:013X}"'),
            ("Server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"),
            ("x-ms-request-id", str(uuid.uuid4())),
            ("x-ms-version", "2025-01-05"),
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-creation-time", http_date(created)),
            ("x-ms-meta-created", iso(created) or ""),
            ("Date", http_date(now)),
        ]
        wanted = _byte_range(request, size)
        if wanted is None:
            return _invalid_range(now)
        if wanted[2]:
            start, end = wanted[0], wanted[1]
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        length = end - start + 1 if size > 0 else 0
        headers.append(("Content-Length", str(length)))
        body: Iterable[bytes] = _slice(chunks, start, length)
        if fault is not None and fault.kind == "cut_stream":
            body = _cut(body, fault.after_bytes, environ)
        if fault is not None and fault.kind == "corrupt":
            body = _corrupt(body)
        if fault is not None and fault.kind == "trickle":
            body = _trickle(body, fault.after_bytes or 4096, fault.delay, self.state.clock.sleep)
        if fault is not None and fault.kind == "stall":
            body = _stall(body, fault.after_bytes, fault.delay, self.state.clock.sleep, environ)
        if fault is not None and fault.kind == "content_encoding":
            # A compressing proxy: the whole body compressed, its own length and encoding.
            packed = gzip.compress(b"".join(body), mtime=0)
            body = [packed]
            headers = [(k, v) for k, v in headers if k != "Content-Length"]
            headers += [("Content-Encoding", fault.message or "gzip"), ("Content-Length", str(len(packed)))]
        if request.method == "HEAD":
            body = []
        return Response(body, status, headers=headers, direct_passthrough=True)

    def _log(self, request: Request, now: float) -> Response:
        """A job's log (text) or a run attempt's logs (zip), made from the model at `now`, for a
        URL the API host signed (routes/jobs.py, routes/runs.py); byte ranges as for artifacts."""
        se, sig = request.args.get("se", ""), request.args.get("sig", "")
        if not se or not sig:
            return _authentication_failed(now, "sig and se are mandatory.")
        if not check_log_signature(request.path, se, sig, self.signing_key):
            return _authentication_failed(
                now,
                "Signature did not match. String to sign used was r\n\n" + urllib.parse.quote(request.path),
            )
        if now >= _expiry(se):
            return _authentication_failed(now, "Signature not valid in the specified time frame")
        with self.state.lock:
            found = _log_content(self.state, request.path, now)
        if found is None:
            return _azure_error(404, "BlobNotFound", "The specified blob does not exist.", now)
        body, content_type = found
        size = len(body)
        headers = [
            ("Content-Type", content_type),
            ("Accept-Ranges", "bytes"),
            ("Server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"),
            ("x-ms-request-id", str(uuid.uuid4())),
            ("x-ms-version", "2025-01-05"),
            ("x-ms-blob-type", "BlockBlob"),
            ("Date", http_date(now)),
        ]
        wanted = _byte_range(request, size)
        if wanted is None:
            return _invalid_range(now)
        start, end, ranged = wanted
        status = 200
        if ranged:
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        piece = body[start : end + 1] if size > 0 else b""
        headers.append(("Content-Length", str(len(piece))))
        return Response(b"" if request.method == "HEAD" else piece, status, headers=headers)


def _log_content(state: State, path: str, now: float) -> tuple[bytes, str] | None:
    """The bytes and content type of a log path, or None when it names no completed job or run."""
    job_match = _JOB_LOG_RE.match(path)
    if job_match:
        found = state.jobs.get(int(job_match.group(1)))
        if found is None:
            return None
        _, attempt, job = found
        job_state = attempt.job_state(job, now)
        if job_state is None or job_state.completed_at is None:
            return None
        return job_log(job, job_state, attempt, now).encode("utf-8"), "text/plain; charset=utf-8"
    run_match = _RUN_LOGS_RE.match(path)
    if run_match:
        run = state.runs.get(int(run_match.group(1)))
        numbered = run.attempt(int(run_match.group(2))) if run is not None else None
        if run is None or numbered is None or now < numbered.end:
            return None
        return run_logs_zip(numbered, state.job_states(run, numbered, now), now), "application/zip"
    return None


def _expiry(se: str) -> float:
    try:
        return datetime.strptime(se, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def _byte_range(request: Request, size: int) -> tuple[int, int, bool] | None:
    """(first, last) byte to send and whether a `Range` asked for them (`bytes=a-b`, `bytes=a-`,
    `bytes=-n`; else the whole body); None for a range that cannot be served (416)."""
    start, end = 0, size - 1
    range_header = request.headers.get("Range")
    if range_header and size > 0:
        parsed = _RANGE_RE.match(range_header.strip())
        if parsed and (parsed.group(1) or parsed.group(2)):
            if parsed.group(1):
                start = int(parsed.group(1))
                end = min(int(parsed.group(2)), size - 1) if parsed.group(2) else size - 1
            else:
                start, end = max(0, size - int(parsed.group(2))), size - 1
            if start > end or start >= size:
                return None
            return start, end, True
    return start, end, False


def _invalid_range(now: float) -> Response:
    return _azure_error(
        416, "InvalidRange", "The range specified is invalid for the current size of the resource.", now
    )


def _slice(chunks: Iterator[bytes], start: int, length: int) -> Iterator[bytes]:
    position = 0
    left = length
    for chunk in chunks:
        if left <= 0:
            break
        if position + len(chunk) <= start:
            position += len(chunk)
            continue
        piece = chunk[max(0, start - position) :][:left]
        position += len(chunk)
        left -= len(piece)
        yield piece
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _corrupt(body: Iterable[bytes]) -> Iterator[bytes]:
    """Every byte inverted, length kept (the `corrupt` fault): storage or a proxy mangled the zip."""
    for chunk in body:
        yield bytes(b ^ 0xFF for b in chunk)


def _trickle(
    body: Iterable[bytes], piece: int, delay: float, sleep: Callable[[float], None]
) -> Iterator[bytes]:
    """`piece` bytes at a time, `delay` seconds apart on the emulator's clock (the `trickle` fault).

    Each pause also takes `_TRICKLE_REAL_PAUSE` real seconds: on a manual clock shared with the
    client, the client then reads each piece before the clock moves on, as it would in real time,
    rather than the emulator racing the clock ahead into the socket's buffer."""
    first = True
    for chunk in body:
        for start in range(0, len(chunk), piece):
            if not first:
                sleep(delay)
                time.sleep(_TRICKLE_REAL_PAUSE)
            first = False
            yield chunk[start : start + piece]


def _stall(
    body: Iterable[bytes],
    after_bytes: int,
    delay: float,
    sleep: Callable[[float], None],
    environ: WSGIEnvironment,
) -> Iterator[bytes]:
    """`after_bytes` bytes, then silence for `delay` seconds, then the connection is dropped."""
    sent = 0
    for chunk in body:
        if sent + len(chunk) >= after_bytes:
            if after_bytes - sent > 0:
                yield chunk[: after_bytes - sent]
            break
        sent += len(chunk)
        yield chunk
    sleep(delay)
    drop_connection(environ)


def _cut(body: Iterable[bytes], after_bytes: int, environ: WSGIEnvironment) -> Iterator[bytes]:
    """Send `after_bytes` bytes, then drop the connection (the `cut_stream` fault)."""
    sent = 0
    for chunk in body:
        if sent + len(chunk) >= after_bytes:
            if after_bytes - sent > 0:
                yield chunk[: after_bytes - sent]
            drop_connection(environ)
        sent += len(chunk)
        yield chunk
