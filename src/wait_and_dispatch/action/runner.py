"""The action's side of the runner contract: inputs in, outputs, summary and annotations out.

Only the action edge uses this; the engine never touches the environment or stdout (CONTRIBUTING.md).
The contract (docs/github-behaviour.md#the-runner-contract): inputs arrive as `INPUT_<NAME>` with hyphens
kept, outputs and state are appended to the files `$GITHUB_OUTPUT` and `$GITHUB_STATE` name,
the job summary to `$GITHUB_STEP_SUMMARY`, and workflow commands (`::error ...::`) go to stdout.

The serialisation is github-action-utils 2.0 (see "Dependencies" in README.md): it writes every
file command as a heredoc with a random `ghadelimiter_<uuid>` delimiter that it re-draws while the
delimiter occurs in the value, and escapes command messages and properties as the runner decodes
them. We chose it over actions-toolkit, whose last release (2022) still falls back to the deprecated
`::set-output` command and has no job summary.

The library writes to `sys.stdout` and opens the files named in `os.environ`; it takes neither a
stream nor a path. `RunnerChannel` takes both (so tests and other callers can give their own) and
points the library at them for the length of one call: stdout with `contextlib.redirect_stdout`, a
file command's variable by binding it in `os.environ`. In the action `environ` is `os.environ` and
`stdout` is `sys.stdout`, so both are no-ops there; either way a `RunnerChannel` is used from one
thread.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Iterator, Mapping
from typing import TextIO

import github_action_utils as gha

from wait_and_dispatch.step import aliases, catalogue, peer_names
from wait_and_dispatch.support.errors import RunnerFileError

# GitHub refuses a step's whole summary above 1 MiB: the runner logs "$GITHUB_STEP_SUMMARY upload
# aborted, supports content up to a size of 1024k" as an error annotation and shows nothing
# (docs: workflow-commands-for-github-actions#adding-a-job-summary). A cut summary beats none.
SUMMARY_LIMIT_BYTES = 1024 * 1024
TRUNCATION_NOTE = (
    "> ✂️ This summary was truncated to fit GitHub's limit of 1 MiB per step; "
    "the full details are in this step's log."
)

_INPUT_PREFIX = "INPUT_"


class RunnerChannel:
    """The action's channel to the runner: reads the `INPUT_*` variables, and writes the files
    (`GITHUB_OUTPUT`, `GITHUB_STATE`, `GITHUB_STEP_SUMMARY`) and the workflow commands (annotations,
    masks, groups) on stdout. Not a runner of anything: plans are run by `plans.PlanRunner`."""

    def __init__(self, environ: Mapping[str, str], stdout: TextIO) -> None:
        self._environ = environ
        self._stdout = stdout
        self._reported: set[str] = set()  # notices, warnings and debug lines said once per step

    # -- inputs ----------------------------------------------------------------------------------

    def inputs(self) -> dict[str, str]:
        """Every input of `catalogue.INPUTS` by its canonical name, stripped ("" when not given).

        The peer actions' names (`peer_names.ALIASES`) are written into ours by `step.aliases`, which
        says what it did: each message is reported once, as a notice or a warning. An `INPUT_*`
        variable no input owns (a typo) is reported as a warning naming the closest input.
        A peer input that cannot be honoured raises `UsageError`.
        """
        given = {
            name: self._environ.get(f"{_INPUT_PREFIX}{name.replace(' ', '_').upper()}", "")
            for name in (*catalogue.INPUT_NAMES, *peer_names.ALIAS_NAMES)
        }
        repository = self._environ.get("GITHUB_REPOSITORY", "")
        owner = self._environ.get("GITHUB_REPOSITORY_OWNER") or repository.partition("/")[0]
        resolved = aliases.resolve(given, default_owner=owner, job=self._environ.get("GITHUB_JOB", ""))
        for message in resolved.messages:
            if not self._first_time(f"alias:{message.title}"):
                continue
            if message.level == "warning":
                self.warning(message.text, title=message.title)
            else:
                self.notice(message.text, title=message.title)
        self._warn_about_unknown_inputs()
        return resolved.values

    def _warn_about_unknown_inputs(self) -> None:
        # The runner passes every key under `with:` as INPUT_<KEY>, declared or not, and its own
        # "Unexpected input(s)" warning does not say what was meant.
        known = {env for item in catalogue.INPUTS for env in item.env_names}
        known |= {alias.env_name for alias in peer_names.ALIASES}
        spellings = {name: item.name for item in catalogue.INPUTS for name in (item.name, *item.aliases)}
        for variable in sorted(self._environ):
            if not variable.startswith(_INPUT_PREFIX) or variable in known:
                continue
            given = variable.removeprefix(_INPUT_PREFIX).lower()
            close = difflib.get_close_matches(given.replace("_", "-"), list(spellings), n=1, cutoff=0.6)
            if close:
                advice = f"did you mean `{spellings[close[0]]}`?"
            else:
                advice = f"the inputs are: {', '.join(catalogue.INPUT_NAMES)}"
            if self._first_time(f"unknown:{variable}"):
                self.warning(f"unexpected input `{given}` is ignored; {advice}", title="Unknown input")

    # -- file commands ---------------------------------------------------------------------------

    def check_files(self, *, summary: bool) -> None:
        """A `RunnerFileError` now, before anything is dispatched, if a file the step will write
        cannot be opened for appending (a folder, no permission, a missing folder). A full disk
        shows only when written to; those writes raise the same error. The job summary is only a
        courtesy: one it cannot write is a warning, and the step keeps its own result."""
        for variable in ("GITHUB_OUTPUT", "GITHUB_STATE"):
            path = self._environ.get(variable)
            if path:
                with _writing(variable, path):
                    open(path, "a", encoding="utf-8").close()
        path = self._environ.get("GITHUB_STEP_SUMMARY")
        if summary and path:
            with self._summary_warning(), _writing("GITHUB_STEP_SUMMARY", path):
                open(path, "a", encoding="utf-8").close()

    def set_outputs(self, values: Mapping[str, str]) -> None:
        """Append every value to `$GITHUB_OUTPUT` (nothing when unset: not running in Actions)."""
        unknown = sorted(set(values) - {*catalogue.OUTPUT_NAMES, *peer_names.OUTPUT_ALIAS_NAMES})
        if unknown:
            raise ValueError(f"not outputs of the action: {', '.join(unknown)} (see catalogue.OUTPUTS)")
        path = self._environ.get("GITHUB_OUTPUT")
        if not path:
            if self._first_time("no-output"):
                self.debug("GITHUB_OUTPUT is not set (a local run): outputs are not written")
            return
        with _writing("GITHUB_OUTPUT", path), _library_file("GITHUB_OUTPUT", path):
            for name, value in values.items():
                gha.set_output(name, value)

    def save_state(self, name: str, value: str) -> None:
        """Keep a value for the post step, which reads it back as `STATE_<name>` (`state`)."""
        path = self._environ.get("GITHUB_STATE")
        if not path:
            if self._first_time("no-state"):
                self.debug("GITHUB_STATE is not set (a local run): state is not saved")
            return
        with _writing("GITHUB_STATE", path), _library_file("GITHUB_STATE", path):
            gha.save_state(name, value)

    def state(self, name: str) -> str | None:
        """A value the main step saved (the runner gives it to the post step as `STATE_<name>`)."""
        return self._environ.get(f"STATE_{name}")

    def summary(self, markdown: str) -> None:
        """Append Markdown to the job summary, cut to fit the 1 MiB per-step limit. One that cannot
        be written is a warning (once), never the step's failure: the summary is a courtesy."""
        path = self._environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            if self._first_time("no-summary"):
                self.debug("GITHUB_STEP_SUMMARY is not set (a local run): no job summary")
            return
        try:
            used = os.path.getsize(path)
        except FileNotFoundError:
            used = 0
        text = fit_summary(markdown, SUMMARY_LIMIT_BYTES - used)
        if text is None:
            self.debug(f"the job summary is already {used} bytes: nothing more fits")
            return
        variable = "GITHUB_STEP_SUMMARY"
        with self._summary_warning(), _writing(variable, path), _library_file(variable, path):
            gha.append_job_summary(text)

    # -- stdout commands -------------------------------------------------------------------------

    def error(
        self,
        message: str,
        *,
        title: str,
        hint: str | None = None,
        url: str | None = None,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        """An error annotation on the run's page: the message, how to fix it, and the link; with
        `file` and `line`, also on that line of the file in the pull request's diff."""
        with self._commands():
            gha.error(_annotation(message, hint, url), title=title, file=file, line=line, col=col)

    def warning(self, message: str, *, title: str, hint: str | None = None, url: str | None = None) -> None:
        with self._commands():
            gha.warning(_annotation(message, hint, url), title=title)

    def notice(self, message: str, *, title: str, hint: str | None = None, url: str | None = None) -> None:
        with self._commands():
            gha.notice(_annotation(message, hint, url), title=title)

    def debug(self, message: str) -> None:
        """Shown only when the run has step debug logging on (ACTIONS_STEP_DEBUG)."""
        with self._commands():
            gha.debug(message)

    def mask(self, value: str) -> None:
        """Hide a value in the rest of the job's log.

        The runner masks log lines, so a multi-line value is also masked line by line; empty and
        blank values are skipped because masking them would hide every gap in the log.
        """
        if not value.strip():
            return
        lines = [line for line in value.splitlines() if line.strip()]
        with self._commands():
            for part in dict.fromkeys([value, *lines]):
                gha.add_mask(part)

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A collapsible section of the log, closed even if the body raises.

        Only the two commands are redirected, not the body: its output goes where it would anyway.
        The runner does not nest groups, so groups are not opened inside one another.
        """
        with self._commands():
            gha.start_group(title)
        try:
            yield
        finally:
            with self._commands():
                gha.end_group()

    # -- helpers ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _summary_warning(self) -> Iterator[None]:
        """A `RunnerFileError` for the job summary as one warning for the whole step."""
        try:
            yield
        except RunnerFileError as unwritable:
            if self._first_time("summary-unwritable"):
                self.warning(unwritable.message, title="Job summary not written", hint=unwritable.hint)

    def _commands(self) -> contextlib.redirect_stdout[TextIO]:
        return contextlib.redirect_stdout(self._stdout)

    def _first_time(self, key: str) -> bool:
        """True the first time `key` is seen: a step reports each thing once, however often asked."""
        if key in self._reported:
            return False
        self._reported.add(key)
        return True


def fit_summary(markdown: str, budget: int) -> str | None:
    """`markdown` if it fits in `budget` bytes of UTF-8 (with the newline the library appends),
    else its longest prefix of whole lines that fits with a blank line and `TRUNCATION_NOTE` after
    it; None when not even the note fits."""
    data = markdown.encode("utf-8")
    if len(data) + 1 <= budget:
        return markdown
    room = budget - len(("\n\n" + TRUNCATION_NOTE + "\n").encode("utf-8"))
    if room < 0:
        return None
    kept = data[:room]
    cut = kept.rfind(b"\n")
    # A newline byte never occurs inside a multi-byte UTF-8 sequence, so a cut there decodes
    # whole; a single line longer than the budget is cut between characters instead.
    head = kept[:cut].decode("utf-8") if cut >= 0 else kept.decode("utf-8", errors="ignore")
    return f"{head}\n\n{TRUNCATION_NOTE}"


def _annotation(message: str, hint: str | None, url: str | None) -> str:
    # One annotation carries all of it: the runner shows the message's lines (sent as %0A, which
    # the library encodes) on the run's page, where there is no separate field for a hint or link.
    parts = [message]
    if hint:
        parts.append(f"How to fix: {hint}")
    if url:
        parts.append(url)
    return "\n".join(parts)


@contextlib.contextmanager
def _writing(variable: str, path: str) -> Iterator[None]:
    """An `OSError` writing a runner file, as the `RunnerFileError` it means for the step."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        raise RunnerFileError(f"${variable} ({path}) cannot be written: {reason}") from error


@contextlib.contextmanager
def _library_file(variable: str, path: str) -> Iterator[None]:
    """github-action-utils opens `os.environ[variable]` itself: point it at `path` for one call."""
    previous = os.environ.get(variable)
    os.environ[variable] = path
    try:
        yield
    finally:
        if previous is None:
            del os.environ[variable]
        else:
            os.environ[variable] = previous
