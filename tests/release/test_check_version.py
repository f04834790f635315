"""check_version.py: a tag is released only when it is `__version__` and has a dated CHANGELOG section."""

from __future__ import annotations

from pathlib import Path

import pytest

import check_version
from tests.release.conftest import write_project
from versioning import Version

CHANGELOG = """
    # Changelog

    ## [Unreleased]

    ## [1.2.0] - 2026-11-30

    ### Added
    - Plans.

    ## [1.1.0-rc.1] - 2026-11-01

    - A prerelease.

    ## [1.0.0] - 2026-10-01

    - The first release.
"""


def test_a_tag_that_is_the_package_version_with_a_dated_section_passes_and_writes_the_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project(tmp_path, version="1.2.0", changelog=CHANGELOG)
    output = tmp_path / "github_output"
    output.write_text("earlier=1\n", encoding="utf-8")

    status = check_version.main(["v1.2.0", "--root", str(root), "--github-output", str(output)])

    assert status == 0
    expected = (
        "version=1.2.0\n"
        "python-version=1.2.0\n"
        "prerelease=false\n"
        "wheel=wait_and_dispatch-1.2.0-py3-none-any.whl\n"
        "image=ghcr.io/wait-and-dispatch/wait-and-dispatch\n"
    )
    assert capsys.readouterr().out == expected
    assert output.read_text(encoding="utf-8") == "earlier=1\n" + expected  # appended, as GitHub wants


def test_a_tag_that_is_not_the_package_version_fails_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project(tmp_path, version="1.1.0", changelog=CHANGELOG)

    assert check_version.main(["v1.2.0", "--root", str(root)]) == 1

    error = capsys.readouterr().err
    assert "tag v1.2.0" in error and "__version__ is '1.1.0'" in error
    assert "__version__ = '1.2.0'" in error  # the fix


def test_a_prerelease_tag_matches_the_pep_440_spelling_of_the_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project(tmp_path, version="1.1.0rc1", changelog=CHANGELOG)

    assert check_version.main(["v1.1.0-rc.1", "--root", str(root)]) == 0

    facts = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert facts["version"] == "1.1.0-rc.1"
    assert facts["python-version"] == "1.1.0rc1"
    assert facts["prerelease"] == "true"
    assert facts["wheel"] == "wait_and_dispatch-1.1.0rc1-py3-none-any.whl"


def test_a_version_without_a_changelog_section_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project(tmp_path, version="1.3.0", changelog=CHANGELOG)

    assert check_version.main(["v1.3.0", "--root", str(root)]) == 1

    assert "no `## [1.3.0] - YYYY-MM-DD` section" in capsys.readouterr().err


def test_a_version_whose_section_is_not_dated_yet_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changelog = CHANGELOG.replace("## [1.2.0] - 2026-11-30", "## [1.2.0] - Unreleased")
    root = write_project(tmp_path, version="1.2.0", changelog=changelog)

    assert check_version.main(["v1.2.0", "--root", str(root)]) == 1

    assert "dated 'Unreleased'" in capsys.readouterr().err


@pytest.mark.parametrize("tag", ["1.2.0", "v1.2", "v1.2.0.1", "v01.2.0", "v1.2.0-dev.1", "release-1.2.0"])
def test_a_tag_that_is_not_a_release_version_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tag: str
) -> None:
    root = write_project(tmp_path, version="1.2.0", changelog=CHANGELOG)

    assert check_version.main([tag, "--root", str(root)]) == 1

    assert "not a release" in capsys.readouterr().err


def test_versions_order_as_semantic_versioning_says() -> None:
    ordered = [
        "1.0.0-alpha.1",
        "1.0.0-alpha.2",
        "1.0.0-beta.1",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    versions = [Version.parse(text) for text in ordered]
    assert sorted(reversed(versions)) == versions
    assert [str(version) for version in versions] == ordered


def test_the_repository_version_is_the_newest_changelog_version() -> None:
    # The action's vX.Y.Z and the package's version are one number, and CHANGELOG.md says what
    # each version brought: the newest section is the version the package declares.
    from versioning import ROOT, package_version, version_sections

    sections = version_sections((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))
    assert sections, "CHANGELOG.md has no version section"
    newest, section = sections[0]
    assert Version.from_python(package_version(ROOT)) == newest
    assert section.body.strip(), "the newest CHANGELOG section says nothing"
    assert [version for version, _ in sections] == sorted((v for v, _ in sections), reverse=True)
