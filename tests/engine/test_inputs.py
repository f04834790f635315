"""Durations, workflow inputs and allowed conclusions as users write them."""

from __future__ import annotations

import pytest

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.inputs import (
    MAX_INPUTS,
    parse_duration,
    parse_inputs,
    parse_key_values,
)
from wait_and_dispatch.engine.progress import format_seconds
from wait_and_dispatch.engine.requests import (
    DEFAULT_RUN_CONCLUSIONS,
    DispatchPolicy,
    WaitOptions,
    parse_conclusions,
)
from wait_and_dispatch.support.errors import UsageError
from wait_and_dispatch.support.github_vocabulary import RUN_CONCLUSIONS


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("1h30m", 5400), ("1.5h", 5400), ("2m 5s", 125), ("500ms", 0.5)],
)
def test_durations_accept_seconds_and_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "30x", "m30", "-5", ""])
def test_bad_durations_are_usage_errors_with_an_example(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text, what="timeout")
    assert "timeout" in caught.value.message
    assert "1h30m" in caught.value.hint


def test_inputs_from_json_send_booleans_and_numbers_as_strings() -> None:
    assert parse_inputs('{"env": "prod", "dry_run": true, "replicas": 3, "ratio": 0.5}') == {
        "env": "prod",
        "dry_run": "true",
        "replicas": "3",
        "ratio": "0.5",
    }


def test_inputs_from_yaml_mapping() -> None:
    assert parse_inputs("env: prod\ndry_run: false\n") == {"env": "prod", "dry_run": "false"}


def test_inputs_from_key_value_lines_keep_values_verbatim() -> None:
    assert parse_inputs("env=prod\nmessage=a: b = c\n# a comment\n") == {"env": "prod", "message": "a: b = c"}


def test_repeated_input_options_keep_spaces_in_values() -> None:
    assert parse_key_values(["env=prod", "note= two words "]) == {"env": "prod", "note": " two words "}


def test_input_option_without_equals_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_key_values(["env"])


def test_nested_input_values_are_refused_with_a_hint() -> None:
    with pytest.raises(UsageError, match="'matrix' is a list") as caught:
        parse_inputs('{"matrix": [1, 2]}')
    assert "fromJSON" in caught.value.hint


def test_invalid_json_inputs_say_where() -> None:
    with pytest.raises(UsageError, match=r"not valid JSON.*line 1"):
        parse_inputs('{"env": }')


def test_more_than_25_inputs_are_refused_before_sending() -> None:
    text = "\n".join(f"k{i}=v" for i in range(MAX_INPUTS + 1))
    with pytest.raises(UsageError, match="26 inputs given; GitHub accepts at most 25"):
        parse_inputs(text)


def test_inputs_over_65535_characters_are_refused() -> None:
    with pytest.raises(UsageError, match="at most 65,535"):
        parse_inputs("big=" + "x" * 70_000)


def test_allowed_conclusions_parse_lists_and_any() -> None:
    assert parse_conclusions("success, skipped", default=DEFAULT_RUN_CONCLUSIONS) == {"success", "skipped"}
    assert parse_conclusions("success\nneutral\n", default=DEFAULT_RUN_CONCLUSIONS) == {"success", "neutral"}
    assert parse_conclusions("any", default=DEFAULT_RUN_CONCLUSIONS) == set(RUN_CONCLUSIONS)
    assert parse_conclusions("", default=DEFAULT_RUN_CONCLUSIONS) == {"success"}


def test_unknown_conclusion_is_a_usage_error_listing_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="'succes'") as caught:
        parse_conclusions("succes", default=DEFAULT_RUN_CONCLUSIONS)
    assert "startup_failure" in caught.value.hint


def test_repository_must_be_owner_slash_name() -> None:
    assert Repository.parse(" octo/app ").full_name == "octo/app"
    for bad in ("octo", "octo/app/x", "/app", "octo/"):
        with pytest.raises(UsageError, match="owner/name"):
            Repository.parse(bad)


def test_dispatch_policy_names() -> None:
    assert DispatchPolicy.parse("If-Missing") is DispatchPolicy.IF_MISSING
    with pytest.raises(UsageError, match="if-missing, always, never"):
        DispatchPolicy.parse("sometimes")


def test_wait_options_refuse_inconsistent_intervals() -> None:
    with pytest.raises(UsageError, match="poll-interval <= max-poll-interval"):
        WaitOptions(poll_interval=30, max_poll_interval=10)
    with pytest.raises(UsageError, match="timeout must be positive"):
        WaitOptions(timeout=0)


def test_format_seconds_is_compact() -> None:
    assert [format_seconds(s) for s in (4.2, 95, 3600, 5430)] == ["4s", "1m35s", "1h0m0s", "1h30m30s"]


def test_yaml_inputs_reach_github_as_written() -> None:
    """Inputs are strings on GitHub: YAML 1.1's guesses (1.10 as 1.1, 12:30 as 750, 010 as 8,
    yes as true) would dispatch something the user did not write."""
    assert parse_inputs("version: 1.10\nat: 12:30\nid: 010\nflag: yes\nempty:\n") == {
        "version": "1.10",
        "at": "12:30",
        "id": "010",
        "flag": "yes",
        "empty": "",
    }


def test_json_inputs_keep_their_numbers_as_written() -> None:
    assert parse_inputs('{"ratio": 1.50, "huge": 1e400, "n": 7, "on": true, "none": null}') == {
        "ratio": "1.50",
        "huge": "1e400",
        "n": "7",
        "on": "true",
        "none": "",
    }
