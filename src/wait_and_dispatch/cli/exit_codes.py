"""Every error a command ends with, as one line, a hint and an exit code (`ExitCode`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TextIO

from wait_and_dispatch.session.boundary import Secrets, traceback_lines, unexpected
from wait_and_dispatch.support.errors import DispatchInterrupted, ExitCode, WaitAndDispatchError
from wait_and_dispatch.support.text import print_line, terminal_text


@contextlib.contextmanager
def handle_errors(
    stderr: TextIO, debug: bool, *, in_actions: bool = False, secrets: Secrets | None = None
) -> Iterator[list[int]]:
    """Turn every error into one line, a hint and an exit code: the CLI's only handler. One that
    is none of ours is an `InternalError` (exit code 70); the traceback shows with --debug only."""
    status = [int(ExitCode.SUCCESS)]
    try:
        yield status
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, DispatchInterrupted):  # says how to find the run it may have started
            message, hint = interrupt.message, interrupt.hint
            if secrets is not None:
                message, hint = secrets.redact(message), secrets.redact(hint)
            print_line(f"interrupted: {message}", file=stderr)
            print_line(f"hint: {hint}", file=stderr)
        else:
            print_line("interrupted", file=stderr)
        status[0] = int(ExitCode.INTERRUPTED)
    except Exception as caught:  # noqa: BLE001 - the one boundary: every error ends here, reported
        error = caught if isinstance(caught, WaitAndDispatchError) else unexpected(caught, secrets)
        if debug:  # its lines as they are, but for the characters a terminal would obey
            for line in traceback_lines(in_actions=in_actions, secrets=secrets):
                stderr.write(terminal_text(line) + "\n")
        for detail in error.details:
            print_line(detail, file=stderr)
        print_line(f"error: {error.message}", file=stderr)
        if error.hint:
            print_line(f"hint: {error.hint}", file=stderr)
        status[0] = int(error.exit_code)
