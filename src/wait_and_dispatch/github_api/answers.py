"""Reading GitHub's answers: the body, numbers and dates in headers, and `Link` headers.

Everything GitHub (or something pretending to be it) sends is read here defensively: a body
that is not JSON is kept as a message rather than trusted, and a header number that is not
finite or is out of any range GitHub would send is ignored, as if absent.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from wait_and_dispatch.github_api.transport import Headers

# Numbers read from headers beyond this are not GitHub's (epoch seconds, counts and waits are far
# smaller): a tampering proxy or a broken server; they are ignored as if absent.
_HEADER_NUMBER_MAX = 1e11


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: Headers
    data: Any
    from_cache: bool = False  # True when GitHub answered 304 and `data` is our cached copy

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def decode(text: str) -> tuple[Any, bool]:
    """An answer's body and whether it was JSON: an empty one is None; text that is not JSON is
    kept as `{"message": ...}`, which an error answer's classification reads."""
    if not text.strip():
        return None, True
    try:
        return json.loads(text), True
    except ValueError:
        return {"message": text[:200]}, False


def _links(link_header: str | None) -> Iterator[tuple[str, list[str]]]:
    """Each link of a `Link` header: its URL and the words of its `rel` parameters."""
    if not link_header:
        return
    # `<url>; rel="next", <url>; rel="last"`: split before each `<`, so commas in a URL stay.
    for link in re.split(r",\s*(?=<)", link_header):
        target, _, parameters = link.strip().partition(";")
        rels: list[str] = []
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key.strip().lower() == "rel":
                rels.extend(value.strip().strip("'\"").split())
        yield target.strip().strip("<>").strip(), rels


def next_page_url(link_header: str | None) -> str | None:
    """The `rel="next"` URL of a GitHub `Link` header, if any."""
    return next((url for url, rels in _links(link_header) if "next" in rels and url), None)


def link_of(link_header: str | None, rel: str) -> str | None:
    """The URL of a `Link` header's first `rel` link (as `next_page_url` reads rel="next")."""
    for url, rels in _links(link_header):
        if rel in rels:
            return url or None
    return None


def float_header(headers: Mapping[str, str], name: str) -> float | None:
    """A header's number, or None when absent or not a number GitHub would send: not finite
    (`1e400`, `nan`), or beyond any epoch, count or wait (a tampering proxy, a broken server)."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or abs(number) > _HEADER_NUMBER_MAX:
        return None
    return number


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    number = float_header(headers, name)  # GitHub has sent floats here (PyGithub PR #2697)
    return None if number is None else int(number)


_HTTP_DATE = re.compile(r"(\d{1,2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(value: str | None) -> float | None:
    """An HTTP `Date` (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) as epoch seconds."""
    match = _HTTP_DATE.search(value or "")
    if match is None or match.group(2) not in _MONTHS:
        return None
    day, month, year, hour, minute, second = match.groups()
    try:
        moment = datetime.datetime(
            int(year),
            _MONTHS.index(month) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=datetime.UTC,
        )
    except ValueError:  # 31 Feb, 25:00: not a date; the answer is used without it
        return None
    return moment.timestamp()


def clip(value: str | None, limit: int = 120) -> str:
    if not value:
        return ""
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 3] + "..."


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
