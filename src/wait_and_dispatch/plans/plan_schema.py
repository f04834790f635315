"""A plan file checked against `plan.schema.json` (JSON Schema Draft 2020-12, the schema editors
use), every error collected and put on the line of the key or value it is about; an unknown key
gets a "did you mean"."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

import jsonschema

from wait_and_dispatch.plans.plan_yaml import Loc, Problems, dotted

# The keys only a node can have: none of them can be a default for every node.
PLAN_ONLY_KEYS: tuple[str, ...] = (
    "name",
    "needs",
    "if",
    "continue-on-error",
    "matrix",
    "collect",
    "select",
    "gate",
    "checks-workflows",
)
# Said instead of "unknown key" for keys people bring from elsewhere.
_KEY_ADVICE = {
    "repository": "a node cannot set repository: one plan, one repository (set it at the top level)",
    "with": "write the action's inputs directly on the node, without `with:`",
    "uses": "a node names a workflow with `workflow:`, not `uses:`",
}


def schema_text() -> str:
    """The shipped JSON Schema (`wait-and-dispatch plan --schema` prints it)."""
    return resources.files("wait_and_dispatch.plans").joinpath("plan.schema.json").read_text(encoding="utf-8")


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@functools.cache
def _validator() -> Any:
    return jsonschema.Draft202012Validator(_schema())


def check_schema(data: Any, problems: Problems) -> None:
    for error in _validator().iter_errors(data):
        _report_schema_error(error, problems)


def _report_schema_error(error: Any, problems: Problems) -> None:
    loc: Loc = tuple(error.absolute_path)
    if error.validator in ("anyOf", "oneOf"):
        # `needs: [1]` is a list, as one branch wants, with a wrong item; `run-id: 0` a number, as
        # one branch wants, below its minimum: say what is wrong inside rather than "expected...".
        deeper = [
            sub
            for sub in error.context
            if len(sub.absolute_path) > len(loc) or sub.validator not in ("type", "pattern", "required")
        ]
        if deeper:
            for sub in deeper:
                _report_schema_error(sub, problems)
            return
    if error.validator == "oneOf" and not isinstance(error.instance, Mapping):
        return  # select: 4 passes neither `required` branch; the type error says it all
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key not in known:
                problems.at_key(
                    (*loc, key), _unknown_key(str(key), known, in_defaults=loc[-1:] == ("defaults",))
                )
    elif "propertyNames" in error.absolute_schema_path:
        problems.at_key(
            (*loc, error.instance),
            f"{error.instance!r} is not an id: use letters, digits, - and _, starting with a letter or _",
        )
    elif error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        what = "the plan" if not loc else str(loc[-1])
        problems.at_key(loc, f"{what} needs {join_or(_quoted(missing), 'and')}", where=dotted(loc) or "plan")
    else:
        problems.at_value(loc, _describe(error), where=dotted(loc) or "plan")


def _unknown_key(key: str, known: list[str], *, in_defaults: bool) -> str:
    if in_defaults and key in PLAN_ONLY_KEYS:
        return f"{key} cannot be a default: it is about one node, so set it on each node that needs it"
    if key in _KEY_ADVICE:
        return f"unknown key: {_KEY_ADVICE[key]}"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    if len(known) <= 12:
        return f"unknown key (keys are: {', '.join(known)})"
    return "unknown key (docs/plans.md lists the keys)"


def _describe(error: Any) -> str:
    instance = error.instance
    if error.validator in ("type", "anyOf"):
        schemas = error.validator_value if error.validator == "anyOf" else [{"type": error.validator_value}]
        expected = [kind for schema in schemas for kind in _expected(schema)]
        return f"expected {join_or(list(dict.fromkeys(expected)), 'or')}, not {_kind(instance)}"
    if error.validator == "oneOf" and all(set(s) == {"required"} for s in error.validator_value):
        names = [name for schema in error.validator_value for name in schema["required"]]
        given = [name for name in names if name in instance]
        if given:
            return f"give one of {join_or(_quoted(names), 'or')}, not both"
        return f"give one of {join_or(_quoted(names), 'or')}"
    if error.validator == "minimum":
        return f"must be at least {error.validator_value}, not {instance!r}"
    if error.validator in ("minItems", "minProperties"):
        return "must not be empty"
    if error.validator == "pattern":
        return f"{instance!r} is not {error.schema.get('description') or 'in the expected form'}"
    return str(error.message)


def _expected(schema: Mapping[str, Any]) -> list[str]:
    if "$ref" in schema:
        target = _schema()["$defs"][str(schema["$ref"]).rsplit("/", 1)[1]]
        return ["an expression ${{ }}"] if "pattern" in target else _expected(target)
    if "anyOf" in schema:
        return [kind for sub in schema["anyOf"] for kind in _expected(sub)]
    types = schema.get("type", [])
    if types == "array" and "items" in schema:
        return [f"a list of {_expected(schema['items'])[0].removeprefix('a ')}"]
    names = {
        "string": "text",
        "array": "a list",
        "object": "a mapping",
        "boolean": "a boolean (true or false)",
        "integer": "a whole number",
        "number": "a number",
        "null": "nothing",
    }
    return [names[t] for t in ([types] if isinstance(types, str) else types)]


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return "a list" if isinstance(value, list) else "a mapping"


def join_or(items: list[str], word: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _quoted(items: Iterable[str]) -> list[str]:
    return [repr(item) for item in items]
