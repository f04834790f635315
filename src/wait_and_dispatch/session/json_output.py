"""Where a command's `--json` object goes: exactly one object on stdout whatever happens (the
shapes themselves are `step.results`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from wait_and_dispatch.step.results import dumps, failure
from wait_and_dispatch.support.errors import WaitAndDispatchError


class JsonOutput:
    """Where a command's `--json` object goes: written once, on one line of stdout."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.written = False

    def write(self, document: Mapping[str, Any]) -> None:
        self.stream.write(dumps(document) + "\n")
        self.stream.flush()
        self.written = True


@contextmanager
def json_output(command: str, stream: TextIO, *, enabled: bool) -> Iterator[JsonOutput]:
    """With `--json`, stdout gets exactly one object whatever happens: the command's own, or,
    when it fails before writing one, a `failure` object (then the error goes up as usual)."""
    output = JsonOutput(stream, enabled=enabled)
    try:
        yield output
    except WaitAndDispatchError as error:
        if enabled and not output.written:
            output.write(failure(command, error))
        raise
    except KeyboardInterrupt as interrupt:
        if enabled and not output.written:
            output.write(failure(command, None, interrupt))
        raise
    except Exception as error:  # none of ours: the one the CLI's handler will report
        if enabled and not output.written:
            from wait_and_dispatch.session.boundary import unexpected

            output.write(failure(command, unexpected(error)))
        raise
