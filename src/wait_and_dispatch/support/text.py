"""Text from GitHub on a line, escaped for the channel it goes to: one function per channel.

GitHub's runner reads a workflow command from any line of a step's output (stdout or stderr)
that starts with `::` after leading whitespace (actions/runner `ActionCommand.TryParseV2`;
docs/github-behaviour.md#the-runner-contract). A run title, workflow, job, check or artifact name is
written by whoever can push a workflow file or open a pull request, so one holding
`\\n::add-mask::...`, `\\n::error ...` or `\\n::stop-commands::TOKEN` would, printed raw, forge an
annotation, mask the log or mute this tool's own `::error`. Printed raw to a terminal, one holding
ESC, BEL, a C1 control or a bidirectional override would move the cursor, retitle the terminal,
hide text or show it reversed.

- `escape_line`: a line of the action's log, which only the runner reads. The characters the
  runner splits lines on are escaped as the runner's own command encoding does (`%` -> `%25`,
  `\\r` -> `%0D`, `\\n` -> `%0A`), so a value stays on the line it was put on and decodes back
  to itself, and a line that would still start with `::` has its second colon escaped (`:%3A`).
  Workflow commands we mean to send go through github-action-utils (`action/runner.py`), which
  escapes their data the same way.
- `terminal_line` (and `print_line`, which prints one): a line the command line prints, to a
  terminal or to a file or a log it is redirected to (a workflow step may run it too). Every
  character that is not printable is written as its Python escape (`terminal_text`), so no line
  break or control character is left and `%` stays as it is, and a leading `::` is broken as
  `escape_line` breaks it.
- `terminal_text`: a piece of text drawn inside a terminal's live view (a table cell, a title),
  which no runner reads as a line.
- `verbatim`: text that must be shown as it is, on several lines (a traceback), between
  `::stop-commands::<token>` and `::<token>::` with a token drawn at random.
- `without_escapes`: drops the terminal's escape sequences from text that is to be read rather
  than obeyed (a job's log as the failure digest shows it): colours and cursor moves, window
  titles and hyperlinks, and every other escape, so none reaches a terminal, a summary or
  `--json`.
"""

from __future__ import annotations

import re
import secrets
from typing import TextIO

_LINE_BREAKS = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))


def escape_line(text: str) -> str:
    """`text` as one line of the action's log, which the runner cannot take for a workflow command
    (its command decoding gives `text` back)."""
    for raw, escaped in _LINE_BREAKS:  # `%` first, so an escape already in the text stays text
        text = text.replace(raw, escaped)
    return _no_command(text)


def terminal_line(text: str) -> str:
    """`text` as one line the command line prints (to a terminal, a file or a log): every
    character that is not printable written as its escape (`terminal_text`), so no line break or
    control character is left and `%` can stay as it is (`50%` reads `50%`), and a line that
    would start with `::` has its second colon escaped, as `escape_line` does."""
    return _no_command(terminal_text(text))


def _no_command(text: str) -> str:
    rest = text.lstrip()  # the runner trims leading white space (.NET's, Unicode's) first
    if rest.startswith("::"):
        text = text[: len(text) - len(rest)] + ":%3A" + rest[2:]
    # A line that is no `::` command is read again in the runner's older form, `##[name]data`,
    # found anywhere in the line: its name runs from the first `##[` to the next `]` (actions/runner
    # ActionCommand.TryParse, `message.IndexOf("##[")` then `IndexOf(']', ...)`). With every `]`
    # after it written as `%5D` (that form's own escape of `]`), no such name ever ends.
    start = text.find("##[")
    if start >= 0:
        text = text[: start + 3] + text[start + 3 :].replace("]", "%5D")
    return text


def terminal_text(text: str) -> str:
    """`text` as a terminal should show it: every character that is not printable (ESC, BEL, a
    carriage return, a line break, a bidirectional override) written as its Python escape
    (`\\x1b`, `\\u202e`), so a name cannot move the cursor, recolour or retitle the terminal,
    take more than one line, or reorder what is shown."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text
    )


# The escape sequences of ECMA-48 ("Control functions for coded character sets", 5th edition,
# 1991: escape sequences, control sequences and control strings), each in its 7-bit form (ESC
# and a character) and its 8-bit form (one C1 character, U+0080 to U+009F), tried in this order:
_ESCAPES = re.compile(
    # a control sequence (CSI): parameters, intermediates, a final byte (colours, cursor moves);
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    # a control string (OSC: a title or a hyperlink; DCS, SOS, PM, APC) up to its terminator, BEL
    # (xterm's "Control Sequences" ends an OSC with either) or ST; one left open ends with the line;
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\n]*?(?:\x07|\x1b\\|\x9c|(?=\n)|\Z)"
    # any other escape: ESC, intermediates (0x20-0x2F), a final (0x30-0x7E), as `ESC ( B`;
    r"|\x1b[ -/]*[0-~]"
    # and what is left of one: a lone or cut ESC, BEL, any other C1 control.
    r"|[\x07\x1b\x80-\x9f]"
)


def without_escapes(text: str) -> str:
    """`text` without its terminal escape sequences (CSI, OSC and every other) and without any ESC,
    BEL or C1 control left over; text holding none of those comes back as it is."""
    return _ESCAPES.sub("", text)


def verbatim(text: str) -> list[str]:
    """The lines of `text` as they are, between commands that stop and resume command processing.

    The token is random and absent from `text`, so nothing in the text can end the stop early.
    """
    token = secrets.token_hex(16)
    while token in text:  # pragma: no cover - 128 random bits
        token = secrets.token_hex(16)
    return [f"::stop-commands::{token}", *text.splitlines(), f"::{token}::"]


def print_line(text: str, *, file: TextIO, flush: bool = False) -> None:
    """`print(terminal_line(text), file=file)`: how the command line prints a line that may hold
    GitHub's text."""
    file.write(terminal_line(text) + "\n")
    if flush:
        file.flush()
