"""tools/action_pins.py, which holds every shipped `uses:` to the pin table, loaded for the tests:
tests/test_action_pins.py for the shipped files, the examples' tests for the orchestrators that
`plan --emit-workflow` writes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def load_tool() -> Any:
    spec = importlib.util.spec_from_file_location("action_pins_tool", ROOT / "tools" / "action_pins.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


tool = load_tool()
