"""The README's "What you see" and docs/summary-example.md are the job summary of a real plan run
today: tools/render_summary.py re-renders it against the emulator and they must match it, except
for what differs between two runs (durations, run ids and numbers)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

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


def test_the_readme_and_the_doc_show_todays_summary(tool: ModuleType, rendered: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    doc = (ROOT / "docs" / "summary-example.md").read_text(encoding="utf-8")
    stale = "stale: run .venv/bin/python tools/render_summary.py"
    assert tool.normalise(tool.current_summary(readme)) == tool.normalise(tool.in_readme(rendered)), stale
    assert tool.normalise(doc) == tool.normalise(tool.DOC_HEADER + rendered), stale


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
