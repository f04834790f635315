"""The end of a failed job's log, cut to the failed step and tidied for a person to read.

A job's log is the runner's lines, each after its UTC time (`2026-12-07T10:00:01.1234567Z `),
in the order the steps ran (docs/github-behaviour.md, "Jobs, logs and annotations"; the runner's
source, actions/runner `src/Runner.Worker/Handlers/`): "Set up job" comes first and opens no
step group; each step that ran then opens its section with `##[group]Run <first line of its
command>` (`ScriptHandler.PrintActionDetails`) or `##[group]Run <owner/repo@ref>`, `Run ./path`
or `Run docker://image` for an action (`Handler.PrintActionDetails`, which also writes it for an
action's pre step), and ends it where the next section begins; a step that did not run (its
conclusion `skipped`) writes nothing; a post step opens with `Post job cleanup.` and no group
(the same `PrintActionDetails`), and "Complete job" with `Evaluate and set job outputs` or
`Cleaning up orphan processes` (`JobExtension.FinalizeJob`). Errors and warnings show as
`##[error]...` and `##[warning]...`; a failed process ends its step with
`##[error]Process completed with exit code 1.` The step's name is not in the log.

So the failed step's section is found by counting: among the job's steps (REST "Get a job for a
workflow run": `steps`, in order), those that ran and open a `Run` group, and the failed step's
place among them is its `##[group]Run` line's place among the log's, counted from the end so that
a log read from the middle (its last bytes) counts too. The tail is that section up to its last
`##[error]` line (to its end when it has none: a step killed or stopped without a word), at most
`MAX_LOG_LINES` lines of it, times and every terminal escape sequence removed
(`support.text.without_escapes`), `##[endgroup]` dropped, the other markers written as words
(`Error: ...`) and each line cut to `MAX_LOG_LINE_CHARS` with a marker. Pure text: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wait_and_dispatch.engine.failures import MAX_LOG_LINE_CHARS, MAX_LOG_LINES, cut_text
from wait_and_dispatch.support.text import without_escapes

_TIME = re.compile(r"^\ufeff?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?")
_MARKER = re.compile(r"^##\[([a-z]+)\]")
# How each runner marker reads once tidied: `##[error]x` is `Error: x`; a group's title and a
# command stand as they are.
_WORDS = {"error": "Error: ", "warning": "Warning: ", "notice": "Notice: ", "debug": "Debug: "}
_STEP_GROUP = "##[group]Run "
_ERROR = "##[error]"
# The runner's own steps, whose sections open no `Run` group: "Set up job" and "Complete job",
# and for a job in a container "Initialize containers" and "Stop containers".
_RUNNER_STEPS = frozenset({"Set up job", "Initialize containers", "Stop containers", "Complete job"})
# The first line of what follows the steps: a post step's, or "Complete job"'s.
_AFTER_STEPS = frozenset(
    {"Post job cleanup.", "Evaluate and set job outputs", "Cleaning up orphan processes"}
)
# What a step that failed and did not say so concludes: stopped past its job's `timeout-minutes`.
_NOT_SUCCEEDED = frozenset({"failure", "timed_out", "cancelled"})


@dataclass(frozen=True)
class JobStep:
    """A step of a job as REST "Get a job for a workflow run" lists it (`steps[]`)."""

    number: int
    name: str
    status: str
    conclusion: str | None

    @property
    def ran(self) -> bool:
        return self.status in ("in_progress", "completed") and self.conclusion != "skipped"


def failed_step_tail(text: str, steps: Sequence[JobStep] = (), *, truncated: bool = False) -> str:
    """The tail of `text` (a job's log) for the job's failed step, found among `steps` (the job's,
    in order; none known: the section before the log's last error).

    `truncated`: `text` is the end of a longer log, whose first line here may be cut short."""
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[1:]
    bodies = [without_escapes(_TIME.sub("", line, count=1)) for line in lines]
    section = _failed_section(bodies, steps, truncated=truncated)
    if section is None:
        start, end = _around_last_error(bodies)
    else:
        start, stop = section
        errors = [i for i in range(start, stop) if bodies[i].startswith(_ERROR)]
        end = errors[-1] if errors else stop - 1
    kept = [body for body in bodies[start : end + 1] if not body.startswith("##[endgroup]")]
    return "\n".join(cut_text(_tidy(body), MAX_LOG_LINE_CHARS) for body in kept[-MAX_LOG_LINES:])


def _failed_section(
    bodies: list[str], steps: Sequence[JobStep], *, truncated: bool
) -> tuple[int, int] | None:
    """Where the failed step's output is in `bodies`, as `(start, stop)`, when counting the steps
    tells; else None.

    The count does not tell when the log holds another number of `Run` groups than the steps that
    ran would open: a composite action's steps open theirs inside its section, and a step may
    print `::group::Run ...` itself. Then which group is the failed step's is ambiguous, and the
    caller keeps to the nearest group before the last error. A log read from the middle must not
    hold more groups than the steps would open (fewer: its start is missing)."""
    failed = _failed_step(steps)
    grouped = _grouped_numbers(steps)
    if failed is None or failed not in grouped:
        return None
    groups = [i for i, body in enumerate(bodies) if body.startswith(_STEP_GROUP)]
    if len(groups) > len(grouped) or (not truncated and len(groups) < len(grouped)):
        return None
    after = len(grouped) - 1 - grouped.index(failed)  # the sections that follow the failed step's
    if after > len(groups):
        return 0, 0  # what was read all comes after the failed step's section: none of it is its
    place = len(groups) - 1 - after
    start = groups[place] if place >= 0 else 0  # at -1 its section began before what was read
    if place + 1 < len(groups):
        return start, groups[place + 1]
    following = (i for i in range(start + 1, len(bodies)) if bodies[i] in _AFTER_STEPS)
    return start, next(following, len(bodies))


def _failed_step(steps: Sequence[JobStep]) -> int | None:
    """The number of the step the job failed at: its first failed step, else the last that ran and
    did not succeed (a step stopped by the job's time limit)."""
    failed = [step.number for step in steps if step.conclusion == "failure"]
    if failed:
        return failed[0]
    stopped = [step.number for step in steps if step.ran and step.conclusion in _NOT_SUCCEEDED]
    return stopped[-1] if stopped else None


def _grouped_numbers(steps: Sequence[JobStep]) -> list[int]:
    """The numbers of the steps that ran and opened a `Run` group, in order: not the runner's own
    steps, and not a post step (`Post <the name of a step before it>`, as GitHub names them)."""
    seen: set[str] = set()
    numbers = []
    for step in steps:
        post = step.name.startswith("Post ") and step.name[len("Post ") :] in seen
        seen.add(step.name)
        if step.ran and not post and step.name not in _RUNNER_STEPS:
            numbers.append(step.number)
    return numbers


def _around_last_error(bodies: list[str]) -> tuple[int, int]:
    """Where the tail is when the steps do not tell: from the nearest `Run` group before the log's
    last `##[error]` line to that line; without one, the last group's section up to what follows
    the steps (never the post steps' cleanup alone)."""
    errors = [i for i, body in enumerate(bodies) if body.startswith(_ERROR)]
    groups = [i for i, body in enumerate(bodies) if body.startswith(_STEP_GROUP)]
    if errors:
        end = errors[-1]
        return max((i for i in groups if i <= end), default=0), end
    start = groups[-1] if groups else 0
    following = (i for i in range(start + 1, len(bodies)) if bodies[i] in _AFTER_STEPS)
    return start, next(following, len(bodies)) - 1


def _tidy(body: str) -> str:
    marker = _MARKER.match(body)
    if marker is None:
        return body
    return _WORDS.get(marker.group(1), "") + body[marker.end() :]
