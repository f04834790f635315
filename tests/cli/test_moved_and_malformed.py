"""The commands on a renamed repository, and on answers that are not GitHub's: a user's view.

A renamed or transferred repository answers 301 (reads) and 307 (writes) to its new URL; the
commands follow within the API and work as before. An HTML page with 200 and an artifact without
an id end in one line, a hint and exit 4, never a traceback (a run id that is not a number:
tests/engine/test_find_and_dispatch.py). The tampering proxy
(tests/support/tamper.py) stands between the command and the emulator where GitHub would not
answer so.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.conftest import MAIN_SHA
from tests.edges.test_action import fast_scenario
from tests.support.tamper import TamperingProxy, edit_json, replace_body, set_headers
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator

FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def renamed_scenario() -> dict[str, Any]:
    """octo/app is now octo/app-renamed; the commands still name octo/app."""
    scenario = fast_scenario()
    repos = scenario["repos"]
    repos["octo/app-renamed"] = {**repos.pop("octo/app"), "renamed_from": ["octo/app"]}
    for token in scenario["tokens"].values():
        if isinstance(token.get("repos"), list):
            token["repos"] = ["octo/app-renamed" if name == "octo/app" else name for name in token["repos"]]
    return scenario


@pytest.fixture
def renamed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with serve_to_the_cli(monkeypatch, renamed_scenario()) as emulator:
        yield emulator


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[TamperingProxy]:
    with (
        serve_to_the_cli(monkeypatch, fast_scenario()) as emulator,
        TamperingProxy(emulator.api_url) as proxy,
    ):
        monkeypatch.setenv("GITHUB_API_URL", proxy.url)
        yield proxy


def assert_one_line_error(err: str, fragment: str) -> None:
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and fragment in errors[0], err
    assert lines[lines.index(errors[0]) + 1].startswith("hint: ")
    assert "Traceback" not in err


# -- a renamed repository -------------------------------------------------------------------------


def test_run_on_a_renamed_repository_dispatches_waits_and_downloads(
    renamed: Emulator, tmp_path: Path
) -> None:
    code, out, err = cli(
        "run", *FAST, "--workflow", "build.yml", "--artifact", "package", "--path", str(tmp_path), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["conclusion"] == "success"
    assert (tmp_path / "app.txt").read_text() == "hello from the build\n"
    assert [r.status for r in renamed.writes()] == [307, 200], "the dispatch followed its 307 once"


def test_download_from_a_renamed_repository(renamed: Emulator, tmp_path: Path) -> None:
    code, out, err = cli("run", *FAST, "--workflow", "build.yml", "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    code, out, err = cli(
        "download", *FAST, "--run-id", str(run_id), "--artifact", "package", "--path", str(tmp_path), "--json"
    )
    assert code == 0, err
    assert (tmp_path / "app.txt").exists()


def test_checks_on_a_renamed_repository_see_the_check(renamed: Emulator) -> None:
    assert cli("run", *FAST, "--repo", "octo/app-renamed", "--workflow", "build.yml")[0] == 0
    code, out, err = cli(
        "checks", *FAST, "--sha", MAIN_SHA, "--checks", "build", "--checks-discovery-timeout", "5s", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["checks"] == {"build": "success"}


# -- malformed answers ----------------------------------------------------------------------------


def test_an_html_page_for_the_run_is_exit_4_with_one_line(proxy: TamperingProxy) -> None:
    page = b"<!DOCTYPE html><html><body>Please sign in to the network</body></html>"
    proxy.tamper("GET", "/repos/octo/app/actions/runs/*", replace_body(page, "text/html"))
    code, _, err = cli("run", *FAST, "--workflow", "build.yml")
    assert code == 4, err
    assert_one_line_error(err, "not JSON")


def test_an_artifact_without_an_id_is_exit_4_with_one_line(proxy: TamperingProxy, tmp_path: Path) -> None:
    def no_id(data: Any) -> None:
        for artifact in data["artifacts"]:
            artifact["id"] = None

    proxy.tamper("GET", "/repos/octo/app/actions/runs/*/artifacts", edit_json(no_id))
    code, _, err = cli(
        "run", *FAST, "--workflow", "build.yml", "--artifact", "package", "--path", str(tmp_path)
    )
    assert code == 4, err
    assert_one_line_error(err, "not an artifact")
    assert not list(tmp_path.iterdir())


# -- what the API layer learnt, under --debug -----------------------------------------------------


def test_deprecation_headers_are_said_once_under_debug_and_not_without(proxy: TamperingProxy) -> None:
    proxy.tamper(
        "GET",
        "*",
        set_headers(Deprecation="@1777593600", Sunset="Fri, 10 Mar 2028 00:00:00 GMT"),
    )
    # A dry run reads what a run reads first (the workflow file) and sends nothing.
    code, _, quiet = cli("run", *FAST, "--workflow", "build.yml", "--dry-run")
    assert code == 0, quiet
    assert "deprecated" not in quiet
    code, _, err = cli("run", *FAST, "--workflow", "build.yml", "--dry-run", "--debug")
    assert code == 0, err
    said = [line for line in err.splitlines() if "GitHub says it is deprecated" in line]
    assert len(said) == 1 and "Fri, 10 Mar 2028" in said[0]


def test_the_fallback_to_2022_11_28_is_said_once_under_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = fast_scenario()
    scenario["options"].update(return_run_details=False, enterprise_version="3.20.1")
    with serve_to_the_cli(monkeypatch, scenario):
        code, _, err = cli("run", *FAST, "--workflow", "build.yml", "--dry-run", "--debug")
    assert code == 0, err
    said = [line for line in err.splitlines() if "REST API version 2026-03-10" in line]
    assert len(said) == 1 and "2022-11-28" in said[0]
