"""User-written values: workflow inputs (JSON, YAML or key=value) and durations (`1h30m`).

Both come from action inputs and command-line options; mistakes are reported as `UsageError`
with the offending text, never as a traceback.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from wait_and_dispatch.support.errors import UsageError
from wait_and_dispatch.support.input_text import StructuredValueError
from wait_and_dispatch.support.input_text import input_text as scalar_text

# Workflow syntax docs, `on.workflow_dispatch.inputs`: "The maximum number of top-level properties
# for inputs is 25. The maximum payload for inputs is 65,535 characters."
MAX_INPUTS = 25
MAX_INPUTS_CHARACTERS = 65_535

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)", re.IGNORECASE)
_DURATION_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|h|m|s)\s*)+$", re.IGNORECASE)
# Plain digits only: `float()` would also take `nan`, `inf`, `1e400` and `1_000`.
_DURATION_SECONDS = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# The longest duration accepted: 35 days, the longest a workflow run can last on GitHub ("Usage
# limits": "Each workflow run is limited to 35 days"), so no wait needs more; README "Inputs".
MAX_DURATION_SECONDS = 35 * 86400.0
_DURATION_HINT = "write it as 90, 90s, 30m or 1h30m"


def parse_duration(text: str | float | int, *, what: str = "duration", positive: bool = False) -> float:
    """`90`, `90s`, `30m`, `1h30m`, `1.5h` -> seconds. No unit means seconds.

    Finite, not negative (with `positive`, above zero) and at most `MAX_DURATION_SECONDS`: a `nan`
    would compare false with every deadline and wait forever, an `inf` overflow date arithmetic.
    A few lines rather than a dependency: pytimeparse, the usual choice, has had no release since
    2017, and we accept only this small, documented grammar.
    """
    if isinstance(text, bool):
        raise UsageError(f"{what} {text!r} is not a duration", hint=_DURATION_HINT)
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        raw = text.strip()
        if _DURATION_SECONDS.match(raw):
            seconds = float(raw)
        elif _DURATION_WHOLE.match(raw):
            seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_PART.findall(raw))
        else:
            raise UsageError(f"{what} {text!r} is not a duration", hint=_DURATION_HINT)
    if not math.isfinite(seconds):
        raise UsageError(f"{what} {text!r} is not a duration", hint=_DURATION_HINT)
    if seconds < 0:
        raise UsageError(f"{what} {text!r} is negative", hint=_DURATION_HINT)
    if positive and seconds == 0:
        raise UsageError(f"{what} must be more than 0", hint=f"{_DURATION_HINT}, e.g. 5s")
    if seconds > MAX_DURATION_SECONDS:
        raise UsageError(
            f"{what} {text!r} is longer than the 35 days a workflow run can last",
            hint="write at most 35 days (840h); a run cannot take longer on GitHub",
        )
    return seconds


def parse_inputs(text: str | None) -> dict[str, str]:
    """Workflow inputs from a JSON object, a YAML mapping, or `key=value` lines.

    GitHub takes every input value as a string and converts it to the input's declared type
    (docs/github-behaviour.md#dispatching-a-workflow), so booleans become `true`/`false` and
    numbers their plain text.
    """
    if text is None or not text.strip():
        return {}
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            # Numbers as written: `1.50` stays "1.50", `1e400` is not "inf".
            data = json.loads(stripped, parse_float=str, parse_int=str, parse_constant=str)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"inputs are not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                hint='write a JSON object such as {"environment": "prod"}, YAML, or key=value lines',
            ) from None
        return normalize_inputs(_mapping(data, "JSON"))
    lines = [line for line in stripped.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if all(_is_key_value(line) for line in lines):
        return normalize_inputs(dict(_split_key_value(line) for line in lines))
    import yaml  # only for inputs written as YAML: it is 20 ms of start-up otherwise

    from wait_and_dispatch.support import safe_yaml

    try:
        # Scalars as written: inputs are strings, `1.10` must not become "1.1".
        data = safe_yaml.load_text_scalars(stripped)
    except yaml.YAMLError as exc:
        raise UsageError(
            f"inputs are neither JSON, YAML nor key=value lines: {str(exc).splitlines()[0]}",
            hint="write a JSON object, a YAML mapping (environment: prod), or key=value lines",
        ) from None
    return normalize_inputs(_mapping(data, "YAML"))


def parse_key_values(
    pairs: Iterable[str],
    *,
    what: str = "input",
    form: str = "KEY=VALUE",
    example: str = "--input environment=prod",
) -> dict[str, str]:
    """Repeated `--input KEY=VALUE` options (or other NAME=VALUE lists: `what` names them)."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals:
            raise UsageError(f"{what} {pair!r} is not {form}", hint=f"e.g. {example}")
        if not key.strip():
            raise UsageError(f"{what} {pair!r} has an empty name", hint=f"e.g. {example}")
        result[key.strip()] = value  # the value exactly as given: spaces may matter
    return normalize_inputs(result)


def normalize_inputs(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Values as the strings GitHub expects, and GitHub's limits checked before anything is sent."""
    result: dict[str, str] = {}
    for key, value in inputs.items():
        name = str(key).strip()
        if not name:
            raise UsageError("an input has an empty name", hint="every input needs a name: name=value")
        result[name] = input_text(name, value)
    check_input_limits(result)
    return result


def json_object(text: str, *, what: str, example: str) -> dict[str, Any]:
    """`text` as a JSON object, or a `UsageError` saying where the JSON breaks."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint=f"write a JSON object, e.g. {example}",
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{what} must be a JSON object", hint=f"e.g. {example}")
    return data


def input_text(name: str, value: Any) -> str:
    """A workflow input's value as the text GitHub takes (`support.input_text`), refusing a list
    or a mapping: a workflow input cannot be one."""
    try:
        return scalar_text(value)
    except StructuredValueError:
        raise UsageError(
            f"input {name!r} is a {type(value).__name__}; workflow inputs are strings, booleans or numbers",
            hint="pass structured data as a JSON string and parse it with fromJSON() in the workflow",
        ) from None


def check_input_limits(inputs: Mapping[str, str]) -> None:
    if len(inputs) > MAX_INPUTS:
        raise UsageError(
            f"{len(inputs)} inputs given; GitHub accepts at most {MAX_INPUTS}",
            hint="combine related inputs into one JSON string input and parse it with fromJSON()",
        )
    size = len(json.dumps(dict(inputs), separators=(",", ":")))
    if size > MAX_INPUTS_CHARACTERS:
        raise UsageError(
            f"the inputs take {size:,} characters; GitHub accepts at most {MAX_INPUTS_CHARACTERS:,}",
            hint="pass large data as an artifact and its name as the input",
        )


def _mapping(data: Any, kind: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise UsageError(
            f"inputs must be a mapping of names to values, but the {kind} is a {type(data).__name__}",
            hint="e.g. environment: prod",
        )
    return data


def _is_key_value(line: str) -> bool:
    key, eq, _ = line.partition("=")
    return bool(eq) and bool(key.strip()) and ":" not in key and " " not in key.strip()


def _split_key_value(line: str) -> tuple[str, str]:
    key, _, value = line.partition("=")
    return key.strip(), value.strip()
