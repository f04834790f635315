"""Hostile input, property-based: whatever a user types or GitHub sends, the
parsers answer with a value or a `UsageError` (never another exception, a hang or a value out of
bounds), and no value from GitHub can make a line the runner would take for a workflow command.

Kept fast for CI's suite: a modest number of examples each, no deadline (the machine is shared).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.hostile import INJECTIONS, TERMINAL_CONTROLS, runner_commands, terminal_controls
from tests.support.runner_contract import unescape
from wait_and_dispatch.cli.exit_codes import handle_errors
from wait_and_dispatch.emulator import Scenario
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.inputs import (
    MAX_DURATION_SECONDS,
    parse_duration,
    parse_inputs,
    parse_key_values,
)
from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
from wait_and_dispatch.plans.executor import PlanEvent, PlanEventKind
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.session.progress import PlanProgressPrinter, ProgressPrinter
from wait_and_dispatch.step.settings import InputValues
from wait_and_dispatch.support.errors import DispatchInterrupted, UsageError, WaitAndDispatchError
from wait_and_dispatch.support.text import escape_line, print_line, terminal_line, terminal_text, verbatim

T = TypeVar("T")


def outcome(call: Callable[[], T]) -> T | UsageError:
    """What `call` returns, or the `UsageError` it raises (any other exception fails the test)."""
    try:
        return call()
    except UsageError as error:
        return error


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as it arrives from GitHub or a user: any characters, with the runner's own syntax, line
# breaks of every kind and a terminal's control sequences over-represented.
hostile_text = st.one_of(
    st.text(),
    st.lists(
        st.sampled_from(
            [
                *INJECTIONS,
                *TERMINAL_CONTROLS,
                "::",
                ":",
                "%",
                "%0A",
                "%25",
                "\r",
                "\n",
                "\r\n",
                " ",
                "\t",
                "\u2028",
                "x",
            ]
        ),
        max_size=12,
    ).map("".join),
)
# Each channel's escaping of a line: the action's log, and the command line's terminal or log file.
CHANNELS = {"runner": escape_line, "terminal": terminal_line}


# -- the log escaping -----------------------------------------------------------------------------


@FAST
@given(hostile_text)
@example("::error::forged")
@example("  ::add-mask::x")
@example("\n::stop-commands::TOKEN")
def test_no_value_escaped_for_a_log_line_is_a_command_or_more_than_one_line(text: str) -> None:
    line = escape_line(text)
    assert "\r" not in line and "\n" not in line
    assert runner_commands(line) == []


@FAST
@given(hostile_text)
@example("  ::add-mask::x")
@example("ok [ 50%]\r\n::error::x")
def test_a_log_line_shown_is_one_line_and_no_command(text: str) -> None:
    line = terminal_line(text)
    assert "\r" not in line and "\n" not in line and line.isprintable()
    assert runner_commands(line) == []
    if text.isprintable() and not text.lstrip().startswith("::") and "##[" not in text:
        assert line == text  # `%` and the rest as they are


@FAST
@given(hostile_text)
def test_escaping_loses_nothing_the_runner_encoding_would_give_back(text: str) -> None:
    assert unescape(escape_line(text)) == text


@FAST
@given(hostile_text, st.sampled_from(list(ProgressKind)), st.sampled_from(sorted(CHANNELS)))
def test_progress_lines_with_a_value_from_github_hold_no_command(
    text: str, kind: ProgressKind, channel: str
) -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, escape=CHANNELS[channel])
    printer(ProgressEvent(kind, f"run {text} completed"))
    printer(ProgressEvent(kind, text))
    printer.finish()
    assert runner_commands(stream.getvalue()) == []


@FAST
@given(hostile_text, st.sampled_from(list(ProgressKind)))
@example("\x1b]0;retitled\x07\x1b[2J\u202egnp.exe", ProgressKind.DISPATCHED)
def test_the_command_lines_progress_lines_hold_no_control_character(text: str, kind: ProgressKind) -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, escape=terminal_line)
    printer(ProgressEvent(kind, f"run {text} completed"))
    printer.finish()
    assert terminal_controls(stream.getvalue()) == []


@FAST
@given(hostile_text)
@example("\x1b[8mhidden\x1b[0m")
def test_a_line_the_command_line_prints_is_one_printable_line_and_no_command(text: str) -> None:
    stream = io.StringIO()
    print_line(f"error: {text}", file=stream)
    assert stream.getvalue().endswith("\n") and stream.getvalue().count("\n") == 1
    assert terminal_controls(stream.getvalue()) == []
    assert runner_commands(stream.getvalue()) == []


@FAST
@given(hostile_text, hostile_text, st.booleans())
@example("run 'Build\x1b]0;pwned\x07' failed", "\u202eopen it", False)
def test_the_command_lines_error_and_hint_hold_no_control_character_or_command(
    message: str, hint: str, interrupted: bool
) -> None:
    def fail() -> None:
        if interrupted:
            raise DispatchInterrupted(message, hint=hint)
        raise WaitAndDispatchError(message, hint=hint)

    stderr = io.StringIO()
    with handle_errors(stderr, debug=False):
        fail()
    assert stderr.getvalue().startswith(("error: ", "interrupted: "))
    assert terminal_controls(stderr.getvalue()) == []
    assert runner_commands(stderr.getvalue()) == []


@FAST
@given(hostile_text)
@example("\x1b[2J\x1b]0;title\x07")
@example("\u202e\u2066")
def test_text_for_a_terminal_holds_no_control_character_and_stays_on_one_line(text: str) -> None:
    shown = terminal_text(text)
    assert shown.isprintable()
    assert all(char in shown for char in text if char.isprintable())


@FAST
@given(hostile_text, hostile_text, st.sampled_from(sorted(CHANNELS)))
def test_plan_progress_lines_hold_no_command(node: str, message: str, channel: str) -> None:
    stream = io.StringIO()
    printer = PlanProgressPrinter(stream, escape=CHANNELS[channel])
    printer(PlanEvent(PlanEventKind.STARTED, node=node, message=message))
    assert runner_commands(stream.getvalue()) == []


@FAST
@given(hostile_text, hostile_text)
def test_the_command_lines_plan_progress_lines_hold_no_control_character(node: str, message: str) -> None:
    stream = io.StringIO()
    printer = PlanProgressPrinter(stream, escape=terminal_line)
    printer(PlanEvent(PlanEventKind.STARTED, node=node, message=message))
    assert terminal_controls(stream.getvalue()) == []


@FAST
@given(hostile_text)
def test_verbatim_text_runs_no_command_but_the_stop_around_it(text: str) -> None:
    lines = verbatim(text)
    assert [name for name, _ in runner_commands("\n".join(lines))] == ["stop-commands"]
    assert lines[1:-1] == text.splitlines()


# -- durations ----------------------------------------------------------------------------------

units = st.sampled_from(["h", "m", "s", "ms", "H", "M", "S", "MS"])
number = st.one_of(st.integers(0, 10_000).map(str), st.decimals(0, 1000, places=3).map(str))


@FAST
@given(st.one_of(st.text(), st.floats(allow_nan=True, allow_infinity=True), st.integers()))
@example("nan")
@example("inf")
@example("1e400")
@example("-0")
def test_a_duration_is_finite_within_bounds_or_a_usage_error(text: str | float | int) -> None:
    seconds = outcome(lambda: parse_duration(text, what="timeout"))
    if isinstance(seconds, UsageError):
        assert "timeout" in seconds.message and seconds.hint
    else:
        assert math.isfinite(seconds) and 0 <= seconds <= MAX_DURATION_SECONDS


@FAST
@given(st.lists(st.tuples(number, units), min_size=1, max_size=4))
def test_a_duration_in_units_is_the_sum_of_its_parts(parts: list[tuple[str, str]]) -> None:
    text = " ".join(f"{amount}{unit}" for amount, unit in parts)
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    total = sum(float(amount) * scale[unit.lower()] for amount, unit in parts)
    seconds = outcome(lambda: parse_duration(text))
    if total > MAX_DURATION_SECONDS:
        assert isinstance(seconds, UsageError), f"{text!r} is over the maximum but was accepted"
    else:
        assert not isinstance(seconds, UsageError)
        assert math.isclose(seconds, total, rel_tol=1e-9, abs_tol=1e-9)


# -- workflow inputs ------------------------------------------------------------------------------

input_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,20}", fullmatch=True)
input_values = st.one_of(st.text(max_size=30), st.booleans(), st.integers(-1000, 1000))


@FAST
@given(st.text())
@example("a: &a [*a]")
@example("{")
@example("- 1\n- 2")
def test_inputs_are_a_mapping_of_strings_or_a_usage_error(text: str) -> None:
    inputs = outcome(lambda: parse_inputs(text))
    if isinstance(inputs, UsageError):
        assert inputs.hint
    else:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in inputs.items())


@FAST
@given(st.dictionaries(input_names, input_values, max_size=25))
def test_inputs_as_json_are_the_strings_github_would_take(inputs: dict[str, Any]) -> None:
    expected = {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in inputs.items()}
    assert parse_inputs(json.dumps(inputs)) == expected


@FAST
@given(st.dictionaries(input_names, st.text(max_size=30), min_size=1, max_size=25))
def test_inputs_as_yaml_are_the_values_written(inputs: dict[str, str]) -> None:
    assert parse_inputs(yaml.safe_dump(inputs)) == inputs


@FAST
@given(st.dictionaries(input_names, st.text(max_size=30), max_size=25))
def test_key_value_options_keep_each_value_exactly(inputs: dict[str, str]) -> None:
    assert parse_key_values([f"{k}={v}" for k, v in inputs.items()]) == inputs


@FAST
@given(st.text())
@example(",)")  # a `)` with no `(` keeps no comma
@example("build (a, b")  # nor does a `(` never closed
def test_list_inputs_are_trimmed_non_empty_items(text: str) -> None:
    items = InputValues({"artifacts": text}).lines("artifacts")
    assert all(item and item == item.strip() and "," not in item for item in items)
    assert all("\n" not in item and "\r" not in item for item in items)


# -- repository names -----------------------------------------------------------------------------

owners = st.from_regex(r"[A-Za-z0-9]{1,10}(-[A-Za-z0-9]{1,10}){0,2}", fullmatch=True)
names = st.from_regex(r"[A-Za-z0-9._-]{1,40}", fullmatch=True).filter(lambda n: n not in (".", ".."))
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
_GITHUB_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


@FAST
@given(owners, names)
def test_every_name_github_allows_is_accepted_as_written(owner: str, name: str) -> None:
    assert Repository.parse(f"{owner}/{name}") == Repository(owner, name)


@FAST
@given(st.one_of(st.text(), st.tuples(owners, hostile_text).map("/".join)))
@example("owner/name?x=1")
@example("owner/name#")
@example("owner/..")
def test_a_repository_is_safe_in_a_url_path_or_a_usage_error(text: str) -> None:
    repository = outcome(lambda: Repository.parse(text))
    if isinstance(repository, UsageError):
        assert repository.hint
        return
    assert _GITHUB_OWNER.fullmatch(repository.owner) and len(repository.owner) <= 39
    assert _GITHUB_NAME.fullmatch(repository.name) and repository.name not in (".", "..")


# -- plan and scenario files ----------------------------------------------------------------------

yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
plan_keys = st.sampled_from(
    ["name", "repository", "nodes", "vars", "defaults", "environments", "timeout", "x"]
)
node_keys = st.sampled_from(
    ["workflow", "needs", "checks", "timeout", "inputs", "run-id", "if", "matrix", "x"]
)
plans = st.fixed_dictionaries(
    {
        "nodes": st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True),
            st.dictionaries(node_keys, yaml_values, max_size=4),
            max_size=4,
        )
    },
    optional={key: yaml_values for key in ("name", "repository", "vars", "defaults", "timeout")},
)
yaml_texts = st.one_of(
    st.text(max_size=200),
    plans.map(lambda plan: yaml.safe_dump(plan, allow_unicode=True)),
    st.dictionaries(plan_keys, yaml_values, max_size=5).map(yaml.safe_dump),
)


@FAST
@given(yaml_texts)
@example("vars: &a [*a]\nnodes: {}")
@example("\x1f")  # a control character: PyYAML's ReaderError used to escape as a traceback
@example("nodes:\n  a: {workflow: a.yml, timeout: .nan}")
def test_a_plan_file_loads_or_is_a_usage_error(text: str) -> None:
    loaded = outcome(lambda: load_plan("plan.yml", text=text))
    assert not isinstance(loaded, UsageError) or loaded.hint


@FAST
@given(
    st.one_of(
        st.text(max_size=200),
        st.dictionaries(st.text(max_size=10), yaml_values, max_size=5).map(yaml.safe_dump),
    )
)
@example("options: {dispatch_visibility_delay: .nan}")
@example("repos: &r {a/b: *r}")
def test_a_scenario_file_loads_or_is_a_usage_error(text: str) -> None:
    loaded = outcome(lambda: Scenario.from_text(text, "scenario.yml"))
    assert not isinstance(loaded, UsageError) or loaded.hint
