"""The README's pictures of the live view are Rich's own SVG of a real run: tools/render_live_view.py
renders them against the emulator (timings differ from run to run, so they are not compared)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.tools import load_tool

ROOT = Path(__file__).resolve().parents[1]
PICTURES = ("live-view-waiting.svg", "live-view-download.svg")


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return load_tool("render_live_view", "render_live_view.py")


def shown(svg: str) -> str:
    """The text a picture shows, line after line."""
    return html.unescape("".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))).replace("\xa0", " ")


def test_the_readme_shows_both_pictures_from_docs_images() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in PICTURES:
        assert f"/blob/main/docs/images/{name}?raw=true)" in readme
        assert (
            (ROOT / "docs" / "images" / name)
            .read_text(encoding="utf-8")
            .startswith('<svg class="rich-terminal"')
        )


def test_the_tool_renders_the_wait_and_the_download_of_a_real_run(tool: ModuleType) -> None:
    pictures: dict[str, str] = tool.render()

    assert sorted(pictures) == sorted(PICTURES)
    waiting, download = shown(pictures["live-view-waiting.svg"]), shown(pictures["live-view-download.svg"])
    assert "dispatching Tests (.github/workflows/tests.yml) on main" in waiting
    assert "next poll in" in waiting
    assert "jobs of run" in waiting and "Run pytest" in waiting, "the jobs with their current step"
    assert re.search(r"artifact 'coverage-report' of run \d+.*━.*[0-9.]+/8\.4 MB.*[0-9.]+ kB/s", download)
    assert "127.0.0.1" not in waiting + download, "links point where GitHub has runs"
