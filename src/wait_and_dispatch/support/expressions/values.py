"""GitHub's rules for values: truthiness, comparison (numbers across types, strings without
case), and a value as a function's argument or a template's text."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def truthy(value: Any) -> bool:
    """GitHub's truthiness: null, false, 0, NaN and '' are false; everything else is true."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def _same_kind(a: Any, b: Any) -> bool:
    kinds = (bool, str, type(None), Mapping, list)
    for kind in kinds:
        if isinstance(a, kind) or isinstance(b, kind):
            return isinstance(a, kind) and isinstance(b, kind)
    return True  # both numbers


def equal(a: Any, b: Any) -> bool:
    if not _same_kind(a, b):
        x, y = to_number(a), to_number(b)
        return x == y
    if isinstance(a, str):
        return str(a).lower() == str(b).lower()  # GitHub ignores case when comparing strings
    if isinstance(a, Mapping | list):
        return a is b  # objects and arrays are equal only to themselves
    return bool(a == b)


def less(a: Any, b: Any, *, or_equal: bool) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        x: Any = a.lower()
        y: Any = b.lower()
    elif _same_kind(a, b) and not isinstance(a, Mapping | list | type(None)):
        x, y = a, b
    else:
        x, y = to_number(a), to_number(b)
    return bool(x <= y if or_equal else x < y)


def to_string(value: Any) -> str:
    """A value as a function's string argument (GitHub: arrays and objects are 'Array', 'Object')."""
    if isinstance(value, Mapping):
        return "Object"
    if isinstance(value, list):
        return "Array"
    return to_text(value)


def to_text(value: Any) -> str:
    """A value as a template renders it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if value.is_integer():
            return str(int(value))
    if isinstance(value, Mapping | list):
        return json.dumps(value, indent=2)
    return str(value)
