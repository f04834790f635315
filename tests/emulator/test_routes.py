"""The emulator's route table: every endpoint declared as data (method, URL template as GitHub
writes it, handler), each findable by grep from its URL, each one of GitHub's operations."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import pytest

from tests.emulator.conftest import FEATURE_SHA, Http
from wait_and_dispatch.emulator.exchange import Route
from wait_and_dispatch.emulator.routes import ROUTES, werkzeug_rule

OPENAPI = Path(__file__).resolve().parent.parent / "data" / "github-openapi" / "actions-subset.deref.json"
# Operations GitHub documents that the OpenAPI subset in tests/data leaves out: REST "Get a check
# suite" and "List check runs in a check suite" (docs.github.com/rest/checks/suites and /runs).
OUTSIDE_THE_SUBSET = {
    ("GET", "/repos/{owner}/{repo}/check-suites/{check_suite_id}"),
    ("GET", "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs"),
}


def _name(route: Route) -> str:
    return f"{route.method} {route.template}"


def test_every_route_is_an_operation_of_githubs_description() -> None:
    paths = json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]
    unknown = [
        _name(r)
        for r in ROUTES
        if (r.method, r.template) not in OUTSIDE_THE_SUBSET
        and r.method.lower() not in paths.get(r.template, {})
    ]
    assert unknown == []


def test_no_two_routes_share_a_method_and_a_template() -> None:
    keys = [(r.method, r.template) for r in ROUTES]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_the_url_template_is_on_the_line_that_names_its_handler(route: Route) -> None:
    source = inspect.getsource(sys.modules[route.handler.__module__])
    lines = [line for line in source.splitlines() if f'"{route.template}"' in line]
    assert any(f'"{route.method}"' in line and f" {route.handler.__name__}" in line for line in lines), lines


def test_a_template_becomes_werkzeugs_rule_with_ids_as_integers_and_refs_as_paths() -> None:
    assert (
        werkzeug_rule("/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}")
        == "/repos/<owner>/<repo>/actions/runs/<int:run_id>/attempts/<int:attempt_number>"
    )
    assert werkzeug_rule("/repos/{owner}/{repo}/commits/{ref}") == "/repos/<owner>/<repo>/commits/<path:ref>"


def test_an_id_that_is_not_a_number_is_not_found(http: Http) -> None:
    answer = http.get("/repos/octo/app/actions/runs/latest")
    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"


def test_a_ref_with_slashes_reaches_the_commit_route_and_its_check_runs(http: Http) -> None:
    assert http.get("/repos/octo/app/commits/feature/x").json()["sha"] == FEATURE_SHA
    assert "check_runs" in http.get("/repos/octo/app/commits/feature/x/check-runs").json()
