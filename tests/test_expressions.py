"""`${{ }}` expressions: GitHub's language, for run-names in the emulator and for plans."""

from __future__ import annotations

import math
from typing import Any

import pytest

from wait_and_dispatch.support import expressions
from wait_and_dispatch.support.expressions import (
    ExpressionError,
    check_template,
    evaluate,
    function_calls,
    references,
    render,
    truthy,
    unwrap,
)

CONTEXT = {
    "inputs": {"environment": "prod", "dry_run": "false", "empty": ""},
    "github": {
        "actor": "octocat",
        "event_name": "repository_dispatch",
        "ref_name": "main",
        "sha": "abc",
        "event": {"client_payload": {"service": {"name": "api"}}, "inputs": {"x": "1"}},
    },
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Deploy ${{ inputs.environment }}", "Deploy prod"),
        ("${{ github.event.client_payload.service.name }}", "api"),
        ("${{ github.event.inputs.x }}", "1"),
        ("${{ github.actor }}@${{ github.ref_name }} ${{ github.sha }}", "octocat@main abc"),
        ("${{ inputs.missing }}", ""),
        ("${{ inputs.empty || 'fallback' }}", "fallback"),
        ("${{ github.event_name == 'repository_dispatch' && 'rd' || 'other' }}", "rd"),
        ("${{ INPUTS.Environment }}", "prod"),
        ("${{ inputs['environment'] }}", "prod"),
        ("${{ !true }}", "false"),
        ("no expressions", "no expressions"),
        ("${{ 1.0 }} ${{ 2.5 }} ${{ null }}", "1 2.5 "),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    "template", ["${{ inputs. }}", "${{ }}", "${{ inputs.x", "${{ 'open }}", "${{ contains('a') }}"]
)
def test_invalid_expressions_are_refused(template: str) -> None:
    with pytest.raises(ExpressionError):
        check_template(template)


def test_a_closing_brace_pair_inside_a_string_does_not_end_the_template() -> None:
    assert render("${{ format('{0}}}', 'x') }}!", {}) == "x}!"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("contains('Hello world', 'WORLD')", True),
        ("contains(fromJSON('[\"push\", \"pull_request\"]'), 'Push')", True),
        ("contains(fromJSON('[1, 2]'), '3')", False),
        ("startsWith('Deploy prod', 'deploy')", True),
        ("endsWith('image.TAR', '.tar')", True),
        ("ENDSWITH('a', 'b')", False),
        ("format('{0} of {1}', 'dice', 0.9)", "dice of 0.9"),
        ("format('{{0}} is {0}', true)", "{0} is true"),
        ('join(fromJSON(\'["a", "b"]\'))', "a,b"),
        ("join(fromJSON('[\"a\", \"b\"]'), ' + ')", "a + b"),
        ("join('solo')", "solo"),
        ("fromJSON('{\"dice\": 0.91}').dice", 0.91),
        ("fromJSON('[10, 20]')[1]", 20),
        ("toJSON(fromJSON('{\"a\": [1]}'))", '{\n  "a": [\n    1\n  ]\n}'),
    ],
)
def test_builtin_functions_follow_github(expression: str, expected: Any) -> None:
    assert evaluate(expression, {}) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'ABC' == 'abc'", True),
        ("'3' == 3", True),  # different types compare as numbers
        ("null == 0", True),
        ("true == 1", True),
        ("'x' == 0", False),  # NaN equals nothing
        ("'b' > 'A'", True),
        ("0.91 >= 0.9075", True),
        ("2 < 10", True),
        ("1 < 2 == true", True),  # relations bind tighter than equality
        ("!0 && 'yes'", "yes"),
        ("'' || null", None),
        ("0x10 == 16", True),
        ("1e2 == 100", True),
    ],
)
def test_operators_follow_github(expression: str, expected: Any) -> None:
    assert evaluate(expression, {}) == expected


def test_objects_and_arrays_are_equal_only_to_themselves() -> None:
    context = {"a": [1], "b": [1]}
    assert evaluate("a == a", context) is True
    assert evaluate("a == b", context) is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (0, False),
        (math.nan, False),
        ("", False),
        ("0", True),
        ([], True),
        ({}, True),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


def test_caller_functions_are_called_case_insensitively() -> None:
    calls: list[str] = []

    def always() -> bool:
        calls.append("always")
        return True

    assert evaluate(
        "ALWAYS() && needs.a.result == 'failure'", {"needs": {"a": {"result": "failure"}}}, {"always": always}
    )
    assert calls == ["always"]


def test_an_unknown_function_fails_when_evaluated() -> None:
    with pytest.raises(ExpressionError, match=r"unknown function success\(\)"):
        evaluate("success()", {})


def test_and_or_short_circuit() -> None:
    def boom() -> bool:
        raise AssertionError("evaluated")

    assert evaluate("false && boom()", {}, {"boom": boom}) is False
    assert evaluate("true || boom()", {}, {"boom": boom}) is True


def test_format_refuses_a_lone_brace() -> None:
    with pytest.raises(ExpressionError, match="unbalanced"):
        evaluate("format('{0', 1)", {})


def test_from_json_refuses_text_that_is_not_json() -> None:
    with pytest.raises(ExpressionError, match="not JSON"):
        evaluate("fromJSON('nope')", {})


def test_references_are_the_context_paths_read() -> None:
    text = (
        "${{ needs.python.outputs['run-id'] }} ${{ format('{0}', vars.region) }} "
        "${{ fromJSON(needs.ci.outputs.artifacts)[0] }} ${{ matrix[vars.key] }} ${{ vars.region }}"
    )
    assert references(text) == [
        ("needs", "python", "outputs", "run-id"),
        ("vars", "region"),
        ("needs", "ci", "outputs", "artifacts"),
        ("matrix",),
        ("vars", "key"),
    ]


def test_text_without_a_template_is_read_as_one_expression() -> None:
    assert references("always() && selected.dice >= 0.9") == [("selected", "dice")]
    assert references("plain text ${{ 'no context' }}") == []


def test_function_calls_are_listed_by_name() -> None:
    assert function_calls("${{ success() && contains(vars.x, 'a') }}") == ["success", "contains"]


def test_unwrap_strips_one_template_around_the_whole_value() -> None:
    assert unwrap(" ${{ needs.a.result == 'failure' }} ") == "needs.a.result == 'failure'"
    assert unwrap("always()") == "always()"
    assert unwrap("${{ a }} && ${{ b }}") == "${{ a }} && ${{ b }}"


def test_an_absurdly_nested_expression_is_an_expression_error_not_a_crash() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate("(" * 5000 + "1" + ")" * 5000, {})


# --- folding a job's condition -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "folded"),
    [
        ("'full' == 'full'", None),
        ("'no' == 'yes'", "false"),
        ("!failure() && !cancelled() && 'a' != 'b'", "!failure() && !cancelled()"),
        ("github.ref_name == 'main' || 1 > 2", "github.ref_name == 'main'"),
        ("github.ref_name == 'main' && !('x' == 'x')", "false"),
        ("contains(fromJSON('[\"a\"]'), 'A') && github.sha", "github.sha"),
        ("always() || 'a' == 'a'", "always()"),
        ("cancelled() && 1 == 2", "false"),
        ("(always() || true) && needs.a.result == 'y'", "always() && needs.a.result == 'y'"),
        ("needs.a.outputs[format('{0}', 'x')] == 'y'", "needs.a.outputs['x'] == 'y'"),
        # `&&` and `||` give an operand, so inside a comparison their value is kept.
        ("(github.sha && true) == 'true'", "(github.sha && true) == 'true'"),
        ("always()  &&  needs.a.result != 'skipped'", "always()  &&  needs.a.result != 'skipped'"),
    ],
)
def test_a_condition_folds_to_what_github_would_evaluate(condition: str, folded: str | None) -> None:
    assert expressions.fold_condition(condition) == folded


@pytest.mark.parametrize(
    "condition",
    [
        "(always() || true) && needs.a.result == 'y'",
        "!failure() && 'a' != 'b' && needs.a.result == 'y'",
        "github.ref_name == 'main' || 1 > 2",
        "always() || 'a' == 'a'",
    ],
)
@pytest.mark.parametrize("result", ["success", "failure", "skipped"])
@pytest.mark.parametrize("ref_name", ["main", "dev"])
def test_a_folded_condition_means_the_same_as_the_written_one(
    condition: str, result: str, ref_name: str
) -> None:
    context = {"needs": {"a": {"result": result}}, "github": {"ref_name": ref_name}}
    status = {
        "always": lambda: True,
        "success": lambda: result == "success",
        "failure": lambda: result == "failure",
        "cancelled": lambda: False,
    }

    def runs(expression: str | None) -> bool:
        # As GitHub runs a job: no status function means success() && (if); no `if:` means success().
        if expression is None:
            return result == "success"
        value = expressions.truthy(expressions.evaluate(expression, context, status))
        if not {name.lower() for name in expressions.function_calls(expression)} & set(status):
            return value and result == "success"
        return value

    assert runs(expressions.fold_condition(condition)) == runs(condition)
