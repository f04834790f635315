"""Text behind a redirect to storage: the end of a job's log, read without the token, bounded.

GitHub answers `GET .../actions/jobs/{job_id}/logs` with 302 and a signed `Location` that
"expires after 1 minute" (REST "Download job logs for a workflow run"), as it does for an
artifact's zip; the log is plain text there. Only its end matters to whoever reads a failure, and
a log can run to many megabytes, so one request asks for the last `max_bytes` (`Range:
bytes=-N`, which blob storage honours with 206); a host that ignores the range and sends it all
is read through with only the last `max_bytes` kept. Every read is bounded by the deadline. One
try, no retry: whoever reads a log this way reads it on a best-effort basis.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wait_and_dispatch.github_api.answers import describe
from wait_and_dispatch.github_api.stats import Accounting
from wait_and_dispatch.support.clock import Clock
from wait_and_dispatch.support.errors import DeadlineExceededError, GitHubApiError

if TYPE_CHECKING:
    import requests

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class StorageText:
    """The end of a text on the storage host."""

    text: str
    truncated: bool  # the text had more before what is here (its first line may be cut)


def read_tail(
    session: requests.Session,
    url: str,
    *,
    max_bytes: int,
    clock: Clock,
    timeout: float,
    deadline: float | None,
    accounting: Accounting,
) -> StorageText:
    """The last `max_bytes` of the text at the signed `url`, decoded as UTF-8 (a byte order mark
    dropped, undecodable bytes replaced). Raises `GitHubApiError` for any answer but 200 or 206,
    `DeadlineExceededError` once the deadline has come."""
    import requests as requests_module

    kept = bytearray()
    received = 0
    try:
        with session.get(
            url,
            stream=True,
            timeout=_left(clock, timeout, deadline),
            allow_redirects=False,
            headers={"Range": f"bytes=-{max_bytes}", "Accept-Encoding": "identity"},
        ) as got:
            if got.status_code not in (200, 206):
                raise GitHubApiError(
                    f"the log storage answered {got.status_code}",
                    status=got.status_code,
                    method="GET",
                    hint="the log may have expired or been deleted",
                )
            skipped = _range_start(got.headers.get("Content-Range", "")) if got.status_code == 206 else 0
            for chunk in got.iter_content(_CHUNK):
                received += len(chunk)
                kept += chunk
                if len(kept) > max_bytes:
                    skipped += len(kept) - max_bytes
                    del kept[: len(kept) - max_bytes]
                _left(clock, timeout, deadline)
    except requests_module.exceptions.RequestException as exc:
        raise GitHubApiError(
            f"the log storage could not be read ({describe(exc)})", method="GET", hint="try again later"
        ) from exc
    finally:
        accounting.count(downloaded_bytes=received)
    text = bytes(kept).decode("utf-8", errors="replace").removeprefix("\ufeff")
    return StorageText(text, truncated=skipped > 0)


def _left(clock: Clock, timeout: float, deadline: float | None) -> float:
    """Seconds the next read may wait: `timeout`, or what is left of the deadline."""
    if deadline is None:
        return timeout
    left = deadline - clock.now()
    if left <= 0:
        raise DeadlineExceededError(
            "the deadline came while reading a log from storage",
            hint="the log storage is slow; the failure itself is reported without it",
        )
    return min(timeout, left)


def _range_start(content_range: str) -> int:
    """The first byte's offset in `bytes 100-199/200`; 0 when absent or unreadable."""
    with contextlib.suppress(ValueError, IndexError):
        return int(content_range.split()[1].split("-")[0])
    return 0
