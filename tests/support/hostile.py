"""Hostile input for tests: YAML that explodes, and values from GitHub that try to become commands."""

from __future__ import annotations

from typing import Any


def alias_bomb(indent: str = "") -> str:
    """The "billion laughs": nine levels of nine aliases each, 9^9 strings once expanded."""
    levels = [f'{indent}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        levels.append(f"{indent}l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return "\n".join(levels) + "\n"


# What someone who can push a workflow file or open a pull request can put in a run title,
# workflow, job, check or artifact name, aimed at the runner's workflow commands.
INJECTIONS = (
    "\n::error title=forged::pwned",
    "\n::add-mask::hello",
    "\n::stop-commands::TOKEN",
    "\r::warning::carriage return",
    "\n   ::notice::after spaces",
    "%0A::error::already escaped",
    "\n::group::forged group",
    "##[add-mask]hello",
    "a build ##[error]forged in the older form",
)
HOSTILE = "".join(INJECTIONS)
# ...and at a terminal that shows the command line's output: clear the screen, retitle the window
# (OSC 0, ended by BEL), hide text (SGR 8), a C1 CSI (U+009B, ESC [ in one character), a
# backspace, and the bidirectional overrides and isolates that show text reversed
# (U+202A-U+202E, U+2066-U+2069; "Trojan Source", CVE-2021-42574).
TERMINAL_CONTROLS = (
    "\x1b[2J\x1b[H",
    "\x1b]0;retitled\x07",
    "\x1b[8mhidden\x1b[0m",
    "\x9b31m",
    "\x08\x08",
    "\u202a\u202b\u202c\u202d\u202e",
    "\u2066\u2067\u2068\u2069",
)
HOSTILE_TO_A_TERMINAL = "".join(TERMINAL_CONTROLS)


def runner_commands(output: str) -> list[tuple[str, str]]:
    """(name, line) of every workflow command the runner would run, reading `output` as it reads a
    step's stdout and stderr: lines end at `\\r\\n`, `\\r` or `\\n` (.NET's ReadLine); a line whose
    text after leading white space starts with `::` is a command whose name ends at the first space
    or `::` (actions/runner ActionCommand.TryParseV2), and any other line holding `##[name]` is one
    in the older form (ActionCommand.TryParse); `::stop-commands::TOKEN` mutes every command
    until a line `::TOKEN::`."""
    found: list[tuple[str, str]] = []
    muted_until: str | None = None
    for line in output.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        text = line.lstrip()
        if muted_until is not None:
            if text == f"::{muted_until}::":
                muted_until = None
            continue
        if not text.startswith("::"):
            # The older form, anywhere in the line: `##[name ...]data` (actions/runner
            # ActionCommand.TryParse: the first `##[`, then the next `]`).
            start = line.find("##[")
            end = line.find("]", start) if start >= 0 else -1
            if end >= 0:
                found.append((line[start + 3 : end].split(" ", 1)[0], line))
            continue
        head = text[2:].split("::", 1)[0]
        name = head.split(" ", 1)[0]
        found.append((name, line))
        if name == "stop-commands":
            muted_until = text[2:].split("::", 1)[1] if "::" in text[2:] else ""
    return found


def terminal_controls(output: str) -> list[str]:
    """Every character of `output` a terminal would obey rather than show (not printable, in
    Python's sense: Unicode's Other and Separator categories but the space), but the line feeds
    that end its lines."""
    return [char for char in output.replace("\n", "") if not char.isprintable()]


def with_hostile_names(scenario: dict[str, Any]) -> dict[str, Any]:
    """`scenario` (the tests' base one) with `HOSTILE` in the workflow's name, its runs' titles and
    its job (and so check run) name. Not in its artifact's name: GitHub refuses a colon, CR or LF
    there at upload (actions/toolkit `validateArtifactName`), and so does the emulator's scenario."""
    build = scenario["repos"]["octo/app"]["workflows"][0]
    build["name"] = f"Build{HOSTILE}"
    build["run_name"] = f"Build{HOSTILE} [${{{{ inputs.correlation_id }}}}]"
    build["jobs"][0]["name"] = f"build{HOSTILE}"
    return scenario


def with_names_hostile_to_a_terminal(scenario: dict[str, Any]) -> dict[str, Any]:
    """`scenario` (the tests' base one) with `HOSTILE_TO_A_TERMINAL` and a runner-escaped line break
    (`%0A`) in the workflow's name, its runs' titles, its job's and failing step's names, its
    error annotation and its artifact's name (GitHub refuses none of these characters there)."""
    build = scenario["repos"]["octo/app"]["workflows"][0]
    hostile = f"%0A{HOSTILE_TO_A_TERMINAL}"
    build["name"] = f"Build{hostile}"
    build["run_name"] = f"Build{hostile} [${{{{ inputs.correlation_id }}}}]"
    step = f"Run tests{hostile}"
    build["jobs"][0].update(
        name=f"build{hostile}",
        steps=["Set up job", step],
        fails_at=step,
        annotations=[{"path": "tests/test_app.py", "start_line": 7, "message": f"assert{hostile}"}],
    )
    build["artifacts"][0]["name"] = f"package{hostile}"
    return scenario
