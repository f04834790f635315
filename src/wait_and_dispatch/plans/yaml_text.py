"""YAML text written by hand, for the orchestrator workflows and the snippets in `plan --check` hints.

Not a YAML library's dump: the key order, the comments, the block scalars and the quoting of
`${{ }}` are what a person reads in review, and are kept stable so a re-generation shows only real
changes in a diff. Every scalar is written plain only when it reads back as the same string under
YAML 1.1 (PyYAML) and 1.2 (actionlint, the runner), else quoted (YAML 1.2.2, "Plain Style";
YAML 1.1 "Language-Independent Types" for the booleans and numbers 1.1 reads differently).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from wait_and_dispatch.support import safe_yaml

_BOOLEAN_LIKE = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
# YAML 1.2 numbers that YAML 1.1 (PyYAML) reads as strings: plain, they would be numbers on GitHub.
_YAML12_NUMBER = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(inf|Inf|INF)"
    r"|\.(nan|NaN|NAN)"
)
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
# Characters YAML does not allow unescaped, or that YAML 1.1 reads as line breaks.
_UNPRINTABLE = (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)


def scalar(value: Any, *, flow: bool = False) -> str:
    """A YAML scalar that reads back as `value`: plain when that is unambiguous, else double-quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    return text if _plain_is_safe(text, flow=flow) else _double_quoted(text)


def _plain_is_safe(text: str, *, flow: bool) -> bool:
    if not text or text != text.strip() or text[0] in _INDICATORS:
        return False
    if any(not (" " <= c <= "~") for c in text if not c.isalnum()):
        return False  # control characters, line breaks, tabs, unusual spaces
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(c in text for c in ",[]{}"):
        return False
    if text.lower() in _BOOLEAN_LIKE or _YAML12_NUMBER.fullmatch(text):
        return False
    document = f"k: [{text}]" if flow else f"k: {text}"
    try:
        loaded = safe_yaml.load(document)
    except yaml.YAMLError:
        return False
    return bool(loaded == {"k": [text] if flow else text})


def _double_quoted(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out: list[str] = []
    for c in text:
        code = ord(c)
        if c in escapes:
            out.append(escapes[c])
        elif code < 0x20 or 0x7F <= code <= 0xA0 or code in _UNPRINTABLE or 0xD800 <= code < 0xE000:
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _block_scalar(text: str, indent: int) -> list[str] | None:
    """A literal block (`|`) for multi-line text, or None when one would not read back exactly."""
    if text.endswith("\n\n") or not text.strip("\n") or text.startswith(("\n", " ", "\t")):
        return None
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n")
    for line in lines:
        if line != line.rstrip(" \t") and not line.strip():
            return None  # a line of blanks would read back as an empty line
        if line.startswith("\t") or any(
            (ord(c) < 0x20 and c != "\t") or c in "\x7f\x85\u2028\u2029\ufeff" for c in line
        ):
            return None
    pad = " " * indent
    header = "|" if text.endswith("\n") else "|-"
    return [header, *(f"{pad}{line}" if line else "" for line in lines)]


def entry(key: str, value: Any, indent: int, *, raw_key: bool = False) -> list[str]:
    """`key: value` at this indentation, nested mappings and lists in block style."""
    pad = " " * indent
    name = key if raw_key else scalar(key)
    if value is None:
        return [f"{pad}{name}:"]
    if isinstance(value, Mapping):
        if not value:
            return [f"{pad}{name}: {{}}"]
        return [f"{pad}{name}:", *_mapping(value, indent + 2)]
    if isinstance(value, list | tuple):
        flow = _flow_sequence(value)
        if flow is not None and len(pad) + len(name) + len(flow) < 100:
            return [f"{pad}{name}: {flow}"]
        return [f"{pad}{name}:", *_sequence(value, indent + 2)]
    if isinstance(value, str) and "\n" in value:
        block = _block_scalar(value, indent + 2)
        if block is not None:
            return [f"{pad}{name}: {block[0]}", *block[1:]]
    return [f"{pad}{name}: {scalar(value)}"]


def _mapping(mapping: Mapping[Any, Any], indent: int) -> list[str]:
    lines: list[str] = []
    for key, value in mapping.items():
        lines.extend(entry(str(key), value, indent))
    return lines


def _flow_sequence(items: Sequence[Any]) -> str | None:
    if any(isinstance(item, Mapping | list | tuple) or item is None for item in items):
        return None
    if any(isinstance(item, str) and "\n" in item for item in items):
        return None
    return "[" + ", ".join(scalar(item, flow=True) for item in items) + "]"


def _sequence(items: Sequence[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and item:
            nested = _mapping(item, indent + 2)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        elif isinstance(item, list | tuple) and item:
            lines.append(f"{pad}-")
            lines.extend(_sequence(item, indent + 2))
        elif isinstance(item, str) and "\n" in item and (block := _block_scalar(item, indent + 2)):
            lines.append(f"{pad}- {block[0]}")
            lines.extend(block[1:])
        elif isinstance(item, Mapping | list | tuple):
            lines.append(f"{pad}- {'{}' if isinstance(item, Mapping) else '[]'}")
        else:
            lines.append(f"{pad}- {scalar(item)}")
    return lines
