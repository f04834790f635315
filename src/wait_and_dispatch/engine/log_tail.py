"""The end of a failed job's log, cut to where it failed and tidied for a person to read.

A job's log is the runner's lines, each after its UTC time (`2026-12-07T10:00:01.1234567Z `);
a step's section opens with `##[group]Run <command>` and its `shell:` lines end at
`##[endgroup]`; errors and warnings show as `##[error]...` and `##[warning]...`, and a step whose
process failed ends with `##[error]Process completed with exit code 1.`; post steps and "Cleaning
up orphan processes" follow (docs/github-behaviour.md, "Jobs, logs and annotations").

So the tail is: from the failed step's `##[group]` line (the nearest step group before the error:
titled `Run <command>`, or with the step's own name), to the runner's last
`##[error]` line, at most `MAX_LOG_LINES` of it, times and ANSI colours removed, `##[endgroup]`
dropped, the other markers written as words (`Error: ...`) and each line cut to
`MAX_LOG_LINE_CHARS` with a marker. Pure text: no I/O.
"""

from __future__ import annotations

import re

from wait_and_dispatch.engine.failures import MAX_LOG_LINE_CHARS, MAX_LOG_LINES, cut_text

_TIME = re.compile(r"^\ufeff?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?")
# SGR colours and other CSI sequences (ESC [ ... letter), which test runners print in colour.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_MARKER = re.compile(r"^##\[([a-z]+)\]")
# How each runner marker reads once tidied: `##[error]x` is `Error: x`; a group's title and a
# command stand as they are.
_WORDS = {"error": "Error: ", "warning": "Warning: ", "notice": "Notice: ", "debug": "Debug: "}


def failed_step_tail(text: str, step: str | None, *, truncated: bool = False) -> str:
    """The tail of `text` (a job's log) for the failed `step` (its name, when known).

    `truncated`: `text` is the end of a longer log, whose first line here may be cut short."""
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[1:]
    bodies = [_ANSI.sub("", _TIME.sub("", line, count=1)) for line in lines]
    errors = [i for i, body in enumerate(bodies) if body.startswith("##[error]")]
    end = errors[-1] if errors else len(bodies) - 1
    start = _section_start(bodies, end, step)
    kept = [body for body in bodies[start : end + 1] if not body.startswith("##[endgroup]")]
    return "\n".join(cut_text(_tidy(body), MAX_LOG_LINE_CHARS) for body in kept[-MAX_LOG_LINES:])


def _section_start(bodies: list[str], end: int, step: str | None) -> int:
    """Where the failed step's section begins: the nearest step group before `end` (titled with
    the step's name, or `Run <command>` as the runner titles every step), else the start."""
    titles = {f"##[group]{step}", f"##[group]Run {step}"} if step else set()
    for index in range(end, -1, -1):
        body = bodies[index]
        if body in titles or body.startswith("##[group]Run "):
            return index
    return 0


def _tidy(body: str) -> str:
    marker = _MARKER.match(body)
    if marker is None:
        return body
    return _WORDS.get(marker.group(1), "") + body[marker.end() :]
