"""The release scripts (tools/release/) are stdlib-only scripts, run as `python tools/release/X.py`
by the release workflow; these tests import them the same way, as top-level modules."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RELEASE_TOOLS = ROOT / "tools" / "release"
if str(RELEASE_TOOLS) not in sys.path:
    sys.path.insert(0, str(RELEASE_TOOLS))


@pytest.fixture(autouse=True)
def hermetic_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """git in the scratch repositories sees no user or system configuration (no signing, hooks or
    default branch of the machine running the tests) and has an identity for commits and tags."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Release Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "release-test@example.invalid")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def scratch_repository(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    return path


def commit_file(repo: Path, name: str, text: str, message: str) -> str:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text, encoding="utf-8")
    git(repo, "add", name)
    git(repo, "commit", "--quiet", "--message", message)
    return git(repo, "rev-parse", "HEAD")


def write_project(root: Path, *, version: str, changelog: str) -> Path:
    """The two files the version scripts read: the package's __init__.py and CHANGELOG.md."""
    init = root / "src" / "wait_and_dispatch" / "__init__.py"
    init.parent.mkdir(parents=True, exist_ok=True)
    init.write_text(
        f'__version__ = "{version}"\n\nACTION_REPOSITORY = "wait-and-dispatch/wait-and-dispatch"\n',
        encoding="utf-8",
    )
    (root / "CHANGELOG.md").write_text(textwrap.dedent(changelog).lstrip(), encoding="utf-8")
    return root
