"""Render docs/reliability.md from the fault matrix: `python -m tests.reliability.render --write`."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.reliability.matrix import CELLS, PHASES

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"

HEADER = """# Reliability: the fault matrix

What wait-and-dispatch does when GitHub or the network misbehaves, in each phase of a job:
finding the workflow and its runs (lookup), dispatching, waiting, and downloading artifacts.
Every row is a test (`tests/reliability/test_fault_matrix.py`) that runs the job against the
embedded emulator with the fault injected, on a simulated clock, and checks the ending shown here.
This page is generated from that list (`python -m tests.reliability.render --write`); a test fails
when the two differ.

In every row, whatever the ending, the test also checks the five invariants:

1. **one dispatch per request**: at most one run is created for the job's request;
2. **never the wrong run**: the run reported is the one the job started;
3. **never a partial artifact in place**: the target folder holds the whole artifact or nothing;
4. **never a wait past the deadline + 5 s**;
5. **never a secret in any channel**: the token is in no output, progress line, message or file.

Endings are "recovers" (the job succeeds) or the exit code (README "Exit codes": 3 timeout, 4
GitHub API error, 5 artifact error), with the one-line message and its `hint:`.
"""


def render() -> str:
    lines = [HEADER]
    for phase in PHASES:
        lines.append(f"\n## {phase.capitalize()}\n")
        lines.append("| fault | ending | what happens | test id |")
        lines.append("| --- | --- | --- | --- |")
        for cell in (c for c in CELLS if c.phase == phase):
            lines.append(f"| {cell.what} | {cell.ending} | {cell.outcome} | `{cell.id}` |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--write" in argv:
        DOC.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
