"""release_notes.py: a version's CHANGELOG section, as written, becomes its release notes."""

from __future__ import annotations

from pathlib import Path

import pytest

import release_notes
from tests.release.conftest import write_project

CHANGELOG = """
    # Changelog

    Intro text that belongs to no release.

    ## [Unreleased]

    - Not released yet.

    ## [1.1.0] - 2026-11-30

    ### Added

    - `plan --emit-workflow` writes orchestrators ([docs](https://example.invalid/plans)).

    ### Fixed

    - A wait no longer stops early.

    ## [1.0.0] - 2026-10-01

    - The first release.

    [Unreleased]: https://github.com/wait-and-dispatch/wait-and-dispatch/compare/v1.1.0...HEAD
    [1.1.0]: https://github.com/wait-and-dispatch/wait-and-dispatch/compare/v1.0.0...v1.1.0
    [1.0.0]: https://github.com/wait-and-dispatch/wait-and-dispatch/releases/tag/v1.0.0
"""


def test_the_notes_are_the_section_body_between_its_heading_and_the_next(tmp_path: Path) -> None:
    root = write_project(tmp_path, version="1.1.0", changelog=CHANGELOG)
    notes = tmp_path / "notes.md"

    assert release_notes.main(["1.1.0", "--root", str(root), "--output", str(notes)]) == 0

    assert notes.read_text(encoding="utf-8") == (
        "### Added\n"
        "\n"
        "- `plan --emit-workflow` writes orchestrators ([docs](https://example.invalid/plans)).\n"
        "\n"
        "### Fixed\n"
        "\n"
        "- A wait no longer stops early.\n"
    )


def test_the_last_section_leaves_the_files_link_definitions_out(tmp_path: Path) -> None:
    root = write_project(tmp_path, version="1.1.0", changelog=CHANGELOG)
    notes = tmp_path / "notes.md"

    assert release_notes.main(["v1.0.0", "--root", str(root), "--output", str(notes)]) == 0

    assert notes.read_text(encoding="utf-8") == "- The first release.\n"


def test_an_empty_section_gives_no_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changelog = CHANGELOG.replace("    - The first release.\n", "")
    root = write_project(tmp_path, version="1.0.0", changelog=changelog)
    notes = tmp_path / "notes.md"

    assert release_notes.main(["1.0.0", "--root", str(root), "--output", str(notes)]) == 1

    assert "section of 1.0.0 is empty" in capsys.readouterr().err
    assert not notes.exists()


def test_an_unreleased_version_gives_no_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_project(tmp_path, version="1.2.0", changelog=CHANGELOG)

    assert release_notes.main(["1.2.0", "--root", str(root), "--output", str(tmp_path / "n.md")]) == 1

    assert "no `## [1.2.0] - YYYY-MM-DD` section" in capsys.readouterr().err


def test_a_heading_that_is_not_a_version_section_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project(tmp_path, version="1.1.0", changelog=CHANGELOG.replace("## [1.0.0]", "## 1.0.0"))

    assert release_notes.main(["1.1.0", "--root", str(root), "--output", str(tmp_path / "n.md")]) == 1

    assert "'## 1.0.0 - 2026-10-01' is not" in capsys.readouterr().err
