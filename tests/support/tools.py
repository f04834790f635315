"""A script of tools/ loaded as a module for the tests (the tools are run as scripts, not imported
as a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_tool(name: str, path: str) -> ModuleType:
    """`tools/<path>` as the module `name`."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
