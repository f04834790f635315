"""Reading what the action writes the way the runner reads it: file commands and workflow commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class FileCommand:
    name: str
    value: str
    delimiter: str | None  # None for `name=value`


def parse_file_commands(text: str) -> list[FileCommand]:
    """Records of $GITHUB_OUTPUT / $GITHUB_STATE as actions/runner's file command parser reads them
    on Linux: `name=value` on one line, or `name<<DELIM`, the value's lines, then `DELIM` alone on
    a line; the value ends at the first line that is exactly the delimiter."""
    records: list[FileCommand] = []
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line.split("=", 1)
            records.append(FileCommand(name, value, None))
            continue
        name, delimiter = line.split("<<", 1)
        assert name and delimiter, f"malformed record {line!r}"
        body: list[str] = []
        for value_line in lines:
            if value_line == delimiter:
                break
            body.append(value_line)
        else:
            pytest.fail(f"no closing delimiter {delimiter!r} for {name!r}")
        records.append(FileCommand(name, "\n".join(body), delimiter))
    return records


def outputs_of(path: Path) -> dict[str, str]:
    return {record.name: record.value for record in parse_file_commands(path.read_text(encoding="utf-8"))}


def unescape(text: str) -> str:
    """How the runner decodes a command's message and properties (percent last, as it was first;
    `%5D` is the older `##[name]data` form's escape of `]`)."""
    decodings = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%5D", "]"), ("%25", "%"))
    for escaped, plain in decodings:
        text = text.replace(escaped, plain)
    return text


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    message: str


def commands_in(stdout: str) -> list[Command]:
    """Workflow commands as the runner finds them: `::name key=value,key=value::message` lines."""
    found: list[Command] = []
    for line in stdout.splitlines():
        if not line.startswith("::"):
            continue
        head, _, message = line[2:].partition("::")
        name, _, props = head.partition(" ")
        properties = dict(prop.split("=", 1) for prop in props.split(",") if prop)
        found.append(Command(name, {k: unescape(v) for k, v in properties.items()}, unescape(message)))
    return found
