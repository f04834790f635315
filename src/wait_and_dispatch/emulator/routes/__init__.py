"""Every endpoint the emulator answers, as data: each route module exports `ROUTES`, tuples of
(method, URL template, handler); `ROUTES` here gathers them, and `url_map` turns them into
werkzeug's router. Templates are written as GitHub's REST docs and OpenAPI description write
them, so `grep -rn "actions/runs/{run_id}/cancel" src/` lands on the line naming the handler.

What every request shares (faults, authentication, API versions, rate limits, ETags, the
request log) is not here: it is the request pipeline in `emulator/api_app.py`.
"""

from __future__ import annotations

import re

from werkzeug.routing import Map, Rule

from wait_and_dispatch.emulator.exchange import Route
from wait_and_dispatch.emulator.routes import (
    apps,
    artifacts,
    checks,
    contents,
    dispatch,
    git_refs,
    jobs,
    rate_limit,
    repos,
    runs,
    workflows,
)

ROUTES: tuple[Route, ...] = (
    *rate_limit.ROUTES,
    *repos.ROUTES,
    *contents.ROUTES,
    *git_refs.ROUTES,
    *workflows.ROUTES,
    *dispatch.ROUTES,
    *runs.ROUTES,
    *jobs.ROUTES,
    *artifacts.ROUTES,
    *checks.ROUTES,
    *apps.ROUTES,
)

# How a template's parameter is matched: ids are integers (a non-number is a 404, as on GitHub);
# a ref or a file path may contain slashes. Anything else is one path segment.
_CONVERTERS = {
    "run_id": "int",
    "attempt_number": "int",
    "job_id": "int",
    "artifact_id": "int",
    "check_run_id": "int",
    "check_suite_id": "int",
    "installation_id": "int",
    "ref": "path",
    "path": "path",
}


def werkzeug_rule(template: str) -> str:
    """`/repos/{owner}/{repo}/actions/runs/{run_id}` as werkzeug writes it:
    `/repos/<owner>/<repo>/actions/runs/<int:run_id>`."""

    def convert(match: re.Match[str]) -> str:
        name = match.group(1)
        converter = _CONVERTERS.get(name)
        return f"<{converter}:{name}>" if converter else f"<{name}>"

    return re.sub(r"\{(\w+)\}", convert, template)


def url_map(routes: tuple[Route, ...] = ROUTES) -> Map:
    """werkzeug's router over `routes`; a match's endpoint is the `Route` itself."""
    return Map(
        [Rule(werkzeug_rule(r.template), endpoint=r, methods=[r.method]) for r in routes],
        strict_slashes=False,
        merge_slashes=False,
    )
