"""A value as the text an input carries: the one conversion from YAML or JSON values to inputs.

GitHub passes every input as a string: an action's `with:` values and a workflow's
`workflow_dispatch` inputs alike (docs/github-behaviour.md#dispatching-a-workflow).
Values read from a plan, from `inputs` written as JSON, or from an emulator scenario are YAML or
JSON values first, and become that text here: null is empty, booleans are `true` and `false`
(YAML's and JSON's spelling, not Python's), strings stay as they are, anything else (numbers,
YAML's dates) as Python writes it.

Two callers need more, each by a keyword:

- `lists_and_mappings`: a plan node's values are the action's inputs, which take a list as one
  item a line (`artifacts`, `checks`) and a mapping as JSON (`inputs`, `client-payload`).
  Without it, a list or a mapping raises `StructuredValueError`: a workflow input cannot be one,
  and each caller says so in its own words (a `UsageError`, a scenario error).
- `yaml_numbers`: a whole number written with a fraction is written without it (`3.0` is `3`),
  as GitHub's `${{ }}` renders a number (`support/expressions/values.py`), so a plan's `3.0` is
  the same `3` in a matrix member's id, its values and its expressions. An emulator scenario's
  numbers keep Python's form (`1.0`); `inputs` written as JSON reach this as the text written
  (`1.50`), since `engine/inputs.py` reads JSON numbers as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping


class StructuredValueError(TypeError):
    """A list or a mapping, given where only text, a number, a boolean or null is taken."""

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(f"a {type(value).__name__} where text, a number, a boolean or null is taken")


def input_text(value: object, *, lists_and_mappings: bool = False, yaml_numbers: bool = False) -> str:
    """`value` as input text (the module's docstring says how); `StructuredValueError` for a list or a
    mapping unless `lists_and_mappings`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        if not lists_and_mappings:
            raise StructuredValueError(value)
        if isinstance(value, Mapping):
            return json.dumps(dict(value))
        lines = (input_text(item, lists_and_mappings=True, yaml_numbers=yaml_numbers) for item in value)
        return "\n".join(lines)
    if yaml_numbers and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
