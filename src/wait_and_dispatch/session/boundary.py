"""The one boundary both edges (the command line and the action) put around what they do.

Whatever goes wrong ends the same way: one line saying what, a hint, an exit code of its own, and
the runs this process dispatched cancelled rather than left going unseen. An exception that is not
a `WaitAndDispatchError` (a defect, or an environment nobody anticipated) becomes an
`InternalError` (exit code 70, not 1, which says the run failed); its traceback is shown only
when asked for (`--debug`, or step debug logging in Actions).

Secrets never reach a line: `Secrets` knows each token and key the process was given, in every
form it can take on a line (as it is, line by line, escaped for the log, inside JSON or a repr),
and `RedactingStream` replaces them with `***` in everything the command line writes, as the
runner masks the action's log (`::add-mask::`).
"""

from __future__ import annotations

import io
import json
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

from wait_and_dispatch.support.errors import InternalError, WaitAndDispatchError
from wait_and_dispatch.support.text import escape_line, verbatim

REDACTED = "***"  # what the runner shows for a masked value
# A line of a multi-line secret (a PEM key) shorter than this is not replaced on its own: it would
# blank every short word of the output. The whole value always is.
_SHORTEST_PART = 8


class Secrets:
    """The secrets of this process, and the text they may appear as."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self._forms: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        if not value or not value.strip():
            return
        parts = [value, value.strip()]
        parts += [line.strip() for line in value.splitlines() if len(line.strip()) >= _SHORTEST_PART]
        if "\\n" in value:  # a PEM key written on one line with `\n`, as AppCredentials reads it
            parts += [line.strip() for line in value.split("\\n") if len(line.strip()) >= _SHORTEST_PART]
        for part in parts:
            self._forms.update(
                form
                for form in (
                    part,
                    escape_line(part),
                    json.dumps(part)[1:-1],
                    repr(part)[1:-1],
                    repr(part.encode("utf-8", "backslashreplace"))[2:-1],
                )
                if form.strip()
            )

    def redact(self, text: str) -> str:
        for form in sorted(self._forms, key=len, reverse=True):  # a whole value before its lines
            if form in text:
                text = text.replace(form, REDACTED)
        return text


class RedactingStream(io.TextIOBase):
    """A text stream that writes to another with every known secret replaced by `***`."""

    def __init__(self, stream: TextIO, secrets: Secrets) -> None:
        super().__init__()
        self.stream = stream
        self.secrets = secrets

    def write(self, text: str) -> int:
        self.stream.write(self.secrets.redact(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"


def unexpected(error: BaseException, secrets: Secrets | None = None) -> InternalError:
    """`error`, which nobody anticipated, as one line: its type and the first line of its text."""
    text = str(error).strip().splitlines()
    detail = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    if secrets is not None:
        detail = secrets.redact(detail)
    return InternalError(f"unexpected error: {detail}")


@contextmanager
def cancel_on_failure(cancel: Callable[[], object]) -> Iterator[None]:
    """Inside: an interrupt, or an error after which the caller cannot learn of the runs this
    process dispatched (`cancels_dispatched`: an unexpected error, a runner file that cannot be
    written), calls `cancel` (the same cancellation a signal gets), then goes on."""
    try:
        yield
    except KeyboardInterrupt:
        cancel()
        raise
    except WaitAndDispatchError as error:
        if error.cancels_dispatched:
            cancel()
        raise
    except Exception as error:
        cancel()
        raise unexpected(error) from error


def traceback_lines(*, in_actions: bool, secrets: Secrets | None = None) -> list[str]:
    """The traceback being handled, redacted, as lines to print. In an Actions log it goes between
    stop-commands markers, so that GitHub's text in it cannot act as a workflow command; in a
    terminal the markers would only be noise (the runner is not reading)."""
    text = traceback.format_exc()
    if secrets is not None:
        text = secrets.redact(text)
    return verbatim(text) if in_actions else text.splitlines()
