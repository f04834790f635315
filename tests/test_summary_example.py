"""The README's "What you see" and docs/summary-example.md are the job summary of a real plan run
today, and the README's "When a run fails" and the rest of the doc a real failed run as the
command line and the action show it: tools/render_summary.py re-renders both against the emulator
and they must match, except for what differs between two runs (durations, run ids and numbers,
the timeline's bars, the API cost)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.tools import load_tool

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return load_tool("render_summary", "render_summary.py")


@pytest.fixture(scope="module")
def rendered(tool: ModuleType) -> str:
    summary: str = tool.render()
    return summary


@pytest.fixture(scope="module")
def failure(tool: ModuleType) -> Any:
    return tool.render_failure()


def test_the_readme_and_the_doc_show_todays_summary(tool: ModuleType, rendered: str, failure: Any) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    doc = (ROOT / "docs" / "summary-example.md").read_text(encoding="utf-8")
    stale = "stale: run .venv/bin/python tools/render_summary.py"
    assert tool.normalise(tool.current_summary(readme)) == tool.normalise(tool.in_readme(rendered)), stale
    excerpt = tool.current_section(readme, tool.FAILURE_START, tool.FAILURE_END)
    assert tool.normalise(excerpt) == tool.normalise(failure.excerpt()), stale
    assert tool.normalise(doc) == tool.normalise(tool.document(rendered, failure)), stale


def test_the_failed_run_is_shown_by_job_step_and_message_on_each_edge(failure: Any) -> None:
    where = 'job "test (3.12)", step "Run pytest": tests/test_api.py:42 AssertionError: expected 200, got 500'
    error, hint = failure.terminal.splitlines()
    assert error.startswith("error: run ") and error.endswith(f"'Tests' failed: {where}")
    assert hint.startswith("hint: open the failed step: https://github.com/octo/app/actions/runs/")
    commands = failure.commands.splitlines()
    assert commands[0].startswith("::error title=Run or check failed::run ") and where in commands[0]
    assert commands[1] == (
        "::error title=octo/app · test (3.12) · Run pytest::AssertionError: expected 200, got 500"
        "%0A(tests/test_api.py:42 in octo/app)"
    )
    assert "### ❌ Job [test (3.12)](https://github.com/octo/app/actions/runs/" in failure.summary
    assert "Failed at step 4, [**Run pytest**](" in failure.summary
    assert (
        "| ❌ failure | `tests/test_api.py:42` | test\\_get\\_user | AssertionError: expected 200, got 500 |"
        in (failure.summary)
    )
    assert "| ⚠️ warning | `tests/test_api.py:7` | DeprecationWarning |" in failure.summary
    log = failure.summary.split("```text\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert log[0] == "Run pytest" and log[-1] == "Error: Process completed with exit code 1."
    assert "FAILED tests/test_api.py::test_get_user - AssertionError: expected 200, got 500" in log
    assert "127.0.0.1" not in failure.terminal + failure.commands + failure.summary


def test_the_readme_shows_the_failure_under_when_a_run_fails(tool: ModuleType) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### When a run fails", 1)[1].split("\n### ", 1)[0]
    assert tool.FAILURE_START in section and tool.FAILURE_END in section
    assert "\n#### ❌ Job [test (3.12)](" in readme.split(tool.FAILURE_START, 1)[1]


def test_the_summary_is_a_status_table_and_a_pipeline_graph(rendered: str) -> None:
    assert rendered.startswith("## ✅ Plan Docker images: success\n")
    assert "| Node | Result | Run | Duration | Details |" in rendered
    assert "| Build base image (`base`) | ⏭️ skipped |" in rendered
    assert "```mermaid\nflowchart LR\n" in rendered and "  n1 --> n3\n" in rendered
    assert "127.0.0.1" not in rendered  # run links point where GitHub has the runs


def test_the_readme_shows_it_under_what_you_see(tool: ModuleType) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What you see", 1)[1].split("\n## ", 1)[0]
    assert tool.START in section and tool.END in section
    assert "\n### ✅ Plan Docker images: success\n" in section  # one level under the README's heading


def test_only_what_differs_between_runs_is_normalised(tool: ModuleType, rendered: str) -> None:
    assert tool.normalise(rendered.replace("5m", "7m")) == tool.normalise(rendered)
    assert tool.normalise(rendered.replace("runs/9000000001", "runs/9000000042")) == tool.normalise(rendered)
    changed = rendered.replace("⏭️ skipped", "❌ failure", 1)
    assert tool.normalise(changed) != tool.normalise(rendered)
    assert tool.normalise(rendered.replace("n1 --> n3", "n2 --> n3")) != tool.normalise(rendered)
