"""The program: `wait-and-dispatch` and `python -m wait_and_dispatch`.

The one module that joins the two edges: the command line parses the arguments, and its `action`
command (the Docker image's entry point) runs the action edge, handed in here so that neither
edge imports the other.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from wait_and_dispatch.cli import main as cli


def run_action(environ: Mapping[str, str], *, stdout: TextIO, post: bool = False) -> int:
    """The `action` command's body: the action edge, imported only when it runs (start-up)."""
    from wait_and_dispatch.action.main import run_action as action_edge

    return action_edge(environ, stdout=stdout, post=post)


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """The command line, with the action edge as its `action` command."""
    return cli.main(argv, stdout=stdout, stderr=stderr, run_action=run_action)


def entry_point() -> None:
    sys.exit(main())
