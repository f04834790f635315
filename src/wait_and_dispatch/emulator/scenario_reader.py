"""Reading a scenario's YAML or JSON strictly: a `Reader` over one mapping that names every key by
its path (`repos.octo/app.workflows[0].timeline.queud`) in the `UsageError` for an unknown key,
a wrong type or a bad value, and the readers of values several parts of a scenario share."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from wait_and_dispatch.emulator.specs import (
    ANNOTATION_LEVELS,
    AnnotationSpec,
    TimelineSpec,
)
from wait_and_dispatch.support.errors import UsageError
from wait_and_dispatch.support.expressions import ExpressionError, check_template
from wait_and_dispatch.support.github_vocabulary import RUN_CONCLUSIONS

SHA_RE = re.compile(r"^[0-9a-f]{40}$")


class Reader:
    """Reads one mapping of the scenario, remembering its path for error messages."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise scenario_error(f"scenario: {path or '<top>'}: expected a mapping, got {type_name(data)}")
        # YAML 1.1 reads a bare `on:` key as the boolean true (as in workflow files).
        self.data: Mapping[str, Any] = {("on" if k is True else k): v for k, v in data.items()}
        self.path = path
        self.seen: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: object = None) -> Any:
        self.seen.add(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.raw(key)
        if value is None:
            if required:
                raise scenario_error(f"scenario: {self.key_path(key)}: required")
            if default is None:
                raise scenario_error(f"scenario: {self.key_path(key)}: required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise scenario_error(f"scenario: {self.key_path(key)}: expected a string, got {type_name(value)}")
        return str(value)

    def opt_text(self, key: str) -> str | None:
        if self.raw(key) is None:
            return None
        return self.text(key)

    def number(self, key: str, default: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise scenario_error(f"scenario: {self.key_path(key)}: expected a number, got {type_name(value)}")
        if not math.isfinite(value):  # YAML's .nan and .inf: no timeline or delay can be either
            raise scenario_error(f"scenario: {self.key_path(key)}: expected a finite number, got {value}")
        return float(value)

    def nonneg(self, key: str, default: float) -> float:
        value = self.number(key, default)
        if value < 0:
            raise scenario_error(f"scenario: {self.key_path(key)}: must not be negative")
        return value

    def integer(self, key: str, default: int | None) -> int | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise scenario_error(
                f"scenario: {self.key_path(key)}: expected an integer, got {type_name(value)}"
            )
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise scenario_error(
                f"scenario: {self.key_path(key)}: expected true or false, got {type_name(value)}"
            )
        return value

    def choice(self, key: str, allowed: Sequence[str], default: str) -> str:
        value = self.text(key, default)
        if value not in allowed:
            raise scenario_error(
                f"scenario: {self.key_path(key)}: {value!r} is not one of {', '.join(allowed)}"
            )
        return value

    def items(self, key: str) -> list[Any]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise scenario_error(f"scenario: {self.key_path(key)}: expected a list, got {type_name(value)}")
        return value

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.raw(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise scenario_error(
                f"scenario: {self.key_path(key)}: expected a mapping, got {type_name(value)}"
            )
        return value

    def done(self) -> None:
        unknown = [str(k) for k in self.data if k not in self.seen]
        if unknown:
            raise scenario_error(f"scenario: {self.path or '<top>'}: unknown key {unknown[0]!r}")


def scenario_error(message: str) -> UsageError:
    return UsageError(
        message, hint="see 'Scenario reference' in docs/emulator.md for what a scenario may say"
    )


def type_name(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def parse_timeline(value: object, path: str, default: TimelineSpec | None = None) -> TimelineSpec:
    base = default or TimelineSpec()
    r = Reader(value, path)
    timeline = TimelineSpec(
        requested=r.nonneg("requested", base.requested),
        pending=r.nonneg("pending", base.pending),
        queued=r.nonneg("queued", base.queued),
        waiting=r.nonneg("waiting", base.waiting),
        duration=r.nonneg("duration", base.duration),
    )
    r.done()
    return timeline


def parse_conclusions(value: object, path: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise scenario_error(f"scenario: {path}: expected a conclusion or a non-empty list of them")
    for item in items:
        if item not in RUN_CONCLUSIONS:
            raise scenario_error(f"scenario: {path}: {item!r} is not one of {', '.join(RUN_CONCLUSIONS)}")
    return tuple(str(x) for x in items)


def parse_sha(value: object, path: str) -> str:
    if not isinstance(value, str) or not SHA_RE.match(value):
        raise scenario_error(f"scenario: {path}: expected a 40-hex lower-case commit SHA, got {value!r}")
    return value


def parse_template(value: str | None, path: str) -> str | None:
    if value is not None:
        try:
            check_template(value)
        except ExpressionError as error:
            raise scenario_error(f"scenario: {path}: {error}") from error
    return value


def parse_annotations(items: list[Any], path: str) -> tuple[AnnotationSpec, ...]:
    """`annotations:` of a job or an app's check run: GitHub's annotation object, `level` for
    `annotation_level` (`end_line` defaults to `start_line`, as a one-line annotation has both)."""
    out = []
    for i, item in enumerate(items):
        r = Reader(item, f"{path}[{i}]")
        start = r.integer("start_line", 1) or 1
        out.append(
            AnnotationSpec(
                path=r.text("path", required=True),
                start_line=start,
                end_line=r.integer("end_line", start) or start,
                level=r.choice("level", ANNOTATION_LEVELS, "failure"),
                message=r.text("message", required=True),
                title=r.opt_text("title"),
                start_column=r.integer("start_column", None),
                end_column=r.integer("end_column", None),
                raw_details=r.opt_text("raw_details"),
            )
        )
        r.done()
    return tuple(out)


def parse_lines(value: object, path: str) -> tuple[str, ...]:
    """Log lines: a block of text (one line each) or a list of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.splitlines())
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return tuple(value)
    raise scenario_error(f"scenario: {path}: expected text or a list of strings, got {type_name(value)}")
