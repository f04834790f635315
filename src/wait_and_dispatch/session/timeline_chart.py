"""A plan's timeline for its job summary: a Mermaid `gantt` of each node's phases (the summary,
`session/summary.py`, names the critical path above it).

The phases and the path are computed in `plans/timeline.py`; this is only their Mermaid.
GitHub renders ```mermaid blocks in job summaries ("Creating diagrams", GitHub Docs). Times are
written as a stopwatch from the plan's start on a fixed day (`2000-01-01 00:12:30` is 12 min 30 s
in): Mermaid reads and draws dates in the reader's time zone, and a date read and drawn in the
same zone shows the same clock face everywhere, where a real timestamp would shift by the
reader's offset. The axis reads `mm:ss` for a plan of under an hour, else `hh:mm`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from wait_and_dispatch.plans.model import PlanResult
from wait_and_dispatch.plans.timeline import critical_path, plan_times

_DAY = datetime(2000, 1, 1)
_DATE_FORMAT = "YYYY-MM-DD HH:mm:ss"  # Mermaid's (dayjs) tokens for the strftime below
_STRFTIME = "%Y-%m-%d %H:%M:%S"

# Mermaid's gantt grammar: a section's title runs to the end of the line but stops at `#` `:` `;`
# (and `#` or `%%` start a comment); a task's text stops at `:`, its data at `#` or `;`. Text from
# the plan file or a matrix value gets the nearest look-alike instead, on one line.
_MERMAID_LOOKALIKES = str.maketrans(
    {
        ":": "\N{RATIO}",
        ";": "\N{FULLWIDTH SEMICOLON}",
        "#": "\N{FULLWIDTH NUMBER SIGN}",
        "%": "\N{FULLWIDTH PERCENT SIGN}",
        "\r": " ",
        "\n": " ",
    }
)
_SPACES = re.compile(r"\s+")

# Each phase's look: the queue greyed (`done`), the run in the task colour, the download light
# (`active`); the nodes of the critical path also get `crit`.
_PHASE_TAGS = {"queue": "done", "run": "", "download": "active"}


def mermaid_text(text: str) -> str:
    """A name as gantt text: one line, none of the characters that end or comment out a line."""
    return _SPACES.sub(" ", text.translate(_MERMAID_LOOKALIKES)).strip() or "-"


def gantt(result: PlanResult) -> list[str]:
    """A Mermaid gantt (Markdown lines): one section per node that ran, one bar per phase of it,
    the critical path's bars tagged `crit`; nothing when no node ran."""
    times = plan_times(result)
    if not times:
        return []
    path = critical_path(result)
    critical = set(path.nodes) if path is not None else set()
    axis = "%M:%S" if result.elapsed < 3600 else "%H:%M"
    lines = [
        "```mermaid",
        "gantt",
        f"  dateFormat {_DATE_FORMAT}",
        f"  axisFormat {axis}",
        "  todayMarker off",
    ]
    for name, node_times in times.items():
        bars = []
        for phase in node_times.phases():
            start, end = _stamp(phase.start), _stamp(phase.end)
            if start == end:
                continue  # under a second: nothing to draw
            tags = [tag for tag in (_PHASE_TAGS[phase.name], "crit" if name in critical else "") if tag]
            data = ", ".join([*tags, start, end])
            bars.append(f"    {phase.name} :{data}")
        if bars:
            lines += [f"  section {mermaid_text(result.plan.nodes[name].title or name)}", *bars]
    lines.append("```")
    return lines


def _stamp(seconds: float) -> str:
    return (_DAY + timedelta(seconds=round(seconds))).strftime(_STRFTIME)
