"""What the repository says stands on its own in a clone: no comment, docstring, test or document
points at a file outside it or at an item of a tracker a reader cannot see. GitHub behaviour is
cited to its public source or to docs/github-behaviour.md (CONTRIBUTING.md, "How we work")."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".yml", ".yaml", ".toml", ".json", ".txt", ".cfg", ".in", ".sh"}
# Not written by us (data: GitHub's description and recordings, quoted as they are), or not tracked.
NOT_OURS = {".git", ".venv", "node_modules", "build", "dist", "data", "__pycache__"}
CACHES = {".mypy_cache", ".pytest_cache", ".ruff_cache"}

# A file that is not in the repository, an item of our tracker ("issue 11", "defect 6",
# "(defect #8)"). A peer's issue is written owner/repository#number and is not matched.
OUTSIDE = re.compile(r"GITHUB-FACTS|\.\./shared/|\b[Ii]ssues? \d+\b|\b[Dd]efects? #?\d+\b|\(defect\b")


def our_text_files() -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [s for s in subfolders if s not in NOT_OURS | CACHES and not s.endswith(".egg-info")]
        for name in names:
            path = Path(folder, name)
            if path == Path(__file__).resolve():
                continue  # its examples of what is refused
            if path.suffix in TEXT_SUFFIXES or name == "Dockerfile":
                files.append(path)
    return files


def references_outside(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [f"{number}: {line.strip()}" for number, line in enumerate(lines, 1) if OUTSIDE.search(line)]


def test_no_comment_or_document_points_outside_the_repository() -> None:
    files = our_text_files()
    assert ROOT / "README.md" in files and ROOT / "src/wait_and_dispatch/engine/dispatch.py" in files
    found = {path.relative_to(ROOT).as_posix(): hits for path in files if (hits := references_outside(path))}
    assert not found, "cite the public source or docs/github-behaviour.md instead:\n" + "\n".join(
        f"{name}:{hit}" for name, hits in sorted(found.items()) for hit in hits
    )


def test_the_pattern_finds_what_a_clone_cannot_follow_and_spares_peers_issues() -> None:
    assert OUTSIDE.search('(GITHUB-FACTS "Dispatch")')
    assert OUTSIDE.search("see ../shared/notes.md")
    assert OUTSIDE.search("a rate-limit reset (issue 11, defect 7)")
    assert OUTSIDE.search("# -- secrets (defect 8) ---")
    assert OUTSIDE.search("Issue 10: unpinned uses:")
    assert not OUTSIDE.search("(lewagon/wait-on-check-action#156)")
    assert not OUTSIDE.search("this is a defect in wait-and-dispatch: run again with --debug")
