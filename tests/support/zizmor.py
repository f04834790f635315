"""zizmor for tests: the workflow security linter from PyPI (the lint extra), run offline.

Tests that run it skip when it is not installed; `python3 dev.py lint` installs it (the lint
extra) and is where the repository's own workflows and snippets are held to it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def zizmor_command() -> list[str]:
    """zizmor at its default (regular) persona, offline, without the repository's config file."""
    scripts = Path(sys.executable).parent
    found = shutil.which("zizmor", path=str(scripts)) or shutil.which("zizmor")
    if found is None:
        pytest.skip("zizmor is not installed: `python3 dev.py lint` installs (the lint extra) and runs it")
    return [found, "--offline", "--no-config", "--no-progress", "--color", "never"]


def zizmor(*paths: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*zizmor_command(), *(str(p) for p in paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
